//! Guides (NOT-3, NOT-4) and what their readers did: openings, links followed, ratings (NOT-5).

use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;

use super::{esegui, opt_i32, opt_str, riga, righe};

#[derive(Clone, Debug)]
pub struct RigaGuida {
    pub token: String,
    pub codice_fiscale: String,
    pub notifica_id: String,
    pub campagna: String,
    pub anno: i32,
    pub trimestre: i32,
    pub emessa_ms: i64,
    pub scade_ms: i64,
    /// The personalised content at issue (JSON, [`crate::app::guida::Contenuto`]).
    pub contenuto: String,
    pub voto: i32,
}

pub async fn inserisci(db: &impl ConnectionTrait, guide: &[RigaGuida]) -> Result<(), AppError> {
    let righe_ = guide
        .iter()
        .map(|g| {
            vec![
                g.token.clone().into(),
                g.codice_fiscale.clone().into(),
                g.notifica_id.clone().into(),
                g.campagna.clone().into(),
                g.anno.into(),
                g.trimestre.into(),
                g.emessa_ms.into(),
                g.scade_ms.into(),
                g.contenuto.clone().into(),
                g.voto.into(),
            ]
        })
        .collect();
    super::inserisci_righe(
        db,
        "guide",
        &[
            "token",
            "codice_fiscale",
            "notifica_id",
            "campagna",
            "anno",
            "trimestre",
            "emessa_ms",
            "scade_ms",
            "contenuto",
            "voto",
        ],
        righe_,
        "",
    )
    .await?;
    Ok(())
}

pub async fn leggi(db: &impl ConnectionTrait, token: &str) -> Result<Option<RigaGuida>, AppError> {
    let Some(r) = riga(
        db,
        "SELECT token, codice_fiscale, notifica_id, campagna, anno, trimestre, emessa_ms, scade_ms, contenuto, voto \
         FROM guide WHERE token = ?",
        vec![token.into()],
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(RigaGuida {
        token: r.try_get("", "token")?,
        codice_fiscale: r.try_get("", "codice_fiscale")?,
        notifica_id: r.try_get("", "notifica_id")?,
        campagna: r.try_get("", "campagna")?,
        anno: r.try_get("", "anno")?,
        trimestre: r.try_get("", "trimestre")?,
        emessa_ms: r.try_get("", "emessa_ms")?,
        scade_ms: r.try_get("", "scade_ms")?,
        contenuto: r.try_get("", "contenuto")?,
        voto: r.try_get("", "voto")?,
    }))
}

pub async fn vota(db: &impl ConnectionTrait, token: &str, voto: i32) -> Result<(), AppError> {
    esegui(
        db,
        "UPDATE guide SET voto = ? WHERE token = ?",
        vec![voto.into(), token.into()],
    )
    .await?;
    Ok(())
}

/// One thing a reader did (NOT-5): `aperta`, `link` (with the link) or `voto`.
pub async fn evento(
    db: &impl ConnectionTrait,
    g: &RigaGuida,
    tipo: &str,
    link: Option<&str>,
    voto: Option<i32>,
    voto_precedente: Option<i32>,
    adesso_ms: i64,
) -> Result<(), AppError> {
    esegui(
        db,
        "INSERT INTO guida_eventi (token, campagna, anno, trimestre, tipo, link, voto, voto_precedente, at_ms) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            g.token.clone().into(),
            g.campagna.clone().into(),
            g.anno.into(),
            g.trimestre.into(),
            tipo.into(),
            opt_str(link),
            opt_i32(voto),
            opt_i32(voto_precedente),
            adesso_ms.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The quarters a campaign has notices for, oldest first.
pub async fn trimestri(db: &impl ConnectionTrait, campagna: &str) -> Result<Vec<(i32, i32)>, AppError> {
    righe(
        db,
        "SELECT DISTINCT anno, trimestre FROM notifiche WHERE campagna = ? ORDER BY anno, trimestre",
        vec![campagna.into()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get("", "anno")?, r.try_get("", "trimestre")?)))
    .collect()
}

/// What readers did with a campaign quarter's guides (NOT-5).
#[derive(Clone, Debug, Default)]
pub struct Letture {
    /// Guides opened at least once.
    pub aperte: i64,
    pub link: Vec<(String, i64)>,
    pub valutazioni: i64,
    /// Sum of the current ratings (each guide's latest).
    pub somma_voti: i64,
}

pub async fn letture(
    db: &impl ConnectionTrait,
    campagna: &str,
    anno: i32,
    trimestre: i32,
) -> Result<Letture, AppError> {
    let chiave = || -> Vec<sea_orm::Value> { vec![campagna.into(), anno.into(), trimestre.into()] };
    let aperte: i64 = riga(
        db,
        "SELECT COUNT(DISTINCT token) AS n FROM guida_eventi WHERE campagna = ? AND anno = ? AND trimestre = ? AND tipo = 'aperta'",
        chiave(),
    )
    .await?
    .map(|r| r.try_get("", "n"))
    .transpose()?
    .unwrap_or(0);
    let link = righe(
        db,
        "SELECT link, COUNT(*) AS n FROM guida_eventi WHERE campagna = ? AND anno = ? AND trimestre = ? AND tipo = 'link' \
         GROUP BY link ORDER BY link",
        chiave(),
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<String>("", "link")?, r.try_get::<i64>("", "n")?)))
    .collect::<Result<Vec<_>, AppError>>()?;
    let (valutazioni, somma_voti) = riga(
        db,
        "SELECT COUNT(*) AS n, COALESCE(SUM(voto), 0) AS s FROM guide WHERE campagna = ? AND anno = ? AND trimestre = ? AND voto > 0",
        chiave(),
    )
    .await?
    .map(|r| -> Result<(i64, i64), AppError> { Ok((r.try_get("", "n")?, r.try_get("", "s")?)) })
    .transpose()?
    .unwrap_or((0, 0));
    Ok(Letture {
        aperte,
        link,
        valutazioni,
        somma_voti,
    })
}
