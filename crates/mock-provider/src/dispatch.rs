//! The request pipeline for provider routes.
//!
//! Order of checks (each failure answers in the provider's error shape):
//!
//! 1. route lookup (unknown -> 404, OpenAI shape, recorded but not counted);
//! 2. body read and parsed (a parse error is remembered, not yet answered);
//! 3. **counted** (route, and model when known) and recorded — so auth
//!    failures, malformed bodies and faulted requests all count as calls;
//! 4. `x-mock-fault` syntax (400), credentials (401/403/400), Azure
//!    `api-version` (400), body errors (400), knob headers (400);
//! 5. fault selection: header, else the first matching server-wide rule;
//! 6. `ttft` sleep, then the fault or the generated answer.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, Response, StatusCode};

use crate::body::MockBody;
use crate::content::{self, ChatRequest};
use crate::embeddings::{self, EmbedRequest};
use crate::errors::{self, JSON};
use crate::faults::Fault;
use crate::openai::Meta;
use crate::routes::{Provider, Route, Target, query_param};
use crate::sse::{Dialect, Frames};
use crate::state::{State, unix_now};
use crate::{anthropic, auth, gemini, openai};

const X_MOCK_FAULT: HeaderName = HeaderName::from_static("x-mock-fault");
const X_MOCK_TTFT: HeaderName = HeaderName::from_static("x-mock-ttft-ms");
const X_MOCK_TOKEN_DELAY: HeaderName = HeaderName::from_static("x-mock-token-delay-ms");
const X_MOCK_OUTPUT_TOKENS: HeaderName = HeaderName::from_static("x-mock-output-tokens");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

/// A request body parsed for its route.
enum Parsed {
    Chat(ChatRequest),
    Embed(EmbedRequest),
    Models,
}

impl Parsed {
    fn model(&self) -> Option<&str> {
        match self {
            Parsed::Chat(c) => c.model.as_deref(),
            Parsed::Embed(e) => e.model.as_deref(),
            Parsed::Models => None,
        }
    }
}

fn parse(target: &Target<'_>, body: &[u8]) -> Result<Parsed, String> {
    Ok(match target.route {
        Route::OpenAiChat => Parsed::Chat(openai::parse(body, true)?),
        Route::AzureChat => Parsed::Chat(openai::parse(body, false)?),
        Route::AnthropicMessages => Parsed::Chat(anthropic::parse(body)?),
        Route::GeminiGenerate | Route::GeminiStream => Parsed::Chat(gemini::parse(body)?),
        Route::OpenAiEmbeddings => Parsed::Embed(embeddings::parse_openai(body, true)?),
        Route::AzureEmbeddings => Parsed::Embed(embeddings::parse_openai(body, false)?),
        Route::GeminiEmbed => Parsed::Embed(embeddings::parse_gemini(body, target.batch)?),
        Route::OpenAiModels => Parsed::Models,
    })
}

/// Per-request latency and length, from headers over server defaults.
struct Timing {
    ttft: Duration,
    token_delay: Duration,
    output_tokens: Option<u64>,
}

fn header_u64(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, String> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} must be a non-negative integer")),
    }
}

impl Timing {
    fn from_headers(headers: &HeaderMap, state: &State) -> Result<Timing, String> {
        let ms = |name| header_u64(headers, name).map(|v| v.map(Duration::from_millis));
        Ok(Timing {
            ttft: ms(&X_MOCK_TTFT)?.unwrap_or_else(|| state.knobs.ttft()),
            token_delay: ms(&X_MOCK_TOKEN_DELAY)?.unwrap_or_else(|| state.knobs.token_delay()),
            output_tokens: header_u64(headers, &X_MOCK_OUTPUT_TOKENS)?,
        })
    }
}

async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// What a route produced, before faults and delays are applied.
enum Rendered {
    Full { body: String, tokens: u64 },
    Stream { frames: Frames, dialect: Dialect },
}

fn render(
    state: &State,
    target: &Target<'_>,
    query: Option<&str>,
    parsed: &Parsed,
    timing: &Timing,
) -> Rendered {
    let model = target.path_model.or_else(|| parsed.model()).unwrap_or("");
    let meta = Meta {
        model,
        id: state.next_id(),
        created: unix_now(),
    };
    match parsed {
        Parsed::Models => Rendered::Full {
            body: openai::MODELS.to_owned(),
            tokens: 0,
        },
        Parsed::Embed(e) => Rendered::Full {
            body: match target.route.provider() {
                Provider::Gemini => embeddings::render_gemini(model, e, target.batch),
                _ => embeddings::render_openai(model, e),
            },
            tokens: 0,
        },
        Parsed::Chat(req) => {
            let ans = content::answer(req, timing.output_tokens);
            // Choices are generated "in parallel": the delay counts N once.
            let tokens = ans.output_tokens;
            match target.route {
                Route::AnthropicMessages if req.stream => Rendered::Stream {
                    frames: anthropic::render_stream(&meta, &ans),
                    dialect: Dialect::Anthropic,
                },
                Route::AnthropicMessages => Rendered::Full {
                    body: anthropic::render(&meta, &ans),
                    tokens,
                },
                Route::GeminiStream => {
                    let dialect = if query_param(query, "alt") == Some("sse") {
                        Dialect::GeminiSse
                    } else {
                        Dialect::GeminiArray
                    };
                    Rendered::Stream {
                        frames: gemini::render_stream(&meta, &ans, dialect),
                        dialect,
                    }
                }
                Route::GeminiGenerate => Rendered::Full {
                    body: gemini::render(&meta, &ans),
                    tokens,
                },
                _ if req.stream => Rendered::Stream {
                    frames: openai::render_stream(&meta, req, &ans),
                    dialect: Dialect::OpenAi,
                },
                _ => Rendered::Full {
                    body: openai::render(&meta, req, &ans),
                    tokens,
                },
            }
        }
    }
}

/// Handles one request already resolved to a provider route.
pub(crate) async fn provider_call(
    state: &Arc<State>,
    parts: &Parts,
    target: Target<'_>,
    body: Bytes,
) -> Result<Response<MockBody>, io::Error> {
    let route = target.route;
    let provider = route.provider();
    let query = parts.uri.query();
    let headers = &parts.headers;
    let parsed = parse(&target, &body);
    let model = target
        .path_model
        .or_else(|| parsed.as_ref().ok().and_then(Parsed::model));
    state.stats.count(route, model);
    state.recorder.push(
        parts.method.clone(),
        parts.uri.clone(),
        headers.clone(),
        body,
    );

    let header_fault = match headers.get(&X_MOCK_FAULT) {
        None => None,
        Some(v) => match v
            .to_str()
            .map_err(|_| ())
            .and_then(|s| Fault::parse(s).map_err(|_| ()))
        {
            Ok(f) => Some(f),
            Err(()) => {
                let msg = format!(
                    "malformed x-mock-fault header: {:?}",
                    String::from_utf8_lossy(v.as_bytes())
                );
                return Ok(errors::error(provider, 400, &msg));
            }
        },
    };
    if let Some(denied) = auth::check(
        provider,
        headers,
        query,
        state.config.require_key.as_deref(),
    ) {
        return Ok(denied);
    }
    let parsed = match &parsed {
        Ok(p) => p,
        Err(msg) => return Ok(errors::error(provider, 400, msg)),
    };
    let timing = match Timing::from_headers(headers, state) {
        Ok(t) => t,
        Err(msg) => return Ok(errors::error(provider, 400, &msg)),
    };
    let fault = match header_fault {
        Some(f) => Some(f),
        None => match state.faults.take(route, model) {
            None => None,
            Some(Ok(f)) => Some(f),
            Some(Err(e)) => return Ok(errors::error(provider, 400, &e.to_string())),
        },
    };

    match fault {
        Some(Fault::Status { code, retry_after }) => {
            pause(timing.ttft).await;
            let msg = format!("mock fault: injected status {code}");
            return Ok(errors::error_with(provider, code, &msg, None, retry_after));
        }
        Some(Fault::EchoAuth { code }) => {
            pause(timing.ttft).await;
            let msg = format!(
                "mock fault: injected status {code}; credentials received: {}",
                auth::echo(headers, query)
            );
            return Ok(errors::error(provider, code, &msg));
        }
        Some(Fault::Hang) => {
            state.hang().await;
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "mock fault: hang ended",
            ));
        }
        _ => {}
    }

    match render(state, &target, query, parsed, &timing) {
        Rendered::Full { body, tokens } => {
            let per_token = timing
                .token_delay
                .saturating_mul(u32::try_from(tokens).unwrap_or(u32::MAX));
            pause(timing.ttft.saturating_add(per_token)).await;
            let full_len = body.len();
            let body = Bytes::from(body);
            let resp_body = match fault {
                Some(Fault::CutAfter(_)) => MockBody::partial(body, None),
                Some(Fault::HangAfter(_)) => MockBody::partial(body, Some(state.hang())),
                Some(Fault::BadJson | Fault::BadSse) => MockBody::full(body.slice(..full_len / 2)),
                _ => MockBody::full(body),
            };
            let mut resp = Response::new(resp_body);
            resp.headers_mut().insert(CONTENT_TYPE, JSON);
            if matches!(fault, Some(Fault::CutAfter(_) | Fault::HangAfter(_))) {
                resp.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(full_len));
            }
            Ok(resp)
        }
        Rendered::Stream { frames, dialect } => {
            pause(timing.ttft).await;
            let stream =
                MockBody::stream(frames, dialect, fault, timing.token_delay, || state.hang());
            let mut resp = Response::new(stream);
            *resp.status_mut() = StatusCode::OK;
            let h = resp.headers_mut();
            if dialect == Dialect::GeminiArray {
                h.insert(CONTENT_TYPE, JSON);
            } else {
                h.insert(CONTENT_TYPE, EVENT_STREAM);
                h.insert(CACHE_CONTROL, NO_CACHE);
            }
            Ok(resp)
        }
    }
}
