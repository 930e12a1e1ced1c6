//! Persistence of deleghe and of their audit trail, on SQLite or PostgreSQL, with statements
//! built by sea-query.

mod migrations;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::calendar;
use occasionali_runtime::AppError;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, LockType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};

pub use migrations::Migrator;

use crate::domain::{Azione, Delega, Esito, NuovaDelega, Revoca, Ruolo, Stato, Validita, VoceAudit};
use occasionali_kernel::ids::fnv1a;

const DELEGHE: &str = "deleghe";
const AUDIT: &str = "audit_deleghe";

const COLONNE_DELEGA: [&str; 14] = [
    "seq",
    "id",
    "delegante_cf",
    "delegato_cf",
    "ruolo",
    "dal",
    "al",
    "creata_il",
    "creata_da_cf",
    "nota",
    "request_id",
    "revocata_il",
    "revocata_da_cf",
    "motivo_revoca",
];

fn select_deleghe() -> SelectStatement {
    Query::select().columns(COLONNE_DELEGA).from(DELEGHE).to_owned()
}

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

async fn una(db: &impl ConnectionTrait, q: &SelectStatement) -> Result<Option<Delega>, AppError> {
    db.query_one(q)
        .await?
        .map(|r| delega(&r).map(|(_, d)| d))
        .transpose()
}

async fn tutte(db: &impl ConnectionTrait, q: &SelectStatement) -> Result<Vec<Delega>, AppError> {
    db.query_all(q)
        .await?
        .iter()
        .map(|r| delega(r).map(|(_, d)| d))
        .collect()
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
    txn.execute_raw(occasionali_runtime::db::stmt(
        txn,
        "SELECT pg_advisory_xact_lock($1)",
        vec![key.into()],
    ))
    .await?;
    Ok(())
}

/// The delega `autore_cf` created with `request_id`, if any (AIP-155).
pub async fn per_request_id(
    db: &impl ConnectionTrait,
    autore_cf: &str,
    request_id: &str,
) -> Result<Option<Delega>, AppError> {
    let q = select_deleghe()
        .and_where(Expr::col("creata_da_cf").eq(autore_cf))
        .and_where(Expr::col("request_id").eq(request_id))
        .to_owned();
    una(db, &q).await
}

/// Every delega of one (delegante, delegato, ruolo).
pub async fn della_terna(db: &impl ConnectionTrait, n: &NuovaDelega) -> Result<Vec<Delega>, AppError> {
    let q = select_deleghe()
        .and_where(Expr::col("delegato_cf").eq(n.delegato_cf.as_str()))
        .and_where(Expr::col("delegante_cf").eq(n.delegante_cf.as_str()))
        .and_where(Expr::col("ruolo").eq(n.ruolo.as_str()))
        .to_owned();
    tutte(db, &q).await
}

/// DEL-2: every delega between one delegato and one delegante, any ruolo (one index range).
pub async fn della_coppia(
    db: &impl ConnectionTrait,
    delegato_cf: &str,
    delegante_cf: &str,
) -> Result<Vec<Delega>, AppError> {
    let q = select_deleghe()
        .and_where(Expr::col("delegato_cf").eq(delegato_cf))
        .and_where(Expr::col("delegante_cf").eq(delegante_cf))
        .to_owned();
    tutte(db, &q).await
}

pub async fn carica(db: &impl ConnectionTrait, id: &str) -> Result<Option<Delega>, AppError> {
    let q = select_deleghe().and_where(Expr::col("id").eq(id)).to_owned();
    una(db, &q).await
}

/// Loads a delega inside a write transaction, locking its row on PostgreSQL so concurrent
/// revocations queue (SQLite write transactions are already exclusive).
pub async fn carica_per_modifica(txn: &impl ConnectionTrait, id: &str) -> Result<Option<Delega>, AppError> {
    let mut q = select_deleghe().and_where(Expr::col("id").eq(id)).to_owned();
    if txn.get_database_backend() == DbBackend::Postgres {
        q.lock(LockType::Update);
    }
    una(txn, &q).await
}

pub async fn inserisci(txn: &impl ConnectionTrait, d: &Delega) -> Result<(), AppError> {
    let q = Query::insert()
        .into_table(DELEGHE)
        .columns([
            "id",
            "delegante_cf",
            "delegato_cf",
            "ruolo",
            "dal",
            "al",
            "creata_il",
            "creata_da_cf",
            "nota",
            "request_id",
        ])
        .values([
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
        ])
        .map_err(AppError::internal)?
        .to_owned();
    match txn.execute(&q).await {
        Ok(_) => Ok(()),
        // Only the request id can collide: the same author reused it concurrently for another
        // triple (the same triple waits on the advisory lock and is answered as a retry).
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Err(AppError::already_exists(
            "DEL-1",
            "DEL_1_REQUEST_ID_REUSED",
            "request_id was used concurrently for another delega: use a new request_id",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Records a revocation, only if the delega was not revoked meanwhile.
pub async fn revoca(txn: &impl ConnectionTrait, d: &Delega) -> Result<(), AppError> {
    let Some(r) = &d.revoca else {
        return Err(AppError::internal("revoca without a revocation"));
    };
    let q = Query::update()
        .table(DELEGHE)
        .values([
            ("revocata_il", r.il.into()),
            ("revocata_da_cf", r.da_cf.clone().into()),
            ("motivo_revoca", r.motivo.clone().into()),
        ])
        .and_where(Expr::col("id").eq(d.id.as_str()))
        .and_where(Expr::col("revocata_il").is_null())
        .to_owned();
    if txn.execute(&q).await?.rows_affected() == 1 {
        Ok(())
    } else {
        Err(AppError::aborted(
            "DEL-1",
            "DEL_1_CONCURRENT_REVOCATION",
            "the delega was revoked meanwhile; read it again",
        ))
    }
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

fn condizione_stato(s: Stato, oggi: NaiveDate) -> Cond {
    let attiva = Expr::col("revocata_il").is_null();
    match s {
        Stato::Revocata => Cond::all().add(Expr::col("revocata_il").is_not_null()),
        Stato::NonAncoraValida => Cond::all().add(attiva).add(Expr::col("dal").gt(oggi)),
        Stato::Valida => Cond::all().add(attiva).add(Expr::col("dal").lte(oggi)).add(
            Cond::any()
                .add(Expr::col("al").is_null())
                .add(Expr::col("al").gte(oggi)),
        ),
        Stato::Scaduta => Cond::all()
            .add(attiva)
            .add(Expr::col("al").is_not_null())
            .add(Expr::col("al").lt(oggi)),
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
    let mut q = select_deleghe();
    if let Some(cf) = &f.visibili_a {
        q.cond_where(
            Cond::any()
                .add(Expr::col("delegante_cf").eq(cf.as_str()))
                .add(Expr::col("delegato_cf").eq(cf.as_str())),
        );
    }
    if let Some(cf) = &f.delegante_cf {
        q.and_where(Expr::col("delegante_cf").eq(cf.as_str()));
    }
    if let Some(cf) = &f.delegato_cf {
        q.and_where(Expr::col("delegato_cf").eq(cf.as_str()));
    }
    if let Some(r) = f.ruolo {
        q.and_where(Expr::col("ruolo").eq(r.as_str()));
    }
    if !f.stati.is_empty() {
        let mut any = Cond::any();
        for s in &f.stati {
            any = any.add(condizione_stato(*s, oggi));
        }
        q.cond_where(any);
    }
    if let Some(seq) = prima_di {
        q.and_where(Expr::col("seq").lt(seq));
    }
    q.order_by("seq", Order::Desc).limit(limite);
    db.query_all(&q).await?.iter().map(delega).collect()
}

/// Appends an audit entry (DEL-4).
pub async fn registra_audit(db: &impl ConnectionTrait, v: &VoceAudit) -> Result<(), AppError> {
    let q = Query::insert()
        .into_table(AUDIT)
        .columns([
            "id",
            "delega_id",
            "azione",
            "autore_cf",
            "eseguita_il",
            "giorno",
            "rpc_path",
            "delegante_cf",
            "delegato_cf",
            "ruolo",
            "esito",
            "nota",
        ])
        .values([
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
        ])
        .map_err(AppError::internal)?
        .to_owned();
    db.execute(&q).await?;
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
    let mut q = Query::select()
        .columns([
            "seq",
            "id",
            "delega_id",
            "azione",
            "autore_cf",
            "eseguita_il",
            "rpc_path",
            "delegante_cf",
            "delegato_cf",
            "ruolo",
            "esito",
            "nota",
        ])
        .from(AUDIT)
        .to_owned();
    if let Some(id) = &f.delega_id {
        q.and_where(Expr::col("delega_id").eq(id.as_str()));
    }
    if let Some(cf) = &f.delegante_cf {
        q.and_where(Expr::col("delegante_cf").eq(cf.as_str()));
    }
    if let Some(cf) = &f.delegato_cf {
        q.and_where(Expr::col("delegato_cf").eq(cf.as_str()));
    }
    if let Some(a) = f.azione {
        q.and_where(Expr::col("azione").eq(a.as_str()));
    }
    if let Some(dal) = f.dal {
        q.and_where(Expr::col("giorno").gte(dal));
    }
    if let Some(al) = f.al {
        q.and_where(Expr::col("giorno").lte(al));
    }
    if let Some(seq) = prima_di {
        q.and_where(Expr::col("seq").lt(seq));
    }
    q.order_by("seq", Order::Desc).limit(limite);
    db.query_all(&q).await?.iter().map(voce).collect()
}
