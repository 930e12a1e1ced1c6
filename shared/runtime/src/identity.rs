//! Who is calling. The gateway authenticates the client's bearer token and forwards a short
//! lived internal token (signed with a key clients never see) that every service verifies; a
//! service calling another presents its own `sistema` identity and carries the original caller
//! along (ARCHITECTURE.md, Identity). Token lifetimes use the real system time, not the
//! platform clock, because they are about security, not about business dates.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::Serialize;
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use crate::config::Secret;
pub use occasionali_kernel::identita::{
    Identity, OnBehalf, Principal, Profile, RUOLO_LEGALE_RAPPRESENTANTE, mask,
};

/// Metadata carrying the internal identity token from the gateway to the services.
pub const IDENTITY_HEADER: &str = "x-occasionali-identity";
/// Metadata a client sets to act on behalf of a subject (DEL-2): the delegante's CF.
pub const ON_BEHALF_OF_HEADER: &str = "x-occasionali-on-behalf-of";
/// Metadata naming the ruolo of the delega the client acts under (DEL-2), or
/// [`RUOLO_LEGALE_RAPPRESENTANTE`].
pub const RUOLO_HEADER: &str = "x-occasionali-ruolo";

const ISSUER: &str = "occasionali";
const INTERNAL_AUDIENCE: &str = "occasionali-internal";
/// Internal tokens only need to live for one hop.
const INTERNAL_TTL_SECONDS: u64 = 120;

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
    /// Not a JWT, not base64url, not JSON (or, for internal tokens, not HS256).
    #[error("token is malformed: {0}")]
    Malformed(String),
    #[error("token signature does not verify")]
    Signature,
    #[error("token lacks the {0:?} claim")]
    MissingClaim(&'static str),
    /// A claim of the wrong type (e.g. `exp` as a string, `aud` as a number).
    #[error("token claim {0:?} is malformed: {1}")]
    BadClaim(&'static str, String),
    /// An `iss` no configured issuer has (client tokens), or not the platform (internal ones).
    #[error("token was issued by an issuer not trusted here")]
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
    /// A client token signed with an algorithm its issuer may not use: `none`, any HS* (our
    /// verifier never holds a shared secret: algorithm confusion), or one the issuer's
    /// configuration or its key does not name (issue 14).
    #[error("token algorithm {0:?} is not allowed for this issuer")]
    Algorithm(String),
    /// The token's `kid` is not in its issuer's key set, even after a refresh (or it names none).
    #[error("token signing key is unknown: {0}")]
    UnknownKey(String),
    /// The issuer's key set has never been fetched (its JWKS is unreachable): the token cannot
    /// be judged yet. UNAVAILABLE, not the client's fault.
    #[error("the keys of issuer {0:?} are not available yet: retry later")]
    KeysUnavailable(String),
    /// A claim the issuer's mapping reads (its name is configuration) is absent.
    #[error("token lacks the {0:?} claim")]
    MissingMappedClaim(String),
    /// A claim the issuer's mapping reads is of the wrong type or form.
    #[error("token claim {0:?} is malformed: {1}")]
    BadMappedClaim(String, String),
    /// The profile claim carries no value the issuer's mapping turns into one of our profiles.
    #[error("token profile claim maps to no profile: {0}")]
    ProfileUnmapped(String),
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
            TokenError::Algorithm(_) => "GW_1_TOKEN_ALGORITHM",
            TokenError::UnknownKey(_) => "GW_1_TOKEN_KEY_UNKNOWN",
            TokenError::KeysUnavailable(_) => "GW_1_ISSUER_KEYS_UNAVAILABLE",
            TokenError::MissingMappedClaim(_) => "GW_1_TOKEN_CLAIM_MISSING",
            TokenError::BadMappedClaim(..) => "GW_1_TOKEN_CLAIM_MALFORMED",
            TokenError::ProfileUnmapped(_) => "GW_1_TOKEN_PROFILE_UNMAPPED",
        }
    }

    /// The gRPC code of the refusal: UNAVAILABLE while the issuer's keys are missing (retry,
    /// nothing is wrong with the token as far as we know), UNAUTHENTICATED otherwise.
    pub fn code(&self) -> tonic::Code {
        match self {
            TokenError::KeysUnavailable(_) => tonic::Code::Unavailable,
            _ => tonic::Code::Unauthenticated,
        }
    }
}

/// How far the clock of a token's issuer may run ahead of or behind ours (RFC 7519 §4.1.4,
/// §4.1.5: "some small leeway"), unless configured (`auth.clock_leeway_seconds`).
pub const DEFAULT_CLOCK_LEEWAY_SECONDS: u64 = 30;

pub(crate) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// What we sign. Verification reads the claims as JSON instead ([`verify_claims`]), because
/// RFC 7519 lets `aud` be a string or an array and NumericDates be non-integer.
#[derive(Debug, Serialize)]
struct InternalClaims {
    id: Identity,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

pub(crate) type Claims = serde_json::Map<String, serde_json::Value>;

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
    check_audience(claims, &[audience])?;
    check_lifetime(claims, leeway, now)
}

/// `aud`, a string or an array of strings, names one of `accepted` (RFC 7519 §4.1.3).
pub(crate) fn check_audience(claims: &Claims, accepted: &[&str]) -> Result<(), TokenError> {
    let ours = match claims.get("aud") {
        None => return Err(TokenError::MissingClaim("aud")),
        Some(serde_json::Value::String(aud)) => accepted.contains(&aud.as_str()),
        Some(serde_json::Value::Array(auds)) => {
            if !auds.iter().all(serde_json::Value::is_string) {
                return Err(TokenError::BadClaim(
                    "aud",
                    "not a string or an array of strings".into(),
                ));
            }
            auds.iter()
                .any(|a| a.as_str().is_some_and(|a| accepted.contains(&a)))
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
    Ok(())
}

/// `exp` not passed, `nbf` and `iat` not in the future, each within `leeway` seconds.
pub(crate) fn check_lifetime(claims: &Claims, leeway: u64, now: u64) -> Result<(), TokenError> {
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
pub(crate) fn claim<T: serde::de::DeserializeOwned>(
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

pub(crate) fn required_claim<T: serde::de::DeserializeOwned>(
    claims: &Claims,
    name: &'static str,
) -> Result<T, TokenError> {
    claim(claims, name)?.ok_or(TokenError::MissingClaim(name))
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

pub(crate) fn validate_principal(
    cf: String,
    profile: Profile,
    sede: Option<String>,
) -> Result<Principal, TokenError> {
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

/// Signs and verifies internal identity tokens (gateway → service, service → service).
#[derive(Clone)]
pub struct InternalTokens {
    key: Secret,
    leeway: u64,
}

impl InternalTokens {
    pub fn new(key: Secret) -> InternalTokens {
        InternalTokens {
            key,
            leeway: DEFAULT_CLOCK_LEEWAY_SECONDS,
        }
    }

    /// The clock skew tolerated between the processes of the platform.
    pub fn with_leeway(mut self, seconds: u64) -> InternalTokens {
        self.leeway = seconds;
        self
    }

    pub fn mint(&self, identity: &Identity) -> Result<String, TokenError> {
        let iat = now_seconds();
        let claims = InternalClaims {
            id: identity.clone(),
            iss: ISSUER.into(),
            aud: INTERNAL_AUDIENCE.into(),
            iat,
            exp: iat + INTERNAL_TTL_SECONDS,
        };
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.key.expose()),
        )
        .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let c = verify_claims(token, &self.key, INTERNAL_AUDIENCE, self.leeway, now_seconds())?;
        required_claim(&c, "id")
    }

    /// The metadata value for a call made by `service` (profile `sistema`) because of `origin`.
    pub fn system_call(
        &self,
        service: &str,
        origin: Option<&Identity>,
    ) -> Result<MetadataValue<tonic::metadata::Ascii>, Status> {
        let identity = Identity {
            caller: Principal {
                cf: format!("SISTEMA-{}", service.to_ascii_uppercase()),
                profile: Profile::Sistema,
                sede: None,
            },
            on_behalf_of: None,
            origin: origin.map(|o| Box::new(o.clone())),
        };
        let token = self
            .mint(&identity)
            .map_err(|e| Status::internal(e.to_string()))?;
        MetadataValue::try_from(token).map_err(|e| Status::internal(e.to_string()))
    }
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
            .get(IDENTITY_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Status::unauthenticated("no verified identity: call through the gateway with a bearer token")
            })?;
        let identity = self
            .tokens
            .verify(token)
            .map_err(|e| Status::unauthenticated(format!("identity rejected: {e}")))?;
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

    /// Claims signed with `key` as they come, for the edges no minted token has.
    fn signed(key: &Secret, claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(key.expose()),
        )
        .unwrap_or_default()
    }

    #[test]
    fn gw_1_internal_tokens_follow_the_same_rules() {
        let t = InternalTokens::new(key(5));
        let id = Identity::new(Principal {
            cf: "RSSMRA85T10A562S".into(),
            profile: Profile::Prestatore,
            sede: None,
        });
        let now = now_seconds();
        let claims = |iat: u64, aud: serde_json::Value| serde_json::json!({"id": id, "iss": "occasionali", "aud": aud, "iat": iat, "exp": now + 120});
        assert_eq!(
            t.verify(&signed(
                &key(5),
                claims(now, serde_json::json!(["occasionali-internal"]))
            )),
            Ok(id.clone())
        );
        assert_eq!(
            t.verify(&signed(
                &key(5),
                claims(now + 3600, "occasionali-internal".into())
            )),
            Err(TokenError::IssuedInFuture)
        );
        assert_eq!(
            t.verify(&signed(&key(5), claims(now, "occasionali-api".into()))),
            Err(TokenError::Audience)
        );
        let mut no_id = claims(now, "occasionali-internal".into());
        if let Some(m) = no_id.as_object_mut() {
            m.remove("id");
        }
        assert_eq!(
            t.verify(&signed(&key(5), no_id)),
            Err(TokenError::MissingClaim("id"))
        );
    }

    #[test]
    fn gw_6_internal_services_admit_only_sistema() {
        use tonic::service::Interceptor;
        let tokens = InternalTokens::new(key(4));
        let call = |identity: &Identity| {
            let mut r = Request::new(());
            let v = tokens.mint(identity).unwrap_or_default();
            if let Ok(v) = MetadataValue::try_from(v) {
                r.metadata_mut().insert(IDENTITY_HEADER, v);
            }
            SystemOnlyInterceptor::new(tokens.clone()).call(r)
        };
        for profile in Profile::ALL {
            let id = Identity::new(Principal {
                cf: "RSSMRA85T10A562S".into(),
                profile,
                sede: Some("RM".into()),
            });
            let r = call(&id);
            if profile == Profile::Sistema {
                assert!(r.is_ok(), "{profile}");
            } else {
                let code = r.err().map(|s| s.code());
                assert_eq!(code, Some(tonic::Code::PermissionDenied), "{profile}");
            }
        }
        // A system call made for an operator is still the platform's.
        let origin = Identity::new(Principal {
            cf: "OP".into(),
            profile: Profile::OperatoreDg,
            sede: None,
        });
        let v = tokens
            .system_call("prestazioni", Some(&origin))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut r = Request::new(());
        r.metadata_mut().insert(IDENTITY_HEADER, v);
        assert!(SystemOnlyInterceptor::new(tokens.clone()).call(r).is_ok());
        // No identity at all stays UNAUTHENTICATED.
        let r = SystemOnlyInterceptor::new(tokens.clone()).call(Request::new(()));
        assert_eq!(r.err().map(|s| s.code()), Some(tonic::Code::Unauthenticated));
    }

    #[test]
    fn internal_token_carries_origin() {
        let t = InternalTokens::new(key(3));
        let origin = Identity::new(Principal {
            cf: "RSSMRA85T10A562S".into(),
            profile: Profile::Prestatore,
            sede: None,
        });
        let v = t
            .system_call("anagrafica", Some(&origin))
            .unwrap_or_else(|e| panic!("{e}"));
        let id = t
            .verify(v.to_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(id.is_system());
        assert_eq!(id.author().caller.cf, "RSSMRA85T10A562S");
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
