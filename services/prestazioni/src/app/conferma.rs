//! The prestatore confirming that the work took place (PRE-12): no longer revocable.

use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};

use super::{App, carica_per_aggiornare};
use crate::domain::errore::AzionePrestatore;
use crate::domain::{Prestazione, accesso};
use crate::events;
use crate::store;

impl App {
    /// PRE-12.
    pub async fn conferma(&self, id: &Identity, prestazione_id: &str) -> Result<Prestazione, AppError> {
        let p = self.prestazione(id, prestazione_id).await?;
        accesso::lato_prestatore(id, &p, AzionePrestatore::Conferma)?;
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        let mut p = carica_per_aggiornare(&txn, prestazione_id).await?;
        if !p.conferma(adesso)? {
            txn.commit().await?;
            return Ok(p);
        }
        store::prestazioni::aggiorna(&txn, &p).await?;
        events::confermata(&txn, &p, adesso).await?;
        txn.commit().await?;
        Ok(p)
    }
}
