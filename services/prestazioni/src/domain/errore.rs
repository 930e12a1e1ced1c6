//! What the rules of a prestazione refuse, with what the caller needs to know. The text of each
//! refusal is its `Display`; the gRPC code, rule and reason are given once, at the edge
//! (`api/errori.rs`).

use chrono::{DateTime, Utc};
use occasionali_kernel::calendar::rome_datetime;

use super::limiti::StatoLimite;
use super::prestazione::Rifiuto;
use super::stato::{Evento, Stato};
use super::verifiche::Violazione;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Errore {
    /// PRE-19: a sede operator (also through the platform) outside its sede.
    #[error("{0}")]
    FuoriSede(FuoriSede),
    /// PRE-19: declaring or revoking is for the utilizzatore's side.
    #[error("{0}")]
    NonLatoUtilizzatore(AzioneUtilizzatore),
    /// PRE-19: confirming, contesting and reading one's payments are for the prestatore's side.
    #[error("{0}")]
    NonLatoPrestatore(AzionePrestatore),
    /// PRE-19: a person reads only its own limits.
    #[error("only one's own limits")]
    LimitiAltrui,
    /// PRE-19: a person lists only its own prestazioni.
    #[error("only one's own prestazioni")]
    PrestazioniAltrui,
    /// No such prestazione, or not one the caller may know of.
    #[error("prestazione {0}")]
    NonTrovata(String),
    /// PRE-20: no rule table covers the year.
    #[error("no rule table for {anno}")]
    SenzaRegole { anno: i32 },
    /// PRE-1..PRE-9: the declaration breaks these rules; `limiti` are the limits it was
    /// measured against (those crossed say so).
    #[error("{}", messaggio_violazioni(.violazioni))]
    NonAmmissibile {
        violazioni: Vec<Violazione>,
        limiti: Vec<StatoLimite>,
    },
    /// PRE-18: the request id names another declaration of the same utilizzatore.
    #[error("this request id was used for a different prestazione")]
    RichiestaRiusata,
    /// PRE-10, PRE-18: the wallet refused the reservation; a retry hears the same refusal.
    #[error("{}", .0.motivo)]
    Rifiutata(Rifiuto),
    /// PRE-11..PRE-15: the event does not apply to the state.
    #[error("a prestazione {} cannot be {evento:?}", .stato.code())]
    TransizioneNonValida { stato: Stato, evento: Evento },
    /// PRE-12: the prestatore confirmed it.
    #[error("a confirmed prestazione cannot be revoked")]
    RevocaDiConfermata,
    /// PRE-11: revocable until the end of the year's days after the prestazione.
    #[error("revocable until the end of the {giorni_revoca}rd day after the prestazione")]
    RevocaScaduta { giorni_revoca: i32 },
    /// PRE-12: only what is due or paid is confirmed.
    #[error("a prestazione {} cannot be confirmed", .0.code())]
    NonConfermabile(Stato),
    /// PRE-12: confirmed once the work is over.
    #[error(
        "a prestazione can be confirmed once it has taken place: from {} (Rome)",
        rome_datetime(*.fine).format("%Y-%m-%d %H:%M")
    )]
    NonAncoraSvolta { fine: DateTime<Utc> },
    /// PRE-14: only a revoca is contested.
    #[error("only a revoked prestazione can be contested")]
    NonRevocata,
    /// PRE-14: the month's payout is computed.
    #[error("the payout of that month is computed: the revoca can no longer be contested")]
    MesePagato,
    /// PRE-8: headroom of nobody.
    #[error("a prestatore, an utilizzatore or both")]
    LimitiSenzaSoggetto,
    /// PRE-16: an operator's listing names a subject.
    #[error("an utilizzatore or a prestatore")]
    ElencoSenzaSoggetto,
}

/// Where a sede operator's scope stopped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FuoriSede {
    #[error("neither the utilizzatore nor the prestatore belongs to the operator's sede")]
    Parti,
    #[error("the utilizzatore belongs to another sede")]
    Utilizzatore,
    #[error("the subject belongs to another sede")]
    Soggetto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AzioneUtilizzatore {
    #[error("only the utilizzatore, an intermediary with a delega or an operator may declare")]
    Dichiara,
    #[error("only the utilizzatore side revokes")]
    Revoca,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AzionePrestatore {
    #[error("only the prestatore side confirms")]
    Conferma,
    #[error("only the prestatore side contests")]
    Contesta,
    #[error("only the prestatore side and operators")]
    Consulta,
}

/// A refusal's text: one violation reads as its description, several each with its rule.
fn messaggio_violazioni(violazioni: &[Violazione]) -> String {
    match violazioni {
        [uno] => uno.description.clone(),
        _ => violazioni
            .iter()
            .map(|v| format!("{}: {}", v.rule, v.description))
            .collect::<Vec<_>>()
            .join("; "),
    }
}
