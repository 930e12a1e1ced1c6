//! Notifiche's tables, on SQLite or PostgreSQL: plain SQL written once with `?` placeholders
//! ([`occasionali_runtime::sql::dialect`]).

pub mod consegne;
pub mod contatti;
pub mod deleghe;
pub mod domestico;
pub mod guide;
mod migrations;
pub mod notifiche;
pub mod ricevuti;
pub mod scarti;

use occasionali_runtime::AppError;

use occasionali_runtime::sql::statement;
use sea_orm::{ConnectionTrait, QueryResult, Value};

pub use migrations::Migrator;

async fn esegui(db: &impl ConnectionTrait, sql: &str, valori: Vec<Value>) -> Result<u64, AppError> {
    Ok(db.execute_raw(statement(db, sql, valori)).await?.rows_affected())
}

async fn righe(
    db: &impl ConnectionTrait,
    sql: &str,
    valori: Vec<Value>,
) -> Result<Vec<QueryResult>, AppError> {
    Ok(db.query_all_raw(statement(db, sql, valori)).await?)
}

async fn riga(
    db: &impl ConnectionTrait,
    sql: &str,
    valori: Vec<Value>,
) -> Result<Option<QueryResult>, AppError> {
    Ok(db.query_one_raw(statement(db, sql, valori)).await?)
}

/// Inserts `righe` (each the values of `colonne`) with multi-row statements of at most `per_statement`
/// rows, each followed by `coda` (`ON CONFLICT ...`, `RETURNING ...`); the rows returned.
async fn inserisci_righe(
    db: &impl ConnectionTrait,
    tabella: &str,
    colonne: &[&str],
    righe_: Vec<Vec<Value>>,
    coda: &str,
) -> Result<Vec<QueryResult>, AppError> {
    // SQLite binds at most 32,766 values per statement, PostgreSQL 65,535.
    let per_statement = (30_000 / colonne.len().max(1)).max(1);
    let una = format!("({})", segnaposti(colonne.len()));
    let mut out = Vec::new();
    let mut resto = righe_.into_iter().peekable();
    while resto.peek().is_some() {
        let lotto: Vec<Vec<Value>> = resto.by_ref().take(per_statement).collect();
        let sql = format!(
            "INSERT INTO {tabella} ({}) VALUES {} {coda}",
            colonne.join(", "),
            vec![una.as_str(); lotto.len()].join(", ")
        );
        let valori: Vec<Value> = lotto.into_iter().flatten().collect();
        if coda.contains("RETURNING") {
            out.extend(righe(db, &sql, valori).await?);
        } else {
            esegui(db, &sql, valori).await?;
        }
    }
    Ok(out)
}

/// `?, ?, ?` for an IN list of `n` values.
fn segnaposti(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn opt_i32(v: Option<i32>) -> Value {
    Value::Int(v)
}

fn opt_str(v: Option<&str>) -> Value {
    Value::String(v.map(str::to_string))
}

/// Records a campaign run (who ran it, what it found) for the audit.
#[allow(clippy::too_many_arguments)]
pub async fn esegui_run(
    db: &impl ConnectionTrait,
    campagna: &str,
    t: crate::domain::trimestre::Trimestre,
    destinatari: i64,
    notifiche: i64,
    dry_run: bool,
    autore_cf: &str,
    eseguita_ms: i64,
) -> Result<(), AppError> {
    esegui(
        db,
        "INSERT INTO campagne_run (campagna, anno, trimestre, destinatari, notifiche, dry_run, autore_cf, eseguita_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            campagna.into(),
            t.anno.into(),
            i32::from(t.numero).into(),
            destinatari.into(),
            notifiche.into(),
            dry_run.into(),
            autore_cf.into(),
            eseguita_ms.into(),
        ],
    )
    .await?;
    Ok(())
}
