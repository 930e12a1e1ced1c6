//! POR-1 / POR-6: what a wallet holds and how it got there.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::{Euro, calendar};
use occasionali_runtime::db::begin_snapshot;
use occasionali_runtime::{AppError, Identity};

use super::Portafoglio;
use crate::domain::Errore;
use crate::domain::accesso::{self, Ambito};
use crate::domain::riserva::Riserva;
use crate::domain::versamento::Versamento;
use crate::domain::{Conto, PortafoglioRef, SaldiPortafoglio, TipoConto};
use crate::store::conti::{self, MovimentoRegistrato, SaldoConto};
use crate::store::{Pagina, riserve, versamenti};

/// The wallet's summary of a year, before the limits are added (POR-6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatiRiepilogo {
    pub saldi: SaldiPortafoglio,
    pub versamenti: Vec<Versamento>,
    /// Sums transferred in from other versamenti (POR-7): the versamento, amount and when.
    pub trasferimenti: Vec<(Versamento, Euro, DateTime<Utc>)>,
    pub addebiti: Vec<Riserva>,
}

/// One row of the ledger balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RigaBilancio {
    pub tipo: TipoConto,
    pub portafoglio: Option<PortafoglioRef>,
    pub saldo: Euro,
}

/// POR-1: balances and the zero-sum check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bilancio {
    pub righe: Vec<RigaBilancio>,
    /// Sum of every account derived from the journal.
    pub totale: Euro,
    /// Zero sum, and every cached balance equal to its entries.
    pub bilanciato: bool,
    pub numero_movimenti: i64,
}

impl Portafoglio {
    pub async fn riepilogo(
        &self,
        id: &Identity,
        w: &PortafoglioRef,
        anno: i32,
    ) -> Result<DatiRiepilogo, AppError> {
        self.puo_leggere(id, &w.cf, "POR-6").await?;
        let dal = NaiveDate::from_ymd_opt(anno, 1, 1).ok_or(Errore::AnnoNonValido)?;
        let al = NaiveDate::from_ymd_opt(anno, 12, 31).ok_or(Errore::AnnoNonValido)?;
        let (inizio, fine) = calendar::year_bounds(anno);
        Ok(DatiRiepilogo {
            saldi: conti::saldi(&self.db, w).await?,
            versamenti: versamenti::del_portafoglio(&self.db, w, dal, al).await?,
            trasferimenti: versamenti::trasferiti_a(&self.db, w, inizio, fine).await?,
            addebiti: riserve::del_portafoglio(&self.db, w, dal, al).await?,
        })
    }

    pub async fn movimenti(
        &self,
        id: &Identity,
        w: &PortafoglioRef,
        dal: Option<NaiveDate>,
        al: Option<NaiveDate>,
        pagina: Pagina,
    ) -> Result<Vec<MovimentoRegistrato>, AppError> {
        self.puo_leggere(id, &w.cf, "POR-1").await?;
        conti::movimenti(
            &self.db,
            w,
            dal.map(calendar::start_of_day),
            al.map(calendar::end_of_day_exclusive),
            pagina,
        )
        .await
    }

    /// POR-1: account balances (one row per account of `portafoglio`, or per account kind), the
    /// ledger's total and the check that every cached balance equals its entries.
    pub async fn bilancio(
        &self,
        id: &Identity,
        tipi: &[TipoConto],
        portafoglio: Option<&PortafoglioRef>,
    ) -> Result<Bilancio, AppError> {
        match (
            accesso::operatori(id, "POR-1", "the ledger balance")?,
            portafoglio,
        ) {
            (Ambito::Tutto, _) => {}
            (Ambito::Sede(_), Some(w)) => self.puo_leggere(id, &w.cf, "POR-1").await?,
            (Ambito::Sede(_), None) => {
                return Err(Errore::LibroSoloDg.into());
            }
        }
        // One snapshot for the three reads: under load, separate statements would see
        // movements committed between them and report a ledger out of balance that is not.
        let lettura = begin_snapshot(&self.db).await?;
        let (saldi, numero_movimenti) = conti::bilancio(&lettura).await?;
        lettura.commit().await?;
        let (totale, cache, coerente) = quadratura(&saldi)?;
        if !coerente || totale != 0 || cache != 0 {
            tracing::error!(totale, cache, "ledger out of balance (POR-1)");
        }
        let righe = match portafoglio {
            Some(w) => righe_del_portafoglio(&saldi, tipi, w),
            None => righe_per_tipo(&saldi, tipi)?,
        };
        Ok(Bilancio {
            righe,
            totale: Euro::from_cents(totale),
            bilanciato: coerente && totale == 0 && cache == 0,
            numero_movimenti,
        })
    }
}

/// POR-1: the ledger's totals from the entries and from the cached balances, and whether every
/// cached balance equals its entries.
fn quadratura(saldi: &[SaldoConto]) -> Result<(i64, i64, bool), AppError> {
    let mut totale: i64 = 0;
    let mut cache: i64 = 0;
    let mut coerente = true;
    for s in saldi {
        totale = totale
            .checked_add(s.da_movimenti)
            .ok_or_else(|| AppError::internal("ledger amount overflow"))?;
        cache = cache
            .checked_add(s.in_cache)
            .ok_or_else(|| AppError::internal("ledger amount overflow"))?;
        coerente &= s.da_movimenti == s.in_cache;
    }
    Ok((totale, cache, coerente))
}

/// One row per account of the wallet (of the kinds asked, all when none), from its entries.
fn righe_del_portafoglio(saldi: &[SaldoConto], tipi: &[TipoConto], w: &PortafoglioRef) -> Vec<RigaBilancio> {
    let mut righe = Vec::new();
    for t in TipoConto::PORTAFOGLIO {
        let c = Conto::Portafoglio(w.clone(), t);
        if !tipi.is_empty() && !tipi.contains(&c.tipo()) {
            continue;
        }
        let saldo = saldi
            .iter()
            .find(|s| s.conto == c)
            .map(|s| s.da_movimenti)
            .unwrap_or(0);
        righe.push(RigaBilancio {
            tipo: t,
            portafoglio: Some(w.clone()),
            saldo: Euro::from_cents(saldo),
        });
    }
    righe
}

/// One row per account kind (of the kinds asked, all when none), summing every account of it.
fn righe_per_tipo(saldi: &[SaldoConto], tipi: &[TipoConto]) -> Result<Vec<RigaBilancio>, AppError> {
    let mut righe = Vec::new();
    for t in TipoConto::PIATTAFORMA.into_iter().chain(TipoConto::PORTAFOGLIO) {
        if !tipi.is_empty() && !tipi.contains(&t) {
            continue;
        }
        let mut somma: i64 = 0;
        for s in saldi.iter().filter(|s| s.conto.tipo() == t) {
            somma = somma
                .checked_add(s.da_movimenti)
                .ok_or_else(|| AppError::internal("ledger amount overflow"))?;
        }
        righe.push(RigaBilancio {
            tipo: t,
            portafoglio: None,
            saldo: Euro::from_cents(somma),
        });
    }
    Ok(righe)
}
