//! The deleghe whose end is announced (NOT-2), kept from deleghe's events.

use chrono::NaiveDate;
use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;

use super::{esegui, righe};

pub async fn registra(
    db: &impl ConnectionTrait,
    delega_id: &str,
    delegante_cf: &str,
    delegato_cf: &str,
    fine: Option<NaiveDate>,
) -> Result<(), AppError> {
    esegui(
        db,
        "INSERT INTO deleghe (delega_id, delegante_cf, delegato_cf, fine) VALUES (?, ?, ?, ?) \
         ON CONFLICT (delega_id) DO UPDATE SET fine = excluded.fine",
        vec![
            delega_id.into(),
            delegante_cf.into(),
            delegato_cf.into(),
            fine.map(|d| d.to_string()).into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn revoca(db: &impl ConnectionTrait, delega_id: &str) -> Result<(), AppError> {
    esegui(
        db,
        "UPDATE deleghe SET revocata = TRUE WHERE delega_id = ?",
        vec![delega_id.into()],
    )
    .await?;
    Ok(())
}

pub struct InScadenza {
    pub delega_id: String,
    pub delegante_cf: String,
    pub delegato_cf: String,
    pub fine: NaiveDate,
}

/// Deleghe in force that end between `dal` and `al` (inclusive).
pub async fn in_scadenza(
    db: &impl ConnectionTrait,
    dal: NaiveDate,
    al: NaiveDate,
) -> Result<Vec<InScadenza>, AppError> {
    let rows = righe(
        db,
        "SELECT delega_id, delegante_cf, delegato_cf, fine FROM deleghe \
         WHERE revocata = FALSE AND fine IS NOT NULL AND fine >= ? AND fine <= ? ORDER BY fine, delega_id",
        vec![dal.to_string().into(), al.to_string().into()],
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            let fine: String = r.try_get("", "fine")?;
            Ok(InScadenza {
                delega_id: r.try_get("", "delega_id")?,
                delegante_cf: r.try_get("", "delegante_cf")?,
                delegato_cf: r.try_get("", "delegato_cf")?,
                fine: fine.parse().map_err(AppError::internal)?,
            })
        })
        .collect()
}
