//! Internal identity that a neighbour cannot forge (issue 14, point 2). Every process that
//! signs has an Ed25519 key of its own: the gateway alone signs the identities of clients, each
//! context signs only its own `sistema` calls (`SISTEMA-<CONTEXT>`, the person behind them as
//! their origin). A token names its signer (`iss`, header `kid`) and the one context it is for
//! (`aud`); the receiver checks the signature against the public keys it trusts for that signer
//! ([`Fiducia`]), that it is the audience, and that the identity is one the signer may issue.
//! A compromised pod can then only speak as itself, and only to whom it was calling anyway.
//!
//! Keys are files: a PKCS#8 PEM private key per process, and a directory of public keys,
//! `<signer>.<kid>.pub.pem`, several per signer at once so that a key is rotated one process at
//! a time (docs/runbook.md). The `kid` is the key's own fingerprint ([`kid_of`]), so a file name
//! cannot claim another key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize as _, Serialize};
use sha2::{Digest, Sha256};
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::context::Context;
use crate::error::ERROR_DOMAIN;
use crate::identity::{Claims, DEFAULT_CLOCK_LEEWAY_SECONDS, Identity, Principal, Profile, TokenError, mask};
use crate::memo::Memo;

/// Internal tokens only need to live for one hop.
const INTERNAL_TTL_SECONDS: u64 = 120;
/// How many characters of the RFC 7638 thumbprint name a key: enough to tell keys apart (the
/// signature, not the name, is what is trusted), short enough for a file name.
const KID_LEN: usize = 16;
/// The file name suffix of a trusted public key.
const PUBLIC_SUFFIX: &str = ".pub.pem";

/// A process that signs internal tokens: the gateway, or one context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Firmatario {
    Gateway,
    Contesto(Context),
}

impl Firmatario {
    /// Every signer of the platform: the gateway, then the contexts.
    pub fn all() -> impl Iterator<Item = Firmatario> {
        std::iter::once(Firmatario::Gateway).chain(Context::ALL.into_iter().map(Firmatario::Contesto))
    }

    /// The process's name: `iss` of its tokens and the first part of its key files' names.
    pub fn name(self) -> &'static str {
        match self {
            Firmatario::Gateway => "gateway",
            Firmatario::Contesto(c) => c.name(),
        }
    }

    /// The codice fiscale of this process's own `sistema` identity, `SISTEMA-<NAME>`.
    pub fn system_cf(self) -> String {
        format!("SISTEMA-{}", self.name().to_ascii_uppercase())
    }

    /// The signer whose own `sistema` identity `identity` is, if it is one.
    pub fn of_system(identity: &Identity) -> Option<Firmatario> {
        if !identity.is_system() {
            return None;
        }
        Firmatario::all().find(|f| f.system_cf() == identity.caller.cf)
    }

    /// Whether this signer may issue `identity`: the gateway a client's (any profile but
    /// `sistema`) and its own `sistema` one; a context only its own `sistema` identity (the
    /// person it calls for travels as the origin, which the signer only carries along).
    pub fn may_issue(self, identity: &Identity) -> bool {
        if !identity.is_system() {
            return self == Firmatario::Gateway;
        }
        Firmatario::of_system(identity) == Some(self)
    }
}

impl From<Context> for Firmatario {
    fn from(ctx: Context) -> Firmatario {
        Firmatario::Contesto(ctx)
    }
}

impl std::fmt::Display for Firmatario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Firmatario {
    type Err = String;
    fn from_str(s: &str) -> Result<Firmatario, String> {
        if s == "gateway" {
            return Ok(Firmatario::Gateway);
        }
        s.parse::<Context>()
            .map(Firmatario::Contesto)
            .map_err(|_| format!("unknown signer {s:?}: gateway or a context"))
    }
}

/// The key id of a public key: the first [`KID_LEN`] characters of its RFC 7638 JWK thumbprint
/// (SHA-256 of `{"crv":"Ed25519","kty":"OKP","x":…}`, base64url).
pub fn kid_of(key: &VerifyingKey) -> String {
    let jwk = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(key.as_bytes())
    );
    let mut kid = URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()));
    kid.truncate(KID_LEN);
    kid
}

/// The private key a process signs with, and the names its tokens carry.
#[derive(Clone)]
pub struct Firma {
    firmatario: Firmatario,
    kid: String,
    key: EncodingKey,
    public: VerifyingKey,
}

impl Firma {
    pub fn new(firmatario: Firmatario, key: &SigningKey) -> anyhow::Result<Firma> {
        let der = key
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encoding the key of {firmatario}: {e}"))?;
        let public = key.verifying_key();
        Ok(Firma {
            firmatario,
            kid: kid_of(&public),
            key: EncodingKey::from_ed_der(der.as_bytes()),
            public,
        })
    }

    /// Reads `firmatario`'s PKCS#8 PEM private key (provisioned: never invented here).
    pub fn load(firmatario: Firmatario, path: &Path) -> anyhow::Result<Firma> {
        let pem = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading the internal signing key of {firmatario}: {}",
                path.display()
            )
        })?;
        let key = SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| anyhow::anyhow!("{}: not an Ed25519 PKCS#8 PEM private key: {e}", path.display()))?;
        Firma::new(firmatario, &key)
    }

    pub fn firmatario(&self) -> Firmatario {
        self.firmatario
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> &VerifyingKey {
        &self.public
    }
}

/// The public keys a process trusts, per signer and key id.
#[derive(Clone, Default)]
pub struct Fiducia {
    keys: HashMap<Firmatario, HashMap<String, DecodingKey>>,
}

impl Fiducia {
    /// Trusts `key` as one of `firmatario`'s keys.
    pub fn add(&mut self, firmatario: Firmatario, key: &VerifyingKey) {
        self.keys
            .entry(firmatario)
            .or_default()
            .insert(kid_of(key), DecodingKey::from_ed_der(key.as_bytes()));
    }

    /// Whether `firmatario`'s key `kid` is trusted.
    pub fn trusts(&self, firmatario: Firmatario, kid: &str) -> bool {
        self.keys.get(&firmatario).is_some_and(|k| k.contains_key(kid))
    }

    /// Every `<signer>.<kid>.pub.pem` of `dir` (other entries, such as the `..data` of a
    /// mounted ConfigMap, are skipped). A file whose name names an unknown signer, or a kid
    /// that is not its key's, is an error: a mislabelled key is found at start-up, not when a
    /// token is refused. No key at all is an error too.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Fiducia> {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading the internal trust directory {}", dir.display()))?;
        let mut fiducia = Fiducia::default();
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(PUBLIC_SUFFIX) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let Some((signer, kid)) = stem.split_once('.') else {
                bail!(
                    "{}: a trusted key is named <signer>.<kid>{PUBLIC_SUFFIX}",
                    path.display()
                );
            };
            let firmatario: Firmatario = signer
                .parse()
                .map_err(|e: String| anyhow::anyhow!("{}: {e}", path.display()))?;
            let pem =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let key = VerifyingKey::from_public_key_pem(pem.trim())
                .map_err(|e| anyhow::anyhow!("{}: not an Ed25519 public key PEM: {e}", path.display()))?;
            let actual = kid_of(&key);
            if actual != kid {
                bail!(
                    "{}: the file names kid {kid:?} but the key's kid is {actual:?}",
                    path.display()
                );
            }
            fiducia.add(firmatario, &key);
        }
        if fiducia.keys.is_empty() {
            bail!(
                "the internal trust directory {} holds no <signer>.<kid>{PUBLIC_SUFFIX}",
                dir.display()
            );
        }
        Ok(fiducia)
    }
}

/// The file name of `key` as a trusted key of `firmatario`.
pub fn public_file_name(firmatario: Firmatario, key: &VerifyingKey) -> String {
    format!("{firmatario}.{}{PUBLIC_SUFFIX}", kid_of(key))
}

/// A fresh key pair as PEM: (the PKCS#8 private key, the SPKI public key).
pub fn pem_pair(key: &SigningKey) -> anyhow::Result<(String, String)> {
    let private = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding a private key: {e}"))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding a public key: {e}"))?;
    Ok((private.to_string(), public))
}

/// A new random Ed25519 key.
pub fn generate() -> SigningKey {
    use rand::Rng;
    let mut seed = [0u8; 32];
    rand::rng().fill(&mut seed[..]);
    SigningKey::from_bytes(&seed)
}

/// Writes a new key pair of `firmatario`: the private key to `private` (created, mode 0600; an
/// existing file is an error, never overwritten) and the public one into `trust_dir` under its
/// `<signer>.<kid>.pub.pem`. Returns the public file's path.
pub fn write_pair(firmatario: Firmatario, private: &Path, trust_dir: &Path) -> anyhow::Result<PathBuf> {
    let key = generate();
    let (private_pem, public_pem) = pem_pair(&key)?;
    if let Some(dir) = private.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::config::write_private(private, private_pem.as_bytes())?;
    std::fs::create_dir_all(trust_dir)?;
    let public = trust_dir.join(public_file_name(firmatario, &key.verifying_key()));
    std::fs::write(&public, public_pem).with_context(|| format!("writing {}", public.display()))?;
    Ok(public)
}

/// `occasionali keygen`: a new key pair of `firmatario` in `dir`, both named by the new key's
/// kid so that a rotation's new pair never meets the old one's names: the private key
/// `<signer>.<kid>.key.pem` (mode 0600, for the signer's own Secret) and the public key
/// `<signer>.<kid>.pub.pem` (for every process's trust set). Returns (kid, private, public).
pub fn keygen(firmatario: Firmatario, dir: &Path) -> anyhow::Result<(String, PathBuf, PathBuf)> {
    let key = generate();
    let kid = kid_of(&key.verifying_key());
    let (private_pem, public_pem) = pem_pair(&key)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let private = dir.join(format!("{firmatario}.{kid}.key.pem"));
    crate::config::write_private(&private, private_pem.as_bytes())?;
    let public = dir.join(public_file_name(firmatario, &key.verifying_key()));
    std::fs::write(&public, public_pem).with_context(|| format!("writing {}", public.display()))?;
    Ok((kid, private, public))
}

/// The signing keys of several processes and the trust set they share: what `occasionali dev`
/// (every process in one) and the tests hold.
#[derive(Clone)]
pub struct Portachiavi {
    firme: HashMap<Firmatario, Firma>,
    fiducia: Arc<Fiducia>,
    leeway: u64,
}

impl Portachiavi {
    /// Every signer's key under `dir` (`<signer>.key.pem`), created on first use with its
    /// public key written into `trust_dir`; the trust set is then read from `trust_dir`.
    pub fn dev(dir: &Path, trust_dir: &Path) -> anyhow::Result<Portachiavi> {
        let mut firme = HashMap::new();
        for f in Firmatario::all() {
            let path = dev_key_path(dir, f);
            if !path.exists() {
                write_pair(f, &path, trust_dir)?;
            }
            firme.insert(f, Firma::load(f, &path)?);
        }
        Portachiavi::new(firme, Fiducia::from_dir(trust_dir)?)
    }

    /// Every signer with a key derived from a fixed seed, all trusted: tests of one context
    /// and the callers they play share them, with no file.
    pub fn deterministic() -> Portachiavi {
        Portachiavi::from_keys(|f| {
            let seed: [u8; 32] = Sha256::digest(format!("occasionali test key {f}").as_bytes()).into();
            SigningKey::from_bytes(&seed)
        })
    }

    /// Every signer with a fresh random key, trusted only here: what a forger holds (tests).
    pub fn generated() -> Portachiavi {
        Portachiavi::from_keys(|_| generate())
    }

    fn from_keys(key_of: impl Fn(Firmatario) -> SigningKey) -> Portachiavi {
        let mut firme = HashMap::new();
        let mut fiducia = Fiducia::default();
        for f in Firmatario::all() {
            let key = key_of(f);
            fiducia.add(f, &key.verifying_key());
            if let Ok(firma) = Firma::new(f, &key) {
                firme.insert(f, firma);
            }
        }
        Portachiavi {
            firme,
            fiducia: Arc::new(fiducia),
            leeway: DEFAULT_CLOCK_LEEWAY_SECONDS,
        }
    }

    fn new(firme: HashMap<Firmatario, Firma>, fiducia: Fiducia) -> anyhow::Result<Portachiavi> {
        for firma in firme.values() {
            if !fiducia.trusts(firma.firmatario, &firma.kid) {
                bail!(
                    "the public key of {} (kid {}) is not in the trust set: add it before signing with it",
                    firma.firmatario,
                    firma.kid
                );
            }
        }
        Ok(Portachiavi {
            firme,
            fiducia: Arc::new(fiducia),
            leeway: DEFAULT_CLOCK_LEEWAY_SECONDS,
        })
    }

    pub fn with_leeway(mut self, seconds: u64) -> Portachiavi {
        self.leeway = seconds;
        self
    }

    /// What `firmatario` signs and verifies with.
    pub fn tokens(&self, firmatario: Firmatario) -> anyhow::Result<InternalTokens> {
        let firma = self
            .firme
            .get(&firmatario)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no signing key of {firmatario}"))?;
        Ok(InternalTokens {
            firma: Arc::new(firma),
            fiducia: self.fiducia.clone(),
            leeway: self.leeway,
            coniati: Arc::default(),
            verificati: Arc::default(),
        })
    }

    /// What context `ctx` signs and verifies with.
    pub fn contesto(&self, ctx: Context) -> anyhow::Result<InternalTokens> {
        self.tokens(Firmatario::Contesto(ctx))
    }

    /// `identity` as its rightful signer sends it to `destinazione`: the gateway for a client,
    /// the named process for a `SISTEMA-<NAME>` identity.
    pub fn mint_for(&self, identity: &Identity, destinazione: Context) -> anyhow::Result<String> {
        let signer = match Firmatario::of_system(identity) {
            Some(f) => f,
            None if !identity.is_system() => Firmatario::Gateway,
            None => bail!(
                "{} is not the sistema identity of any process",
                identity.caller.cf
            ),
        };
        Ok(self.tokens(signer)?.mint(identity, destinazione)?)
    }
}

/// Where `occasionali dev` keeps `firmatario`'s private key under `dir`.
pub fn dev_key_path(dir: &Path, firmatario: Firmatario) -> PathBuf {
    dir.join(format!("{firmatario}.key.pem"))
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[derive(Serialize)]
struct InternalClaims<'a> {
    id: &'a Identity,
    iss: &'static str,
    aud: &'static str,
    iat: u64,
    exp: u64,
}

/// Signs this process's internal tokens and verifies those sent to it.
#[derive(Clone)]
pub struct InternalTokens {
    firma: Arc<Firma>,
    fiducia: Arc<Fiducia>,
    leeway: u64,
    /// Tokens signed, by destination and identity: sent again while at least half their life
    /// is left (issue 11: a signature per hop was a sixth of a hop's CPU).
    coniati: Arc<Memo<(Context, Identity), Arc<str>>>,
    /// Tokens verified, by their exact bytes: the identity, and when it was verified (an
    /// earlier instant is judged afresh). Good until the token's `exp` (plus leeway). The trust
    /// set never changes while a process runs, so a signature once good stays good.
    verificati: Arc<Memo<String, (Identity, u64)>>,
}

impl InternalTokens {
    /// `firma` signs; tokens are verified against `fiducia`, as addressed to `firma`'s process.
    /// Its own public key must be trusted (a process whose tokens its peers would refuse is a
    /// provisioning mistake, found at start-up).
    pub fn new(firma: Firma, fiducia: Fiducia) -> anyhow::Result<InternalTokens> {
        let firmatario = firma.firmatario;
        Portachiavi::new(HashMap::from([(firmatario, firma)]), fiducia)?.tokens(firmatario)
    }

    /// Reads the private key and the trust set of a production process.
    pub fn load(firmatario: Firmatario, key_file: &Path, trust_dir: &Path) -> anyhow::Result<InternalTokens> {
        InternalTokens::new(Firma::load(firmatario, key_file)?, Fiducia::from_dir(trust_dir)?)
    }

    /// The clock skew tolerated between the processes of the platform.
    pub fn with_leeway(mut self, seconds: u64) -> InternalTokens {
        self.leeway = seconds;
        self
    }

    /// The process signing with these tokens.
    pub fn firmatario(&self) -> Firmatario {
        self.firma.firmatario
    }

    /// `identity` signed for one hop to `destinazione`. An identity this process may not issue
    /// (a context signing a client's, or another process's `sistema` one) is refused here as
    /// its receiver would refuse it.
    pub fn mint(&self, identity: &Identity, destinazione: Context) -> Result<String, TokenError> {
        if !self.firma.firmatario.may_issue(identity) {
            return Err(TokenError::NotSignersIdentity(self.firma.firmatario.name()));
        }
        let iat = now_seconds();
        let chiave = (destinazione, identity.clone());
        if let Some(token) = self.coniati.get(&chiave, iat) {
            return Ok(token.to_string());
        }
        let token = self.sign(identity, destinazione, iat)?;
        self.coniati.put(
            chiave,
            Arc::from(token.as_str()),
            iat + INTERNAL_TTL_SECONDS / 2,
            iat,
        );
        Ok(token)
    }

    fn sign(&self, identity: &Identity, destinazione: Context, iat: u64) -> Result<String, TokenError> {
        let claims = InternalClaims {
            id: identity,
            iss: self.firma.firmatario.name(),
            aud: destinazione.name(),
            iat,
            exp: iat + INTERNAL_TTL_SECONDS,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.firma.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.firma.key)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// The metadata value for a call to `destinazione` made by this process as the platform
    /// (`SISTEMA-<NAME>`), because of `origin`.
    pub fn system_call(
        &self,
        destinazione: Context,
        origin: Option<&Identity>,
    ) -> Result<MetadataValue<tonic::metadata::Ascii>, Status> {
        let identity = Identity {
            caller: Principal {
                cf: self.firma.firmatario.system_cf(),
                profile: Profile::Sistema,
                sede: None,
            },
            on_behalf_of: None,
            origin: origin.map(|o| Box::new(o.clone())),
        };
        let token = self
            .mint(&identity, destinazione)
            .map_err(|e| Status::internal(e.to_string()))?;
        MetadataValue::try_from(token).map_err(|e| Status::internal(e.to_string()))
    }

    /// The identity in a token sent to this process.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        self.verify_at(token, now_seconds())
    }

    fn verify_at(&self, token: &str, now: u64) -> Result<Identity, TokenError> {
        if let Some((identity, verificato)) = self.verificati.get(token, now)
            && verificato <= now
        {
            return Ok(identity);
        }
        let (identity, exp) = self.verify_afresh(token, now)?;
        // Good while `now < exp + leeway` (check_lifetime); a fractional `exp` is not kept.
        if let Some(fine) = exp.and_then(|e| (e + self.leeway).checked_sub(1)) {
            self.verificati
                .put(token.to_string(), (identity.clone(), now), fine, now);
        }
        Ok(identity)
    }

    /// Every check of [`InternalTokens::verify`]; the identity and the token's `exp` when whole.
    fn verify_afresh(&self, token: &str, now: u64) -> Result<(Identity, Option<u64>), TokenError> {
        let (signer, claims) = self.signed_claims(token)?;
        check_registered(&claims, self.firma.firmatario.name(), self.leeway, now)?;
        let exp = claims.get("exp").and_then(serde_json::Value::as_u64);
        let identity: Identity = match claims.get("id") {
            None | Some(serde_json::Value::Null) => return Err(TokenError::MissingClaim("id")),
            Some(v) => Identity::deserialize(v).map_err(|e| {
                let mut why = e.to_string();
                if why.len() > 160 {
                    let cut = (0..=160).rev().find(|i| why.is_char_boundary(*i)).unwrap_or(0);
                    why.truncate(cut);
                    why.push('…');
                }
                TokenError::BadClaim("id", why)
            })?,
        };
        if !signer.may_issue(&identity) {
            return Err(TokenError::NotSignersIdentity(signer.name()));
        }
        Ok((identity, exp))
    }

    /// The signer named by `iss`, its key named by the header's `kid`, then the signature
    /// (EdDSA only) against that key.
    fn signed_claims(&self, token: &str) -> Result<(Firmatario, Claims), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            TokenError::Malformed("not a JWT (header.claims.signature, base64url, EdDSA)".into())
        })?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Malformed("only EdDSA tokens are accepted".into()));
        }
        let unverified = unverified_claims(token)?;
        let signer = match unverified.get("iss") {
            None => return Err(TokenError::MissingClaim("iss")),
            Some(serde_json::Value::String(iss)) => iss
                .parse::<Firmatario>()
                .map_err(|_| TokenError::UnknownSigner(bounded(iss)))?,
            Some(_) => return Err(TokenError::BadClaim("iss", "not a string".into())),
        };
        let kid = header.kid.ok_or(TokenError::UntrustedKey(signer.name(), None))?;
        let key = self
            .fiducia
            .keys
            .get(&signer)
            .and_then(|k| k.get(&kid))
            .ok_or_else(|| TokenError::UntrustedKey(signer.name(), Some(bounded(&kid))))?;
        let mut v = Validation::new(Algorithm::EdDSA);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::Json(_) => TokenError::Malformed("the claims are not a JSON object".into()),
                _ => TokenError::Malformed("not a JWT (header.claims.signature, base64url, EdDSA)".into()),
            })?;
        Ok((signer, claims))
    }
}

/// A name from a token, bounded for messages: the header is the caller's own.
fn bounded(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The claims before the signature is checked, only to find whose key checks it.
fn unverified_claims(token: &str) -> Result<Claims, TokenError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| TokenError::Malformed("not a JWT (header.claims.signature)".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed("the claims are not base64url".into()))?;
    serde_json::from_slice::<Claims>(&bytes)
        .map_err(|_| TokenError::Malformed("the claims are not a JSON object".into()))
}

/// RFC 7519 §4.1 as for client tokens (identity.rs), with the receiving process as the only
/// audience: `aud` (a string or an array of strings) names `audience`; `exp` not passed; `nbf`
/// and `iat` not in the future, each with `leeway` seconds of skew. `aud`, `exp` and `iat` are
/// required (`iss` was resolved to the signer already).
fn check_registered(claims: &Claims, audience: &str, leeway: u64, now: u64) -> Result<(), TokenError> {
    crate::identity::check_audience(claims, &[audience])?;
    crate::identity::check_lifetime(claims, leeway, now)
}

/// UNAUTHENTICATED with the refusal's reason in the ErrorInfo (GW-1), as the gateway answers
/// for client tokens: a process refused by a peer can tell a rotated-away key from a forgery.
fn refused(e: &TokenError) -> Status {
    let metadata = HashMap::from([("rule".to_string(), "GW-1".to_string())]);
    Status::with_error_details(
        tonic::Code::Unauthenticated,
        format!("identity rejected: {e}"),
        ErrorDetails::with_error_info(e.reason(), ERROR_DOMAIN, metadata),
    )
}

/// Verifies the internal identity on every call to a context service; no identity, no call.
#[derive(Clone)]
pub struct IdentityInterceptor {
    tokens: InternalTokens,
}

impl IdentityInterceptor {
    pub fn new(tokens: InternalTokens) -> IdentityInterceptor {
        IdentityInterceptor { tokens }
    }
}

impl tonic::service::Interceptor for IdentityInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let token = request
            .metadata()
            .get(crate::identity::IDENTITY_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Status::unauthenticated("no verified identity: call through the gateway with a bearer token")
            })?;
        let identity = self.tokens.verify(token).map_err(|e| {
            tracing::warn!(reason = e.reason(), error = %e, "internal identity refused");
            refused(&e)
        })?;
        crate::richiesta::soggetto(&identity.caller.cf);
        request.extensions_mut().insert(identity);
        Ok(request)
    }
}

/// Guards an internal service (GW-6): verifies the identity as [`IdentityInterceptor`] does,
/// then refuses anyone but the platform's own `sistema` identity with PERMISSION_DENIED
/// (`GW_6_INTERNAL_ONLY`). The gateway never routes internal services, so a client meets this
/// only by reaching a backend with a stolen identity token.
#[derive(Clone)]
pub struct SystemOnlyInterceptor {
    identity: IdentityInterceptor,
}

impl SystemOnlyInterceptor {
    pub fn new(tokens: InternalTokens) -> SystemOnlyInterceptor {
        SystemOnlyInterceptor {
            identity: IdentityInterceptor::new(tokens),
        }
    }
}

impl tonic::service::Interceptor for SystemOnlyInterceptor {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let request = self.identity.call(request)?;
        match request.extensions().get::<Identity>() {
            Some(id) if id.is_system() => Ok(request),
            Some(id) => {
                tracing::warn!(profile = %id.profile(), caller = %mask(&id.caller.cf), "internal service refused to a non-system identity");
                Err(crate::error::AppError::denied(
                    "GW-6",
                    "GW_6_INTERNAL_ONLY",
                    "this is an internal service: only the platform's own services may call it",
                )
                .into())
            }
            None => Err(Status::unauthenticated("missing verified identity")),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::service::Interceptor;

    use super::*;
    use crate::identity::IDENTITY_HEADER;

    fn persona(profile: Profile) -> Identity {
        Identity::new(Principal {
            cf: "RSSMRA85T10A562S".into(),
            profile,
            sede: Some("RM".into()),
        })
    }

    fn sistema(nome: &str) -> Identity {
        Identity::new(Principal {
            cf: format!("SISTEMA-{}", nome.to_ascii_uppercase()),
            profile: Profile::Sistema,
            sede: None,
        })
    }

    fn keys() -> Portachiavi {
        Portachiavi::deterministic()
    }

    fn tokens(f: impl Into<Firmatario>) -> InternalTokens {
        keys().tokens(f.into()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Claims and header as they come, signed by `firma`: the edges no minted token has.
    fn signed(firma: &Firma, kid: Option<&str>, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, &claims, &firma.key).unwrap_or_default()
    }

    fn firma(f: impl Into<Firmatario>) -> Firma {
        keys()
            .firme
            .get(&f.into())
            .cloned()
            .unwrap_or_else(|| panic!("a test key"))
    }

    #[test]
    fn gw_1_the_gateway_signs_a_clients_identity_for_one_context() {
        let anna = persona(Profile::Prestatore);
        let tok = tokens(Firmatario::Gateway)
            .mint(&anna, Context::Anagrafica)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tokens(Context::Anagrafica).verify(&tok), Ok(anna));
        let header = jsonwebtoken::decode_header(&tok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(firma(Firmatario::Gateway).kid()));
    }

    #[test]
    fn a_signed_token_is_sent_again_to_its_destination_alone() {
        let gateway = tokens(Firmatario::Gateway);
        let anna = persona(Profile::Prestatore);
        let mint = |id: &Identity, ctx| gateway.mint(id, ctx).unwrap_or_else(|e| panic!("{e}"));
        let first = mint(&anna, Context::Anagrafica);
        // The same identity to the same context: the same token, not a second signature.
        assert_eq!(mint(&anna, Context::Anagrafica), first);
        // Another destination or another identity: its own token, good only there (GW-1).
        let other = mint(&anna, Context::Deleghe);
        assert_ne!(other, first);
        assert_eq!(
            tokens(Context::Anagrafica).verify(&other),
            Err(TokenError::Audience)
        );
        let dg = persona(Profile::OperatoreDg);
        assert_ne!(mint(&dg, Context::Anagrafica), first);
        assert_eq!(
            tokens(Context::Anagrafica).verify(&mint(&dg, Context::Anagrafica)),
            Ok(dg)
        );
        // Still refused to a signer that may not issue it, kept or not.
        assert_eq!(
            tokens(Context::Prestazioni).mint(&anna, Context::Anagrafica),
            Err(TokenError::NotSignersIdentity("prestazioni"))
        );
    }

    #[test]
    fn gw_1_a_token_verified_once_is_still_judged_on_its_time_claims() {
        let g = firma(Firmatario::Gateway);
        let t = tokens(Context::Anagrafica).with_leeway(0);
        let anna = persona(Profile::Prestatore);
        let now = 1_900_000_000;
        let tok = signed(
            &g,
            Some(g.kid()),
            serde_json::json!({"id": anna, "iss": "gateway", "aud": "anagrafica", "iat": now, "exp": now + 60}),
        );
        assert_eq!(t.verify_at(&tok, now), Ok(anna.clone()));
        assert_eq!(t.verify_at(&tok, now + 59), Ok(anna));
        // Remembered, yet expired at `exp` as a token never seen is…
        assert_eq!(t.verify_at(&tok, now + 60), Err(TokenError::Expired));
        // …and an instant before the one it was verified at is judged afresh.
        assert_eq!(t.verify_at(&tok, now - 10), Err(TokenError::IssuedInFuture));
        // One byte of the signature changed is another token: checked, and refused.
        let mut forged = tok.clone();
        let at = forged.rfind('.').map_or(0, |i| i + 1);
        let other = if forged[at..].starts_with('A') { "B" } else { "A" };
        forged.replace_range(at..=at, other);
        assert_eq!(t.verify_at(&forged, now + 1), Err(TokenError::Signature));
    }

    #[test]
    fn gw_1_a_context_forging_a_clients_identity_is_refused() {
        let anna = persona(Profile::OperatoreDg);
        // It will not mint one…
        assert_eq!(
            tokens(Context::Prestazioni).mint(&anna, Context::Portafoglio),
            Err(TokenError::NotSignersIdentity("prestazioni"))
        );
        // …and a hand-made one, validly signed with its own key, is refused by the receiver.
        let now = now_seconds();
        let forged = signed(
            &firma(Context::Prestazioni),
            Some(firma(Context::Prestazioni).kid()),
            serde_json::json!({"id": anna, "iss": "prestazioni", "aud": "portafoglio", "iat": now, "exp": now + 60}),
        );
        let e = tokens(Context::Portafoglio).verify(&forged);
        assert_eq!(e, Err(TokenError::NotSignersIdentity("prestazioni")));
        assert_eq!(e.map_err(|e| e.reason()), Err("GW_1_TOKEN_SIGNER_NOT_ENTITLED"));
    }

    #[test]
    fn gw_1_sistema_of_a_signed_by_b_is_refused() {
        let now = now_seconds();
        // SISTEMA-PORTAFOGLIO signed by prestazioni's own (trusted) key.
        let forged = signed(
            &firma(Context::Prestazioni),
            Some(firma(Context::Prestazioni).kid()),
            serde_json::json!({"id": sistema("portafoglio"), "iss": "prestazioni", "aud": "anagrafica", "iat": now, "exp": now + 60}),
        );
        assert_eq!(
            tokens(Context::Anagrafica).verify(&forged),
            Err(TokenError::NotSignersIdentity("prestazioni"))
        );
        // Claiming to be portafoglio (iss) with prestazioni's key: portafoglio's kid is not
        // prestazioni's, and under portafoglio's kid the signature does not verify.
        let claims = serde_json::json!({"id": sistema("portafoglio"), "iss": "portafoglio", "aud": "anagrafica", "iat": now, "exp": now + 60});
        assert!(matches!(
            tokens(Context::Anagrafica).verify(&signed(
                &firma(Context::Prestazioni),
                Some(firma(Context::Prestazioni).kid()),
                claims.clone()
            )),
            Err(TokenError::UntrustedKey("portafoglio", Some(_)))
        ));
        assert_eq!(
            tokens(Context::Anagrafica).verify(&signed(
                &firma(Context::Prestazioni),
                Some(firma(Context::Portafoglio).kid()),
                claims
            )),
            Err(TokenError::Signature)
        );
        // A context will not mint another's sistema identity either, nor may the gateway.
        assert!(
            tokens(Context::Prestazioni)
                .mint(&sistema("portafoglio"), Context::Anagrafica)
                .is_err()
        );
        assert!(
            tokens(Firmatario::Gateway)
                .mint(&sistema("portafoglio"), Context::Anagrafica)
                .is_err()
        );
        // Its own, with the person it calls for as the origin, passes.
        let v = tokens(Context::Prestazioni)
            .system_call(Context::Anagrafica, Some(&persona(Profile::Prestatore)))
            .unwrap_or_else(|e| panic!("{e}"));
        let id = tokens(Context::Anagrafica)
            .verify(v.to_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.caller.cf, "SISTEMA-PRESTAZIONI");
        assert_eq!(id.author().caller.cf, "RSSMRA85T10A562S");
    }

    #[test]
    fn gw_1_a_token_for_portafoglio_replayed_to_prestazioni_is_refused() {
        let anna = persona(Profile::Prestatore);
        let per_portafoglio = tokens(Firmatario::Gateway)
            .mint(&anna, Context::Portafoglio)
            .unwrap_or_default();
        assert_eq!(
            tokens(Context::Portafoglio).verify(&per_portafoglio),
            Ok(anna.clone())
        );
        let e = tokens(Context::Prestazioni).verify(&per_portafoglio);
        assert_eq!(e, Err(TokenError::Audience));
        assert_eq!(e.map_err(|e| e.reason()), Err("GW_1_TOKEN_AUDIENCE"));
        // A context's system call likewise.
        let v = tokens(Context::Prestazioni)
            .system_call(Context::Portafoglio, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tokens(Context::Anagrafica).verify(v.to_str().unwrap_or_default()),
            Err(TokenError::Audience)
        );
        // The old shared audience names no context.
        let now = now_seconds();
        let g = firma(Firmatario::Gateway);
        let claims = |aud: serde_json::Value| serde_json::json!({"id": anna, "iss": "gateway", "aud": aud, "iat": now, "exp": now + 60});
        let t = tokens(Context::Prestazioni);
        assert_eq!(
            t.verify(&signed(&g, Some(g.kid()), claims("occasionali-internal".into()))),
            Err(TokenError::Audience)
        );
        assert!(
            t.verify(&signed(
                &g,
                Some(g.kid()),
                claims(serde_json::json!(["notifiche", "prestazioni"]))
            ))
            .is_ok()
        );
        assert!(matches!(
            t.verify(&signed(&g, Some(g.kid()), claims(7.into()))),
            Err(TokenError::BadClaim("aud", _))
        ));
        let mut no_aud = claims("prestazioni".into());
        if let Some(m) = no_aud.as_object_mut() {
            m.remove("aud");
        }
        assert_eq!(
            t.verify(&signed(&g, Some(g.kid()), no_aud)),
            Err(TokenError::MissingClaim("aud"))
        );
    }

    #[test]
    fn gw_1_unknown_signer_and_unknown_kid_are_refused_precisely() {
        let now = now_seconds();
        let g = firma(Firmatario::Gateway);
        let t = tokens(Context::Anagrafica);
        let claims = |iss: serde_json::Value| serde_json::json!({"id": persona(Profile::Prestatore), "iss": iss, "aud": "anagrafica", "iat": now, "exp": now + 60});
        let e = t.verify(&signed(&g, Some(g.kid()), claims("occasionali".into())));
        assert_eq!(e, Err(TokenError::UnknownSigner("occasionali".into())));
        assert_eq!(e.map_err(|e| e.reason()), Err("GW_1_TOKEN_SIGNER_UNKNOWN"));
        assert!(matches!(
            t.verify(&signed(&g, Some(g.kid()), claims(3.into()))),
            Err(TokenError::BadClaim("iss", _))
        ));
        let mut no_iss = claims("gateway".into());
        if let Some(m) = no_iss.as_object_mut() {
            m.remove("iss");
        }
        assert_eq!(
            t.verify(&signed(&g, Some(g.kid()), no_iss)),
            Err(TokenError::MissingClaim("iss"))
        );
        let e = t.verify(&signed(&g, Some("AAAAAAAAAAAAAAAA"), claims("gateway".into())));
        assert_eq!(
            e,
            Err(TokenError::UntrustedKey(
                "gateway",
                Some("AAAAAAAAAAAAAAAA".into())
            ))
        );
        assert_eq!(e.map_err(|e| e.reason()), Err("GW_1_TOKEN_KEY_UNTRUSTED"));
        assert_eq!(
            t.verify(&signed(&g, None, claims("gateway".into()))),
            Err(TokenError::UntrustedKey("gateway", None))
        );
        // A long kid is not echoed whole.
        let long = "k".repeat(5000);
        match t.verify(&signed(&g, Some(&long), claims("gateway".into()))) {
            Err(e @ TokenError::UntrustedKey(..)) => assert!(e.to_string().len() < 200, "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gw_1_a_key_not_in_the_trust_set_is_refused() {
        let anna = persona(Profile::Prestatore);
        // A forger's own gateway key, trusted by nobody here.
        let forged = Portachiavi::generated()
            .mint_for(&anna, Context::Anagrafica)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            tokens(Context::Anagrafica).verify(&forged),
            Err(TokenError::UntrustedKey("gateway", Some(_)))
        ));
        // The same forger naming the real key's kid: the signature does not verify.
        let now = now_seconds();
        let altro = Portachiavi::generated();
        let altro_gateway = altro
            .firme
            .get(&Firmatario::Gateway)
            .cloned()
            .unwrap_or_else(|| panic!("key"));
        let tok = signed(
            &altro_gateway,
            Some(firma(Firmatario::Gateway).kid()),
            serde_json::json!({"id": anna, "iss": "gateway", "aud": "anagrafica", "iat": now, "exp": now + 60}),
        );
        assert_eq!(
            tokens(Context::Anagrafica).verify(&tok),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn gw_1_only_eddsa_tokens_and_registered_claims_with_leeway() {
        let t = tokens(Context::Anagrafica).with_leeway(30);
        let g = firma(Firmatario::Gateway);
        let anna = persona(Profile::Prestatore);
        let now = 1_800_000_000u64;
        let at = |edit: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
            let mut c = serde_json::json!({"id": anna, "iss": "gateway", "aud": "anagrafica", "iat": now - 5, "exp": now + 60});
            if let Some(m) = c.as_object_mut() {
                edit(m);
            }
            t.verify_at(&signed(&g, Some(g.kid()), c), now)
        };
        assert_eq!(at(&|_| {}), Ok(anna.clone()));
        assert!(
            at(&|m| {
                m.insert("exp".into(), (now - 29).into());
            })
            .is_ok(),
            "within the leeway"
        );
        assert_eq!(
            at(&|m| {
                m.insert("exp".into(), (now - 30).into());
            }),
            Err(TokenError::Expired)
        );
        assert_eq!(
            at(&|m| {
                m.remove("exp");
            }),
            Err(TokenError::MissingClaim("exp"))
        );
        assert_eq!(
            at(&|m| {
                m.insert("nbf".into(), (now + 31).into());
            }),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            at(&|m| {
                m.insert("iat".into(), (now + 31).into());
            }),
            Err(TokenError::IssuedInFuture)
        );
        assert_eq!(
            at(&|m| {
                m.remove("iat");
            }),
            Err(TokenError::MissingClaim("iat"))
        );
        assert_eq!(
            at(&|m| {
                m.remove("id");
            }),
            Err(TokenError::MissingClaim("id"))
        );
        assert!(matches!(
            at(&|m| {
                m.insert("id".into(), 4.into());
            }),
            Err(TokenError::BadClaim("id", _))
        ));
        // HS256 with anything as its key, alg none, garbage: malformed.
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"id": anna, "iss": "gateway", "aud": "anagrafica", "iat": now, "exp": now + 60}),
            &EncodingKey::from_secret(&[7u8; 48]),
        )
        .unwrap_or_default();
        assert!(matches!(t.verify_at(&hs, now), Err(TokenError::Malformed(_))));
        let good = signed(
            &g,
            Some(g.kid()),
            serde_json::json!({"id": anna, "iss": "gateway", "aud": "anagrafica", "iat": now, "exp": now + 60}),
        );
        let payload = good.split('.').nth(1).unwrap_or_default();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(matches!(
            t.verify_at(&unsigned, now),
            Err(TokenError::Malformed(_))
        ));
        for garbage in ["", "abc", "a.b.c", "....", "eyJhbGciOiJFZERTQSJ9.e30"] {
            assert!(
                matches!(
                    t.verify_at(garbage, now),
                    Err(TokenError::Malformed(_)) | Err(TokenError::MissingClaim(_))
                ),
                "{garbage:?}"
            );
        }
    }

    /// Rotation (docs/runbook.md): the new public key is trusted beside the old one, the
    /// signer switches to the new private key, and the old public key is removed later.
    #[test]
    fn gw_1_rotation_two_keys_of_one_signer_then_the_old_one_removed() {
        let dir = std::env::temp_dir().join(format!("occasionali-firme-{}", uuid::Uuid::new_v4().simple()));
        let trust = dir.join("trust");
        let old_key = dir.join("vecchia").join("prestazioni.key.pem");
        let old_pub = write_pair(Firmatario::Contesto(Context::Prestazioni), &old_key, &trust)
            .unwrap_or_else(|e| panic!("{e}"));
        write_pair(
            Firmatario::Contesto(Context::Portafoglio),
            &dir.join("portafoglio.key.pem"),
            &trust,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let load = |f: Context, key: &Path| {
            InternalTokens::load(Firmatario::Contesto(f), key, &trust).unwrap_or_else(|e| panic!("{e}"))
        };
        let portafoglio = dir.join("portafoglio.key.pem");
        let vecchio = load(Context::Prestazioni, &old_key).system_call(Context::Portafoglio, None);
        let vecchio = vecchio
            .unwrap_or_else(|e| panic!("{e}"))
            .to_str()
            .unwrap_or_default()
            .to_string();
        assert!(load(Context::Portafoglio, &portafoglio).verify(&vecchio).is_ok());
        // 1. The new pair: its public key is added to the trust set everywhere.
        let (kid, new_key, new_pub) = keygen(Firmatario::Contesto(Context::Prestazioni), &dir.join("nuova"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(&new_pub, trust.join(new_pub.file_name().unwrap_or_default()))
            .unwrap_or_else(|e| panic!("{e}"));
        // A signer whose new public key were not trusted yet refuses to start with it.
        let mut only_old = Fiducia::from_dir(&trust).unwrap_or_else(|e| panic!("{e}"));
        only_old
            .keys
            .entry(Firmatario::Contesto(Context::Prestazioni))
            .or_default()
            .remove(&kid);
        assert!(
            InternalTokens::new(
                Firma::load(Firmatario::Contesto(Context::Prestazioni), &new_key)
                    .unwrap_or_else(|e| panic!("{e}")),
                only_old
            )
            .is_err()
        );
        // 2. The signer switches to the new private key: both keys' tokens are accepted.
        let nuovo = load(Context::Prestazioni, &new_key).system_call(Context::Portafoglio, None);
        let nuovo = nuovo
            .unwrap_or_else(|e| panic!("{e}"))
            .to_str()
            .unwrap_or_default()
            .to_string();
        let ricevente = load(Context::Portafoglio, &portafoglio);
        assert!(ricevente.verify(&vecchio).is_ok(), "the old key, still trusted");
        assert!(ricevente.verify(&nuovo).is_ok(), "the new key");
        // 3. The old public key is removed: its tokens are refused, the new ones still pass.
        std::fs::remove_file(&old_pub).unwrap_or_else(|e| panic!("{e}"));
        let ricevente = load(Context::Portafoglio, &portafoglio);
        assert!(matches!(
            ricevente.verify(&vecchio),
            Err(TokenError::UntrustedKey("prestazioni", Some(_)))
        ));
        assert!(ricevente.verify(&nuovo).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn trust_dir_refuses_mislabelled_keys_and_skips_other_files() {
        let dir = std::env::temp_dir().join(format!("occasionali-fiducia-{}", uuid::Uuid::new_v4().simple()));
        assert!(Fiducia::from_dir(&dir).is_err(), "no directory");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(Fiducia::from_dir(&dir).is_err(), "no key at all");
        let (_, _, public) = keygen(Firmatario::Gateway, &dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("README"), "not a key").unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.join("..data")).unwrap_or_else(|e| panic!("{e}"));
        let f = Fiducia::from_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.keys.len(), 1);
        // The private key keygen wrote beside it is not a trusted key (not *.pub.pem).
        let pem = std::fs::read_to_string(&public).unwrap_or_default();
        for (name, why) in [
            ("intruso.AAAAAAAAAAAAAAAA.pub.pem", "unknown signer"),
            ("gateway.AAAAAAAAAAAAAAAA.pub.pem", "kid is not the key's"),
            ("gateway.pub.pem", "no kid"),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, &pem).unwrap_or_else(|e| panic!("{e}"));
            assert!(Fiducia::from_dir(&dir).is_err(), "{why}");
            std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dev_keys_are_created_once_and_kept() {
        let dir =
            std::env::temp_dir().join(format!("occasionali-dev-keys-{}", uuid::Uuid::new_v4().simple()));
        let trust = dir.join("trust");
        let a = Portachiavi::dev(&dir, &trust).unwrap_or_else(|e| panic!("{e}"));
        let b = Portachiavi::dev(&dir, &trust).unwrap_or_else(|e| panic!("{e}"));
        for f in Firmatario::all() {
            assert_eq!(
                a.firme.get(&f).map(Firma::kid),
                b.firme.get(&f).map(Firma::kid),
                "{f}"
            );
        }
        assert_eq!(
            std::fs::read_dir(&trust).map(|d| d.count()).unwrap_or_default(),
            7
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dev_key_path(&dir, Firmatario::Gateway))
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_default();
            assert_eq!(mode, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn gw_6_internal_services_admit_only_sistema() {
        let receiver = tokens(Context::Portafoglio);
        let call = |token: String| {
            let mut r = Request::new(());
            if let Ok(v) = MetadataValue::try_from(token) {
                r.metadata_mut().insert(IDENTITY_HEADER, v);
            }
            SystemOnlyInterceptor::new(receiver.clone()).call(r)
        };
        for profile in Profile::ALL.into_iter().filter(|p| *p != Profile::Sistema) {
            let tok = tokens(Firmatario::Gateway)
                .mint(&persona(profile), Context::Portafoglio)
                .unwrap_or_default();
            assert_eq!(
                call(tok).err().map(|s| s.code()),
                Some(tonic::Code::PermissionDenied),
                "{profile}"
            );
        }
        let origin = persona(Profile::OperatoreDg);
        for f in [Firmatario::Gateway, Firmatario::Contesto(Context::Prestazioni)] {
            let v = tokens(f)
                .system_call(Context::Portafoglio, Some(&origin))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(call(v.to_str().unwrap_or_default().into()).is_ok(), "{f}");
        }
        // A refused token is UNAUTHENTICATED with its reason in the ErrorInfo.
        let per_altri = tokens(Firmatario::Gateway)
            .system_call(Context::Anagrafica, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let status = call(per_altri.to_str().unwrap_or_default().into()).err();
        assert_eq!(
            status.as_ref().map(|s| s.code()),
            Some(tonic::Code::Unauthenticated)
        );
        let reason = status.and_then(|s| s.get_details_error_info()).map(|i| i.reason);
        assert_eq!(reason.as_deref(), Some("GW_1_TOKEN_AUDIENCE"));
        let r = SystemOnlyInterceptor::new(receiver.clone()).call(Request::new(()));
        assert_eq!(r.err().map(|s| s.code()), Some(tonic::Code::Unauthenticated));
    }

    #[test]
    fn signers_and_their_names() {
        assert_eq!(Firmatario::all().count(), 7);
        for f in Firmatario::all() {
            assert_eq!(f.name().parse::<Firmatario>(), Ok(f));
            assert_eq!(Firmatario::of_system(&sistema(f.name())), Some(f));
        }
        assert!("occasionali".parse::<Firmatario>().is_err());
        assert_eq!(Firmatario::of_system(&sistema("test")), None);
        assert_eq!(Firmatario::of_system(&persona(Profile::Prestatore)), None);
    }
}
