//! What the policy chain adds to one small chat call: each step, and the whole chain
//! (authentication, parsing, routing, the PII guardrails of the load benchmark's tenant,
//! the estimate, admission and settlement with its audit record).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use switchboard_benches::fixture::{CHAT, gateway};
use switchboard_core::{RequestId, Usage, Wire};
use switchboard_guard::{Action, Detector, Guard, GuardConfig, PiiRule};
use switchboard_proto::openai::request;
use switchboard_server::error::GatewayError;
use switchboard_server::gateway::Gateway;
use switchboard_server::pipeline::accounting::{Accounting, Trail};
use switchboard_server::pipeline::estimate::Estimate;
use switchboard_server::pipeline::policy::Admission;
use switchboard_server::pipeline::{RequestCtx, estimate, policy, route};
use switchboard_server::trace::TraceContext;

/// Admission as a call gets it, except that when the bench outruns the audit writer (a
/// loop of admissions is faster than records are written) it waits for room instead of
/// taking the server's 503: the figures are then a sustained rate, backpressure included.
async fn admitted(gw: &Gateway, ctx: &RequestCtx, est: &Estimate) -> Admission {
    loop {
        match policy::admit(gw, ctx, est).await {
            Ok(admission) => return admission,
            Err(GatewayError::AuditUnavailable) => {
                drop(gw.audit.reserve().await.expect("audit log open"));
            }
            Err(e) => panic!("not admitted: {e}"),
        }
    }
}

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        "Bearer sk-bench-key-0001".parse().expect("header"),
    );
    h
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (gw, _dir) = rt.block_on(gateway());
    let h = headers();
    let body = Bytes::from_static(CHAT.as_bytes());
    let mut group = c.benchmark_group("policy_chain");

    group.bench_function("authenticate", |b| {
        b.iter(|| gw.keys.authenticate(&h, gw.now_ms()).expect("key"))
    });
    group.bench_function("parse_openai_chat", |b| {
        b.iter(|| request::parse(body.clone()).expect("parse"))
    });
    let inbound = request::parse(body.clone()).expect("parse");
    let identity = gw.keys.authenticate(&h, gw.now_ms()).expect("key");
    let d = route::route(&gw.catalog, &identity, "gpt").expect("route")[0].clone();
    // The same prompt every time: after the first, its count comes from the memo.
    group.bench_function("estimate", |b| {
        b.iter(|| estimate::chat("bench", &inbound.chat, &d))
    });
    // A tenant the memo has not seen every time: the prompt is tokenized, as on its first
    // call (the scope's name is formatted per iteration too, a few tens of nanoseconds).
    let mut tenants = 0u64;
    group.bench_function("estimate_first_sight", |b| {
        b.iter(|| {
            tenants += 1;
            estimate::chat(&format!("t{tenants}"), &inbound.chat, &d)
        })
    });

    let mut n = 0u64;
    group.bench_function("admit_and_settle", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let id = RequestId::new(format!("b{n}"));
            let ctx = RequestCtx {
                id: id.clone(),
                settle_id: id,
                api: Wire::OpenAi,
                identity: Arc::clone(&identity),
                started: Instant::now(),
                trail: Arc::new(parking_lot::Mutex::new(Trail {
                    endpoint: "chat",
                    model: "gpt".into(),
                    ..Trail::default()
                })),
                headers: Arc::new(HeaderMap::new()),
                trace: TraceContext::for_request(&HeaderMap::new()),
            };
            let gw = Arc::clone(&gw);
            let d = d.clone();
            let est = estimate::chat("bench", &inbound.chat, &d);
            async move {
                let admission = admitted(&gw, &ctx, &est).await;
                let acct = Accounting::new(Arc::clone(&gw), ctx, d.price, est, admission);
                acct.complete(Usage::new(30, 5), 0, None, None)
            }
        })
    });

    let mut n = 0u64;
    group.bench_function("admit_and_release", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let id = RequestId::new(format!("r{n}"));
            let ctx = RequestCtx {
                id: id.clone(),
                settle_id: id,
                api: Wire::OpenAi,
                identity: Arc::clone(&identity),
                started: Instant::now(),
                trail: Arc::new(parking_lot::Mutex::new(Trail::default())),
                headers: Arc::new(HeaderMap::new()),
                trace: TraceContext::for_request(&HeaderMap::new()),
            };
            let gw = Arc::clone(&gw);
            let est = estimate::chat("bench", &inbound.chat, &d);
            async move {
                let admission = admitted(&gw, &ctx, &est).await;
                if let Some(r) = admission.reservation {
                    gw.ledger.release(r);
                }
            }
        })
    });

    // The load benchmark's tenant: emails redacted, secrets blocked, on every prompt.
    let guard = Arc::new(
        Guard::compile(&GuardConfig {
            pii: vec![
                PiiRule {
                    detector: Detector::Email,
                    action: Action::Redact,
                },
                PiiRule {
                    detector: Detector::Secret,
                    action: Action::Block,
                },
            ],
            ..GuardConfig::default()
        })
        .expect("guard"),
    );
    group.bench_function("guardrails", |b| {
        b.iter_batched(
            || inbound.chat.clone(),
            // No input-token cap is configured, so the count passed does not matter.
            |mut chat| guard.check_request(&mut chat, 0),
            criterion::BatchSize::SmallInput,
        )
    });

    let mut n = 0u64;
    group.bench_function("whole_chain", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            let gw = Arc::clone(&gw);
            let h = h.clone();
            let body = body.clone();
            let guard = Arc::clone(&guard);
            async move {
                let identity = gw.keys.authenticate(&h, gw.now_ms()).expect("key");
                let mut inbound = request::parse(body).expect("parse");
                let _ = guard.check_request(&mut inbound.chat, 0);
                let d = route::route(&gw.catalog, &identity, &inbound.chat.model).expect("route")
                    [0]
                .clone();
                let est = estimate::chat("bench", &inbound.chat, &d);
                let id = RequestId::new(format!("w{n}"));
                let ctx = RequestCtx {
                    id: id.clone(),
                    settle_id: id,
                    api: Wire::OpenAi,
                    identity,
                    started: Instant::now(),
                    trail: Arc::new(parking_lot::Mutex::new(Trail {
                        endpoint: "chat",
                        model: "gpt".into(),
                        ..Trail::default()
                    })),
                    headers: Arc::new(HeaderMap::new()),
                    trace: TraceContext::for_request(&HeaderMap::new()),
                };
                let admission = admitted(&gw, &ctx, &est).await;
                let acct = Accounting::new(Arc::clone(&gw), ctx, d.price, est, admission);
                acct.complete(Usage::new(30, 5), 0, None, None)
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
