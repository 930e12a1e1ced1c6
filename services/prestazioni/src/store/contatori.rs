//! PRE-8, PRE-9: one counter per limit, subject and year, raised only within its cap by a
//! conditional UPDATE in the inserting transaction (the CHECK on `usato` is the backstop).

use std::collections::HashMap;

use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;

use super::sql;
use crate::domain::QuotaPresa;

/// PRE-9: raises a counter by `valore` only if it stays within `limite`; `false` = refused.
pub async fn prendi(db: &impl ConnectionTrait, id: &str, valore: i64, limite: i64) -> Result<bool, AppError> {
    db.execute_raw(sql(
        db,
        "INSERT INTO contatori (id, usato) VALUES (?, 0) ON CONFLICT (id) DO NOTHING",
        vec![id.into()],
    ))
    .await?;
    let r = db
        .execute_raw(sql(
            db,
            "UPDATE contatori SET usato = usato + ? WHERE id = ? AND usato + ? <= ?",
            vec![valore.into(), id.into(), valore.into(), limite.into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Raises a counter without a cap (a contested revoca reinstates work already done, PRE-15).
pub async fn aggiungi(db: &impl ConnectionTrait, id: &str, valore: i64) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "INSERT INTO contatori (id, usato) VALUES (?, 0) ON CONFLICT (id) DO NOTHING",
        vec![id.into()],
    ))
    .await?;
    db.execute_raw(sql(
        db,
        "UPDATE contatori SET usato = usato + ? WHERE id = ?",
        vec![valore.into(), id.into()],
    ))
    .await?;
    Ok(())
}

/// Gives a quota back (rejection, revoca).
pub async fn restituisci(db: &impl ConnectionTrait, quote: &[QuotaPresa]) -> Result<(), AppError> {
    let mut q = quote.to_vec();
    q.sort_by(|a, b| a.id.cmp(&b.id));
    for x in q {
        db.execute_raw(sql(
            db,
            "UPDATE contatori SET usato = usato - ? WHERE id = ?",
            vec![x.valore.into(), x.id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Used amount of each counter (missing = 0).
pub async fn usati(db: &impl ConnectionTrait, ids: &[String]) -> Result<HashMap<String, i64>, AppError> {
    let mut out = HashMap::new();
    for id in ids {
        let row = db
            .query_one_raw(sql(
                db,
                "SELECT usato FROM contatori WHERE id = ?",
                vec![id.clone().into()],
            ))
            .await?;
        let v = match row {
            Some(r) => r.try_get::<i64>("", "usato")?,
            None => 0,
        };
        out.insert(id.clone(), v);
    }
    Ok(out)
}

/// Counters whose id matches the `LIKE` pattern `prefisso` (e.g. every pair of an utilizzatore in
/// a year, `domain::limiti::prefisso_coppie`).
pub async fn con_prefisso(db: &impl ConnectionTrait, prefisso: &str) -> Result<Vec<(String, i64)>, AppError> {
    let rows = db
        .query_all_raw(sql(
            db,
            "SELECT id, usato FROM contatori WHERE id LIKE ? ORDER BY id",
            vec![format!("{prefisso}%").into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "id")?, r.try_get("", "usato")?)))
        .collect()
}
