//! POR-5: payout runs (one per month) and payout orders (one per prestatore per month).

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};

use super::{Inserimento, Pagina, corrotto, data, euro, inserimento, riserve};
use crate::domain::MetodoPagamento;
use crate::domain::payout::OrdinePagamento;

const RUNS: &str = "payout_runs";
const ORDERS: &str = "payout_orders";

/// A month's run: started, and completed once every due prestazione was paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub avviato_il: DateTime<Utc>,
    pub completato_il: Option<DateTime<Utc>>,
}

pub async fn run(db: &impl ConnectionTrait, anno: i32, mese: u32) -> Result<Option<Run>, AppError> {
    let q = Query::select()
        .columns(["avviato_il", "completato_il"])
        .from(RUNS)
        .and_where(Expr::col("anno").eq(anno))
        .and_where(Expr::col("mese").eq(mese as i32))
        .to_owned();
    match db.query_one(&q).await? {
        Some(r) => Ok(Some(Run {
            avviato_il: r.try_get("", "avviato_il")?,
            completato_il: r.try_get("", "completato_il")?,
        })),
        None => Ok(None),
    }
}

/// Records that the month's run started (idempotent).
pub async fn avvia(
    db: &impl ConnectionTrait,
    anno: i32,
    mese: u32,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let q = Query::insert()
        .into_table(RUNS)
        .columns(["anno", "mese", "avviato_il"])
        .values([anno.into(), (mese as i32).into(), ora.into()])
        .map_err(AppError::internal)?
        .on_conflict(OnConflict::columns(["anno", "mese"]).do_nothing().to_owned())
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}

/// Marks the month paid; later runs pay nothing.
pub async fn completa(
    db: &impl ConnectionTrait,
    anno: i32,
    mese: u32,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let q = Query::update()
        .table(RUNS)
        .value("completato_il", ora)
        .and_where(Expr::col("anno").eq(anno))
        .and_where(Expr::col("mese").eq(mese as i32))
        .and_where(Expr::col("completato_il").is_null())
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}

/// Months started and not completed (a run interrupted or with prestatori still to pay).
pub async fn incompleti(db: &impl ConnectionTrait) -> Result<Vec<(i32, u32)>, AppError> {
    let q = Query::select()
        .columns(["anno", "mese"])
        .from(RUNS)
        .and_where(Expr::col("completato_il").is_null())
        .order_by("anno", Order::Asc)
        .order_by("mese", Order::Asc)
        .to_owned();
    let rows = db.query_all(&q).await?;
    rows.iter()
        .map(|r| {
            let mese: i32 = r.try_get("", "mese")?;
            Ok((r.try_get("", "anno")?, u32::try_from(mese).unwrap_or(0)))
        })
        .collect()
}

/// Stores an order; `Duplicato` when the prestatore already has one for the month.
pub async fn inserisci_ordine(
    txn: &impl ConnectionTrait,
    o: &OrdinePagamento,
) -> Result<Inserimento, AppError> {
    let q = Query::insert()
        .into_table(ORDERS)
        .columns([
            "id",
            "prestatore_cf",
            "anno",
            "mese",
            "data_pagamento",
            "importo_lordo",
            "commissione",
            "importo_netto",
            "metodo",
            "iban",
            "sede",
            "eseguito_il",
        ])
        .values([
            o.id.clone().into(),
            o.prestatore_cf.clone().into(),
            o.anno.into(),
            (o.mese as i32).into(),
            o.data_pagamento.to_string().into(),
            o.importo_lordo.cents().into(),
            o.commissione.cents().into(),
            o.importo_netto.cents().into(),
            o.metodo.code().into(),
            o.metodo.iban().unwrap_or("").into(),
            o.sede.clone().into(),
            o.eseguito_il.into(),
        ])
        .map_err(AppError::internal)?
        .to_owned();
    inserimento(txn.execute(&q).await)
}

fn select() -> SelectStatement {
    Query::select()
        .columns([
            "seq",
            "id",
            "prestatore_cf",
            "anno",
            "mese",
            "data_pagamento",
            "importo_lordo",
            "commissione",
            "importo_netto",
            "metodo",
            "iban",
            "sede",
            "eseguito_il",
        ])
        .from(ORDERS)
        .to_owned()
}

async fn decode(db: &impl ConnectionTrait, r: &QueryResult) -> Result<(i64, OrdinePagamento), AppError> {
    let id: String = r.try_get("", "id")?;
    let metodo: String = r.try_get("", "metodo")?;
    let iban: String = r.try_get("", "iban")?;
    let mese: i32 = r.try_get("", "mese")?;
    Ok((
        r.try_get("", "seq")?,
        OrdinePagamento {
            righe: riserve::dell_ordine(db, &id).await?,
            id,
            prestatore_cf: r.try_get("", "prestatore_cf")?,
            anno: r.try_get("", "anno")?,
            mese: u32::try_from(mese).map_err(|_| corrotto("month", &mese.to_string()))?,
            data_pagamento: data(r, "data_pagamento")?,
            importo_lordo: euro(r, "importo_lordo")?,
            commissione: euro(r, "commissione")?,
            importo_netto: euro(r, "importo_netto")?,
            metodo: MetodoPagamento::from_code(&metodo, &iban)
                .ok_or_else(|| corrotto("payment method", &metodo))?,
            sede: r.try_get("", "sede")?,
            eseguito_il: r.try_get("", "eseguito_il")?,
        },
    ))
}

/// Filters of the payout orders list.
#[derive(Clone, Debug, Default)]
pub struct FiltroOrdini {
    pub anno: Option<i32>,
    pub mese: Option<u32>,
    pub prestatore_cf: Option<String>,
    pub sede: Option<String>,
}

/// Payout orders, newest first, after the cursor.
pub async fn ordini(
    db: &impl ConnectionTrait,
    f: &FiltroOrdini,
    pagina: Pagina,
) -> Result<Vec<(i64, OrdinePagamento)>, AppError> {
    let mut q = select()
        .order_by("seq", Order::Desc)
        .limit(pagina.limite)
        .to_owned();
    if let Some(seq) = pagina.cursore {
        q.and_where(Expr::col("seq").lt(seq));
    }
    if let Some(a) = f.anno {
        q.and_where(Expr::col("anno").eq(a));
    }
    if let Some(m) = f.mese {
        q.and_where(Expr::col("mese").eq(m as i32));
    }
    if let Some(cf) = &f.prestatore_cf {
        q.and_where(Expr::col("prestatore_cf").eq(cf.clone()));
    }
    if let Some(s) = &f.sede {
        q.and_where(Expr::col("sede").eq(s.clone()));
    }
    let mut out = Vec::new();
    for r in db.query_all(&q).await? {
        out.push(decode(db, &r).await?);
    }
    Ok(out)
}
