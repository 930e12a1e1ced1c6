//! Typed configuration: defaults, then a TOML file, then the environment, then flags
//! (the binary applies flags last). Validated once at start-up.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::context::Context;
use crate::env;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where SQLite files and development secrets live (`./data` by default).
    pub data_dir: PathBuf,
    pub log: LogConfig,
    pub telemetry: TelemetryConfig,
    pub auth: AuthConfig,
    pub gateway: GatewayConfig,
    pub services: BTreeMap<Context, ServiceConfig>,
    pub notifiche: NotificheConfig,
    pub database: DatabaseConfig,
    /// Mutual TLS between processes (issue 14); none of its keys set: plaintext h2c.
    pub tls: TlsConfig,
}

/// Who changes the schema (issue 14, "Sizing right"): by default `serve` migrates its database
/// before serving, as `occasionali dev` does; in production migrations run in an init container
/// with the owner (DDL) role, the services run as a role with data rights only, and `serve`
/// refuses to start while migrations are pending.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `serve` and `dev` migrate before serving (default true); false: they check the schema
    /// is at their version instead, and refuse to start if it is not.
    pub migrate_on_start: bool,
    /// The services' role (PostgreSQL): after migrating, `occasionali migrate` grants it
    /// SELECT/INSERT/UPDATE/DELETE on every table and USAGE on every sequence, now and for the
    /// tables later migrations create (ALTER DEFAULT PRIVILEGES). None: no grants.
    pub runtime_role: Option<String>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            migrate_on_start: true,
            runtime_role: None,
        }
    }
}

/// `[tls]`: this process's certificate and key, and the CA every peer's certificate must chain
/// to. With it, the process serves only mutual TLS and calls the others over `https://` with
/// its certificate. All three files, or none.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM: the CA (or, during a CA rotation, the CAs) peers' certificates must chain to.
    pub ca_file: Option<PathBuf>,
    /// PEM: this process's certificate (chain), valid for the names others call it by.
    pub cert_file: Option<PathBuf>,
    /// PEM: its private key.
    pub key_file: Option<PathBuf>,
    /// How often the files are checked for a rotated certificate (default 5).
    pub reload_every_seconds: Option<u64>,
    /// `serve` only: where gRPC health alone is also served in plaintext, for the kubelet's
    /// gRPC probes (they speak no TLS), e.g. `0.0.0.0:50070`. `occasionali dev` ignores it.
    pub health_listen: Option<SocketAddr>,
}

/// `[gateway.tls]`: the certificate the gateway presents to clients for its public name. No
/// client certificate is asked for (clients authenticate with bearer tokens). Both files, or
/// none (plaintext, e.g. behind an ingress that terminates TLS).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PublicTlsConfig {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// How often the files are checked for a renewed certificate (default 5).
    pub reload_every_seconds: Option<u64>,
}

impl TlsConfig {
    /// The files, if TLS is configured; a section with some keys but not all is an error
    /// naming the missing ones.
    pub fn files(&self) -> anyhow::Result<Option<crate::tls::TlsFiles>> {
        let keys = [
            ("ca_file", &self.ca_file),
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
        ];
        let (ca, cert, key) = match (&self.ca_file, &self.cert_file, &self.key_file) {
            (Some(ca), Some(cert), Some(key)) => (ca, cert, key),
            (None, None, None) if self.reload_every_seconds.is_none() && self.health_listen.is_none() => {
                return Ok(None);
            }
            _ => bail!(
                "[tls] is half configured: {} missing (mutual TLS needs ca_file, cert_file and key_file; none of them for plaintext)",
                missing(&keys, "tls")
            ),
        };
        Ok(Some(crate::tls::TlsFiles {
            ca: Some(ca.clone()),
            cert: cert.clone(),
            key: key.clone(),
            reload_every: reload_every(self.reload_every_seconds, "tls")?,
        }))
    }
}

impl PublicTlsConfig {
    /// The files, if the gateway's public side uses TLS; half configured is an error.
    pub fn files(&self) -> anyhow::Result<Option<crate::tls::TlsFiles>> {
        let keys = [("cert_file", &self.cert_file), ("key_file", &self.key_file)];
        let (cert, key) = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) if self.reload_every_seconds.is_none() => return Ok(None),
            _ => bail!(
                "[gateway.tls] is half configured: {} missing (TLS for clients needs cert_file and key_file; none of them for plaintext)",
                missing(&keys, "gateway.tls")
            ),
        };
        Ok(Some(crate::tls::TlsFiles {
            ca: None,
            cert: cert.clone(),
            key: key.clone(),
            reload_every: reload_every(self.reload_every_seconds, "gateway.tls")?,
        }))
    }
}

/// `tls.key_file, tls.ca_file`: the keys of `keys` left unset.
fn missing(keys: &[(&str, &Option<PathBuf>)], section: &str) -> String {
    keys.iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| format!("{section}.{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn reload_every(seconds: Option<u64>, section: &str) -> anyhow::Result<Duration> {
    match seconds {
        None => Ok(crate::tls::DEFAULT_RELOAD_EVERY),
        Some(0) => bail!("{section}.reload_every_seconds must be more than 0"),
        Some(s) => Ok(Duration::from_secs(s)),
    }
}

/// The notifiche context's channels and its web pages (NOT-4, NOT-5, NOT-6). A channel left
/// unconfigured is not used: its deliveries end SKIPPED with the reason, never pretend SENT.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificheConfig {
    /// Where the guide and dashboard pages are served (HTTP); none: no web pages.
    pub web_listen: Option<SocketAddr>,
    /// The public base URL the guide links in notices start with, e.g.
    /// `https://servizi.inps.it/notifiche`; default `http://<web_listen>`.
    pub public_url: Option<String>,
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<SmsConfig>,
    pub app_io: Option<AppIoConfig>,
}

/// E-mail over SMTP (NOT-6).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `none` (loopback relays only), `starttls` or `tls`.
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// A file holding the password (never inline in the config).
    pub password_file: Option<PathBuf>,
    /// The sender, e.g. `INPS <noreply@inps.it>`.
    pub from: String,
}

fn default_smtp_port() -> u16 {
    25
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    #[default]
    None,
    Starttls,
    Tls,
}

/// SMS through an HTTP SMS gateway (NOT-6).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The gateway's send endpoint, e.g. `https://sms.example.it/v1/messages`.
    pub url: String,
    /// A file holding the API key.
    pub api_key_file: PathBuf,
    /// The alphanumeric sender shown on the phone, e.g. `INPS`.
    pub sender: String,
}

/// App IO through the public IO services API (NOT-6).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppIoConfig {
    /// Default `https://api.io.pagopa.it`.
    #[serde(default = "default_app_io_url")]
    pub base_url: String,
    /// A file holding the service's subscription key (`Ocp-Apim-Subscription-Key`).
    pub api_key_file: PathBuf,
}

fn default_app_io_url() -> String {
    "https://api.io.pagopa.it".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info,occasionali_anagrafica=debug`.
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// OTLP/gRPC endpoint of an OpenTelemetry collector; traces are exported only when set.
    pub otlp_endpoint: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// This process's Ed25519 private key (PKCS#8 PEM) for the internal identity tokens it
    /// signs (issue 14). Default: `<data_dir>/secrets/internal/<process>.key.pem`, where
    /// `occasionali dev` creates every process's key on first use; `serve` only reads it.
    pub internal_key_file: Option<PathBuf>,
    /// The public keys this process trusts, one file per key, `<signer>.<kid>.pub.pem`
    /// (several per signer while a key is rotated). Default: `<data_dir>/secrets/internal/trust`.
    pub internal_trust_dir: Option<PathBuf>,
    /// Lifetime of development tokens printed by `occasionali token`.
    pub token_ttl_seconds: u64,
    /// Clock skew tolerated on a token's `exp`, `nbf` and `iat` (RFC 7519 §4.1.4–4.1.6), for
    /// client and internal tokens alike.
    pub clock_leeway_seconds: u64,
    /// The identity providers whose tokens the gateway accepts (issue 14). `occasionali dev`
    /// adds the local dev issuer unless `dev_issuer` is false.
    pub issuers: Vec<crate::issuers::IssuerConfig>,
    /// How often every issuer's JWKS is fetched again.
    pub jwks_refresh_seconds: u64,
    /// The least time between two fetches of one issuer's JWKS caused by tokens naming an
    /// unknown `kid` (so garbage tokens cannot make us hammer the IdP).
    pub jwks_min_refresh_seconds: u64,
    /// `occasionali dev`: serve the dev issuer's JWKS and trust it (default true).
    pub dev_issuer: bool,
    /// The dev issuer's ES256 key. Default: `<data_dir>/secrets/dev-issuer.pem`, created on first use.
    pub dev_issuer_key_file: Option<PathBuf>,
    /// `occasionali dev`: where the dev issuer's JWKS is served (loopback).
    pub dev_jwks_listen: SocketAddr,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// Upper bound on any proxied call; a shorter client deadline wins.
    pub request_timeout_ms: u64,
    /// Upper bound on a streaming call (a feed such as ImportF24, a download): a day's feed
    /// takes minutes, not the seconds a question does (issue 12).
    pub stream_timeout_ms: u64,
    /// Deadline of the composite position (DEL-3).
    pub composite_timeout_ms: u64,
    /// What the gateway admits: per-caller rate and calls in flight (issue 12).
    pub admission: AdmissionConfig,
    /// TLS for clients (issue 14), independent of `[tls]`.
    pub tls: PublicTlsConfig,
}

/// The gateway's admission control (issue 12): a token bucket per caller (the verified token's
/// subject and profile, or the peer address for a call without a valid token) and a cap on the
/// calls in flight through one gateway process, beyond which new calls are shed at once. Both
/// answer RESOURCE_EXHAUSTED with a RetryInfo. Health and reflection are never limited. A key
/// left unset takes its environment's default: [`AdmissionLimits::PRODUCTION`] for `serve
/// gateway`, [`AdmissionLimits::DEVELOPMENT`] (generous) for `occasionali dev`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Calls per second one caller may sustain (its bucket's refill rate); 0 = no per-caller limit.
    pub caller_rate_per_second: Option<u32>,
    /// Calls one caller may make in a burst above the rate (its bucket's size).
    pub caller_burst: Option<u32>,
    /// Calls per second a payments feed (profile `flusso_pagamenti`: pagoPA sends one
    /// NotifyPagoPa per receipt) may sustain, instead of `caller_rate_per_second`.
    pub feed_rate_per_second: Option<u32>,
    /// A payments feed's burst, instead of `caller_burst`.
    pub feed_burst: Option<u32>,
    /// Calls in flight through this gateway process, feeds included (one each); 0 = no cap.
    pub max_in_flight: Option<u32>,
    /// Callers remembered at once (a few dozen bytes each); callers idle long enough for their
    /// bucket to refill are forgotten first, losing nothing.
    pub max_callers: Option<u32>,
}

/// [`AdmissionConfig`] with every value chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionLimits {
    pub caller_rate_per_second: u32,
    pub caller_burst: u32,
    pub feed_rate_per_second: u32,
    pub feed_burst: u32,
    pub max_in_flight: u32,
    pub max_callers: u32,
}

impl AdmissionLimits {
    /// Production, per gateway replica. A person's app or an intermediario's batch needs far
    /// less than 20 calls/s sustained; a feed is one call however long. The cap in flight bounds
    /// how long an admitted call can queue, about cap / throughput: 256 is ~250 ms at 1,000
    /// calls/s (docs/benchmarks.md, "Overload at the gateway"); lower it for slower backends.
    pub const PRODUCTION: AdmissionLimits = AdmissionLimits {
        caller_rate_per_second: 20,
        caller_burst: 40,
        // pagoPA's receipts, one call each, at a national peak (e.g. the end of a month):
        // hundreds per second through one replica; ImportF24 is one call however long.
        feed_rate_per_second: 1_000,
        feed_burst: 2_000,
        max_in_flight: 256,
        max_callers: 100_000,
    };
    /// `occasionali dev` and the tests: benches and e2e suites hammer from one caller.
    pub const DEVELOPMENT: AdmissionLimits = AdmissionLimits {
        caller_rate_per_second: 5_000,
        caller_burst: 5_000,
        feed_rate_per_second: 5_000,
        feed_burst: 5_000,
        max_in_flight: 4_096,
        max_callers: 100_000,
    };
}

impl AdmissionConfig {
    /// The configured values, `defaults` for the unset ones.
    pub fn limits(&self, defaults: AdmissionLimits) -> AdmissionLimits {
        AdmissionLimits {
            caller_rate_per_second: self
                .caller_rate_per_second
                .unwrap_or(defaults.caller_rate_per_second),
            caller_burst: self.caller_burst.unwrap_or(defaults.caller_burst),
            feed_rate_per_second: self.feed_rate_per_second.unwrap_or(defaults.feed_rate_per_second),
            feed_burst: self.feed_burst.unwrap_or(defaults.feed_burst),
            max_in_flight: self.max_in_flight.unwrap_or(defaults.max_in_flight),
            max_callers: self.max_callers.unwrap_or(defaults.max_callers),
        }
    }

    /// Fixes the unset values to `defaults` (what `occasionali dev` does with its own).
    pub fn fill(&mut self, defaults: AdmissionLimits) {
        *self = AdmissionConfig::from(self.limits(defaults));
    }
}

impl From<AdmissionLimits> for AdmissionConfig {
    fn from(l: AdmissionLimits) -> AdmissionConfig {
        AdmissionConfig {
            caller_rate_per_second: Some(l.caller_rate_per_second),
            caller_burst: Some(l.caller_burst),
            feed_rate_per_second: Some(l.feed_rate_per_second),
            feed_burst: Some(l.feed_burst),
            max_in_flight: Some(l.max_in_flight),
            max_callers: Some(l.max_callers),
        }
    }
}

#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    pub listen: Option<SocketAddr>,
    /// How other processes reach the context, e.g. `http://anagrafica:50061`.
    pub endpoint: Option<String>,
    /// `sqlite://...` or `postgres://...`; default: a SQLite file under data_dir.
    pub database_url: Option<String>,
    pub pool_size: Option<u32>,
    /// How long a call waits for a database connection before it fails UNAVAILABLE
    /// (default 1500).
    pub acquire_timeout_ms: Option<u64>,
    /// PostgreSQL `statement_timeout` of the context's connections (default 5000; 0 keeps the
    /// server's).
    pub statement_timeout_ms: Option<u64>,
}

/// The database URL may carry a password: it never prints.
impl fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("listen", &self.listen)
            .field("endpoint", &self.endpoint)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("pool_size", &self.pool_size)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            log: LogConfig::default(),
            telemetry: TelemetryConfig::default(),
            auth: AuthConfig::default(),
            gateway: GatewayConfig::default(),
            services: BTreeMap::new(),
            notifiche: NotificheConfig::default(),
            database: DatabaseConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            internal_key_file: None,
            internal_trust_dir: None,
            token_ttl_seconds: 8 * 3600,
            clock_leeway_seconds: crate::identity::DEFAULT_CLOCK_LEEWAY_SECONDS,
            issuers: Vec::new(),
            jwks_refresh_seconds: crate::issuers::DEFAULT_REFRESH_SECONDS,
            jwks_min_refresh_seconds: crate::issuers::DEFAULT_MIN_REFRESH_SECONDS,
            dev_issuer: true,
            dev_issuer_key_file: None,
            dev_jwks_listen: SocketAddr::from(([127, 0, 0, 1], 50092)),
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            request_timeout_ms: 30_000,
            stream_timeout_ms: 3_600_000,
            composite_timeout_ms: 3_000,
            admission: AdmissionConfig::default(),
            tls: PublicTlsConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then the file (`path`, or `$OCCASIONALI_CONFIG`), then the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let from_env = std::env::var_os(env::CONFIG).map(PathBuf::from);
        let mut config = match path.map(Path::to_path_buf).or(from_env) {
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading config file {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses settings that would make every call fail.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.gateway.request_timeout_ms == 0 {
            bail!("gateway.request_timeout_ms must be more than 0");
        }
        if self.gateway.stream_timeout_ms == 0 {
            bail!("gateway.stream_timeout_ms must be more than 0");
        }
        if self.gateway.composite_timeout_ms == 0 {
            bail!("gateway.composite_timeout_ms must be more than 0");
        }
        // Beyond a few minutes a stolen expired token would stay usable, and a clock that far
        // off is a fault to fix, not to tolerate.
        if self.auth.clock_leeway_seconds > 300 {
            bail!("auth.clock_leeway_seconds must be at most 300");
        }
        crate::issuers::validate_all(&self.auth.issuers)?;
        if self.auth.jwks_refresh_seconds == 0 || self.auth.jwks_min_refresh_seconds == 0 {
            bail!("auth.jwks_refresh_seconds and auth.jwks_min_refresh_seconds must be more than 0");
        }
        let a = &self.gateway.admission;
        if a.caller_burst == Some(0) && a.caller_rate_per_second != Some(0) {
            bail!(
                "gateway.admission.caller_burst must be more than 0 (or caller_rate_per_second 0: no limit)"
            );
        }
        if a.feed_rate_per_second == Some(0) || a.feed_burst == Some(0) {
            bail!("gateway.admission.feed_rate_per_second and feed_burst must be more than 0");
        }
        if a.max_callers == Some(0) {
            bail!("gateway.admission.max_callers must be more than 0");
        }
        if let Some(u) = &self.notifiche.public_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            bail!("notifiche.public_url must be an http:// or https:// URL");
        }
        if let Some(role) = &self.database.runtime_role
            && !crate::db::is_plain_identifier(role)
        {
            bail!("database.runtime_role must be a plain PostgreSQL role name (a-z, 0-9, _), not {role:?}");
        }
        let mutual = self.tls.files()?.is_some();
        self.gateway.tls.files()?;
        for (ctx, svc) in &self.services {
            // Servers with [tls] accept only mutual TLS, and a process without it has no
            // certificate to call one: both ends of every hop agree.
            match &svc.endpoint {
                Some(e) if mutual && !e.starts_with("https://") => {
                    bail!("services.{ctx}.endpoint must be an https:// URL: [tls] is configured (mutual TLS)")
                }
                Some(e) if !mutual && e.starts_with("https://") => {
                    bail!(
                        "services.{ctx}.endpoint is https:// but [tls] is not configured (ca_file, cert_file, key_file)"
                    )
                }
                _ => {}
            }
            if svc.pool_size == Some(0) {
                bail!("services.{ctx}.pool_size must be more than 0");
            }
            if svc.acquire_timeout_ms == Some(0) {
                bail!("services.{ctx}.acquire_timeout_ms must be more than 0");
            }
            if let Some(url) = &svc.database_url
                && !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
            {
                bail!("services.{ctx}.database_url must be sqlite:… or postgres://…");
            }
            if let Some(e) = &svc.endpoint
                && !(e.starts_with("http://") || e.starts_with("https://"))
            {
                bail!("services.{ctx}.endpoint must be an http:// or https:// URL");
            }
        }
        Ok(())
    }

    /// Environment overrides, with the lookup injected so tests need not touch the process env.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var(env::DATA_DIR) {
            self.data_dir = v.into();
        }
        if let Some(v) = var(env::LOG) {
            self.log.filter = v;
        }
        if let Some(v) = var(env::LOG_FORMAT) {
            self.log.format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => bail!("{}: unknown log format {other:?}", env::LOG_FORMAT),
            };
        }
        if let Some(v) = var(env::OTLP_ENDPOINT).or_else(|| var(env::OTEL_EXPORTER_OTLP_ENDPOINT)) {
            self.telemetry.otlp_endpoint = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = var(env::DEV_ISSUER_KEY_FILE) {
            self.auth.dev_issuer_key_file = Some(v.into());
        }
        if let Some(v) = var(env::INTERNAL_KEY_FILE) {
            self.auth.internal_key_file = Some(v.into());
        }
        if let Some(v) = var(env::INTERNAL_TRUST_DIR) {
            self.auth.internal_trust_dir = Some(v.into());
        }
        if let Some(v) = var(env::AUTH_CLOCK_LEEWAY_SECONDS) {
            self.auth.clock_leeway_seconds = v
                .parse()
                .with_context(|| format!("{}: not a number", env::AUTH_CLOCK_LEEWAY_SECONDS))?;
        }
        let admission = [
            (
                env::GATEWAY_CALLER_RATE_PER_SECOND,
                &mut self.gateway.admission.caller_rate_per_second,
            ),
            (
                env::GATEWAY_CALLER_BURST,
                &mut self.gateway.admission.caller_burst,
            ),
            (
                env::GATEWAY_FEED_RATE_PER_SECOND,
                &mut self.gateway.admission.feed_rate_per_second,
            ),
            (env::GATEWAY_FEED_BURST, &mut self.gateway.admission.feed_burst),
            (
                env::GATEWAY_MAX_IN_FLIGHT,
                &mut self.gateway.admission.max_in_flight,
            ),
            (env::GATEWAY_MAX_CALLERS, &mut self.gateway.admission.max_callers),
        ];
        for (name, slot) in admission {
            if let Some(v) = var(name) {
                *slot = Some(v.parse().with_context(|| format!("{name}: not a number"))?);
            }
        }
        if let Some(v) = var(env::GATEWAY_LISTEN) {
            self.gateway.listen = v
                .parse()
                .with_context(|| format!("{}: bad address {v:?}", env::GATEWAY_LISTEN))?;
        }
        if let Some(v) = var(env::GATEWAY_COMPOSITE_TIMEOUT_MS) {
            self.gateway.composite_timeout_ms = v
                .parse()
                .with_context(|| format!("{}: not a number", env::GATEWAY_COMPOSITE_TIMEOUT_MS))?;
        }
        if let Some(v) = var(env::GATEWAY_REQUEST_TIMEOUT_MS) {
            self.gateway.request_timeout_ms = v
                .parse()
                .with_context(|| format!("{}: not a number", env::GATEWAY_REQUEST_TIMEOUT_MS))?;
        }
        if let Some(v) = var(env::GATEWAY_STREAM_TIMEOUT_MS) {
            self.gateway.stream_timeout_ms = v
                .parse()
                .with_context(|| format!("{}: not a number", env::GATEWAY_STREAM_TIMEOUT_MS))?;
        }
        if let Some(v) = var(env::NOTIFICHE_WEB_LISTEN) {
            self.notifiche.web_listen = Some(
                v.parse()
                    .with_context(|| format!("{}: bad address {v:?}", env::NOTIFICHE_WEB_LISTEN))?,
            );
        }
        if let Some(v) = var(env::DATABASE_MIGRATE_ON_START) {
            self.database.migrate_on_start = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => bail!("{}: true or false, not {other:?}", env::DATABASE_MIGRATE_ON_START),
            };
        }
        if let Some(v) = var(env::DATABASE_RUNTIME_ROLE) {
            self.database.runtime_role = Some(v).filter(|s| !s.is_empty());
        }
        let files = [
            (env::TLS_CA_FILE, &mut self.tls.ca_file),
            (env::TLS_CERT_FILE, &mut self.tls.cert_file),
            (env::TLS_KEY_FILE, &mut self.tls.key_file),
            (env::GATEWAY_TLS_CERT_FILE, &mut self.gateway.tls.cert_file),
            (env::GATEWAY_TLS_KEY_FILE, &mut self.gateway.tls.key_file),
        ];
        for (name, slot) in files {
            if let Some(v) = var(name) {
                *slot = Some(v).filter(|s| !s.is_empty()).map(PathBuf::from);
            }
        }
        if let Some(v) = var(env::TLS_HEALTH_LISTEN) {
            self.tls.health_listen = Some(
                v.parse()
                    .with_context(|| format!("{}: bad address {v:?}", env::TLS_HEALTH_LISTEN))?,
            );
        }
        if let Some(v) = var(env::NOTIFICHE_PUBLIC_URL) {
            self.notifiche.public_url = Some(v).filter(|s| !s.is_empty());
        }
        for ctx in Context::ALL {
            let name = ctx.name();
            let svc = self.services.entry(ctx).or_default();
            if let Some(v) = var(&env::per_context(name, "LISTEN")) {
                svc.listen = Some(
                    v.parse()
                        .with_context(|| format!("{name} listen address {v:?}"))?,
                );
            }
            if let Some(v) = var(&env::per_context(name, "ENDPOINT")) {
                svc.endpoint = Some(v);
            }
            if let Some(v) = var(&env::per_context(name, "DATABASE_URL")) {
                svc.database_url = Some(v);
            }
            if let Some(v) = var(&env::per_context(name, "POOL_SIZE")) {
                svc.pool_size = Some(v.parse().with_context(|| format!("{name} pool size {v:?}"))?);
            }
            if let Some(v) = var(&env::per_context(name, "ACQUIRE_TIMEOUT_MS")) {
                svc.acquire_timeout_ms = Some(
                    v.parse()
                        .with_context(|| format!("{name} acquire timeout {v:?}"))?,
                );
            }
            if let Some(v) = var(&env::per_context(name, "STATEMENT_TIMEOUT_MS")) {
                svc.statement_timeout_ms = Some(
                    v.parse()
                        .with_context(|| format!("{name} statement timeout {v:?}"))?,
                );
            }
        }
        Ok(())
    }

    fn service(&self, ctx: Context) -> ServiceConfig {
        self.services.get(&ctx).cloned().unwrap_or_default()
    }

    pub fn listen(&self, ctx: Context) -> SocketAddr {
        self.service(ctx)
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], ctx.default_port())))
    }

    pub fn endpoint(&self, ctx: Context) -> String {
        self.service(ctx).endpoint.unwrap_or_else(|| {
            let addr = self.listen(ctx);
            let host = if addr.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                addr.ip().to_string()
            };
            // With [tls] the certificate must name that address (IP SAN), as the development
            // certificates do; deployments configure endpoints by name.
            let scheme = if self.tls.files().ok().flatten().is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}:{}", addr.port())
        })
    }

    pub fn database_url(&self, ctx: Context) -> String {
        self.service(ctx).database_url.unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(format!("{}.db", ctx.name())).display()
            )
        })
    }

    pub fn pool_size(&self, ctx: Context) -> u32 {
        // Small pools: PostgreSQL throughput stops rising past ~8 connections here (STACK.md).
        self.service(ctx).pool_size.unwrap_or(8)
    }

    /// The context's pool: its size and how it behaves when the database is slow or gone.
    pub fn pool_settings(&self, ctx: Context) -> crate::db::PoolSettings {
        let svc = self.service(ctx);
        let mut settings = crate::db::PoolSettings::new(self.pool_size(ctx));
        if let Some(ms) = svc.acquire_timeout_ms {
            settings.acquire_timeout = Duration::from_millis(ms);
        }
        match svc.statement_timeout_ms {
            Some(0) => settings.statement_timeout = None,
            Some(ms) => settings.statement_timeout = Some(Duration::from_millis(ms)),
            None => {}
        }
        settings
    }

    /// Where `occasionali dev` keeps every process's internal signing key (issue 14).
    pub fn internal_keys_dir(&self) -> PathBuf {
        self.data_dir.join("secrets").join("internal")
    }

    /// The private key `firmatario` signs its internal tokens with.
    pub fn internal_key_path(&self, firmatario: crate::firme::Firmatario) -> PathBuf {
        self.auth
            .internal_key_file
            .clone()
            .unwrap_or_else(|| crate::firme::dev_key_path(&self.internal_keys_dir(), firmatario))
    }

    /// The directory of trusted public keys, `<signer>.<kid>.pub.pem`.
    pub fn internal_trust_dir(&self) -> PathBuf {
        self.auth
            .internal_trust_dir
            .clone()
            .unwrap_or_else(|| self.internal_keys_dir().join("trust"))
    }
}

/// Key material that never prints.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Reads an existing key file (production: keys are provisioned, never invented).
    pub fn load(path: &Path) -> anyhow::Result<Secret> {
        let bytes = std::fs::read(path).with_context(|| format!("reading secret {}", path.display()))?;
        let trimmed: Vec<u8> = bytes.trim_ascii().to_vec();
        if trimmed.len() < 32 {
            bail!("secret {} is shorter than 32 bytes", path.display());
        }
        Ok(Secret(trimmed))
    }

    /// Reads the key file, or creates it with 48 random bytes when it does not exist (the
    /// embedded default: `occasionali dev` and `occasionali token` then agree on the key).
    pub fn load_or_create(path: &Path) -> anyhow::Result<Secret> {
        match std::fs::metadata(path) {
            Ok(_) => Secret::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use rand::Rng;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut raw = [0u8; 48];
                rand::rng().fill(&mut raw[..]);
                let text: String = raw.iter().map(|b| format!("{b:02x}")).collect();
                write_private(path, text.as_bytes())?;
                Ok(Secret(text.into_bytes()))
            }
            Err(e) => Err(e).with_context(|| format!("reading secret {}", path.display())),
        }
    }
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating secret {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes)?;
    Ok(())
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults() {
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "OCCASIONALI_DATA_DIR" => Some("/tmp/x".into()),
            "OCCASIONALI_ANAGRAFICA_LISTEN" => Some("0.0.0.0:7000".into()),
            "OCCASIONALI_PRESTAZIONI_DATABASE_URL" => Some("postgres://h/db".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen(Context::Anagrafica).port(), 7000);
        assert_eq!(c.endpoint(Context::Anagrafica), "http://127.0.0.1:7000");
        assert_eq!(c.database_url(Context::Prestazioni), "postgres://h/db");
        assert_eq!(
            c.database_url(Context::Deleghe),
            "sqlite:///tmp/x/deleghe.db?mode=rwc"
        );
        assert_eq!(c.listen(Context::Notifiche).port(), 50066);
    }

    #[test]
    fn file_is_parsed_and_unknown_keys_refused() {
        let c: Config =
            toml::from_str("data_dir = \"/srv\"\n[services.anagrafica]\nlisten = \"127.0.0.1:1\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen(Context::Anagrafica).port(), 1);
        assert!(toml::from_str::<Config>("nonsense = 1").is_err());
    }

    #[test]
    fn the_documented_example_is_valid() {
        let c: Config = toml::from_str(include_str!("../../../deploy/config.example.toml"))
            .unwrap_or_else(|e| panic!("deploy/config.example.toml: {e}"));
        assert_eq!(c.endpoint(Context::Deleghe), "http://deleghe:50065");
    }

    #[test]
    fn database_passwords_never_print() {
        assert_eq!(
            redact_url("postgres://occ:s3cret@db:5432/x"),
            "postgres://occ:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://./data/a.db"), "sqlite://./data/a.db");
        let mut c = Config::default();
        c.services.entry(Context::Anagrafica).or_default().database_url = Some("postgres://u:pw@h/d".into());
        assert!(!format!("{c:?}").contains("pw@"));
    }

    #[test]
    fn pool_timeouts_default_and_are_configurable() {
        use crate::db::{DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT};
        let mut c = Config::default();
        let p = c.pool_settings(Context::Portafoglio);
        assert_eq!(p.acquire_timeout, DEFAULT_ACQUIRE_TIMEOUT);
        assert_eq!(p.acquire_timeout, Duration::from_millis(1500));
        assert_eq!(p.statement_timeout, Some(DEFAULT_STATEMENT_TIMEOUT));
        c.apply_env(|k| match k {
            "OCCASIONALI_PORTAFOGLIO_ACQUIRE_TIMEOUT_MS" => Some("800".into()),
            "OCCASIONALI_PORTAFOGLIO_STATEMENT_TIMEOUT_MS" => Some("0".into()),
            "OCCASIONALI_ANAGRAFICA_STATEMENT_TIMEOUT_MS" => Some("9000".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let p = c.pool_settings(Context::Portafoglio);
        assert_eq!(p.acquire_timeout, Duration::from_millis(800));
        assert_eq!(p.statement_timeout, None, "0 keeps the server's");
        assert_eq!(
            c.pool_settings(Context::Anagrafica).statement_timeout,
            Some(Duration::from_secs(9))
        );
        c.services.entry(Context::Deleghe).or_default().acquire_timeout_ms = Some(0);
        assert!(c.validate().is_err());
    }

    #[test]
    fn nonsense_settings_are_refused() {
        let mut c = Config::default();
        assert!(c.validate().is_ok());
        c.gateway.request_timeout_ms = 0;
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.services.entry(Context::Deleghe).or_default().database_url = Some("mysql://x".into());
        assert!(c.validate().is_err());
    }

    #[test]
    fn admission_limits_follow_the_environment_unless_configured() {
        let mut c = Config::default();
        assert_eq!(
            c.gateway.admission.limits(AdmissionLimits::PRODUCTION),
            AdmissionLimits::PRODUCTION
        );
        c.apply_env(|k| match k {
            "OCCASIONALI_GATEWAY_CALLER_RATE_PER_SECOND" => Some("7".into()),
            "OCCASIONALI_GATEWAY_MAX_IN_FLIGHT" => Some("64".into()),
            "OCCASIONALI_AUTH_CLOCK_LEEWAY_SECONDS" => Some("45".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.auth.clock_leeway_seconds, 45);
        let prod = c.gateway.admission.limits(AdmissionLimits::PRODUCTION);
        assert_eq!(prod.caller_rate_per_second, 7);
        assert_eq!(prod.max_in_flight, 64);
        assert_eq!(prod.caller_burst, AdmissionLimits::PRODUCTION.caller_burst);
        // `occasionali dev` fills only what is unset.
        c.gateway.admission.fill(AdmissionLimits::DEVELOPMENT);
        let dev = c.gateway.admission.limits(AdmissionLimits::PRODUCTION);
        assert_eq!(dev.caller_rate_per_second, 7);
        assert_eq!(dev.caller_burst, AdmissionLimits::DEVELOPMENT.caller_burst);
        let file: Config = toml::from_str("[gateway.admission]\ncaller_burst = 3\nmax_callers = 10\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.gateway.admission.caller_burst, Some(3));
        assert!(file.validate().is_ok());
        assert!(toml::from_str::<Config>("[gateway.admission]\nrate = 1\n").is_err());
        let mut bad = Config::default();
        bad.gateway.admission.caller_burst = Some(0);
        assert!(bad.validate().is_err());
        bad.gateway.admission.caller_rate_per_second = Some(0);
        assert!(bad.validate().is_ok(), "no per-caller limit at all");
        bad.auth.clock_leeway_seconds = 3600;
        assert!(bad.validate().is_err());
        assert!(
            Config::default()
                .apply_env(|k| (k == "OCCASIONALI_GATEWAY_CALLER_BURST").then(|| "many".into()))
                .is_err()
        );
    }

    #[test]
    fn who_migrates_is_configurable() {
        let mut c = Config::default();
        assert!(
            c.database.migrate_on_start,
            "dev and the README's commands migrate on start"
        );
        assert_eq!(c.database.runtime_role, None);
        c.apply_env(|k| match k {
            "OCCASIONALI_DATABASE_MIGRATE_ON_START" => Some("false".into()),
            "OCCASIONALI_DATABASE_RUNTIME_ROLE" => Some("occasionali_runtime".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.database.migrate_on_start);
        assert_eq!(c.database.runtime_role.as_deref(), Some("occasionali_runtime"));
        assert!(c.validate().is_ok());
        assert!(
            Config::default()
                .apply_env(|k| (k == "OCCASIONALI_DATABASE_MIGRATE_ON_START").then(|| "maybe".into()))
                .is_err()
        );
        // The role is spliced into GRANT statements: only a plain name.
        c.database.runtime_role = Some("x; DROP TABLE outbox".into());
        assert!(c.validate().is_err());
        let file: Config =
            toml::from_str("[database]\nmigrate_on_start = false\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(!file.database.migrate_on_start);
        assert!(toml::from_str::<Config>("[database]\nmigrate = false\n").is_err());
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Secret::new(b"abc".to_vec())),
            "Secret(**redacted**)"
        );
    }

    /// Issue 14: a half-configured TLS section is a start-up error naming what is missing;
    /// endpoints and [tls] agree on the scheme.
    #[test]
    fn tls_sections_are_all_or_nothing() {
        let parse = |text: &str| -> anyhow::Result<Config> {
            let c: Config = toml::from_str(text)?;
            c.validate()?;
            Ok(c)
        };
        let error = |text: &str| match parse(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => format!("{e:#}"),
        };
        let e = error("[tls]\nca_file = \"/ca.pem\"\ncert_file = \"/c.pem\"\n");
        assert!(e.contains("tls.key_file missing"), "{e}");
        let e = error("[tls]\ncert_file = \"/c.pem\"\n");
        assert!(e.contains("tls.ca_file, tls.key_file missing"), "{e}");
        let e = error("[gateway.tls]\nkey_file = \"/k.pem\"\n");
        assert!(e.contains("gateway.tls.cert_file missing"), "{e}");
        let e = error(
            "[tls]\nca_file = \"/a\"\ncert_file = \"/b\"\nkey_file = \"/c\"\nreload_every_seconds = 0\n",
        );
        assert!(e.contains("tls.reload_every_seconds"), "{e}");

        let full = "[tls]\nca_file = \"/a\"\ncert_file = \"/b\"\nkey_file = \"/c\"\n";
        let c = parse(full).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.endpoint(Context::Anagrafica), "https://127.0.0.1:50061");
        let files = c
            .tls
            .files()
            .unwrap_or_else(|e| panic!("{e:#}"))
            .unwrap_or_else(|| panic!("no files"));
        assert_eq!(files.ca.as_deref(), Some(Path::new("/a")));
        assert_eq!(files.reload_every, crate::tls::DEFAULT_RELOAD_EVERY);
        let e = error(&format!(
            "{full}[services.anagrafica]\nendpoint = \"http://anagrafica:50061\"\n"
        ));
        assert!(
            e.contains("services.anagrafica.endpoint must be an https:// URL"),
            "{e}"
        );
        let e = error("[services.anagrafica]\nendpoint = \"https://anagrafica:50061\"\n");
        assert!(e.contains("[tls] is not configured"), "{e}");

        // Without [tls]: plaintext, as `occasionali dev` runs.
        let c = parse("").unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.endpoint(Context::Anagrafica), "http://127.0.0.1:50061");
        assert!(
            c.gateway
                .tls
                .files()
                .unwrap_or_else(|e| panic!("{e:#}"))
                .is_none()
        );

        // The environment sets the same keys (Kubernetes mounts the files).
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "OCCASIONALI_TLS_CA_FILE" => Some("/tls/ca.crt".into()),
            "OCCASIONALI_TLS_CERT_FILE" => Some("/tls/tls.crt".into()),
            "OCCASIONALI_TLS_KEY_FILE" => Some("/tls/tls.key".into()),
            "OCCASIONALI_GATEWAY_TLS_CERT_FILE" => Some("/public/tls.crt".into()),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.tls.key_file.as_deref(), Some(Path::new("/tls/tls.key")));
        let e = match c.validate() {
            Ok(()) => panic!("half-configured gateway.tls accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(e.contains("gateway.tls.key_file missing"), "{e}");
    }

    /// Issue 14: every shipped issuers file is a valid configuration, and the HS256 client key
    /// is gone for good (an old config naming it is refused, not silently ignored).
    #[test]
    fn the_shipped_issuer_configurations_are_valid() {
        for (name, text) in [
            (
                "deploy/config.example.toml",
                include_str!("../../../deploy/config.example.toml"),
            ),
            (
                "deploy/compose.issuers.toml",
                include_str!("../../../deploy/compose.issuers.toml"),
            ),
            (
                "k8s/overlays/prod/issuers.toml",
                include_str!("../../../k8s/overlays/prod/issuers.toml"),
            ),
            (
                "k8s/overlays/dev/issuers.toml",
                include_str!("../../../k8s/overlays/dev/issuers.toml"),
            ),
        ] {
            let c: Config = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!c.auth.issuers.is_empty(), "{name}");
        }
        let prod: Config = toml::from_str(include_str!("../../../k8s/overlays/prod/issuers.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = prod.auth.issuers.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["inps-idp", "pdnd"]);
        assert!(toml::from_str::<Config>("[auth]\nsecret_file = \"/run/secrets/auth\"\n").is_err());
        let mut c = Config::default();
        c.apply_env(|k| (k == "OCCASIONALI_DEV_ISSUER_KEY_FILE").then(|| "/keys/dev.pem".to_string()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.auth.dev_issuer_key_file, Some(PathBuf::from("/keys/dev.pem")));
        let mut bad = Config::default();
        bad.auth.jwks_refresh_seconds = 0;
        assert!(bad.validate().is_err());
    }
}
