//! The providers and model aliases of one configuration, ready to serve.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use switchboard_config::{Config, ProviderKind, Secret};
use switchboard_core::Price;

use crate::adapters::Prepared;
use crate::client::{ClientOptions, HttpClient};
use crate::error::UpstreamError;

/// A provider account: where calls go, how they authenticate, and its pooled client.
#[derive(Debug)]
pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    /// API root without a trailing slash (empty for the builtin provider).
    pub base_url: String,
    pub(crate) api_key: Option<Secret>,
    pub(crate) api_version: Option<String>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// The key's header and the fixed URLs, made once.
    pub(crate) prepared: Prepared,
    pub total_timeout: Duration,
    pub stream_idle_timeout: Duration,
    /// `None` for the builtin provider, which answers in-process.
    client: Option<HttpClient>,
}

impl Provider {
    /// `text` with this provider's key and secret header values replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let secrets = self.api_key.iter().map(|k| k.expose().to_owned()).chain(
            self.headers
                .iter()
                .filter_map(|(_, v)| v.to_str().ok().map(str::to_owned)),
        );
        for secret in secrets.filter(|s| s.len() >= 4) {
            out = out.replace(&secret, "***");
        }
        out
    }

    /// Sends a request built by this provider's adapter.
    pub async fn send(
        &self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        match &self.client {
            Some(client) => client.send(req).await,
            None => Err(UpstreamError::Connect(
                "the builtin provider takes no HTTP calls".into(),
            )),
        }
    }
}

/// `s` as a header value; a name no header can carry (configuration allows any
/// string) reads `invalid` rather than failing the answer.
pub fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// One place an alias can be served.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// `provider/model`: the deployment's name in breakers, metrics and the admin API. One
    /// upstream model served for several aliases is one deployment. Names are shared: a
    /// deployment is cloned into every call it serves.
    pub id: Arc<str>,
    pub provider: Arc<Provider>,
    /// The upstream's model name.
    pub model: Arc<str>,
    /// Share of traffic under weighted routing.
    pub weight: u32,
    /// Largest prompt plus answer, when known.
    pub context_window: Option<u32>,
    /// What a call costs here: the deployment's own price, else the table's entry for the
    /// upstream model, else zero (`switchboard check` warns about unpriced models).
    pub price: Price,
    /// The model's largest answer, reserved against budgets when a request sets no
    /// `max_tokens`.
    pub max_output_tokens: Option<u32>,
    /// The provider's name and the model, as the answer's header values: made once, and
    /// cloned (a reference count) into each answer this deployment serves.
    pub provider_header: HeaderValue,
    pub model_header: HeaderValue,
}

#[derive(Debug)]
struct Alias {
    deployments: Vec<Deployment>,
    owned_by: String,
    /// Why no deployment is live, when none is.
    unavailable: Option<String>,
}

/// Model aliases and their live deployments, built once at start-up.
#[derive(Debug, Default)]
pub struct Catalog {
    aliases: HashMap<String, Alias>,
    /// Alias names in config order, for listing.
    order: Vec<String>,
}

/// The answer to "who serves this alias?".
#[derive(Debug)]
pub enum Lookup<'a> {
    Live(&'a [Deployment]),
    /// The alias exists but every provider behind it is switched off.
    Unavailable(&'a str),
    Unknown,
}

impl Catalog {
    pub fn from_config(config: &Config) -> Result<Catalog, UpstreamError> {
        let mut providers = HashMap::new();
        for (name, p) in &config.providers {
            if p.disabled.is_some() {
                continue;
            }
            let client = match p.kind {
                ProviderKind::Builtin => None,
                _ => Some(HttpClient::new(ClientOptions {
                    connect_timeout: p.connect_timeout,
                    // The wait for the headers is part of the whole call, so it is
                    // bounded by `total_timeout` too: otherwise a provider slow to answer
                    // at all would outlast the total deadline, which only the body read
                    // (after the headers) enforces.
                    first_byte_timeout: p.first_byte_timeout.min(p.total_timeout),
                    pool_max_idle: p.pool_max_idle,
                })?),
            };
            let mut headers = Vec::new();
            for (k, v) in &p.headers {
                let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| {
                    UpstreamError::Connect(format!("providers.{name}.headers: {e}"))
                })?;
                let mut value = HeaderValue::from_str(v.expose()).map_err(|e| {
                    UpstreamError::Connect(format!("providers.{name}.headers: {e}"))
                })?;
                value.set_sensitive(true);
                headers.push((name, value));
            }
            let base_url = p.resolved_base_url().unwrap_or_default();
            let provider = Provider {
                name: name.clone(),
                kind: p.kind,
                prepared: Prepared::new(p.kind, &base_url, p.api_key.as_ref()),
                base_url,
                api_key: p.api_key.clone(),
                api_version: p.api_version.clone(),
                headers,
                total_timeout: p.total_timeout,
                stream_idle_timeout: p.stream_idle_timeout,
                client,
            };
            providers.insert(name.clone(), Arc::new(provider));
        }
        let mut catalog = Catalog::default();
        for (alias, m) in &config.models {
            let deployments: Vec<Deployment> = m
                .deployments
                .iter()
                .filter_map(|d| {
                    let priced = d
                        .price
                        .as_ref()
                        .and_then(|p| p.price().ok().map(|price| (price, p.max_output_tokens)))
                        .or_else(|| {
                            config
                                .prices
                                .get(&d.model)
                                .map(|p| (p.price, p.max_output_tokens))
                        });
                    let (price, max_output_tokens) = priced.unwrap_or_default();
                    providers.get(&d.provider).map(|p| Deployment {
                        id: format!("{}/{}", d.provider, d.model).into(),
                        provider: Arc::clone(p),
                        model: d.model.as_str().into(),
                        weight: d.weight,
                        context_window: d.context_window,
                        price,
                        max_output_tokens,
                        provider_header: header_value(&p.name),
                        model_header: header_value(&d.model),
                    })
                })
                .collect();
            let unavailable = deployments.is_empty().then(|| {
                let reasons: Vec<String> = m
                    .deployments
                    .iter()
                    .filter_map(|d| {
                        let p = config.providers.get(&d.provider)?;
                        Some(format!(
                            "provider `{}`: {}",
                            d.provider,
                            p.disabled.as_deref().unwrap_or("off")
                        ))
                    })
                    .collect();
                reasons.join("; ")
            });
            let owned_by = m
                .owned_by
                .clone()
                .or_else(|| m.deployments.first().map(|d| d.provider.clone()))
                .unwrap_or_default();
            catalog.order.push(alias.clone());
            catalog.aliases.insert(
                alias.clone(),
                Alias {
                    deployments,
                    owned_by,
                    unavailable,
                },
            );
        }
        Ok(catalog)
    }

    pub fn lookup(&self, alias: &str) -> Lookup<'_> {
        match self.aliases.get(alias) {
            None => Lookup::Unknown,
            Some(a) => match &a.unavailable {
                Some(reason) => Lookup::Unavailable(reason),
                None => Lookup::Live(&a.deployments),
            },
        }
    }

    /// Every live deployment of every alias, each once, with the alias it was first seen
    /// under (whose breaker settings it takes).
    pub fn deployments(&self) -> Vec<(&str, &Deployment)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for name in &self.order {
            if let Some(a) = self.aliases.get(name) {
                for d in &a.deployments {
                    if seen.insert(&*d.id) {
                        out.push((name.as_str(), d));
                    }
                }
            }
        }
        out
    }

    /// Live aliases in config order, with who owns them: what `/v1/models` lists.
    pub fn live_models(&self) -> impl Iterator<Item = (&str, &str)> {
        self.order.iter().filter_map(|name| {
            let a = self.aliases.get(name)?;
            a.unavailable
                .is_none()
                .then_some((name.as_str(), a.owned_by.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CONFIG: &str = r#"
[providers.p]
kind = "openai-compatible"
base_url = "http://127.0.0.1:1/v1"
api_key = "sk-very-secret-123"
headers = { "x-proxy-auth" = "proxy-token-456" }

[providers.off]
kind = "openai"
api_key = "${NEVER_SET_IN_TESTS}"

[models.m]
deployments = [{ provider = "p", model = "up" }]

[models.dark]
deployments = [{ provider = "off", model = "x" }]
"#;

    fn catalog() -> Catalog {
        let config = Config::from_toml(Path::new("t.toml"), CONFIG, &|_| None).unwrap();
        Catalog::from_config(&config).unwrap()
    }

    #[test]
    fn provider_secrets_are_masked_in_messages() {
        let c = catalog();
        let Lookup::Live(d) = c.lookup("m") else {
            panic!("m is live")
        };
        let masked = d[0]
            .provider
            .redact("bad key sk-very-secret-123 via proxy-token-456");
        assert_eq!(masked, "bad key *** via ***");
    }

    #[test]
    fn aliases_resolve_to_live_unavailable_or_unknown() {
        let c = catalog();
        assert!(matches!(c.lookup("m"), Lookup::Live(d) if &*d[0].model == "up"));
        assert!(
            matches!(c.lookup("dark"), Lookup::Unavailable(r) if r.contains("NEVER_SET_IN_TESTS"))
        );
        assert!(matches!(c.lookup("nope"), Lookup::Unknown));
        assert_eq!(
            c.live_models().map(|(a, _)| a).collect::<Vec<_>>(),
            vec!["m"]
        );
    }
}
