//! The one mapping of the LAO rules' refusals to gRPC: which code each one is, and the facts
//! (metadata, field violations) the caller gets with it.

use occasionali_runtime::AppError;

use crate::domain::Errore;
use crate::domain::errore::campi;

impl From<Errore> for AppError {
    fn from(e: Errore) -> AppError {
        let (rule, reason, message) = (e.rule(), e.reason().to_string(), e.to_string());
        match e {
            Errore::AziendaNonIndicata { campo } => AppError::invalid(campo, rule, reason, message),
            Errore::ProfiloNonAmmesso { .. }
            | Errore::SceltaNonAmmessa { .. }
            | Errore::NonLegaleRappresentante { .. }
            | Errore::OperatoreSoloLettura
            | Errore::AltroCommittente
            | Errore::TreChiaviNecessarie
            | Errore::LavoratoreNonVisibile => AppError::denied(rule, reason, message),
            Errore::CommittenteNonRegistrato { .. }
            | Errore::CatenaAnnullata { .. }
            | Errore::NienteDaVariare => AppError::precondition(rule, reason, message),
            Errore::NonInTesta { testa, .. } => AppError::precondition(rule, reason, message)
                .with_metadata("codice_comunicazione_testa", testa),
            Errore::AnnullamentoDopoLInizio { data_inizio } => AppError::precondition(rule, reason, message)
                .with_metadata("data_inizio", data_inizio.to_string()),
            Errore::CampiNonVariabili { violazioni } => AppError::FailedPrecondition {
                rule,
                reason,
                message,
                metadata: vec![("campi".into(), campi(&violazioni).join(","))],
                violations: violazioni,
            },
            Errore::RichiestaRiusata => AppError::already_exists(rule, reason, message),
            Errore::NonPiuTesta { .. } | Errore::InvioConcorrente => AppError::aborted(rule, reason, message),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use occasionali_kernel::violazioni::Violations;
    use tonic::{Code, Status};
    use tonic_types::StatusExt;

    use super::*;
    use crate::domain::catena::Azione;

    fn status(e: Errore) -> Status {
        Status::from(AppError::from(e))
    }

    fn info(s: &Status) -> (String, std::collections::HashMap<String, String>) {
        let i = s.get_error_details().error_info().cloned().unwrap();
        (i.reason, i.metadata)
    }

    #[test]
    fn lao_6_not_head_names_the_head() {
        let s = status(Errore::NonInTesta {
            azione: Azione::Variazione,
            testa: "HEAD".into(),
        });
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(
            s.message(),
            "[LAO-6] only the head of a chain can be varied or cancelled: it is now HEAD"
        );
        let (reason, metadata) = info(&s);
        assert_eq!(reason, "LAO_6_NOT_HEAD");
        assert_eq!(metadata["rule"], "LAO-6");
        assert_eq!(metadata["codice_comunicazione_testa"], "HEAD");
    }

    #[test]
    fn lao_8_fields_fixed_after_start_prevail() {
        let mut v = Violations::new();
        v.add("committente.email", "LAO-7", "LAO_7_COMMITTENTE_BOUND", "bound");
        v.add("rapporto.durata", "LAO-8", "LAO_8_FIXED_AFTER_START", "fixed");
        let s = status(Errore::CampiNonVariabili {
            violazioni: v.into_vec(),
        });
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(
            s.message(),
            "[LAO-8] these fields cannot be varied now: committente.email, rapporto.durata"
        );
        let (reason, metadata) = info(&s);
        assert_eq!(reason, "LAO_8_FIXED_AFTER_START");
        assert_eq!(metadata["campi"], "committente.email,rapporto.durata");
        let campi: Vec<String> = s
            .get_error_details()
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|f| f.field.clone())
            .collect();
        assert_eq!(campi, ["committente.email", "rapporto.durata"]);
    }

    #[test]
    fn lao_1_refusals_are_permission_denied_but_a_missing_company_is_a_bad_field() {
        let s = status(Errore::AltroCommittente);
        assert_eq!(s.code(), Code::PermissionDenied);
        assert_eq!(info(&s).0, "LAO_1_OTHER_COMMITTENTE");
        let s = status(Errore::AziendaNonIndicata {
            campo: "committente_cf".into(),
        });
        assert_eq!(s.code(), Code::InvalidArgument);
        let bad = s.get_error_details().bad_request().cloned().unwrap();
        assert_eq!(bad.field_violations[0].field, "committente_cf");
        assert_eq!(bad.field_violations[0].reason, "LAO_1_COMPANY_REQUIRED");
    }

    #[test]
    fn lao_11_lost_races_are_aborted() {
        let s = status(Errore::NonPiuTesta {
            codice: "OLD".into(),
            testa: "NEW".into(),
        });
        assert_eq!(s.code(), Code::Aborted);
        assert_eq!(
            s.message(),
            "[LAO-11] OLD was varied or cancelled concurrently: the head of the chain is now NEW"
        );
        assert_eq!(status(Errore::InvioConcorrente).code(), Code::Aborted);
        assert_eq!(status(Errore::RichiestaRiusata).code(), Code::AlreadyExists);
    }
}
