//! The context's commands and queries: registry reads first, then one transaction per step, the
//! wallet saga between them (ARCHITECTURE.md: PENDING with the limit share taken → ReserveFunds →
//! ACCEPTED or REJECTED with the share given back). Decisions are the domain's; its refusals
//! become gRPC answers at the edge (`api/errori.rs`).

mod coerenza;
mod conferma;
mod consultazioni;
mod inserimento;
mod payout;
mod recupero;
mod regole;
mod revoca;

use chrono::{DateTime, Utc};
use occasionali_kernel::SharedClock;
use occasionali_runtime::relay::Relay;
use occasionali_runtime::{AppError, Identity};
use sea_orm::DatabaseConnection;

use crate::anagrafica::Registro;
use crate::domain::{Errore, Prestazione, Regole, accesso};
use crate::portafoglio::Portafoglio;
use crate::store;

#[derive(Clone)]
pub struct App {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub registro: Registro,
    pub portafoglio: Portafoglio,
    /// Delivers the saga's commands at once after their commit (the relay task finishes them
    /// whatever happens).
    pub relay: Relay,
}

impl App {
    fn adesso(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// PRE-20: the rules of a year.
    pub async fn regole(&self, anno: i32) -> Result<Regole, AppError> {
        Ok(store::regole(&self.db, anno)
            .await?
            .ok_or(Errore::SenzaRegole { anno })?)
    }

    /// A prestazione the caller may read (PRE-19); to anyone else it does not exist.
    pub async fn prestazione(&self, id: &Identity, prestazione_id: &str) -> Result<Prestazione, AppError> {
        let p = store::prestazioni::carica(&self.db, prestazione_id, false)
            .await?
            .ok_or_else(|| Errore::NonTrovata(prestazione_id.to_string()))?;
        accesso::legge(id, &p)?;
        Ok(p)
    }
}

/// The prestazione `id` locked in `txn`, or not found.
async fn carica_per_aggiornare(
    txn: &impl sea_orm::ConnectionTrait,
    id: &str,
) -> Result<Prestazione, AppError> {
    Ok(store::prestazioni::carica(txn, id, true)
        .await?
        .ok_or_else(|| Errore::NonTrovata(id.to_string()))?)
}
