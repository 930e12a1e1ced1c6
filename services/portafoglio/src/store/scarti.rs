//! POR-2: the discarded records of each ImportF24 stream, in stream order, so a day of any
//! size can list them all (ListScartiImport) while its answer lists the first ones only.

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, Value};

use super::{Pagina, esegui, insert, righe};

/// A record of the feed that was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scarto {
    /// 0-based position in the stream.
    pub posizione: i64,
    pub id_pagamento: String,
    pub motivo: String,
}

/// Writes `scarti` of import `id_import`, in one statement.
pub async fn registra(
    db: &impl ConnectionTrait,
    id_import: &str,
    scarti: &[Scarto],
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    if scarti.is_empty() {
        return Ok(());
    }
    let valori: Vec<Value> = scarti
        .iter()
        .flat_map(|s| -> [Value; 5] {
            [
                id_import.into(),
                s.posizione.into(),
                s.id_pagamento.clone().into(),
                s.motivo.clone().into(),
                ora.into(),
            ]
        })
        .collect();
    let sql = insert(
        "scarti_import",
        &[
            "id_import",
            "posizione",
            "id_pagamento",
            "motivo",
            "registrato_il",
        ],
        scarti.len(),
        "",
    );
    esegui(db, &sql, valori).await?;
    Ok(())
}

/// One page of an import's discards in stream order; the page cursor is the position + 1.
pub async fn pagina(
    db: &impl ConnectionTrait,
    id_import: &str,
    pagina: Pagina,
) -> Result<Vec<(i64, Scarto)>, AppError> {
    let mut sql = "SELECT posizione, id_pagamento, motivo FROM scarti_import WHERE id_import = ?".to_string();
    let mut valori: Vec<Value> = vec![id_import.into()];
    if let Some(seq) = pagina.cursore {
        sql.push_str(" AND posizione >= ?");
        valori.push(seq.into());
    }
    sql.push_str(&format!(" ORDER BY posizione ASC LIMIT {}", pagina.da_leggere()));
    let mut out = Vec::new();
    for r in righe(db, &sql, valori).await? {
        let posizione: i64 = r.try_get("", "posizione")?;
        out.push((
            posizione + 1,
            Scarto {
                posizione,
                id_pagamento: r.try_get("", "id_pagamento")?,
                motivo: r.try_get("", "motivo")?,
            },
        ));
    }
    Ok(out)
}
