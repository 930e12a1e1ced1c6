//! The registry's commands and queries: authorize (domain) → read → decide (domain) → persist
//! (store, one transaction with its history entry and outbox event). No tonic here: the gRPC
//! adapter (`api.rs`) decodes requests into domain values and encodes the results.

mod consultazioni;
mod estrazioni;
mod modifiche;
mod registrazioni;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::{SharedClock, calendar};
use occasionali_runtime::{AppError, Identity};
use sea_orm::DatabaseConnection;

use crate::domain::Soggetto;
use crate::domain::accesso::{self, Accesso};
use crate::prestazioni::PrestazioniClient;
use crate::store;

pub use estrazioni::Righe;
pub use modifiche::Correzione;

/// The registry context, shared by the public and the internal gRPC services.
#[derive(Clone)]
pub struct Anagrafica {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub prestazioni: PrestazioniClient,
}

impl Anagrafica {
    pub fn ora(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn oggi(&self) -> NaiveDate {
        calendar::rome_date(self.ora())
    }

    /// GW-5: records an operator's read (the original client for system calls). Reads by the
    /// subject itself are not operator actions and are not recorded.
    async fn traccia(&self, id: &Identity, azione: &str, cf: &str, dettaglio: &str) -> Result<(), AppError> {
        if !id.author().is_operator() {
            return Ok(());
        }
        store::registra_accesso(&self.db, self.ora(), id, azione, cf, dettaglio).await
    }

    /// A subject the caller may read (`cf` as decoded: trimmed, upper case), or the right
    /// refusal (ANA-8).
    async fn leggibile(&self, id: &Identity, cf: &str) -> Result<(Soggetto, Accesso), AppError> {
        match store::carica(&self.db, cf).await? {
            Some(s) => {
                let a = accesso::accesso(id, &s)?;
                Ok((s, a))
            }
            None => Err(accesso::sconosciuto(id, cf).into()),
        }
    }
}
