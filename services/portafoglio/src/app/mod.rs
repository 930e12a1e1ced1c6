//! The context's commands and queries: authorize → read → decide (domain) → persist (store,
//! one transaction with its movements and outbox event). No tonic here: the gRPC adapter
//! (`api.rs`) decodes requests into domain values and encodes the results.

mod consultazioni;
mod payout;
mod rimborsi;
mod riserve;
mod storni;
mod versamenti;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::{SharedClock, calendar};
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};
use sea_orm::DatabaseConnection;

use crate::anagrafica::Registro;
use crate::domain::accesso::{self, Ambito};
use crate::prestazioni::Limiti;

pub use versamenti::{CacheRegistro, EsitoDeposito};

/// An empty registry cache for one import (a payer paying many times is looked up once).
pub fn versamenti_cache() -> CacheRegistro {
    CacheRegistro::new()
}

/// The wallet context, shared by the gRPC adapter and the payout scheduler.
#[derive(Clone)]
pub struct Portafoglio {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub registro: Registro,
    pub limiti: Limiti,
    /// Delivers the commands of a committed change at once (the relay task finishes them).
    pub relay: occasionali_runtime::relay::Relay,
}

/// A write transaction; on SQLite, writers queue in the process (`runtime::db::Scrittura`).
pub use occasionali_runtime::db::Scrittura;

impl Portafoglio {
    pub async fn scrittura(&self) -> Result<Scrittura, AppError> {
        Ok(begin_write(&self.db).await?)
    }

    pub fn ora(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn oggi(&self) -> NaiveDate {
        calendar::rome_date(self.ora())
    }

    /// Reading a wallet: its owner (or a delegato), operators of the utilizzatore's sede, DG and
    /// the platform's services.
    pub async fn puo_leggere(&self, id: &Identity, cf: &str, rule: &'static str) -> Result<(), AppError> {
        if accesso::titolare(id, cf) {
            return Ok(());
        }
        match accesso::ambito(id) {
            Some(Ambito::Tutto) => Ok(()),
            Some(Ambito::Sede(s)) => self.nella_sede(id, cf, &s, rule).await,
            None => Err(accesso::non_titolare(rule).into()),
        }
    }

    /// Operators' and the platform's changes to an utilizzatore's wallet: a sede operator only
    /// within its sede (per anagrafica).
    pub async fn operatore_per(
        &self,
        id: &Identity,
        cf: &str,
        rule: &'static str,
        cosa: &str,
    ) -> Result<Ambito, AppError> {
        let ambito = accesso::operatori(id, rule, cosa)?;
        if let Ambito::Sede(s) = &ambito {
            self.nella_sede(id, cf, s, rule).await?;
        }
        Ok(ambito)
    }

    async fn nella_sede(
        &self,
        id: &Identity,
        cf: &str,
        sede: &str,
        rule: &'static str,
    ) -> Result<(), AppError> {
        match self.registro.sede(cf, Some(id)).await? {
            Some(s) if s == sede => Ok(()),
            _ => Err(accesso::fuori_sede(rule).into()),
        }
    }
}

/// Who performed an operator action, for the records (the original client of system calls).
pub fn autore(id: &Identity) -> String {
    id.author().caller.cf.clone()
}

async fn rollback(txn: Scrittura) -> Result<(), AppError> {
    Ok(txn.rollback().await?)
}

fn mask(cf: &str) -> String {
    occasionali_runtime::identity::mask(cf)
}
