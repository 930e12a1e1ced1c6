//! Persistence of the wallet ledger on SQLite or PostgreSQL: plain SQL written once with `?`
//! placeholders (numbered for PostgreSQL by `occasionali_runtime::sql::dialect`), money as
//! integer cents, invariants enforced by the database (conditional updates, unique keys, CHECK
//! constraints, row locks) so any number of replicas stays correct (POR-8).
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
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, Value};

pub use migrations::Migrator;

/// Outcome of an insert keyed by an idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserimento {
    Fatto,
    /// The key exists (maybe committed concurrently). On PostgreSQL the transaction is now
    /// aborted: roll it back before reading the existing row.
    Duplicato,
}

fn inserimento(r: Result<ExecResult, DbErr>) -> Result<Inserimento, AppError> {
    match r {
        Ok(_) => Ok(Inserimento::Fatto),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(Inserimento::Duplicato),
        Err(e) => Err(e.into()),
    }
}

use occasionali_runtime::sql::statement as istruzione;

/// Runs a write; the rows it touched.
async fn esegui(db: &impl ConnectionTrait, sql: &str, valori: Vec<Value>) -> Result<u64, AppError> {
    Ok(db.execute_raw(istruzione(db, sql, valori)).await?.rows_affected())
}

/// Runs an insert keyed by an idempotency key.
async fn inserisci_unico(
    db: &impl ConnectionTrait,
    sql: &str,
    valori: Vec<Value>,
) -> Result<Inserimento, AppError> {
    inserimento(db.execute_raw(istruzione(db, sql, valori)).await)
}

async fn righe(
    db: &impl ConnectionTrait,
    sql: &str,
    valori: Vec<Value>,
) -> Result<Vec<QueryResult>, AppError> {
    Ok(db.query_all_raw(istruzione(db, sql, valori)).await?)
}

async fn riga(
    db: &impl ConnectionTrait,
    sql: &str,
    valori: Vec<Value>,
) -> Result<Option<QueryResult>, AppError> {
    Ok(db.query_one_raw(istruzione(db, sql, valori)).await?)
}

/// `INSERT INTO tabella (colonne) VALUES (…), (…) coda`: every row in one statement, each row
/// the values of `colonne` in order.
fn insert(tabella: &str, colonne: &[&str], righe: usize, coda: &str) -> String {
    let riga = format!("({})", segnaposti(colonne.len()));
    let mut sql = format!(
        "INSERT INTO {tabella} ({}) VALUES {}",
        colonne.join(", "),
        vec![riga.as_str(); righe].join(", ")
    );
    if !coda.is_empty() {
        sql.push(' ');
        sql.push_str(coda);
    }
    sql
}

/// ` WHERE a AND b …`, or nothing without conditions.
fn dove(condizioni: &[&str]) -> String {
    if condizioni.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", condizioni.join(" AND "))
    }
}

/// `?, ?, ?` for `n` values.
fn segnaposti(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The lock clause of a `SELECT` whose rows the transaction will change: `FOR UPDATE` on
/// PostgreSQL; SQLite write transactions are already exclusive.
fn per_aggiornare(db: &impl ConnectionTrait) -> &'static str {
    if db.get_database_backend() == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
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
