//! What the wallet's rules refuse, and the broken invariants they detect, with the facts the
//! caller needs (amounts, states). The sentence of each refusal is its `Display`; the gRPC code,
//! reason and metadata are chosen once, at the edge (`api/errori.rs`).

use chrono::NaiveDate;
use occasionali_kernel::Euro;

use super::conti::TipoConto;
use super::rimborso::StatoRimborso;
use super::versamento::StatoVersamento;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Errore {
    // Who may do what (SPEC §7, POR-2).
    /// POR-2: payments come only from the payments feeds or the platform.
    #[error(
        "{cosa} come from the payments feeds, never from a person (operators correct with AbbinaVersamento, StornaVersamento and refunds)"
    )]
    SoloFlussiPagamento { cosa: String },
    #[error("{cosa} is for INPS operators and the platform's services")]
    SoloOperatori { regola: &'static str, cosa: String },
    #[error("{cosa} is for the Direzione Generale and the platform's services")]
    SoloDg { regola: &'static str, cosa: String },
    #[error("the utilizzatore belongs to another sede")]
    FuoriSede { regola: &'static str },
    #[error(
        "a person or company reaches only its own wallets (an intermediary only its clients', under a delega)"
    )]
    NonTitolare { regola: &'static str },
    /// POR-1: the whole ledger is the central direction's.
    #[error("the whole ledger is for the Direzione Generale; a sede operator asks for one wallet")]
    LibroSoloDg,
    #[error("is not a valid year")]
    AnnoNonValido,

    // POR-3: abbinamento manuale.
    #[error("the versamento is {}, not waiting in the unmatched queue", .stato.code())]
    NonInCoda { stato: StatoVersamento },
    #[error(
        "only a payment meant for a CPO wallet (codice CLOC) can be matched manually; a wrong causale is returned or transferred (POR-7)"
    )]
    NonPagamentoCpo,
    #[error("the chosen subject is not a registered CPO utilizzatore")]
    NonUtilizzatoreCpo,
    #[error("a versamento can be matched manually only to a company whose legal representative is the payer")]
    VersanteNonLegaleRappresentante,
    #[error("abbinamento manuale is for INPS operators")]
    AbbinamentoSoloOperatori,
    #[error("the versamento belongs to another sede's queue")]
    VersamentoDiAltraSede,
    #[error("the chosen utilizzatore belongs to another sede")]
    UtilizzatoreDiAltraSede,

    // POR-4 / POR-8: reservations.
    /// POR-8: a debt blocks new prestazioni until a deposit covers it.
    #[error("the wallet has a debt of {debito} that blocks new prestazioni until a deposit covers it")]
    InDebito {
        disponibile: Euro,
        necessario: Euro,
        debito: Euro,
    },
    #[error("the available balance {disponibile} does not cover the {necessario} needed")]
    FondiInsufficienti {
        disponibile: Euro,
        necessario: Euro,
        debito: Euro,
    },
    #[error(
        "a reservation with this prestazione id exists with a different wallet, prestatore, date or cost"
    )]
    ConflittoRiserva,
    #[error("the reservation was consumed by a payout: it can no longer be released")]
    RiservaGiaConsumata,
    #[error("the reservation was already consumed by another payout order")]
    ConsumataDaAltroOrdine,
    #[error("the reservation was released (revoca): there is nothing to consume")]
    RiservaRilasciata,

    // POR-5: the payout.
    #[error("must be between 1 and 12")]
    MeseNonValido,
    /// A contest's reinstatement cannot go into a month whose payout has started.
    #[error("the payout of {anno}-{mese:02} has started: no reinstatement into it")]
    MeseGiaPagato { anno: i32, mese: u32 },
    #[error("the payout of {anno}-{mese:02} is due on {data}, not before")]
    PayoutPrematuro { anno: i32, mese: u32, data: NaiveDate },

    // POR-7: rimborsi and storni.
    #[error("rimborsi are decided by INPS operators")]
    RimborsiSoloOperatori,
    #[error("returns and transfers of versamenti are for INPS operators")]
    StorniSoloOperatori,
    #[error("the destination is not a registered utilizzatore of that wallet type")]
    DestinazioneNonUtilizzatore,
    #[error("this request_id was used for a different rimborso request")]
    RichiestaRimborsoRiusata,
    #[error(
        "a rimborso cannot exceed the available balance ({disponibile}): reserved funds stay for the prestazioni"
    )]
    RimborsoOltreDisponibile { disponibile: Euro, richiesto: Euro },
    #[error("the rimborso was already decided: {}", .stato.code())]
    RimborsoGiaDeciso { stato: StatoRimborso },
    #[error("must be more than 0 and not above the requested {richiesto}")]
    ImportoApprovatoNonValido { richiesto: Euro },
    #[error("this request_id was used for a different storno")]
    RichiestaStornoRiusata,
    #[error("the whole versamento was already returned or transferred")]
    NienteDaStornare,
    #[error("only {residuo} of the versamento is left to return or transfer")]
    OltreIlVersamento { residuo: Euro, importo: Euro },
    #[error("is the wallet the versamento is already in")]
    StessoPortafoglio,
    #[error(
        "the wallet's available balance ({disponibile}) does not cover it: reserved funds stay for the prestazioni"
    )]
    SottoIlRiservato { disponibile: Euro, importo: Euro },

    /// Another writer changed what this step read: the caller retries (ABORTED).
    #[error("{messaggio}")]
    Concorrente {
        regola: &'static str,
        messaggio: &'static str,
    },

    // Broken invariants: bugs of the caller or corrupt data, never the client's fault.
    #[error("refused posting of {importo} from {} to {}", .da.code(), .a.code())]
    MovimentoRifiutato {
        importo: Euro,
        da: TipoConto,
        a: TipoConto,
    },
    /// An amount out of range ("amount overflow", "ledger amount overflow").
    #[error("{0}")]
    Traboccamento(&'static str),
    /// A state the rules never produce (e.g. a credited versamento without its wallet).
    #[error("{0}")]
    Incoerenza(&'static str),
}

impl Errore {
    /// The SPEC rule that refuses; `None` for broken invariants.
    pub fn regola(&self) -> Option<&'static str> {
        use Errore::*;
        Some(match self {
            SoloFlussiPagamento { .. } => "POR-2",
            SoloOperatori { regola, .. }
            | SoloDg { regola, .. }
            | FuoriSede { regola }
            | NonTitolare { regola }
            | Concorrente { regola, .. } => *regola,
            LibroSoloDg => "POR-1",
            AnnoNonValido => "POR-6",
            NonInCoda { .. }
            | NonPagamentoCpo
            | NonUtilizzatoreCpo
            | VersanteNonLegaleRappresentante
            | AbbinamentoSoloOperatori
            | VersamentoDiAltraSede
            | UtilizzatoreDiAltraSede => "POR-3",
            InDebito { .. } => "POR-8",
            FondiInsufficienti { .. }
            | ConflittoRiserva
            | RiservaGiaConsumata
            | ConsumataDaAltroOrdine
            | RiservaRilasciata => "POR-4",
            MeseNonValido | PayoutPrematuro { .. } | MeseGiaPagato { .. } => "POR-5",
            RimborsiSoloOperatori
            | StorniSoloOperatori
            | DestinazioneNonUtilizzatore
            | RichiestaRimborsoRiusata
            | RimborsoOltreDisponibile { .. }
            | RimborsoGiaDeciso { .. }
            | ImportoApprovatoNonValido { .. }
            | RichiestaStornoRiusata
            | NienteDaStornare
            | OltreIlVersamento { .. }
            | StessoPortafoglio
            | SottoIlRiservato { .. } => "POR-7",
            MovimentoRifiutato { .. } | Traboccamento(_) | Incoerenza(_) => return None,
        })
    }
}

/// An amount computation out of range.
pub(crate) fn traboccamento() -> Errore {
    Errore::Traboccamento("amount overflow")
}
