//! Persistence of LAO communications on SQLite or PostgreSQL: one row per P, V or A (the sent
//! document as JSON, its keys in columns), the chain links, the committenti bound to a profile
//! and the outbox. Statements are plain SQL written once with `?` placeholders
//! (`occasionali_runtime::sql::dialect` numbers them for PostgreSQL).

mod migrations;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, QueryResult, Value};

pub use migrations::Migrator;

use crate::domain::soglia::TotaleAnno;
use crate::domain::{Comunicazione, Durata, Errore, Tipo};

use occasionali_runtime::sql::statement as sql;

/// A stored communication and where it stands in its chain.
#[derive(Clone, Debug)]
pub struct Registrata {
    pub seq: i64,
    pub com: Comunicazione,
    /// The V or A that replaced it.
    pub successiva: Option<String>,
    /// The codice of the P that started the chain.
    pub origine: String,
}

impl Registrata {
    pub fn is_head(&self) -> bool {
        self.successiva.is_none()
    }
}

/// A search row (LAO-2), from the key columns only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sintesi {
    pub seq: i64,
    pub codice: String,
    pub tipo: Tipo,
    pub successiva: Option<String>,
    pub precedente: Option<String>,
    pub data_invio: NaiveDate,
    pub committente_cf: String,
    pub committente_denominazione: String,
    pub lavoratore_cf: String,
    pub lavoratore_nominativo: String,
    pub data_inizio: NaiveDate,
    pub durata: Durata,
    pub compilatore_cf: String,
}

/// A client request id (AIP-155) scoped to its caller, and the fingerprint of the request it
/// was first used with.
#[derive(Clone, Debug)]
pub struct Richiesta {
    pub key: String,
    pub impronta: String,
}

/// The key columns of a search row ([`Sintesi`]).
const SINTESI: &str = "seq, codice, tipo, codice_successivo, codice_precedente, data_invio, \
    committente_cf, committente_denominazione, lavoratore_cf, lavoratore_nominativo, data_inizio, \
    durata_giorni, compilatore_cf";

fn corrupt(what: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("corrupt comunicazione row: {what}"))
}

fn sintesi(r: &QueryResult) -> Result<Sintesi, AppError> {
    let tipo: String = r.try_get("", "tipo")?;
    let durata: i32 = r.try_get("", "durata_giorni")?;
    Ok(Sintesi {
        seq: r.try_get("", "seq")?,
        codice: r.try_get("", "codice")?,
        tipo: Tipo::parse(&tipo).ok_or_else(|| corrupt(format!("tipo {tipo}")))?,
        successiva: r.try_get("", "codice_successivo")?,
        precedente: r.try_get("", "codice_precedente")?,
        data_invio: r.try_get("", "data_invio")?,
        committente_cf: r.try_get("", "committente_cf")?,
        committente_denominazione: r.try_get("", "committente_denominazione")?,
        lavoratore_cf: r.try_get("", "lavoratore_cf")?,
        lavoratore_nominativo: r.try_get("", "lavoratore_nominativo")?,
        data_inizio: r.try_get("", "data_inizio")?,
        durata: Durata::from_giorni(i64::from(durata)).ok_or_else(|| corrupt(format!("durata {durata}")))?,
        compilatore_cf: r.try_get("", "compilatore_cf")?,
    })
}

fn registrata(r: &QueryResult) -> Result<Registrata, AppError> {
    let dati: String = r.try_get("", "dati")?;
    Ok(Registrata {
        seq: r.try_get("", "seq")?,
        com: serde_json::from_str(&dati).map_err(corrupt)?,
        successiva: r.try_get("", "codice_successivo")?,
        origine: r.try_get("", "codice_origine")?,
    })
}

/// One communication by its codice.
pub async fn carica(db: &impl ConnectionTrait, codice: &str) -> Result<Option<Registrata>, AppError> {
    let q = sql(
        db,
        "SELECT seq, dati, codice_successivo, codice_origine FROM comunicazioni WHERE codice = ?",
        vec![codice.into()],
    );
    db.query_one_raw(q).await?.map(|r| registrata(&r)).transpose()
}

/// The whole chain started by `origine`, oldest first.
pub async fn catena(db: &impl ConnectionTrait, origine: &str) -> Result<Vec<Sintesi>, AppError> {
    let q = sql(
        db,
        &format!("SELECT {SINTESI} FROM comunicazioni WHERE codice_origine = ? ORDER BY seq ASC"),
        vec![origine.into()],
    );
    db.query_all_raw(q).await?.iter().map(sintesi).collect()
}

/// The current head of the chain started by `origine`.
pub async fn testa(db: &impl ConnectionTrait, origine: &str) -> Result<Option<String>, AppError> {
    let q = sql(
        db,
        "SELECT codice FROM comunicazioni WHERE codice_origine = ? AND codice_successivo IS NULL \
         ORDER BY seq DESC LIMIT 1",
        vec![origine.into()],
    );
    Ok(match db.query_one_raw(q).await? {
        Some(r) => Some(r.try_get("", "codice")?),
        None => None,
    })
}

/// Whether `cf` compiled any communication of the chain started by `origine` (LAO-1).
pub async fn compilata_nella_catena(
    db: &impl ConnectionTrait,
    origine: &str,
    cf: &str,
) -> Result<bool, AppError> {
    let q = sql(
        db,
        "SELECT seq FROM comunicazioni WHERE codice_origine = ? AND compilatore_cf = ? LIMIT 1",
        vec![origine.into(), cf.into()],
    );
    Ok(db.query_one_raw(q).await?.is_some())
}

/// The communication first sent with this request key, and that request's fingerprint.
pub async fn per_richiesta(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<(String, String)>, AppError> {
    let q = sql(
        db,
        "SELECT codice, request_impronta FROM comunicazioni WHERE request_key = ?",
        vec![key.into()],
    );
    match db.query_one_raw(q).await? {
        Some(r) => {
            let impronta: Option<String> = r.try_get("", "request_impronta")?;
            Ok(Some((r.try_get("", "codice")?, impronta.unwrap_or_default())))
        }
        None => Ok(None),
    }
}

/// Whether a communication with this codice exists (a fresh codice colliding is as likely as
/// guessing one, but it is checked anyway).
pub async fn esiste(db: &impl ConnectionTrait, codice: &str) -> Result<bool, AppError> {
    let q = sql(
        db,
        "SELECT seq FROM comunicazioni WHERE codice = ?",
        vec![codice.into()],
    );
    Ok(db.query_one_raw(q).await?.is_some())
}

/// The columns of a new row, in the order of [`valori`].
const COLONNE: &str = "codice, tipo, codice_precedente, codice_origine, committente_cf, \
    committente_denominazione, lavoratore_cf, lavoratore_nominativo, compilatore_cf, data_invio, \
    inviata_il, data_inizio, anno_inizio, durata_giorni, compenso_cents, request_key, \
    request_impronta, dati";
/// One row's placeholders, one per column of [`COLONNE`].
const RIGA: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

fn valori(c: &Comunicazione, origine: &str, richiesta: Option<&Richiesta>) -> Result<Vec<Value>, AppError> {
    use chrono::Datelike;
    let (i, co, l, r) = (
        &c.invio,
        &c.contenuto.committente,
        &c.contenuto.lavoratore,
        &c.contenuto.rapporto,
    );
    let dati = serde_json::to_string(c).map_err(AppError::internal)?;
    Ok(vec![
        i.codice.clone().into(),
        i.tipo.as_str().into(),
        i.codice_precedente.clone().into(),
        origine.into(),
        co.cf.clone().into(),
        co.denominazione.clone().into(),
        l.cf.clone().into(),
        l.nominativo().into(),
        i.compilatore_cf.clone().into(),
        i.data_invio.into(),
        i.inviata_il.into(),
        r.data_inizio.into(),
        r.data_inizio.year().into(),
        i32::try_from(r.durata.giorni()).unwrap_or(30).into(),
        r.compenso_stimato.cents().into(),
        richiesta.map(|q| q.key.clone()).into(),
        richiesta.map(|q| q.impronta.clone()).into(),
        dati.into(),
    ])
}

/// Inserts a communication. A unique violation (the same request key, the same predecessor or
/// the same codice written concurrently) is a lost race: ABORTED.
pub async fn inserisci(
    txn: &impl ConnectionTrait,
    c: &Comunicazione,
    origine: &str,
    richiesta: Option<&Richiesta>,
) -> Result<(), AppError> {
    let q = sql(
        txn,
        &format!("INSERT INTO comunicazioni ({COLONNE}) VALUES {RIGA}"),
        valori(c, origine, richiesta)?,
    );
    match txn.execute_raw(q).await {
        Ok(_) => Ok(()),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Err(Errore::InvioConcorrente.into()),
        Err(e) => Err(e.into()),
    }
}

/// Bulk load (benchmarks, imports): one multi-row INSERT for `righe` (communication, origin).
pub async fn inserisci_molti(
    txn: &impl ConnectionTrait,
    righe: &[(Comunicazione, String)],
) -> Result<(), AppError> {
    if righe.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(righe.len() * 18);
    for (c, origine) in righe {
        values.extend(valori(c, origine, None)?);
    }
    let tuple = vec![RIGA; righe.len()].join(", ");
    let q = sql(
        txn,
        &format!("INSERT INTO comunicazioni ({COLONNE}) VALUES {tuple}"),
        values,
    );
    txn.execute_raw(q).await?;
    Ok(())
}

/// LAO-11: marks `vecchio` as replaced by `nuovo`, only if it is still the head. `false`: it
/// is not (any more) — someone else's V or A won. On PostgreSQL the UPDATE waits for a
/// concurrent one on the same row and then re-checks the condition; on SQLite writers are
/// already serialised by BEGIN IMMEDIATE. The unique index on `codice_precedente` backs it up.
pub async fn sostituisci(txn: &impl ConnectionTrait, vecchio: &str, nuovo: &str) -> Result<bool, AppError> {
    let q = sql(
        txn,
        "UPDATE comunicazioni SET codice_successivo = ? WHERE codice = ? AND codice_successivo IS NULL",
        vec![nuovo.into(), vecchio.into()],
    );
    Ok(txn.execute_raw(q).await?.rows_affected() == 1)
}

/// Records that `cf` acts through an azienda profile (LAO-7: bound committente).
pub async fn vincola(txn: &impl ConnectionTrait, cf: &str, ora: DateTime<Utc>) -> Result<(), AppError> {
    let q = sql(
        txn,
        "INSERT INTO committenti_vincolati (cf, vincolato_il) VALUES (?, ?) ON CONFLICT (cf) DO NOTHING",
        vec![cf.into(), ora.into()],
    );
    txn.execute_raw(q).await?;
    Ok(())
}

pub async fn vincolato(db: &impl ConnectionTrait, cf: &str) -> Result<bool, AppError> {
    let q = sql(
        db,
        "SELECT cf FROM committenti_vincolati WHERE cf = ?",
        vec![cf.into()],
    );
    Ok(db.query_one_raw(q).await?.is_some())
}

/// Search filters (LAO-2) plus the profile's restriction (LAO-1); `None` = any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filtro {
    pub codice: Option<String>,
    pub committente_cf: Option<String>,
    pub lavoratore_cf: Option<String>,
    pub compilatore_cf: Option<String>,
}

/// Every match, newest first, strictly before `prima_di` (a seq), at most `limite`.
pub async fn cerca(
    db: &impl ConnectionTrait,
    f: &Filtro,
    prima_di: Option<i64>,
    limite: u64,
) -> Result<Vec<Sintesi>, AppError> {
    let mut condizioni = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    for (condizione, valore) in [
        ("codice = ?", &f.codice),
        ("committente_cf = ?", &f.committente_cf),
        ("lavoratore_cf = ?", &f.lavoratore_cf),
        ("compilatore_cf = ?", &f.compilatore_cf),
    ] {
        if let Some(v) = valore {
            condizioni.push(condizione);
            values.push(v.clone().into());
        }
    }
    if let Some(seq) = prima_di {
        condizioni.push("seq < ?");
        values.push(seq.into());
    }
    let dove = if condizioni.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", condizioni.join(" AND "))
    };
    values.push(i64::try_from(limite).unwrap_or(i64::MAX).into());
    let q = sql(
        db,
        &format!("SELECT {SINTESI} FROM comunicazioni{dove} ORDER BY seq DESC LIMIT ?"),
        values,
    );
    db.query_all_raw(q).await?.iter().map(sintesi).collect()
}

fn totale(r: &QueryResult) -> Result<TotaleAnno, AppError> {
    Ok(TotaleAnno {
        anno: r.try_get("", "anno_inizio")?,
        numero: r.try_get("", "numero")?,
        totale_cents: r.try_get("", "totale_cents")?,
    })
}

/// A worker's totals per year of start date, over heads of chains not cancelled (the
/// Gestione Separata warning). `anno` = `None`: every year, oldest first.
pub async fn totali(
    db: &impl ConnectionTrait,
    lavoratore_cf: &str,
    anno: Option<i32>,
) -> Result<Vec<TotaleAnno>, AppError> {
    let mut values: Vec<Value> = vec![lavoratore_cf.into(), Tipo::A.as_str().into()];
    let dell_anno = match anno {
        Some(a) => {
            values.push(a.into());
            " AND anno_inizio = ?"
        }
        None => "",
    };
    // COUNT is BIGINT and SUM of a BIGINT is NUMERIC on PostgreSQL: cast both so that either
    // engine returns integers.
    let q = sql(
        db,
        &format!(
            "SELECT anno_inizio, CAST(COUNT(seq) AS BIGINT) AS numero, \
             CAST(COALESCE(SUM(compenso_cents), 0) AS BIGINT) AS totale_cents \
             FROM comunicazioni \
             WHERE lavoratore_cf = ? AND codice_successivo IS NULL AND tipo <> ?{dell_anno} \
             GROUP BY anno_inizio ORDER BY anno_inizio ASC"
        ),
        values,
    );
    db.query_all_raw(q).await?.iter().map(totale).collect()
}

/// One year's total (zero when nothing counts).
pub async fn totale_anno(
    db: &impl ConnectionTrait,
    lavoratore_cf: &str,
    anno: i32,
) -> Result<TotaleAnno, AppError> {
    Ok(totali(db, lavoratore_cf, Some(anno))
        .await?
        .into_iter()
        .next()
        .unwrap_or(TotaleAnno {
            anno,
            numero: 0,
            totale_cents: 0,
        }))
}

/// Whether some communication about `lavoratore_cf` matches the restriction (LAO-1: what a
/// profile may know about a worker).
pub async fn lavoratore_visibile(
    db: &impl ConnectionTrait,
    lavoratore_cf: &str,
    committente_cf: Option<&str>,
    compilatore_cf: Option<&str>,
) -> Result<bool, AppError> {
    let mut condizioni = vec!["lavoratore_cf = ?"];
    let mut values: Vec<Value> = vec![lavoratore_cf.into()];
    if let Some(c) = committente_cf {
        condizioni.push("committente_cf = ?");
        values.push(c.into());
    }
    if let Some(c) = compilatore_cf {
        condizioni.push("compilatore_cf = ?");
        values.push(c.into());
    }
    let q = sql(
        db,
        &format!(
            "SELECT seq FROM comunicazioni WHERE {} LIMIT 1",
            condizioni.join(" AND ")
        ),
        values,
    );
    Ok(db.query_one_raw(q).await?.is_some())
}
