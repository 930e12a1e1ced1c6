//! Revoking a prestazione (PRE-11..PRE-13) and contesting the revoca (PRE-14, PRE-15): each a
//! transaction with its quotas and events, the wallet's step a durable command in it.

use chrono::Datelike;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};

use super::{App, carica_per_aggiornare};
use crate::domain::errore::AzionePrestatore;
use crate::domain::{Errore, Prestazione, Stato, accesso};
use crate::events;
use crate::store;

impl App {
    /// PRE-11, PRE-12, PRE-13.
    pub async fn revoca(
        &self,
        id: &Identity,
        prestazione_id: &str,
        motivo: &str,
    ) -> Result<Prestazione, AppError> {
        let p = self.prestazione(id, prestazione_id).await?;
        accesso::puo_revocare(id, &p)?;
        if p.stato == Stato::Revoked {
            // A retry: the release is the relay's (a durable command since the revocation).
            return Ok(p);
        }
        let regole = self.regole(p.data().year()).await?;
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        let mut p = carica_per_aggiornare(&txn, prestazione_id).await?;
        p.revoca(&regole, adesso, motivo)?;
        store::contatori::restituisci(&txn, &p.quote).await?;
        store::prestazioni::aggiorna(&txn, &p).await?;
        let chiave = events::chiave_rilascio(&p.id);
        events::rilascio(&txn, chiave.clone(), &p, Some(id), adesso).await?;
        events::revocata(&txn, &p, adesso).await?;
        txn.commit().await?;
        // PRE-11: the revocation holds from its commit; the release is a durable command, usually
        // delivered before this answer, else by the relay.
        self.relay.deliver_now(&chiave).await;
        Ok(p)
    }

    /// PRE-14, PRE-15: reserve again (a debt when funds are gone), then CONTESTED and due.
    pub async fn contesta(
        &self,
        id: &Identity,
        prestazione_id: &str,
        nota: &str,
    ) -> Result<Prestazione, AppError> {
        let p = self.prestazione(id, prestazione_id).await?;
        accesso::lato_prestatore(id, &p, AzionePrestatore::Contesta)?;
        if !p.contestabile()? {
            return Ok(p);
        }
        let data = p.data();
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        // PRE-14: decided under the month's lock, so the payout's closing cannot slip between.
        store::mesi::blocca(&txn, data.year(), data.month()).await?;
        if store::mesi::chiuso(&txn, data.year(), data.month())
            .await?
            .is_some()
        {
            return Err(Errore::MesePagato.into());
        }
        let mut p = carica_per_aggiornare(&txn, prestazione_id).await?;
        if p.stato == Stato::Contested {
            txn.commit().await?;
            return Ok(p);
        }
        p.contesta(adesso, nota)?;
        let mut quote = p.quote.clone();
        quote.sort_by(|a, b| a.id.cmp(&b.id));
        for q in &quote {
            store::contatori::aggiungi(&txn, &q.id, q.valore).await?;
        }
        store::prestazioni::aggiorna(&txn, &p).await?;
        events::contestata(&txn, &p, adesso).await?;
        // PRE-15: the wallet reserves again (a debt where funds are gone), after the release the
        // revocation owed: the relay never lets the two cross.
        events::reintegro(&txn, &p, Some(id), adesso).await?;
        txn.commit().await?;
        self.relay.deliver_now(&events::chiave_reintegro(&p.id)).await;
        Ok(p)
    }
}
