//! Path routing: which provider endpoint a request targets.
//!
//! Routing is a handful of `strip_prefix`/`split` calls on the path, no regex
//! and no allocation, because it runs on every request of every benchmark.

use http::Method;
use serde::{Deserialize, Serialize};

/// A provider endpoint the mock serves. Used for per-route counters and to
/// scope server-wide fault rules; serialised in `snake_case`
/// (`"openai_chat"`, `"gemini_stream"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Route {
    /// `POST /v1/chat/completions`
    #[serde(rename = "openai_chat")]
    OpenAiChat,
    /// `POST /v1/embeddings`
    #[serde(rename = "openai_embeddings")]
    OpenAiEmbeddings,
    /// `GET /v1/models`
    #[serde(rename = "openai_models")]
    OpenAiModels,
    /// `POST /openai/deployments/{deployment}/chat/completions?api-version=..`
    #[serde(rename = "azure_chat")]
    AzureChat,
    /// `POST /openai/deployments/{deployment}/embeddings?api-version=..`
    #[serde(rename = "azure_embeddings")]
    AzureEmbeddings,
    /// `POST /v1/messages`
    #[serde(rename = "anthropic_messages")]
    AnthropicMessages,
    /// `POST /v1beta/models/{model}:generateContent`
    #[serde(rename = "gemini_generate")]
    GeminiGenerate,
    /// `POST /v1beta/models/{model}:streamGenerateContent`
    #[serde(rename = "gemini_stream")]
    GeminiStream,
    /// `POST /v1beta/models/{model}:embedContent` and `:batchEmbedContents`
    #[serde(rename = "gemini_embed")]
    GeminiEmbed,
}

impl Route {
    /// Every route, in counter order.
    pub const ALL: [Route; 9] = [
        Route::OpenAiChat,
        Route::OpenAiEmbeddings,
        Route::OpenAiModels,
        Route::AzureChat,
        Route::AzureEmbeddings,
        Route::AnthropicMessages,
        Route::GeminiGenerate,
        Route::GeminiStream,
        Route::GeminiEmbed,
    ];

    /// Index into per-route counter arrays.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The `snake_case` name used in `/_mock/stats` and fault rules.
    pub fn name(self) -> &'static str {
        match self {
            Route::OpenAiChat => "openai_chat",
            Route::OpenAiEmbeddings => "openai_embeddings",
            Route::OpenAiModels => "openai_models",
            Route::AzureChat => "azure_chat",
            Route::AzureEmbeddings => "azure_embeddings",
            Route::AnthropicMessages => "anthropic_messages",
            Route::GeminiGenerate => "gemini_generate",
            Route::GeminiStream => "gemini_stream",
            Route::GeminiEmbed => "gemini_embed",
        }
    }

    /// Which provider's auth rules and error shape apply.
    pub(crate) fn provider(self) -> Provider {
        match self {
            Route::OpenAiChat | Route::OpenAiEmbeddings | Route::OpenAiModels => Provider::OpenAi,
            Route::AzureChat | Route::AzureEmbeddings => Provider::Azure,
            Route::AnthropicMessages => Provider::Anthropic,
            Route::GeminiGenerate | Route::GeminiStream | Route::GeminiEmbed => Provider::Gemini,
        }
    }
}

/// Provider family: decides auth headers and error body shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    OpenAi,
    Azure,
    Anthropic,
    Gemini,
}

/// A resolved request target. `path_model` is the Azure deployment or the
/// Gemini model taken from the URL (borrowed from the path).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub route: Route,
    pub path_model: Option<&'a str>,
    /// Gemini `:batchEmbedContents` (shares the `GeminiEmbed` route).
    pub batch: bool,
}

/// Maps method + path to a provider route, or `None` (-> 404).
pub(crate) fn resolve<'a>(method: &Method, path: &'a str) -> Option<Target<'a>> {
    let plain = |route| {
        Some(Target {
            route,
            path_model: None,
            batch: false,
        })
    };
    match (method, path) {
        (&Method::POST, "/v1/chat/completions") => return plain(Route::OpenAiChat),
        (&Method::POST, "/v1/embeddings") => return plain(Route::OpenAiEmbeddings),
        (&Method::GET, "/v1/models") => return plain(Route::OpenAiModels),
        (&Method::POST, "/v1/messages") => return plain(Route::AnthropicMessages),
        _ => {}
    }
    if method != Method::POST {
        return None;
    }
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        let (deployment, op) = rest.split_once('/')?;
        let route = match op {
            "chat/completions" => Route::AzureChat,
            "embeddings" => Route::AzureEmbeddings,
            _ => return None,
        };
        return (!deployment.is_empty()).then_some(Target {
            route,
            path_model: Some(deployment),
            batch: false,
        });
    }
    let rest = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, op) = rest.rsplit_once(':')?;
    let (route, batch) = match op {
        "generateContent" => (Route::GeminiGenerate, false),
        "streamGenerateContent" => (Route::GeminiStream, false),
        "embedContent" => (Route::GeminiEmbed, false),
        "batchEmbedContents" => (Route::GeminiEmbed, true),
        _ => return None,
    };
    (!model.is_empty() && !model.contains('/')).then_some(Target {
        route,
        path_model: Some(model),
        batch,
    })
}

/// Value of query parameter `name` (raw, not percent-decoded: the mock only
/// looks at `api-version`, `alt` and `key`, which never need decoding).
pub(crate) fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_route() {
        let t = resolve(&Method::POST, "/openai/deployments/dep-1/chat/completions").unwrap();
        assert_eq!((t.route, t.path_model), (Route::AzureChat, Some("dep-1")));
        let t = resolve(
            &Method::POST,
            "/v1beta/models/gemini-x:streamGenerateContent",
        )
        .unwrap();
        assert_eq!(
            (t.route, t.path_model),
            (Route::GeminiStream, Some("gemini-x"))
        );
        let t = resolve(&Method::POST, "/v1beta/models/e:batchEmbedContents").unwrap();
        assert!(t.batch && t.route == Route::GeminiEmbed);
        assert!(resolve(&Method::GET, "/v1/chat/completions").is_none());
        assert!(resolve(&Method::POST, "/v1beta/models/:generateContent").is_none());
        assert!(resolve(&Method::POST, "/nope").is_none());
    }

    #[test]
    fn serde_names_match_stats_names() {
        for r in Route::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.name());
        }
    }

    #[test]
    fn query_params() {
        assert_eq!(query_param(Some("alt=sse&key=k"), "key"), Some("k"));
        assert_eq!(query_param(Some("alt"), "alt"), Some(""));
        assert_eq!(query_param(None, "alt"), None);
    }
}
