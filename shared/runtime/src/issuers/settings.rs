//! `[[auth.issuers]]`: whom the gateway trusts to say who a client is, and how their claims
//! become one of our principals.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::identity::Profile;

/// One identity provider (an OIDC provider for people, a machine-token authority for systems).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Our name for it, in logs and metrics.
    pub name: String,
    /// The `iss` its tokens carry, exactly.
    pub issuer: String,
    /// Where its key set is published: `https://…`, or `http://` on loopback only.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Or a file holding the key set (re-read at every refresh: a mounted ConfigMap rotates too).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// The `aud` values accepted: a token must name at least one.
    pub audiences: Vec<String>,
    /// Of RS256 and ES256, those this issuer signs with.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// The claim naming the subject (a codice fiscale, a feed's id).
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// A prefix the subject claim carries and we strip, e.g. SPID/CIE `fiscal_number`'s
    /// `TINIT-`. When set, a subject without it is refused.
    #[serde(default)]
    pub subject_prefix: Option<String>,
    /// Every token of this issuer is this profile (machine clients: a PDND-like voucher names
    /// a system, not a role).
    #[serde(default)]
    pub profile: Option<Profile>,
    /// Or the claim whose value (a string or an array of strings) says the profile.
    #[serde(default)]
    pub profile_claim: Option<String>,
    /// The profile claim's values and the profile each means; empty: the values are our
    /// profiles' own names (`prestatore`, `operatore_sede`, …).
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// The claim naming an operator's sede, if this issuer has operators.
    #[serde(default)]
    pub sede_claim: Option<String>,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}

fn default_subject_claim() -> String {
    "sub".into()
}

/// The algorithms any issuer may use: asymmetric only. `none` and HS* are never accepted (a
/// verifier holding an issuer's *public* key must not treat it as an HMAC secret).
pub const ALLOWED_ALGORITHMS: [&str; 2] = ["RS256", "ES256"];

pub(crate) fn algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "RS256" => Some(Algorithm::RS256),
        "ES256" => Some(Algorithm::ES256),
        _ => None,
    }
}

/// True for `http://` URLs whose host is a loopback address (dev, tests): anything else must
/// be https, or a stranger on the path could hand us keys.
fn loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl IssuerConfig {
    /// Refuses a configuration that would accept what it should not, or nothing at all.
    pub fn validate(&self) -> anyhow::Result<()> {
        let n = &self.name;
        if n.trim().is_empty() {
            bail!("auth.issuers: every issuer needs a name");
        }
        if self.issuer.trim().is_empty() {
            bail!("auth.issuers[{n}].issuer must name the tokens' iss");
        }
        match (&self.jwks_url, &self.jwks_file) {
            (Some(_), Some(_)) | (None, None) => {
                bail!("auth.issuers[{n}]: set exactly one of jwks_url and jwks_file")
            }
            (Some(u), None) if !(u.starts_with("https://") || loopback_http(u)) => {
                bail!("auth.issuers[{n}].jwks_url must be https:// (http:// only on loopback)")
            }
            _ => {}
        }
        if self.audiences.is_empty() || self.audiences.iter().any(|a| a.is_empty()) {
            bail!("auth.issuers[{n}].audiences must name at least one audience");
        }
        if self.algorithms.is_empty() {
            bail!("auth.issuers[{n}].algorithms must name RS256, ES256 or both");
        }
        for a in &self.algorithms {
            if algorithm(a).is_none() {
                bail!(
                    "auth.issuers[{n}].algorithms: {a:?} is not allowed (only {})",
                    ALLOWED_ALGORITHMS.join(", ")
                );
            }
        }
        if self.subject_claim.is_empty() {
            bail!("auth.issuers[{n}].subject_claim must name a claim");
        }
        match (&self.profile, &self.profile_claim) {
            (Some(_), Some(_)) | (None, None) => {
                bail!("auth.issuers[{n}]: set profile (one profile for every token) or profile_claim")
            }
            (None, Some(_)) => {}
            (Some(_), None) if !self.profiles.is_empty() => {
                bail!("auth.issuers[{n}].profiles maps profile_claim's values: set profile_claim")
            }
            (Some(_), None) => {}
        }
        let sistema =
            self.profile == Some(Profile::Sistema) || self.profiles.values().any(|p| *p == Profile::Sistema);
        if sistema {
            bail!("auth.issuers[{n}]: sistema is the platform's own identity, no issuer may grant it");
        }
        Ok(())
    }
}

/// Every issuer valid, names and `iss` values distinct.
pub fn validate_all(issuers: &[IssuerConfig]) -> anyhow::Result<()> {
    let mut names = std::collections::HashSet::new();
    let mut isses = std::collections::HashSet::new();
    for i in issuers {
        i.validate()?;
        if !names.insert(i.name.as_str()) {
            bail!("auth.issuers: the name {:?} is used twice", i.name);
        }
        if !isses.insert(i.issuer.as_str()) {
            bail!("auth.issuers: the issuer {:?} is configured twice", i.issuer);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> IssuerConfig {
        IssuerConfig {
            name: "inps".into(),
            issuer: "https://idp.example".into(),
            jwks_url: Some("https://idp.example/jwks".into()),
            jwks_file: None,
            audiences: vec!["occasionali-api".into()],
            algorithms: default_algorithms(),
            subject_claim: "sub".into(),
            subject_prefix: None,
            profile: None,
            profile_claim: Some("profile".into()),
            profiles: BTreeMap::new(),
            sede_claim: None,
        }
    }

    fn refused(edit: impl FnOnce(&mut IssuerConfig)) -> String {
        let mut c = base();
        edit(&mut c);
        c.validate().err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn an_issuer_configuration_that_would_accept_too_much_is_refused() {
        assert!(base().validate().is_ok());
        assert!(refused(|c| c.algorithms = vec!["HS256".into()]).contains("\"HS256\" is not allowed"));
        assert!(refused(|c| c.algorithms = vec!["none".into()]).contains("not allowed"));
        assert!(refused(|c| c.algorithms.clear()).contains("algorithms"));
        assert!(refused(|c| c.jwks_url = Some("http://idp.example/jwks".into())).contains("https"));
        assert!(refused(|c| c.jwks_file = Some("/x".into())).contains("exactly one"));
        assert!(refused(|c| c.jwks_url = None).contains("exactly one"));
        assert!(refused(|c| c.audiences.clear()).contains("audiences"));
        assert!(refused(|c| c.profile = Some(Profile::Prestatore)).contains("profile_claim"));
        assert!(
            refused(|c| {
                c.profile_claim = None;
                c.profile = Some(Profile::Sistema);
            })
            .contains("sistema")
        );
        assert!(
            refused(|c| {
                c.profiles.insert("admin".into(), Profile::Sistema);
            })
            .contains("sistema")
        );
        for ok in [
            "http://127.0.0.1:8080/jwks",
            "http://localhost/jwks",
            "http://[::1]:9/jwks",
        ] {
            assert!(loopback_http(ok), "{ok}");
        }
        for no in [
            "http://127.0.0.1.evil.example/jwks",
            "http://10.0.0.1/jwks",
            "https://127.0.0.1/",
        ] {
            assert!(!loopback_http(no), "{no}");
        }
        let twice = [base(), base()];
        assert!(validate_all(&twice).is_err());
    }
}
