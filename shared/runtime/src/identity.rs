//! Who is calling. The gateway authenticates the client's bearer token and forwards a short
//! lived internal token (signed with a key clients never see) that every service verifies; a
//! service calling another presents its own `sistema` identity and carries the original caller
//! along (ARCHITECTURE.md, Identity). Token lifetimes use the real system time, not the
//! platform clock, because they are about security, not about business dates.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::Serialize;
use tonic::{Request, Status};

use crate::config::Secret;
pub use occasionali_kernel::identita::{
    Identity, OnBehalf, Principal, Profile, RUOLO_LEGALE_RAPPRESENTANTE, mask,
};
// The internal tokens, signed per process (issue 14): their own module, named here as before.
pub use crate::firme::{IdentityInterceptor, InternalTokens, SystemOnlyInterceptor};

/// Metadata carrying the internal identity token from the gateway to the services.
pub const IDENTITY_HEADER: &str = "x-occasionali-identity";
/// Metadata a client sets to act on behalf of a subject (DEL-2): the delegante's CF.
pub const ON_BEHALF_OF_HEADER: &str = "x-occasionali-on-behalf-of";
/// Metadata naming the ruolo of the delega the client acts under (DEL-2), or
/// [`RUOLO_LEGALE_RAPPRESENTANTE`].
pub const RUOLO_HEADER: &str = "x-occasionali-ruolo";

const ISSUER: &str = "occasionali";
const CLIENT_AUDIENCE: &str = "occasionali-api";

/// The identity of a request, as placed there by [`IdentityInterceptor`].
pub trait RequestIdentity {
    fn identity(&self) -> Result<Identity, Status>;
}

impl<T> RequestIdentity for Request<T> {
    fn identity(&self) -> Result<Identity, Status> {
        self.extensions()
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("missing verified identity"))
    }
}

/// Why a token is refused (GW-1): each with a stable reason the gateway puts in the ErrorInfo of
/// its UNAUTHENTICATED answer, so a client can tell an expired token from a forged one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The claims are well formed but name a principal no client may be.
    #[error("token is not valid: {0}")]
    Invalid(String),
    /// Not a JWT, not base64url, not JSON, or signed with an algorithm other than HS256.
    #[error("token is malformed: {0}")]
    Malformed(String),
    #[error("token signature does not verify")]
    Signature,
    #[error("token lacks the {0:?} claim")]
    MissingClaim(&'static str),
    /// A claim of the wrong type (e.g. `exp` as a string, `aud` as a number).
    #[error("token claim {0:?} is malformed: {1}")]
    BadClaim(&'static str, String),
    #[error("token was issued by another issuer")]
    Issuer,
    #[error("token is meant for another audience")]
    Audience,
    #[error("token has expired")]
    Expired,
    /// `nbf` is later than now (beyond the clock leeway).
    #[error("token is not valid yet (nbf is in the future)")]
    NotYetValid,
    /// `iat` is later than now (beyond the clock leeway): a clock or a forger in the future.
    #[error("token is issued in the future (iat)")]
    IssuedInFuture,
    /// An internal token whose `iss` names no process of the platform.
    #[error("internal token is signed by an unknown signer {0:?}")]
    UnknownSigner(String),
    /// An internal token whose header `kid` (if any) is none of its signer's trusted keys: a
    /// key rotated away, or one never provisioned.
    #[error("internal token is signed by {0} with a key not trusted here (kid {1:?})")]
    UnknownKey(&'static str, Option<String>),
    /// An internal token carrying an identity its signer may not issue: a context signing a
    /// client's identity, or another process's `sistema` one.
    #[error("{0} may not sign this identity")]
    NotSignersIdentity(&'static str),
}

impl TokenError {
    /// The ErrorInfo reason of the refusal.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Invalid(_) => "GW_1_TOKEN_PRINCIPAL_INVALID",
            TokenError::Malformed(_) => "GW_1_TOKEN_MALFORMED",
            TokenError::Signature => "GW_1_TOKEN_SIGNATURE",
            TokenError::MissingClaim(_) => "GW_1_TOKEN_CLAIM_MISSING",
            TokenError::BadClaim(..) => "GW_1_TOKEN_CLAIM_MALFORMED",
            TokenError::Issuer => "GW_1_TOKEN_ISSUER",
            TokenError::Audience => "GW_1_TOKEN_AUDIENCE",
            TokenError::Expired => "GW_1_TOKEN_EXPIRED",
            TokenError::NotYetValid => "GW_1_TOKEN_NOT_YET_VALID",
            TokenError::IssuedInFuture => "GW_1_TOKEN_ISSUED_IN_FUTURE",
            TokenError::UnknownSigner(_) => "GW_1_TOKEN_SIGNER_UNKNOWN",
            TokenError::UnknownKey(..) => "GW_1_TOKEN_KEY_UNTRUSTED",
            TokenError::NotSignersIdentity(_) => "GW_1_TOKEN_SIGNER_NOT_ENTITLED",
        }
    }
}

/// How far the clock of a token's issuer may run ahead of or behind ours (RFC 7519 §4.1.4,
/// §4.1.5: "some small leeway"), unless configured (`auth.clock_leeway_seconds`).
pub const DEFAULT_CLOCK_LEEWAY_SECONDS: u64 = 30;

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// What we sign. Verification reads the claims as JSON instead ([`verify_claims`]), because
/// RFC 7519 lets `aud` be a string or an array and NumericDates be non-integer.
#[derive(Debug, Serialize)]
struct ClientClaims {
    sub: String,
    profile: Profile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sede: Option<String>,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

type Claims = serde_json::Map<String, serde_json::Value>;

/// Checks the signature (HS256 only) and nothing else: the registered claims are checked by
/// [`check_registered`] against an explicit `now`, so the edges are testable to the second.
fn signed_claims(token: &str, key: &Secret) -> Result<Claims, TokenError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    decode::<Claims>(token, &DecodingKey::from_secret(key.expose()), &v)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                TokenError::Malformed("only HS256 tokens are accepted".into())
            }
            ErrorKind::Json(_) => TokenError::Malformed("the claims are not a JSON object".into()),
            _ => TokenError::Malformed("not a JWT (header.claims.signature, base64url, HS256)".into()),
        })
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly non-integer.
fn numeric_date(claims: &Claims, name: &'static str) -> Result<Option<f64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| TokenError::BadClaim(name, "not a NumericDate (seconds since 1970)".into())),
    }
}

/// RFC 7519 §4.1: `iss` ours; `aud` (a string or an array of strings) naming `audience`; `exp`
/// not passed; `nbf` and `iat` not in the future. Each time comparison allows `leeway` seconds
/// of clock skew: accepted while `now < exp + leeway`, from `now >= nbf - leeway`, and with
/// `iat <= now + leeway`. `iss`, `aud`, `exp` and `iat` are required: every token we issue
/// carries them, so a token without them is not ours.
fn check_registered(claims: &Claims, audience: &str, leeway: u64, now: u64) -> Result<(), TokenError> {
    match claims.get("iss") {
        None => return Err(TokenError::MissingClaim("iss")),
        Some(serde_json::Value::String(iss)) if iss == ISSUER => {}
        Some(serde_json::Value::String(_)) => return Err(TokenError::Issuer),
        Some(_) => return Err(TokenError::BadClaim("iss", "not a string".into())),
    }
    let ours = match claims.get("aud") {
        None => return Err(TokenError::MissingClaim("aud")),
        Some(serde_json::Value::String(aud)) => aud == audience,
        Some(serde_json::Value::Array(auds)) => {
            if !auds.iter().all(serde_json::Value::is_string) {
                return Err(TokenError::BadClaim(
                    "aud",
                    "not a string or an array of strings".into(),
                ));
            }
            auds.iter().any(|a| a.as_str() == Some(audience))
        }
        Some(_) => {
            return Err(TokenError::BadClaim(
                "aud",
                "not a string or an array of strings".into(),
            ));
        }
    };
    if !ours {
        return Err(TokenError::Audience);
    }
    let now = now as f64;
    let leeway = leeway as f64;
    let exp = numeric_date(claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    if now >= exp + leeway {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now < nbf - leeway
    {
        return Err(TokenError::NotYetValid);
    }
    let iat = numeric_date(claims, "iat")?.ok_or(TokenError::MissingClaim("iat"))?;
    if iat > now + leeway {
        return Err(TokenError::IssuedInFuture);
    }
    Ok(())
}

/// The signature, then the registered claims; the private claims are read with [`claim`].
fn verify_claims(
    token: &str,
    key: &Secret,
    audience: &str,
    leeway: u64,
    now: u64,
) -> Result<Claims, TokenError> {
    let claims = signed_claims(token, key)?;
    check_registered(&claims, audience, leeway, now)?;
    Ok(claims)
}

/// A private claim as `T`; a JSON `null` counts as absent.
fn claim<T: serde::de::DeserializeOwned>(
    claims: &Claims,
    name: &'static str,
) -> Result<Option<T>, TokenError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => T::deserialize(v).map(Some).map_err(|e| {
            // An unknown profile is echoed by serde: bounded, the header is the caller's own.
            let mut why = e.to_string();
            if why.len() > 160 {
                let cut = (0..=160).rev().find(|i| why.is_char_boundary(*i)).unwrap_or(0);
                why.truncate(cut);
                why.push('…');
            }
            TokenError::BadClaim(name, why)
        }),
    }
}

fn required_claim<T: serde::de::DeserializeOwned>(
    claims: &Claims,
    name: &'static str,
) -> Result<T, TokenError> {
    claim(claims, name)?.ok_or(TokenError::MissingClaim(name))
}

/// Signs and verifies client bearer tokens (what `occasionali token` prints).
#[derive(Clone)]
pub struct ClientTokens {
    key: Secret,
    leeway: u64,
}

impl ClientTokens {
    pub fn new(key: Secret) -> ClientTokens {
        ClientTokens {
            key,
            leeway: DEFAULT_CLOCK_LEEWAY_SECONDS,
        }
    }

    /// The clock skew tolerated on `exp`, `nbf` and `iat`.
    pub fn with_leeway(mut self, seconds: u64) -> ClientTokens {
        self.leeway = seconds;
        self
    }

    pub fn mint(&self, principal: &Principal, ttl_seconds: u64) -> Result<String, TokenError> {
        let iat = now_seconds();
        let claims = ClientClaims {
            sub: principal.cf.clone(),
            profile: principal.profile,
            sede: principal.sede.clone(),
            iss: ISSUER.into(),
            aud: CLIENT_AUDIENCE.into(),
            iat,
            exp: iat + ttl_seconds,
        };
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.key.expose()),
        )
        .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.verify_at(token, now_seconds())
    }

    fn verify_at(&self, token: &str, now: u64) -> Result<Principal, TokenError> {
        let c = verify_claims(token, &self.key, CLIENT_AUDIENCE, self.leeway, now)?;
        validate_principal(
            required_claim(&c, "sub")?,
            required_claim(&c, "profile")?,
            claim(&c, "sede")?,
        )
    }
}

/// The longest payments feed id (`flusso_pagamenti` subject).
const FEED_ID_MAX: usize = 40;

/// The principal a client token may carry, or why not: what the gateway accepts and what
/// `occasionali token` will mint. Subjects are upper-cased.
pub fn client_principal(cf: &str, profile: Profile, sede: Option<&str>) -> Result<Principal, TokenError> {
    validate_principal(
        cf.to_string(),
        profile,
        sede.map(|s| s.trim().to_ascii_uppercase()),
    )
}

fn validate_principal(cf: String, profile: Profile, sede: Option<String>) -> Result<Principal, TokenError> {
    let cf = cf.trim().to_ascii_uppercase();
    if cf.is_empty() {
        return Err(TokenError::Invalid("subject is empty".into()));
    }
    let sede = sede.filter(|s| !s.is_empty());
    // A payments feed is a service identity named by a short id, not a person with a CF.
    if profile == Profile::FlussoPagamenti {
        let valid = cf.len() <= FEED_ID_MAX
            && cf.starts_with(|c: char| c.is_ascii_alphanumeric())
            && cf
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(TokenError::Invalid(format!(
                "a flusso_pagamenti subject is the feed's id: letters, digits, '-' or '_', at most {FEED_ID_MAX} characters"
            )));
        }
        if sede.is_some() {
            return Err(TokenError::Invalid(
                "a flusso_pagamenti token names no sede".into(),
            ));
        }
    }
    // `sistema` is the platform's own identity between contexts: no client may hold it.
    if profile == Profile::Sistema {
        return Err(TokenError::Invalid(
            "the sistema profile is not for clients".into(),
        ));
    }
    if profile == Profile::OperatoreSede && sede.is_none() {
        return Err(TokenError::Invalid(
            "an operatore_sede token must name its sede".into(),
        ));
    }
    Ok(Principal { cf, profile, sede })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> Secret {
        Secret::new(vec![b; 48])
    }

    #[test]
    fn ana_8_acts_for_the_subject_only() {
        let person = |profile| {
            Identity::new(Principal {
                cf: "BNCNNA75M70F205S".into(),
                profile,
                sede: None,
            })
        };
        let mut anna = person(Profile::Utilizzatore);
        assert!(anna.acts_for("BNCNNA75M70F205S"));
        assert!(!anna.acts_for("00743110157"));
        assert!(!anna.is_legale_rappresentante());
        anna.on_behalf_of = Some(OnBehalf {
            cf: "00743110157".into(),
            ruolo: RUOLO_LEGALE_RAPPRESENTANTE.into(),
            delega_id: String::new(),
        });
        assert!(anna.acts_for("00743110157"));
        assert!(!anna.acts_for("BNCNNA75M70F205S"));
        assert!(anna.is_legale_rappresentante());
        // Operators and the platform are authorized by their scope, not as subjects.
        assert!(!person(Profile::OperatoreDg).acts_for("BNCNNA75M70F205S"));
        assert!(!person(Profile::Sistema).acts_for("BNCNNA75M70F205S"));
    }

    #[test]
    fn client_token_round_trip() {
        let t = ClientTokens::new(key(1));
        let p = Principal {
            cf: "RSSMRA85T10A562S".into(),
            profile: Profile::OperatoreSede,
            sede: Some("RM".into()),
        };
        let tok = t.mint(&p, 60).unwrap_or_default();
        assert_eq!(t.verify(&tok), Ok(p));
        assert!(ClientTokens::new(key(2)).verify(&tok).is_err());
    }

    /// Claims signed with `key` as they come, for the edges no minted token has.
    fn signed(key: &Secret, claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(key.expose()),
        )
        .unwrap_or_default()
    }

    const NOW: u64 = 1_800_000_000;
    const LEEWAY: u64 = 30;

    fn client_claims() -> serde_json::Value {
        serde_json::json!({
            "sub": "RSSMRA85T10A562S", "profile": "prestatore",
            "iss": "occasionali", "aud": "occasionali-api",
            "iat": NOW - 10, "exp": NOW + 600,
        })
    }

    /// Verifies `client_claims()` changed by `edit`, at [`NOW`], with a [`LEEWAY`] s leeway.
    fn verdict(
        edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
    ) -> Result<Principal, TokenError> {
        let mut claims = client_claims();
        if let Some(m) = claims.as_object_mut() {
            edit(m);
        }
        let t = ClientTokens::new(key(1)).with_leeway(LEEWAY);
        t.verify_at(&signed(&key(1), claims), NOW)
    }

    fn set(
        name: &'static str,
        v: serde_json::Value,
    ) -> impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) {
        move |m| {
            m.insert(name.into(), v);
        }
    }

    fn unset(name: &'static str) -> impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) {
        move |m| {
            m.remove(name);
        }
    }

    #[test]
    fn gw_1_nbf_in_the_future_is_refused_beyond_the_leeway() {
        assert!(verdict(set("nbf", (NOW - 100).into())).is_ok());
        assert!(
            verdict(set("nbf", (NOW + LEEWAY).into())).is_ok(),
            "at the leeway's edge"
        );
        assert_eq!(
            verdict(set("nbf", (NOW + LEEWAY + 1).into())),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            verdict(set("nbf", serde_json::json!("tomorrow"))).map_err(|e| e.reason()),
            Err("GW_1_TOKEN_CLAIM_MALFORMED")
        );
    }

    #[test]
    fn gw_1_iat_in_the_future_is_refused_beyond_the_leeway() {
        assert!(verdict(set("iat", NOW.into())).is_ok());
        assert!(
            verdict(set("iat", (NOW + LEEWAY).into())).is_ok(),
            "at the leeway's edge"
        );
        assert_eq!(
            verdict(set("iat", (NOW + LEEWAY + 1).into())),
            Err(TokenError::IssuedInFuture)
        );
        assert_eq!(verdict(unset("iat")), Err(TokenError::MissingClaim("iat")));
        // The leeway is configurable: none at all.
        let t = ClientTokens::new(key(1)).with_leeway(0);
        let mut c = client_claims();
        c["iat"] = (NOW + 1).into();
        assert_eq!(
            t.verify_at(&signed(&key(1), c), NOW),
            Err(TokenError::IssuedInFuture)
        );
    }

    #[test]
    fn gw_1_exp_allows_the_same_leeway_and_no_more() {
        assert!(verdict(set("exp", (NOW + 1).into())).is_ok());
        assert!(verdict(set("exp", NOW.into())).is_ok(), "within the leeway");
        assert!(
            verdict(set("exp", (NOW - LEEWAY + 1).into())).is_ok(),
            "the last second"
        );
        assert_eq!(
            verdict(set("exp", (NOW - LEEWAY).into())),
            Err(TokenError::Expired)
        );
        assert_eq!(verdict(unset("exp")), Err(TokenError::MissingClaim("exp")));
        assert_eq!(
            verdict(unset("exp")).map_err(|e| e.reason()),
            Err("GW_1_TOKEN_CLAIM_MISSING")
        );
        // RFC 7519 §2: a NumericDate may be non-integer.
        assert!(verdict(set("exp", serde_json::json!(NOW as f64 + 0.5))).is_ok());
        assert!(matches!(
            verdict(set("exp", serde_json::json!("1800000600"))),
            Err(TokenError::BadClaim("exp", _))
        ));
    }

    #[test]
    fn gw_1_aud_is_a_string_or_an_array_naming_us() {
        assert!(verdict(set("aud", serde_json::json!(["occasionali-api"]))).is_ok());
        assert!(verdict(set("aud", serde_json::json!(["portale", "occasionali-api"]))).is_ok());
        assert_eq!(
            verdict(set("aud", serde_json::json!(["portale", "app"]))),
            Err(TokenError::Audience)
        );
        assert_eq!(
            verdict(set("aud", serde_json::json!([]))),
            Err(TokenError::Audience)
        );
        assert_eq!(verdict(set("aud", "portale".into())), Err(TokenError::Audience));
        // The internal audience is not the clients' one.
        assert_eq!(
            verdict(set("aud", "occasionali-internal".into())),
            Err(TokenError::Audience)
        );
        assert!(matches!(
            verdict(set("aud", serde_json::json!(["occasionali-api", 7]))),
            Err(TokenError::BadClaim("aud", _))
        ));
        assert!(matches!(
            verdict(set("aud", 7.into())),
            Err(TokenError::BadClaim("aud", _))
        ));
        assert_eq!(verdict(unset("aud")), Err(TokenError::MissingClaim("aud")));
    }

    #[test]
    fn gw_1_missing_or_garbled_claims_are_refused_precisely() {
        assert_eq!(verdict(unset("iss")), Err(TokenError::MissingClaim("iss")));
        assert_eq!(verdict(set("iss", "altri".into())), Err(TokenError::Issuer));
        assert!(matches!(
            verdict(set("iss", 1.into())),
            Err(TokenError::BadClaim("iss", _))
        ));
        assert_eq!(verdict(unset("sub")), Err(TokenError::MissingClaim("sub")));
        assert_eq!(
            verdict(set("sub", serde_json::Value::Null)),
            Err(TokenError::MissingClaim("sub"))
        );
        assert!(matches!(
            verdict(set("sub", 5.into())),
            Err(TokenError::BadClaim("sub", _))
        ));
        assert_eq!(
            verdict(unset("profile")),
            Err(TokenError::MissingClaim("profile"))
        );
        let long = "x".repeat(10_000);
        match verdict(set("profile", long.into())) {
            Err(e @ TokenError::BadClaim("profile", _)) => {
                assert!(e.to_string().len() < 400, "the message is bounded: {e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            verdict(set("profile", "sistema".into())).map_err(|e| e.reason()),
            Err("GW_1_TOKEN_PRINCIPAL_INVALID")
        );
        // Not a JWT, another key, another algorithm, no algorithm at all.
        let t = ClientTokens::new(key(1));
        for garbage in ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30"] {
            assert!(
                matches!(t.verify_at(garbage, NOW), Err(TokenError::Malformed(_))),
                "{garbage:?}"
            );
        }
        assert_eq!(
            t.verify_at(&signed(&key(2), client_claims()), NOW),
            Err(TokenError::Signature)
        );
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &client_claims(),
            &EncodingKey::from_secret(key(1).expose()),
        )
        .unwrap_or_default();
        assert!(matches!(t.verify_at(&hs512, NOW), Err(TokenError::Malformed(_))));
        // alg "none" ({"alg":"none","typ":"JWT"}) with our claims and no signature.
        let good = signed(&key(1), client_claims());
        let payload = good.split('.').nth(1).unwrap_or_default();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(matches!(
            t.verify_at(&unsigned, NOW),
            Err(TokenError::Malformed(_))
        ));
        // Claims that are not an object.
        assert!(matches!(
            t.verify_at(&signed(&key(1), serde_json::json!([1, 2])), NOW),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn gw_1_no_client_token_carries_the_sistema_profile() {
        let t = ClientTokens::new(key(1));
        let p = Principal {
            cf: "X".into(),
            profile: Profile::Sistema,
            sede: None,
        };
        let tok = t.mint(&p, 60).unwrap_or_default();
        assert!(t.verify(&tok).is_err());
    }

    #[test]
    fn operatore_sede_needs_a_sede() {
        let t = ClientTokens::new(key(1));
        let p = Principal {
            cf: "X".into(),
            profile: Profile::OperatoreSede,
            sede: None,
        };
        let tok = t.mint(&p, 60).unwrap_or_default();
        assert!(t.verify(&tok).is_err());
    }

    #[test]
    fn por_2_a_payments_feed_is_named_by_its_id_not_a_cf() {
        let t = ClientTokens::new(key(1));
        let feed = |cf: &str, sede: Option<&str>| {
            let p = Principal {
                cf: cf.into(),
                profile: Profile::FlussoPagamenti,
                sede: sede.map(str::to_string),
            };
            t.verify(&t.mint(&p, 60).unwrap_or_default())
        };
        assert_eq!(
            feed("agenzia-entrate", None).map(|p| p.cf),
            Ok("AGENZIA-ENTRATE".to_string())
        );
        assert!(feed("PAGOPA_NODO", None).is_ok());
        assert!(feed("", None).is_err());
        assert!(feed("AGENZIA ENTRATE", None).is_err());
        assert!(feed("-X", None).is_err());
        assert!(feed(&"X".repeat(41), None).is_err());
        assert!(feed("AGENZIA-ENTRATE", Some("RM")).is_err());
        assert_eq!(
            "flusso_pagamenti".parse::<Profile>(),
            Ok(Profile::FlussoPagamenti)
        );
        assert!(client_principal("pagopa", Profile::FlussoPagamenti, None).is_ok());
        assert!(client_principal("X", Profile::Sistema, None).is_err());
    }

    #[test]
    fn masks_personal_data() {
        assert_eq!(mask("RSSMRA85T10A562S"), "RSS************S");
        assert!(
            !format!(
                "{:?}",
                Principal {
                    cf: "RSSMRA85T10A562S".into(),
                    profile: Profile::Prestatore,
                    sede: None
                }
            )
            .contains("MRA85")
        );
    }
}
