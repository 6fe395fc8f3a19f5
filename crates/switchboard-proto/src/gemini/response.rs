//! Non-streamed Gemini answers read into canonical form.

use crate::chat::{ChatResponse, Choice, FinishReason, ToolCall};
use crate::error::{ProtoError, parse_upstream};

use super::wire::{Candidate, Response};

/// Reads a `generateContent` answer.
///
/// Each candidate is a choice (its `index`, else its position). Text parts are
/// concatenated, thought summaries (`"thought": true`) skipped; `functionCall` parts become
/// tool calls with ids `call_<n>` (see the module docs). A prompt refused outright
/// (`promptFeedback.blockReason`, no candidates) reads as one empty choice finished by the
/// content filter, which is how OpenAI clients are told the same thing.
pub fn parse(body: &[u8]) -> Result<ChatResponse, ProtoError> {
    let resp: Response = parse_upstream(body)?;
    if let Some(error) = resp.error {
        return Err(ProtoError::BadUpstream(format!(
            "{}: {}",
            error.kind(),
            error.message
        )));
    }
    let blocked = resp
        .prompt_feedback
        .as_ref()
        .is_some_and(|f| f.block_reason.is_some());
    let mut calls = 0;
    let choices = if resp.candidates.is_empty() && blocked {
        vec![Choice {
            index: 0,
            text: None,
            tool_calls: Vec::new(),
            finish_reason: Some(FinishReason::ContentFilter),
        }]
    } else if resp.candidates.is_empty() {
        return Err(ProtoError::BadUpstream(
            "Gemini answer has no candidates".into(),
        ));
    } else {
        resp.candidates
            .into_iter()
            .enumerate()
            .map(|(position, c)| choice(position, c, &mut calls))
            .collect()
    };
    Ok(ChatResponse {
        id: resp.response_id.unwrap_or_else(super::fallback_id),
        model: resp.model_version.unwrap_or_default(),
        created: super::now(),
        choices,
        usage: resp
            .usage_metadata
            .map(|u| u.to_usage())
            .unwrap_or_default(),
    })
}

/// One candidate as a choice; `calls` numbers function calls across the whole answer.
fn choice(position: usize, candidate: Candidate, calls: &mut u32) -> Choice {
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
        if part.thought == Some(true) {
            continue;
        }
        if let Some(t) = part.text {
            text.get_or_insert_with(String::new).push_str(&t);
        }
        if let Some(call) = part.function_call {
            let signature = part.thought_signature.as_deref();
            let arguments = call
                .args
                .map_or_else(|| "{}".to_owned(), |args| args.to_string());
            tool_calls.push(ToolCall {
                id: super::call_id(call.id, *calls, signature),
                name: call.name,
                arguments,
            });
            *calls += 1;
        }
    }
    let made_calls = !tool_calls.is_empty();
    Choice {
        index: candidate.index.unwrap_or(position as u32),
        text,
        tool_calls,
        finish_reason: candidate
            .finish_reason
            .as_deref()
            .map(|r| super::finish_reason_of(r, made_calls)),
    }
}
