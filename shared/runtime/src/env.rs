//! Every environment variable the platform reads, in one place (STYLE habit 8).

pub const CONFIG: &str = "OCCASIONALI_CONFIG";
pub const DATA_DIR: &str = "OCCASIONALI_DATA_DIR";
pub const LOG: &str = "OCCASIONALI_LOG";
pub const LOG_FORMAT: &str = "OCCASIONALI_LOG_FORMAT";
pub const OTLP_ENDPOINT: &str = "OCCASIONALI_OTLP_ENDPOINT";
/// The OpenTelemetry standard name, honoured when ours is not set.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const AUTH_SECRET_FILE: &str = "OCCASIONALI_AUTH_SECRET_FILE";
/// This process's internal signing key and the trusted public keys (issue 14).
pub const INTERNAL_KEY_FILE: &str = "OCCASIONALI_INTERNAL_KEY_FILE";
pub const INTERNAL_TRUST_DIR: &str = "OCCASIONALI_INTERNAL_TRUST_DIR";
pub const GATEWAY_LISTEN: &str = "OCCASIONALI_GATEWAY_LISTEN";
pub const GATEWAY_REQUEST_TIMEOUT_MS: &str = "OCCASIONALI_GATEWAY_REQUEST_TIMEOUT_MS";
pub const GATEWAY_STREAM_TIMEOUT_MS: &str = "OCCASIONALI_GATEWAY_STREAM_TIMEOUT_MS";
pub const GATEWAY_COMPOSITE_TIMEOUT_MS: &str = "OCCASIONALI_GATEWAY_COMPOSITE_TIMEOUT_MS";
/// The gateway's admission control (config `[gateway.admission]`, issue 12).
pub const GATEWAY_CALLER_RATE_PER_SECOND: &str = "OCCASIONALI_GATEWAY_CALLER_RATE_PER_SECOND";
pub const GATEWAY_CALLER_BURST: &str = "OCCASIONALI_GATEWAY_CALLER_BURST";
pub const GATEWAY_FEED_RATE_PER_SECOND: &str = "OCCASIONALI_GATEWAY_FEED_RATE_PER_SECOND";
pub const GATEWAY_FEED_BURST: &str = "OCCASIONALI_GATEWAY_FEED_BURST";
pub const GATEWAY_MAX_IN_FLIGHT: &str = "OCCASIONALI_GATEWAY_MAX_IN_FLIGHT";
pub const GATEWAY_MAX_CALLERS: &str = "OCCASIONALI_GATEWAY_MAX_CALLERS";
/// Clock skew tolerated on tokens' `exp`, `nbf`, `iat` (config `auth.clock_leeway_seconds`).
pub const AUTH_CLOCK_LEEWAY_SECONDS: &str = "OCCASIONALI_AUTH_CLOCK_LEEWAY_SECONDS";
/// Tests: when set (a PostgreSQL URL without database, or "1" for the local default),
/// storage suites also run on PostgreSQL.
/// Where the notifiche pages listen, and the public URL their links start with (NOT-4, NOT-5).
pub const NOTIFICHE_WEB_LISTEN: &str = "OCCASIONALI_NOTIFICHE_WEB_LISTEN";
pub const NOTIFICHE_PUBLIC_URL: &str = "OCCASIONALI_NOTIFICHE_PUBLIC_URL";
pub const TEST_PG: &str = "OCCASIONALI_TEST_PG";

/// `OCCASIONALI_<CONTEXT>_<KEY>`, e.g. `OCCASIONALI_ANAGRAFICA_DATABASE_URL`.
pub fn per_context(context: &str, key: &str) -> String {
    format!("OCCASIONALI_{}_{}", context.to_ascii_uppercase(), key)
}
