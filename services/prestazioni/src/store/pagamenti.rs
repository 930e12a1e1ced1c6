//! POR-5, PRE-16: the payout orders the wallet told of, one row per order id.

use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::{da_istante, istante, sql};
use crate::domain::Pagamento;

const COLONNE: &str = "payout_order_id, prestatore_cf, anno, mese, data_pagamento, importo_lordo, commissione, \
                       importo_netto, prestazione_ids, pagato_il";

fn pagamento(r: &QueryResult) -> Result<Pagamento, AppError> {
    let ids: String = r.try_get("", "prestazione_ids")?;
    let pagato_il: Option<String> = r.try_get("", "pagato_il")?;
    Ok(Pagamento {
        payout_order_id: r.try_get("", "payout_order_id")?,
        prestatore_cf: r.try_get("", "prestatore_cf")?,
        anno: r.try_get("", "anno")?,
        mese: r.try_get("", "mese")?,
        data_pagamento: r.try_get("", "data_pagamento")?,
        importo_lordo: r.try_get("", "importo_lordo")?,
        commissione: r.try_get("", "commissione")?,
        importo_netto: r.try_get("", "importo_netto")?,
        prestazione_ids: serde_json::from_str(&ids).map_err(AppError::internal)?,
        pagato_il: pagato_il.as_deref().map(da_istante).transpose()?,
    })
}

/// Records an order; `false` when it was recorded already (on PostgreSQL the transaction is then
/// aborted: roll it back).
pub async fn registra(db: &impl ConnectionTrait, p: &Pagamento) -> Result<bool, AppError> {
    let ids = serde_json::to_string(&p.prestazione_ids).map_err(AppError::internal)?;
    let r = db
        .execute_raw(sql(
            db,
            &format!("INSERT INTO pagamenti ({COLONNE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            vec![
                p.payout_order_id.clone().into(),
                p.prestatore_cf.clone().into(),
                p.anno.into(),
                p.mese.into(),
                p.data_pagamento.clone().into(),
                p.importo_lordo.clone().into(),
                p.commissione.clone().into(),
                p.importo_netto.clone().into(),
                ids.into(),
                p.pagato_il.map(istante).into(),
            ],
        ))
        .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A prestatore's orders (of a year, or all with `anno` 0), newest month first.
pub async fn del_prestatore(
    db: &impl ConnectionTrait,
    prestatore_cf: &str,
    anno: i32,
) -> Result<Vec<Pagamento>, AppError> {
    let (filtro, vals): (&str, Vec<Value>) = if anno == 0 {
        ("", vec![prestatore_cf.into()])
    } else {
        (" AND anno = ?", vec![prestatore_cf.into(), anno.into()])
    };
    let text = format!(
        "SELECT {COLONNE} FROM pagamenti WHERE prestatore_cf = ?{filtro} ORDER BY anno DESC, mese DESC, payout_order_id"
    );
    let rows = db.query_all_raw(sql(db, &text, vals)).await?;
    rows.iter().map(pagamento).collect()
}
