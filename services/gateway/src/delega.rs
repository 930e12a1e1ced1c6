//! DEL-2 at the gateway: a caller acting on behalf of a subject must hold a delega valid now.
//!
//! Every on-behalf call asks deleghe's CheckDelega and waits for the answer; nothing is cached.
//! CheckDelega decides and records the use (DEL-4) in the same request, so the audit holds exactly
//! the outcome this call returns, and a creation or revocation holds for the very next call.
//! (A decision cache served stale outcomes while the background check recorded fresh ones: the
//! audit said USED to a refused caller and DENIED to a served one; see docs/decisions.md.)

use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::transport::Channel;

#[derive(Clone)]
pub struct DelegaCheck {
    client: DelegheServiceClient<Channel>,
    caller: Caller,
}

impl DelegaCheck {
    pub fn new(channel: Channel, caller: Caller) -> DelegaCheck {
        DelegaCheck {
            client: DelegheServiceClient::new(channel),
            caller,
        }
    }

    /// The outcome for `origin` acting for `delegante` in `ruolo`, and the delega deciding it.
    /// The use is recorded by deleghe with this same outcome before it answers (DEL-4); if
    /// deleghe cannot be asked the call is refused (fail closed).
    pub async fn check(
        &self,
        origin: &Identity,
        delegante: &str,
        ruolo: pb::Ruolo,
        rpc_path: &str,
    ) -> Result<(pb::CheckDelegaOutcome, String), AppError> {
        let request = self.caller.request(
            pb::CheckDelegaRequest {
                delegato_cf: origin.caller.cf.clone(),
                delegante_cf: delegante.to_string(),
                ruolo: ruolo as i32,
                at: None,
                rpc_path: rpc_path.to_string(),
            },
            Some(origin),
        )?;
        let answer = self
            .client
            .clone()
            .check_delega(request)
            .await
            .map_err(|s| from_upstream("deleghe", s))?
            .into_inner();
        // An outcome this gateway does not know is a refusal, never a pass.
        let outcome =
            pb::CheckDelegaOutcome::try_from(answer.outcome).unwrap_or(pb::CheckDelegaOutcome::Unspecified);
        Ok((outcome, answer.delega_id))
    }
}

/// `consulente_lavoro`, `CONSULENTE_LAVORO` or `RUOLO_CONSULENTE_LAVORO`.
pub fn parse_ruolo(value: &str) -> Option<pb::Ruolo> {
    let upper = value.trim().to_ascii_uppercase();
    let name = if upper.starts_with("RUOLO_") {
        upper
    } else {
        format!("RUOLO_{upper}")
    };
    pb::Ruolo::from_str_name(&name).filter(|r| *r != pb::Ruolo::Unspecified)
}

/// The refusal for an outcome other than VALID (DEL-2: saying which).
pub fn refusal(outcome: pb::CheckDelegaOutcome) -> AppError {
    use pb::CheckDelegaOutcome as O;
    let (reason, message) = match outcome {
        O::Missing | O::Unspecified => (
            "DEL_2_DELEGA_MISSING",
            "no delega from this subject to the caller",
        ),
        O::Expired => ("DEL_2_DELEGA_EXPIRED", "the delega has expired"),
        O::Revoked => ("DEL_2_DELEGA_REVOKED", "the delega was revoked"),
        O::WrongRuolo => ("DEL_2_DELEGA_WRONG_RUOLO", "the delega is for another ruolo"),
        O::NotYetValid => ("DEL_2_DELEGA_NOT_YET_VALID", "the delega is not valid yet"),
        O::Valid => ("DEL_2_DELEGA_VALID", "the delega is valid"),
    };
    AppError::denied("DEL-2", reason, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruolo_spellings() {
        assert_eq!(
            parse_ruolo("consulente_lavoro"),
            Some(pb::Ruolo::ConsulenteLavoro)
        );
        assert_eq!(parse_ruolo("RUOLO_PATRONATO"), Some(pb::Ruolo::Patronato));
        assert_eq!(
            parse_ruolo("intermediario_prestatore"),
            Some(pb::Ruolo::IntermediarioPrestatore)
        );
        assert_eq!(parse_ruolo("unspecified"), None);
        assert_eq!(parse_ruolo("boss"), None);
    }

    #[test]
    fn del_2_refusals_say_which() {
        for (o, r) in [
            (pb::CheckDelegaOutcome::Missing, "DEL_2_DELEGA_MISSING"),
            (pb::CheckDelegaOutcome::Expired, "DEL_2_DELEGA_EXPIRED"),
            (pb::CheckDelegaOutcome::Revoked, "DEL_2_DELEGA_REVOKED"),
            (pb::CheckDelegaOutcome::WrongRuolo, "DEL_2_DELEGA_WRONG_RUOLO"),
        ] {
            match refusal(o) {
                AppError::PermissionDenied { reason, rule, .. } => {
                    assert_eq!(reason, r);
                    assert_eq!(rule, "DEL-2");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
