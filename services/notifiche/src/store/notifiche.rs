//! Notices: each is a message of a person's MyINPS inbox (NOT-1), kept once per key (an event
//! and its recipient, a campaign quarter and its employer, a delega's end).

use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, QueryResult};

use super::{esegui, opt_i32, opt_str, righe};
use crate::domain::Tipo;

#[derive(Clone, Debug)]
pub struct Notifica {
    pub id: String,
    /// The deduplication key (NOT-2).
    pub chiave: String,
    pub codice_fiscale: String,
    pub tipo: Tipo,
    pub titolo: String,
    pub testo: String,
    pub guida_token: Option<String>,
    pub event_id: Option<String>,
    pub campagna: Option<String>,
    pub anno: Option<i32>,
    pub trimestre: Option<i32>,
    pub creata_ms: i64,
    pub letta_ms: Option<i64>,
}

const INSERITE: [&str; 12] = [
    "id",
    "chiave",
    "codice_fiscale",
    "tipo",
    "titolo",
    "testo",
    "guida_token",
    "event_id",
    "campagna",
    "anno",
    "trimestre",
    "creata_ms",
];

/// Keeps a notice unless its key is already there: `false` then (nothing written).
pub async fn inserisci(db: &impl ConnectionTrait, n: &Notifica) -> Result<bool, AppError> {
    Ok(!inserisci_molte(db, std::slice::from_ref(n)).await?.is_empty())
}

/// Keeps the notices whose keys are not there yet (multi-row statements); the ids written.
pub async fn inserisci_molte(
    db: &impl ConnectionTrait,
    notifiche: &[Notifica],
) -> Result<Vec<String>, AppError> {
    let righe_ = notifiche.iter().map(valori).collect();
    super::inserisci_righe(
        db,
        "notifiche",
        &INSERITE,
        righe_,
        "ON CONFLICT (chiave) DO NOTHING RETURNING id",
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get("", "id")?))
    .collect()
}

fn valori(n: &Notifica) -> Vec<sea_orm::Value> {
    vec![
        n.id.clone().into(),
        n.chiave.clone().into(),
        n.codice_fiscale.clone().into(),
        n.tipo.as_str().into(),
        n.titolo.clone().into(),
        n.testo.clone().into(),
        opt_str(n.guida_token.as_deref()),
        opt_str(n.event_id.as_deref()),
        opt_str(n.campagna.as_deref()),
        opt_i32(n.anno),
        opt_i32(n.trimestre),
        n.creata_ms.into(),
    ]
}

const COLONNE: &str = "seq, id, chiave, codice_fiscale, tipo, titolo, testo, guida_token, event_id, campagna, \
                       anno, trimestre, creata_ms, letta_ms";

fn notifica(r: &QueryResult) -> Result<(i64, Notifica), AppError> {
    let tipo: String = r.try_get("", "tipo")?;
    Ok((
        r.try_get("", "seq")?,
        Notifica {
            id: r.try_get("", "id")?,
            chiave: r.try_get("", "chiave")?,
            codice_fiscale: r.try_get("", "codice_fiscale")?,
            tipo: Tipo::parse(&tipo).ok_or_else(|| AppError::internal(format!("unknown tipo {tipo:?}")))?,
            titolo: r.try_get("", "titolo")?,
            testo: r.try_get("", "testo")?,
            guida_token: r.try_get("", "guida_token")?,
            event_id: r.try_get("", "event_id")?,
            campagna: r.try_get("", "campagna")?,
            anno: r.try_get("", "anno")?,
            trimestre: r.try_get("", "trimestre")?,
            creata_ms: r.try_get("", "creata_ms")?,
            letta_ms: r.try_get("", "letta_ms")?,
        },
    ))
}

/// The notices an event produced (a redelivered event answers with them).
pub async fn per_evento(db: &impl ConnectionTrait, event_id: &str) -> Result<Vec<String>, AppError> {
    righe(
        db,
        "SELECT id FROM notifiche WHERE event_id = ? ORDER BY seq",
        vec![event_id.into()],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get("", "id")?))
    .collect()
}

/// A person's inbox, newest first, after the cursor (a `seq`).
pub async fn inbox(
    db: &impl ConnectionTrait,
    cf: &str,
    tipo: Option<Tipo>,
    solo_non_lette: bool,
    prima_di: Option<i64>,
    limite: u64,
) -> Result<Vec<(i64, Notifica)>, AppError> {
    let mut sql = format!("SELECT {COLONNE} FROM notifiche WHERE codice_fiscale = ?");
    let mut valori = vec![cf.into()];
    if let Some(t) = tipo {
        sql.push_str(" AND tipo = ?");
        valori.push(t.as_str().into());
    }
    if solo_non_lette {
        sql.push_str(" AND letta_ms IS NULL");
    }
    if let Some(c) = prima_di {
        sql.push_str(" AND seq < ?");
        valori.push(c.into());
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {limite}"));
    righe(db, &sql, valori).await?.iter().map(notifica).collect()
}

/// Marks a person's message read (once: the first reading's time stays). `false`: no such
/// message of that person.
pub async fn segna_letta(
    db: &impl ConnectionTrait,
    cf: &str,
    id: &str,
    adesso_ms: i64,
) -> Result<bool, AppError> {
    esegui(
        db,
        "UPDATE notifiche SET letta_ms = COALESCE(letta_ms, ?) WHERE codice_fiscale = ? AND id = ?",
        vec![adesso_ms.into(), cf.into(), id.into()],
    )
    .await
    .map(|n| n > 0)
}

/// One message of a person's inbox.
pub async fn una(db: &impl ConnectionTrait, cf: &str, id: &str) -> Result<Option<Notifica>, AppError> {
    Ok(righe(
        db,
        &format!("SELECT {COLONNE} FROM notifiche WHERE codice_fiscale = ? AND id = ?"),
        vec![cf.into(), id.into()],
    )
    .await?
    .first()
    .map(notifica)
    .transpose()?
    .map(|(_, n)| n))
}
