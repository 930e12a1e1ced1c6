//! Persistence of prestazioni on SQLite or PostgreSQL: plain SQL written once with `?`
//! placeholders (numbered for PostgreSQL by `occasionali_runtime::sql::dialect`), money as integer cents, limits as counter rows
//! raised by conditional updates (PRE-9), so any number of replicas stays correct.
//!
//! Lock order: the prestazione row first, then counters in id order (PostgreSQL never deadlocks).

pub mod contatori;
pub mod dichiarazione;
pub mod mesi;
mod migrations;
pub mod pagamenti;
pub mod prestazioni;
mod regole;

use chrono::{DateTime, SecondsFormat, Utc};
use occasionali_runtime::AppError;

pub use migrations::Migrator;
pub use regole::{
    NuovaPubblicazione, RigaRegole, aggiorna_dati, pubblica, pubblicazione_per_request, regole, righe_regole,
};

pub(crate) use occasionali_runtime::sql::statement as sql;

fn istante(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn da_istante(s: &str) -> Result<DateTime<Utc>, AppError> {
    s.parse()
        .map_err(|e| AppError::internal(format!("stored instant {s:?}: {e}")))
}
