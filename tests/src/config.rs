//! The config every end-to-end test starts from.

/// `{MOCK}` is replaced with the mock provider's URL. Every upstream kind points at the
/// mock; the builtin provider serves `demo`.
pub const BASE: &str = r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace = "5s"

[admin]
listen = "127.0.0.1:0"
key = "admin-secret-key"

[providers.mock-openai]
kind = "openai-compatible"
base_url = "{MOCK}/v1"
api_key = "sk-provider-openai-secret"

[providers.mock-azure]
kind = "azure"
base_url = "{MOCK}"
api_key = "azure-provider-secret"
api_version = "2024-10-21"

[providers.mock-anthropic]
kind = "anthropic"
base_url = "{MOCK}"
api_key = "sk-ant-provider-secret"

[providers.mock-gemini]
kind = "gemini"
base_url = "{MOCK}"
api_key = "gemini-provider-secret"

[providers.offline]
kind = "builtin"

[providers.unset]
kind = "openai"
api_key = "${SWITCHBOARD_TEST_NEVER_SET}"

[models.gpt]
deployments = [{ provider = "mock-openai", model = "mock-gpt" }]

# Priced for budget tests: $1 per million output tokens (1,000 nano-dollars a token),
# input free, so a call's cost is exactly its output tokens x 1,000.
[models.metered]
deployments = [{ provider = "mock-openai", model = "mock-metered", price = { input = 0, output = 1 } }]

[models.metered-claude]
deployments = [{ provider = "mock-anthropic", model = "mock-metered-claude", price = { input = 0, output = 1 } }]

[models.azure-gpt]
deployments = [{ provider = "mock-azure", model = "mock-deployment" }]

[models.claude]
deployments = [{ provider = "mock-anthropic", model = "mock-claude" }]

[models.gemini]
deployments = [{ provider = "mock-gemini", model = "mock-gemini" }]

[models.demo]
deployments = [{ provider = "offline", model = "demo" }]

[models.embed]
deployments = [{ provider = "mock-openai", model = "mock-embed" }]

[models.gemini-embed]
deployments = [{ provider = "mock-gemini", model = "mock-gemini-embed" }]

[models.offline-embed]
deployments = [{ provider = "offline", model = "demo-embedding" }]

[models.switched-off]
deployments = [{ provider = "unset", model = "gpt-4o" }]

[[keys]]
name = "acme"
key = "sk-test-acme-0001"
tenant = "acme"

[[keys]]
name = "globex"
key = "sk-test-globex-0002"
tenant = "globex"
models = ["gpt"]
"#;

/// The upstream protocols a model alias of [`BASE`] reaches, for tests that run the same
/// check against every one.
pub const CHAT_ALIASES: &[&str] = &["gpt", "azure-gpt", "claude", "gemini"];
