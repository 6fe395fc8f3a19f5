//! Steady load through HAProxy from several tenants: plain calls, streams, and a tenant
//! spending its way to the edge of its budget. Every worker is bounded in count and time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::cluster::{STEADY, STREAMER, key_of};
use crate::net::Net;

/// What one class of calls got back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub ok: u64,
    /// 429: refused by a limit (expected of the edge tenant).
    pub refused: u64,
    /// Anything else: an error status, a broken stream, no answer.
    pub failed: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.ok + self.refused + self.failed
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Tallies {
    pub plain: Tally,
    pub streams: Tally,
    pub edge: Tally,
}

impl Tallies {
    /// The share of calls answered as they should be: served, or refused by the budget.
    pub fn success_share(&self) -> f64 {
        let all = self.plain.total() + self.streams.total() + self.edge.total();
        let good = self.plain.ok + self.streams.ok + self.edge.ok + self.edge.refused;
        if all == 0 {
            return 1.0;
        }
        good as f64 / all as f64
    }
}

#[derive(Clone, Copy)]
enum Class {
    Plain,
    Stream,
    Edge,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    tallies: Arc<Mutex<Tallies>>,
    workers: JoinSet<()>,
}

impl Load {
    /// Starts the workers: `per_class` of each class, each calling every `pace`, for at most
    /// `limit` (a scenario ends them earlier with [`Load::stop`]).
    pub fn start(
        net: &Net,
        lb: &str,
        edge_tenant: &str,
        per_class: usize,
        pace: Duration,
        limit: Duration,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tallies = Arc::new(Mutex::new(Tallies::default()));
        let mut workers = JoinSet::new();
        let url = Arc::new(format!("http://{lb}/v1/chat/completions"));
        for class in [Class::Plain, Class::Stream, Class::Edge] {
            let key = Arc::new(match class {
                Class::Plain => key_of(STEADY),
                Class::Stream => key_of(STREAMER),
                Class::Edge => key_of(edge_tenant),
            });
            for _ in 0..per_class {
                let (net, url, key) = (net.clone(), Arc::clone(&url), Arc::clone(&key));
                let (stop, tallies) = (Arc::clone(&stop), Arc::clone(&tallies));
                workers.spawn(async move {
                    let started = Instant::now();
                    let most = (limit.as_millis() / pace.as_millis().max(1)) as u64 + 1;
                    for _ in 0..most {
                        if stop.load(Ordering::Relaxed) || started.elapsed() > limit {
                            break;
                        }
                        let next = Instant::now() + pace;
                        let outcome = one_call(&net, &url, &key, class).await;
                        let mut t = tallies.lock().await;
                        let tally = match class {
                            Class::Plain => &mut t.plain,
                            Class::Stream => &mut t.streams,
                            Class::Edge => &mut t.edge,
                        };
                        match outcome {
                            Outcome::Ok => tally.ok += 1,
                            Outcome::Refused => tally.refused += 1,
                            Outcome::Failed => tally.failed += 1,
                        }
                        drop(t);
                        tokio::time::sleep_until(next.into()).await;
                    }
                });
            }
        }
        Load {
            stop,
            tallies,
            workers,
        }
    }

    /// Stops the workers, lets calls in flight finish, and returns the counts.
    pub async fn stop(mut self) -> Tallies {
        self.stop.store(true, Ordering::Relaxed);
        while self.workers.join_next().await.is_some() {}
        *self.tallies.lock().await
    }
}

enum Outcome {
    Ok,
    Refused,
    Failed,
}

async fn one_call(net: &Net, url: &str, key: &str, class: Class) -> Outcome {
    let stream = matches!(class, Class::Stream);
    let body: Value = json!({
        "model": "chat",
        "max_tokens": 10,
        "stream": stream,
        "messages": [{"role": "user", "content": "chaos"}],
    });
    match net
        .call("POST", url, key, Some(&body), Duration::from_secs(30))
        .await
    {
        // A stream is whole only if it ends with [DONE]; one cut short ends with an error
        // event instead.
        Ok(r) if r.status == 200 && (!stream || ends_done(&r.body)) => Outcome::Ok,
        Ok(r) if r.status == 429 => Outcome::Refused,
        _ => Outcome::Failed,
    }
}

fn ends_done(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .trim_end()
        .ends_with("data: [DONE]")
}
