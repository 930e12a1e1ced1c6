//! A declared piece of work and its lifecycle (PRE-10..PRE-15): the declaration as made, what
//! the insertion settled (cost, limit quotas, revoca deadline, the parties' sedi), and each step
//! since, with its time.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::calendar::{end_of_day_exclusive, end_of_nth_day_after};

use super::accesso::Sedi;
use super::dichiarazione::{Dichiarazione, Lavoro, TempoCpo};
use super::errore::Errore;
use super::limiti::QuotaPresa;
use super::regole::{Costo, Regole};
use super::stato::{Evento, Stato};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prestazione {
    pub id: String,
    /// The client's request id of the insertion (PRE-18).
    pub request_id: String,
    pub dichiarazione: Dichiarazione,
    /// The split of the cost reserved in the wallet, by the rules of the insertion.
    pub costo: Costo,
    /// What it took from each limit, given back by a rejection or a revoca (PRE-8, PRE-9).
    pub quote: Vec<QuotaPresa>,
    /// The parties' sedi per the registry at insertion (PRE-19: a sede operator's scope).
    pub sedi: Sedi,
    /// PRE-11, by the rules of the insertion.
    pub revocabile_fino_al: DateTime<Utc>,
    /// Who inserted it: the utilizzatore, an intermediary with a delega, or an operator.
    pub inserita_da_cf: String,
    pub inserita_il: DateTime<Utc>,
    pub stato: Stato,
    pub accettata_il: Option<DateTime<Utc>>,
    pub rifiuto: Option<Rifiuto>,
    pub revoca: Option<Revoca>,
    /// PRE-12: the prestatore confirmed that the work took place.
    pub confermata_il: Option<DateTime<Utc>>,
    pub contestazione: Option<Contestazione>,
    pub pagamento: Option<Pagata>,
}

/// PRE-10: why the wallet refused the reservation, and the answer the insertion gave (PRE-18:
/// a retry hears it again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rifiuto {
    /// "PRE-10: " and the wallet's words.
    pub motivo: String,
    /// `None` for prestazioni refused before the answer was kept: they answer with `motivo`.
    pub risposta: Option<Risposta>,
}

/// An answer as it went out: the gRPC status code and message, and the status details
/// (`grpc-status-details-bin`, an encoded google.rpc.Status), opaque here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risposta {
    pub codice: i32,
    pub messaggio: String,
    pub dettagli: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoca {
    pub il: DateTime<Utc>,
    pub motivo: String,
}

/// PRE-14: the prestatore's statement that the work was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contestazione {
    pub il: DateTime<Utc>,
    pub nota: String,
}

/// POR-5: paid by a payout order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pagata {
    pub il: DateTime<Utc>,
    pub payout_order_id: String,
}

/// What an insertion settles besides the declaration.
pub struct Inserimento {
    pub id: String,
    pub request_id: String,
    pub inserita_da_cf: String,
    pub costo: Costo,
    pub quote: Vec<QuotaPresa>,
    pub sedi: Sedi,
}

impl Prestazione {
    /// A new prestazione, PENDING until the wallet answers (PRE-10).
    pub fn nuova(d: Dichiarazione, i: Inserimento, regole: &Regole, adesso: DateTime<Utc>) -> Prestazione {
        let revocabile_fino_al = end_of_nth_day_after(d.giorno(), regole.giorni_revoca as u32);
        Prestazione {
            id: i.id,
            request_id: i.request_id,
            dichiarazione: d,
            costo: i.costo,
            quote: i.quote,
            sedi: i.sedi,
            revocabile_fino_al,
            inserita_da_cf: i.inserita_da_cf,
            inserita_il: adesso,
            stato: Stato::Pending,
            accettata_il: None,
            rifiuto: None,
            revoca: None,
            confermata_il: None,
            contestazione: None,
            pagamento: None,
        }
    }

    /// The scheduled day (Rome).
    pub fn data(&self) -> NaiveDate {
        self.dichiarazione.giorno()
    }

    pub fn minuti(&self) -> i64 {
        self.dichiarazione.minuti()
    }

    pub fn confermata(&self) -> bool {
        self.confermata_il.is_some()
    }

    /// When the work is over (Rome): a CPO's end; the end of the last day of an agricultural
    /// window; the end of an LF's day (LF declares a day and a duration, no times).
    pub fn fine_lavoro(&self) -> DateTime<Utc> {
        match &self.dichiarazione.lavoro {
            Lavoro::Cpo(c) => match c.tempo {
                TempoCpo::Orario { fine, .. } => fine,
                TempoCpo::Finestra { al, .. } => end_of_day_exclusive(al),
            },
            Lavoro::Lf(lf) => end_of_day_exclusive(lf.data),
        }
    }

    /// PRE-10: the wallet reserved the cost.
    pub fn accetta(&mut self, adesso: DateTime<Utc>) -> Result<(), Errore> {
        self.stato = self.stato.transition(Evento::Accetta)?;
        self.accettata_il = Some(adesso);
        Ok(())
    }

    /// PRE-10: the wallet refused; its quotas are to be given back.
    pub fn rifiuta(&mut self, rifiuto: Rifiuto) -> Result<(), Errore> {
        self.stato = self.stato.transition(Evento::Rifiuta)?;
        self.rifiuto = Some(rifiuto);
        Ok(())
    }

    /// PRE-11, PRE-12: revoked before the prestatore confirms and by the end of the year's days
    /// after the prestazione (`regole`: the rules of its year).
    pub fn revoca(&mut self, regole: &Regole, adesso: DateTime<Utc>, motivo: &str) -> Result<(), Errore> {
        if self.confermata() {
            return Err(Errore::RevocaDiConfermata);
        }
        if adesso >= end_of_nth_day_after(self.data(), regole.giorni_revoca as u32) {
            return Err(Errore::RevocaScaduta {
                giorni_revoca: regole.giorni_revoca,
            });
        }
        self.stato = self.stato.transition(Evento::Revoca)?;
        self.revoca = Some(Revoca {
            il: adesso,
            motivo: motivo.to_string(),
        });
        Ok(())
    }

    /// PRE-12: the prestatore confirms, once the work is over, what is due or paid. `false`: it
    /// was confirmed already.
    pub fn conferma(&mut self, adesso: DateTime<Utc>) -> Result<bool, Errore> {
        if self.confermata() {
            return Ok(false);
        }
        if !matches!(self.stato, Stato::Accepted | Stato::Contested | Stato::Paid) {
            return Err(Errore::NonConfermabile(self.stato));
        }
        let fine = self.fine_lavoro();
        if adesso < fine {
            return Err(Errore::NonAncoraSvolta { fine });
        }
        self.confermata_il = Some(adesso);
        Ok(true)
    }

    /// PRE-14: whether a contest can be asked: `false` when it is contested already.
    pub fn contestabile(&self) -> Result<bool, Errore> {
        match self.stato {
            Stato::Contested => Ok(false),
            Stato::Revoked => Ok(true),
            _ => Err(Errore::NonRevocata),
        }
    }

    /// PRE-14, PRE-15: the revoca contested: due again, its quotas taken again.
    pub fn contesta(&mut self, adesso: DateTime<Utc>, nota: &str) -> Result<(), Errore> {
        self.stato = self.stato.transition(Evento::Contesta)?;
        self.contestazione = Some(Contestazione {
            il: adesso,
            nota: nota.to_string(),
        });
        Ok(())
    }

    /// POR-5: paid by a payout order.
    pub fn paga(&mut self, il: DateTime<Utc>, payout_order_id: &str) -> Result<(), Errore> {
        self.stato = self.stato.transition(Evento::Paga)?;
        self.pagamento = Some(Pagata {
            il,
            payout_order_id: payout_order_id.to_string(),
        });
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::dichiarazione::{AttivitaLf, LavoroCpo, LavoroLf, Luogo};
    use crate::domain::regole::semi;

    fn con(lavoro: Lavoro) -> Prestazione {
        let regole = semi().into_iter().rev().find(|r| r.anno <= 2026).unwrap();
        let d = Dichiarazione {
            utilizzatore_cf: "00743110157".into(),
            prestatore_cf: "RSSMRA80A01H501U".into(),
            luogo: Luogo::default(),
            lavoro,
            compenso: None,
            appalto: false,
            rapporto_recente: false,
        };
        let i = Inserimento {
            id: "pre_1".into(),
            request_id: "r".into(),
            inserita_da_cf: "00743110157".into(),
            costo: regole.costo_lf(1),
            quote: Vec::new(),
            sedi: Sedi::default(),
        };
        Prestazione::nuova(d, i, &regole, "2026-06-01T00:00:00Z".parse().unwrap())
    }

    fn giorno(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cpo(tempo: TempoCpo) -> Lavoro {
        Lavoro::Cpo(LavoroCpo {
            descrizione: String::new(),
            tempo,
            finalita_pa: None,
        })
    }

    #[test]
    fn pre_12_work_ends_at_cpo_fine_or_at_the_end_of_the_rome_day() {
        let fine: DateTime<Utc> = "2026-06-16T11:00:00Z".parse().unwrap();
        let orario = con(cpo(TempoCpo::Orario {
            inizio: "2026-06-16T07:00:00Z".parse().unwrap(),
            fine,
        }));
        assert_eq!(orario.fine_lavoro(), fine);
        // LF: a day and a duration; the work is over at midnight Rome (22:00 UTC in summer).
        let lf = con(Lavoro::Lf(LavoroLf {
            attivita: AttivitaLf::LavoriDomestici,
            data: giorno("2026-06-16"),
            minuti: 60,
            titoli: 1,
        }));
        assert_eq!(
            lf.fine_lavoro(),
            "2026-06-16T22:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Agricultural window: the end of its last day (winter: 23:00 UTC).
        let finestra = con(cpo(TempoCpo::Finestra {
            dal: giorno("2022-01-10"),
            al: giorno("2022-01-12"),
            minuti: 480,
        }));
        assert_eq!(
            finestra.fine_lavoro(),
            "2022-01-12T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn pre_11_pre_12_a_confirmed_prestazione_is_not_revoked() {
        let regole = semi().into_iter().rev().find(|r| r.anno <= 2026).unwrap();
        let mut p = con(Lavoro::Lf(LavoroLf {
            attivita: AttivitaLf::LavoriDomestici,
            data: giorno("2026-06-16"),
            minuti: 60,
            titoli: 1,
        }));
        let prima: DateTime<Utc> = "2026-06-16T10:00:00Z".parse().unwrap();
        assert_eq!(p.conferma(prima), Err(Errore::NonConfermabile(Stato::Pending)));
        p.accetta(prima).unwrap();
        assert!(matches!(p.conferma(prima), Err(Errore::NonAncoraSvolta { .. })));
        let dopo: DateTime<Utc> = "2026-06-17T10:00:00Z".parse().unwrap();
        assert_eq!(p.conferma(dopo), Ok(true));
        assert_eq!(p.conferma(dopo), Ok(false));
        assert_eq!(p.revoca(&regole, dopo, ""), Err(Errore::RevocaDiConfermata));
    }
}
