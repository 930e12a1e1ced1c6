//! The delega (DEL-1): who represents whom, in which ruolo, for which period; its state at a
//! date; and the creation decision (overlap, request id).

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::identita::mask;

use super::Errore;

/// The capacity in which the delegato acts (DEL-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ruolo {
    IntermediarioPrestatore,
    IntermediarioUtilizzatore,
    ConsulenteLavoro,
    Patronato,
    Caf,
}

impl Ruolo {
    pub const ALL: [Ruolo; 5] = [
        Ruolo::IntermediarioPrestatore,
        Ruolo::IntermediarioUtilizzatore,
        Ruolo::ConsulenteLavoro,
        Ruolo::Patronato,
        Ruolo::Caf,
    ];

    /// The stored name, also what `x-occasionali-ruolo` carries.
    pub fn as_str(self) -> &'static str {
        match self {
            Ruolo::IntermediarioPrestatore => "intermediario_prestatore",
            Ruolo::IntermediarioUtilizzatore => "intermediario_utilizzatore",
            Ruolo::ConsulenteLavoro => "consulente_lavoro",
            Ruolo::Patronato => "patronato",
            Ruolo::Caf => "caf",
        }
    }

    pub fn parse(s: &str) -> Option<Ruolo> {
        Ruolo::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A validity period of Rome dates, both ends inclusive; no end means open-ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validita {
    pub dal: NaiveDate,
    pub al: Option<NaiveDate>,
}

impl Validita {
    pub fn contiene(&self, giorno: NaiveDate) -> bool {
        self.dal <= giorno && self.al.is_none_or(|al| giorno <= al)
    }

    /// Whether the two periods share at least one day.
    pub fn si_sovrappone(&self, altra: &Validita) -> bool {
        self.al.is_none_or(|al| altra.dal <= al) && altra.al.is_none_or(|al| self.dal <= al)
    }
}

/// A revocation: when, by whom, why.
#[derive(Clone, PartialEq, Eq)]
pub struct Revoca {
    pub il: DateTime<Utc>,
    pub da_cf: String,
    pub motivo: String,
}

/// A delega as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Delega {
    pub id: String,
    pub delegante_cf: String,
    pub delegato_cf: String,
    pub ruolo: Ruolo,
    pub validita: Validita,
    pub creata_il: DateTime<Utc>,
    /// The delegante or an operator (for system calls, the original client).
    pub creata_da_cf: String,
    pub nota: String,
    /// The client's request id (AIP-155), scoped to `creata_da_cf`.
    pub request_id: Option<String>,
    pub revoca: Option<Revoca>,
}

/// Masked: personal data must never reach logs (GW-5).
impl fmt::Debug for Delega {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delega")
            .field("id", &self.id)
            .field("delegante_cf", &mask(&self.delegante_cf))
            .field("delegato_cf", &mask(&self.delegato_cf))
            .field("ruolo", &self.ruolo)
            .field("validita", &self.validita)
            .field("revocata", &self.revoca.is_some())
            .finish()
    }
}

/// The state of a delega on a date (computed at read time, never stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stato {
    NonAncoraValida,
    Valida,
    Scaduta,
    Revocata,
}

impl Delega {
    /// Its state on the Rome date `oggi`: a revocation wins over the period.
    pub fn stato(&self, oggi: NaiveDate) -> Stato {
        if self.revoca.is_some() {
            Stato::Revocata
        } else if oggi < self.validita.dal {
            Stato::NonAncoraValida
        } else if self.validita.al.is_some_and(|al| al < oggi) {
            Stato::Scaduta
        } else {
            Stato::Valida
        }
    }

    /// Whether it had been revoked by the instant `at`.
    pub fn revocata_a(&self, at: DateTime<Utc>) -> bool {
        self.revoca.as_ref().is_some_and(|r| r.il <= at)
    }

    /// Whether `cf` is the delegante or the delegato.
    pub fn ha_parte(&self, cf: &str) -> bool {
        self.delegante_cf == cf || self.delegato_cf == cf
    }
}

/// A creation request, decoded (DEL-1).
#[derive(Clone, PartialEq, Eq)]
pub struct NuovaDelega {
    pub delegante_cf: String,
    pub delegato_cf: String,
    pub ruolo: Ruolo,
    pub validita: Validita,
    pub nota: String,
    pub request_id: Option<String>,
}

impl NuovaDelega {
    /// Whether `d` is what this request asks for (a retry of the same request id, AIP-155).
    pub fn stesso_contenuto(&self, d: &Delega) -> bool {
        self.delegante_cf == d.delegante_cf
            && self.delegato_cf == d.delegato_cf
            && self.ruolo == d.ruolo
            && self.validita == d.validita
            && self.nota == d.nota
    }

    pub fn crea(self, id: String, ora: DateTime<Utc>, autore_cf: &str) -> Delega {
        Delega {
            id,
            delegante_cf: self.delegante_cf,
            delegato_cf: self.delegato_cf,
            ruolo: self.ruolo,
            validita: self.validita,
            creata_il: ora,
            creata_da_cf: autore_cf.to_string(),
            nota: self.nota,
            request_id: self.request_id,
            revoca: None,
        }
    }
}

/// What a creation does, decided inside the write transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum Creazione {
    /// Insert a new delega.
    Nuova,
    /// A retry of a request already served: answer with the delega it created.
    Ripetuta(Box<Delega>),
}

/// DEL-1: a retry of the same request id returns its delega; the same id with other content, or
/// a non-revoked delega of the same delegante, delegato and ruolo whose period overlaps, is
/// ALREADY_EXISTS. `stessa_richiesta` is the delega created by the same author with the same
/// request id; `stessa_terna` the deleghe of the same (delegante, delegato, ruolo).
pub fn decidi_creazione(
    nuova: &NuovaDelega,
    stessa_richiesta: Option<&Delega>,
    stessa_terna: &[Delega],
) -> Result<Creazione, Errore> {
    if let Some(d) = stessa_richiesta {
        if nuova.stesso_contenuto(d) {
            return Ok(Creazione::Ripetuta(Box::new(d.clone())));
        }
        return Err(Errore::RequestIdRiusata {
            delega_id: d.id.clone(),
        });
    }
    if let Some(d) = stessa_terna
        .iter()
        .find(|d| d.revoca.is_none() && d.validita.si_sovrappone(&nuova.validita))
    {
        return Err(Errore::Sovrapposta {
            delega_id: d.id.clone(),
        });
    }
    Ok(Creazione::Nuova)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn v(dal: &str, al: Option<&str>) -> Validita {
        Validita {
            dal: d(dal),
            al: al.map(d),
        }
    }

    fn ora() -> DateTime<Utc> {
        DateTime::from_timestamp(1_781_517_600, 0).unwrap_or_default()
    }

    fn nuova(validita: Validita) -> NuovaDelega {
        NuovaDelega {
            delegante_cf: "A".into(),
            delegato_cf: "B".into(),
            ruolo: Ruolo::Caf,
            validita,
            nota: String::new(),
            request_id: Some("r1".into()),
        }
    }

    #[test]
    fn del_1_overlap_is_inclusive_and_open_ended() {
        let cases = [
            (v("2026-01-01", Some("2026-01-31")), v("2026-01-31", None), true),
            (v("2026-01-01", Some("2026-01-31")), v("2026-02-01", None), false),
            (v("2026-01-01", None), v("2030-01-01", Some("2030-01-02")), true),
            (v("2026-03-01", None), v("2026-01-01", Some("2026-02-28")), false),
            (v("2026-03-01", None), v("2026-01-01", None), true),
        ];
        for (a, b, expected) in cases {
            assert_eq!(a.si_sovrappone(&b), expected, "{a:?} vs {b:?}");
            assert_eq!(b.si_sovrappone(&a), expected, "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn del_1_state_is_computed_on_the_date() {
        let mut x = nuova(v("2026-06-10", Some("2026-06-20"))).crea("del_1".into(), ora(), "A");
        assert_eq!(x.stato(d("2026-06-09")), Stato::NonAncoraValida);
        assert_eq!(x.stato(d("2026-06-10")), Stato::Valida);
        assert_eq!(x.stato(d("2026-06-20")), Stato::Valida);
        assert_eq!(x.stato(d("2026-06-21")), Stato::Scaduta);
        x.revoca = Some(Revoca {
            il: ora(),
            da_cf: "A".into(),
            motivo: String::new(),
        });
        assert_eq!(x.stato(d("2026-06-15")), Stato::Revocata);
        assert_eq!(x.stato(d("2026-06-21")), Stato::Revocata);
    }

    #[test]
    fn del_1_overlapping_non_revoked_delega_already_exists() {
        let esistente = nuova(v("2026-06-15", None)).crea("del_1".into(), ora(), "A");
        let n = nuova(v("2027-01-01", None));
        let e = decidi_creazione(&n, None, std::slice::from_ref(&esistente));
        assert_eq!(
            e,
            Err(Errore::Sovrapposta {
                delega_id: "del_1".into()
            })
        );
        let mut revocata = esistente.clone();
        revocata.revoca = Some(Revoca {
            il: ora(),
            da_cf: "A".into(),
            motivo: String::new(),
        });
        assert_eq!(
            decidi_creazione(&n, None, &[revocata]).ok(),
            Some(Creazione::Nuova)
        );
    }

    #[test]
    fn del_1_request_id_retry_returns_the_same_delega() {
        let n = nuova(v("2026-06-15", None));
        let fatta = n.clone().crea("del_1".into(), ora(), "A");
        assert_eq!(
            decidi_creazione(&n, Some(&fatta), std::slice::from_ref(&fatta)).ok(),
            Some(Creazione::Ripetuta(Box::new(fatta.clone())))
        );
        let diversa = nuova(v("2026-06-16", None));
        let e = decidi_creazione(&diversa, Some(&fatta), &[]);
        assert_eq!(
            e,
            Err(Errore::RequestIdRiusata {
                delega_id: "del_1".into()
            })
        );
    }
}
