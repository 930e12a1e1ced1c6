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

use occasionali_runtime::AppError;
use occasionali_runtime::db::stmt;
use occasionali_runtime::sql::dialect;
use sea_orm::{ConnectionTrait, QueryResult, Value};

pub use migrations::Migrator;

async fn esegui(db: &impl ConnectionTrait, sql: &str, valori: Vec<Value>) -> Result<u64, AppError> {
    let sql = dialect(db, sql);
    Ok(db.execute_raw(stmt(db, &sql, valori)).await?.rows_affected())
}

async fn righe(
    db: &impl ConnectionTrait,
    sql: &str,
    valori: Vec<Value>,
) -> Result<Vec<QueryResult>, AppError> {
    let sql = dialect(db, sql);
    Ok(db.query_all_raw(stmt(db, &sql, valori)).await?)
}

async fn riga(
    db: &impl ConnectionTrait,
    sql: &str,
    valori: Vec<Value>,
) -> Result<Option<QueryResult>, AppError> {
    let sql = dialect(db, sql);
    Ok(db.query_one_raw(stmt(db, &sql, valori)).await?)
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
