//! What the registry's rules refuse, in the words the caller reads. The gRPC edge
//! (`api::errori`) gives each refusal, once, its code, rule ID and reason.

use occasionali_kernel::identita::mask;

use super::modifica::Campo;

/// A prestazione that would not fit a new categoria or sector of its utilizzatore (ANA-7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoerenza {
    pub prestazione_id: String,
    /// The rule of prestazioni it would break (e.g. PRE-6).
    pub regola: String,
    pub descrizione: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Errore {
    /// ANA-1: the subject already holds the role.
    #[error("this codice fiscale is already registered in that role")]
    GiaRegistrato,
    /// ANA-1: a new role brings identity data other than the stored ones (the fields that
    /// differ); correcting them is an operator's job (ANA-6).
    #[error(
        "the subject is already registered with different identity data ({}): ask an operator to correct the record first",
        .campi.join(", ")
    )]
    IdentitaDiversa { campi: Vec<String> },
    /// ANA-4: a new subject without a domicile.
    #[error("is required for a new subject")]
    DomicilioMancante,
    /// ANA-5: a new subject with neither a sede nor an Italian domicile to take it from.
    #[error("is required when the domicile is abroad or not given")]
    SedeMancante,
    /// ANA-6: the field is not part of this subject (a person's field on an organisation, a
    /// role's field on a subject without that role).
    #[error("{} does not apply: {perche}", .campo.path())]
    CampoNonApplicabile { campo: Campo, perche: &'static str },
    /// ANA-6: the subject itself asked to correct a field reserved to operators.
    #[error("{} can be corrected only by an INPS operator", .campo.path())]
    SoloOperatore { campo: Campo },
    /// ANA-6: the subject itself asked, with a new role, to move its record to another sede.
    #[error("sede can be changed only by an INPS operator")]
    CambioSedeSoloOperatore,
    /// ANA-6: an operator's correction without the note saying why.
    #[error("an operator's correction needs a note saying why")]
    NotaMancante,
    /// ANA-6: the record moved on since the caller read it.
    #[error("the record is at version {attuale}, not {attesa}: read it again")]
    VersioneSuperata { attuale: i64, attesa: i64 },
    /// ANA-7: the utilizzatore has prestazioni and the caller is not the Direzione Generale.
    #[error(
        "the utilizzatore already has prestazioni: only the Direzione Generale may change its categoria or sector"
    )]
    CategoriaSoloDg,
    /// ANA-7: prestazioni already inserted would not fit the new categoria.
    #[error(
        "the new categoria does not fit {} prestazioni already inserted: {}",
        .incoerenti.len(),
        elenco(.incoerenti)
    )]
    PrestazioniIncoerenti { incoerenti: Vec<Incoerenza> },
    /// ANA-8: a sede operator and a record of another sede.
    #[error("the record belongs to another sede")]
    FuoriSede,
    /// ANA-8: someone else's record.
    #[error("a person can reach only their own record (an intermediary only its clients', under a delega)")]
    NonTuo,
    /// ANA-8: someone else's list of represented organisations (representation is personal).
    #[error("a person can list only the organisations it represents itself")]
    RappresentateAltrui,
    /// ANA-8: no such record, told only to whom may know which codici fiscali are registered.
    #[error("soggetto {} not found", mask(.cf))]
    NonTrovato { cf: String },
    /// ANA-9: lists for checks are an operator's tool.
    #[error("lists for checks are for INPS operators")]
    EstrazioneSoloOperatori,
    /// ANA-9: a sede operator asked for another sede's list.
    #[error("a sede operator extracts only its own sede")]
    EstrazioneFuoriSede,
    /// GW-5: the audit of operators' reads.
    #[error("the audit of operators' reads is for the Direzione Generale")]
    AccessiSoloDg,
}

fn elenco(incoerenti: &[Incoerenza]) -> String {
    incoerenti
        .iter()
        .map(|i| format!("{} ({}: {})", i.prestazione_id, i.regola, i.descrizione))
        .collect::<Vec<_>>()
        .join("; ")
}
