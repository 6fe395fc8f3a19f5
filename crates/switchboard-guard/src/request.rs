//! Checking canonical calls: a [`ChatRequest`] before it goes upstream, and the answer
//! after.
//!
//! On a request the guard reads every text the model will read from the client: the text
//! parts of system, user, assistant and tool messages, and the arguments of tool calls
//! in the history (as JSON, see [`crate::json`]). Images are left alone: no detector
//! reads pixels. Tool definitions, stop sequences and the `user` field are the
//! developer's, not the conversation's, and are not checked.
//!
//! Redactions are made in place whatever the verdict, so a blocked request that gets
//! logged holds no redacted data either.

use switchboard_proto::chat::{ChatRequest, ChatResponse, Part};

use crate::guard::Guard;
use crate::json::scrub_json_text;
use crate::scan::Tally;
use crate::verdict::{Side, Verdict};

impl Guard {
    /// Applies the guard to a canonical chat request. `input_tokens` is the gateway's
    /// count for the request; above `max_input_tokens` the request is blocked at once,
    /// without reading its text.
    pub fn check_request(&self, req: &mut ChatRequest, input_tokens: u64) -> Verdict {
        if let Some(blocked) = self.check_input_tokens(input_tokens) {
            return blocked;
        }
        if self.rules.is_empty() {
            return Verdict::allow();
        }
        let mut tally = Tally::new(self);
        for message in &mut req.messages {
            for part in &mut message.content {
                match part {
                    Part::Text(text) => {
                        self.apply(text, &mut tally);
                    }
                    Part::Image(_) => {}
                }
            }
            for call in &mut message.tool_calls {
                scrub_json_text(self, &mut call.arguments, &mut tally);
            }
        }
        self.decide(&tally, Side::Request)
    }

    /// Applies the guard to an answer's text (non-streamed), in place for redactions.
    /// Allows untouched unless `check_output` is on.
    pub fn check_text(&self, text: &mut String) -> Verdict {
        if !self.checks_output() {
            return Verdict::allow();
        }
        let mut tally = Tally::new(self);
        self.apply(text, &mut tally);
        self.decide(&tally, Side::Response)
    }

    /// Applies the guard to a whole canonical answer: the text and the tool-call
    /// arguments of every choice. Allows untouched unless `check_output` is on.
    pub fn check_response(&self, resp: &mut ChatResponse) -> Verdict {
        if !self.checks_output() {
            return Verdict::allow();
        }
        let mut tally = Tally::new(self);
        for choice in &mut resp.choices {
            if let Some(text) = &mut choice.text {
                self.apply(text, &mut tally);
            }
            for call in &mut choice.tool_calls {
                scrub_json_text(self, &mut call.arguments, &mut tally);
            }
        }
        self.decide(&tally, Side::Response)
    }
}
