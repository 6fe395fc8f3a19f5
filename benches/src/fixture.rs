//! A real gateway, without listeners, for benchmarks to call into.

use std::path::Path;
use std::sync::Arc;

use switchboard_config::Config;
use switchboard_ledger::SystemClock;
use switchboard_server::gateway::Gateway;

/// The config: one OpenAI-compatible provider (never called), a priced model, a tenant
/// with a money and a rate quota, and a key with its own rate quota.
pub const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[providers.up]
kind = "openai-compatible"
base_url = "http://127.0.0.1:9/v1"
api_key = "k"
[models.gpt]
deployments = [{ provider = "up", model = "gpt-4o-mini", price = { input = 0.15, output = 0.60 } }]
[[tenants]]
name = "acme"
quotas = [{ metric = "money", window = "month", limit = "1000000" }, { metric = "requests", window = "minute", limit = 100000000 }]
[[keys]]
name = "bench"
key = "sk-bench-key-0001"
tenant = "acme"
quotas = [{ metric = "tokens", window = "day", limit = 100000000000 }]
"#;

/// A small chat request, as a client sends it.
pub const CHAT: &str = r#"{"model":"gpt","max_tokens":64,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the capital of France? Answer in one word."}]}"#;

/// A gateway on a temp data directory (kept alive by the returned guard).
pub async fn gateway() -> (Arc<Gateway>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config =
        Config::from_toml(Path::new("bench.toml"), CONFIG, &|_| None).expect("bench config");
    config.server.data_dir = dir.path().to_owned();
    config.audit.capacity = 1 << 20;
    let gw = Gateway::start(Arc::new(config), Arc::new(SystemClock))
        .await
        .expect("gateway");
    (Arc::new(gw), dir)
}
