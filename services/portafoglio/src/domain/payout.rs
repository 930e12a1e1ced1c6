//! POR-5: the monthly payout. On the 15th of each month (Rome), every reservation of the
//! previous month still RESERVED (due, not revoked) is consumed; each prestatore gets one
//! payout order summing its prestazioni, paid to its payment method; the contributions, INAIL
//! premium and management fee go to their accounts. A month is paid once.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use occasionali_kernel::{Euro, calendar};

use super::conti::{Causale, Conto, Scritture, TipoConto, differenza, somma};
use super::errore::{Errore, traboccamento};
use super::registro::MetodoPagamento;
use super::riserva::{Riserva, StatoRiserva, scritture_consumo};

/// Day of the month payouts are made (the 15th of the month after the prestazioni).
pub const GIORNO_PAGAMENTO: u32 = 15;

/// POR-5 rule table: fee withheld from the worker for a bonifico domiciliato (cash at a post
/// office), by calendar year of payment, in cents: (first year it applies, fee). A new figure
/// is a new row.
const COMMISSIONE_BONIFICO_DOMICILIATO: [(i32, i64); 1] = [(2017, 260)];

/// The bonifico domiciliato fee in force in `anno` (the year of the payment date).
pub fn commissione_bonifico_domiciliato(anno: i32) -> Euro {
    let cents = COMMISSIONE_BONIFICO_DOMICILIATO
        .iter()
        .rev()
        .find(|(dal, _)| *dal <= anno)
        .or(COMMISSIONE_BONIFICO_DOMICILIATO.first())
        .map(|(_, c)| *c)
        .unwrap_or(0);
    Euro::from_cents(cents)
}

/// The value date of a month's payout: the 15th of the following month.
pub fn data_pagamento(anno: i32, mese: u32) -> Result<NaiveDate, Errore> {
    let primo = NaiveDate::from_ymd_opt(anno, mese, 1).ok_or(Errore::MeseNonValido)?;
    Ok(calendar::day_of_month_next_month(primo, GIORNO_PAGAMENTO))
}

/// A month can be paid from its payment day on (Rome calendar): before it, late LF
/// declarations (PRE-2) and contestazioni (PRE-14) may still change what is due.
pub fn verifica_mese(anno: i32, mese: u32, oggi: NaiveDate) -> Result<NaiveDate, Errore> {
    let data = data_pagamento(anno, mese)?;
    if oggi < data {
        return Err(Errore::PayoutPrematuro { anno, mese, data });
    }
    Ok(data)
}

/// The month the scheduler pays on `oggi`: the previous month, from the 15th on.
pub fn mese_dovuto(oggi: NaiveDate) -> Option<(i32, u32)> {
    if oggi.day() < GIORNO_PAGAMENTO {
        return None;
    }
    Some(if oggi.month() == 1 {
        (oggi.year() - 1, 12)
    } else {
        (oggi.year(), oggi.month() - 1)
    })
}

/// `yyyymm`, the key reservations are grouped by.
pub fn chiave_mese(anno: i32, mese: u32) -> i64 {
    i64::from(anno) * 100 + i64::from(mese)
}

/// One payout order: one prestatore, one month (POR-5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrdinePagamento {
    pub id: String,
    pub prestatore_cf: String,
    pub anno: i32,
    pub mese: u32,
    pub data_pagamento: NaiveDate,
    /// The consumed reservations it pays.
    pub righe: Vec<Riserva>,
    pub importo_lordo: Euro,
    pub commissione: Euro,
    pub importo_netto: Euro,
    pub metodo: MetodoPagamento,
    /// The prestatore's sede when paid (operators' scope).
    pub sede: String,
    pub eseguito_il: DateTime<Utc>,
}

impl OrdinePagamento {
    pub fn totale_ivs(&self) -> Result<Euro, Errore> {
        Euro::checked_sum(self.righe.iter().map(|r| r.costo.contributi_ivs)).ok_or_else(traboccamento)
    }

    pub fn totale_inail(&self) -> Result<Euro, Errore> {
        Euro::checked_sum(self.righe.iter().map(|r| r.costo.premio_inail)).ok_or_else(traboccamento)
    }

    pub fn totale_oneri(&self) -> Result<Euro, Errore> {
        Euro::checked_sum(self.righe.iter().map(|r| r.costo.oneri_gestione)).ok_or_else(traboccamento)
    }
}

/// Everything a prestatore is owed for a month, in one order: consumes `riserve` (the still
/// RESERVED ones; others are ignored), withholds the bonifico domiciliato fee, and returns the
/// movements. `None` when nothing is due.
#[allow(clippy::too_many_arguments)]
pub fn ordine(
    id: String,
    prestatore_cf: &str,
    anno: i32,
    mese: u32,
    riserve: Vec<Riserva>,
    metodo: MetodoPagamento,
    sede: &str,
    ora: DateTime<Utc>,
) -> Result<Option<(OrdinePagamento, Scritture)>, Errore> {
    let data = data_pagamento(anno, mese)?;
    let mut s = Scritture::new();
    let mut righe = Vec::new();
    let mut lordo = Euro::ZERO;
    for mut r in riserve {
        if r.stato != StatoRiserva::Riservata || r.prestatore_cf != prestatore_cf {
            continue;
        }
        scritture_consumo(&r, &mut s)?;
        lordo = somma(lordo, r.costo.compenso)?;
        r.stato = StatoRiserva::Consumata;
        r.consumata_il = Some(ora);
        r.payout_order_id = Some(id.clone());
        righe.push(r);
    }
    if righe.is_empty() {
        return Ok(None);
    }
    righe.sort_by(|a, b| {
        (a.data_prestazione, &a.prestazione_id).cmp(&(b.data_prestazione, &b.prestazione_id))
    });
    let commissione = match metodo {
        MetodoPagamento::BonificoDomiciliato => commissione_bonifico_domiciliato(data.year()).min(lordo),
        _ => Euro::ZERO,
    };
    s.sposta(
        Conto::Piattaforma(TipoConto::CompensiPrestatori),
        Conto::Piattaforma(TipoConto::CommissioniBonificoDomiciliato),
        commissione,
        Causale::Pagamento,
        &id,
    )?;
    let netto = differenza(lordo, commissione)?;
    Ok(Some((
        OrdinePagamento {
            id,
            prestatore_cf: prestatore_cf.to_string(),
            anno,
            mese,
            data_pagamento: data,
            righe,
            importo_lordo: lordo,
            commissione,
            importo_netto: netto,
            metodo,
            sede: sede.to_string(),
            eseguito_il: ora,
        },
        s,
    )))
}

/// What one payout run did (POR-5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EsitoPayout {
    pub anno: i32,
    pub mese: u32,
    pub gia_eseguito: bool,
    pub numero_ordini: i64,
    pub numero_prestazioni: i64,
    pub totale_netto: Euro,
    pub totale_ivs: Euro,
    pub totale_inail: Euro,
    pub totale_oneri: Euro,
    pub totale_commissioni: Euro,
    pub eseguito_il: Option<DateTime<Utc>>,
    /// Prestatori that could not be paid (not registered as prestatori): the month stays open.
    pub non_pagati: i64,
}

impl EsitoPayout {
    pub fn aggiungi(&mut self, o: &OrdinePagamento) -> Result<(), Errore> {
        self.numero_ordini += 1;
        self.numero_prestazioni += o.righe.len() as i64;
        self.totale_netto = somma(self.totale_netto, o.importo_netto)?;
        self.totale_ivs = somma(self.totale_ivs, o.totale_ivs()?)?;
        self.totale_inail = somma(self.totale_inail, o.totale_inail()?)?;
        self.totale_oneri = somma(self.totale_oneri, o.totale_oneri()?)?;
        self.totale_commissioni = somma(self.totale_commissioni, o.commissione)?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::conti::{PortafoglioRef, TipoPortafoglio};
    use crate::domain::riserva::Costo;

    fn d(y: i32, m: u32, g: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, g).unwrap()
    }

    fn ora() -> DateTime<Utc> {
        "2026-07-15T10:00:00Z".parse().unwrap()
    }

    fn riserva(id: &str, prestatore: &str, compenso: i64) -> Riserva {
        Riserva {
            prestazione_id: id.into(),
            portafoglio: PortafoglioRef::new("00743110157", TipoPortafoglio::Cpo),
            prestatore_cf: prestatore.into(),
            data_prestazione: d(2026, 6, 10),
            costo: Costo {
                compenso: Euro::from_cents(compenso),
                contributi_ivs: Euro::from_cents(100),
                premio_inail: Euro::from_cents(10),
                oneri_gestione: Euro::from_cents(5),
                totale: Euro::from_cents(compenso + 115),
            },
            stato: StatoRiserva::Riservata,
            debito: Euro::ZERO,
            riservata_il: ora(),
            rilasciata_il: None,
            consumata_il: None,
            payout_order_id: None,
        }
    }

    #[test]
    fn por_5_payment_day_and_scheduler_month() {
        assert_eq!(data_pagamento(2026, 6).unwrap(), d(2026, 7, 15));
        assert_eq!(data_pagamento(2026, 12).unwrap(), d(2027, 1, 15));
        assert!(data_pagamento(2026, 13).is_err());
        assert!(verifica_mese(2026, 6, d(2026, 7, 14)).is_err());
        assert!(verifica_mese(2026, 6, d(2026, 7, 15)).is_ok());
        assert_eq!(mese_dovuto(d(2026, 7, 14)), None);
        assert_eq!(mese_dovuto(d(2026, 7, 15)), Some((2026, 6)));
        assert_eq!(mese_dovuto(d(2027, 1, 31)), Some((2026, 12)));
        assert_eq!(chiave_mese(2026, 6), 202606);
    }

    #[test]
    fn por_5_rule_table_fee() {
        assert_eq!(commissione_bonifico_domiciliato(2026), Euro::from_cents(260));
        assert_eq!(commissione_bonifico_domiciliato(2017), Euro::from_cents(260));
        assert_eq!(commissione_bonifico_domiciliato(2010), Euro::from_cents(260));
    }

    #[test]
    fn por_5_one_order_sums_the_prestatore_s_prestazioni() {
        let mut released = riserva("p3", "A", 900);
        released.stato = StatoRiserva::Rilasciata;
        let riserve = vec![riserva("p1", "A", 3600), riserva("p2", "A", 900), released];
        let (o, s) = ordine(
            "pay_1".into(),
            "A",
            2026,
            6,
            riserve,
            MetodoPagamento::BonificoDomiciliato,
            "RM",
            ora(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.righe.len(), 2);
        assert_eq!(o.importo_lordo, Euro::from_cents(4500));
        assert_eq!(o.commissione, Euro::from_cents(260));
        assert_eq!(o.importo_netto, Euro::from_cents(4240));
        assert_eq!(o.data_pagamento, d(2026, 7, 15));
        // Four consumption movements per prestazione plus the fee.
        assert_eq!(s.movimenti.len(), 9);
        let none = ordine(
            "pay_2".into(),
            "B",
            2026,
            6,
            vec![riserva("p1", "A", 100)],
            MetodoPagamento::BonificoDomiciliato,
            "RM",
            ora(),
        )
        .unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn por_5_fee_never_exceeds_the_gross() {
        let (o, _) = ordine(
            "pay_1".into(),
            "A",
            2026,
            6,
            vec![riserva("p1", "A", 100)],
            MetodoPagamento::BonificoDomiciliato,
            "RM",
            ora(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.commissione, Euro::from_cents(100));
        assert_eq!(o.importo_netto, Euro::ZERO);
    }
}
