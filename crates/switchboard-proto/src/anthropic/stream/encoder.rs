//! Canonical stream events written as an Anthropic stream, for an Anthropic client served
//! by another family.

use std::collections::BTreeMap;

use bytes::BytesMut;
use switchboard_core::Usage;

use super::super::events::{
    BlockStartOut, DeltaOut, DeltaUsageOut, EventOut, MessageDeltaOut, StartOut,
};
use super::super::wire::UsageOut;
use super::{write, write_error};
use crate::chat::FinishReason;
use crate::stream::{StreamEncoder, StreamEvent, StreamFailure};

/// Encodes canonical events as Anthropic SSE, the way the official SDKs expect them.
///
/// Only choice 0 is written: Anthropic has no `n`. Text opens a text block on its first
/// piece; a tool call closes whatever block is open and opens a `tool_use` block whose
/// arguments follow as `input_json_delta`s. Argument pieces for a tool call whose block was
/// already closed (an upstream interleaving calls) go to that call's own block index, where
/// the SDKs' accumulators put them, rather than being lost.
///
/// A second start for a call already begun (some OpenAI-compatible servers repeat the
/// call's id in every chunk) is ignored rather than opening a duplicate block.
///
/// The finish reason and usage are held until [`StreamEncoder::finish`], because OpenAI
/// upstreams report usage after their finish chunk, while Anthropic's `message_delta`
/// carries both and must come last.
#[derive(Debug)]
pub struct Encoder {
    /// The model named in `message_start` when the upstream names none.
    model_hint: String,
    started: bool,
    next_block: u32,
    /// The open content block: its index, and whether it is text.
    open: Option<(u32, bool)>,
    /// Content block index of each tool call begun, by canonical tool index (a map: the
    /// upstream picks the indexes, and a search per event would be quadratic).
    tools: BTreeMap<u32, u32>,
    reason: Option<FinishReason>,
    usage: Usage,
}

impl Encoder {
    pub fn new(model_hint: String) -> Self {
        Self {
            model_hint,
            started: false,
            next_block: 0,
            open: None,
            tools: BTreeMap::new(),
            reason: None,
            usage: Usage::default(),
        }
    }

    /// Writes `message_start` unless already written: on `Start`, or before the first
    /// content if the upstream never sent a start.
    fn start(&mut self, id: &str, model: &str, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let id = super::super::message_id(if id.is_empty() { "switchboard" } else { id });
        let model = if model.is_empty() {
            self.model_hint.as_str()
        } else {
            model
        };
        let mut usage = UsageOut::from(self.usage);
        usage.output_tokens = 0;
        let message = StartOut {
            id: &id,
            kind: "message",
            role: "assistant",
            model,
            content: [],
            stop_reason: None,
            stop_sequence: None,
            usage,
        };
        write(out, &EventOut::MessageStart { message });
    }

    fn open_block(&mut self, text: bool, out: &mut BytesMut) -> u32 {
        self.close_block(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, text));
        index
    }

    fn close_block(&mut self, out: &mut BytesMut) {
        if let Some((index, _)) = self.open.take() {
            write(out, &EventOut::ContentBlockStop { index });
        }
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        match event {
            StreamEvent::Start { id, model } => self.start(id, model, out),
            StreamEvent::Text { choice: 0, text } if !text.is_empty() => {
                self.start("", "", out);
                let index = match self.open {
                    Some((index, true)) => index,
                    _ => {
                        let index = self.open_block(true, out);
                        let content_block = BlockStartOut::Text { text: "" };
                        write(
                            out,
                            &EventOut::ContentBlockStart {
                                index,
                                content_block,
                            },
                        );
                        index
                    }
                };
                write(
                    out,
                    &EventOut::ContentBlockDelta {
                        index,
                        delta: DeltaOut::TextDelta { text },
                    },
                );
            }
            StreamEvent::ToolCallStart {
                choice: 0,
                index: tool,
                id,
                name,
            } if !self.tools.contains_key(tool) => {
                self.start("", "", out);
                let index = self.open_block(false, out);
                self.tools.insert(*tool, index);
                let content_block = BlockStartOut::ToolUse {
                    id,
                    name,
                    input: serde_json::Map::new(),
                };
                write(
                    out,
                    &EventOut::ContentBlockStart {
                        index,
                        content_block,
                    },
                );
            }
            StreamEvent::ToolCallArgs {
                choice: 0,
                index: tool,
                arguments,
            } if !arguments.is_empty() => {
                // Arguments for a call that never started have no block to go to.
                if let Some(&index) = self.tools.get(tool) {
                    let delta = DeltaOut::InputJsonDelta {
                        partial_json: arguments,
                    };
                    write(out, &EventOut::ContentBlockDelta { index, delta });
                }
            }
            StreamEvent::Finish { choice: 0, reason } => self.reason = Some(*reason),
            StreamEvent::Usage(usage) => self.usage.merge_max(*usage),
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        self.start("", "", out);
        self.close_block(out);
        let default = if self.tools.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        };
        let stop_reason = super::super::stop_reason_of(self.reason.unwrap_or(default));
        let counts = UsageOut::from(self.usage);
        let usage = DeltaUsageOut {
            input_tokens: (self.usage.input_tokens > 0).then_some(counts.input_tokens),
            output_tokens: counts.output_tokens,
            cache_read_input_tokens: (counts.cache_read_input_tokens > 0)
                .then_some(counts.cache_read_input_tokens),
        };
        let delta = MessageDeltaOut {
            stop_reason,
            stop_sequence: None,
        };
        write(out, &EventOut::MessageDelta { delta, usage });
        write(out, &EventOut::MessageStop);
    }

    fn fail(&mut self, failure: &StreamFailure, out: &mut BytesMut) {
        self.close_block(out);
        write_error(out, failure);
    }
}
