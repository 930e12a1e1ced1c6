//! Who a client is, from the tokens of the identity providers we trust (issue 14, GW-1):
//! people through the INPS/Ministry OIDC provider (SPID/CIE behind it), systems through
//! machine tokens of their own (client credentials, as PDND vouchers are), and in development
//! the local dev issuer `occasionali token` signs with. Each issuer is configured
//! (`[[auth.issuers]]`): its `iss`, its JWKS, the audiences and algorithms it may use, and how
//! its claims become one of our principals. The gateway never holds a secret a client shares.

mod dev;
mod jwks;
mod mapping;
mod settings;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode};

pub use dev::{DEV_AUDIENCE, DEV_ISSUER, DEV_ISSUER_NAME, DevIssuer, JWKS_PATH, serve_jwks};
pub use settings::{ALLOWED_ALGORITHMS, IssuerConfig, validate_all};

use crate::identity::{Claims, DEFAULT_CLOCK_LEEWAY_SECONDS, Principal, TokenError, now_seconds};
use crate::memo::Memo;
use crate::shutdown::Shutdown;
use jwks::{Key, KeyCache, Lookup, Source};

/// How often key sets are fetched again unless configured (`auth.jwks_refresh_seconds`).
pub const DEFAULT_REFRESH_SECONDS: u64 = 300;
/// The least time between two fetches caused by unknown `kid`s, per issuer, unless configured
/// (`auth.jwks_min_refresh_seconds`).
pub const DEFAULT_MIN_REFRESH_SECONDS: u64 = 15;
/// While an issuer has no keys at all, how often the background retries.
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(5);

/// One configured issuer, with its keys.
struct Issuer {
    config: IssuerConfig,
    algorithms: Vec<jsonwebtoken::Algorithm>,
    keys: KeyCache,
    /// Signatures checked, by token: the key that verified it. A token whose kid still finds
    /// that very key (not a refreshed or rotated one) skips the signature check; every other
    /// check runs on every call (issue 11: a client's token is checked twice per call, once by
    /// admission and once by the proxy, and a client sends the same token for its lifetime).
    firmati: Memo<String, Arc<Key>>,
}

/// How long a checked signature is remembered (the key must also still be the same one).
const FIRMA_RICORDATA_SECONDS: u64 = 600;

/// Verifies client bearer tokens against the configured issuers. Cheap to clone.
#[derive(Clone)]
pub struct ClientVerifier {
    /// By `iss`.
    issuers: Arc<HashMap<String, Arc<Issuer>>>,
    leeway: u64,
    refresh_every: Duration,
}

/// What [`ClientVerifier`] is built from.
#[derive(Clone, Debug)]
pub struct VerifierOptions {
    pub issuers: Vec<IssuerConfig>,
    /// Clock skew tolerated on `exp`, `nbf`, `iat`.
    pub leeway_seconds: u64,
    /// Background refresh period.
    pub refresh_seconds: u64,
    /// Least time between fetches caused by unknown `kid`s, per issuer.
    pub min_refresh_seconds: u64,
}

impl VerifierOptions {
    pub fn new(issuers: Vec<IssuerConfig>) -> VerifierOptions {
        VerifierOptions {
            issuers,
            leeway_seconds: DEFAULT_CLOCK_LEEWAY_SECONDS,
            refresh_seconds: DEFAULT_REFRESH_SECONDS,
            min_refresh_seconds: DEFAULT_MIN_REFRESH_SECONDS,
        }
    }
}

/// The header fields we read, parsed by hand: `alg` must be judged before any library decides
/// what a `none` or an HS256 header means.
struct Header {
    alg: String,
    kid: Option<String>,
}

fn segment_json(segment: &str, what: &str) -> Result<serde_json::Map<String, serde_json::Value>, TokenError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed(format!("the {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(TokenError::Malformed(format!("the {what} is not a JSON object"))),
    }
}

fn parts(token: &str) -> Result<(Header, Claims), TokenError> {
    let mut it = token.split('.');
    let (Some(h), Some(c), Some(_sig), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(TokenError::Malformed(
            "not a JWT (header.claims.signature, base64url)".into(),
        ));
    };
    let header = segment_json(h, "header")?;
    let alg = match header.get("alg") {
        Some(serde_json::Value::String(a)) => a.clone(),
        _ => return Err(TokenError::Malformed("the header names no alg".into())),
    };
    let kid = match header.get("kid") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(TokenError::Malformed("the header's kid is not a string".into())),
    };
    // Bounded: the value is the caller's own and ends up in our error message.
    let alg: String = alg.chars().take(16).collect();
    Ok((Header { alg, kid }, segment_json(c, "claims")?))
}

impl ClientVerifier {
    /// The issuers as configured, with no keys yet: see [`ClientVerifier::start`].
    pub fn new(options: &VerifierOptions) -> anyhow::Result<ClientVerifier> {
        validate_all(&options.issuers)?;
        let mut issuers = HashMap::new();
        for c in &options.issuers {
            let source = match (&c.jwks_url, &c.jwks_file) {
                (Some(u), _) => Source::Url(u.clone()),
                (None, Some(f)) => Source::File(f.clone()),
                (None, None) => anyhow::bail!("auth.issuers[{}]: no key set", c.name),
            };
            ClientVerifier::add(&mut issuers, c, source, options)?;
        }
        Ok(ClientVerifier {
            issuers: Arc::new(issuers),
            leeway: options.leeway_seconds,
            refresh_every: Duration::from_secs(options.refresh_seconds.max(1)),
        })
    }

    fn add(
        issuers: &mut HashMap<String, Arc<Issuer>>,
        c: &IssuerConfig,
        source: Source,
        options: &VerifierOptions,
    ) -> anyhow::Result<()> {
        {
            let keys = KeyCache::new(
                c.name.clone(),
                source,
                Duration::from_secs(options.min_refresh_seconds),
            )?;
            let algorithms = c
                .algorithms
                .iter()
                .filter_map(|a| settings::algorithm(a))
                .collect();
            issuers.insert(
                c.issuer.clone(),
                Arc::new(Issuer {
                    config: c.clone(),
                    algorithms,
                    keys,
                    firmati: Memo::default(),
                }),
            );
        }
        Ok(())
    }

    /// A verifier trusting `dev` alone, its key set given rather than fetched, keys in place
    /// at once: for tests of the gateway's and the dashboard's own logic.
    pub fn trusting(dev: &DevIssuer) -> anyhow::Result<ClientVerifier> {
        let config = DevIssuer::issuer_config("http://127.0.0.1/unused".into());
        let jwks = serde_json::to_vec(&dev.jwks())?;
        let options = VerifierOptions::new(vec![config.clone()]);
        let mut issuers = HashMap::new();
        ClientVerifier::add(
            &mut issuers,
            &config,
            Source::Static(Arc::new(jwks.clone())),
            &options,
        )?;
        for i in issuers.values() {
            i.keys.install(jwks::KeySet::parse(&jwks)?);
        }
        let v = ClientVerifier {
            issuers: Arc::new(issuers),
            leeway: options.leeway_seconds,
            refresh_every: Duration::from_secs(options.refresh_seconds),
        };
        Ok(v)
    }

    /// Fetches every issuer's keys once (a failure is logged, not fatal: tokens of that issuer
    /// are refused UNAVAILABLE until its keys arrive), then keeps them fresh in the background
    /// until `shutdown`. What every process that verifies client tokens calls at start.
    pub async fn start(options: &VerifierOptions, shutdown: Shutdown) -> anyhow::Result<ClientVerifier> {
        let verifier = ClientVerifier::new(options)?;
        verifier.refresh_all().await;
        tokio::spawn(verifier.clone().keep_fresh(shutdown));
        Ok(verifier)
    }

    /// One refresh of every issuer, concurrently.
    pub async fn refresh_all(&self) {
        let all = self.issuers.values().map(|i| async move {
            match i.keys.refresh().await {
                Ok(n) => tracing::info!(issuer = %i.config.name, keys = n, "client token issuer: keys loaded"),
                Err(e) => tracing::warn!(
                    issuer = %i.config.name,
                    error = %format!("{e:#}"),
                    have_keys = i.keys.has_keys(),
                    "client token issuer: key set not refreshed (the last good one stays; none: its tokens are refused UNAVAILABLE)"
                ),
            }
        });
        futures::future::join_all(all).await;
    }

    async fn keep_fresh(self, shutdown: Shutdown) {
        loop {
            // An issuer without keys is retried soon; otherwise the configured period.
            let wait = if self.issuers.values().all(|i| i.keys.has_keys()) {
                self.refresh_every
            } else {
                self.refresh_every.min(RETRY_WITHOUT_KEYS)
            };
            tokio::select! {
                _ = shutdown.clone().wait() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            self.refresh_all().await;
        }
    }

    /// The configured issuers' names.
    pub fn issuer_names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.issuers.values().map(|i| i.config.name.clone()).collect();
        n.sort();
        n
    }

    /// The principal of `token`. A `kid` not in the cached key set makes one fetch of that
    /// issuer's keys (rate limited) before the token is refused: a rotated key is accepted on
    /// its first use.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let now = now_seconds();
        match self.verify_at(token, now) {
            Err(TokenError::UnknownKey(_) | TokenError::KeysUnavailable(_)) => {
                let (header, claims) = parts(token)?;
                if let (Some(issuer), Some(kid)) = (self.issuer_of(&claims)?, header.kid.as_deref()) {
                    issuer.keys.refresh_for(kid).await;
                }
                self.verify_at(token, now)
            }
            other => other,
        }
    }

    /// [`ClientVerifier::verify`] without waiting: an unknown `kid` only starts the
    /// (rate-limited) fetch, and this token is refused. For synchronous callers (interceptors,
    /// admission control).
    pub fn verify_cached(&self, token: &str) -> Result<Principal, TokenError> {
        let r = self.verify_at(token, now_seconds());
        if let Err(TokenError::UnknownKey(_) | TokenError::KeysUnavailable(_)) = &r
            && let Ok((header, claims)) = parts(token)
            && let Ok(Some(issuer)) = self.issuer_of(&claims)
            && let Some(kid) = header.kid
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                issuer.keys.refresh_for(&kid).await;
            });
        }
        r
    }

    fn issuer_of(&self, claims: &Claims) -> Result<Option<Arc<Issuer>>, TokenError> {
        match claims.get("iss") {
            None => Err(TokenError::MissingClaim("iss")),
            Some(serde_json::Value::String(iss)) => Ok(self.issuers.get(iss).cloned()),
            Some(_) => Err(TokenError::BadClaim("iss", "not a string".into())),
        }
    }

    /// Everything but fetching: the algorithm (before anything else), the issuer, its key by
    /// `kid`, the signature, the registered claims at `now`, then the mapping to a principal.
    fn verify_at(&self, token: &str, now: u64) -> Result<Principal, TokenError> {
        let (header, claims) = parts(token)?;
        let Some(alg) = settings::algorithm(&header.alg) else {
            return Err(TokenError::Algorithm(header.alg));
        };
        let issuer = self.issuer_of(&claims)?.ok_or(TokenError::Issuer)?;
        if !issuer.algorithms.contains(&alg) {
            return Err(TokenError::Algorithm(header.alg));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::UnknownKey("the token names no key (kid)".into()))?;
        let key = match issuer.keys.lookup(&kid) {
            Lookup::Found(k) => k,
            Lookup::Unknown => {
                let shown: String = kid.chars().take(64).collect();
                return Err(TokenError::UnknownKey(format!(
                    "{shown:?} is not among issuer {:?}'s keys",
                    issuer.config.name
                )));
            }
            Lookup::NoKeys => return Err(TokenError::KeysUnavailable(issuer.config.name.clone())),
        };
        // The key decides the algorithm: an RSA key never verifies an ES256 token, nor an EC
        // key an RS256 one, nor any key an HMAC.
        if key.algorithm != alg {
            return Err(TokenError::Algorithm(header.alg));
        }
        let verificata = issuer
            .firmati
            .get(token, now)
            .is_some_and(|k| Arc::ptr_eq(&k, &key));
        if !verificata {
            let mut v = Validation::new(alg);
            v.required_spec_claims.clear();
            v.validate_exp = false;
            v.validate_nbf = false;
            v.validate_aud = false;
            decode::<serde_json::Value>(token, &key.decoding, &v).map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                    TokenError::Algorithm(header.alg.clone())
                }
                _ => TokenError::Malformed("the signature is not a valid encoding".into()),
            })?;
            issuer
                .firmati
                .put(token.to_string(), key.clone(), now + FIRMA_RICORDATA_SECONDS, now);
        }
        let accepted: Vec<&str> = issuer.config.audiences.iter().map(String::as_str).collect();
        crate::identity::check_audience(&claims, &accepted)?;
        crate::identity::check_lifetime(&claims, self.leeway, now)?;
        mapping::principal(&issuer.config, &claims)
    }
}

#[cfg(test)]
mod tests;
