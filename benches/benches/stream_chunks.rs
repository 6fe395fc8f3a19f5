//! Per-chunk cost of relaying a 200-chunk stream: SSE parsing plus the transform, for the
//! passthrough (OpenAI to OpenAI) and a translation (Anthropic upstream to an OpenAI
//! client).

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchboard_proto::openai;
use switchboard_proto::sse::SseParser;
use switchboard_proto::stream::{StreamTransform, Translate};

const CHUNKS: usize = 200;

fn openai_stream() -> Vec<u8> {
    let mut s = String::new();
    let head = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"#;
    for i in 0..CHUNKS {
        s.push_str(&format!(
            "data: {head}\"word{i} \"}},\"finish_reason\":null}}],\"usage\":null}}\n\n"
        ));
    }
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":200,\"total_tokens\":210}}\n\ndata: [DONE]\n\n");
    s.into_bytes()
}

fn anthropic_stream() -> Vec<u8> {
    let mut s = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for i in 0..CHUNKS {
        s.push_str(&format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word{i} \"}}}}\n\n"));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":200}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    s.into_bytes()
}

/// Feeds `bytes` in network-sized pieces through a parser and `transform`.
fn relay(bytes: &[u8], transform: &mut dyn StreamTransform) -> usize {
    let mut parser = SseParser::new();
    let mut out = BytesMut::new();
    let mut sent = 0;
    for piece in bytes.chunks(512) {
        parser.push(piece);
        while let Some(ev) = parser.next_event() {
            transform
                .on_event(&ev.expect("event"), &mut out)
                .expect("transform");
        }
        sent += out.split().len();
    }
    transform.finish(&mut out);
    sent + out.len()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream_chunks");
    group.throughput(Throughput::Elements(CHUNKS as u64));
    let oai = openai_stream();
    group.bench_function("openai_passthrough", |b| {
        b.iter(|| relay(&oai, &mut openai::Passthrough::new(false)))
    });
    let ant = anthropic_stream();
    group.bench_function("anthropic_to_openai", |b| {
        b.iter(|| {
            let mut t = Translate::new(
                Box::new(switchboard_proto::anthropic::stream::Decoder::new()),
                Box::new(openai::stream::Encoder::new("claude".into(), 1, false)),
            );
            relay(&ant, &mut t)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
