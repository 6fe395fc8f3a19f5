//! The crate's one error type and the JSON parse helper that produces it.

use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// What can go wrong reading or translating a message. The gateway maps each variant once
/// to an HTTP status and an error body in the caller's API shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The client's body is not JSON at all.
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// A field is missing, of the wrong type or out of range; `field` is its path
    /// (`messages[2].content`), so the client learns exactly what to fix.
    #[error("invalid field `{field}`: {message}")]
    InvalidField { field: String, message: String },
    /// The request asks for something the chosen upstream family cannot express.
    #[error("{0}")]
    Unsupported(String),
    /// The upstream answered with something that is not its own documented format.
    #[error("upstream sent an unreadable answer: {0}")]
    BadUpstream(String),
    /// The upstream reported an error inside a stream it had already started.
    #[error("upstream stream error ({kind}): {message}")]
    UpstreamStream { kind: String, message: String },
}

impl ProtoError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ProtoError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The offending field's path, for the `param` member of an OpenAI error.
    pub fn param(&self) -> Option<&str> {
        match self {
            ProtoError::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// The kind of an error shown to a client, in family-neutral terms. Each family's `error`
/// module names it in its own vocabulary (OpenAI `type`, Anthropic `error.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiErrorKind {
    /// 400: the request is malformed or asks for something impossible.
    InvalidRequest,
    /// 401: no key, or a key the gateway does not know.
    Authentication,
    /// 403: a known key that may not do this.
    PermissionDenied,
    /// 404: unknown model or route.
    NotFound,
    /// 413: body over the limit.
    TooLarge,
    /// 429: a rate limit or budget refused the call.
    RateLimited,
    /// 500/502: the upstream failed or answered nonsense.
    Upstream,
    /// 503/529: no upstream can take the call now.
    Unavailable,
    /// 504: the upstream did not answer in time.
    Timeout,
}

/// An error as an upstream reported it in its own body, read back for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamError {
    /// The upstream's own error type or status string (`rate_limit_error`, `UNAVAILABLE`).
    pub kind: Option<String>,
    pub message: String,
}

/// Parses a client's JSON body into `T`, naming the path of the first field that does not
/// fit (`messages[0].role`) instead of only a line and column.
pub fn parse_request<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtoError> {
    // serde fills a struct from an array by position; a request body must be an object.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(ProtoError::MalformedJson("the body is empty".into())),
        Some(_) => {
            return Err(ProtoError::field(
                "body",
                "the request body must be a JSON object",
            ));
        }
    }
    // Tracking the path costs an allocation per field name; only a body that fails
    // needs it, so it is parsed again, the same way, to say where.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ProtoError::MalformedJson(inner.to_string())
            }
            Category::Data => {
                let message = strip_position(&inner.to_string());
                if path == "." || path.is_empty() {
                    // A missing top-level field: serde names it in the message.
                    let field = missing_field_name(&message).unwrap_or("body").to_owned();
                    ProtoError::InvalidField { field, message }
                } else {
                    ProtoError::InvalidField {
                        field: path,
                        message,
                    }
                }
            }
        }
    })?;
    de.end()
        .map_err(|e| ProtoError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// Parses an upstream's JSON answer; any failure is the upstream's fault.
pub fn parse_upstream<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProtoError> {
    serde_json::from_slice(body).map_err(|e| ProtoError::BadUpstream(e.to_string()))
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn missing_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Req {
        model: String,
        messages: Vec<Msg>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Msg {
        role: String,
    }

    #[test]
    fn malformed_json_is_reported_as_such() {
        let err = parse_request::<Req>(b"{\"model\": ").unwrap_err();
        assert!(matches!(err, ProtoError::MalformedJson(_)), "{err:?}");
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let err = parse_request::<Req>(br#"{"model":"m","messages":[{"role":1}]}"#).unwrap_err();
        assert_eq!(err.param(), Some("messages[0].role"), "{err:?}");
    }

    #[test]
    fn missing_top_level_field_is_named() {
        let err = parse_request::<Req>(br#"{"model":"m"}"#).unwrap_err();
        assert_eq!(err.param(), Some("messages"), "{err:?}");
    }

    #[test]
    fn an_array_body_is_refused_even_when_it_would_fill_the_struct() {
        let err = parse_request::<Req>(br#"["m", []]"#).unwrap_err();
        assert_eq!(err.param(), Some("body"), "{err:?}");
        assert!(matches!(
            parse_request::<Req>(b"  "),
            Err(ProtoError::MalformedJson(_))
        ));
    }

    #[test]
    fn trailing_garbage_is_malformed() {
        let err = parse_request::<Req>(br#"{"model":"m","messages":[]} x"#).unwrap_err();
        assert!(matches!(err, ProtoError::MalformedJson(_)), "{err:?}");
    }
}
