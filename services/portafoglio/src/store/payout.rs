//! POR-5: payout runs (one per month) and payout orders (one per prestatore per month).

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::{
    Inserimento, Pagina, corrotto, data, esegui, euro, inserisci_unico, insert, riga, righe, riserve,
};
use crate::domain::MetodoPagamento;
use crate::domain::payout::OrdinePagamento;

/// A month's run: started, and completed once every due prestazione was paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub avviato_il: DateTime<Utc>,
    pub completato_il: Option<DateTime<Utc>>,
}

pub async fn run(db: &impl ConnectionTrait, anno: i32, mese: u32) -> Result<Option<Run>, AppError> {
    let r = riga(
        db,
        "SELECT avviato_il, completato_il FROM payout_runs WHERE anno = ? AND mese = ?",
        vec![anno.into(), (mese as i32).into()],
    )
    .await?;
    match r {
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
    esegui(
        db,
        "INSERT INTO payout_runs (anno, mese, avviato_il) VALUES (?, ?, ?) ON CONFLICT (anno, mese) DO NOTHING",
        vec![anno.into(), (mese as i32).into(), ora.into()],
    )
    .await?;
    Ok(())
}

/// Marks the month paid; later runs pay nothing.
pub async fn completa(
    db: &impl ConnectionTrait,
    anno: i32,
    mese: u32,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    esegui(
        db,
        "UPDATE payout_runs SET completato_il = ? WHERE anno = ? AND mese = ? AND completato_il IS NULL",
        vec![ora.into(), anno.into(), (mese as i32).into()],
    )
    .await?;
    Ok(())
}

/// Months started and not completed (a run interrupted or with prestatori still to pay).
pub async fn incompleti(db: &impl ConnectionTrait) -> Result<Vec<(i32, u32)>, AppError> {
    let rows = righe(
        db,
        "SELECT anno, mese FROM payout_runs WHERE completato_il IS NULL ORDER BY anno ASC, mese ASC",
        vec![],
    )
    .await?;
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
    inserisci_unico(
        txn,
        &insert("payout_orders", &COLONNE[1..], 1, ""),
        vec![
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
        ],
    )
    .await
}

/// The columns of an order: `seq` (assigned by the database), then what is written.
const COLONNE: [&str; 13] = [
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
];

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
    let mut condizioni: Vec<&str> = Vec::new();
    let mut valori: Vec<Value> = Vec::new();
    if let Some(seq) = pagina.cursore {
        condizioni.push("seq < ?");
        valori.push(seq.into());
    }
    if let Some(a) = f.anno {
        condizioni.push("anno = ?");
        valori.push(a.into());
    }
    if let Some(m) = f.mese {
        condizioni.push("mese = ?");
        valori.push((m as i32).into());
    }
    if let Some(cf) = &f.prestatore_cf {
        condizioni.push("prestatore_cf = ?");
        valori.push(cf.clone().into());
    }
    if let Some(s) = &f.sede {
        condizioni.push("sede = ?");
        valori.push(s.clone().into());
    }
    let sql = format!(
        "SELECT {} FROM payout_orders{} ORDER BY seq DESC LIMIT {}",
        COLONNE.join(", "),
        super::dove(&condizioni),
        pagina.limite
    );
    let mut out = Vec::new();
    for r in righe(db, &sql, valori).await? {
        out.push(decode(db, &r).await?);
    }
    Ok(out)
}
