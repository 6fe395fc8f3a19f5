//! The offline provider built into the gateway.
//!
//! It exists so that `switchboard serve` with the default config answers real requests
//! on a machine with no provider keys and no network: a newcomer sees the whole path
//! (auth, routing, streaming, usage) work before wiring up a real model. Answers are
//! deterministic: a fixed sentence quoting the start of the last user message, cut to
//! `max_tokens` words. Tokens are counted as whitespace-separated words.

use switchboard_core::Usage;
use switchboard_proto::chat::{
    ChatRequest, ChatResponse, Choice, FinishReason, ResponseFormat, Role, ToolCall, ToolChoice,
};
use switchboard_proto::stream::{StreamEvent, events_of};

use crate::adapters::unix_now;

/// Words quoted back from the prompt.
const QUOTED_WORDS: usize = 12;
/// Dimensions of the offline embeddings when the client asks for none.
const DEFAULT_DIMENSIONS: usize = 16;

pub fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Answers a chat request.
pub fn chat(req: &ChatRequest, model: &str, id: &str) -> ChatResponse {
    let prompt_words: u64 = req.input_text().map(count_words).sum();
    let input_tokens = prompt_words + 3 * req.messages.len() as u64;
    let last_user = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.joined_text())
        .unwrap_or_default();
    let quoted: Vec<&str> = last_user.split_whitespace().take(QUOTED_WORDS).collect();
    let sentence = format!(
        "Hello from Switchboard's offline demo model. You said: \"{}\". Set a provider key to reach a real model.",
        quoted.join(" ")
    );
    let cap = req.max_tokens.map(|m| m as usize).unwrap_or(usize::MAX);
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let truncated = words.len() > cap;
    let reply = words[..words.len().min(cap)].join(" ");
    let output_tokens = count_words(&reply);
    let finish = if truncated {
        FinishReason::Length
    } else {
        FinishReason::Stop
    };

    let forced_tool = match &req.tool_choice {
        Some(ToolChoice::Tool(name)) => req.tools.iter().find(|t| &t.name == name),
        Some(ToolChoice::Required) => req.tools.first(),
        _ => None,
    };
    let choice = if let Some(tool) = forced_tool {
        let arguments = serde_json::json!({ "input": quoted.join(" ") }).to_string();
        Choice {
            index: 0,
            text: None,
            tool_calls: vec![ToolCall {
                id: format!("call_{id}"),
                name: tool.name.clone(),
                arguments,
            }],
            finish_reason: Some(FinishReason::ToolCalls),
        }
    } else if matches!(
        req.response_format,
        Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
    ) {
        Choice::text(0, serde_json::json!({ "reply": reply }).to_string(), finish)
    } else {
        Choice::text(0, reply, finish)
    };
    let n = req.n.unwrap_or(1).max(1);
    let choices = (0..n)
        .map(|i| Choice {
            index: i,
            ..choice.clone()
        })
        .collect();
    ChatResponse {
        id: id.to_owned(),
        model: model.to_owned(),
        created: unix_now(),
        choices,
        usage: Usage::new(input_tokens, output_tokens * u64::from(n)),
    }
}

/// The answer as stream events, text split word by word as a real model would stream it.
pub fn stream_events(answer: &ChatResponse) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    for ev in events_of(answer) {
        match ev {
            StreamEvent::Text { choice, text } => {
                let mut rest = text.as_str();
                while !rest.is_empty() {
                    let cut = rest[1..].find(' ').map(|i| i + 1).unwrap_or(rest.len());
                    out.push(StreamEvent::Text {
                        choice,
                        text: rest[..cut].to_owned(),
                    });
                    rest = &rest[cut..];
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Deterministic unit vectors derived from each text's bytes.
pub fn embeddings(texts: &[String], dimensions: Option<u32>) -> Vec<Vec<f32>> {
    let dims = dimensions
        .map(|d| d as usize)
        .filter(|d| *d > 0)
        .unwrap_or(DEFAULT_DIMENSIONS);
    texts
        .iter()
        .map(|t| {
            let mut state = t.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            let mut v: Vec<f32> = (0..dims)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect();
            let norm = v
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
                .sqrt()
                .max(f32::EPSILON);
            v.iter_mut().for_each(|x| *x /= norm);
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_proto::chat::{Message, Tool};

    fn request(text: &str) -> ChatRequest {
        ChatRequest {
            model: "demo".into(),
            messages: vec![Message::text(Role::User, text)],
            ..Default::default()
        }
    }

    #[test]
    fn answers_are_deterministic_and_quote_the_prompt() {
        let a = chat(&request("tell me a joke"), "demo", "1");
        let b = chat(&request("tell me a joke"), "demo", "1");
        assert_eq!(a.choices, b.choices);
        assert!(
            a.choices[0]
                .text
                .as_deref()
                .unwrap()
                .contains("\"tell me a joke\"")
        );
        assert_eq!(a.usage.input_tokens, 4 + 3);
        assert_eq!(
            a.usage.output_tokens,
            count_words(a.choices[0].text.as_deref().unwrap())
        );
    }

    #[test]
    fn max_tokens_cuts_the_answer_and_says_so() {
        let mut req = request("hi");
        req.max_tokens = Some(3);
        let a = chat(&req, "demo", "1");
        assert_eq!(a.usage.output_tokens, 3);
        assert_eq!(a.choices[0].finish_reason, Some(FinishReason::Length));
    }

    #[test]
    fn a_forced_tool_is_called() {
        let mut req = request("weather in Paris");
        req.tools = vec![Tool {
            name: "weather".into(),
            description: None,
            parameters: serde_json::json!({}),
        }];
        req.tool_choice = Some(ToolChoice::Required);
        let a = chat(&req, "demo", "1");
        assert_eq!(a.choices[0].tool_calls[0].name, "weather");
        assert_eq!(a.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn streamed_words_add_up_to_the_answer() {
        let a = chat(&request("one two three"), "demo", "1");
        let text: String = stream_events(&a)
            .into_iter()
            .filter_map(|e| match e {
                StreamEvent::Text { text, .. } => Some(text),
                _ => None,
            })
            .collect();
        assert_eq!(Some(text.as_str()), a.choices[0].text.as_deref());
    }

    #[test]
    fn embeddings_are_unit_vectors_of_the_asked_size() {
        let v = embeddings(&["a".into(), "b".into()], Some(8));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].len(), 8);
        let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_ne!(v[0], v[1]);
    }
}
