//! `/_mock/*` control endpoints, for driving a mock that runs as a separate
//! process (`mock-llm`). Admin calls are never counted or recorded.
//!
//! | method + path          | effect                                                       |
//! |------------------------|--------------------------------------------------------------|
//! | `GET /_mock/stats`     | `{"calls":N,"by_route":{"openai_chat":n,..},"by_model":{..},"hanging":n}` |
//! | `POST /_mock/faults`   | body = [`FaultRule`] JSON; appended (400 if the spec is malformed) |
//! | `DELETE /_mock/faults` | removes all rules                                            |
//! | `GET/POST /_mock/config` | read / set `{"ttft_ms":..,"token_delay_ms":..}` (fields optional) |
//! | `GET /_mock/requests`  | recorded requests, oldest first; `body` is JSON when it parses, else a string |
//! | `POST /_mock/reset`    | counters, rules, recorded requests and latency defaults reset |

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::body::MockBody;
use crate::errors::{self, json_response};
use crate::faults::FaultRule;
use crate::routes::{Provider, Route};
use crate::state::State;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigPatch {
    #[serde(default)]
    ttft_ms: Option<u64>,
    #[serde(default)]
    token_delay_ms: Option<u64>,
}

fn ok(v: &Value) -> Response<MockBody> {
    json_response(StatusCode::OK, v.to_string())
}

fn bad_request(msg: &str) -> Response<MockBody> {
    errors::error(Provider::OpenAi, 400, msg)
}

/// The stats document (also used by tests through the library).
pub(crate) fn stats_json(state: &State) -> Value {
    let by_route: Map<String, Value> = Route::ALL
        .iter()
        .map(|r| (r.name().to_owned(), json!(state.stats.calls_for(*r))))
        .collect();
    json!({
        "calls": state.stats.calls(),
        "by_route": by_route,
        "by_model": state.stats.models(),
        "hanging": state.stats.hanging(),
    })
}

fn config_json(state: &State) -> Value {
    json!({
        "ttft_ms": state.knobs.ttft().as_millis() as u64,
        "token_delay_ms": state.knobs.token_delay().as_millis() as u64,
    })
}

fn requests_json(state: &State) -> Value {
    let list: Vec<Value> = state
        .recorder
        .snapshot()
        .into_iter()
        .map(|r| {
            let body = r
                .json()
                .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&r.body).into_owned()));
            json!({
                "method": r.method,
                "path": r.path,
                "query": r.query,
                "headers": r.headers,
                "body": body,
            })
        })
        .collect();
    Value::Array(list)
}

/// Handles a `/_mock/...` request whose body has been read.
pub(crate) fn handle(
    state: &State,
    method: &Method,
    path: &str,
    body: &Bytes,
) -> Response<MockBody> {
    match (method, path) {
        (&Method::GET, "/_mock/stats") => ok(&stats_json(state)),
        (&Method::POST, "/_mock/faults") => match serde_json::from_slice::<FaultRule>(body) {
            Err(e) => bad_request(&format!("invalid fault rule: {e}")),
            Ok(rule) => match rule.validate() {
                Err(e) => bad_request(&e.to_string()),
                Ok(()) => {
                    state.faults.add(rule);
                    ok(&json!({"ok": true}))
                }
            },
        },
        (&Method::DELETE, "/_mock/faults") => {
            state.faults.clear();
            ok(&json!({"ok": true}))
        }
        (&Method::GET, "/_mock/config") => ok(&config_json(state)),
        (&Method::POST, "/_mock/config") => match serde_json::from_slice::<ConfigPatch>(body) {
            Err(e) => bad_request(&format!("invalid config: {e}")),
            Ok(patch) => {
                if let Some(ms) = patch.ttft_ms {
                    state.knobs.set_ttft(Duration::from_millis(ms));
                }
                if let Some(ms) = patch.token_delay_ms {
                    state.knobs.set_token_delay(Duration::from_millis(ms));
                }
                ok(&config_json(state))
            }
        },
        (&Method::GET, "/_mock/requests") => ok(&requests_json(state)),
        (&Method::POST, "/_mock/reset") => {
            state.reset();
            ok(&json!({"ok": true}))
        }
        _ => errors::error_with(
            Provider::OpenAi,
            404,
            &format!("unknown admin endpoint: {method} {path}"),
            Some("unknown_url"),
            None,
        ),
    }
}
