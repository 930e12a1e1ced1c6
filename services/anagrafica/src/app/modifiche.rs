//! ANA-6 / ANA-7: the subject's own changes and operators' corrections of a record.

use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};

use super::Anagrafica;
use crate::domain::modifica::{self, Campo, Valore};
use crate::domain::{CategoriaUtilizzatore, Soggetto};
use crate::events;
use crate::store;

/// A change as asked: the new values of the fields named in the mask.
#[derive(Clone, Debug)]
pub struct Correzione {
    /// As decoded: trimmed, upper case.
    pub cf: String,
    pub valori: Vec<(Campo, Valore)>,
    pub nota: String,
    /// The version the caller read (0: whichever is stored).
    pub versione_attesa: i64,
}

impl Anagrafica {
    /// Applies a change the caller may make, with its history entry and event; a change the
    /// record already shows is answered with the record as it is.
    pub async fn modifica(&self, id: &Identity, c: Correzione) -> Result<Soggetto, AppError> {
        let campi: Vec<Campo> = c.valori.iter().map(|(campo, _)| *campo).collect();
        let (letto, accesso) = self.leggibile(id, &c.cf).await?;
        modifica::autorizza_modifica(accesso, &campi, &c.nota)?;
        let nuovo = modifica::applica(letto.clone(), c.valori)?;
        modifica::valida_dopo_correzione(&nuovo)?;
        let diff = modifica::differenze(&letto, &nuovo);
        // The record already says what the request asks: nothing to do, whatever its version. So
        // a retry of a change that took effect (its first answer lost) answers OK, not ABORTED
        // (README, "Retries and what an error means").
        if diff.is_empty() {
            return Ok(letto);
        }
        modifica::verifica_versione(letto.versione, c.versione_attesa)?;
        // ANA-7: ask prestazioni before taking the write lock (no network call inside a
        // transaction); the version check of the update makes sure nothing changed in between.
        if modifica::cambia_settore(&diff) {
            self.verifica_categoria(id, &nuovo).await?;
        }
        let ora = self.ora();
        let nuovo = modifica::nuova_versione(nuovo, &letto, ora);
        let azione = modifica::azione(accesso);
        let txn = begin_write(&self.db).await?;
        store::aggiorna(&txn, &nuovo, letto.versione).await?;
        store::registra_modifica(&txn, &nuovo.cf, ora, id, azione, &diff, c.nota.trim()).await?;
        events::soggetto_modificato(&txn, &nuovo, azione, &diff, ora).await?;
        txn.commit().await?;
        tracing::info!(azione, fields = diff.len(), "record changed");
        Ok(nuovo)
    }

    /// ANA-7: a new categoria or sector of a CPO utilizzatore, against its prestazioni.
    async fn verifica_categoria(&self, id: &Identity, nuovo: &Soggetto) -> Result<(), AppError> {
        let Some(cpo) = &nuovo.utilizzatore_cpo else {
            return Ok(());
        };
        let categoria = cpo.categoria.unwrap_or(CategoriaUtilizzatore::Altro);
        let ateco = cpo.ateco.clone().unwrap_or_default();
        let stato = self
            .prestazioni
            .stato_categoria(&nuovo.cf, categoria, &ateco, id)
            .await?;
        Ok(modifica::decidi_categoria(id, &stato)?)
    }
}
