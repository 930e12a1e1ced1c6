//! Persistence of prestazioni on SQLite or PostgreSQL: plain SQL written once with `?`
//! placeholders (numbered for PostgreSQL by `occasionali_runtime::sql::dialect`), money as integer cents, limits as counter rows
//! raised by conditional updates (PRE-9), so any number of replicas stays correct.
//!
//! Lock order: the prestazione row first, then counters in id order (PostgreSQL never deadlocks).

mod migrations;
mod regole;

use std::collections::HashMap;

use occasionali_runtime::AppError;
use occasionali_runtime::sql::dialect;
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use serde::{Deserialize, Serialize};

use occasionali_proto::prestazioni as pb;

use crate::domain::Stato;
use crate::domain::accesso::Sedi;

pub use migrations::Migrator;
pub use regole::{
    NuovaPubblicazione, RigaRegole, aggiorna_dati, pubblica, pubblicazione_per_request, regole, righe_regole,
};

/// A statement in the connection's dialect from `?` SQL: one value per `?`, in order (a value
/// used twice is bound twice).
pub(crate) fn sql(db: &impl ConnectionTrait, text: &str, values: Vec<Value>) -> Statement {
    occasionali_runtime::db::stmt(db, &dialect(db, text), values)
}

/// A quota taken from a counter, kept on the prestazione so that it can be given back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaPresa {
    pub id: String,
    pub valore: i64,
}

/// The stored prestazione.
#[derive(Clone, Debug, PartialEq)]
pub struct Riga {
    pub id: String,
    pub stato: Stato,
    pub richiesta: Vec<u8>,
    pub quote: Vec<QuotaPresa>,
    pub p: pb::Prestazione,
    /// The parties' sedi at insertion (a sede operator's scope, PRE-19).
    pub sedi: Sedi,
    /// REJECTED: the refusal as first answered (PRE-18), encoded by `app::RifiutoSalvato`.
    pub rifiuto: Option<Vec<u8>>,
}

const COLONNE: &str = "id, stato, richiesta, quote, dati, sede_utilizzatore, sede_prestatore, rifiuto";

fn riga(r: &QueryResult) -> Result<Riga, AppError> {
    let stato: String = r.try_get("", "stato")?;
    let quote: String = r.try_get("", "quote")?;
    let dati: Vec<u8> = r.try_get("", "dati")?;
    Ok(Riga {
        id: r.try_get("", "id")?,
        stato: Stato::from_code(&stato).ok_or_else(|| AppError::internal(format!("stato {stato:?}")))?,
        richiesta: r.try_get("", "richiesta")?,
        quote: serde_json::from_str(&quote).map_err(AppError::internal)?,
        p: pb::Prestazione::decode(dati.as_slice()).map_err(AppError::internal)?,
        sedi: Sedi {
            utilizzatore: r.try_get("", "sede_utilizzatore")?,
            prestatore: r.try_get("", "sede_prestatore")?,
        },
        rifiuto: r.try_get("", "rifiuto")?,
    })
}

pub struct Nuova<'a> {
    pub p: &'a pb::Prestazione,
    pub richiesta: Vec<u8>,
    pub anno: i32,
    pub mese: u32,
    pub minuti: i64,
    pub compenso: i64,
    pub totale: i64,
    pub quote: &'a [QuotaPresa],
    pub sedi: &'a Sedi,
}

/// Inserts; `false` when the (utilizzatore, request id) exists (on PostgreSQL the transaction is
/// then aborted: roll it back).
pub async fn inserisci(db: &impl ConnectionTrait, n: Nuova<'_>) -> Result<bool, AppError> {
    let quote = serde_json::to_string(n.quote).map_err(AppError::internal)?;
    let r = db
        .execute_raw(sql(
            db,
            "INSERT INTO prestazioni (id, utilizzatore_cf, prestatore_cf, request_id, richiesta, tipo, anno, mese, data, minuti, compenso, totale, stato, confermata, reintegrata, quote, payout_order_id, dati, sede_utilizzatore, sede_prestatore) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, '', ?, ?, ?)",
            vec![
                n.p.id.clone().into(),
                n.p.utilizzatore_cf.clone().into(),
                n.p.prestatore_cf.clone().into(),
                n.p.request_id.clone().into(),
                n.richiesta.into(),
                tipo_code(n.p.tipo).into(),
                n.anno.into(),
                (n.mese as i32).into(),
                n.p.data_prestazione.clone().into(),
                n.minuti.into(),
                n.compenso.into(),
                n.totale.into(),
                Stato::Pending.code().into(),
                quote.into(),
                n.p.encode_to_vec().into(),
                n.sedi.utilizzatore.clone().into(),
                n.sedi.prestatore.clone().into(),
            ],
        ))
        .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn tipo_code(t: i32) -> &'static str {
    if t == pb::TipoPrestazione::Cpo as i32 {
        "CPO"
    } else {
        "LF"
    }
}

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

/// Counters whose id starts with `prefisso` (e.g. every pair of an utilizzatore in a year).
pub async fn contatori_con_prefisso(
    db: &impl ConnectionTrait,
    prefisso: &str,
) -> Result<Vec<(String, i64)>, AppError> {
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

pub async fn per_request(
    db: &impl ConnectionTrait,
    utilizzatore_cf: &str,
    request_id: &str,
) -> Result<Option<Riga>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            &format!("SELECT {COLONNE} FROM prestazioni WHERE utilizzatore_cf = ? AND request_id = ?"),
            vec![utilizzatore_cf.into(), request_id.into()],
        ))
        .await?;
    row.as_ref().map(riga).transpose()
}

/// One prestazione; `for_update` locks it on PostgreSQL (SQLite write transactions are exclusive).
pub async fn carica(db: &impl ConnectionTrait, id: &str, for_update: bool) -> Result<Option<Riga>, AppError> {
    let lock = if for_update && db.get_database_backend() == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = db
        .query_one_raw(sql(
            db,
            &format!("SELECT {COLONNE} FROM prestazioni WHERE id = ?{lock}"),
            vec![id.into()],
        ))
        .await?;
    row.as_ref().map(riga).transpose()
}

/// Writes the new state and the updated document.
pub async fn aggiorna(db: &impl ConnectionTrait, p: &pb::Prestazione, stato: Stato) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "UPDATE prestazioni SET stato = ?, confermata = ?, reintegrata = ?, payout_order_id = ?, dati = ? WHERE id = ?",
        vec![
            stato.code().into(),
            i32::from(p.confermata).into(),
            i32::from(p.stato == pb::StatoPrestazione::Contested as i32).into(),
            p.payout_order_id.clone().into(),
            p.encode_to_vec().into(),
            p.id.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// PRE-18: keeps the refusal of a REJECTED prestazione, answered again on a retry.
pub async fn salva_rifiuto(db: &impl ConnectionTrait, id: &str, rifiuto: Vec<u8>) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "UPDATE prestazioni SET rifiuto = ? WHERE id = ?",
        vec![rifiuto.into(), id.to_string().into()],
    ))
    .await?;
    Ok(())
}

/// PRE-11: marks (or clears) the wallet release still owed by a revoca.
pub async fn rilascio_pendente(db: &impl ConnectionTrait, id: &str, pendente: bool) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "UPDATE prestazioni SET rilascio_pendente = ? WHERE id = ?",
        vec![i32::from(pendente).into(), id.into()],
    ))
    .await?;
    Ok(())
}

/// Revoked prestazioni whose reservation release is still owed.
pub async fn rilasci_pendenti(db: &impl ConnectionTrait) -> Result<Vec<String>, AppError> {
    let rows = db
        .query_all_raw(sql(
            db,
            "SELECT id FROM prestazioni WHERE rilascio_pendente = 1 ORDER BY id",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get("", "id").map_err(AppError::from))
        .collect()
}

pub async fn pendenti(db: &impl ConnectionTrait) -> Result<Vec<Riga>, AppError> {
    let rows = db
        .query_all_raw(sql(
            db,
            &format!("SELECT {COLONNE} FROM prestazioni WHERE stato = ? ORDER BY id"),
            vec![Stato::Pending.code().into()],
        ))
        .await?;
    rows.iter().map(riga).collect()
}

/// Filters of a listing.
#[derive(Clone, Debug, Default)]
pub struct Filtro {
    pub utilizzatore_cf: Option<String>,
    pub prestatore_cf: Option<String>,
    pub anno: Option<i32>,
    pub mese: Option<u32>,
    pub stati: Vec<Stato>,
    /// LF or CPO.
    pub tipo: Option<&'static str>,
    /// The scheduled day, from and to (inclusive), YYYY-MM-DD.
    pub dal: Option<String>,
    pub al: Option<String>,
    /// A sede operator's scope: prestazioni with a party of this sede (PRE-19).
    pub sede: Option<String>,
    pub dopo_id: Option<String>,
    pub crescente: bool,
    pub limite: u64,
}

pub async fn elenca(db: &impl ConnectionTrait, f: &Filtro) -> Result<Vec<Riga>, AppError> {
    let mut cond = vec!["1 = 1".to_string()];
    let mut vals: Vec<Value> = Vec::new();
    let mut add = |c: &str, v: Value, cond: &mut Vec<String>| {
        vals.push(v);
        cond.push(format!("{c} ?"));
    };
    if let Some(u) = &f.utilizzatore_cf {
        add("utilizzatore_cf =", u.clone().into(), &mut cond);
    }
    if let Some(p) = &f.prestatore_cf {
        add("prestatore_cf =", p.clone().into(), &mut cond);
    }
    if let Some(a) = f.anno {
        add("anno =", a.into(), &mut cond);
    }
    if let Some(m) = f.mese {
        add("mese =", (m as i32).into(), &mut cond);
    }
    if let Some(t) = f.tipo {
        add("tipo =", t.into(), &mut cond);
    }
    if let Some(d) = &f.dal {
        add("data >=", d.clone().into(), &mut cond);
    }
    if let Some(d) = &f.al {
        add("data <=", d.clone().into(), &mut cond);
    }
    if let Some(d) = &f.dopo_id {
        let op = if f.crescente { "id >" } else { "id <" };
        add(op, d.clone().into(), &mut cond);
    }
    if let Some(s) = &f.sede {
        vals.push(s.clone().into());
        vals.push(s.clone().into());
        cond.push("(sede_utilizzatore = ? OR sede_prestatore = ?)".to_string());
    }
    if !f.stati.is_empty() {
        // At most one placeholder per state: callers pass distinct states (decode::stati).
        let list = vec!["?"; f.stati.len()].join(", ");
        vals.extend(f.stati.iter().map(|s| Value::from(s.code())));
        cond.push(format!("stato IN ({list})"));
    }
    let order = if f.crescente { "ASC" } else { "DESC" };
    let limite = if f.limite == 0 { 1_000_000 } else { f.limite };
    let text = format!(
        "SELECT {COLONNE} FROM prestazioni WHERE {} ORDER BY id {order} LIMIT {limite}",
        cond.join(" AND ")
    );
    let rows = db.query_all_raw(sql(db, &text, vals)).await?;
    rows.iter().map(riga).collect()
}

pub async fn pagamento(db: &impl ConnectionTrait, id: &str) -> Result<Option<pb::Pagamento>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT dati FROM pagamenti WHERE payout_order_id = ?",
            vec![id.into()],
        ))
        .await?;
    row.map(|r| {
        let dati: Vec<u8> = r.try_get("", "dati")?;
        pb::Pagamento::decode(dati.as_slice()).map_err(AppError::internal)
    })
    .transpose()
}

pub async fn registra_pagamento(db: &impl ConnectionTrait, p: &pb::Pagamento) -> Result<bool, AppError> {
    let r = db
        .execute_raw(sql(
            db,
            "INSERT INTO pagamenti (payout_order_id, prestatore_cf, anno, mese, dati) VALUES (?, ?, ?, ?, ?)",
            vec![
                p.payout_order_id.clone().into(),
                p.prestatore_cf.clone().into(),
                p.anno.into(),
                p.mese.into(),
                p.encode_to_vec().into(),
            ],
        ))
        .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn pagamenti(
    db: &impl ConnectionTrait,
    prestatore_cf: &str,
    anno: i32,
) -> Result<Vec<pb::Pagamento>, AppError> {
    let (text, vals): (&str, Vec<Value>) = if anno == 0 {
        (
            "SELECT dati FROM pagamenti WHERE prestatore_cf = ? ORDER BY anno DESC, mese DESC, payout_order_id",
            vec![prestatore_cf.into()],
        )
    } else {
        (
            "SELECT dati FROM pagamenti WHERE prestatore_cf = ? AND anno = ? ORDER BY anno DESC, mese DESC, payout_order_id",
            vec![prestatore_cf.into(), anno.into()],
        )
    };
    let rows = db.query_all_raw(sql(db, text, vals)).await?;
    rows.iter()
        .map(|r| {
            let dati: Vec<u8> = r.try_get("", "dati")?;
            pb::Pagamento::decode(dati.as_slice()).map_err(AppError::internal)
        })
        .collect()
}

/// PRE-14: when the month was closed for contestazioni (unix ms).
pub async fn mese_chiuso(db: &impl ConnectionTrait, anno: i32, mese: u32) -> Result<Option<i64>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT chiuse_il_ms FROM mesi_chiusi WHERE mese = ?",
            vec![format!("{anno:04}-{mese:02}").into()],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "chiuse_il_ms").map_err(AppError::from))
        .transpose()
}

/// Serialises the contests of a month with its closing (PRE-14): both take this lock in their
/// transaction, so a contest either commits before the month closes (and its reinstatement is
/// counted by the closing) or sees the month closed. SQLite has one writer at a time already.
pub async fn blocca_mese(db: &impl ConnectionTrait, anno: i32, mese: u32) -> Result<(), AppError> {
    if db.get_database_backend() == DbBackend::Postgres {
        let key = (occasionali_kernel::ids::fnv1a(format!("prestazioni-mese-{anno:04}-{mese:02}").as_bytes())
            >> 1) as i64;
        db.execute_raw(sql(db, "SELECT pg_advisory_xact_lock(?)", vec![key.into()]))
            .await?;
    }
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

pub async fn chiudi_mese(db: &impl ConnectionTrait, anno: i32, mese: u32, ms: i64) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "INSERT INTO mesi_chiusi (mese, chiuse_il_ms) VALUES (?, ?) ON CONFLICT (mese) DO NOTHING",
        vec![format!("{anno:04}-{mese:02}").into(), ms.into()],
    ))
    .await?;
    Ok(())
}

/// ANA-9: subjects with prestazioni (not rejected) between two days, and how many.
pub async fn soggetti_attivi(
    db: &impl ConnectionTrait,
    colonna_prestatore: bool,
    tipo: Option<&str>,
    dal: &str,
    al: &str,
) -> Result<Vec<(String, i64)>, AppError> {
    let col = if colonna_prestatore {
        "prestatore_cf"
    } else {
        "utilizzatore_cf"
    };
    let tipo_cond = match tipo {
        Some(t) => format!(" AND tipo = '{t}'"),
        None => String::new(),
    };
    let text = format!(
        "SELECT {col} AS cf, COUNT(*) AS n FROM prestazioni WHERE data >= ? AND data <= ? AND stato <> 'REJECTED'{tipo_cond} GROUP BY {col} ORDER BY {col}"
    );
    let rows = db
        .query_all_raw(sql(db, &text, vec![dal.into(), al.into()]))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "cf")?, r.try_get("", "n")?)))
        .collect()
}
