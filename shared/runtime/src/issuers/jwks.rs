//! An issuer's published keys (RFC 7517 JWK Set): fetched at start, refreshed in the
//! background and when a token names a key we do not know, never replaced by a failed fetch.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// How long one fetch of a key set may take: a verifying call may be waiting on it.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest key set read: a few keys are a few KB.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// RSA keys shorter than this are not used (NIST SP 800-57: 2048 bits at least).
const MIN_RSA_BITS: usize = 2048;

/// Where a key set comes from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    Url(String),
    File(PathBuf),
    /// Given, not fetched (a verifier built in code, e.g. for tests).
    Static(Arc<Vec<u8>>),
}

/// One usable verification key.
pub(crate) struct Key {
    pub decoding: DecodingKey,
    /// The only algorithm this key verifies: from its `alg`, else from its type (RSA: RS256,
    /// EC P-256: ES256). A token naming another is refused (algorithm confusion).
    pub algorithm: Algorithm,
}

/// The keys of one fetch, by `kid`.
#[derive(Default)]
pub(crate) struct KeySet {
    pub keys: HashMap<String, Arc<Key>>,
}

impl KeySet {
    /// The usable keys of a JWK Set document. Keys we cannot use (encryption keys, other
    /// curves, short RSA moduli, no `kid`) are skipped, not fatal: an IdP may publish more than
    /// we need. A document with no usable key at all is an error.
    pub fn parse(bytes: &[u8]) -> anyhow::Result<KeySet> {
        let doc: serde_json::Value = serde_json::from_slice(bytes).context("the JWKS is not JSON")?;
        let Some(entries) = doc.get("keys").and_then(|k| k.as_array()) else {
            bail!("the JWKS has no \"keys\" array");
        };
        let mut set = KeySet::default();
        for entry in entries {
            match usable(entry) {
                Ok((kid, key)) => {
                    set.keys.insert(kid, Arc::new(key));
                }
                Err(why) => tracing::debug!(%why, "JWKS: key skipped"),
            }
        }
        if set.keys.is_empty() {
            bail!("the JWKS holds no usable RS256 or ES256 signing key with a kid");
        }
        Ok(set)
    }
}

fn usable(entry: &serde_json::Value) -> anyhow::Result<(String, Key)> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).context("not a JWK we read")?;
    let kid = jwk
        .common
        .key_id
        .clone()
        .filter(|k| !k.is_empty())
        .context("no kid")?;
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        bail!("{kid}: an encryption key");
    }
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let n = base64_len(&rsa.n);
            if n * 8 < MIN_RSA_BITS {
                bail!("{kid}: RSA modulus shorter than {MIN_RSA_BITS} bits");
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => bail!("{kid}: neither RSA nor EC P-256"),
    };
    let algorithm = match jwk.common.key_algorithm {
        None => by_type,
        Some(a) => match a {
            KeyAlgorithm::RS256 if by_type == Algorithm::RS256 => by_type,
            KeyAlgorithm::ES256 if by_type == Algorithm::ES256 => by_type,
            _ => bail!("{kid}: its alg is not RS256 or ES256 for its key type"),
        },
    };
    let decoding = DecodingKey::from_jwk(&jwk).with_context(|| format!("{kid}: not a valid key"))?;
    Ok((kid, Key { decoding, algorithm }))
}

/// The decoded length of an unpadded base64url string, leading zero bytes aside.
fn base64_len(b64: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .map(|b| b.iter().skip_while(|x| **x == 0).count())
        .unwrap_or_default()
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// No key set yet: nothing fetched successfully since start.
    NoKeys,
    Unknown,
    Found(Arc<Key>),
}

/// One issuer's keys, shared by every verifying call; swapped whole by a refresh.
pub(crate) struct KeyCache {
    pub name: String,
    source: Source,
    http: reqwest::Client,
    keys: RwLock<Option<Arc<KeySet>>>,
    /// When a fetch was last tried on demand (a token with an unknown `kid`), so that garbage
    /// tokens cannot make us hammer the IdP; held across the fetch so that concurrent calls
    /// share one.
    on_demand: tokio::sync::Mutex<Option<Instant>>,
    min_interval: Duration,
}

impl KeyCache {
    pub fn new(name: String, source: Source, min_interval: Duration) -> anyhow::Result<KeyCache> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the JWKS client")?;
        Ok(KeyCache {
            name,
            source,
            http,
            keys: RwLock::new(None),
            on_demand: tokio::sync::Mutex::new(None),
            min_interval,
        })
    }

    fn current(&self) -> Option<Arc<KeySet>> {
        match self.keys.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn has_keys(&self) -> bool {
        self.current().is_some()
    }

    pub fn lookup(&self, kid: &str) -> Lookup {
        match self.current() {
            None => Lookup::NoKeys,
            Some(set) => set.keys.get(kid).cloned().map_or(Lookup::Unknown, Lookup::Found),
        }
    }

    async fn fetch(&self) -> anyhow::Result<KeySet> {
        let bytes = match &self.source {
            Source::Static(bytes) => bytes.to_vec(),
            Source::File(path) => tokio::fs::read(path)
                .await
                .with_context(|| format!("reading {}", path.display()))?,
            Source::Url(url) => {
                let answer = self
                    .http
                    .get(url)
                    .header(http::header::ACCEPT, "application/json")
                    .send()
                    .await
                    .with_context(|| format!("fetching {url}"))?;
                if !answer.status().is_success() {
                    bail!("{url} answered {}", answer.status());
                }
                if answer.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
                    bail!("{url}: the key set is larger than {MAX_JWKS_BYTES} bytes");
                }
                let body = answer.bytes().await.with_context(|| format!("reading {url}"))?;
                body.to_vec()
            }
        };
        if bytes.len() > MAX_JWKS_BYTES {
            bail!("the key set is larger than {MAX_JWKS_BYTES} bytes");
        }
        KeySet::parse(&bytes)
    }

    /// Fetches the key set and puts it in place of the old one; on failure the last good set
    /// stays. Returns the number of keys now held.
    pub async fn refresh(&self) -> anyhow::Result<usize> {
        let set = self.fetch().await?;
        Ok(self.install(set))
    }

    /// Puts `set` in place of the current key set.
    pub fn install(&self, set: KeySet) -> usize {
        let n = set.keys.len();
        let mut kids: Vec<&String> = set.keys.keys().collect();
        kids.sort();
        tracing::debug!(issuer = %self.name, keys = ?kids, "JWKS refreshed");
        let set = Arc::new(set);
        match self.keys.write() {
            Ok(mut g) => *g = Some(set),
            Err(poisoned) => *poisoned.into_inner() = Some(set),
        }
        n
    }

    /// A refresh because a token named `kid`, unless one was tried less than the minimum
    /// interval ago. True when `kid` is known afterwards.
    pub async fn refresh_for(&self, kid: &str) -> bool {
        let mut last = self.on_demand.lock().await;
        // Another call may have fetched while this one waited for the lock.
        if matches!(self.lookup(kid), Lookup::Found(_)) {
            return true;
        }
        if last.is_some_and(|t| t.elapsed() < self.min_interval) {
            return false;
        }
        *last = Some(Instant::now());
        match self.refresh().await {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(issuer = %self.name, error = %format!("{e:#}"), "JWKS refresh for an unknown key failed; the last good key set stays");
            }
        }
        matches!(self.lookup(kid), Lookup::Found(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signing_keys_we_can_use_are_kept() {
        let ec = serde_json::json!({"kty":"EC","crv":"P-256","kid":"ec1",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let mut no_kid = ec.clone();
        no_kid["kid"] = serde_json::Value::Null;
        let mut enc = ec.clone();
        enc["kid"] = "enc".into();
        enc["use"] = "enc".into();
        let mut wrong_alg = ec.clone();
        wrong_alg["kid"] = "rs-on-ec".into();
        wrong_alg["alg"] = "RS256".into();
        let short_rsa = serde_json::json!({"kty":"RSA","kid":"short","e":"AQAB","n":"AQAB"});
        let oct = serde_json::json!({"kty":"oct","kid":"hmac","k":"c2VjcmV0"});
        let odd = serde_json::json!({"kty":"OKP","crv":"X25519","kid":"x","x":"abc","alg":"ECDH-ES"});
        let doc = serde_json::json!({"keys":[ec, no_kid, enc, wrong_alg, short_rsa, oct, odd]});
        let set = KeySet::parse(doc.to_string().as_bytes()).unwrap_or_default();
        let mut kids: Vec<&String> = set.keys.keys().collect();
        kids.sort();
        assert_eq!(kids, vec!["ec1"]);
        assert!(KeySet::parse(br#"{"keys":[]}"#).is_err());
        assert!(KeySet::parse(b"<html>").is_err());
    }
}
