//! Every environment variable the platform reads, in one place (STYLE habit 8).

pub const CONFIG: &str = "OCCASIONALI_CONFIG";
pub const DATA_DIR: &str = "OCCASIONALI_DATA_DIR";
pub const LOG: &str = "OCCASIONALI_LOG";
pub const LOG_FORMAT: &str = "OCCASIONALI_LOG_FORMAT";
pub const OTLP_ENDPOINT: &str = "OCCASIONALI_OTLP_ENDPOINT";
/// The OpenTelemetry standard name, honoured when ours is not set.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The dev issuer's key (`auth.dev_issuer_key_file`).
pub const DEV_ISSUER_KEY_FILE: &str = "OCCASIONALI_DEV_ISSUER_KEY_FILE";
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
/// Whether `serve` migrates on start (config `database.migrate_on_start`, default true).
pub const DATABASE_MIGRATE_ON_START: &str = "OCCASIONALI_DATABASE_MIGRATE_ON_START";
/// The services' DML-only role `occasionali migrate` grants to (config `database.runtime_role`).
pub const DATABASE_RUNTIME_ROLE: &str = "OCCASIONALI_DATABASE_RUNTIME_ROLE";
/// Mutual TLS between processes (config `[tls]`, issue 14).
pub const TLS_CA_FILE: &str = "OCCASIONALI_TLS_CA_FILE";
pub const TLS_CERT_FILE: &str = "OCCASIONALI_TLS_CERT_FILE";
pub const TLS_KEY_FILE: &str = "OCCASIONALI_TLS_KEY_FILE";
/// Plaintext gRPC health for the kubelet's probes beside a mutual-TLS listener (`serve`).
pub const TLS_HEALTH_LISTEN: &str = "OCCASIONALI_TLS_HEALTH_LISTEN";
/// The gateway's certificate for clients (config `[gateway.tls]`).
pub const GATEWAY_TLS_CERT_FILE: &str = "OCCASIONALI_GATEWAY_TLS_CERT_FILE";
pub const GATEWAY_TLS_KEY_FILE: &str = "OCCASIONALI_GATEWAY_TLS_KEY_FILE";
pub const TEST_PG: &str = "OCCASIONALI_TEST_PG";

/// `OCCASIONALI_<CONTEXT>_<KEY>`, e.g. `OCCASIONALI_ANAGRAFICA_DATABASE_URL`.
pub fn per_context(context: &str, key: &str) -> String {
    format!("OCCASIONALI_{}_{}", context.to_ascii_uppercase(), key)
}
