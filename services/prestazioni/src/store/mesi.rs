//! PRE-14: the months closed for contestazioni by their payout.

use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, DbBackend};

use super::sql;

fn chiave(anno: i32, mese: u32) -> String {
    format!("{anno:04}-{mese:02}")
}

/// When the month was closed for contestazioni (unix ms).
pub async fn chiuso(db: &impl ConnectionTrait, anno: i32, mese: u32) -> Result<Option<i64>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT chiuse_il_ms FROM mesi_chiusi WHERE mese = ?",
            vec![chiave(anno, mese).into()],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "chiuse_il_ms").map_err(AppError::from))
        .transpose()
}

/// Serialises the contests of a month with its closing (PRE-14): both take this lock in their
/// transaction, so a contest either commits before the month closes (and its reinstatement is
/// counted by the closing) or sees the month closed. SQLite has one writer at a time already.
pub async fn blocca(db: &impl ConnectionTrait, anno: i32, mese: u32) -> Result<(), AppError> {
    if db.get_database_backend() == DbBackend::Postgres {
        let key =
            (occasionali_kernel::ids::fnv1a(format!("prestazioni-mese-{}", chiave(anno, mese)).as_bytes())
                >> 1) as i64;
        db.execute_raw(sql(db, "SELECT pg_advisory_xact_lock(?)", vec![key.into()]))
            .await?;
    }
    Ok(())
}

pub async fn chiudi(db: &impl ConnectionTrait, anno: i32, mese: u32, ms: i64) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "INSERT INTO mesi_chiusi (mese, chiuse_il_ms) VALUES (?, ?) ON CONFLICT (mese) DO NOTHING",
        vec![chiave(anno, mese).into(), ms.into()],
    ))
    .await?;
    Ok(())
}

/// Saga commands about the month's prestazioni not yet delivered (or failed): the payout of the
/// month waits for them, so the wallet and prestazioni agree on what it pays.
pub async fn comandi_in_sospeso(db: &impl ConnectionTrait, anno: i32, mese: u32) -> Result<i64, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT COUNT(*) AS n FROM outbox o JOIN prestazioni p ON p.id = o.aggregate_id \
             WHERE o.kind = 'command' AND o.delivered_at_ms IS NULL AND p.anno = ? AND p.mese = ?",
            vec![anno.into(), (mese as i32).into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    })
}
