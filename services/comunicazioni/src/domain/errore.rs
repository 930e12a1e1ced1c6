//! What the LAO rules refuse, in their own words: each refusal names its rule and a stable
//! reason (as `CodiceError::reason` does for a mistyped codice) and carries what the caller
//! needs to act on it. Which gRPC code each one becomes is the edge's business (`api/errori.rs`).

use chrono::NaiveDate;
use occasionali_kernel::identita::Profile;
use occasionali_kernel::violazioni::FieldViolation;

use super::catena::Azione;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Errore {
    /// LAO-1: LAO communications are not this profile's business.
    #[error(
        "LAO communications are for the azienda and soggetto_abilitato profiles and operators, not {profilo}"
    )]
    ProfiloNonAmmesso { profilo: Profile },
    /// LAO-1: only who may act for someone chooses whom to act for.
    #[error("{profilo} does not choose whom to act for")]
    SceltaNonAmmessa { profilo: Profile },
    /// LAO-1: a person with the azienda profile did not name, in `campo`, the company it acts
    /// for.
    #[error("a person with the azienda profile names the company it acts for (see ListProfiliOperativi)")]
    AziendaNonIndicata { campo: String },
    /// LAO-1, ANA-8: the registry does not hold the caller as the company's legal
    /// representative.
    #[error("the registry does not hold the caller as legal representative of {azienda}")]
    NonLegaleRappresentante { azienda: String },
    /// LAO-1: an azienda profile's section 1 comes from the registry, which does not know the
    /// company.
    #[error(
        "the company {cf} of the azienda profile is not an organisation in the registry: its committente data come from there"
    )]
    CommittenteNonRegistrato { cf: String },
    /// LAO-1: operators read, they never send.
    #[error("operators read LAO communications; only an azienda or a soggetto abilitato sends them")]
    OperatoreSoloLettura,
    /// LAO-1: an azienda acts for its own company only.
    #[error("an azienda sees and sends only communications of its own company")]
    AltroCommittente,
    /// LAO-1: a soggetto abilitato reaches what it did not compile only with the three keys.
    #[error(
        "a soggetto abilitato opens a communication it did not compile only with committente CF, worker CF and codice comunicazione together"
    )]
    TreChiaviNecessarie,
    /// LAO-1: a worker's summary is not for this caller.
    #[error(
        "a worker's summary is for the worker, operators, and who sees one of the worker's communications"
    )]
    LavoratoreNonVisibile,
    /// LAO-5 (AIP-155): a request id already used for a different request.
    #[error("this request_id was already used for a different request")]
    RichiestaRiusata,
    /// LAO-6, LAO-9: only the head of a chain is varied or cancelled; `testa` is the head now.
    #[error("only the head of a chain can be varied or cancelled: it is now {testa}")]
    NonInTesta { azione: Azione, testa: String },
    /// LAO-6, LAO-9: an A ends its chain.
    #[error("the chain was cancelled: a cancellation can be neither varied nor cancelled")]
    CatenaAnnullata { azione: Azione },
    /// LAO-9: a cancellation comes at the latest on the start date.
    #[error("a communication can be cancelled only up to its start date ({data_inizio}) inclusive")]
    AnnullamentoDopoLInizio { data_inizio: NaiveDate },
    /// LAO-6: a variation that changes nothing in sections 1-3.
    #[error("the variation changes nothing in sections 1-3")]
    NienteDaVariare,
    /// LAO-7, LAO-8: fields that may not be varied now, one violation each.
    #[error("these fields cannot be varied now: {}", campi(.violazioni).join(", "))]
    CampiNonVariabili { violazioni: Vec<FieldViolation> },
    /// LAO-11: while this V or A was being written, another one replaced `codice`.
    #[error("{codice} was varied or cancelled concurrently: the head of the chain is now {testa}")]
    NonPiuTesta { codice: String, testa: String },
    /// LAO-11: a concurrent send stored the same successor, request id or codice first.
    #[error("a concurrent send got there first: read the chain again and retry")]
    InvioConcorrente,
}

/// The request paths of the fields refused.
pub fn campi(violazioni: &[FieldViolation]) -> Vec<&str> {
    violazioni.iter().map(|f| f.field.as_str()).collect()
}

impl Errore {
    /// The rule that refuses.
    pub fn rule(&self) -> &'static str {
        match self {
            Errore::ProfiloNonAmmesso { .. }
            | Errore::SceltaNonAmmessa { .. }
            | Errore::AziendaNonIndicata { .. }
            | Errore::NonLegaleRappresentante { .. }
            | Errore::CommittenteNonRegistrato { .. }
            | Errore::OperatoreSoloLettura
            | Errore::AltroCommittente
            | Errore::TreChiaviNecessarie
            | Errore::LavoratoreNonVisibile => "LAO-1",
            Errore::RichiestaRiusata => "LAO-5",
            Errore::NonInTesta { azione, .. } | Errore::CatenaAnnullata { azione } => azione.rule(),
            Errore::AnnullamentoDopoLInizio { .. } => "LAO-9",
            Errore::NienteDaVariare => "LAO-6",
            Errore::CampiNonVariabili { violazioni } => prevalente(violazioni).0,
            Errore::NonPiuTesta { .. } | Errore::InvioConcorrente => "LAO-11",
        }
    }

    /// The stable code of the refusal (`ErrorInfo.reason`).
    pub fn reason(&self) -> &str {
        match self {
            Errore::ProfiloNonAmmesso { .. } | Errore::SceltaNonAmmessa { .. } => "LAO_1_PROFILE",
            Errore::AziendaNonIndicata { .. } => "LAO_1_COMPANY_REQUIRED",
            Errore::NonLegaleRappresentante { .. } => "LAO_1_NOT_LEGAL_REPRESENTATIVE",
            Errore::CommittenteNonRegistrato { .. } => "LAO_1_COMMITTENTE_NOT_REGISTERED",
            Errore::OperatoreSoloLettura => "LAO_1_OPERATOR_READ_ONLY",
            Errore::AltroCommittente => "LAO_1_OTHER_COMMITTENTE",
            Errore::TreChiaviNecessarie => "LAO_1_THREE_KEYS_REQUIRED",
            Errore::LavoratoreNonVisibile => "LAO_1_WORKER_NOT_VISIBLE",
            Errore::RichiestaRiusata => "LAO_5_REQUEST_ID_REUSED",
            Errore::NonInTesta { azione, .. } => match azione {
                Azione::Variazione => "LAO_6_NOT_HEAD",
                Azione::Annullamento => "LAO_9_NOT_HEAD",
            },
            Errore::CatenaAnnullata { azione } => match azione {
                Azione::Variazione => "LAO_6_CHAIN_CANCELLED",
                Azione::Annullamento => "LAO_9_CHAIN_CANCELLED",
            },
            Errore::AnnullamentoDopoLInizio { .. } => "LAO_9_AFTER_START",
            Errore::NienteDaVariare => "LAO_6_NOTHING_CHANGED",
            Errore::CampiNonVariabili { violazioni } => prevalente(violazioni).1,
            Errore::NonPiuTesta { .. } => "LAO_11_NO_LONGER_HEAD",
            Errore::InvioConcorrente => "LAO_11_CONCURRENT_SEND",
        }
    }
}

/// The rule and reason a refusal of several fields goes by: LAO-8 when a field is closed by the
/// start date (the caller cannot wait it out), else the first field's.
fn prevalente(violazioni: &[FieldViolation]) -> (&'static str, &str) {
    violazioni
        .iter()
        .find(|f| f.rule == "LAO-8")
        .or(violazioni.first())
        .map(|f| (f.rule, f.reason.as_str()))
        .unwrap_or(("LAO-7", "LAO_7_FIELDS_FIXED"))
}
