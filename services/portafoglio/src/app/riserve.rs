//! POR-4: reserve, release and consume a prestazione's cost, idempotent on its id.

use chrono::Datelike;
use occasionali_runtime::{AppError, Identity};
use sea_orm::DbBackend;

use super::{Portafoglio, rollback};
use crate::domain::Conto;
use crate::domain::Errore;
use crate::domain::riserva::{self, Esito, RichiestaRiserva, Ripetizione, Riserva, StatoRiserva};
use crate::events;
use crate::store::{Inserimento, conti, riserve as store};

impl Portafoglio {
    /// POR-4 / PRE-10: reserves the cost, or refuses with the available and needed amounts. A
    /// retry answers the same reservation; the same id with another content is refused.
    pub async fn riserva(&self, id: &Identity, r: RichiestaRiserva) -> Result<Riserva, AppError> {
        self.operatore_per(id, &r.portafoglio.cf, "POR-4", "reserving funds")
            .await?;
        // A retry finds the reservation through its unique key (no read before the write).
        if r.reintegro {
            return self.reintegra(r).await;
        }
        let ora = self.ora();
        let nuova = riserva::nuova(&r, ora);
        let w = nuova.portafoglio.clone();
        let totale = nuova.costo.totale;
        if self.db.get_database_backend() == DbBackend::Postgres {
            let s = riserva::scritture_riserva(&nuova)?;
            return match store::riserva_atomica(&self.db, &nuova, &s, ora).await? {
                store::Esito::Riservata => Ok(nuova),
                store::Esito::Duplicato => {
                    let e = store::carica(&self.db, &r.prestazione_id)
                        .await?
                        .ok_or_else(|| AppError::internal("duplicate reservation not found"))?;
                    self.ripeti(e, r).await
                }
                store::Esito::NonCoperta => {
                    let saldi = conti::saldi(&self.db, &w).await?;
                    Err(riserva::fondi_insufficienti(&saldi, totale).into())
                }
            };
        }
        let txn = self.scrittura().await?;
        if store::inserisci(&*txn, &nuova).await? == Inserimento::Duplicato {
            rollback(txn).await?;
            let e = store::carica(&self.db, &r.prestazione_id)
                .await?
                .ok_or_else(|| AppError::internal("duplicate reservation not found"))?;
            return self.ripeti(e, r).await;
        }
        // The guard: one conditional UPDATE on the available balance (POR-8).
        if !conti::preleva_per_riserva(&*txn, &w, totale).await? {
            rollback(txn).await?;
            let saldi = conti::saldi(&self.db, &w).await?;
            return Err(riserva::fondi_insufficienti(&saldi, totale).into());
        }
        let s = riserva::scritture_riserva(&nuova)?;
        conti::registra(&*txn, &s, ora, &[Conto::disponibile(&w)]).await?;
        txn.commit().await?;
        Ok(nuova)
    }

    async fn ripeti(&self, e: Riserva, r: RichiestaRiserva) -> Result<Riserva, AppError> {
        match riserva::ripetizione(&e, &r)? {
            Ripetizione::Invariata => Ok(e),
            Ripetizione::Reintegro => self.reintegra(r).await,
        }
    }

    /// PRE-15: reinstates a released reservation (or reserves a new one), booking what the
    /// funds do not cover as wallet debt (POR-8).
    async fn reintegra(&self, r: RichiestaRiserva) -> Result<Riserva, AppError> {
        let ora = self.ora();
        let txn = self.scrittura().await?;
        let mut saldi = conti::blocca_uno(&*txn, &r.portafoglio).await?;
        let esistente = store::blocca(&*txn, &r.prestazione_id).await?;
        if let Some(e) = &esistente
            && riserva::ripetizione(e, &r)? == Ripetizione::Invariata
        {
            rollback(txn).await?;
            return Ok(e.clone());
        }
        // PRE-14 / POR-5: a month whose payout has started takes no reinstatement (prestazioni
        // closes the month's contests and waits for their reinstatements before the run starts;
        // this is the wallet's own guard against a late one).
        let (anno, mese) = (r.data_prestazione.year(), r.data_prestazione.month());
        if crate::store::payout::run(&*txn, anno, mese).await?.is_some() {
            rollback(txn).await?;
            return Err(Errore::MeseGiaPagato { anno, mese }.into());
        }
        let prima = esistente.as_ref().map(|e| e.stato);
        let (nuova, s) = riserva::reintegra(&r, esistente, &mut saldi, ora)?;
        match prima {
            Some(p) => store::aggiorna(&*txn, p, &nuova).await?,
            None => {
                if store::inserisci(&*txn, &nuova).await? == Inserimento::Duplicato {
                    rollback(txn).await?;
                    return Err(Errore::Concorrente {
                        regola: "POR-4",
                        messaggio: "the reservation was created concurrently; retry",
                    }
                    .into());
                }
            }
        }
        conti::registra(&*txn, &s, ora, &[]).await?;
        if nuova.debito.is_positive() {
            events::debito_creato(&*txn, &nuova, ora).await?;
        }
        txn.commit().await?;
        if nuova.debito.is_positive() {
            tracing::info!(prestazione = %nuova.prestazione_id, debito = %nuova.debito, "reinstatement created a wallet debt");
        }
        Ok(nuova)
    }

    /// POR-4 / PRE-11: releases a reservation on revoca; idempotent.
    pub async fn rilascia(&self, id: &Identity, prestazione_id: &str) -> Result<Riserva, AppError> {
        let e = self.riserva_esistente(id, prestazione_id).await?;
        if e.stato == StatoRiserva::Rilasciata {
            return Ok(e);
        }
        let ora = self.ora();
        let txn = self.scrittura().await?;
        let mut saldi = conti::blocca_uno(&*txn, &e.portafoglio).await?;
        let e = store::blocca(&*txn, prestazione_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("reservation {prestazione_id}")))?;
        let prima = e.stato;
        match riserva::rilascia(e, &mut saldi, ora)? {
            Esito::Invariata(r) => {
                rollback(txn).await?;
                Ok(r)
            }
            Esito::Cambiata(r, s) => {
                store::aggiorna(&*txn, prima, &r).await?;
                conti::registra(&*txn, &s, ora, &[]).await?;
                txn.commit().await?;
                Ok(r)
            }
        }
    }

    /// POR-4 / POR-5: consumes a reservation for a payout order; idempotent per order.
    pub async fn consuma(
        &self,
        id: &Identity,
        prestazione_id: &str,
        payout_order_id: &str,
    ) -> Result<Riserva, AppError> {
        let e = self.riserva_esistente(id, prestazione_id).await?;
        if e.stato != StatoRiserva::Riservata {
            // Already consumed (same order: the answer; another: refused) or released.
            return match riserva::consuma(e, payout_order_id, self.ora())? {
                Esito::Invariata(r) => Ok(r),
                Esito::Cambiata(..) => Err(AppError::internal("consumed a reservation not reserved")),
            };
        }
        let ora = self.ora();
        let txn = self.scrittura().await?;
        conti::blocca_uno(&*txn, &e.portafoglio).await?;
        let e = store::blocca(&*txn, prestazione_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("reservation {prestazione_id}")))?;
        let prima = e.stato;
        match riserva::consuma(e, payout_order_id, ora)? {
            Esito::Invariata(r) => {
                rollback(txn).await?;
                Ok(r)
            }
            Esito::Cambiata(r, s) => {
                store::aggiorna(&*txn, prima, &r).await?;
                conti::registra(&*txn, &s, ora, &[]).await?;
                txn.commit().await?;
                Ok(r)
            }
        }
    }

    async fn riserva_esistente(&self, id: &Identity, prestazione_id: &str) -> Result<Riserva, AppError> {
        // Authorize before telling whether the reservation exists.
        crate::domain::accesso::operatori(id, "POR-4", "reservations")?;
        let e = store::carica(&self.db, prestazione_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("reservation {prestazione_id}")))?;
        self.operatore_per(id, &e.portafoglio.cf, "POR-4", "reservations")
            .await?;
        Ok(e)
    }
}
