//! Who is calling: the client's bearer token, and the subject it acts for under a delega (DEL-2).

use http::HeaderMap;
use occasionali_proto::deleghe as dpb;
use occasionali_runtime::AppError;
use occasionali_runtime::error::ERROR_DOMAIN;
use occasionali_runtime::identity::{
    Identity, InternalTokens, ON_BEHALF_OF_HEADER, OnBehalf, Principal, RUOLO_HEADER,
    RUOLO_LEGALE_RAPPRESENTANTE, TokenError,
};
use occasionali_runtime::issuers::ClientVerifier;
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::delega::{DelegaCheck, parse_ruolo, refusal};
use crate::rappresentanza::RappresentanzaCheck;

/// The caller of a request, from `authorization: Bearer <jwt>`. A refusal is UNAUTHENTICATED
/// with an ErrorInfo reason saying why (expired, not yet valid, forged...), so a client knows
/// whether a fresh token will help; UNAVAILABLE while the token's issuer has no keys yet. A
/// key the cache does not know is fetched before the token is judged (a rotated key).
pub async fn authenticate(tokens: &ClientVerifier, headers: &HeaderMap) -> Result<Principal, Status> {
    let token = bearer(headers)?;
    tokens.verify(token).await.map_err(|e| refused(&e))
}

/// [`authenticate`] from the cached keys alone, for synchronous callers (interceptors).
pub fn authenticate_cached(tokens: &ClientVerifier, headers: &HeaderMap) -> Result<Principal, Status> {
    let token = bearer(headers)?;
    tokens.verify_cached(token).map_err(|e| refused(&e))
}

fn bearer(headers: &HeaderMap) -> Result<&str, Status> {
    let value = headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
        unauthenticated(
            "GW_1_TOKEN_MISSING",
            "missing bearer token (authorization: Bearer <token>)".into(),
        )
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| {
            unauthenticated(
                "GW_1_NOT_BEARER",
                "authorization header is not a bearer token".into(),
            )
        })?;
    Ok(token)
}

fn refused(e: &TokenError) -> Status {
    gw_1(e.code(), e.reason(), e.to_string())
}

fn unauthenticated(reason: &str, message: String) -> Status {
    gw_1(tonic::Code::Unauthenticated, reason, message)
}

fn gw_1(code: tonic::Code, reason: &str, message: String) -> Status {
    let metadata = std::collections::HashMap::from([("rule".to_string(), "GW-1".to_string())]);
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Authenticates callers and resolves on-behalf-of through deleghe.
#[derive(Clone)]
pub struct Authenticator {
    pub client_tokens: ClientVerifier,
    pub deleghe: DelegaCheck,
    /// Legal representatives acting for their organisation (issue 13).
    pub rappresentanze: RappresentanzaCheck,
}

impl Authenticator {
    /// The verified identity the backends will see for a call to `rpc_path`.
    pub async fn identity(&self, headers: &HeaderMap, rpc_path: &str) -> Result<Identity, Status> {
        let principal = authenticate(&self.client_tokens, headers).await?;
        occasionali_runtime::richiesta::soggetto(&principal.cf);
        let Some(delegante) = header(headers, ON_BEHALF_OF_HEADER) else {
            return Ok(Identity::new(principal));
        };
        let delegante = match occasionali_kernel::CodiceFiscaleSoggetto::parse(delegante) {
            Ok(cf) => cf.as_str().to_string(),
            Err(e) => {
                return Err(AppError::invalid(
                    ON_BEHALF_OF_HEADER,
                    "DEL-2",
                    format!("DEL_2_{}", e.reason()),
                    format!("is not a codice fiscale: {e}"),
                )
                .into());
            }
        };
        if delegante == principal.cf {
            return Ok(Identity::new(principal));
        }
        if header(headers, RUOLO_HEADER) == Some(RUOLO_LEGALE_RAPPRESENTANTE) {
            let origin = Identity::new(principal.clone());
            self.rappresentanze.verifica(&origin, &delegante).await?;
            return Ok(Identity {
                caller: principal,
                on_behalf_of: Some(OnBehalf {
                    cf: delegante,
                    ruolo: RUOLO_LEGALE_RAPPRESENTANTE.to_string(),
                    delega_id: String::new(),
                }),
                origin: None,
            });
        }
        let ruolo = match header(headers, RUOLO_HEADER).map(parse_ruolo) {
            Some(Some(r)) => r,
            Some(None) => {
                return Err(AppError::invalid(
                    RUOLO_HEADER,
                    "DEL-2",
                    "DEL_2_RUOLO_UNKNOWN",
                    "is not a ruolo (intermediario_prestatore, intermediario_utilizzatore, consulente_lavoro, patronato, caf, legale_rappresentante)",
                )
                .into());
            }
            None => {
                return Err(AppError::invalid(
                    RUOLO_HEADER,
                    "DEL-2",
                    "DEL_2_RUOLO_REQUIRED",
                    "is required when acting on behalf of someone",
                )
                .into());
            }
        };
        let origin = Identity::new(principal.clone());
        let (outcome, delega_id) = self.deleghe.check(&origin, &delegante, ruolo, rpc_path).await?;
        if outcome != dpb::CheckDelegaOutcome::Valid {
            return Err(refusal(outcome).into());
        }
        Ok(Identity {
            caller: principal,
            on_behalf_of: Some(OnBehalf {
                cf: delegante,
                ruolo: ruolo
                    .as_str_name()
                    .trim_start_matches("RUOLO_")
                    .to_ascii_lowercase(),
                delega_id,
            }),
            origin: None,
        })
    }
}

/// The caller's identity signed by the gateway for `destinazione` alone (issue 14).
pub fn internal_token(
    tokens: &InternalTokens,
    identity: &Identity,
    destinazione: occasionali_runtime::Context,
) -> Result<http::HeaderValue, Status> {
    let token = tokens
        .mint(identity, destinazione)
        .map_err(|e| Status::internal(e.to_string()))?;
    http::HeaderValue::from_str(&token).map_err(|e| Status::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use occasionali_runtime::identity::Profile;
    use occasionali_runtime::issuers::DevIssuer;

    use super::*;

    fn issuer() -> DevIssuer {
        DevIssuer::generate().unwrap_or_else(|e| panic!("{e}"))
    }

    async fn reason(ours: &DevIssuer, headers: &HeaderMap) -> Option<String> {
        let tokens = ClientVerifier::trusting(ours).unwrap_or_else(|e| panic!("{e}"));
        let cached = authenticate_cached(&tokens, headers).err().map(|s| s.code());
        let status = authenticate(&tokens, headers).await.err()?;
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert_eq!(
            cached,
            Some(status.code()),
            "the interceptors' path says the same"
        );
        let info = status.get_details_error_info()?;
        assert_eq!(info.metadata.get("rule").map(String::as_str), Some("GW-1"));
        Some(info.reason)
    }

    fn bearer(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(http::header::AUTHORIZATION, v);
        }
        h
    }

    #[tokio::test]
    async fn gw_1_each_refusal_says_why() {
        let ours = issuer();
        let r = |h: HeaderMap| {
            let ours = ours.clone();
            async move { reason(&ours, &h).await }
        };
        assert_eq!(r(HeaderMap::new()).await.as_deref(), Some("GW_1_TOKEN_MISSING"));
        assert_eq!(
            r(bearer("Basic dXNlcjpwdw==")).await.as_deref(),
            Some("GW_1_NOT_BEARER")
        );
        assert_eq!(
            r(bearer("Bearer x.y.z")).await.as_deref(),
            Some("GW_1_TOKEN_MALFORMED")
        );
        let p = Principal {
            cf: "RSSMRA85T10A562S".into(),
            profile: Profile::Prestatore,
            sede: None,
        };
        // Another key, which our issuer never published.
        let other = issuer().mint(&p, 60).unwrap_or_default();
        assert_eq!(
            r(bearer(&format!("Bearer {other}"))).await.as_deref(),
            Some("GW_1_TOKEN_KEY_UNKNOWN")
        );
        // Our key's signature over other claims.
        let good = ours.mint(&p, 60).unwrap_or_default();
        let dg = Principal {
            profile: Profile::OperatoreDg,
            ..p.clone()
        };
        let theirs = ours.mint(&dg, 60).unwrap_or_default();
        let pieces: Vec<&str> = good.split('.').collect();
        let swapped = format!(
            "{}.{}.{}",
            pieces[0],
            theirs.split('.').nth(1).unwrap_or_default(),
            pieces[2]
        );
        assert_eq!(
            r(bearer(&format!("Bearer {swapped}"))).await.as_deref(),
            Some("GW_1_TOKEN_SIGNATURE")
        );
        assert_eq!(r(bearer(&format!("Bearer {good}"))).await, None, "accepted");
    }
}
