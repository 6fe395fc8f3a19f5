//! Provider adapters: how each provider kind wants a call, and how its answer comes back.
//!
//! The rule that keeps this small: when the client and the upstream speak the same
//! family, the client's body goes through with only `model` replaced (and, for OpenAI
//! streams, usage requested) and the answer comes back untouched but for usage sniffing.
//! Only when the families differ is anything translated, through the canonical form.

mod anthropic;
mod azure;
mod gemini;
mod openai;
mod prepared;

pub(crate) use prepared::Prepared;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::Full;
use switchboard_config::ProviderKind;
use switchboard_core::{Usage, Wire};
use switchboard_proto::chat::ChatResponse;
use switchboard_proto::stream::{StreamDecoder, StreamEncoder, StreamTransform, Translate};
use switchboard_proto::{
    ProtoError, UpstreamError as ProviderError, anthropic as ant, gemini as gem, openai as oai,
};

use crate::call::{ChatCall, EmbeddingsCall};
use crate::catalog::{Deployment, Provider};

impl Deployment {
    /// Whether the client's body can go through untranslated.
    pub fn passthrough(&self, api: Wire) -> bool {
        self.provider.kind.wire() == Some(api)
    }

    /// The HTTP request that carries `call` to this deployment.
    pub fn chat_request(&self, call: &ChatCall) -> Result<Request<Full<Bytes>>, ProtoError> {
        let p = &self.provider;
        match p.kind {
            ProviderKind::Openai | ProviderKind::OpenaiCompatible => openai::chat(self, call),
            ProviderKind::Azure => azure::chat(self, call),
            ProviderKind::Anthropic => anthropic::chat(self, call),
            ProviderKind::Gemini => gemini::chat(self, call),
            ProviderKind::Builtin => Err(ProtoError::Unsupported(
                "the builtin provider takes no HTTP calls".into(),
            )),
        }
    }

    /// Reads a complete answer and writes it in the client's family, with its usage.
    pub fn read_chat(&self, call: &ChatCall, body: Bytes) -> Result<(Bytes, Usage), ProtoError> {
        if self.passthrough(call.api) {
            let usage = match call.api {
                Wire::Anthropic => ant::usage_of(&body)?,
                _ => oai::response::usage_of(&body)?,
            };
            return Ok((body, usage));
        }
        let answer = match self.provider.kind.wire() {
            Some(Wire::OpenAi) => oai::response::parse(&body)?,
            Some(Wire::Anthropic) => ant::response::parse(&body)?,
            Some(Wire::Gemini) => gem::response::parse(&body)?,
            None => {
                return Err(ProtoError::Unsupported(
                    "the builtin provider has no wire format".into(),
                ));
            }
        };
        Ok((write_for_client(call, &answer), answer.usage))
    }

    /// The transform that turns this deployment's stream into the client's.
    pub fn stream_transform(&self, call: &ChatCall) -> Box<dyn StreamTransform> {
        if self.passthrough(call.api) {
            return match call.api {
                Wire::Anthropic => Box::new(ant::Passthrough::new()),
                _ => Box::new(oai::Passthrough::new(call.include_usage)),
            };
        }
        let decoder: Box<dyn StreamDecoder> = match self.provider.kind.wire() {
            Some(Wire::Anthropic) => Box::new(ant::stream::Decoder::new()),
            Some(Wire::Gemini) => Box::new(gem::stream::Decoder::new()),
            _ => Box::new(oai::stream::Decoder::new()),
        };
        Box::new(Translate::new(decoder, client_encoder(call, &self.model)))
    }

    /// Reads a provider's error body, in whichever family it speaks. Any of this
    /// provider's secrets the message echoes (some providers quote the key they refused)
    /// are masked before the message goes anywhere.
    pub fn read_error(&self, body: &[u8]) -> Option<ProviderError> {
        let mut err = match self.provider.kind.wire()? {
            Wire::OpenAi => oai::error::parse(body),
            Wire::Anthropic => ant::error::parse(body),
            Wire::Gemini => gem::error::parse(body),
        }?;
        err.message = self.provider.redact(&err.message);
        Some(err)
    }

    /// The HTTP request for an embeddings call.
    pub fn embeddings_request(
        &self,
        call: &EmbeddingsCall,
    ) -> Result<Request<Full<Bytes>>, ProtoError> {
        match self.provider.kind {
            ProviderKind::Openai | ProviderKind::OpenaiCompatible => openai::embeddings(self, call),
            ProviderKind::Azure => azure::embeddings(self, call),
            ProviderKind::Gemini => gemini::embeddings(self, call),
            ProviderKind::Anthropic | ProviderKind::Builtin => {
                Err(ProtoError::Unsupported(format!(
                    "model `{}` on provider `{}` does not serve embeddings",
                    self.model, self.provider.name
                )))
            }
        }
    }

    /// Reads an embeddings answer into OpenAI's shape, with its usage.
    pub fn read_embeddings(
        &self,
        call: &EmbeddingsCall,
        body: Bytes,
    ) -> Result<(Bytes, Usage), ProtoError> {
        match self.provider.kind {
            ProviderKind::Gemini => gemini::read_embeddings(call, &body),
            _ => {
                let usage = oai::embeddings::usage_of(&body)?;
                Ok((body, usage))
            }
        }
    }
}

/// Writes a canonical answer in the client's family.
pub fn write_for_client(call: &ChatCall, answer: &ChatResponse) -> Bytes {
    match call.api {
        Wire::Anthropic => ant::response::write(answer),
        _ => oai::response::write(answer),
    }
}

/// The encoder for the client's stream family.
pub fn client_encoder(call: &ChatCall, model: &str) -> Box<dyn StreamEncoder> {
    match call.api {
        Wire::Anthropic => Box::new(ant::stream::Encoder::new(model.to_owned())),
        _ => Box::new(oai::stream::Encoder::new(
            model.to_owned(),
            unix_now(),
            call.include_usage,
        )),
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A JSON POST with the provider's key and extra headers, to the URL the catalog made
/// (`prepared`) or else to `url()`, made for this call.
fn post(
    p: &Provider,
    prepared: Option<&Uri>,
    url: impl FnOnce() -> String,
) -> Result<http::request::Builder, ProtoError> {
    let b = Request::builder().method(Method::POST);
    let mut b = match prepared {
        Some(uri) => b.uri(uri.clone()),
        None => b.uri(url()),
    }
    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (k, v) in &p.headers {
        b = b.header(k, v);
    }
    match &p.prepared.auth {
        Ok(Some((name, value))) => Ok(b.header(name, value.clone())),
        Ok(None) => Ok(b),
        Err(prepared::KeyNotAHeader) => Err(ProtoError::Unsupported(
            "the provider key holds characters not allowed in a header".into(),
        )),
    }
}

/// Finishes a request, turning a builder error (a bad URL) into a clear message.
fn finish(b: http::request::Builder, body: Bytes) -> Result<Request<Full<Bytes>>, ProtoError> {
    b.body(Full::new(body))
        .map_err(|e| ProtoError::Unsupported(format!("cannot build the upstream request: {e}")))
}
