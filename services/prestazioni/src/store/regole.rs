//! PRE-20: the rule tables. `regole` holds the row in force from each year on (a year uses the
//! latest row not after it) with its provenance; `regole_pubblicazioni` keeps every publication
//! whole, with its author and request id, and is never updated.

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, QueryResult};

use super::sql;
use crate::domain::regole::{Pubblicazione, Regole};

/// A row in force and how it came to be.
#[derive(Clone, Debug)]
pub struct RigaRegole {
    pub regole: Regole,
    pub pubblicazione: Pubblicazione,
}

/// A publication to record (its table already verified, its changes computed).
pub struct NuovaPubblicazione<'a> {
    pub id: &'a str,
    pub request_id: &'a str,
    pub regole: &'a Regole,
    pub motivo: &'a str,
    pub autore_cf: &'a str,
    pub autore_profilo: &'a str,
    pub adesso: DateTime<Utc>,
}

const COLONNE: &str = "anno, dati, versione, origine, motivo, autore_cf, pubblicata_il_ms";

/// The figures in force in `anno`.
pub async fn regole(db: &impl ConnectionTrait, anno: i32) -> Result<Option<Regole>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT dati FROM regole WHERE anno <= ? ORDER BY anno DESC LIMIT 1",
            vec![anno.into()],
        ))
        .await?;
    row.map(|r| dati(&r)).transpose()
}

/// Every row in force, by year.
pub async fn righe_regole(db: &impl ConnectionTrait) -> Result<Vec<RigaRegole>, AppError> {
    let rows = db
        .query_all_raw(sql(
            db,
            &format!("SELECT {COLONNE} FROM regole ORDER BY anno"),
            vec![],
        ))
        .await?;
    rows.iter().map(riga).collect()
}

/// The publication recorded under `request_id`, as it was published.
pub async fn pubblicazione_per_request(
    db: &impl ConnectionTrait,
    request_id: &str,
) -> Result<Option<RigaRegole>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT dati, versione, motivo, autore_cf, pubblicata_il_ms FROM regole_pubblicazioni \
             WHERE request_id = ?",
            vec![request_id.into()],
        ))
        .await?;
    row.map(|r| {
        let ms: i64 = r.try_get("", "pubblicata_il_ms")?;
        Ok(RigaRegole {
            regole: dati(&r)?,
            pubblicazione: Pubblicazione {
                versione: r.try_get("", "versione")?,
                origine: crate::domain::regole::ORIGINE_PUBBLICAZIONE.into(),
                motivo: r.try_get("", "motivo")?,
                autore_cf: r.try_get("", "autore_cf")?,
                pubblicata_il: DateTime::<Utc>::from_timestamp_millis(ms),
            },
        })
    })
    .transpose()
}

/// Records a publication and makes it the row in force for its year (a new version when the
/// year had one). The caller's transaction also recomputes the following row's changes.
/// Two publications of one year at once: the unique (anno, versione) lets one commit, the other
/// gets `None` (as does a request id recorded meanwhile); the caller rolls back and looks again.
pub async fn pubblica(
    db: &impl ConnectionTrait,
    p: NuovaPubblicazione<'_>,
) -> Result<Option<RigaRegole>, AppError> {
    let anno = p.regole.anno;
    let versione: i32 = db
        .query_one_raw(sql(
            db,
            "SELECT COALESCE(MAX(versione), 0) AS v FROM regole_pubblicazioni WHERE anno = ?",
            vec![anno.into()],
        ))
        .await?
        .map(|r| r.try_get::<i32>("", "v"))
        .transpose()?
        .unwrap_or(0)
        + 1;
    let json = serde_json::to_string(p.regole).map_err(AppError::internal)?;
    let ms = p.adesso.timestamp_millis();
    let registrata = db
        .execute_raw(sql(
            db,
            "INSERT INTO regole_pubblicazioni \
         (id, request_id, anno, versione, dati, motivo, autore_cf, autore_profilo, pubblicata_il_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                p.id.into(),
                p.request_id.into(),
                anno.into(),
                versione.into(),
                json.clone().into(),
                p.motivo.into(),
                p.autore_cf.into(),
                p.autore_profilo.into(),
                ms.into(),
            ],
        ))
        .await;
    match registrata {
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => return Ok(None),
        r => r?,
    };
    db.execute_raw(sql(
        db,
        "INSERT INTO regole (anno, dati, versione, origine, motivo, autore_cf, pubblicata_il_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (anno) DO UPDATE SET dati = excluded.dati, versione = excluded.versione, \
         origine = excluded.origine, motivo = excluded.motivo, autore_cf = excluded.autore_cf, \
         pubblicata_il_ms = excluded.pubblicata_il_ms",
        vec![
            anno.into(),
            json.into(),
            versione.into(),
            crate::domain::regole::ORIGINE_PUBBLICAZIONE.into(),
            p.motivo.into(),
            p.autore_cf.into(),
            ms.into(),
        ],
    ))
    .await?;
    Ok(Some(RigaRegole {
        regole: p.regole.clone(),
        pubblicazione: Pubblicazione {
            versione,
            origine: crate::domain::regole::ORIGINE_PUBBLICAZIONE.into(),
            motivo: p.motivo.into(),
            autore_cf: p.autore_cf.into(),
            pubblicata_il: Some(p.adesso),
        },
    }))
}

/// Rewrites the table of a row in force (its changes, recomputed when the row before it was
/// published), keeping its provenance.
pub async fn aggiorna_dati(db: &impl ConnectionTrait, r: &Regole) -> Result<(), AppError> {
    let json = serde_json::to_string(r).map_err(AppError::internal)?;
    db.execute_raw(sql(
        db,
        "UPDATE regole SET dati = ? WHERE anno = ?",
        vec![json.into(), r.anno.into()],
    ))
    .await?;
    Ok(())
}

fn dati(r: &QueryResult) -> Result<Regole, AppError> {
    let dati: String = r.try_get("", "dati")?;
    serde_json::from_str(&dati).map_err(AppError::internal)
}

fn riga(r: &QueryResult) -> Result<RigaRegole, AppError> {
    let ms: Option<i64> = r.try_get("", "pubblicata_il_ms")?;
    Ok(RigaRegole {
        regole: dati(r)?,
        pubblicazione: Pubblicazione {
            versione: r.try_get("", "versione")?,
            origine: r.try_get("", "origine")?,
            motivo: r.try_get("", "motivo")?,
            autore_cf: r.try_get("", "autore_cf")?,
            pubblicata_il: ms.and_then(DateTime::<Utc>::from_timestamp_millis),
        },
    })
}
