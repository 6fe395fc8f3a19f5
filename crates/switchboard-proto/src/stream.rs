//! Streams: canonical stream events and the transforms that turn an upstream's SSE events
//! into the bytes a client expects.
//!
//! Translation is decoder + encoder: a [`StreamDecoder`] reads one family's events into
//! [`StreamEvent`]s, a [`StreamEncoder`] writes them in another family's format. Families
//! that match skip both with a passthrough transform (`openai::Passthrough`,
//! `anthropic::Passthrough`) that forwards events as they are and only sniffs the usage.
//! Either way the server drives a [`StreamTransform`] and never looks inside events.

use bytes::BytesMut;
use switchboard_core::Usage;

use crate::chat::FinishReason;
use crate::error::ProtoError;
use crate::sse::SseEvent;

/// One step of a streamed answer, in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The answer began. Comes first; carries the upstream's id and model name.
    Start { id: String, model: String },
    /// More text for a choice.
    Text { choice: u32, text: String },
    /// A tool call began; `index` numbers the calls within the choice from 0.
    ToolCallStart {
        choice: u32,
        index: u32,
        id: String,
        name: String,
    },
    /// More argument JSON for a tool call begun earlier.
    ToolCallArgs {
        choice: u32,
        index: u32,
        arguments: String,
    },
    /// A choice is done.
    Finish { choice: u32, reason: FinishReason },
    /// Token counts so far; a later report supersedes an earlier one count by count.
    Usage(Usage),
}

/// Checks that an event's data a passthrough forwards unread is JSON, without building
/// anything from it: a provider that sends garbage mid-stream must end the client's
/// stream with an error event, as it does when the stream is translated, not hand the
/// client's SDK a chunk it cannot decode.
pub fn check_json(data: &str) -> Result<(), ProtoError> {
    serde_json::from_str::<serde::de::IgnoredAny>(data)
        .map(drop)
        .map_err(|e| ProtoError::BadUpstream(format!("the provider sent an unreadable event: {e}")))
}

/// Why a stream ended early, as told to the client in its last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFailure {
    pub message: String,
    /// The upstream went silent past its deadline (rather than erroring or closing).
    pub timeout: bool,
}

/// Reads one family's stream events into canonical ones.
pub trait StreamDecoder: Send {
    /// Decodes one upstream event, appending zero or more canonical events to `out`.
    /// An error event from the upstream is returned as [`ProtoError::UpstreamStream`].
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ProtoError>;

    /// Whether the upstream has signalled a proper end (its terminal event, or for
    /// families that have none, a finish reason on every choice).
    fn is_complete(&self) -> bool;
}

/// Writes canonical events in one family's stream format.
pub trait StreamEncoder: Send {
    /// Encodes one event, appending client bytes to `out`.
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut);

    /// Appends the family's closing frames after a complete stream (`[DONE]`,
    /// `message_stop`). Called once, last.
    fn finish(&mut self, out: &mut BytesMut);

    /// Appends an error event in the family's shape after a broken stream. Called at most
    /// once, last, instead of [`StreamEncoder::finish`].
    fn fail(&mut self, failure: &StreamFailure, out: &mut BytesMut);
}

/// What the server drives: upstream events in, client bytes out, usage on the side.
pub trait StreamTransform: Send {
    /// Handles one upstream event. An error means the upstream's stream is broken; the
    /// server then calls [`StreamTransform::fail`].
    fn on_event(&mut self, event: &SseEvent, out: &mut BytesMut) -> Result<(), ProtoError>;

    /// Whether the upstream has ended its stream properly.
    fn is_complete(&self) -> bool;

    /// Closes a complete stream.
    fn finish(&mut self, out: &mut BytesMut);

    /// Closes a broken stream with an error event.
    fn fail(&mut self, failure: &StreamFailure, out: &mut BytesMut);

    /// Usage as far as the upstream has reported it.
    fn usage(&self) -> Usage;

    /// Content events (text or tool-call pieces) forwarded so far: a floor on the output
    /// tokens generated, for billing a stream whose usage never arrived.
    fn content_events(&self) -> u64;
}

/// A transform that translates between families.
pub struct Translate {
    decoder: Box<dyn StreamDecoder>,
    encoder: Box<dyn StreamEncoder>,
    scratch: Vec<StreamEvent>,
    usage: Usage,
    content_events: u64,
}

impl Translate {
    pub fn new(decoder: Box<dyn StreamDecoder>, encoder: Box<dyn StreamEncoder>) -> Self {
        Self {
            decoder,
            encoder,
            scratch: Vec::new(),
            usage: Usage::default(),
            content_events: 0,
        }
    }
}

impl StreamTransform for Translate {
    fn on_event(&mut self, event: &SseEvent, out: &mut BytesMut) -> Result<(), ProtoError> {
        self.decoder.decode(event, &mut self.scratch)?;
        for ev in self.scratch.drain(..) {
            match &ev {
                StreamEvent::Usage(u) => self.usage.merge_max(*u),
                StreamEvent::Text { .. } | StreamEvent::ToolCallArgs { .. } => {
                    self.content_events += 1
                }
                _ => {}
            }
            self.encoder.encode(&ev, out);
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.decoder.is_complete()
    }

    fn finish(&mut self, out: &mut BytesMut) {
        self.encoder.finish(out);
    }

    fn fail(&mut self, failure: &StreamFailure, out: &mut BytesMut) {
        self.encoder.fail(failure, out);
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn content_events(&self) -> u64 {
        self.content_events
    }
}

/// Feeds a whole list of canonical events through an encoder: how answers that were not
/// streamed upstream (the offline provider, a cache hit) are replayed to a streaming client.
pub fn encode_all(encoder: &mut dyn StreamEncoder, events: &[StreamEvent]) -> BytesMut {
    let mut out = BytesMut::new();
    for ev in events {
        encoder.encode(ev, &mut out);
    }
    encoder.finish(&mut out);
    out
}

/// Splits a complete answer into the events a stream of it would carry, in order: start,
/// per choice its text and tool calls and finish, then usage.
pub fn events_of(response: &crate::chat::ChatResponse) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start {
        id: response.id.clone(),
        model: response.model.clone(),
    }];
    for choice in &response.choices {
        if let Some(text) = &choice.text {
            events.push(StreamEvent::Text {
                choice: choice.index,
                text: text.clone(),
            });
        }
        for (index, call) in choice.tool_calls.iter().enumerate() {
            let index = index as u32;
            events.push(StreamEvent::ToolCallStart {
                choice: choice.index,
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            events.push(StreamEvent::ToolCallArgs {
                choice: choice.index,
                index,
                arguments: call.arguments.clone(),
            });
        }
        let reason = choice.finish_reason.unwrap_or(FinishReason::Stop);
        events.push(StreamEvent::Finish {
            choice: choice.index,
            reason,
        });
    }
    events.push(StreamEvent::Usage(response.usage));
    events
}

/// Rebuilds the complete answer a stream carried, from its canonical events: what a
/// cache stores when the answer was streamed, so it can later be replayed in either shape.
/// `None` when the events never started an answer.
///
/// Choices and tool calls are kept by the indexes the provider gave them, in order, and
/// only those that appeared: an index is the provider's number, not a size to allocate
/// (a tool call numbered 2,000,000 is one call, not two million).
pub fn assemble(events: &[StreamEvent]) -> Option<crate::chat::ChatResponse> {
    use std::collections::BTreeMap;

    use crate::chat::{ChatResponse, Choice, ToolCall};

    #[derive(Default)]
    struct Building {
        text: Option<String>,
        calls: BTreeMap<u32, ToolCall>,
        finish_reason: Option<FinishReason>,
    }
    let mut response: Option<(ChatResponse, BTreeMap<u32, Building>)> = None;
    for ev in events {
        if let StreamEvent::Start { id, model } = ev {
            let head = ChatResponse {
                id: id.clone(),
                model: model.clone(),
                created: 0,
                choices: Vec::new(),
                usage: Usage::default(),
            };
            response = Some((head, BTreeMap::new()));
            continue;
        }
        let (head, choices) = response.as_mut()?;
        match ev {
            StreamEvent::Start { .. } => {}
            StreamEvent::Text { choice, text } => {
                choices
                    .entry(*choice)
                    .or_default()
                    .text
                    .get_or_insert_with(String::new)
                    .push_str(text);
            }
            StreamEvent::ToolCallStart {
                choice,
                index,
                id,
                name,
            } => {
                let call = choices
                    .entry(*choice)
                    .or_default()
                    .calls
                    .entry(*index)
                    .or_insert_with(|| ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                call.id.clone_from(id);
                call.name.clone_from(name);
            }
            StreamEvent::ToolCallArgs {
                choice,
                index,
                arguments,
            } => {
                let call = choices.entry(*choice).or_default().calls.get_mut(index);
                if let Some(call) = call {
                    call.arguments.push_str(arguments);
                }
            }
            StreamEvent::Finish { choice, reason } => {
                choices.entry(*choice).or_default().finish_reason = Some(*reason);
            }
            StreamEvent::Usage(u) => head.usage.merge_max(*u),
        }
    }
    let (mut head, choices) = response?;
    head.choices = choices
        .into_iter()
        .map(|(index, b)| Choice {
            index,
            text: b.text,
            tool_calls: b.calls.into_values().collect(),
            finish_reason: b.finish_reason,
        })
        .collect();
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ChatResponse, Choice, FinishReason, ToolCall};

    #[test]
    fn a_complete_answer_survives_being_split_into_events_and_assembled() {
        let answer = ChatResponse {
            id: "x".into(),
            model: "m".into(),
            created: 0,
            choices: vec![
                Choice::text(0, "hello world", FinishReason::Stop),
                Choice {
                    index: 1,
                    text: None,
                    tool_calls: vec![ToolCall {
                        id: "c".into(),
                        name: "f".into(),
                        arguments: "{\"a\":1}".into(),
                    }],
                    finish_reason: Some(FinishReason::ToolCalls),
                },
            ],
            usage: Usage::new(3, 4),
        };
        assert_eq!(assemble(&events_of(&answer)), Some(answer));
        assert_eq!(
            assemble(&[StreamEvent::Text {
                choice: 0,
                text: "orphan".into()
            }]),
            None
        );
    }

    /// Found by fuzzing: an upstream's tool-call index was used as a size, so a call
    /// numbered in the billions made the cache allocate without bound.
    #[test]
    fn a_tool_call_index_is_a_name_not_a_size() {
        let call = |index, id: &str| StreamEvent::ToolCallStart {
            choice: 7,
            index,
            id: id.into(),
            name: "f".into(),
        };
        let events = [
            StreamEvent::Start {
                id: "x".into(),
                model: "m".into(),
            },
            call(u32::MAX, "last"),
            call(2, "first"),
            StreamEvent::ToolCallArgs {
                choice: 7,
                index: u32::MAX,
                arguments: "{}".into(),
            },
            StreamEvent::ToolCallArgs {
                choice: 7,
                index: 5,
                arguments: "lost".into(),
            },
        ];
        let r = assemble(&events).unwrap();
        assert_eq!(r.choices.len(), 1);
        assert_eq!(r.choices[0].index, 7);
        let calls: Vec<(&str, &str)> = r.choices[0]
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(calls, [("first", ""), ("last", "{}")]);
    }
}
