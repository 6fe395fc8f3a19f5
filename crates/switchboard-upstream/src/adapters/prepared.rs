//! What every request to a provider shares, made once when the catalog is built: the
//! key as the header its kind wants, and the URLs that do not name the model. Building
//! them per call meant formatting and validating the same strings on every request.

use http::Uri;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use switchboard_config::{ProviderKind, Secret};

/// A provider's ready-made request parts.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The key's header (`authorization: Bearer`, `x-api-key`, `api-key`,
    /// `x-goog-api-key`), none without a key, or why the key cannot be a header.
    pub auth: Result<Option<(HeaderName, HeaderValue)>, KeyNotAHeader>,
    /// The chat endpoint, when its URL does not depend on the model or the call.
    pub chat: Option<Uri>,
    /// The embeddings endpoint, likewise.
    pub embeddings: Option<Uri>,
}

/// The provider's key holds characters no header may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyNotAHeader;

impl Prepared {
    pub fn new(kind: ProviderKind, base_url: &str, key: Option<&Secret>) -> Self {
        let uri = |path: &str| Uri::try_from(format!("{base_url}{path}")).ok();
        let (chat, embeddings) = match kind {
            ProviderKind::Openai | ProviderKind::OpenaiCompatible => {
                (uri("/chat/completions"), uri("/embeddings"))
            }
            ProviderKind::Anthropic => (uri("/v1/messages"), None),
            // Azure and Gemini name the model (and Gemini the kind of call) in the path.
            ProviderKind::Azure | ProviderKind::Gemini | ProviderKind::Builtin => (None, None),
        };
        Self {
            auth: key_header(kind, key),
            chat,
            embeddings,
        }
    }
}

fn key_header(
    kind: ProviderKind,
    key: Option<&Secret>,
) -> Result<Option<(HeaderName, HeaderValue)>, KeyNotAHeader> {
    let Some(key) = key.map(Secret::expose) else {
        return Ok(None);
    };
    let (name, value) = match kind {
        // An empty key sends no header: local OpenAI-compatible servers often take none.
        ProviderKind::Openai | ProviderKind::OpenaiCompatible if key.is_empty() => {
            return Ok(None);
        }
        ProviderKind::Openai | ProviderKind::OpenaiCompatible => {
            (AUTHORIZATION, format!("Bearer {key}"))
        }
        ProviderKind::Anthropic => (HeaderName::from_static("x-api-key"), key.to_owned()),
        ProviderKind::Azure => (HeaderName::from_static("api-key"), key.to_owned()),
        ProviderKind::Gemini => (HeaderName::from_static("x-goog-api-key"), key.to_owned()),
        ProviderKind::Builtin => return Ok(None),
    };
    let mut value = HeaderValue::try_from(value).map_err(|_| KeyNotAHeader)?;
    // Marked sensitive, so it is never logged by hyper or us.
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s.to_owned())
    }

    #[test]
    fn each_kind_sends_its_key_in_its_own_header() {
        let cases = [
            (ProviderKind::Openai, "authorization", "Bearer sk-1"),
            (
                ProviderKind::OpenaiCompatible,
                "authorization",
                "Bearer sk-1",
            ),
            (ProviderKind::Anthropic, "x-api-key", "sk-1"),
            (ProviderKind::Azure, "api-key", "sk-1"),
            (ProviderKind::Gemini, "x-goog-api-key", "sk-1"),
        ];
        for (kind, name, value) in cases {
            let p = Prepared::new(kind, "https://h.example/v1", Some(&secret("sk-1")));
            let (n, v) = p.auth.unwrap().unwrap();
            assert_eq!((n.as_str(), v.to_str().unwrap()), (name, value), "{kind:?}");
            assert!(v.is_sensitive());
        }
    }

    #[test]
    fn no_key_or_an_empty_openai_key_sends_no_header() {
        let p = Prepared::new(ProviderKind::Openai, "http://h", None);
        assert_eq!(p.auth.unwrap(), None);
        let p = Prepared::new(
            ProviderKind::OpenaiCompatible,
            "http://h",
            Some(&secret("")),
        );
        assert_eq!(p.auth.unwrap(), None);
    }

    #[test]
    fn a_key_no_header_can_carry_is_an_error_not_a_panic() {
        let p = Prepared::new(ProviderKind::Anthropic, "http://h", Some(&secret("a\nb")));
        assert_eq!(p.auth.unwrap_err(), KeyNotAHeader);
    }

    #[test]
    fn urls_that_do_not_name_the_model_are_made_once() {
        let p = Prepared::new(
            ProviderKind::OpenaiCompatible,
            "http://127.0.0.1:9/v1",
            None,
        );
        assert_eq!(p.chat.unwrap(), "http://127.0.0.1:9/v1/chat/completions");
        assert_eq!(p.embeddings.unwrap(), "http://127.0.0.1:9/v1/embeddings");
        let p = Prepared::new(ProviderKind::Anthropic, "https://api.anthropic.com", None);
        assert_eq!(p.chat.unwrap(), "https://api.anthropic.com/v1/messages");
        let p = Prepared::new(ProviderKind::Gemini, "https://g.example", None);
        assert!(p.chat.is_none() && p.embeddings.is_none());
        // A URL that does not parse is left to the call, which reports it.
        let p = Prepared::new(ProviderKind::Openai, "not a url", None);
        assert!(p.chat.is_none());
    }
}
