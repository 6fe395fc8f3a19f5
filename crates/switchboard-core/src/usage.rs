//! Token usage of one call.

use serde::{Deserialize, Serialize};

/// Tokens one call consumed, as the provider reported them (or as the gateway counted
/// them when a stream was cut short). Cached input tokens are a subset of `input_tokens`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cached_input_tokens: u64,
}

impl Usage {
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            cached_input_tokens: 0,
        }
    }

    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    /// Takes the larger of each count. Providers report usage incrementally (Anthropic's
    /// `message_start` then `message_delta`, Gemini on every chunk), and a later report
    /// never means fewer tokens were used.
    pub fn merge_max(&mut self, other: Usage) {
        self.input_tokens = self.input_tokens.max(other.input_tokens);
        self.output_tokens = self.output_tokens.max(other.output_tokens);
        self.cached_input_tokens = self.cached_input_tokens.max(other.cached_input_tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_largest_report_of_each_count() {
        let mut u = Usage::new(10, 1);
        u.merge_max(Usage::new(0, 7));
        assert_eq!(u, Usage::new(10, 7));
        assert_eq!(u.total(), 17);
    }
}
