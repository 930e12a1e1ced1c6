//! What the declarant says of a piece of work (PRE-1): the parties, the place, the work (LF or
//! CPO, when and what), the compensation and the two self-declarations. Decoded once from the
//! request; kept as declared on the prestazione, so that a retry of the same request id is
//! recognised by comparing declarations (PRE-18).

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::Euro;
use occasionali_kernel::calendar::rome_date;

/// The kind of prestazione (§0). Ordered as the statement lists them: LF, then CPO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tipo {
    Lf,
    Cpo,
}

impl Tipo {
    pub fn code(self) -> &'static str {
        match self {
            Tipo::Lf => "LF",
            Tipo::Cpo => "CPO",
        }
    }
}

/// The only activities of the Libretto Famiglia (PRE-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttivitaLf {
    LavoriDomestici,
    AssistenzaDomiciliare,
    InsegnamentoPrivato,
}

/// The purpose a public administration states (PRE-6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalitaPa {
    ProgettiSpeciali,
    Emergenze,
    Solidarieta,
    Manifestazioni,
    /// A code outside the four the law lists, kept as declared: PRE-6 asks only whether a
    /// purpose is stated, and the declaration is answered back as it came.
    NonPrevista(i32),
}

/// Where the work is done: the comune's code as declared (ISTAT or cadastral), its name as the
/// kernel resolved it, the address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Luogo {
    pub comune: String,
    pub nome_comune: String,
    pub indirizzo: String,
}

/// LF: a day and a duration, paid in titoli (one per hour or fraction, PRE-1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LavoroLf {
    pub attivita: AttivitaLf,
    pub data: NaiveDate,
    pub minuti: i64,
    pub titoli: i64,
}

/// When a CPO is done (PRE-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TempoCpo {
    /// Exact start and end.
    Orario {
        inizio: DateTime<Utc>,
        fine: DateTime<Utc>,
    },
    /// An agricultural window (years allowing agriculture): hours within at most a few days.
    Finestra {
        dal: NaiveDate,
        al: NaiveDate,
        minuti: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LavoroCpo {
    pub descrizione: String,
    pub tempo: TempoCpo,
    pub finalita_pa: Option<FinalitaPa>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lavoro {
    Lf(LavoroLf),
    Cpo(LavoroCpo),
}

/// A decoded declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dichiarazione {
    pub utilizzatore_cf: String,
    pub prestatore_cf: String,
    pub luogo: Luogo,
    pub lavoro: Lavoro,
    /// As declared: LF may leave it out (the titoli say it), a CPO states it.
    pub compenso: Option<Euro>,
    pub appalto: bool,
    pub rapporto_recente: bool,
}

impl Dichiarazione {
    pub fn tipo(&self) -> Tipo {
        match self.lavoro {
            Lavoro::Lf(_) => Tipo::Lf,
            Lavoro::Cpo(_) => Tipo::Cpo,
        }
    }

    /// The scheduled day (Rome): the LF day, the CPO start or the window's first day.
    pub fn giorno(&self) -> NaiveDate {
        match &self.lavoro {
            Lavoro::Lf(lf) => lf.data,
            Lavoro::Cpo(c) => match c.tempo {
                TempoCpo::Orario { inizio, .. } => rome_date(inizio),
                TempoCpo::Finestra { dal, .. } => dal,
            },
        }
    }

    /// The hours of work in minutes (PRE-8 counts them per pair for the CPO).
    pub fn minuti(&self) -> i64 {
        match &self.lavoro {
            Lavoro::Lf(lf) => lf.minuti,
            Lavoro::Cpo(c) => match c.tempo {
                TempoCpo::Orario { inizio, fine } => (fine - inizio).num_minutes(),
                TempoCpo::Finestra { minuti, .. } => minuti,
            },
        }
    }

    /// Whether a public administration's purpose is stated (PRE-6).
    pub fn finalita_pa(&self) -> bool {
        matches!(&self.lavoro, Lavoro::Cpo(c) if c.finalita_pa.is_some())
    }
}
