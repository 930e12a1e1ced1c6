//! POR-7: refund (rimborso) of unused funds on the utilizzatore's request, decided by an
//! operator. While pending, the amount is held in the wallet's RIMBORSO_RICHIESTO account so it
//! cannot be reserved meanwhile; never more than the available balance.

use chrono::{DateTime, Utc};
use occasionali_kernel::Euro;

use super::conti::{
    Causale, Conto, PortafoglioRef, SaldiPortafoglio, Scritture, TipoConto, accredita_disponibile,
    differenza, somma,
};
use super::errore::Errore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatoRimborso {
    Richiesto,
    Pagato,
    Respinto,
}

impl StatoRimborso {
    pub fn code(self) -> &'static str {
        match self {
            StatoRimborso::Richiesto => "RICHIESTO",
            StatoRimborso::Pagato => "PAGATO",
            StatoRimborso::Respinto => "RESPINTO",
        }
    }

    pub fn from_code(s: &str) -> Option<StatoRimborso> {
        [
            StatoRimborso::Richiesto,
            StatoRimborso::Pagato,
            StatoRimborso::Respinto,
        ]
        .into_iter()
        .find(|c| c.code() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rimborso {
    pub id: String,
    pub request_id: String,
    /// Who asked (the utilizzatore, or its intermediary under a delega).
    pub richiedente_cf: String,
    pub portafoglio: PortafoglioRef,
    pub importo_richiesto: Euro,
    pub iban_richiesto: String,
    pub importo_pagato: Option<Euro>,
    pub iban_pagato: Option<String>,
    pub stato: StatoRimborso,
    pub richiesto_il: DateTime<Utc>,
    pub deciso_il: Option<DateTime<Utc>>,
    pub deciso_da_cf: String,
    pub nota: String,
    /// The utilizzatore's competent sede when requested (operators' lists).
    pub sede: String,
}

/// What the utilizzatore asks (decoded, valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RichiestaRimborso {
    pub request_id: String,
    pub portafoglio: PortafoglioRef,
    pub importo: Euro,
    pub iban: String,
}

impl Rimborso {
    /// AIP-155: the same request id with the same content is a retry; another content under
    /// it is refused.
    pub fn ripetizione(self, r: &RichiestaRimborso) -> Result<Rimborso, Errore> {
        if self.stesso_contenuto(r) {
            Ok(self)
        } else {
            Err(Errore::RichiestaRimborsoRiusata)
        }
    }

    /// AIP-155: the same request id with the same content is a retry.
    pub fn stesso_contenuto(&self, r: &RichiestaRimborso) -> bool {
        self.portafoglio == r.portafoglio
            && self.importo_richiesto == r.importo
            && self.iban_richiesto == r.iban
    }
}

/// POR-7: hold the requested amount, if the available balance covers it.
pub fn richiedi(
    id: String,
    r: &RichiestaRimborso,
    richiedente_cf: &str,
    sede: &str,
    saldi: &mut SaldiPortafoglio,
    ora: DateTime<Utc>,
) -> Result<(Rimborso, Scritture), Errore> {
    if r.importo > saldi.disponibile {
        return Err(Errore::RimborsoOltreDisponibile {
            disponibile: saldi.disponibile,
            richiesto: r.importo,
        });
    }
    let w = &r.portafoglio;
    let mut s = Scritture::new();
    s.sposta(
        Conto::disponibile(w),
        Conto::rimborso_richiesto(w),
        r.importo,
        Causale::Rimborso,
        &id,
    )?;
    saldi.disponibile = differenza(saldi.disponibile, r.importo)?;
    saldi.rimborso_richiesto = somma(saldi.rimborso_richiesto, r.importo)?;
    Ok((
        Rimborso {
            id,
            request_id: r.request_id.clone(),
            richiedente_cf: richiedente_cf.to_string(),
            portafoglio: w.clone(),
            importo_richiesto: r.importo,
            iban_richiesto: r.iban.clone(),
            importo_pagato: None,
            iban_pagato: None,
            stato: StatoRimborso::Richiesto,
            richiesto_il: ora,
            deciso_il: None,
            deciso_da_cf: String::new(),
            nota: String::new(),
            sede: sede.to_string(),
        },
        s,
    ))
}

/// An operator's decision (decoded, valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decisione {
    /// Pay, optionally to a corrected IBAN or a lower amount.
    Approva {
        iban: Option<String>,
        importo: Option<Euro>,
    },
    /// Give the held amount back to the available balance.
    Respingi { motivo: String },
}

/// Outcome of a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EsitoDecisione {
    /// A retry of the decision already taken.
    Invariato(Rimborso),
    Deciso(Rimborso, Scritture),
}

/// POR-7: approve (the paid amount leaves the wallet, any part not paid goes back to the
/// available balance) or reject (everything goes back).
pub fn decidi(
    mut r: Rimborso,
    d: &Decisione,
    nota: &str,
    operatore_cf: &str,
    saldi: &mut SaldiPortafoglio,
    ora: DateTime<Utc>,
) -> Result<EsitoDecisione, Errore> {
    match (r.stato, d) {
        (StatoRimborso::Pagato, Decisione::Approva { .. })
        | (StatoRimborso::Respinto, Decisione::Respingi { .. }) => {
            return Ok(EsitoDecisione::Invariato(r));
        }
        (StatoRimborso::Richiesto, _) => {}
        _ => return Err(Errore::RimborsoGiaDeciso { stato: r.stato }),
    }
    let w = r.portafoglio.clone();
    let mut s = Scritture::new();
    let (restituito, stato) = match d {
        Decisione::Approva { iban, importo } => {
            let pagato = importo.unwrap_or(r.importo_richiesto);
            if pagato > r.importo_richiesto || !pagato.is_positive() {
                return Err(Errore::ImportoApprovatoNonValido {
                    richiesto: r.importo_richiesto,
                });
            }
            s.sposta(
                Conto::rimborso_richiesto(&w),
                Conto::Piattaforma(TipoConto::Rimborsi),
                pagato,
                Causale::Rimborso,
                &r.id,
            )?;
            r.importo_pagato = Some(pagato);
            r.iban_pagato = Some(iban.clone().unwrap_or_else(|| r.iban_richiesto.clone()));
            r.nota = nota.to_string();
            (differenza(r.importo_richiesto, pagato)?, StatoRimborso::Pagato)
        }
        Decisione::Respingi { motivo } => {
            r.nota = if nota.is_empty() || nota == motivo {
                motivo.clone()
            } else {
                format!("{motivo} — {nota}")
            };
            (r.importo_richiesto, StatoRimborso::Respinto)
        }
    };
    saldi.rimborso_richiesto = differenza(saldi.rimborso_richiesto, r.importo_richiesto)?;
    accredita_disponibile(
        &mut s,
        saldi,
        &w,
        Conto::rimborso_richiesto(&w),
        restituito,
        Causale::Rimborso,
        &r.id,
    )?;
    r.stato = stato;
    r.deciso_il = Some(ora);
    r.deciso_da_cf = operatore_cf.to_string();
    Ok(EsitoDecisione::Deciso(r, s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::conti::TipoPortafoglio;

    fn ora() -> DateTime<Utc> {
        "2026-06-15T10:00:00Z".parse().unwrap()
    }

    fn richiesta(cents: i64) -> RichiestaRimborso {
        RichiestaRimborso {
            request_id: "req-1".into(),
            portafoglio: PortafoglioRef::new("RSSMRA85T10A562S", TipoPortafoglio::LibrettoFamiglia),
            importo: Euro::from_cents(cents),
            iban: "IT60X0542811101000000123456".into(),
        }
    }

    #[test]
    fn por_7_never_more_than_available() {
        let mut saldi = SaldiPortafoglio {
            disponibile: Euro::from_cents(1000),
            riservato: Euro::from_cents(5000),
            ..Default::default()
        };
        assert!(richiedi("rim_1".into(), &richiesta(1001), "X", "RM", &mut saldi, ora()).is_err());
        let (r, s) = richiedi("rim_1".into(), &richiesta(1000), "X", "RM", &mut saldi, ora()).unwrap();
        assert_eq!(saldi.disponibile, Euro::ZERO);
        assert_eq!(saldi.rimborso_richiesto, Euro::from_cents(1000));
        assert_eq!(s.movimenti.len(), 1);
        assert!(r.stesso_contenuto(&richiesta(1000)));
        assert!(!r.stesso_contenuto(&richiesta(999)));
    }

    #[test]
    fn por_7_partial_approval_gives_back_the_rest() {
        let mut saldi = SaldiPortafoglio {
            disponibile: Euro::from_cents(1000),
            ..Default::default()
        };
        let (r, _) = richiedi("rim_1".into(), &richiesta(1000), "X", "RM", &mut saldi, ora()).unwrap();
        let d = Decisione::Approva {
            iban: None,
            importo: Some(Euro::from_cents(600)),
        };
        let EsitoDecisione::Deciso(r, s) = decidi(r, &d, "ok", "OP", &mut saldi, ora()).unwrap() else {
            panic!("decided")
        };
        assert_eq!(r.stato, StatoRimborso::Pagato);
        assert_eq!(r.importo_pagato, Some(Euro::from_cents(600)));
        assert_eq!(saldi.disponibile, Euro::from_cents(400));
        assert_eq!(saldi.rimborso_richiesto, Euro::ZERO);
        assert_eq!(s.movimenti.len(), 2);
        assert!(matches!(
            decidi(r.clone(), &d, "ok", "OP", &mut saldi, ora()),
            Ok(EsitoDecisione::Invariato(_))
        ));
        let no = Decisione::Respingi { motivo: "x".into() };
        assert!(decidi(r, &no, "ok", "OP", &mut saldi, ora()).is_err());
    }

    #[test]
    fn por_7_never_more_than_held() {
        let mut saldi = SaldiPortafoglio {
            disponibile: Euro::from_cents(1000),
            ..Default::default()
        };
        let (r, _) = richiedi("rim_1".into(), &richiesta(1000), "X", "RM", &mut saldi, ora()).unwrap();
        let d = Decisione::Approva {
            iban: None,
            importo: Some(Euro::from_cents(1001)),
        };
        assert!(matches!(
            decidi(r, &d, "ok", "OP", &mut saldi, ora()),
            Err(Errore::ImportoApprovatoNonValido { .. })
        ));
    }
}
