//! POR-4: reservations, one per prestazione id.

use chrono::NaiveDate;
use occasionali_runtime::AppError;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};

use super::{Inserimento, corrotto, data, euro, inserimento, per_aggiornare};
use crate::domain::payout::chiave_mese;
use crate::domain::riserva::{Costo, Riserva, StatoRiserva};
use crate::domain::{PortafoglioRef, TipoPortafoglio};

const RISERVE: &str = "riserve";

const CAMPI: [&str; 17] = [
    "prestazione_id",
    "utilizzatore_cf",
    "tipo_portafoglio",
    "prestatore_cf",
    "data_prestazione",
    "mese",
    "compenso",
    "contributi_ivs",
    "premio_inail",
    "oneri_gestione",
    "totale",
    "stato",
    "debito",
    "riservata_il",
    "rilasciata_il",
    "consumata_il",
    "payout_order_id",
];

fn select() -> SelectStatement {
    Query::select().columns(CAMPI).from(RISERVE).to_owned()
}

fn mese(d: NaiveDate) -> i64 {
    use chrono::Datelike;
    chiave_mese(d.year(), d.month())
}

fn decode(r: &QueryResult) -> Result<Riserva, AppError> {
    let tipo: String = r.try_get("", "tipo_portafoglio")?;
    let stato: String = r.try_get("", "stato")?;
    let ordine: String = r.try_get("", "payout_order_id")?;
    Ok(Riserva {
        prestazione_id: r.try_get("", "prestazione_id")?,
        portafoglio: PortafoglioRef::new(
            r.try_get::<String>("", "utilizzatore_cf")?,
            TipoPortafoglio::from_code(&tipo).ok_or_else(|| corrotto("wallet type", &tipo))?,
        ),
        prestatore_cf: r.try_get("", "prestatore_cf")?,
        data_prestazione: data(r, "data_prestazione")?,
        costo: Costo {
            compenso: euro(r, "compenso")?,
            contributi_ivs: euro(r, "contributi_ivs")?,
            premio_inail: euro(r, "premio_inail")?,
            oneri_gestione: euro(r, "oneri_gestione")?,
            totale: euro(r, "totale")?,
        },
        stato: StatoRiserva::from_code(&stato).ok_or_else(|| corrotto("reservation state", &stato))?,
        debito: euro(r, "debito")?,
        riservata_il: r.try_get("", "riservata_il")?,
        rilasciata_il: r.try_get("", "rilasciata_il")?,
        consumata_il: r.try_get("", "consumata_il")?,
        payout_order_id: (!ordine.is_empty()).then_some(ordine),
    })
}

/// Stores a new reservation; `Duplicato` when the prestazione already has one.
pub async fn inserisci(txn: &impl ConnectionTrait, r: &Riserva) -> Result<Inserimento, AppError> {
    let c = &r.costo;
    let q = Query::insert()
        .into_table(RISERVE)
        .columns(CAMPI)
        .values([
            r.prestazione_id.clone().into(),
            r.portafoglio.cf.clone().into(),
            r.portafoglio.tipo.code().into(),
            r.prestatore_cf.clone().into(),
            r.data_prestazione.to_string().into(),
            mese(r.data_prestazione).into(),
            c.compenso.cents().into(),
            c.contributi_ivs.cents().into(),
            c.premio_inail.cents().into(),
            c.oneri_gestione.cents().into(),
            c.totale.cents().into(),
            r.stato.code().into(),
            r.debito.cents().into(),
            r.riservata_il.into(),
            r.rilasciata_il.into(),
            r.consumata_il.into(),
            r.payout_order_id.clone().unwrap_or_default().into(),
        ])
        .map_err(AppError::internal)?
        .to_owned();
    inserimento(txn.execute(&q).await)
}

pub async fn carica(db: &impl ConnectionTrait, prestazione_id: &str) -> Result<Option<Riserva>, AppError> {
    let q = select()
        .and_where(Expr::col("prestazione_id").eq(prestazione_id))
        .to_owned();
    db.query_one(&q).await?.map(|r| decode(&r)).transpose()
}

/// Reads a reservation for update (row lock on PostgreSQL).
pub async fn blocca(txn: &impl ConnectionTrait, prestazione_id: &str) -> Result<Option<Riserva>, AppError> {
    let mut q = select()
        .and_where(Expr::col("prestazione_id").eq(prestazione_id))
        .to_owned();
    per_aggiornare(&mut q, txn);
    txn.query_one(&q).await?.map(|r| decode(&r)).transpose()
}

/// Writes the reservation's new state, only if it is still in state `prima`.
pub async fn aggiorna(txn: &impl ConnectionTrait, prima: StatoRiserva, r: &Riserva) -> Result<(), AppError> {
    let q = Query::update()
        .table(RISERVE)
        .values([
            ("stato", r.stato.code().into()),
            ("debito", r.debito.cents().into()),
            ("riservata_il", r.riservata_il.into()),
            ("rilasciata_il", r.rilasciata_il.into()),
            ("consumata_il", r.consumata_il.into()),
            (
                "payout_order_id",
                r.payout_order_id.clone().unwrap_or_default().into(),
            ),
        ])
        .and_where(Expr::col("prestazione_id").eq(r.prestazione_id.clone()))
        .and_where(Expr::col("stato").eq(prima.code()))
        .to_owned();
    if txn.execute(&q).await?.rows_affected() != 1 {
        return Err(AppError::aborted(
            "POR-4",
            "POR_4_CONCURRENT_CHANGE",
            "the reservation changed meanwhile; retry",
        ));
    }
    Ok(())
}

/// POR-5: the prestatori with reservations still RESERVED in a month.
pub async fn prestatori_da_pagare(
    db: &impl ConnectionTrait,
    anno: i32,
    mese: u32,
) -> Result<Vec<String>, AppError> {
    let q = Query::select()
        .column("prestatore_cf")
        .distinct()
        .from(RISERVE)
        .and_where(Expr::col("stato").eq(StatoRiserva::Riservata.code()))
        .and_where(Expr::col("mese").eq(chiave_mese(anno, mese)))
        .order_by("prestatore_cf", Order::Asc)
        .to_owned();
    let rows = db.query_all(&q).await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "prestatore_cf").map_err(AppError::from))
        .collect()
}

/// A prestatore's RESERVED reservations of a month; `blocca` locks them (PostgreSQL).
pub async fn del_prestatore(
    db: &impl ConnectionTrait,
    prestatore_cf: &str,
    anno: i32,
    mese: u32,
    blocca: bool,
) -> Result<Vec<Riserva>, AppError> {
    let mut q = select()
        .and_where(Expr::col("stato").eq(StatoRiserva::Riservata.code()))
        .and_where(Expr::col("mese").eq(chiave_mese(anno, mese)))
        .and_where(Expr::col("prestatore_cf").eq(prestatore_cf))
        .order_by("prestazione_id", Order::Asc)
        .to_owned();
    if blocca {
        per_aggiornare(&mut q, db);
    }
    let rows = db.query_all(&q).await?;
    rows.iter().map(decode).collect()
}

/// A wallet's reservations with the prestazione in `[dal, al]` (POR-6).
pub async fn del_portafoglio(
    db: &impl ConnectionTrait,
    w: &PortafoglioRef,
    dal: NaiveDate,
    al: NaiveDate,
) -> Result<Vec<Riserva>, AppError> {
    let q = select()
        .and_where(Expr::col("utilizzatore_cf").eq(w.cf.clone()))
        .and_where(Expr::col("tipo_portafoglio").eq(w.tipo.code()))
        .and_where(Expr::col("data_prestazione").gte(dal.to_string()))
        .and_where(Expr::col("data_prestazione").lte(al.to_string()))
        .order_by("data_prestazione", Order::Asc)
        .order_by("prestazione_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&q).await?;
    rows.iter().map(decode).collect()
}

/// The reservations a payout order consumed.
pub async fn dell_ordine(db: &impl ConnectionTrait, payout_order_id: &str) -> Result<Vec<Riserva>, AppError> {
    let q = select()
        .and_where(Expr::col("payout_order_id").eq(payout_order_id))
        .order_by("data_prestazione", Order::Asc)
        .order_by("prestazione_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&q).await?;
    rows.iter().map(decode).collect()
}
