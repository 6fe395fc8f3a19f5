//! Anthropic upstream stream events read into canonical ones.

use std::collections::BTreeMap;

use super::super::events::{Delta, Event};
use super::super::wire::Block;
use crate::error::ProtoError;
use crate::sse::SseEvent;
use crate::stream::{StreamDecoder, StreamEvent};

/// Decodes an Anthropic upstream's stream. Anthropic has one choice, so every event is for
/// choice 0. Thinking blocks and their deltas are skipped (no other family can show them);
/// `ping` and event types newer than this code are ignored.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Tool ordinal of each `tool_use` block so far, by content block index: Anthropic
    /// numbers all blocks together, canonical events number tool calls alone.
    tools: BTreeMap<u32, u32>,
    /// Tool calls begun: the next one's ordinal (not `tools.len()`: an upstream may start
    /// two blocks at one index, and each call must keep an ordinal of its own).
    begun: u32,
    complete: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn tool_ordinal(&self, block: u32) -> Option<u32> {
        self.tools.get(&block).copied()
    }
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ProtoError> {
        let parsed: Event = serde_json::from_str(&event.data).map_err(|e| {
            ProtoError::BadUpstream(format!("unreadable Anthropic stream event: {e}"))
        })?;
        match parsed {
            Event::MessageStart { message } => {
                out.push(StreamEvent::Start {
                    id: message.id,
                    model: message.model,
                });
                if let Some(usage) = message.usage {
                    out.push(StreamEvent::Usage(usage.to_usage()));
                }
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                Block::Text(t) if !t.text.is_empty() => out.push(StreamEvent::Text {
                    choice: 0,
                    text: t.text,
                }),
                Block::ToolUse(call) => {
                    let ordinal = self.begun;
                    self.begun += 1;
                    self.tools.insert(index, ordinal);
                    out.push(StreamEvent::ToolCallStart {
                        choice: 0,
                        index: ordinal,
                        id: call.id,
                        name: call.name,
                    });
                    // Anthropic starts with `input: {}` and streams the input as deltas;
                    // an input given up front is passed on as the first arguments.
                    if call.input.as_object().is_some_and(|o| !o.is_empty()) {
                        let arguments = super::super::to_json(&call.input);
                        out.push(StreamEvent::ToolCallArgs {
                            choice: 0,
                            index: ordinal,
                            arguments,
                        });
                    }
                }
                _ => {}
            },
            Event::ContentBlockDelta { index, delta } => match delta {
                Delta::TextDelta { text } if !text.is_empty() => {
                    out.push(StreamEvent::Text { choice: 0, text })
                }
                Delta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                    if let Some(ordinal) = self.tool_ordinal(index) {
                        out.push(StreamEvent::ToolCallArgs {
                            choice: 0,
                            index: ordinal,
                            arguments: partial_json,
                        });
                    }
                }
                _ => {}
            },
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    out.push(StreamEvent::Finish {
                        choice: 0,
                        reason: super::super::finish_reason_of(&reason),
                    });
                }
                if let Some(usage) = usage {
                    out.push(StreamEvent::Usage(usage.to_usage()));
                }
            }
            Event::MessageStop => self.complete = true,
            Event::Error { error } => {
                return Err(ProtoError::UpstreamStream {
                    kind: error.kind,
                    message: error.message,
                });
            }
            Event::ContentBlockStop { .. } | Event::Ping | Event::Unknown => {}
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.complete
    }
}
