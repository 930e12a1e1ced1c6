//! NOT-7: the discarded records of each ImportLavoroDomestico stream, in stream order, so an
//! archive of any size can list them all (ListScartiImportLavoroDomestico) while its answer
//! lists the first ones only (issue 12).

use occasionali_runtime::AppError;
use occasionali_runtime::pagina::Pagina;
use sea_orm::ConnectionTrait;

use super::{inserisci_righe, righe};

/// A record of the stream that was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scarto {
    /// 0-based position in the stream.
    pub posizione: i64,
    pub record_id: String,
    pub motivo: String,
}

/// Writes `scarti` of import `id_import` (multi-row statements).
pub async fn registra(
    db: &impl ConnectionTrait,
    id_import: &str,
    scarti: &[Scarto],
    adesso_ms: i64,
) -> Result<(), AppError> {
    if scarti.is_empty() {
        return Ok(());
    }
    let valori = scarti
        .iter()
        .map(|s| {
            vec![
                id_import.into(),
                s.posizione.into(),
                s.record_id.clone().into(),
                s.motivo.clone().into(),
                adesso_ms.into(),
            ]
        })
        .collect();
    inserisci_righe(
        db,
        "ld_scarti",
        &["id_import", "posizione", "record_id", "motivo", "registrato_ms"],
        valori,
        "",
    )
    .await?;
    Ok(())
}

/// One page of an import's discards in stream order; the page cursor is the position + 1.
pub async fn pagina(
    db: &impl ConnectionTrait,
    id_import: &str,
    pagina: Pagina,
) -> Result<Vec<(i64, Scarto)>, AppError> {
    let rows = righe(
        db,
        &format!(
            "SELECT posizione, record_id, motivo FROM ld_scarti WHERE id_import = ? AND posizione >= ? \
             ORDER BY posizione LIMIT {}",
            pagina.da_leggere()
        ),
        vec![id_import.into(), pagina.cursore.unwrap_or(0).into()],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let posizione: i64 = r.try_get("", "posizione")?;
        out.push((
            posizione + 1,
            Scarto {
                posizione,
                record_id: r.try_get("", "record_id")?,
                motivo: r.try_get("", "motivo")?,
            },
        ));
    }
    Ok(out)
}
