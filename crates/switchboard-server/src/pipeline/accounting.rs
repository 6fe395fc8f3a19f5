//! Settlement and audit: every admitted call ends in exactly one ledger settlement (or
//! release) and one audit record, however it ends.
//!
//! [`Accounting`] owns the call's reservation and audit slot from admission on. The call
//! ends it with [`Accounting::complete`] (charge the real cost) or [`Accounting::fail`]
//! (release everything); if neither happens, because the request future was dropped
//! (the client went away while the upstream was still thinking), `Drop` releases and
//! records it as abandoned. Requests refused before admission are recorded by
//! [`record_refused`]. The audit record goes to the writer without waiting, off the
//! response path; the slot taken at admission guarantees it room. A charged call's
//! ledger reports reach the owners only once its record is durable.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;
use switchboard_audit::{AuditRecord, Decision};
use switchboard_config::Capture;
use switchboard_core::{Money, Price, Usage};
use switchboard_ledger::Actual;

use super::RequestCtx;
use super::estimate::Estimate;
use super::policy::Admission;
use crate::gateway::Gateway;

/// What the pipeline learns about a request as it goes, for its audit record.
#[derive(Debug, Default, Clone)]
pub struct Trail {
    pub endpoint: &'static str,
    pub model: String,
    pub provider: Option<String>,
    pub served_model: Option<String>,
    pub attempts: u32,
    /// Fallback aliases the call moved through, in order.
    pub fallbacks: Vec<String>,
    /// Every routing decision and attempt outcome, for the audit record.
    pub route: crate::routing::Explain,
    /// How the response cache answered, when the alias caches.
    pub cache: Option<&'static str>,
    /// Guardrail findings, for the audit record.
    pub guardrails: Vec<String>,
    /// Time spent waiting on providers before the answer was committed (all attempts).
    pub upstream: std::time::Duration,
    pub stream: bool,
    pub tags: Vec<String>,
    /// The request body, when the tenant captures prompts.
    pub prompt: Option<serde_json::Value>,
    /// Set once an audit record for the request exists.
    pub recorded: bool,
}

pub type SharedTrail = Arc<Mutex<Trail>>;

/// The call's reservation and audit slot, until the call ends.
pub struct Accounting {
    gw: Arc<Gateway>,
    ctx: RequestCtx,
    price: Price,
    estimate: Estimate,
    admission: Option<Admission>,
    pub capture: Capture,
    /// What the alias's shadow strategy would have chosen, for the savings report.
    shadow: Option<ShadowNote>,
}

/// The shadow strategy's choice for a call: its alias and price, and whether it differs
/// from the deployment that served.
#[derive(Debug, Clone)]
pub struct ShadowNote {
    pub alias: String,
    /// The deployment id (strategy shadows) or tier alias (complexity) it chose.
    pub choice: String,
    pub price: Price,
    pub differed: bool,
}

impl Accounting {
    pub fn new(
        gw: Arc<Gateway>,
        ctx: RequestCtx,
        price: Price,
        estimate: Estimate,
        admission: Admission,
    ) -> Self {
        let capture = gw.directory.with_tenant(&ctx.identity.tenant, |t| {
            t.map(|t| t.capture).unwrap_or_default()
        });
        Self {
            gw,
            ctx,
            price,
            estimate,
            admission: Some(admission),
            capture,
            shadow: None,
        }
    }

    /// The price of the deployment that ended up serving the call.
    pub fn set_price(&mut self, price: Price) {
        self.price = price;
    }

    pub fn set_shadow(&mut self, note: ShadowNote) {
        self.shadow = Some(note);
    }

    /// Charges the real cost of a call that was answered, and records it. `usage` as the
    /// provider reported it; for a stream cut short before its usage arrived the input
    /// estimate stands in for the input, and `floor_output` (content events forwarded)
    /// for the output. Returns the cost.
    pub fn complete(
        self,
        usage: Usage,
        floor_output: u64,
        stream_end: Option<&str>,
        response: Option<String>,
    ) -> Money {
        self.charge(usage, floor_output, stream_end, response, None)
    }

    /// Charges a call whose answer was made (and is paid for) but refused to the client,
    /// by an output guardrail: the record carries the status and reason the client got,
    /// not a 200.
    pub fn complete_refused(self, usage: Usage, err: &crate::error::GatewayError) -> Money {
        let status = err.disposition().status.as_u16();
        self.charge(usage, 0, None, None, Some((status, err.to_string())))
    }

    fn charge(
        mut self,
        usage: Usage,
        floor_output: u64,
        stream_end: Option<&str>,
        response: Option<String>,
        refused: Option<(u16, String)>,
    ) -> Money {
        let mut usage = usage;
        if usage.input_tokens == 0 {
            usage.input_tokens = self.estimate.usage.input_tokens;
        }
        usage.output_tokens = usage.output_tokens.max(floor_output);
        let cost = self.price.cost(&usage);
        if let Some(s) = self.shadow.take() {
            self.gw.health.shadow.observe(
                &s.alias,
                &s.choice,
                cost,
                s.price.cost(&usage),
                s.differed,
            );
        }
        let Some(admission) = self.admission.take() else {
            return cost;
        };
        // The owners hear of the spend once its record is durable (see `append`).
        let reports = admission
            .reservation
            .map(|r| self.gw.ledger.settle(r, &Actual::of_call(cost, usage)));
        let (status, decision) = match &refused {
            Some((status, _)) => (*status, Decision::Blocked),
            None => (200, Decision::Allowed),
        };
        let mut record = base_record(&self.gw, &self.ctx, status, decision);
        record.reason = refused.map(|(_, reason)| reason);
        crate::metrics::usage(
            &record.model,
            record.provider.as_deref().unwrap_or(""),
            usage.input_tokens,
            usage.output_tokens,
            cost.nanos(),
            self.gw
                .config
                .metrics
                .tenant_labels
                .then_some(self.ctx.identity.tenant.as_str()),
        );
        record.set_usage(usage);
        record.cost_nanos = cost.nanos();
        record.stream_end = stream_end.map(str::to_owned);
        if self.capture == Capture::All {
            record.response = response;
        }
        append(
            admission.slot,
            record,
            reports.map(|r| -> Box<dyn Send> { Box::new(r) }),
        );
        cost
    }

    /// Releases a call that failed before answering, and records why.
    pub fn fail(mut self, status: u16, reason: &str) {
        self.fail_inner(status, reason);
    }

    fn fail_inner(&mut self, status: u16, reason: &str) {
        let Some(admission) = self.admission.take() else {
            return;
        };
        if let Some(r) = admission.reservation {
            self.gw.ledger.release(r);
        }
        let mut record = base_record(&self.gw, &self.ctx, status, Decision::Allowed);
        record.reason = Some(reason.to_owned());
        append(admission.slot, record, None);
    }
}

impl Drop for Accounting {
    fn drop(&mut self) {
        if self.gw.cutting.load(Ordering::Relaxed) {
            self.fail_inner(503, "cut at the end of the shutdown grace period");
        } else {
            // 499: nginx's "client closed request", the closest standard-ish code.
            self.fail_inner(499, "client went away before the answer");
        }
    }
}

/// The fields every record of this request shares.
fn base_record(gw: &Gateway, ctx: &RequestCtx, status: u16, decision: Decision) -> AuditRecord {
    let mut trail = ctx.trail.lock();
    trail.recorded = true;
    // What only the record needs is moved into it; the model and provider stay, for the
    // request's metric labels (`service`).
    let (route, route_log) = std::mem::take(&mut trail.route).into_parts();
    AuditRecord {
        time_ms: gw.now_ms(),
        request_id: ctx.id.to_string(),
        tenant: ctx.identity.tenant.clone(),
        team: ctx.identity.team.clone(),
        key: ctx.identity.id.clone(),
        tags: std::mem::take(&mut trail.tags),
        api: ctx.api.as_str().to_owned(),
        endpoint: trail.endpoint.to_owned(),
        model: trail.model.clone(),
        served_model: trail.served_model.take(),
        provider: trail.provider.clone(),
        attempts: trail.attempts,
        fallbacks: std::mem::take(&mut trail.fallbacks),
        route,
        route_log,
        cache: trail.cache.map(str::to_owned),
        guardrails: std::mem::take(&mut trail.guardrails),
        decision,
        status,
        latency_ms: ctx.started.elapsed().as_millis() as u64,
        stream: trail.stream,
        prompt: trail.prompt.take(),
        ..AuditRecord::default()
    }
}

/// The one debug line of a finished call (`SWITCHBOARD_LOG=debug`), written where its
/// audit record is, so every call gets exactly one, streams included (they finish after
/// their response head left). Ids, route, outcome and cost only: never prompt or answer
/// text, never key material.
fn log_finished(r: &AuditRecord) {
    tracing::debug!(
        request_id = %r.request_id,
        tenant = %r.tenant,
        endpoint = %r.endpoint,
        model = %r.model,
        provider = r.provider.as_deref().unwrap_or("none"),
        status = r.status,
        attempts = r.attempts,
        duration_ms = r.latency_ms,
        cost_usd = %Money(r.cost_nanos),
        input_tokens = r.input_tokens,
        output_tokens = r.output_tokens,
        cache = r.cache.as_deref().unwrap_or("none"),
        stream_end = r.stream_end.as_deref().unwrap_or("none"),
        reason = r.reason.as_deref().unwrap_or(""),
        "call finished"
    );
}

/// Sends the record to the writer at once (a flush after the call ends covers it); the
/// writer logs it if it can never be written. A charged call's record also holds the
/// call's ledger reports until it is durable: an owner never counts spend that a crash
/// could still take out of this node's log, and spend the crash kept from being
/// reported is recovered from the log at restart (see `crate::restore`).
fn append(slot: switchboard_audit::AuditSlot, record: AuditRecord, hold: Option<Box<dyn Send>>) {
    log_finished(&record);
    slot.submit_holding(record, hold);
}

/// Records a request that ended before admission: refused by policy, or failed to parse.
/// `ctx` is `None` when the caller was never identified.
pub fn record_refused(
    gw: &Arc<Gateway>,
    ctx: Option<&RequestCtx>,
    request_id: &str,
    api: &str,
    status: u16,
    reason: String,
) {
    let mut record = match ctx {
        Some(ctx) => {
            if ctx.trail.lock().recorded {
                return;
            }
            base_record(gw, ctx, status, Decision::Blocked)
        }
        None => AuditRecord {
            time_ms: gw.now_ms(),
            request_id: request_id.to_owned(),
            tenant: "-".to_owned(),
            key: "-".to_owned(),
            api: api.to_owned(),
            decision: Decision::Blocked,
            status,
            ..AuditRecord::default()
        },
    };
    record.reason = Some(reason);
    log_finished(&record);
    // Sent at once when the log has room, like an admitted call's record; otherwise a
    // task waits for room (backpressure) and sends it then.
    match gw.audit.try_reserve() {
        Some(slot) => slot.submit(record),
        None => {
            let audit = gw.audit.clone();
            tokio::spawn(async move {
                match audit.reserve().await {
                    Ok(slot) => slot.submit(record),
                    Err(e) => tracing::error!(request_id = %record.request_id, error = %e,
                        "audit record could not be written"),
                }
            });
        }
    }
}
