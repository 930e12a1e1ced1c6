//! The one mapping of the domain's refusals to the error model (and so to gRPC): code, rule and
//! reason here, the message the domain's.

use occasionali_runtime::AppError;

use crate::domain::Errore;

impl From<Errore> for AppError {
    fn from(e: Errore) -> AppError {
        let message = e.to_string();
        match e {
            Errore::NonParte => AppError::denied("DEL-1", "DEL_1_NOT_A_PARTY", message),
            Errore::NonDelegante => AppError::denied("DEL-1", "DEL_1_NOT_DELEGANTE", message),
            Errore::PerDelega => AppError::denied("DEL-1", "DEL_1_NOT_UNDER_DELEGA", message),
            Errore::Sconosciuta { delega_id } => AppError::NotFound(format!("delega {delega_id}")),
            Errore::RequestIdRiusata { .. } | Errore::RequestIdContesa => {
                AppError::already_exists("DEL-1", "DEL_1_REQUEST_ID_REUSED", message)
            }
            Errore::Sovrapposta { .. } => {
                AppError::already_exists("DEL-1", "DEL_1_OVERLAPPING_DELEGA", message)
            }
            Errore::RevocataNelFrattempo => {
                AppError::aborted("DEL-1", "DEL_1_CONCURRENT_REVOCATION", message)
            }
            Errore::SoloPiattaforma => AppError::denied("DEL-2", "DEL_2_PLATFORM_ONLY", message),
            Errore::SoloOperatori => AppError::denied("DEL-4", "DEL_4_OPERATORS_ONLY", message),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::{Code, Status};

    use super::*;

    fn status(e: Errore) -> Status {
        Status::from(AppError::from(e))
    }

    #[test]
    fn refusals_keep_their_code_and_message() {
        let cases = [
            (
                Errore::NonParte,
                Code::PermissionDenied,
                "[DEL-1] only the delegante, the delegato or an INPS operator can reach a delega",
            ),
            (
                Errore::PerDelega,
                Code::PermissionDenied,
                "[DEL-1] a delega cannot be used to grant deleghe: the delegante creates them itself",
            ),
            (
                Errore::Sconosciuta {
                    delega_id: "del_x".into(),
                },
                Code::NotFound,
                "delega del_x not found",
            ),
            (
                Errore::Sovrapposta {
                    delega_id: "del_1".into(),
                },
                Code::AlreadyExists,
                "[DEL-1] delega del_1 already binds this delegante, delegato and ruolo for an overlapping period: revoke it first",
            ),
            (
                Errore::RevocataNelFrattempo,
                Code::Aborted,
                "[DEL-1] the delega was revoked meanwhile; read it again",
            ),
        ];
        for (e, code, message) in cases {
            let s = status(e);
            assert_eq!((s.code(), s.message()), (code, message));
        }
    }

    #[test]
    fn refusals_keep_their_rule_and_reason() {
        let cases = [
            (Errore::NonDelegante, "DEL-1", "DEL_1_NOT_DELEGANTE"),
            (Errore::RequestIdContesa, "DEL-1", "DEL_1_REQUEST_ID_REUSED"),
            (
                Errore::RequestIdRiusata {
                    delega_id: "del_1".into(),
                },
                "DEL-1",
                "DEL_1_REQUEST_ID_REUSED",
            ),
            (Errore::SoloPiattaforma, "DEL-2", "DEL_2_PLATFORM_ONLY"),
            (Errore::SoloOperatori, "DEL-4", "DEL_4_OPERATORS_ONLY"),
        ];
        for (e, rule, reason) in cases {
            match AppError::from(e) {
                AppError::PermissionDenied {
                    rule: r, reason: why, ..
                }
                | AppError::AlreadyExists {
                    rule: r, reason: why, ..
                } => {
                    assert_eq!((r, why.as_str()), (rule, reason));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
