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

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Datelike, Utc};
use occasionali_kernel::SharedClock;
use occasionali_kernel::calendar::rome_date;
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
    /// The rules of years already begun, which no publication can change (PRE-20 publishes
    /// only years not begun): read once per process instead of once per check (issue 11).
    pub regole_in_vigore: RegoleInVigore,
}

/// Rule tables by year, for years begun by the clock at the time they were read.
#[derive(Clone, Default)]
pub struct RegoleInVigore(Arc<RwLock<HashMap<i32, Regole>>>);

impl RegoleInVigore {
    fn get(&self, anno: i32) -> Option<Regole> {
        self.0.read().ok()?.get(&anno).cloned()
    }

    fn put(&self, anno: i32, regole: &Regole) {
        if let Ok(mut m) = self.0.write() {
            m.insert(anno, regole.clone());
        }
    }

    /// After a publication in this process: a clock set back (dev) may have made a year
    /// publishable again.
    fn svuota(&self) {
        if let Ok(mut m) = self.0.write() {
            m.clear();
        }
    }
}

impl App {
    fn adesso(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// PRE-20: the rules of a year.
    pub async fn regole(&self, anno: i32) -> Result<Regole, AppError> {
        if let Some(r) = self.regole_in_vigore.get(anno) {
            return Ok(r);
        }
        let r = store::regole(&self.db, anno)
            .await?
            .ok_or(Errore::SenzaRegole { anno })?;
        if anno <= rome_date(self.adesso()).year() {
            self.regole_in_vigore.put(anno, &r);
        }
        Ok(r)
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
