//! [`Explain`]: why a call went where it went, built as the decisions are made, so the
//! response header, the audit record and the metric all tell the same story.
//!
//! - `steps` is how the serving alias and deployment were chosen, in order:
//!   `rule=tag:support-bot`, `tier=small`, `fallback=spare`, `context-fallback=wide`,
//!   `content-policy-fallback=lenient`, then `strategy=NAME` for the alias that served.
//!   Joined with `; ` it is the `x-switchboard-route` header and the audit `route`.
//! - `log` is what happened on the way, one line per deployment touched: an attempt's
//!   outcome (`mock-openai/gpt: 503`, `...: ok`) or a skip (`...: breaker open`). It is
//!   the audit `route_log`; too detailed for a header.
//! - `reason` is the low-cardinality kind of the last alias step (`requested` when the
//!   client's alias served as asked), the label of `switchboard_route_decisions_total`.

use switchboard_router::Tier;

/// The decisions of one call.
#[derive(Debug, Clone, Default)]
pub struct Explain {
    /// Already joined with `; `: written as the decisions are made, read once or twice.
    steps: String,
    log: Vec<String>,
    reason: Option<&'static str>,
}

/// How the call moved to another alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The alias's `fallbacks` chain (its deployments failed or were all open).
    Chain,
    /// The prompt was too long.
    Context,
    /// A provider refused the content.
    ContentPolicy,
}

impl Explain {
    /// A request rule picked the alias; `rule` describes it (`tag:support-bot`).
    pub fn rule(&mut self, rule: String) {
        self.step("rule", "rule", &rule);
    }

    /// A complexity tier picked the alias.
    pub fn tier(&mut self, tier: Tier) {
        let name = match tier {
            Tier::Small => "small",
            Tier::Medium => "medium",
            Tier::Large => "large",
        };
        self.step("tier", "tier", name);
    }

    /// The call moved to fallback alias `to`.
    pub fn moved(&mut self, how: Move, to: &str) {
        let (key, reason) = match how {
            Move::Chain => ("fallback", "fallback"),
            Move::Context => ("context-fallback", "context_fallback"),
            Move::ContentPolicy => ("content-policy-fallback", "content_policy_fallback"),
        };
        self.step(key, reason, to);
    }

    /// The strategy that ordered the deployments of the alias that served.
    pub fn strategy(&mut self, name: &str) {
        self.push_step("strategy", name);
    }

    /// One line of what happened to a deployment (`id: outcome`).
    pub fn log(&mut self, deployment: &str, outcome: &str) {
        let mut line = String::with_capacity(deployment.len() + 2 + outcome.len());
        line.push_str(deployment);
        line.push_str(": ");
        line.push_str(outcome);
        self.log.push(line);
    }

    fn step(&mut self, key: &str, reason: &'static str, value: &str) {
        self.push_step(key, value);
        self.reason = Some(reason);
    }

    fn push_step(&mut self, key: &str, value: &str) {
        self.steps.reserve(2 + key.len() + 1 + value.len());
        if !self.steps.is_empty() {
            self.steps.push_str("; ");
        }
        self.steps.push_str(key);
        self.steps.push('=');
        self.steps.push_str(value);
    }

    /// The decision steps, as the header and the audit record carry them.
    pub fn route(&self) -> String {
        self.steps.clone()
    }

    /// The per-deployment lines.
    pub fn lines(&self) -> &[String] {
        &self.log
    }

    /// The decision steps and the per-deployment lines, taken out.
    pub fn into_parts(self) -> (String, Vec<String>) {
        (self.steps, self.log)
    }

    /// The metric label of the alias decision.
    pub fn reason(&self) -> &'static str {
        self.reason.unwrap_or("requested")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_reads_as_the_decisions_in_order_and_the_reason_is_the_last_alias_step() {
        let mut e = Explain::default();
        assert_eq!(e.reason(), "requested");
        e.tier(Tier::Small);
        e.log("mock/a", "breaker open");
        e.moved(Move::Chain, "spare");
        e.strategy("priority");
        e.log("mock/b", "ok");
        assert_eq!(e.route(), "tier=small; fallback=spare; strategy=priority");
        assert_eq!(e.reason(), "fallback");
        assert_eq!(e.lines(), ["mock/a: breaker open", "mock/b: ok"]);
    }
}
