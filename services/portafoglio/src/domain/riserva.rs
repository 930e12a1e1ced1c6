//! POR-4: the cost of a prestazione is reserved when it is accepted (PRE-10), released on revoca
//! (PRE-11) and consumed by the payout (POR-5); PRE-15's reinstatement may book the part not
//! covered by funds as an explicit wallet debt (POR-8). Every step is idempotent on the
//! prestazione id.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::Euro;

use super::conti::{
    Causale, Conto, PortafoglioRef, SaldiPortafoglio, Scritture, TipoConto, accredita_disponibile,
    differenza, somma,
};
use super::errore::Errore;

/// Cost of a prestazione and its split (PRE-1 figures, rule table PRE-20); `totale` is the sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costo {
    pub compenso: Euro,
    pub contributi_ivs: Euro,
    pub premio_inail: Euro,
    pub oneri_gestione: Euro,
    pub totale: Euro,
}

impl Costo {
    /// The sum of the components, or `None` on overflow.
    pub fn somma_componenti(compenso: Euro, ivs: Euro, inail: Euro, oneri: Euro) -> Option<Euro> {
        Euro::checked_sum([compenso, ivs, inail, oneri])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatoRiserva {
    Riservata,
    Rilasciata,
    Consumata,
}

impl StatoRiserva {
    pub fn code(self) -> &'static str {
        match self {
            StatoRiserva::Riservata => "RESERVED",
            StatoRiserva::Rilasciata => "RELEASED",
            StatoRiserva::Consumata => "CONSUMED",
        }
    }

    pub fn from_code(s: &str) -> Option<StatoRiserva> {
        match s {
            "RESERVED" => Some(StatoRiserva::Riservata),
            "RELEASED" => Some(StatoRiserva::Rilasciata),
            "CONSUMED" => Some(StatoRiserva::Consumata),
            _ => None,
        }
    }
}

/// A reservation, keyed by prestazione id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Riserva {
    pub prestazione_id: String,
    pub portafoglio: PortafoglioRef,
    pub prestatore_cf: String,
    pub data_prestazione: NaiveDate,
    pub costo: Costo,
    pub stato: StatoRiserva,
    /// Part of the cost booked as wallet debt by the last reinstatement (PRE-15).
    pub debito: Euro,
    pub riservata_il: DateTime<Utc>,
    /// The last release.
    pub rilasciata_il: Option<DateTime<Utc>>,
    pub consumata_il: Option<DateTime<Utc>>,
    pub payout_order_id: Option<String>,
}

/// What the caller asks to reserve (decoded, valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RichiestaRiserva {
    pub prestazione_id: String,
    pub portafoglio: PortafoglioRef,
    pub prestatore_cf: String,
    pub data_prestazione: NaiveDate,
    pub costo: Costo,
    /// PRE-15: re-reserve after a contested revoca, booking any shortfall as debt.
    pub reintegro: bool,
}

impl Riserva {
    /// Same prestazione, same wallet, prestatore, date and cost: a retry, not a new request.
    pub fn stesso_contenuto(&self, r: &RichiestaRiserva) -> bool {
        self.portafoglio == r.portafoglio
            && self.prestatore_cf == r.prestatore_cf
            && self.data_prestazione == r.data_prestazione
            && self.costo == r.costo
    }
}

/// A new reservation from a request (the fast path: the store then moves the cost from the
/// available to the reserved balance with a conditional update).
pub fn nuova(r: &RichiestaRiserva, ora: DateTime<Utc>) -> Riserva {
    Riserva {
        prestazione_id: r.prestazione_id.clone(),
        portafoglio: r.portafoglio.clone(),
        prestatore_cf: r.prestatore_cf.clone(),
        data_prestazione: r.data_prestazione,
        costo: r.costo,
        stato: StatoRiserva::Riservata,
        debito: Euro::ZERO,
        riservata_il: ora,
        rilasciata_il: None,
        consumata_il: None,
        payout_order_id: None,
    }
}

/// The movement of a plain reservation: available → reserved.
pub fn scritture_riserva(r: &Riserva) -> Result<Scritture, Errore> {
    let mut s = Scritture::new();
    s.sposta(
        Conto::disponibile(&r.portafoglio),
        Conto::riservato(&r.portafoglio),
        r.costo.totale,
        Causale::Riserva,
        &r.prestazione_id,
    )?;
    Ok(s)
}

/// POR-4 / POR-8 refusal: a debt blocks new prestazioni, else the available funds do not
/// cover the cost. Both carry the amounts the caller is told.
pub fn fondi_insufficienti(saldi: &SaldiPortafoglio, necessario: Euro) -> Errore {
    let (disponibile, debito) = (saldi.disponibile, saldi.debito);
    if debito.is_positive() {
        Errore::InDebito {
            disponibile,
            necessario,
            debito,
        }
    } else {
        Errore::FondiInsufficienti {
            disponibile,
            necessario,
            debito,
        }
    }
}

/// What to do with a ReserveFunds on a prestazione that already has a reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ripetizione {
    /// A retry: answer the reservation as it is, post nothing.
    Invariata,
    /// PRE-15: a released reservation is reinstated (see [`reintegra`]).
    Reintegro,
}

pub fn ripetizione(esistente: &Riserva, r: &RichiestaRiserva) -> Result<Ripetizione, Errore> {
    if !esistente.stesso_contenuto(r) {
        return Err(Errore::ConflittoRiserva);
    }
    Ok(match (esistente.stato, r.reintegro) {
        (StatoRiserva::Rilasciata, true) => Ripetizione::Reintegro,
        _ => Ripetizione::Invariata,
    })
}

/// PRE-15 / POR-8: reserve the cost from what is available and book the rest as debt, so the
/// prestazione is paid with the month's payout even without funds. `esistente` is the released
/// reservation being reinstated, if any. Returns the reservation and whether a debt was created.
pub fn reintegra(
    r: &RichiestaRiserva,
    esistente: Option<Riserva>,
    saldi: &mut SaldiPortafoglio,
    ora: DateTime<Utc>,
) -> Result<(Riserva, Scritture), Errore> {
    let mut riserva = match esistente {
        Some(e) => {
            if !e.stesso_contenuto(r) {
                return Err(Errore::ConflittoRiserva);
            }
            e
        }
        None => nuova(r, ora),
    };
    let w = riserva.portafoglio.clone();
    let totale = riserva.costo.totale;
    let da_fondi = saldi.disponibile.min(totale);
    let a_debito = differenza(totale, da_fondi)?;
    let mut s = Scritture::new();
    s.sposta(
        Conto::disponibile(&w),
        Conto::riservato(&w),
        da_fondi,
        Causale::Riserva,
        &riserva.prestazione_id,
    )?;
    s.sposta(
        Conto::debito(&w),
        Conto::riservato(&w),
        a_debito,
        Causale::Debito,
        &riserva.prestazione_id,
    )?;
    saldi.disponibile = differenza(saldi.disponibile, da_fondi)?;
    saldi.debito = somma(saldi.debito, a_debito)?;
    saldi.riservato = somma(saldi.riservato, totale)?;
    riserva.stato = StatoRiserva::Riservata;
    riserva.debito = a_debito;
    riserva.riservata_il = ora;
    riserva.consumata_il = None;
    riserva.payout_order_id = None;
    Ok((riserva, s))
}

/// Outcome of a release or a consumption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Esito {
    /// Already done: answer the reservation as it is.
    Invariata(Riserva),
    /// Changed, with the movements to post.
    Cambiata(Riserva, Scritture),
}

/// POR-4 / PRE-11: a reserved cost goes back to the available balance (covering any debt
/// first). A second release answers the released reservation; a consumed one cannot be released.
pub fn rilascia(mut r: Riserva, saldi: &mut SaldiPortafoglio, ora: DateTime<Utc>) -> Result<Esito, Errore> {
    match r.stato {
        StatoRiserva::Rilasciata => Ok(Esito::Invariata(r)),
        StatoRiserva::Consumata => Err(Errore::RiservaGiaConsumata),
        StatoRiserva::Riservata => {
            let w = r.portafoglio.clone();
            let mut s = Scritture::new();
            saldi.riservato = differenza(saldi.riservato, r.costo.totale)?;
            accredita_disponibile(
                &mut s,
                saldi,
                &w,
                Conto::riservato(&w),
                r.costo.totale,
                Causale::Rilascio,
                &r.prestazione_id,
            )?;
            r.stato = StatoRiserva::Rilasciata;
            r.rilasciata_il = Some(ora);
            r.debito = Euro::ZERO;
            Ok(Esito::Cambiata(r, s))
        }
    }
}

/// The movements that spend a reservation: its cost leaves the wallet's reserved balance for
/// the prestatori's compensations, the Gestione Separata, INAIL and the management fee (POR-5).
pub fn scritture_consumo(r: &Riserva, s: &mut Scritture) -> Result<(), Errore> {
    let w = &r.portafoglio;
    let c = &r.costo;
    for (tipo, importo) in [
        (TipoConto::CompensiPrestatori, c.compenso),
        (TipoConto::GestioneSeparata, c.contributi_ivs),
        (TipoConto::Inail, c.premio_inail),
        (TipoConto::OneriGestione, c.oneri_gestione),
    ] {
        s.sposta(
            Conto::riservato(w),
            Conto::Piattaforma(tipo),
            importo,
            Causale::Consumo,
            &r.prestazione_id,
        )?;
    }
    Ok(())
}

/// POR-4 / POR-5: the payout spends a reservation. Consuming it again for the same payout
/// order answers it as it is; for another order, or once released, it is refused.
pub fn consuma(mut r: Riserva, payout_order_id: &str, ora: DateTime<Utc>) -> Result<Esito, Errore> {
    match r.stato {
        StatoRiserva::Consumata if r.payout_order_id.as_deref() == Some(payout_order_id) => {
            Ok(Esito::Invariata(r))
        }
        StatoRiserva::Consumata => Err(Errore::ConsumataDaAltroOrdine),
        StatoRiserva::Rilasciata => Err(Errore::RiservaRilasciata),
        StatoRiserva::Riservata => {
            let mut s = Scritture::new();
            scritture_consumo(&r, &mut s)?;
            r.stato = StatoRiserva::Consumata;
            r.consumata_il = Some(ora);
            r.payout_order_id = Some(payout_order_id.to_string());
            Ok(Esito::Cambiata(r, s))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::conti::TipoPortafoglio;

    fn e(s: &str) -> Euro {
        Euro::parse(s).unwrap()
    }

    fn ora() -> DateTime<Utc> {
        "2026-06-15T10:00:00Z".parse().unwrap()
    }

    fn costo() -> Costo {
        Costo {
            compenso: e("36.00"),
            contributi_ivs: e("11.88"),
            premio_inail: e("1.26"),
            oneri_gestione: e("0.49"),
            totale: e("49.63"),
        }
    }

    fn richiesta(reintegro: bool) -> RichiestaRiserva {
        RichiestaRiserva {
            prestazione_id: "prest_1".into(),
            portafoglio: PortafoglioRef::new("00743110157", TipoPortafoglio::Cpo),
            prestatore_cf: "RSSMRA85T10A562S".into(),
            data_prestazione: NaiveDate::from_ymd_opt(2026, 6, 10).unwrap(),
            costo: costo(),
            reintegro,
        }
    }

    #[test]
    fn por_4_cost_split_sums() {
        assert_eq!(
            Costo::somma_componenti(e("36.00"), e("11.88"), e("1.26"), e("0.49")),
            Some(e("49.63"))
        );
    }

    #[test]
    fn por_4_retry_is_unchanged_and_other_content_is_refused() {
        let r = nuova(&richiesta(false), ora());
        assert_eq!(
            ripetizione(&r, &richiesta(false)).unwrap(),
            Ripetizione::Invariata
        );
        let mut other = richiesta(false);
        other.costo.totale = e("49.64");
        assert!(ripetizione(&r, &other).is_err());
        let mut released = r.clone();
        released.stato = StatoRiserva::Rilasciata;
        assert_eq!(
            ripetizione(&released, &richiesta(false)).unwrap(),
            Ripetizione::Invariata
        );
        assert_eq!(
            ripetizione(&released, &richiesta(true)).unwrap(),
            Ripetizione::Reintegro
        );
    }

    #[test]
    fn pre_15_reinstatement_books_the_shortfall_as_debt() {
        let mut saldi = SaldiPortafoglio {
            disponibile: e("10.00"),
            ..Default::default()
        };
        let (r, s) = reintegra(&richiesta(true), None, &mut saldi, ora()).unwrap();
        assert_eq!(r.debito, e("39.63"));
        assert_eq!(saldi.disponibile, Euro::ZERO);
        assert_eq!(saldi.debito, e("39.63"));
        assert_eq!(saldi.riservato, e("49.63"));
        assert_eq!(s.movimenti.len(), 2);
        // Releasing gives back the whole cost, which covers the debt first.
        let mut saldi2 = saldi;
        let Esito::Cambiata(r2, s2) = rilascia(r, &mut saldi2, ora()).unwrap() else {
            panic!("changed")
        };
        assert_eq!(r2.stato, StatoRiserva::Rilasciata);
        assert_eq!(saldi2.disponibile, e("10.00"));
        assert_eq!(saldi2.debito, Euro::ZERO);
        assert_eq!(s2.movimenti.len(), 2);
    }

    #[test]
    fn por_4_consume_is_idempotent_per_order() {
        let r = nuova(&richiesta(false), ora());
        let Esito::Cambiata(c, s) = consuma(r, "pay_1", ora()).unwrap() else {
            panic!("changed")
        };
        assert_eq!(s.movimenti.len(), 4);
        assert!(matches!(
            consuma(c.clone(), "pay_1", ora()),
            Ok(Esito::Invariata(_))
        ));
        assert!(consuma(c.clone(), "pay_2", ora()).is_err());
        let mut saldi = SaldiPortafoglio::default();
        assert!(rilascia(c, &mut saldi, ora()).is_err());
    }

    #[test]
    fn por_8_refusal_names_debt_or_funds() {
        let s = SaldiPortafoglio {
            disponibile: e("1.00"),
            ..Default::default()
        };
        let err = fondi_insufficienti(&s, e("12.41"));
        assert!(format!("{err}").contains("12.41"));
        assert_eq!(err.regola(), Some("POR-4"));
        let s = SaldiPortafoglio {
            debito: e("5.00"),
            ..Default::default()
        };
        let err = fondi_insufficienti(&s, e("12.41"));
        assert_eq!(err.regola(), Some("POR-8"));
        match err {
            Errore::InDebito { debito, .. } => assert_eq!(debito.to_string(), "5.00"),
            other => panic!("{other:?}"),
        }
    }
}
