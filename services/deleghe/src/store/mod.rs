//! Persistence of deleghe and of their audit trail, on SQLite or PostgreSQL: plain SQL written
//! once with `?` placeholders ([`occasionali_runtime::sql::dialect`] numbers them for PostgreSQL).

mod migrations;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::calendar;
use occasionali_runtime::AppError;
use occasionali_runtime::db::is_unique_violation;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};

pub use migrations::Migrator;

use crate::domain::{Azione, Delega, Esito, NuovaDelega, Revoca, Ruolo, Stato, Validita, VoceAudit};
use occasionali_kernel::ids::fnv1a;

const SELECT_DELEGHE: &str = "SELECT seq, id, delegante_cf, delegato_cf, ruolo, dal, al, creata_il, creata_da_cf, \
     nota, request_id, revocata_il, revocata_da_cf, motivo_revoca FROM deleghe";

use occasionali_runtime::sql::statement as sql;

fn ruolo(row: &QueryResult) -> Result<Ruolo, AppError> {
    let r: String = row.try_get("", "ruolo")?;
    Ruolo::parse(&r).ok_or_else(|| AppError::internal(format!("unknown ruolo {r:?} in the database")))
}

fn delega(row: &QueryResult) -> Result<(i64, Delega), AppError> {
    let revocata_il: Option<DateTime<Utc>> = row.try_get("", "revocata_il")?;
    let revoca = match revocata_il {
        Some(il) => Some(Revoca {
            il,
            da_cf: row
                .try_get::<Option<String>>("", "revocata_da_cf")?
                .unwrap_or_default(),
            motivo: row
                .try_get::<Option<String>>("", "motivo_revoca")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok((
        row.try_get("", "seq")?,
        Delega {
            id: row.try_get("", "id")?,
            delegante_cf: row.try_get("", "delegante_cf")?,
            delegato_cf: row.try_get("", "delegato_cf")?,
            ruolo: ruolo(row)?,
            validita: Validita {
                dal: row.try_get("", "dal")?,
                al: row.try_get("", "al")?,
            },
            creata_il: row.try_get("", "creata_il")?,
            creata_da_cf: row.try_get("", "creata_da_cf")?,
            nota: row.try_get("", "nota")?,
            request_id: row.try_get("", "request_id")?,
            revoca,
        },
    ))
}

/// The deleghe matching `condizione` (SQL after WHERE, with its values).
async fn tutte(
    db: &impl ConnectionTrait,
    condizione: &str,
    values: Vec<Value>,
) -> Result<Vec<Delega>, AppError> {
    let text = format!("{SELECT_DELEGHE} WHERE {condizione}");
    db.query_all_raw(sql(db, &text, values))
        .await?
        .iter()
        .map(|r| delega(r).map(|(_, d)| d))
        .collect()
}

async fn una(db: &impl ConnectionTrait, text: &str, values: Vec<Value>) -> Result<Option<Delega>, AppError> {
    db.query_one_raw(sql(db, text, values))
        .await?
        .map(|r| delega(&r).map(|(_, d)| d))
        .transpose()
}

/// DEL-1 on PostgreSQL: serialises the creations of one (delegante, delegato, ruolo) until the
/// end of the transaction. "Overlapping" is not a unique constraint, and under READ COMMITTED
/// two "check then insert" transactions would both pass; the lock makes the second one wait and
/// then see the first's row. SQLite write transactions are already exclusive (BEGIN IMMEDIATE).
pub async fn blocca_terna(txn: &impl ConnectionTrait, n: &NuovaDelega) -> Result<(), AppError> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let chiave = format!(
        "deleghe|{}|{}|{}",
        n.delegante_cf,
        n.delegato_cf,
        n.ruolo.as_str()
    );
    let key = fnv1a(chiave.as_bytes()) as i64;
    txn.execute_raw(sql(txn, "SELECT pg_advisory_xact_lock(?)", vec![key.into()]))
        .await?;
    Ok(())
}

/// The delega `autore_cf` created with `request_id`, if any (AIP-155).
pub async fn per_request_id(
    db: &impl ConnectionTrait,
    autore_cf: &str,
    request_id: &str,
) -> Result<Option<Delega>, AppError> {
    una(
        db,
        &format!("{SELECT_DELEGHE} WHERE creata_da_cf = ? AND request_id = ?"),
        vec![autore_cf.into(), request_id.into()],
    )
    .await
}

/// Every delega of one (delegante, delegato, ruolo).
pub async fn della_terna(db: &impl ConnectionTrait, n: &NuovaDelega) -> Result<Vec<Delega>, AppError> {
    tutte(
        db,
        "delegato_cf = ? AND delegante_cf = ? AND ruolo = ?",
        vec![
            n.delegato_cf.as_str().into(),
            n.delegante_cf.as_str().into(),
            n.ruolo.as_str().into(),
        ],
    )
    .await
}

/// DEL-2: every delega between one delegato and one delegante, any ruolo (one index range).
pub async fn della_coppia(
    db: &impl ConnectionTrait,
    delegato_cf: &str,
    delegante_cf: &str,
) -> Result<Vec<Delega>, AppError> {
    tutte(
        db,
        "delegato_cf = ? AND delegante_cf = ?",
        vec![delegato_cf.into(), delegante_cf.into()],
    )
    .await
}

pub async fn carica(db: &impl ConnectionTrait, id: &str) -> Result<Option<Delega>, AppError> {
    una(db, &format!("{SELECT_DELEGHE} WHERE id = ?"), vec![id.into()]).await
}

/// Loads a delega inside a write transaction, locking its row on PostgreSQL so concurrent
/// revocations queue (SQLite write transactions are already exclusive).
pub async fn carica_per_modifica(txn: &impl ConnectionTrait, id: &str) -> Result<Option<Delega>, AppError> {
    let lock = match txn.get_database_backend() {
        DbBackend::Postgres => " FOR UPDATE",
        _ => "",
    };
    una(
        txn,
        &format!("{SELECT_DELEGHE} WHERE id = ?{lock}"),
        vec![id.into()],
    )
    .await
}

/// Inserts a new delega; `false` when its author's request id is taken (only the request id can
/// collide: the same author reused it concurrently for another triple, as the same triple waits
/// on the advisory lock and is answered as a retry). On PostgreSQL the transaction is then
/// aborted: drop it.
pub async fn inserisci(txn: &impl ConnectionTrait, d: &Delega) -> Result<bool, AppError> {
    let r = txn
        .execute_raw(sql(
            txn,
            "INSERT INTO deleghe (id, delegante_cf, delegato_cf, ruolo, dal, al, creata_il, creata_da_cf, nota, request_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                d.id.clone().into(),
                d.delegante_cf.clone().into(),
                d.delegato_cf.clone().into(),
                d.ruolo.as_str().into(),
                d.validita.dal.into(),
                d.validita.al.into(),
                d.creata_il.into(),
                d.creata_da_cf.clone().into(),
                d.nota.clone().into(),
                d.request_id.clone().into(),
            ],
        ))
        .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Records the revocation `r` of the delega `delega_id`, only if it was not revoked meanwhile;
/// `false` when it was.
pub async fn revoca(txn: &impl ConnectionTrait, delega_id: &str, r: &Revoca) -> Result<bool, AppError> {
    let fatto = txn
        .execute_raw(sql(
            txn,
            "UPDATE deleghe SET revocata_il = ?, revocata_da_cf = ?, motivo_revoca = ? \
             WHERE id = ? AND revocata_il IS NULL",
            vec![
                r.il.into(),
                r.da_cf.clone().into(),
                r.motivo.clone().into(),
                delega_id.into(),
            ],
        ))
        .await?;
    Ok(fatto.rows_affected() == 1)
}

/// What ListDeleghe asks for. (No Debug: it holds codici fiscali.)
#[derive(Clone, Default)]
pub struct FiltroDeleghe {
    /// Non-operators: only deleghe where this CF is delegante or delegato.
    pub visibili_a: Option<String>,
    pub delegante_cf: Option<String>,
    pub delegato_cf: Option<String>,
    pub ruolo: Option<Ruolo>,
    /// Any of these states on `oggi` (empty = any).
    pub stati: Vec<Stato>,
}

impl FiltroDeleghe {
    /// A hash of the filters, binding page tokens to them.
    pub fn impronta(&self) -> u64 {
        let stati: Vec<String> = self.stati.iter().map(|s| format!("{s:?}")).collect();
        let s = format!(
            "deleghe|{}|{}|{}|{}|{}",
            self.visibili_a.as_deref().unwrap_or_default(),
            self.delegante_cf.as_deref().unwrap_or_default(),
            self.delegato_cf.as_deref().unwrap_or_default(),
            self.ruolo.map(Ruolo::as_str).unwrap_or_default(),
            stati.join(",")
        );
        fnv1a(s.as_bytes())
    }
}

/// The SQL condition of the state `s` on `oggi`, with its values (as `Delega::stato`).
fn condizione_stato(s: Stato, oggi: NaiveDate) -> (&'static str, Vec<Value>) {
    match s {
        Stato::Revocata => ("revocata_il IS NOT NULL", vec![]),
        Stato::NonAncoraValida => ("(revocata_il IS NULL AND dal > ?)", vec![oggi.into()]),
        Stato::Valida => (
            "(revocata_il IS NULL AND dal <= ? AND (al IS NULL OR al >= ?))",
            vec![oggi.into(), oggi.into()],
        ),
        Stato::Scaduta => (
            "(revocata_il IS NULL AND al IS NOT NULL AND al < ?)",
            vec![oggi.into()],
        ),
    }
}

/// The conditions of a WHERE clause, joined by AND, with their values in order.
#[derive(Default)]
struct Condizioni {
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Condizioni {
    fn e(&mut self, condizione: impl Into<String>, values: impl IntoIterator<Item = Value>) {
        self.sql.push(condizione.into());
        self.values.extend(values);
    }

    fn where_(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }
}

/// A page of deleghe, newest first, after the cursor `prima_di` (a seq): (seq, delega).
pub async fn lista(
    db: &impl ConnectionTrait,
    f: &FiltroDeleghe,
    oggi: NaiveDate,
    prima_di: Option<i64>,
    limite: u64,
) -> Result<Vec<(i64, Delega)>, AppError> {
    let mut c = Condizioni::default();
    if let Some(cf) = &f.visibili_a {
        c.e(
            "(delegante_cf = ? OR delegato_cf = ?)",
            [cf.as_str().into(), cf.as_str().into()],
        );
    }
    if let Some(cf) = &f.delegante_cf {
        c.e("delegante_cf = ?", [cf.as_str().into()]);
    }
    if let Some(cf) = &f.delegato_cf {
        c.e("delegato_cf = ?", [cf.as_str().into()]);
    }
    if let Some(r) = f.ruolo {
        c.e("ruolo = ?", [r.as_str().into()]);
    }
    if !f.stati.is_empty() {
        let (stati, values): (Vec<&str>, Vec<Vec<Value>>) =
            f.stati.iter().map(|s| condizione_stato(*s, oggi)).unzip();
        c.e(format!("({})", stati.join(" OR ")), values.into_iter().flatten());
    }
    if let Some(seq) = prima_di {
        c.e("seq < ?", [seq.into()]);
    }
    let text = format!("{SELECT_DELEGHE}{} ORDER BY seq DESC LIMIT {limite}", c.where_());
    db.query_all_raw(sql(db, &text, c.values))
        .await?
        .iter()
        .map(delega)
        .collect()
}

/// Appends an audit entry (DEL-4).
pub async fn registra_audit(db: &impl ConnectionTrait, v: &VoceAudit) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "INSERT INTO audit_deleghe (id, delega_id, azione, autore_cf, eseguita_il, giorno, rpc_path, \
         delegante_cf, delegato_cf, ruolo, esito, nota) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            v.id.clone().into(),
            v.delega_id.clone().unwrap_or_default().into(),
            v.azione.as_str().into(),
            v.autore_cf.clone().into(),
            v.eseguita_il.into(),
            calendar::rome_date(v.eseguita_il).into(),
            v.rpc_path.clone().into(),
            v.delegante_cf.clone().into(),
            v.delegato_cf.clone().into(),
            v.ruolo.as_str().into(),
            v.esito.map(Esito::as_str).unwrap_or_default().into(),
            v.nota.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// What ListAuditDelega asks for. (No Debug: it holds codici fiscali.)
#[derive(Clone, Default)]
pub struct FiltroAudit {
    pub delega_id: Option<String>,
    pub delegante_cf: Option<String>,
    pub delegato_cf: Option<String>,
    pub azione: Option<Azione>,
    /// Rome dates of eseguita_il, both inclusive.
    pub dal: Option<NaiveDate>,
    pub al: Option<NaiveDate>,
}

impl FiltroAudit {
    /// A hash of the filters, binding page tokens to them.
    pub fn impronta(&self) -> u64 {
        let s = format!(
            "audit|{}|{}|{}|{}|{}|{}",
            self.delega_id.as_deref().unwrap_or_default(),
            self.delegante_cf.as_deref().unwrap_or_default(),
            self.delegato_cf.as_deref().unwrap_or_default(),
            self.azione.map(Azione::as_str).unwrap_or_default(),
            self.dal.map(|d| d.to_string()).unwrap_or_default(),
            self.al.map(|d| d.to_string()).unwrap_or_default(),
        );
        fnv1a(s.as_bytes())
    }
}

fn voce(row: &QueryResult) -> Result<(i64, VoceAudit), AppError> {
    let azione: String = row.try_get("", "azione")?;
    let esito: String = row.try_get("", "esito")?;
    let delega_id: String = row.try_get("", "delega_id")?;
    Ok((
        row.try_get("", "seq")?,
        VoceAudit {
            id: row.try_get("", "id")?,
            delega_id: (!delega_id.is_empty()).then_some(delega_id),
            azione: Azione::parse(&azione)
                .ok_or_else(|| AppError::internal(format!("unknown audit action {azione:?}")))?,
            autore_cf: row.try_get("", "autore_cf")?,
            eseguita_il: row.try_get("", "eseguita_il")?,
            rpc_path: row.try_get("", "rpc_path")?,
            delegante_cf: row.try_get("", "delegante_cf")?,
            delegato_cf: row.try_get("", "delegato_cf")?,
            ruolo: ruolo(row)?,
            esito: Esito::parse(&esito),
            nota: row.try_get("", "nota")?,
        },
    ))
}

/// A page of the audit trail, newest first, after the cursor `prima_di` (a seq).
pub async fn audit(
    db: &impl ConnectionTrait,
    f: &FiltroAudit,
    prima_di: Option<i64>,
    limite: u64,
) -> Result<Vec<(i64, VoceAudit)>, AppError> {
    let mut c = Condizioni::default();
    if let Some(id) = &f.delega_id {
        c.e("delega_id = ?", [id.as_str().into()]);
    }
    if let Some(cf) = &f.delegante_cf {
        c.e("delegante_cf = ?", [cf.as_str().into()]);
    }
    if let Some(cf) = &f.delegato_cf {
        c.e("delegato_cf = ?", [cf.as_str().into()]);
    }
    if let Some(a) = f.azione {
        c.e("azione = ?", [a.as_str().into()]);
    }
    if let Some(dal) = f.dal {
        c.e("giorno >= ?", [dal.into()]);
    }
    if let Some(al) = f.al {
        c.e("giorno <= ?", [al.into()]);
    }
    if let Some(seq) = prima_di {
        c.e("seq < ?", [seq.into()]);
    }
    let text = format!(
        "SELECT seq, id, delega_id, azione, autore_cf, eseguita_il, rpc_path, delegante_cf, delegato_cf, \
         ruolo, esito, nota FROM audit_deleghe{} ORDER BY seq DESC LIMIT {limite}",
        c.where_()
    );
    db.query_all_raw(sql(db, &text, c.values))
        .await?
        .iter()
        .map(voce)
        .collect()
}
