//! Per-provider credential checks.
//!
//! | provider  | credential                                   | missing            | wrong (with `require_key`) |
//! |-----------|----------------------------------------------|--------------------|----------------------------|
//! | OpenAI    | `Authorization: Bearer <k>`                  | 401                | 401 `invalid_api_key`      |
//! | Azure     | `api-key: <k>` (+ `api-version` query)       | 401                | 401                        |
//! | Anthropic | `x-api-key: <k>` (+ `anthropic-version`)     | 401 / 400          | 401                        |
//! | Gemini    | `x-goog-api-key: <k>` or `?key=<k>`          | 403 PERMISSION_DENIED | 400 INVALID_ARGUMENT    |
//!
//! Without `require_key` any non-empty key is accepted.

use http::header::{AUTHORIZATION, HeaderName};
use http::{HeaderMap, Response};

use crate::body::MockBody;
use crate::errors;
use crate::routes::{Provider, query_param};

const API_KEY: HeaderName = HeaderName::from_static("api-key");
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");
const X_GOOG_API_KEY: HeaderName = HeaderName::from_static("x-goog-api-key");

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `Some(error response)` when the request is not properly authenticated.
pub(crate) fn check(
    provider: Provider,
    headers: &HeaderMap,
    query: Option<&str>,
    required: Option<&str>,
) -> Option<Response<MockBody>> {
    let ok = |key: &str| required.is_none_or(|r| r == key);
    match provider {
        Provider::OpenAi => {
            let key = header(headers, &AUTHORIZATION)
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|k| !k.is_empty());
            match key {
                None => Some(errors::error_with(
                    provider,
                    401,
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    Some("missing_api_key"),
                    None,
                )),
                Some(k) if !ok(k) => {
                    Some(errors::error(provider, 401, "Incorrect API key provided."))
                }
                Some(_) => None,
            }
        }
        Provider::Azure => match header(headers, &API_KEY) {
            Some(k) if ok(k) => {
                if query_param(query, "api-version").is_none_or(str::is_empty) {
                    Some(errors::error(
                        provider,
                        400,
                        "Missing required query parameter: api-version",
                    ))
                } else {
                    None
                }
            }
            _ => Some(errors::error(
                provider,
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
            )),
        },
        Provider::Anthropic => match header(headers, &X_API_KEY) {
            Some(k) if ok(k) => header(headers, &ANTHROPIC_VERSION)
                .is_none()
                .then(|| errors::error(provider, 400, "anthropic-version: header is required")),
            Some(_) => Some(errors::error(provider, 401, "invalid x-api-key")),
            None => Some(errors::error(provider, 401, "x-api-key header is required")),
        },
        Provider::Gemini => {
            let key = header(headers, &X_GOOG_API_KEY)
                .or_else(|| query_param(query, "key").filter(|k| !k.is_empty()));
            match key {
                None => Some(errors::error(
                    provider,
                    403,
                    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                )),
                Some(k) if !ok(k) => Some(errors::error(
                    provider,
                    400,
                    "API key not valid. Please pass a valid API key.",
                )),
                Some(_) => None,
            }
        }
    }
}

/// Every credential the request carried, verbatim (`authorization=Bearer sk-...`,
/// `api-key=...`, `x-api-key=...`, `x-goog-api-key=...`, `key=...` from the query), for
/// the `echo-auth` fault: a gateway must never pass such an echo on to its clients or
/// logs. `none` when there were none.
pub(crate) fn echo(headers: &HeaderMap, query: Option<&str>) -> String {
    let mut found: Vec<String> = [&AUTHORIZATION, &API_KEY, &X_API_KEY, &X_GOOG_API_KEY]
        .into_iter()
        .filter_map(|name| header(headers, name).map(|v| format!("{name}={v}")))
        .collect();
    if let Some(key) = query_param(query, "key") {
        found.push(format!("key={key}"));
    }
    if found.is_empty() {
        "none".to_owned()
    } else {
        found.join(", ")
    }
}
