//! The pooled keep-alive HTTPS client, one per provider.
//!
//! One client per provider (not per request, not per deployment) so every call to a
//! provider shares its warm connections: TLS and TCP handshakes are paid once per pooled
//! connection, not per call. TCP_NODELAY is set because LLM traffic is many small writes
//! (a request, then stream chunks) where Nagle's delay would show up as latency.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::error::UpstreamError;

/// The client type every provider uses.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    first_byte_timeout: Duration,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("first_byte_timeout", &self.first_byte_timeout)
            .finish()
    }
}

/// Knobs of one provider's client.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub pool_max_idle: usize,
}

impl HttpClient {
    pub fn new(opts: ClientOptions) -> Result<Self, UpstreamError> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(opts.connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(60)));
        http.enforce_http(false);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| UpstreamError::Connect(format!("TLS setup failed: {e}")))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(opts.pool_max_idle)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        Ok(Self {
            inner,
            first_byte_timeout: opts.first_byte_timeout,
        })
    }

    /// Sends a request and waits for the response headers, no longer than the first-byte
    /// timeout. The body is left for the caller to read (or stream).
    pub async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        match tokio::time::timeout(self.first_byte_timeout, self.inner.request(req)).await {
            Err(_) => Err(UpstreamError::FirstByteTimeout(self.first_byte_timeout)),
            Ok(Err(e)) => Err(UpstreamError::Connect(describe(&e))),
            Ok(Ok(resp)) => Ok(resp),
        }
    }
}

/// The error and its causes on one line ("client error (Connect): tcp connect error:
/// Connection refused"); hyper's own `Display` shows only the outermost.
fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
