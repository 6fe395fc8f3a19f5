//! `bare-proxy`: the floor of the load benchmarks (`benches/run`).
//!
//! The least an HTTP/1.1 reverse proxy can do: accept a request, send it to one upstream
//! over a pooled keep-alive connection (TCP_NODELAY), and stream the answer back frame by
//! frame as it arrives. No parsing, no policy, no accounting, so whatever a gateway costs
//! above this is the cost of its own work.
//!
//! Prints `bare-proxy listening on http://HOST:PORT` once listening (port 0 picks one).

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use clap::Parser;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, StatusCode, Uri, header};
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// Bare HTTP/1.1 passthrough proxy to one upstream.
#[derive(Debug, Parser)]
#[command(name = "bare-proxy", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Upstream base URL, e.g. `http://127.0.0.1:18100`; the request's path is kept.
    #[arg(long)]
    upstream: Uri,
    /// Idle keep-alive connections kept to the upstream.
    #[arg(long, default_value_t = 1024)]
    pool_max_idle: usize,
}

type ProxyBody = Either<Incoming, Empty<Bytes>>;

/// Where every request goes, and the pooled client that takes it there.
struct Upstream {
    authority: Authority,
    host: HeaderValue,
    client: Client<HttpConnector, Incoming>,
}

impl Upstream {
    fn new(base: &Uri, pool_max_idle: usize) -> anyhow::Result<Upstream> {
        anyhow::ensure!(
            base.scheme() == Some(&Scheme::HTTP),
            "the upstream must be plain http://"
        );
        let authority = base
            .authority()
            .context("the upstream needs a host")?
            .clone();
        let host = HeaderValue::from_str(authority.as_str())?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool_max_idle)
            .build(connector);
        Ok(Upstream {
            authority,
            host,
            client,
        })
    }

    /// Sends `req` upstream with its path, method, headers and body untouched but for
    /// `Host`; the response body is handed back as a stream, never buffered.
    async fn forward(&self, mut req: Request<Incoming>) -> Response<ProxyBody> {
        let path = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(self.authority.clone())
            .path_and_query(path)
            .build();
        match uri {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return status(StatusCode::BAD_REQUEST),
        }
        req.headers_mut().insert(header::HOST, self.host.clone());
        match self.client.request(req).await {
            Ok(resp) => resp.map(Either::Left),
            Err(_) => status(StatusCode::BAD_GATEWAY),
        }
    }
}

fn status(code: StatusCode) -> Response<ProxyBody> {
    let mut resp = Response::new(Either::Right(Empty::new()));
    *resp.status_mut() = code;
    resp
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let upstream = Arc::new(Upstream::new(&args.upstream, args.pool_max_idle)?);
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "bare-proxy listening on http://{}",
            listener.local_addr()?
        )?;
        out.flush()?;
    }
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of descriptors and the like: the next accept may succeed.
            Err(_) => continue,
        };
        // Latency is the point of this proxy: no Nagle delay on small writes.
        let _ = stream.set_nodelay(true);
        let upstream = Arc::clone(&upstream);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let upstream = Arc::clone(&upstream);
                async move { Ok::<_, Infallible>(upstream.forward(req).await) }
            });
            // A client that goes away mid-request is not this proxy's error.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(args))
}
