//! An issuer's claims as one of our principals, by its configuration: which claim is the
//! subject (and a prefix to strip), how the profile is found, which claim names the sede. The
//! result goes through the same rules as every principal ([`validate_principal`]).

use crate::identity::{Claims, Principal, Profile, TokenError, validate_principal};

use super::IssuerConfig;

fn text<'a>(claims: &'a Claims, name: &str) -> Result<Option<&'a str>, TokenError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TokenError::BadMappedClaim(name.into(), "not a string".into())),
    }
}

/// A value as shown in a refusal: the caller's own, but bounded.
fn shown(v: &str) -> String {
    let mut s: String = v.chars().take(40).collect();
    if s.len() < v.len() {
        s.push('…');
    }
    format!("{s:?}")
}

fn subject(config: &IssuerConfig, claims: &Claims) -> Result<String, TokenError> {
    let name = config.subject_claim.as_str();
    let value = text(claims, name)?.ok_or_else(|| TokenError::MissingMappedClaim(name.into()))?;
    match &config.subject_prefix {
        None => Ok(value.to_string()),
        Some(prefix) => value
            .strip_prefix(prefix.as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                TokenError::BadMappedClaim(name.into(), format!("does not start with {prefix:?}"))
            }),
    }
}

fn profile(config: &IssuerConfig, claims: &Claims) -> Result<Profile, TokenError> {
    if let Some(p) = config.profile {
        return Ok(p);
    }
    let Some(name) = config.profile_claim.as_deref() else {
        return Err(TokenError::ProfileUnmapped("the issuer maps no profile".into()));
    };
    let values: Vec<&str> = match claims.get(name) {
        None | Some(serde_json::Value::Null) => return Err(TokenError::MissingMappedClaim(name.into())),
        Some(serde_json::Value::String(s)) => vec![s.as_str()],
        Some(serde_json::Value::Array(a)) if a.iter().all(serde_json::Value::is_string) => {
            a.iter().filter_map(serde_json::Value::as_str).collect()
        }
        Some(_) => {
            return Err(TokenError::BadMappedClaim(
                name.into(),
                "not a string or an array of strings".into(),
            ));
        }
    };
    let mapped = |v: &str| -> Option<Profile> {
        if config.profiles.is_empty() {
            v.parse().ok()
        } else {
            config.profiles.get(v).copied()
        }
    };
    let mut found: Vec<Profile> = values.iter().filter_map(|v| mapped(v)).collect();
    found.sort_by_key(|p| p.as_str());
    found.dedup();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(TokenError::ProfileUnmapped(format!(
            "{name} = [{}]",
            values.iter().map(|v| shown(v)).collect::<Vec<_>>().join(", ")
        ))),
        // Two roles that are two different profiles: which one the caller means is not ours
        // to guess; the IdP must issue a token for one.
        many => Err(TokenError::ProfileUnmapped(format!(
            "{name} maps to more than one profile ({})",
            many.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The principal `claims` name for `config`'s issuer, or why none.
pub(super) fn principal(config: &IssuerConfig, claims: &Claims) -> Result<Principal, TokenError> {
    let cf = subject(config, claims)?;
    let profile = profile(config, claims)?;
    let sede = match &config.sede_claim {
        Some(name) => text(claims, name)?.map(|s| s.trim().to_ascii_uppercase()),
        None => None,
    };
    validate_principal(cf, profile, sede)
}
