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
