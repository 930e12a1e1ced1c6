//! PRE-8, PRE-9: one counter per limit, subject and year, raised only within its cap by a
//! conditional UPDATE in the inserting transaction (the CHECK on `usato` is the backstop).

use std::collections::HashMap;

use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;

use super::sql;
use crate::domain::QuotaPresa;

/// A quota to take: the counter, how much, and the cap it must stay within.
pub struct Presa<'a> {
    pub id: &'a str,
    pub valore: i64,
    pub limite: i64,
}

/// PRE-9: raises every counter by its quota, each only if it stays within its cap, in one
/// statement (the first quota of a counter creates it); `false` if any was refused, and then
/// the caller rolls back what the others took. `prese` sorted by id, so that concurrent
/// insertions lock the counters in one order.
pub async fn prendi(db: &impl ConnectionTrait, prese: &[Presa<'_>]) -> Result<bool, AppError> {
    if prese.is_empty() {
        return Ok(true);
    }
    if prese.iter().any(|p| p.valore > p.limite) {
        return Ok(false);
    }
    let righe = vec!["(?, ?, ?)"; prese.len()].join(", ");
    let tetti = vec!["WHEN ? THEN ?"; prese.len()].join(" ");
    let mut valori: Vec<sea_orm::Value> = Vec::with_capacity(prese.len() * 5);
    for p in prese {
        valori.extend([p.id.into(), p.valore.into(), p.limite.into()]);
    }
    for p in prese {
        valori.extend([p.id.into(), p.limite.into()]);
    }
    let r = db
        .execute_raw(sql(
            db,
            &format!(
                "INSERT INTO contatori (id, usato, tetto) VALUES {righe} ON CONFLICT (id) DO UPDATE \
                 SET usato = contatori.usato + excluded.usato, tetto = excluded.tetto \
                 WHERE contatori.usato + excluded.usato <= (CASE contatori.id {tetti} END)"
            ),
            valori,
        ))
        .await?;
    Ok(r.rows_affected() == prese.len() as u64)
}

/// The upsert of [`prendi`] without its condition, for PostgreSQL, where the CHECK
/// `contatori_entro_il_tetto` holds each counter within the cap written with its quota (and
/// stops the whole statement when one does not fit): SQL and values.
pub fn presa_con_tetto(prese: &[Presa<'_>]) -> (String, Vec<sea_orm::Value>) {
    let righe = vec!["(?, ?, ?)"; prese.len()].join(", ");
    let mut valori: Vec<sea_orm::Value> = Vec::with_capacity(prese.len() * 3);
    for p in prese {
        valori.extend([p.id.into(), p.valore.into(), p.limite.into()]);
    }
    (
        format!(
            "INSERT INTO contatori (id, usato, tetto) VALUES {righe} ON CONFLICT (id) DO UPDATE \
             SET usato = contatori.usato + excluded.usato, tetto = excluded.tetto"
        ),
        valori,
    )
}

/// Raises a counter without a cap (a contested revoca reinstates work already done, PRE-15).
pub async fn aggiungi(db: &impl ConnectionTrait, id: &str, valore: i64) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "INSERT INTO contatori (id, usato) VALUES (?, 0) ON CONFLICT (id) DO NOTHING",
        vec![id.into()],
    ))
    .await?;
    // Past its cap by right: the cap is dropped until the next quota taken under one.
    db.execute_raw(sql(
        db,
        "UPDATE contatori SET usato = usato + ?, tetto = NULL WHERE id = ?",
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

/// Used amount of each counter (missing = 0), in one statement.
pub async fn usati(db: &impl ConnectionTrait, ids: &[String]) -> Result<HashMap<String, i64>, AppError> {
    let mut out: HashMap<String, i64> = ids.iter().map(|id| (id.clone(), 0)).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let segnaposti = vec!["?"; ids.len()].join(", ");
    let rows = db
        .query_all_raw(sql(
            db,
            &format!("SELECT id, usato FROM contatori WHERE id IN ({segnaposti})"),
            ids.iter().map(|id| id.clone().into()).collect(),
        ))
        .await?;
    for r in rows {
        out.insert(r.try_get::<String>("", "id")?, r.try_get::<i64>("", "usato")?);
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
