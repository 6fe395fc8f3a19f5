//! OpenAI client to an OpenAI-compatible upstream: `n`, `stop` and the sampling
//! parameters reach the provider exactly as sent, and `n > 1` answers carry `n` choices.

use serde_json::{Value, json};
use switchboard_tests::{Harness, KEY_A};

/// Every parameter set to a value no default would produce.
fn sampled(stream: bool) -> Value {
    json!({
        "model": "gpt",
        "stream": stream,
        "messages": [{"role": "user", "content": "pick a word"}],
        "max_tokens": 4,
        "n": 3,
        "temperature": 0.25,
        "top_p": 0.5,
        "seed": 42,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.75,
        "stop": ["END", "\n\n"],
    })
}

/// The body of the last chat call the mock received.
fn received(h: &Harness) -> Value {
    let call = h
        .mock
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == "/v1/chat/completions")
        .expect("the call reached the mock");
    serde_json::from_slice(&call.body).unwrap()
}

fn assert_parameters_reached_the_provider(sent: &Value, got: &Value) {
    for name in [
        "n",
        "temperature",
        "top_p",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "stop",
        "max_tokens",
    ] {
        assert_eq!(got[name], sent[name], "`{name}` upstream: {got}");
    }
    assert_eq!(got["model"], "mock-gpt", "only the model is replaced");
}

#[tokio::test]
async fn sampling_parameters_n_and_stop_reach_the_provider_and_n_choices_come_back() {
    let h = Harness::start().await;
    let sent = sampled(false);
    let r = h.post("/v1/chat/completions", KEY_A, sent.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_parameters_reached_the_provider(&sent, &received(&h));
    let v = r.json();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3, "{v}");
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i, "{v}");
        assert!(
            c["message"]["content"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
    assert_eq!(
        v["usage"]["completion_tokens"], 12,
        "4 tokens for each of 3 choices: {v}"
    );
}

#[tokio::test]
async fn a_streamed_call_with_n_choices_streams_every_choice() {
    let h = Harness::start().await;
    let sent = sampled(true);
    let events = h
        .stream(
            "/v1/chat/completions",
            &[("authorization", "Bearer sk-test-acme-0001")],
            sent.clone(),
        )
        .await
        .rest()
        .await;
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    assert_parameters_reached_the_provider(&sent, &received(&h));
    let mut text = [String::new(), String::new(), String::new()];
    for e in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(e).unwrap();
        for c in chunk["choices"].as_array().unwrap() {
            let i = c["index"].as_u64().unwrap() as usize;
            assert!(i < 3, "{chunk}");
            if let Some(t) = c["delta"]["content"].as_str() {
                text[i].push_str(t);
            }
        }
    }
    for (i, t) in text.iter().enumerate() {
        assert!(!t.is_empty(), "choice {i} streamed no text: {events:?}");
    }
}
