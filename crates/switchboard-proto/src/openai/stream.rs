//! OpenAI `chat.completion.chunk` streams: decoded from OpenAI-family upstreams, encoded
//! for OpenAI clients served by another family.

use std::collections::BTreeSet;

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use switchboard_core::Usage;

use super::error::WireError;
use super::response::{WireUsage, completion_id, finish_reason, finish_reason_str};
use crate::error::ProtoError;
use crate::sse::{SseEvent, write_event};
use crate::stream::{StreamDecoder, StreamEncoder, StreamEvent, StreamFailure};

#[derive(Debug, Deserialize)]
struct InChunk {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<InChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Debug, Deserialize)]
struct InChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<InDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<InToolCall>>,
}

#[derive(Debug, Deserialize)]
struct InToolCall {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<InFunction>,
}

#[derive(Debug, Deserialize)]
struct InFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// Reads an OpenAI-family upstream stream.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    done: bool,
    finished: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ProtoError> {
        if event.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: InChunk = serde_json::from_str(&event.data)
            .map_err(|e| ProtoError::BadUpstream(e.to_string()))?;
        if let Some(err) = chunk.error {
            return Err(ProtoError::UpstreamStream {
                kind: err.kind.unwrap_or_default(),
                message: err.message,
            });
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk.id,
                model: chunk.model,
            });
        }
        for choice in chunk.choices {
            let c = choice.index;
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::Text { choice: c, text });
                }
                for call in delta.tool_calls.unwrap_or_default() {
                    let (name, arguments) = match call.function {
                        Some(f) => (f.name, f.arguments),
                        None => (None, None),
                    };
                    if let Some(id) = call.id {
                        let name = name.unwrap_or_default();
                        out.push(StreamEvent::ToolCallStart {
                            choice: c,
                            index: call.index,
                            id,
                            name,
                        });
                    }
                    if let Some(arguments) = arguments.filter(|a| !a.is_empty()) {
                        out.push(StreamEvent::ToolCallArgs {
                            choice: c,
                            index: call.index,
                            arguments,
                        });
                    }
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finished = true;
                out.push(StreamEvent::Finish {
                    choice: c,
                    reason: finish_reason(&reason),
                });
            }
        }
        if let Some(usage) = chunk.usage {
            out.push(StreamEvent::Usage(Usage::from(&usage)));
        }
        Ok(())
    }

    /// `[DONE]` ends a proper stream; servers that omit it are still complete once a
    /// finish reason has arrived.
    fn is_complete(&self) -> bool {
        self.done || self.finished
    }
}

#[derive(Serialize)]
struct OutChunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: &'a [OutChoice<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<WireUsage>,
}

#[derive(Serialize)]
struct OutChoice<'a> {
    index: u32,
    delta: OutDelta<'a>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct OutDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[OutToolCall<'a>; 1]>,
}

#[derive(Serialize)]
struct OutToolCall<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: OutFunction<'a>,
}

#[derive(Serialize)]
struct OutFunction<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

/// Writes canonical events as OpenAI chunks.
#[derive(Debug)]
pub struct Encoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    usage: Option<Usage>,
    /// Choices whose first chunk (carrying `role`) has been sent (a set: the upstream
    /// picks the indexes, and a search per event would be quadratic).
    announced: BTreeSet<u32>,
}

impl Encoder {
    /// `include_usage`: the client asked for the trailing usage chunk.
    pub fn new(model: String, created: u64, include_usage: bool) -> Self {
        Self {
            id: String::new(),
            model,
            created,
            include_usage,
            usage: None,
            announced: BTreeSet::new(),
        }
    }

    fn chunk(&self, out: &mut BytesMut, choices: &[OutChoice<'_>], usage: Option<WireUsage>) {
        let chunk = OutChunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices,
            usage,
        };
        // Plain structs of strings and numbers always serialise.
        let data = serde_json::to_string(&chunk).unwrap_or_default();
        write_event(out, None, &data);
    }

    fn announce(&mut self, choice: u32, out: &mut BytesMut) {
        if self.announced.insert(choice) {
            let delta = OutDelta {
                role: Some("assistant"),
                content: Some(""),
                tool_calls: None,
            };
            self.chunk(
                out,
                &[OutChoice {
                    index: choice,
                    delta,
                    finish_reason: None,
                }],
                None,
            );
        }
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        let (choice, delta, finish) = match event {
            StreamEvent::Start { id, model } => {
                self.id = completion_id(id);
                if !model.is_empty() {
                    self.model.clone_from(model);
                }
                self.announce(0, out);
                return;
            }
            StreamEvent::Usage(u) => {
                self.usage.get_or_insert_with(Usage::default).merge_max(*u);
                return;
            }
            StreamEvent::Text { choice, text } => (
                *choice,
                OutDelta {
                    content: Some(text),
                    ..OutDelta::default()
                },
                None,
            ),
            StreamEvent::ToolCallStart {
                choice,
                index,
                id,
                name,
            } => {
                let call = OutToolCall {
                    index: *index,
                    id: Some(id),
                    kind: Some("function"),
                    function: OutFunction {
                        name: Some(name),
                        arguments: "",
                    },
                };
                (
                    *choice,
                    OutDelta {
                        tool_calls: Some([call]),
                        ..OutDelta::default()
                    },
                    None,
                )
            }
            StreamEvent::ToolCallArgs {
                choice,
                index,
                arguments,
            } => {
                let call = OutToolCall {
                    index: *index,
                    id: None,
                    kind: None,
                    function: OutFunction {
                        name: None,
                        arguments,
                    },
                };
                (
                    *choice,
                    OutDelta {
                        tool_calls: Some([call]),
                        ..OutDelta::default()
                    },
                    None,
                )
            }
            StreamEvent::Finish { choice, reason } => (
                *choice,
                OutDelta::default(),
                Some(finish_reason_str(*reason)),
            ),
        };
        self.announce(choice, out);
        self.chunk(
            out,
            &[OutChoice {
                index: choice,
                delta,
                finish_reason: finish,
            }],
            None,
        );
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.include_usage {
            let usage = self.usage.unwrap_or_default();
            self.chunk(out, &[], Some(usage.into()));
        }
        write_event(out, None, "[DONE]");
    }

    /// OpenAI's own streams report a failure as a chunk holding only `error`; the official
    /// SDKs raise it as an API error. No `[DONE]` follows.
    fn fail(&mut self, failure: &StreamFailure, out: &mut BytesMut) {
        let kind = if failure.timeout {
            "timeout"
        } else {
            "server_error"
        };
        let body = serde_json::json!({"error": {"message": failure.message, "type": kind, "param": null, "code": null}});
        write_event(out, None, &body.to_string());
    }
}
