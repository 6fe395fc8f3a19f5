//! Turning what the client was sent back into a canonical answer for the cache.
//!
//! The gateway often forwards an upstream's bytes untouched (passthrough), so the only
//! place every answer exists in one known shape is the client's own family: a complete
//! body, or the SSE stream it received. Reading that back is cheap and works whichever
//! upstream served the call.

use switchboard_core::Wire;
use switchboard_proto::chat::ChatResponse;
use switchboard_proto::sse::SseParser;
use switchboard_proto::stream::{StreamDecoder, assemble};
use switchboard_proto::{anthropic, openai};

/// The canonical answer in a complete client body.
pub fn from_body(api: Wire, body: &[u8]) -> Option<ChatResponse> {
    match api {
        Wire::Anthropic => anthropic::response::parse(body).ok(),
        _ => openai::response::parse(body).ok(),
    }
}

/// The canonical answer a complete client stream carried.
pub fn from_stream(api: Wire, stream: &[u8]) -> Option<ChatResponse> {
    let mut decoder: Box<dyn StreamDecoder> = match api {
        Wire::Anthropic => Box::new(anthropic::stream::Decoder::new()),
        _ => Box::new(openai::stream::Decoder::new()),
    };
    let mut parser = SseParser::new();
    parser.push(stream);
    parser.push(b"\n\n");
    let mut events = Vec::new();
    while let Some(ev) = parser.next_event() {
        decoder.decode(&ev.ok()?, &mut events).ok()?;
    }
    decoder.is_complete().then(|| assemble(&events)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_proto::chat::{Choice, FinishReason};
    use switchboard_proto::stream::{StreamEncoder, encode_all, events_of};

    #[test]
    fn a_streamed_answer_reads_back_in_both_families() {
        let answer = ChatResponse {
            id: "chatcmpl-1".into(),
            model: "m".into(),
            created: 0,
            choices: vec![Choice::text(0, "cached words", FinishReason::Stop)],
            usage: switchboard_core::Usage::new(2, 2),
        };
        let mut oai = openai::stream::Encoder::new("m".into(), 0, true);
        let bytes = encode_all(&mut oai, &events_of(&answer));
        let back = from_stream(Wire::OpenAi, &bytes).unwrap();
        assert_eq!(back.choices[0].text.as_deref(), Some("cached words"));
        let mut ant: Box<dyn StreamEncoder> = Box::new(anthropic::stream::Encoder::new("m".into()));
        let bytes = encode_all(ant.as_mut(), &events_of(&answer));
        let back = from_stream(Wire::Anthropic, &bytes).unwrap();
        assert_eq!(back.choices[0].text.as_deref(), Some("cached words"));
        assert!(
            from_stream(Wire::OpenAi, b"data: {\"choices\":[]}\n\n").is_none(),
            "an unfinished stream is not cached"
        );
    }
}
