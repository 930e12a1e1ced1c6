//! Who is calling: the client's bearer token, and the subject it acts for under a delega (DEL-2).

use http::HeaderMap;
use occasionali_proto::deleghe as dpb;
use occasionali_runtime::AppError;
use occasionali_runtime::error::ERROR_DOMAIN;
use occasionali_runtime::identity::{
    ClientTokens, Identity, InternalTokens, ON_BEHALF_OF_HEADER, OnBehalf, Principal, RUOLO_HEADER,
    RUOLO_LEGALE_RAPPRESENTANTE,
};
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::delega::{DelegaCheck, parse_ruolo, refusal};
use crate::rappresentanza::RappresentanzaCheck;

/// The caller of a request, from `authorization: Bearer <jwt>`. A refusal is UNAUTHENTICATED
/// with an ErrorInfo reason saying why (expired, not yet valid, forged...), so a client knows
/// whether a fresh token will help.
pub fn authenticate(tokens: &ClientTokens, headers: &HeaderMap) -> Result<Principal, Status> {
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
    tokens
        .verify(token)
        .map_err(|e| unauthenticated(e.reason(), e.to_string()))
}

fn unauthenticated(reason: &str, message: String) -> Status {
    let metadata = std::collections::HashMap::from([("rule".to_string(), "GW-1".to_string())]);
    Status::with_error_details(
        tonic::Code::Unauthenticated,
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
    pub client_tokens: ClientTokens,
    pub deleghe: DelegaCheck,
    /// Legal representatives acting for their organisation (issue 13).
    pub rappresentanze: RappresentanzaCheck,
}

impl Authenticator {
    /// The verified identity the backends will see for a call to `rpc_path`.
    pub async fn identity(&self, headers: &HeaderMap, rpc_path: &str) -> Result<Identity, Status> {
        let principal = authenticate(&self.client_tokens, headers)?;
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
    use occasionali_runtime::config::Secret;
    use occasionali_runtime::identity::Profile;

    use super::*;

    fn reason(headers: &HeaderMap) -> Option<String> {
        let tokens = ClientTokens::new(Secret::new(vec![3u8; 48]));
        let status = authenticate(&tokens, headers).err()?;
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        status.get_details_error_info().map(|i| i.reason)
    }

    fn bearer(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(http::header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn gw_1_each_refusal_says_why() {
        assert_eq!(reason(&HeaderMap::new()).as_deref(), Some("GW_1_TOKEN_MISSING"));
        assert_eq!(
            reason(&bearer("Basic dXNlcjpwdw==")).as_deref(),
            Some("GW_1_NOT_BEARER")
        );
        assert_eq!(
            reason(&bearer("Bearer x.y.z")).as_deref(),
            Some("GW_1_TOKEN_MALFORMED")
        );
        let other = ClientTokens::new(Secret::new(vec![4u8; 48]));
        let p = Principal {
            cf: "RSSMRA85T10A562S".into(),
            profile: Profile::Prestatore,
            sede: None,
        };
        let forged = other.mint(&p, 60).unwrap_or_default();
        assert_eq!(
            reason(&bearer(&format!("Bearer {forged}"))).as_deref(),
            Some("GW_1_TOKEN_SIGNATURE")
        );
        let ours = ClientTokens::new(Secret::new(vec![3u8; 48]))
            .mint(&p, 60)
            .unwrap_or_default();
        assert_eq!(reason(&bearer(&format!("Bearer {ours}"))), None, "accepted");
    }
}
