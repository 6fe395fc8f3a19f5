//! The relay against a real upstream connection (hyper's client over loopback TCP), with
//! the upstream's bytes written by hand so the test decides what arrives together.

use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use switchboard_proto::openai::Passthrough;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{RelayTimeouts, SseRelay};

/// `event` as one HTTP chunk.
fn framed(event: &str) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", event.len()).into_bytes();
    out.extend_from_slice(event.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The `i`th content event of an OpenAI stream, as one HTTP chunk.
fn chunk(i: usize) -> Vec<u8> {
    framed(&format!(
        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\
         \"delta\":{{\"content\":\"t{i}\"}}}}]}}\n\n"
    ))
}

/// `[DONE]` and the end of the chunked body.
fn done() -> Vec<u8> {
    let mut out = framed("data: [DONE]\n\n");
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// An upstream that answers one request with a chunked event stream, writing each batch
/// of bytes it is handed in one `write_all`; the stream ends when the sender is dropped.
async fn upstream() -> (Incoming, mpsc::UnboundedSender<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client closed before its request was complete");
            head.extend_from_slice(&buf[..n]);
        }
        sock.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
              transfer-encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
        while let Some(bytes) = rx.recv().await {
            sock.write_all(&bytes).await.unwrap();
        }
        let _ = sock.write_all(&done()).await;
    });
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let req = http::Request::post("/v1/chat/completions")
        .header("host", "upstream")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    (resp.into_body(), tx)
}

fn relay(body: Incoming) -> SseRelay {
    SseRelay::new(
        body,
        Box::new(Passthrough::new(false)),
        RelayTimeouts {
            idle: Duration::from_secs(30),
            deadline: tokio::time::Instant::now() + Duration::from_secs(60),
            capture: false,
        },
    )
}

async fn next_piece(relay: &mut SseRelay) -> Option<Bytes> {
    std::future::poll_fn(|cx| relay.poll_next(cx)).await
}

fn events(piece: &[u8]) -> usize {
    piece.windows(6).filter(|w| w == b"data: ").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn events_that_arrive_together_go_to_the_client_together() {
    let (body, tx) = upstream().await;
    let all: Vec<u8> = (0..50).flat_map(chunk).collect();
    tx.send(all).unwrap();
    drop(tx);
    let pieces = tokio::spawn(async move {
        let mut relay = relay(body);
        let mut pieces = Vec::new();
        while let Some(piece) = next_piece(&mut relay).await {
            if !piece.is_empty() {
                pieces.push(events(&piece));
            }
        }
        pieces
    })
    .await
    .unwrap();
    assert_eq!(
        pieces.iter().sum::<usize>(),
        51,
        "every event and [DONE]: {pieces:?}"
    );
    // hyper hands the relay one frame per task switch; without holding the burst this is
    // one piece (one client write) per event.
    assert!(
        pieces.len() <= 3,
        "50 events read in one go left the relay in {} pieces: {pieces:?}",
        pieces.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_event_is_sent_before_the_next_one_arrives() {
    let (body, tx) = upstream().await;
    let mut relay = relay(body);
    // Each event is written only after the one before it reached the relay's output; a
    // relay that waited for more than was already received would hang here.
    for i in 0..20 {
        tx.send(chunk(i)).unwrap();
        let piece = tokio::time::timeout(Duration::from_secs(10), next_piece(&mut relay))
            .await
            .expect("an event that arrived alone is sent without waiting for the next")
            .expect("the stream is not over");
        assert_eq!(events(&piece), 1, "piece {i}");
        assert!(
            std::str::from_utf8(&piece)
                .unwrap()
                .contains(&format!("\"t{i}\""))
        );
    }
    drop(tx);
    let last = next_piece(&mut relay).await.expect("[DONE]");
    assert!(last.ends_with(b"data: [DONE]\n\n"));
    while let Some(rest) = next_piece(&mut relay).await {
        assert!(rest.is_empty(), "nothing after [DONE]: {rest:?}");
    }
}
