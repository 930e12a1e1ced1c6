//! Contacts (kept in step with anagrafica's events) and consents (NOT-1).

use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;

use super::{esegui, riga};
use crate::domain::canali::Recapiti;

#[derive(Clone, Debug, Default)]
pub struct Contatti {
    pub recapiti: Recapiti,
    pub consenso_sms_ms: Option<i64>,
    pub consenso_email_ms: Option<i64>,
    pub aggiornato_ms: i64,
}

pub async fn leggi(db: &impl ConnectionTrait, cf: &str) -> Result<Option<Contatti>, AppError> {
    let Some(r) = riga(
        db,
        "SELECT cellulare, email, consenso_sms, consenso_sms_ms, consenso_email, consenso_email_ms, aggiornato_ms \
         FROM contatti WHERE codice_fiscale = ?",
        vec![cf.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Contatti {
        recapiti: Recapiti {
            cellulare: r.try_get("", "cellulare")?,
            email: r.try_get("", "email")?,
            consenso_sms: r.try_get("", "consenso_sms")?,
            consenso_email: r.try_get("", "consenso_email")?,
        },
        consenso_sms_ms: r.try_get("", "consenso_sms_ms")?,
        consenso_email_ms: r.try_get("", "consenso_email_ms")?,
        aggiornato_ms: r.try_get("", "aggiornato_ms")?,
    }))
}

/// The contacts and consents of many people at once (a campaign page).
pub async fn di_molti(
    db: &impl ConnectionTrait,
    cfs: &[String],
) -> Result<std::collections::HashMap<String, Recapiti>, AppError> {
    let mut out = std::collections::HashMap::new();
    for lotto in cfs.chunks(1000) {
        let rows = super::righe(
            db,
            &format!(
                "SELECT codice_fiscale, cellulare, email, consenso_sms, consenso_email FROM contatti \
                 WHERE codice_fiscale IN ({})",
                super::segnaposti(lotto.len())
            ),
            lotto.iter().map(|c| c.clone().into()).collect(),
        )
        .await?;
        for r in rows {
            out.insert(
                r.try_get("", "codice_fiscale")?,
                Recapiti {
                    cellulare: r.try_get("", "cellulare")?,
                    email: r.try_get("", "email")?,
                    consenso_sms: r.try_get("", "consenso_sms")?,
                    consenso_email: r.try_get("", "consenso_email")?,
                },
            );
        }
    }
    Ok(out)
}

/// Anagrafica's contacts at `versione`; an older version arriving late changes nothing.
pub async fn da_anagrafica(
    db: &impl ConnectionTrait,
    cf: &str,
    cellulare: Option<&str>,
    email: Option<&str>,
    versione: i64,
    adesso_ms: i64,
) -> Result<(), AppError> {
    esegui(
        db,
        "INSERT INTO contatti (codice_fiscale, cellulare, email, versione_anagrafica, aggiornato_ms) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (codice_fiscale) DO UPDATE SET \
         cellulare = excluded.cellulare, email = excluded.email, \
         versione_anagrafica = excluded.versione_anagrafica, aggiornato_ms = excluded.aggiornato_ms \
         WHERE contatti.versione_anagrafica < excluded.versione_anagrafica",
        vec![
            cf.into(),
            cellulare.map(str::to_string).into(),
            email.map(str::to_string).into(),
            versione.into(),
            adesso_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Grants or withdraws the consents named; the others stay.
pub async fn consensi(
    db: &impl ConnectionTrait,
    cf: &str,
    sms: Option<bool>,
    email: Option<bool>,
    adesso_ms: i64,
) -> Result<(), AppError> {
    esegui(
        db,
        "INSERT INTO contatti (codice_fiscale, aggiornato_ms) VALUES (?, ?) ON CONFLICT (codice_fiscale) DO NOTHING",
        vec![cf.into(), adesso_ms.into()],
    )
    .await?;
    if let Some(v) = sms {
        esegui(
            db,
            "UPDATE contatti SET consenso_sms = ?, consenso_sms_ms = ?, aggiornato_ms = ? WHERE codice_fiscale = ?",
            vec![v.into(), adesso_ms.into(), adesso_ms.into(), cf.into()],
        )
        .await?;
    }
    if let Some(v) = email {
        esegui(
            db,
            "UPDATE contatti SET consenso_email = ?, consenso_email_ms = ?, aggiornato_ms = ? WHERE codice_fiscale = ?",
            vec![v.into(), adesso_ms.into(), adesso_ms.into(), cf.into()],
        )
        .await?;
    }
    Ok(())
}
