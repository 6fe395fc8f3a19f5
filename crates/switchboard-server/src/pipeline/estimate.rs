//! The reservation estimate: what a call can cost at most, before it is made.
//!
//! Input tokens are counted with a real tokenizer (tiktoken's `o200k_base`, the one
//! OpenAI's current models use; a text counted recently, such as a system prompt or an
//! earlier turn of the conversation, is remembered: `count_memo`), plus OpenAI's
//! per-message framing; output tokens are the request's `max_tokens` (or the model's
//! output cap, or [`DEFAULT_OUTPUT_RESERVE`]) times the number of choices. Other
//! providers tokenize differently, so their input count gets a
//! [`FOREIGN_TOKENIZER_MARGIN`]; the call is settled to the provider's real usage
//! afterwards anyway, so the margin only decides how close to a limit a call is admitted.

use std::sync::LazyLock;

use switchboard_config::ProviderKind;
use switchboard_core::{Money, Usage};
use switchboard_proto::chat::{ChatRequest, Part};
use switchboard_upstream::Deployment;

use super::count_memo::CountMemo;

/// Output tokens reserved when neither the request nor the price table caps the answer.
pub const DEFAULT_OUTPUT_RESERVE: u64 = 4096;
/// Tokens OpenAI counts per message for its role and framing.
const PER_MESSAGE: u64 = 3;
/// Tokens OpenAI counts to prime the reply.
const REPLY_PRIMING: u64 = 3;
/// What one image counts (OpenAI's high-detail tile budget for a typical image).
const PER_IMAGE: u64 = 765;
/// Input counted by a foreign tokenizer is scaled by 5/4.
pub const FOREIGN_TOKENIZER_MARGIN: (u64, u64) = (5, 4);

/// What a call is expected to use, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub usage: Usage,
    pub cost: Money,
}

impl Estimate {
    pub fn tokens(&self) -> u64 {
        self.usage.total()
    }
}

/// Slots of the process's memo of recent counts (32 bytes each): enough for the system
/// prompts and recent conversation turns of many callers at once.
const MEMO_SLOTS: usize = 4096;

static MEMO: LazyLock<CountMemo> = LazyLock::new(|| CountMemo::new(MEMO_SLOTS));

/// `text`'s tokens; a text `tenant` had counted recently (a system prompt, an earlier
/// turn of the conversation) is remembered rather than tokenized again. The memo is kept
/// per tenant: a call must never be able to tell, by how fast it is admitted, whether
/// another tenant sent the same text.
pub fn count_tokens(tenant: &str, text: &str) -> u64 {
    MEMO.count(tenant, text, super::bpe::count)
}

fn with_margin(tokens: u64, d: &Deployment) -> u64 {
    match d.provider.kind {
        ProviderKind::Openai | ProviderKind::Azure | ProviderKind::Builtin => tokens,
        _ => tokens * FOREIGN_TOKENIZER_MARGIN.0 / FOREIGN_TOKENIZER_MARGIN.1,
    }
}

/// A call's token counts before any deployment is chosen: input counted with tiktoken,
/// output from `max_tokens` (or [`DEFAULT_OUTPUT_RESERVE`]) times `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub input_tokens: u64,
    /// Output per choice when the request names its `max_tokens`.
    pub max_tokens: Option<u64>,
    pub choices: u64,
}

/// Counts a chat request's tokens once; [`Counted::on`] prices them per deployment.
pub fn count_chat(tenant: &str, req: &ChatRequest) -> Counted {
    let mut input = REPLY_PRIMING;
    for m in &req.messages {
        input += PER_MESSAGE;
        for part in &m.content {
            input += match part {
                Part::Text(t) => count_tokens(tenant, t),
                Part::Image(_) => PER_IMAGE,
            };
        }
        for call in &m.tool_calls {
            input += count_tokens(tenant, &call.name) + count_tokens(tenant, &call.arguments);
        }
    }
    for tool in &req.tools {
        input += count_tokens(tenant, &tool.name)
            + tool
                .description
                .as_deref()
                .map_or(0, |d| count_tokens(tenant, d))
            + count_tokens(tenant, &tool.parameters.to_string());
    }
    Counted {
        input_tokens: input,
        max_tokens: req.max_tokens.map(u64::from),
        choices: u64::from(req.n.unwrap_or(1).max(1)),
    }
}

impl Counted {
    /// The most the call can use and cost on `d`. A `max_tokens` above the model's largest
    /// answer reserves only that answer: the model cannot write more (a provider that
    /// refuses such a `max_tokens` says so itself), and reserving the rest would refuse
    /// the call as over budget when it is not.
    pub fn on(&self, d: &Deployment) -> Estimate {
        let cap = d.max_output_tokens.map(u64::from);
        let per_choice = match (self.max_tokens, cap) {
            (Some(asked), Some(cap)) => asked.min(cap),
            (asked, cap) => asked.or(cap).unwrap_or(DEFAULT_OUTPUT_RESERVE),
        };
        let usage = Usage::new(with_margin(self.input_tokens, d), per_choice * self.choices);
        Estimate {
            usage,
            cost: d.price.cost(&usage),
        }
    }

    /// The largest estimate over `deployments`: a reservation that covers whichever of
    /// them ends up serving the call (failover and fallbacks included).
    pub fn worst<'a>(
        &self,
        deployments: impl IntoIterator<Item = &'a Deployment>,
    ) -> Option<Estimate> {
        deployments
            .into_iter()
            .map(|d| self.on(d))
            .reduce(|a, b| Estimate {
                usage: Usage::new(
                    a.usage.input_tokens.max(b.usage.input_tokens),
                    a.usage.output_tokens.max(b.usage.output_tokens),
                ),
                cost: a.cost.max(b.cost),
            })
    }
}

/// The most a chat call can use on `d`.
pub fn chat(tenant: &str, req: &ChatRequest, d: &Deployment) -> Estimate {
    count_chat(tenant, req).on(d)
}

/// The most an embeddings call can use on `d` (input only).
pub fn embeddings(
    tenant: &str,
    texts: Option<&[String]>,
    raw_len: usize,
    d: &Deployment,
) -> Estimate {
    let input = match texts {
        Some(texts) => texts.iter().map(|t| count_tokens(tenant, t)).sum(),
        // Token-id arrays: at most one token per two bytes of JSON (`1,`).
        None => raw_len as u64 / 2,
    };
    let usage = Usage::new(with_margin(input, d), 0);
    Estimate {
        usage,
        cost: d.price.cost(&usage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tokenizer_counts_like_openai() {
        assert_eq!(count_tokens("t", "hello world"), 2);
        assert_eq!(count_tokens("t", ""), 0);
    }
}
