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

use chrono::{DateTime, SecondsFormat, Utc};
use occasionali_runtime::AppError;
use occasionali_runtime::sql::dialect;
use sea_orm::{ConnectionTrait, QueryResult, Statement, Value};

use crate::domain::Regole;

pub use migrations::Migrator;

/// A statement in the connection's dialect from `?` SQL: one value per `?`, in order (a value
/// used twice is bound twice).
fn sql(db: &impl ConnectionTrait, text: &str, values: Vec<Value>) -> Statement {
    occasionali_runtime::db::stmt(db, &dialect(db, text), values)
}

pub async fn regole(db: &impl ConnectionTrait, anno: i32) -> Result<Option<Regole>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT dati FROM regole WHERE anno <= ? ORDER BY anno DESC LIMIT 1",
            vec![anno.into()],
        ))
        .await?;
    row.map(|r| decode_regole(&r)).transpose()
}

pub async fn tutte_le_regole(db: &impl ConnectionTrait) -> Result<Vec<Regole>, AppError> {
    let rows = db
        .query_all_raw(sql(db, "SELECT dati FROM regole ORDER BY anno", vec![]))
        .await?;
    rows.iter().map(decode_regole).collect()
}

fn decode_regole(r: &QueryResult) -> Result<Regole, AppError> {
    let dati: String = r.try_get("", "dati")?;
    serde_json::from_str(&dati).map_err(AppError::internal)
}

/// An instant as stored: RFC 3339 in UTC with nanoseconds, as precise as the clock and the
/// client's timestamps (and the same text on both engines).
fn istante(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn da_istante(s: &str) -> Result<DateTime<Utc>, AppError> {
    s.parse()
        .map_err(|e| AppError::internal(format!("stored instant {s:?}: {e}")))
}
