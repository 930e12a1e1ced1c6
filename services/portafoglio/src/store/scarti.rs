//! POR-2: the discarded records of each ImportF24 stream, in stream order, so a day of any
//! size can list them all (ListScartiImport) while its answer lists the first ones only.

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};

use super::Pagina;

const SCARTI: &str = "scarti_import";

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
    let mut q = Query::insert();
    q.into_table(SCARTI).columns([
        "id_import",
        "posizione",
        "id_pagamento",
        "motivo",
        "registrato_il",
    ]);
    for s in scarti {
        q.values([
            id_import.into(),
            s.posizione.into(),
            s.id_pagamento.clone().into(),
            s.motivo.clone().into(),
            ora.into(),
        ])
        .map_err(AppError::internal)?;
    }
    db.execute(&q).await?;
    Ok(())
}

/// One page of an import's discards in stream order; the page cursor is the position + 1.
pub async fn pagina(
    db: &impl ConnectionTrait,
    id_import: &str,
    pagina: Pagina,
) -> Result<Vec<(i64, Scarto)>, AppError> {
    let mut q = Query::select()
        .columns(["posizione", "id_pagamento", "motivo"])
        .from(SCARTI)
        .and_where(Expr::col("id_import").eq(id_import))
        .order_by("posizione", Order::Asc)
        .limit(pagina.da_leggere())
        .to_owned();
    if let Some(seq) = pagina.cursore {
        q.and_where(Expr::col("posizione").gte(seq));
    }
    let mut out = Vec::new();
    for r in db.query_all(&q).await? {
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
