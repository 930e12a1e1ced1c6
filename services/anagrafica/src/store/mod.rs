//! Persistence of the registry: the subject aggregate (queryable keys in columns, the rest as a
//! JSON document), its change history and the outbox, on SQLite or PostgreSQL. Plain SQL written
//! once with `?` placeholders (numbered for PostgreSQL by `occasionali_runtime::sql::dialect`).

mod migrations;

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use occasionali_runtime::identity::Identity;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};

pub use migrations::Migrator;

use crate::domain::modifica::CampoModificato;
use crate::domain::{Identita, Ruolo, Soggetto};

use occasionali_runtime::sql::statement as sql;

fn decode(row: &QueryResult) -> Result<Soggetto, AppError> {
    let dati: String = row.try_get("", "dati")?;
    serde_json::from_str(&dati).map_err(|e| AppError::internal(format!("corrupt soggetto document: {e}")))
}

fn natura(s: &Soggetto) -> &'static str {
    match s.identita {
        Identita::Persona(_) => "persona",
        Identita::Organizzazione(_) => "organizzazione",
    }
}

pub async fn carica(db: &impl ConnectionTrait, cf: &str) -> Result<Option<Soggetto>, AppError> {
    db.query_one_raw(sql(db, "SELECT dati FROM soggetti WHERE cf = ?", vec![cf.into()]))
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// The records of `cfs` that exist, in one statement (order not kept).
pub async fn carica_molti(db: &impl ConnectionTrait, cfs: &[String]) -> Result<Vec<Soggetto>, AppError> {
    if cfs.is_empty() {
        return Ok(Vec::new());
    }
    let segnaposti = vec!["?"; cfs.len()].join(", ");
    db.query_all_raw(sql(
        db,
        &format!("SELECT dati FROM soggetti WHERE cf IN ({segnaposti})"),
        cfs.iter().map(|cf| cf.clone().into()).collect(),
    ))
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// Loads a record inside a write transaction, locking it on PostgreSQL so concurrent
/// corrections queue (SQLite write transactions are already exclusive: BEGIN IMMEDIATE).
pub async fn carica_per_modifica(txn: &impl ConnectionTrait, cf: &str) -> Result<Option<Soggetto>, AppError> {
    let lock = match txn.get_database_backend() {
        DbBackend::Postgres => " FOR UPDATE",
        _ => "",
    };
    let text = format!("SELECT dati FROM soggetti WHERE cf = ?{lock}");
    txn.query_one_raw(sql(txn, &text, vec![cf.into()]))
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// The organisations whose legal representative is `cf` (ANA-8), by codice fiscale.
pub async fn rappresentate(db: &impl ConnectionTrait, cf: &str) -> Result<Vec<Soggetto>, AppError> {
    if cf.is_empty() {
        return Ok(Vec::new());
    }
    db.query_all_raw(sql(
        db,
        "SELECT dati FROM soggetti WHERE legale_rappresentante_cf = ? ORDER BY cf ASC",
        vec![cf.into()],
    ))
    .await?
    .iter()
    .map(decode)
    .collect()
}

fn json(s: &Soggetto) -> Result<String, AppError> {
    serde_json::to_string(s).map_err(AppError::internal)
}

/// Inserts a new record. A concurrent registration of the same CF loses with ABORTED.
pub async fn inserisci(txn: &impl ConnectionTrait, s: &Soggetto) -> Result<(), AppError> {
    let statement = sql(
        txn,
        "INSERT INTO soggetti (cf, sede, natura, legale_rappresentante_cf, nominativo, is_prestatore, \
         is_utilizzatore_lf, is_utilizzatore_cpo, is_intermediario, versione, dati, creato_il, aggiornato_il) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            s.cf.clone().into(),
            s.sede.clone().into(),
            natura(s).into(),
            s.legale_rappresentante().map(str::to_string).into(),
            s.nominativo().into(),
            s.ha_ruolo(Ruolo::Prestatore).into(),
            s.ha_ruolo(Ruolo::UtilizzatoreLf).into(),
            s.ha_ruolo(Ruolo::UtilizzatoreCpo).into(),
            s.ha_ruolo(Ruolo::Intermediario).into(),
            s.versione.into(),
            json(s)?.into(),
            s.aggiornato_il.into(),
            s.aggiornato_il.into(),
        ],
    );
    match txn.execute_raw(statement).await {
        Ok(_) => Ok(()),
        // Another registration of the same CF (maybe in another role) committed first.
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Err(AppError::aborted(
            "ANA-1",
            "ANA_1_CONCURRENT_REGISTRATION",
            "this codice fiscale was registered concurrently; retry",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Writes a new version of a record, only if nobody changed it since `versione_letta`
/// (optimistic concurrency: several replicas may serve the same record).
pub async fn aggiorna(txn: &impl ConnectionTrait, s: &Soggetto, versione_letta: i64) -> Result<(), AppError> {
    let res = txn
        .execute_raw(sql(
            txn,
            "UPDATE soggetti SET sede = ?, legale_rappresentante_cf = ?, nominativo = ?, is_prestatore = ?, \
             is_utilizzatore_lf = ?, is_utilizzatore_cpo = ?, is_intermediario = ?, versione = ?, dati = ?, \
             aggiornato_il = ? WHERE cf = ? AND versione = ?",
            vec![
                s.sede.clone().into(),
                s.legale_rappresentante().map(str::to_string).into(),
                s.nominativo().into(),
                s.ha_ruolo(Ruolo::Prestatore).into(),
                s.ha_ruolo(Ruolo::UtilizzatoreLf).into(),
                s.ha_ruolo(Ruolo::UtilizzatoreCpo).into(),
                s.ha_ruolo(Ruolo::Intermediario).into(),
                s.versione.into(),
                json(s)?.into(),
                s.aggiornato_il.into(),
                s.cf.clone().into(),
                versione_letta.into(),
            ],
        ))
        .await?;
    if res.rows_affected() == 1 {
        Ok(())
    } else {
        Err(AppError::aborted(
            "ANA-6",
            "ANA_6_CONCURRENT_CHANGE",
            "the record changed meanwhile; read it again and retry",
        ))
    }
}

/// One entry of the history, as stored.
#[derive(Clone, Debug)]
pub struct ModificaRegistrata {
    pub seq: i64,
    pub id: String,
    pub eseguita_il: DateTime<Utc>,
    pub autore_cf: String,
    pub autore_profilo: String,
    pub azione: String,
    pub campi: Vec<CampoModificato>,
    pub nota: String,
}

/// Appends to the history (ANA-6): who (the original client for system calls), when, what.
pub async fn registra_modifica(
    txn: &impl ConnectionTrait,
    cf: &str,
    ora: DateTime<Utc>,
    autore: &Identity,
    azione: &str,
    campi: &[CampoModificato],
    nota: &str,
) -> Result<(), AppError> {
    let autore = autore.author();
    txn.execute_raw(sql(
        txn,
        "INSERT INTO modifiche (id, cf, eseguita_il, autore_cf, autore_profilo, azione, campi, nota) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            occasionali_kernel::ids::new_id("mod").into(),
            cf.into(),
            ora.into(),
            autore.caller.cf.clone().into(),
            autore.caller.profile.as_str().into(),
            azione.into(),
            serde_json::to_string(campi).map_err(AppError::internal)?.into(),
            nota.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The history of a subject, newest first, after the cursor `prima_di` (a seq).
pub async fn modifiche(
    db: &impl ConnectionTrait,
    cf: &str,
    prima_di: Option<i64>,
    limite: u64,
) -> Result<Vec<ModificaRegistrata>, AppError> {
    let mut text = String::from(
        "SELECT seq, id, eseguita_il, autore_cf, autore_profilo, azione, campi, nota FROM modifiche WHERE cf = ?",
    );
    let mut values: Vec<Value> = vec![cf.into()];
    if let Some(seq) = prima_di {
        text.push_str(" AND seq < ?");
        values.push(seq.into());
    }
    text.push_str(" ORDER BY seq DESC LIMIT ?");
    values.push(limite.into());
    let rows = db.query_all_raw(sql(db, &text, values)).await?;
    rows.iter().map(modifica_registrata).collect()
}

fn modifica_registrata(r: &QueryResult) -> Result<ModificaRegistrata, AppError> {
    let campi: String = r.try_get("", "campi")?;
    Ok(ModificaRegistrata {
        seq: r.try_get("", "seq")?,
        id: r.try_get("", "id")?,
        eseguita_il: r.try_get("", "eseguita_il")?,
        autore_cf: r.try_get("", "autore_cf")?,
        autore_profilo: r.try_get("", "autore_profilo")?,
        azione: r.try_get("", "azione")?,
        campi: serde_json::from_str(&campi).map_err(AppError::internal)?,
        nota: r.try_get("", "nota")?,
    })
}

/// The registered subjects among `cfs` holding `ruolo`, optionally in one sede (ANA-9).
pub async fn soggetti_tra(
    db: &impl ConnectionTrait,
    cfs: &[String],
    ruolo: Ruolo,
    sede: Option<&str>,
) -> Result<Vec<Soggetto>, AppError> {
    if cfs.is_empty() {
        return Ok(Vec::new());
    }
    let flag = match ruolo {
        Ruolo::Prestatore => "is_prestatore",
        Ruolo::UtilizzatoreLf => "is_utilizzatore_lf",
        Ruolo::UtilizzatoreCpo => "is_utilizzatore_cpo",
        Ruolo::Intermediario => "is_intermediario",
    };
    let segnaposti = vec!["?"; cfs.len()].join(", ");
    let mut text = format!("SELECT dati FROM soggetti WHERE cf IN ({segnaposti}) AND {flag} = ?");
    let mut values: Vec<Value> = cfs.iter().map(|cf| cf.clone().into()).collect();
    values.push(true.into());
    if let Some(sede) = sede {
        text.push_str(" AND sede = ?");
        values.push(sede.into());
    }
    let rows = db.query_all_raw(sql(db, &text, values)).await?;
    rows.iter().map(decode).collect()
}

/// One operator read (GW-5), as stored.
#[derive(Clone, Debug)]
pub struct AccessoRegistrato {
    pub seq: i64,
    pub eseguito_il: DateTime<Utc>,
    pub autore_cf: String,
    pub autore_profilo: String,
    pub autore_sede: String,
    pub azione: String,
    pub cf: String,
    pub dettaglio: String,
}

/// Records that an operator read registry data (GW-5). Outside any transaction: a read does
/// not wait for, nor hold, the registry's write lock longer than this insert.
pub async fn registra_accesso(
    db: &impl ConnectionTrait,
    ora: DateTime<Utc>,
    autore: &Identity,
    azione: &str,
    cf: &str,
    dettaglio: &str,
) -> Result<(), AppError> {
    let a = autore.author();
    db.execute_raw(sql(
        db,
        "INSERT INTO accessi (eseguito_il, autore_cf, autore_profilo, autore_sede, azione, cf, dettaglio) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        vec![
            ora.into(),
            a.caller.cf.clone().into(),
            a.caller.profile.as_str().into(),
            a.caller.sede.clone().unwrap_or_default().into(),
            azione.into(),
            cf.into(),
            dettaglio.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Operators' reads, newest first, after the cursor `prima_di`.
pub async fn accessi(
    db: &impl ConnectionTrait,
    autore_cf: Option<&str>,
    cf: Option<&str>,
    prima_di: Option<i64>,
    limite: u64,
) -> Result<Vec<AccessoRegistrato>, AppError> {
    let mut filtri: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(a) = autore_cf {
        filtri.push("autore_cf = ?");
        values.push(a.into());
    }
    if let Some(c) = cf {
        filtri.push("cf = ?");
        values.push(c.into());
    }
    if let Some(seq) = prima_di {
        filtri.push("seq < ?");
        values.push(seq.into());
    }
    let mut text = String::from(
        "SELECT seq, eseguito_il, autore_cf, autore_profilo, autore_sede, azione, cf, dettaglio FROM accessi",
    );
    if !filtri.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&filtri.join(" AND "));
    }
    text.push_str(" ORDER BY seq DESC LIMIT ?");
    values.push(limite.into());
    let rows = db.query_all_raw(sql(db, &text, values)).await?;
    rows.iter().map(accesso_registrato).collect()
}

fn accesso_registrato(r: &QueryResult) -> Result<AccessoRegistrato, AppError> {
    Ok(AccessoRegistrato {
        seq: r.try_get("", "seq")?,
        eseguito_il: r.try_get("", "eseguito_il")?,
        autore_cf: r.try_get("", "autore_cf")?,
        autore_profilo: r.try_get("", "autore_profilo")?,
        autore_sede: r.try_get("", "autore_sede")?,
        azione: r.try_get("", "azione")?,
        cf: r.try_get("", "cf")?,
        dettaglio: r.try_get("", "dettaglio")?,
    })
}
