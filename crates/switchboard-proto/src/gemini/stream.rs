//! Gemini streams (`streamGenerateContent?alt=sse`) read into canonical events.
//!
//! Every event's data is a whole `GenerateContentResponse` holding the next piece of each
//! candidate. There is no terminal event: the stream is complete once every candidate
//! seen has a `finishReason`.

use std::collections::BTreeMap;

use crate::chat::FinishReason;
use crate::error::ProtoError;
use crate::sse::SseEvent;
use crate::stream::{StreamDecoder, StreamEvent};

use super::wire::Response;

/// Decodes a Gemini upstream's stream. Function calls arrive whole, so each becomes a
/// `ToolCallStart` followed by one `ToolCallArgs` with all its arguments.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    /// By candidate index: the upstream picks the indexes, so a lookup must not be a
    /// search through every candidate seen (thousands of them made each event slower).
    candidates: BTreeMap<u32, CandidateState>,
    /// Function calls seen so far across all candidates, for `call_<n>` ids.
    calls: u32,
}

#[derive(Debug, Default)]
struct CandidateState {
    calls: u32,
    finished: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn candidate(&mut self, index: u32) -> &mut CandidateState {
        self.candidates.entry(index).or_default()
    }
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<(), ProtoError> {
        let chunk: Response = serde_json::from_str(&event.data)
            .map_err(|e| ProtoError::BadUpstream(format!("unreadable Gemini stream event: {e}")))?;
        if let Some(error) = chunk.error {
            return Err(ProtoError::UpstreamStream {
                kind: error.kind(),
                message: error.message,
            });
        }
        if !self.started {
            self.started = true;
            let id = chunk.response_id.clone().unwrap_or_else(super::fallback_id);
            out.push(StreamEvent::Start {
                id,
                model: chunk.model_version.clone().unwrap_or_default(),
            });
        }
        let blocked = chunk
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some());
        if chunk.candidates.is_empty() && blocked {
            self.candidate(0).finished = true;
            out.push(StreamEvent::Finish {
                choice: 0,
                reason: FinishReason::ContentFilter,
            });
        }
        for (position, candidate) in chunk.candidates.into_iter().enumerate() {
            let choice = candidate.index.unwrap_or(position as u32);
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                if part.thought == Some(true) {
                    continue;
                }
                if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::Text { choice, text });
                }
                if let Some(call) = part.function_call {
                    let id = super::call_id(call.id, self.calls, part.thought_signature.as_deref());
                    self.calls += 1;
                    let state = self.candidate(choice);
                    let index = state.calls;
                    state.calls += 1;
                    let arguments = call
                        .args
                        .map_or_else(|| "{}".to_owned(), |args| args.to_string());
                    out.push(StreamEvent::ToolCallStart {
                        choice,
                        index,
                        id,
                        name: call.name,
                    });
                    out.push(StreamEvent::ToolCallArgs {
                        choice,
                        index,
                        arguments,
                    });
                }
            }
            let state = self.candidate(choice);
            if let Some(reason) = candidate.finish_reason
                && !state.finished
            {
                state.finished = true;
                let reason = super::finish_reason_of(&reason, state.calls > 0);
                out.push(StreamEvent::Finish { choice, reason });
            }
        }
        if let Some(usage) = chunk.usage_metadata {
            out.push(StreamEvent::Usage(usage.to_usage()));
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        !self.candidates.is_empty() && self.candidates.values().all(|c| c.finished)
    }
}
