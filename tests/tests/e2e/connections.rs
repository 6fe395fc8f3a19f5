//! Connection handling: graceful drain, idle and header timeouts, the connection cap, h2c.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::client::{self, StreamReader};
use switchboard_tests::{Harness, KEY_A};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BEARER: [(&str, &str); 1] = [("authorization", "Bearer sk-test-acme-0001")];

fn raw_request(body: &str) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {KEY_A}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Reads one HTTP/1.1 response with a content-length body; returns its head.
async fn read_response(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(
            n > 0,
            "connection closed before a full response: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end];
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return head.to_owned();
            }
        }
    }
}

/// Waits for the peer to close the socket (EOF or reset), failing after `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_stream_finish_and_refuses_new_connections() {
    let h = Harness::start().await;
    h.mock.set_token_delay(Duration::from_millis(30));
    let body = json!({"model": "gpt", "stream": true, "max_tokens": 12, "messages": [{"role": "user", "content": "hi"}]});
    let mut stream: StreamReader = h.stream("/v1/chat/completions", &BEARER, body).await;
    assert_eq!(stream.status, 200);
    assert!(stream.next_data().await.is_some(), "the stream has started");
    let addr = h.gateway.addr;
    let ready_url = h.admin_url("/readyz");
    let Harness {
        gateway,
        mock,
        client,
        ..
    } = h;
    let shutdown = tokio::spawn(gateway.shutdown());
    let ready = client::send(
        &client,
        client::request("GET", &ready_url, &[], Default::default()),
    )
    .await;
    assert_eq!(
        ready.status, 503,
        "readiness drops as soon as the drain begins"
    );
    let rest = stream.rest().await;
    assert_eq!(
        rest.last().map(String::as_str),
        Some("[DONE]"),
        "the in-flight stream completed: {rest:?}"
    );
    let text: String = rest
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(!text.is_empty());
    tokio::time::timeout(Duration::from_secs(10), shutdown)
        .await
        .expect("drain finishes")
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections after shutdown"
    );
    drop(mock);
}

#[tokio::test]
async fn during_the_drain_delay_readiness_is_down_but_new_calls_are_still_served() {
    let h = Harness::builder()
        .configure(|c| c.server.drain_delay = Duration::from_secs(30))
        .start()
        .await;
    let chat_url = format!("http://{}/v1/chat/completions", h.gateway.addr);
    let ready_url = h.admin_url("/readyz");
    let Harness {
        gateway,
        mock,
        client,
        ..
    } = h;
    let shutdown = tokio::spawn(gateway.shutdown());
    let mut ready = 200;
    for _ in 0..200 {
        let get = client::request("GET", &ready_url, &[], Default::default());
        ready = client::send(&client, get).await.status.as_u16();
        if ready == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ready, 503, "readiness drops as soon as the drain begins");
    let body =
        json!({"model": "gpt", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]});
    let call = client::request("POST", &chat_url, &BEARER, body.to_string().into());
    assert_eq!(
        client::send(&client, call).await.status,
        200,
        "a call a load balancer still sends during the delay is served, not refused"
    );
    assert!(!shutdown.is_finished());
    shutdown.abort();
    drop(mock);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_but_a_slow_stream_is_not() {
    let h = Harness::builder()
        .configure(|c| c.server.idle_timeout = Duration::from_millis(300))
        .start()
        .await;
    let mut s = TcpStream::connect(h.gateway.addr).await.unwrap();
    let body =
        json!({"model": "demo", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    s.write_all(raw_request(&body).as_bytes()).await.unwrap();
    assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut s, Duration::from_secs(5)).await,
        "idle connection was closed"
    );

    // A stream that stays busy longer than the idle timeout is not cut.
    h.mock.set_token_delay(Duration::from_millis(100));
    let body = json!({"model": "gpt", "stream": true, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    let events = h
        .stream("/v1/chat/completions", &BEARER, body)
        .await
        .rest()
        .await;
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let h = Harness::builder()
        .configure(|c| c.server.header_read_timeout = Duration::from_millis(300))
        .start()
        .await;
    let mut s = TcpStream::connect(h.gateway.addr).await.unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: slow\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(5)).await,
        "slow-headers client was cut off"
    );
}

/// A client that sends its headers and then only part of its body (or trickles it) gets
/// 408 in the API's shape once `body_read_timeout` has passed, and its connection closed,
/// rather than holding it for ever.
#[tokio::test]
async fn a_client_that_never_finishes_its_body_gets_408_and_is_disconnected() {
    let h = Harness::builder()
        .configure(|c| c.server.body_read_timeout = Duration::from_millis(300))
        .start()
        .await;
    let mut s = TcpStream::connect(h.gateway.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {KEY_A}\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{{\"model\":"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer))
        .await
        .expect("answered and closed within the timeout's reach")
        .expect("read");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body: Value = serde_json::from_str(&text[text.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not received within"),
        "{body}"
    );
}

#[tokio::test]
async fn the_connection_cap_holds_new_connections_until_a_slot_frees() {
    let h = Harness::builder()
        .configure(|c| c.server.max_connections = 2)
        .start()
        .await;
    let body =
        json!({"model": "demo", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let mut first = TcpStream::connect(h.gateway.addr).await.unwrap();
    first
        .write_all(raw_request(&body).as_bytes())
        .await
        .unwrap();
    read_response(&mut first).await;
    let mut second = TcpStream::connect(h.gateway.addr).await.unwrap();
    second
        .write_all(raw_request(&body).as_bytes())
        .await
        .unwrap();
    read_response(&mut second).await;

    let mut third = TcpStream::connect(h.gateway.addr).await.unwrap();
    third
        .write_all(raw_request(&body).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection is not served while two are open"
    );
    drop(first);
    let head = tokio::time::timeout(Duration::from_secs(5), read_response(&mut third))
        .await
        .expect("served once a slot frees");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn http2_cleartext_clients_are_served() {
    let h = Harness::start().await;
    let c = client::h2c();
    let body = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    let req = client::request("POST", &h.url("/v1/chat/completions"), &BEARER, body.into());
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
}

/// Calls still in flight when the shutdown grace ends are cut, and each is in the audit
/// log once, as cut by the shutdown, when the shutdown returns: the drain waits for the connections it cut to be
/// gone (their calls write their records on the way out) before the audit log and the
/// ledger are flushed and stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_cut_at_the_end_of_the_grace_period_are_each_in_the_audit_log() {
    let h = Harness::builder()
        .configure(|c| c.server.shutdown_grace = Duration::from_millis(200))
        .start()
        .await;
    // 200 tokens 50 ms apart: ten seconds per answer, far past the grace period.
    h.mock.set_token_delay(Duration::from_millis(50));
    let mut stream = h
        .stream(
            "/v1/chat/completions",
            &BEARER,
            json!({"model": "gpt", "stream": true, "max_tokens": 200, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(stream.status, 200);
    assert!(stream.next_data().await.is_some(), "the stream has started");
    const WAITING: usize = 6;
    let mut calls = Vec::new();
    for _ in 0..WAITING {
        let (client, url) = (h.client.clone(), h.url("/v1/chat/completions"));
        calls.push(tokio::spawn(async move {
            let body = json!({"model": "gpt", "max_tokens": 200, "messages": [{"role": "user", "content": "hi"}]});
            // Cut: the client sees its connection end.
            let req = client::request("POST", &url, &BEARER, body.to_string().into());
            client.request(req).await.map(|r| r.status())
        }));
    }
    for _ in 0..500 {
        if h.mock.calls() > WAITING as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        h.mock.calls(),
        WAITING as u64 + 1,
        "every call is in flight"
    );

    let Harness {
        gateway,
        mock,
        data,
        config,
        ..
    } = h;
    tokio::time::timeout(Duration::from_secs(20), gateway.shutdown())
        .await
        .expect("the shutdown ends");
    let mut records = Vec::new();
    switchboard_audit::scan(&config.audit_dir(), &Default::default(), |r| {
        records.push(r)
    })
    .expect("audit scan");
    // Cut by the node, not left by the client: 503, and the stream ended by "shutdown".
    let cut: Vec<_> = records
        .iter()
        .filter(|r| {
            r.status == 503
                && r.reason.as_deref() == Some("cut at the end of the shutdown grace period")
        })
        .collect();
    assert_eq!(
        cut.len(),
        WAITING,
        "every waiting call's record: {records:?}"
    );
    let streamed: Vec<_> = records.iter().filter(|r| r.stream).collect();
    assert_eq!(streamed.len(), 1, "the stream's record: {records:?}");
    assert_eq!(streamed[0].stream_end.as_deref(), Some("shutdown"));
    assert!(streamed[0].output_tokens > 0, "billed for what it relayed");
    assert_eq!(records.len(), WAITING + 1);
    for call in calls {
        let _ = call.await;
    }
    drop((mock, data));
}
