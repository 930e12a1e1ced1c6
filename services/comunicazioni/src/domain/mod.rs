//! Pure LAO rules (SPEC §4): no I/O, no tonic, no sea-orm, no clock reads. The edge decodes a
//! request into these types, the rules here decide (refusing with [`Errore`]), the application
//! persists through the store.

pub mod accesso;
pub mod catena;
pub mod cittadinanza;
pub mod codice;
pub mod errore;
pub mod soglia;
pub mod variazione;

use chrono::{DateTime, Days, NaiveDate, Utc};
use occasionali_kernel::{Euro, Sesso};
use serde::{Deserialize, Serialize};

pub use codice::CodiceComunicazione;
pub use errore::Errore;

/// Type of a communication (LAO-5): set by the system only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tipo {
    /// Preventiva: a new communication (LAO-3).
    P,
    /// Variazione of the head of a chain (LAO-6..LAO-8).
    V,
    /// Annullamento of the head of a chain (LAO-9).
    A,
}

impl Tipo {
    pub fn as_str(self) -> &'static str {
        match self {
            Tipo::P => "P",
            Tipo::V => "V",
            Tipo::A => "A",
        }
    }

    pub fn parse(s: &str) -> Option<Tipo> {
        match s {
            "P" => Some(Tipo::P),
            "V" => Some(Tipo::V),
            "A" => Some(Tipo::A),
            _ => None,
        }
    }

    pub fn nome(self) -> &'static str {
        match self {
            Tipo::P => "Preventiva",
            Tipo::V => "Variazione",
            Tipo::A => "Annullamento",
        }
    }
}

/// End of the rapporto: within 7, 15 or 30 days of the start (LAO-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Durata {
    Giorni7,
    Giorni15,
    Giorni30,
}

impl Durata {
    pub fn giorni(self) -> u32 {
        match self {
            Durata::Giorni7 => 7,
            Durata::Giorni15 => 15,
            Durata::Giorni30 => 30,
        }
    }

    pub fn from_giorni(n: i64) -> Option<Durata> {
        match n {
            7 => Some(Durata::Giorni7),
            15 => Some(Durata::Giorni15),
            30 => Some(Durata::Giorni30),
            _ => None,
        }
    }
}

/// Section 1 (§4). `comune_istat` is the ISTAT code of the registered office's comune.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committente {
    pub cf: String,
    pub denominazione: String,
    pub comune_istat: String,
    pub indirizzo: String,
    pub cap: String,
    pub email: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TipoDocumento {
    CartaIdentita,
    Passaporto,
    Patente,
    Altro,
}

impl TipoDocumento {
    pub fn nome(self) -> &'static str {
        match self {
            TipoDocumento::CartaIdentita => "Carta d'identità",
            TipoDocumento::Passaporto => "Passaporto",
            TipoDocumento::Patente => "Patente",
            TipoDocumento::Altro => "Altro documento",
        }
    }
}

/// Identity document of a worker who is not a non-EU citizen (LAO-4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Documento {
    pub tipo: TipoDocumento,
    pub numero: String,
    pub rilasciato_da: String,
    pub data_rilascio: NaiveDate,
    pub data_scadenza: NaiveDate,
}

/// Residence permit of a non-EU worker (LAO-4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permesso {
    pub numero: String,
    pub motivo: String,
    pub questura: String,
    pub data_rilascio: NaiveDate,
    pub data_scadenza: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Identificazione {
    Documento(Documento),
    Permesso(Permesso),
}

/// Worker's domicile (LAO-4): an Italian comune and no foreign city, or a foreign state and
/// city and no comune.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Domicilio {
    Italia {
        comune_istat: String,
        indirizzo: String,
        cap: String,
    },
    Estero {
        /// Z-code of the state.
        stato: String,
        citta: String,
        indirizzo: String,
    },
}

/// Section 2 (§4). `cf` is a 16-character codice fiscale (checked against the personal data,
/// ANA-3) or an 11-digit provisional one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lavoratore {
    pub cf: String,
    pub cognome: String,
    pub nome: String,
    pub data_nascita: NaiveDate,
    pub sesso: Sesso,
    /// Belfiore code of the birth comune or Z-code of the foreign state.
    pub luogo_nascita: String,
    /// ISO 3166-1 alpha-2 code or Z-code, normalised upper case.
    pub cittadinanza: String,
    pub identificazione: Identificazione,
    pub domicilio: Domicilio,
}

impl Lavoratore {
    /// "COGNOME NOME", as in search results.
    pub fn nominativo(&self) -> String {
        format!("{} {}", self.cognome, self.nome)
    }
}

/// A workplace (LAO-3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LuogoLavoro {
    pub comune_istat: String,
    pub indirizzo: String,
    pub cap: String,
}

/// Section 3 (§4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rapporto {
    pub data_inizio: NaiveDate,
    pub durata: Durata,
    pub descrizione: String,
    pub compenso_stimato: Euro,
    pub luoghi_lavoro: Vec<LuogoLavoro>,
}

impl Rapporto {
    /// Last possible day of the rapporto: start + 7, 15 or 30 days.
    pub fn data_fine(&self) -> NaiveDate {
        self.data_inizio
            .checked_add_days(Days::new(u64::from(self.durata.giorni())))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// Sections 1-3: what the compilatore declares. An A copies them unchanged (LAO-9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contenuto {
    pub committente: Committente,
    pub lavoratore: Lavoratore,
    pub rapporto: Rapporto,
}

/// Section 4: assigned by the system (LAO-5), except the compilatore's e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatiInvio {
    pub compilatore_cf: String,
    pub compilatore_email: String,
    /// Rome date of the send; for an A the cancellation date (LAO-9).
    pub data_invio: NaiveDate,
    pub inviata_il: DateTime<Utc>,
    pub tipo: Tipo,
    pub codice: String,
    pub codice_precedente: Option<String>,
}

/// One communication P, V or A, as sent. It never changes afterwards: a later V or A only
/// points back to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comunicazione {
    pub invio: DatiInvio,
    pub contenuto: Contenuto,
}

/// The earliest start date a send may carry: today (LAO-3 for a P; LAO-7 for a V up to the
/// start date, where an unchanged start date stays acceptable). After the start date a V may
/// not touch the start date at all (LAO-8), so no minimum applies there.
#[derive(Clone, Copy, Debug)]
pub struct InizioMinimo {
    pub oggi: NaiveDate,
    pub invariata: Option<NaiveDate>,
    pub rule: &'static str,
    pub reason: &'static str,
}

impl InizioMinimo {
    pub fn preventiva(oggi: NaiveDate) -> InizioMinimo {
        InizioMinimo {
            oggi,
            invariata: None,
            rule: "LAO-3",
            reason: "LAO_3_START_BEFORE_SAVE_DATE",
        }
    }

    pub fn variazione(oggi: NaiveDate, inizio_attuale: NaiveDate) -> InizioMinimo {
        InizioMinimo {
            oggi,
            invariata: Some(inizio_attuale),
            rule: "LAO-7",
            reason: "LAO_7_START_BEFORE_TODAY",
        }
    }

    pub fn ammette(&self, data_inizio: NaiveDate) -> bool {
        data_inizio >= self.oggi || Some(data_inizio) == self.invariata
    }
}

/// Who is sending, and when: the system-assigned part of a send (LAO-5).
#[derive(Clone, Debug)]
pub struct Invio {
    pub compilatore_cf: String,
    pub compilatore_email: String,
    pub ora: DateTime<Utc>,
    pub oggi: NaiveDate,
}

impl Comunicazione {
    /// A new P (LAO-3, LAO-5).
    pub fn preventiva(contenuto: Contenuto, invio: Invio, codice: CodiceComunicazione) -> Comunicazione {
        Comunicazione {
            invio: DatiInvio {
                compilatore_cf: invio.compilatore_cf,
                compilatore_email: invio.compilatore_email,
                data_invio: invio.oggi,
                inviata_il: invio.ora,
                tipo: Tipo::P,
                codice: codice.into_string(),
                codice_precedente: None,
            },
            contenuto,
        }
    }

    /// The V or A that replaces `self` (LAO-6, LAO-9). An A carries `self`'s sections
    /// unchanged; a V carries the new ones.
    pub fn successiva(
        &self,
        tipo: Tipo,
        contenuto: Contenuto,
        invio: Invio,
        codice: CodiceComunicazione,
    ) -> Comunicazione {
        Comunicazione {
            invio: DatiInvio {
                compilatore_cf: invio.compilatore_cf,
                compilatore_email: invio.compilatore_email,
                data_invio: invio.oggi,
                inviata_il: invio.ora,
                tipo,
                codice: codice.into_string(),
                codice_precedente: Some(self.invio.codice.clone()),
            },
            contenuto,
        }
    }

    pub fn codice(&self) -> &str {
        &self.invio.codice
    }

    pub fn tipo(&self) -> Tipo {
        self.invio.tipo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn lao_3_7_earliest_start() {
        let oggi = d("2026-06-15");
        let p = InizioMinimo::preventiva(oggi);
        assert!(p.ammette(oggi));
        assert!(!p.ammette(d("2026-06-14")));
        let v = InizioMinimo::variazione(oggi, d("2026-06-10"));
        assert!(v.ammette(d("2026-06-10")), "an unchanged start date stays");
        assert!(!v.ammette(d("2026-06-14")));
        assert!(v.ammette(d("2026-06-16")));
    }

    #[test]
    fn lao_3_end_is_start_plus_duration() {
        let r = Rapporto {
            data_inizio: d("2026-12-28"),
            durata: Durata::Giorni7,
            descrizione: String::new(),
            compenso_stimato: Euro::ZERO,
            luoghi_lavoro: Vec::new(),
        };
        assert_eq!(r.data_fine(), d("2027-01-04"));
    }
}
