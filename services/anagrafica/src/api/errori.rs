//! The one mapping of the registry's refusals to gRPC (GW-3): each gets its code, rule ID and
//! reason here, and the field it is about when it is a bad field; the message is the domain's.

use occasionali_runtime::AppError;
use occasionali_runtime::identity::mask;

use crate::domain::Errore;

impl From<Errore> for AppError {
    fn from(e: Errore) -> AppError {
        let message = e.to_string();
        match e {
            Errore::GiaRegistrato => AppError::already_exists("ANA-1", "ANA_1_ALREADY_REGISTERED", message),
            Errore::IdentitaDiversa { .. } => {
                AppError::precondition("ANA-1", "ANA_1_IDENTITY_DIFFERS", message)
            }
            Errore::DomicilioMancante => {
                AppError::invalid("domicilio", "ANA-4", "ANA_4_DOMICILE_REQUIRED", message)
            }
            Errore::SedeMancante => AppError::invalid("sede", "ANA-5", "ANA_5_SEDE_REQUIRED", message),
            Errore::CampoNonApplicabile { campo, .. } => AppError::invalid(
                format!("update_mask.{}", campo.path()),
                "ANA-6",
                "ANA_6_FIELD_NOT_APPLICABLE",
                message,
            ),
            Errore::SoloOperatore { .. } | Errore::CambioSedeSoloOperatore => {
                AppError::denied("ANA-6", "ANA_6_OPERATOR_ONLY_FIELD", message)
            }
            Errore::NotaMancante => AppError::invalid("nota", "ANA-6", "ANA_6_NOTE_REQUIRED", message),
            Errore::VersioneSuperata { .. } => AppError::aborted("ANA-6", "ANA_6_VERSION_MISMATCH", message),
            Errore::CategoriaSoloDg => AppError::denied("ANA-7", "ANA_7_DG_ONLY_WITH_PRESTAZIONI", message),
            // Each prestazione in the way is also named in the metadata, with the rule it breaks.
            Errore::PrestazioniIncoerenti { incoerenti } => incoerenti.into_iter().fold(
                AppError::precondition("ANA-7", "ANA_7_INCOHERENT_PRESTAZIONI", message),
                |err, i| err.with_metadata(format!("prestazione.{}", i.prestazione_id), i.regola),
            ),
            Errore::FuoriSede => AppError::denied("ANA-8", "ANA_8_OUTSIDE_SEDE", message),
            Errore::NonTuo | Errore::RappresentateAltrui => {
                AppError::denied("ANA-8", "ANA_8_NOT_OWN_RECORD", message)
            }
            // NOT_FOUND's message is "<what> not found": the code says the rest.
            Errore::NonTrovato { cf } => AppError::NotFound(format!("soggetto {}", mask(&cf))),
            Errore::EstrazioneSoloOperatori => AppError::denied("ANA-9", "ANA_9_OPERATORS_ONLY", message),
            Errore::EstrazioneFuoriSede => AppError::denied("ANA-9", "ANA_9_OUTSIDE_SEDE", message),
            Errore::AccessiSoloDg => AppError::denied("GW-5", "GW_5_DG_ONLY", message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Incoerenza;
    use crate::domain::modifica::Campo;

    fn denied(e: Errore) -> (&'static str, String, String) {
        match AppError::from(e) {
            AppError::PermissionDenied {
                rule,
                reason,
                message,
            } => (rule, reason, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_keep_their_codes_reasons_and_messages() {
        assert_eq!(
            denied(Errore::NonTuo),
            (
                "ANA-8",
                "ANA_8_NOT_OWN_RECORD".into(),
                "a person can reach only their own record (an intermediary only its clients', under a delega)"
                    .into()
            )
        );
        assert_eq!(
            denied(Errore::SoloOperatore {
                campo: Campo::PersonaCognome
            }),
            (
                "ANA-6",
                "ANA_6_OPERATOR_ONLY_FIELD".into(),
                "persona.cognome can be corrected only by an INPS operator".into()
            )
        );
        assert_eq!(
            denied(Errore::CambioSedeSoloOperatore).2,
            "sede can be changed only by an INPS operator"
        );
        match AppError::from(Errore::NonTrovato {
            cf: "RSSMRA85T10A562S".into(),
        }) {
            AppError::NotFound(what) => assert_eq!(what, "soggetto RSS************S"),
            other => panic!("{other:?}"),
        }
        match AppError::from(Errore::VersioneSuperata {
            attuale: 3,
            attesa: 2,
        }) {
            AppError::Aborted {
                rule,
                reason,
                message,
            } => {
                assert_eq!(rule, "ANA-6");
                assert_eq!(reason, "ANA_6_VERSION_MISMATCH");
                assert_eq!(message, "the record is at version 3, not 2: read it again");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_fields_name_the_field() {
        let e = Errore::CampoNonApplicabile {
            campo: Campo::CpoDipendenti,
            perche: "the subject is not a CPO utilizzatore",
        };
        match AppError::from(e) {
            AppError::Invalid(v) => {
                assert_eq!(v.len(), 1);
                assert_eq!(
                    v[0].field,
                    "update_mask.utilizzatore_cpo.dipendenti_tempo_indeterminato"
                );
                assert_eq!(v[0].rule, "ANA-6");
                assert_eq!(v[0].reason, "ANA_6_FIELD_NOT_APPLICABLE");
                assert_eq!(
                    v[0].description,
                    "utilizzatore_cpo.dipendenti_tempo_indeterminato does not apply: the subject is not a CPO utilizzatore"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn incoherent_prestazioni_are_listed_and_named_in_the_metadata() {
        let e = Errore::PrestazioniIncoerenti {
            incoerenti: vec![
                Incoerenza {
                    prestazione_id: "pre_1".into(),
                    regola: "PRE-6".into(),
                    descrizione: "not a PA purpose".into(),
                },
                Incoerenza {
                    prestazione_id: "pre_2".into(),
                    regola: "PRE-7".into(),
                    descrizione: "x".into(),
                },
            ],
        };
        match AppError::from(e) {
            AppError::FailedPrecondition {
                rule,
                reason,
                message,
                metadata,
                violations,
            } => {
                assert_eq!(rule, "ANA-7");
                assert_eq!(reason, "ANA_7_INCOHERENT_PRESTAZIONI");
                assert_eq!(
                    message,
                    "the new categoria does not fit 2 prestazioni already inserted: pre_1 (PRE-6: not a PA purpose); pre_2 (PRE-7: x)"
                );
                assert_eq!(
                    metadata,
                    vec![
                        ("prestazione.pre_1".to_string(), "PRE-6".to_string()),
                        ("prestazione.pre_2".to_string(), "PRE-7".to_string())
                    ]
                );
                assert!(violations.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
}
