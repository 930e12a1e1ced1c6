//! The monthly payout's steps, asked by portafoglio (POR-5): close the month to contestazioni,
//! read what is due, mark what was paid.

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;

use super::{App, carica_per_aggiornare};
use crate::domain::{Pagamento, Prestazione, Stato};
use crate::events;
use crate::store;
use crate::store::prestazioni::Filtro;

/// How long the closing waits for the wallet steps still on their way (30 × 100 ms).
const ATTESE: u32 = 30;

impl App {
    /// PRE-14, POR-5: no contest of the month from now; the month's due prestazioni are counted
    /// once the wallet holds exactly them. Answers when the month closed and how many are due.
    pub async fn chiudi_contestazioni(&self, anno: i32, mese: u32) -> Result<(DateTime<Utc>, i64), AppError> {
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        store::mesi::blocca(&txn, anno, mese).await?;
        store::mesi::chiudi(&txn, anno, mese, adesso.timestamp_millis()).await?;
        txn.commit().await?;
        // The wallet must hold exactly the month's due prestazioni before it pays them: the
        // releases and reinstatements still on their way are awaited (briefly), else the payout
        // is told to come back.
        let mut attese = 0;
        loop {
            let n = store::mesi::comandi_in_sospeso(&self.db, anno, mese).await?;
            if n == 0 {
                break;
            }
            if attese >= ATTESE {
                return Err(AppError::Unavailable(format!(
                    "{n} wallet steps of {anno}-{mese:02} are still being delivered: the payout waits for them"
                )));
            }
            attese += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let ms = store::mesi::chiuso(&self.db, anno, mese)
            .await?
            .unwrap_or(adesso.timestamp_millis());
        let dovute = self.dovute(anno, mese, None, 0).await?.len();
        Ok((
            DateTime::from_timestamp_millis(ms).unwrap_or(adesso),
            dovute as i64,
        ))
    }

    /// POR-5: the month's due prestazioni (accepted or contested) in id order, after `dopo`, at
    /// most `limite` (0: all).
    pub async fn dovute(
        &self,
        anno: i32,
        mese: u32,
        dopo: Option<String>,
        limite: u64,
    ) -> Result<Vec<Prestazione>, AppError> {
        store::prestazioni::elenca(
            &self.db,
            &Filtro {
                anno: Some(anno),
                mese: Some(mese),
                stati: vec![Stato::Accepted, Stato::Contested],
                dopo_id: dopo,
                crescente: true,
                limite,
                ..Default::default()
            },
        )
        .await
    }

    /// POR-5, PRE-17: marks a payout order's prestazioni as paid; idempotent on the order id.
    pub async fn segna_pagate(&self, mut pag: Pagamento) -> Result<Vec<Prestazione>, AppError> {
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        let mut out = Vec::new();
        let pagato_il = *pag.pagato_il.get_or_insert(adesso);
        if !store::pagamenti::registra(&txn, &pag).await? {
            txn.rollback().await?;
            for id in &pag.prestazione_ids {
                if let Some(p) = store::prestazioni::carica(&self.db, id, false).await? {
                    out.push(p);
                }
            }
            return Ok(out);
        }
        let mut ids = pag.prestazione_ids.clone();
        ids.sort();
        for id in &ids {
            let mut p = carica_per_aggiornare(&txn, id).await?;
            if p.stato == Stato::Paid {
                out.push(p);
                continue;
            }
            p.paga(pagato_il, &pag.payout_order_id)?;
            store::prestazioni::aggiorna(&txn, &p).await?;
            events::pagata(&txn, &p, &pag.payout_order_id, adesso).await?;
            out.push(p);
        }
        txn.commit().await?;
        Ok(out)
    }
}
