//! Who is calling. The gateway authenticates the client's bearer token and forwards a short
//! lived internal token (signed with a key clients never see) that every service verifies; a
//! service calling another presents its own `sistema` identity and carries the original caller
//! along (ARCHITECTURE.md, Identity). Token lifetimes use the real system time, not the
//! platform clock, because they are about security, not about business dates.

use std::time::{SystemTime, UNIX_EPOCH};

use tonic::{Request, Status};

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
    /// An internal token whose `iss` names no process of the platform.
    #[error("internal token is signed by an unknown signer {0:?}")]
    UnknownSigner(String),
    /// An internal token whose header `kid` (if any) is none of its signer's trusted keys: a
    /// key rotated away, or one never provisioned.
    #[error("internal token is signed by {0} with a key not trusted here (kid {1:?})")]
    UntrustedKey(&'static str, Option<String>),
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
            TokenError::Algorithm(_) => "GW_1_TOKEN_ALGORITHM",
            TokenError::UnknownKey(_) => "GW_1_TOKEN_KEY_UNKNOWN",
            TokenError::KeysUnavailable(_) => "GW_1_ISSUER_KEYS_UNAVAILABLE",
            TokenError::MissingMappedClaim(_) => "GW_1_TOKEN_CLAIM_MISSING",
            TokenError::BadMappedClaim(..) => "GW_1_TOKEN_CLAIM_MALFORMED",
            TokenError::ProfileUnmapped(_) => "GW_1_TOKEN_PROFILE_UNMAPPED",
            TokenError::UnknownSigner(_) => "GW_1_TOKEN_SIGNER_UNKNOWN",
            TokenError::UntrustedKey(..) => "GW_1_TOKEN_KEY_UNTRUSTED",
            TokenError::NotSignersIdentity(_) => "GW_1_TOKEN_SIGNER_NOT_ENTITLED",
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

/// A token's claims, read as JSON: RFC 7519 lets `aud` be a string or an array and NumericDates
/// be non-integer.
pub(crate) type Claims = serde_json::Map<String, serde_json::Value>;

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

#[cfg(test)]
mod tests {
    use super::*;

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
