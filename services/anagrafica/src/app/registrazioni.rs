//! ANA-1: registering a subject in a role, new to the registry or already known in another.

use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};
use sea_orm::ConnectionTrait;

use super::Anagrafica;
use crate::domain::modifica::{self, CampoModificato};
use crate::domain::{Registrazione, Soggetto, accesso};
use crate::events;
use crate::store;

impl Anagrafica {
    /// Registers `reg` after the ANA-8 check, with its history entry and event, in one
    /// transaction that holds the stored record (if any) from the check to the write.
    pub async fn registra(
        &self,
        id: &Identity,
        reg: Registrazione,
        nota: &str,
    ) -> Result<Soggetto, AppError> {
        let ora = self.ora();
        let ruolo = reg.ruolo.ruolo();
        let txn = begin_write(&self.db).await?;
        let esistente = store::carica_per_modifica(&txn, &reg.cf).await?;
        let accesso = accesso::accesso_alla_registrazione(id, &reg, esistente.as_ref())?;
        modifica::autorizza_modifica(accesso, &[], nota)?;
        let s = modifica::registra(esistente.clone(), reg, ora)?;
        let campi = scrivi(&txn, esistente.as_ref(), &s).await?;
        let azione = ruolo.azione_registrazione();
        store::registra_modifica(&txn, &s.cf, ora, id, azione, &campi, nota.trim()).await?;
        events::soggetto_modificato(&txn, &s, azione, &campi, ora).await?;
        txn.commit().await?;
        tracing::info!(azione, "registered");
        Ok(s)
    }
}

/// Writes the record, as a new one or as the next version of the stored one; what the history
/// records of it.
async fn scrivi(
    txn: &impl ConnectionTrait,
    prima: Option<&Soggetto>,
    s: &Soggetto,
) -> Result<Vec<CampoModificato>, AppError> {
    match prima {
        Some(p) => {
            store::aggiorna(txn, s, p.versione).await?;
            Ok(modifica::differenze(p, s))
        }
        None => {
            store::inserisci(txn, s).await?;
            Ok(modifica::campi_iniziali(s))
        }
    }
}
