//! The local development issuer: an ES256 key under `<data_dir>/secrets/`, created on first
//! use, whose JWKS `occasionali dev` serves on loopback and configures as an issuer like any
//! other, so development exercises the production path. `occasionali token`, the test cluster
//! and the benches sign with it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use serde::Serialize;

use super::IssuerConfig;
use crate::identity::{Principal, Profile, TokenError, now_seconds};
use crate::shutdown::Shutdown;

/// The `iss` of the dev issuer's tokens.
pub const DEV_ISSUER: &str = "occasionali-dev";
/// Its name among the configured issuers.
pub const DEV_ISSUER_NAME: &str = "dev";
/// The audience its tokens name (the API's).
pub const DEV_AUDIENCE: &str = "occasionali-api";
/// The path its JWKS is served at.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// What the dev issuer signs: our own claim names, so its mapping is the identity.
#[derive(Debug, Serialize)]
struct DevClaims<'a> {
    sub: &'a str,
    profile: Profile,
    #[serde(skip_serializing_if = "Option::is_none")]
    sede: Option<&'a str>,
    iss: &'static str,
    aud: &'static str,
    iat: u64,
    exp: u64,
}

/// The dev issuer's key, ready to sign.
#[derive(Clone)]
pub struct DevIssuer {
    key: EncodingKey,
    /// RFC 7638 thumbprint of the public key: the same key always has the same `kid`.
    kid: String,
    public: Jwk,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// Where the key lives: `auth.dev_issuer_key_file`, or `<data_dir>/secrets/dev-issuer.pem`.
    pub fn key_path(config: &crate::Config) -> PathBuf {
        config
            .auth
            .dev_issuer_key_file
            .clone()
            .unwrap_or_else(|| config.data_dir.join("secrets").join("dev-issuer.pem"))
    }

    /// The configured dev issuer's key, created on first use.
    pub fn of(config: &crate::Config) -> anyhow::Result<DevIssuer> {
        DevIssuer::load_or_create(&DevIssuer::key_path(config))
    }

    /// Reads the existing key at `path` (a bench or a tool signing for a running cluster: a key
    /// created here would only sign tokens the cluster refuses).
    pub fn load(path: &Path) -> anyhow::Result<DevIssuer> {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading the dev issuer key {}", path.display()))?;
        DevIssuer::from_pem(&pem).with_context(|| format!("reading the dev issuer key {}", path.display()))
    }

    /// Reads the PKCS#8 PEM key at `path`, or creates a new P-256 key there (mode 0600).
    pub fn load_or_create(path: &Path) -> anyhow::Result<DevIssuer> {
        match std::fs::read_to_string(path) {
            Ok(pem) => DevIssuer::from_pem(&pem)
                .with_context(|| format!("reading the dev issuer key {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let key = DevIssuer::random_pem()?;
                match crate::config::write_private(path, key.as_bytes()) {
                    Ok(()) => DevIssuer::from_pem(&key),
                    // Another process (`occasionali token` beside `dev`) created it meanwhile.
                    Err(_) if path.exists() => DevIssuer::load_or_create(path),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e).with_context(|| format!("reading the dev issuer key {}", path.display())),
        }
    }

    /// A dev issuer with a new key kept nowhere (tests).
    pub fn generate() -> anyhow::Result<DevIssuer> {
        DevIssuer::from_pem(&DevIssuer::random_pem()?)
    }

    /// A new P-256 key (tests make several to rotate), as PKCS#8 PEM.
    pub fn random_pem() -> anyhow::Result<String> {
        use rand::Rng as _;
        // A uniformly random scalar is valid unless it is 0 or beyond the order: retry then.
        for _ in 0..16 {
            let mut raw = [0u8; 32];
            rand::rng().fill(&mut raw[..]);
            if let Ok(secret) = p256::SecretKey::from_slice(&raw) {
                let pem = secret
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| anyhow::anyhow!("encoding the dev issuer key: {e}"))?;
                return Ok(pem.to_string());
            }
        }
        anyhow::bail!("no valid P-256 key drawn")
    }

    pub fn from_pem(pem: &str) -> anyhow::Result<DevIssuer> {
        let secret = p256::SecretKey::from_pkcs8_pem(pem)
            .map_err(|e| anyhow::anyhow!("not a PKCS#8 P-256 key: {e}"))?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encoding the key: {e}"))?;
        let key = EncodingKey::from_ec_der(der.as_bytes());
        let mut public =
            Jwk::from_encoding_key(&key, Algorithm::ES256).context("the dev issuer's public key")?;
        let kid = public
            .thumbprint(ThumbprintHash::SHA256)
            .context("the dev issuer key's thumbprint")?;
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        public.common.key_algorithm = Some(KeyAlgorithm::ES256);
        Ok(DevIssuer { key, kid, public })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key set, as served at [`JWKS_PATH`].
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.public.clone()],
        }
    }

    /// `claims` as they are, signed ES256 with this key and its `kid` (tests: the edges no
    /// minted token has).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.key).map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// A bearer token for `principal`, valid `ttl_seconds` (what `occasionali token` prints).
    /// Not checked here: a principal no client may be is refused by the verifier.
    pub fn mint(&self, principal: &Principal, ttl_seconds: u64) -> Result<String, TokenError> {
        let iat = now_seconds();
        self.sign(&DevClaims {
            sub: &principal.cf,
            profile: principal.profile,
            sede: principal.sede.as_deref(),
            iss: DEV_ISSUER,
            aud: DEV_AUDIENCE,
            iat,
            exp: iat + ttl_seconds,
        })
    }

    /// The issuer entry for the dev issuer's JWKS at `jwks_url`.
    pub fn issuer_config(jwks_url: String) -> IssuerConfig {
        IssuerConfig {
            name: DEV_ISSUER_NAME.into(),
            issuer: DEV_ISSUER.into(),
            jwks_url: Some(jwks_url),
            jwks_file: None,
            audiences: vec![DEV_AUDIENCE.into()],
            algorithms: vec!["ES256".into()],
            subject_claim: "sub".into(),
            subject_prefix: None,
            profile: None,
            profile_claim: Some("profile".into()),
            profiles: Default::default(),
            sede_claim: Some("sede".into()),
        }
    }
}

/// Serves `jwks` at [`JWKS_PATH`] on `listener` until `shutdown`: the dev issuer's, for
/// `occasionali dev` and the test cluster (and any local JWKS a test needs).
pub async fn serve_jwks(
    listener: tokio::net::TcpListener,
    jwks: JwkSet,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let body = std::sync::Arc::new(serde_json::to_string(&jwks)?);
    let app = axum::Router::new().route(
        JWKS_PATH,
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(http::header::CONTENT_TYPE, "application/jwk-set+json")],
                    body.as_str().to_owned(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
        .context("serving the dev issuer's JWKS")
}
