//! Persistence of the wallet ledger on SQLite or PostgreSQL: portable sea-query statements,
//! money as integer cents, invariants enforced by the database (conditional updates, unique keys,
//! CHECK constraints, row locks) so any number of replicas stays correct (POR-8).
//!
//! Lock order, the same in every transaction so that PostgreSQL never deadlocks: wallets first
//! (their DISPONIBILE balance row, in key order), then the rows of reservations, versamenti and
//! rimborsi, then the platform accounts' balance rows (in key order, applied last by
//! [`conti::registra`]). On SQLite every write transaction is `BEGIN IMMEDIATE` and exclusive.

mod migrations;

pub mod conti;
pub mod payout;
pub mod rimborsi;
pub mod riserve;
pub mod scarti;
pub mod storni;
pub mod versamenti;

use chrono::NaiveDate;
use occasionali_kernel::Euro;
use occasionali_runtime::AppError;
use sea_orm::sea_query::{LockType, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult};

pub use migrations::Migrator;

/// Outcome of an insert keyed by an idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserimento {
    Fatto,
    /// The key exists (maybe committed concurrently). On PostgreSQL the transaction is now
    /// aborted: roll it back before reading the existing row.
    Duplicato,
}

pub(crate) fn inserimento(r: Result<sea_orm::ExecResult, DbErr>) -> Result<Inserimento, AppError> {
    match r {
        Ok(_) => Ok(Inserimento::Fatto),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(Inserimento::Duplicato),
        Err(e) => Err(e.into()),
    }
}

/// `SELECT … FOR UPDATE` on PostgreSQL; SQLite write transactions are already exclusive.
pub(crate) fn per_aggiornare(q: &mut SelectStatement, db: &impl ConnectionTrait) {
    if db.get_database_backend() == DbBackend::Postgres {
        q.lock(LockType::Update);
    }
}

pub(crate) fn euro(row: &QueryResult, col: &str) -> Result<Euro, AppError> {
    Ok(Euro::from_cents(row.try_get::<i64>("", col)?))
}

pub(crate) fn data(row: &QueryResult, col: &str) -> Result<NaiveDate, AppError> {
    let s: String = row.try_get("", col)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|e| AppError::internal(format!("stored date {s:?}: {e}")))
}

pub(crate) fn corrotto(what: &str, value: &str) -> AppError {
    AppError::internal(format!("corrupt {what}: {value:?}"))
}

/// A page of rows newest or oldest first, after a cursor on `seq` (the one way, in runtime).
pub use occasionali_runtime::pagina::Pagina;
