//! PRE-16: a prestatore's annual statement of compensations and collections.

use std::collections::BTreeMap;

use chrono::Datelike;
use occasionali_kernel::Euro;

use super::dichiarazione::Tipo;
use super::prestazione::Prestazione;
use super::stato::Stato;

/// Counted prestazioni, their compensations and what of them was paid (cents).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Somme {
    pub numero: i64,
    pub compensi: i64,
    pub incassato: i64,
}

impl Somme {
    fn aggiungi(&mut self, compenso: i64, incassato: i64) {
        self.numero += 1;
        self.compensi += compenso;
        self.incassato += incassato;
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Estratto {
    pub totale: Somme,
    pub contributi_ivs: i64,
    pub premi_inail: i64,
    /// By utilizzatore and kind, in that order.
    pub per_utilizzatore: BTreeMap<(String, Tipo), Somme>,
    /// By month (1-12), in order.
    pub per_mese: BTreeMap<u32, Somme>,
}

impl Estratto {
    pub fn da_incassare(&self) -> Euro {
        Euro::from_cents(self.totale.compensi - self.totale.incassato)
    }
}

/// The statement of the year's prestazioni that are due or paid (accepted, contested, paid).
pub fn estratto<'a>(prestazioni: impl IntoIterator<Item = &'a Prestazione>) -> Estratto {
    let mut e = Estratto::default();
    for p in prestazioni {
        let c = p.costo.compenso.cents();
        let pagato = if p.stato == Stato::Paid { c } else { 0 };
        e.totale.aggiungi(c, pagato);
        e.contributi_ivs += p.costo.ivs.cents();
        e.premi_inail += p.costo.inail.cents();
        let chiave = (p.dichiarazione.utilizzatore_cf.clone(), p.dichiarazione.tipo());
        e.per_utilizzatore.entry(chiave).or_default().aggiungi(c, pagato);
        e.per_mese
            .entry(p.data().month())
            .or_default()
            .aggiungi(c, pagato);
    }
    e
}
