//! POR-7: rimborsi, one per client request id.

use occasionali_runtime::AppError;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};

use super::{Inserimento, Pagina, corrotto, euro, inserimento, per_aggiornare};
use crate::domain::rimborso::{Rimborso, StatoRimborso};
use crate::domain::{PortafoglioRef, TipoPortafoglio};

const RIMBORSI: &str = "rimborsi";

const CAMPI: [&str; 16] = [
    "id",
    "request_id",
    "richiedente_cf",
    "utilizzatore_cf",
    "tipo_portafoglio",
    "importo_richiesto",
    "iban_richiesto",
    "importo_pagato",
    "iban_pagato",
    "stato",
    "richiesto_il",
    "deciso_il",
    "deciso_da_cf",
    "nota",
    "sede",
    "seq",
];

fn select() -> SelectStatement {
    Query::select().columns(CAMPI).from(RIMBORSI).to_owned()
}

fn decode(r: &QueryResult) -> Result<(i64, Rimborso), AppError> {
    let tipo: String = r.try_get("", "tipo_portafoglio")?;
    let stato: String = r.try_get("", "stato")?;
    let stato = StatoRimborso::from_code(&stato).ok_or_else(|| corrotto("rimborso state", &stato))?;
    let pagato = stato == StatoRimborso::Pagato;
    Ok((
        r.try_get("", "seq")?,
        Rimborso {
            id: r.try_get("", "id")?,
            request_id: r.try_get("", "request_id")?,
            richiedente_cf: r.try_get("", "richiedente_cf")?,
            portafoglio: PortafoglioRef::new(
                r.try_get::<String>("", "utilizzatore_cf")?,
                TipoPortafoglio::from_code(&tipo).ok_or_else(|| corrotto("wallet type", &tipo))?,
            ),
            importo_richiesto: euro(r, "importo_richiesto")?,
            iban_richiesto: r.try_get("", "iban_richiesto")?,
            importo_pagato: if pagato {
                Some(euro(r, "importo_pagato")?)
            } else {
                None
            },
            iban_pagato: if pagato {
                Some(r.try_get("", "iban_pagato")?)
            } else {
                None
            },
            stato,
            richiesto_il: r.try_get("", "richiesto_il")?,
            deciso_il: r.try_get("", "deciso_il")?,
            deciso_da_cf: r.try_get("", "deciso_da_cf")?,
            nota: r.try_get("", "nota")?,
            sede: r.try_get("", "sede")?,
        },
    ))
}

pub async fn inserisci(txn: &impl ConnectionTrait, r: &Rimborso) -> Result<Inserimento, AppError> {
    let q = Query::insert()
        .into_table(RIMBORSI)
        .columns(CAMPI[..15].iter().copied())
        .values([
            r.id.clone().into(),
            r.request_id.clone().into(),
            r.richiedente_cf.clone().into(),
            r.portafoglio.cf.clone().into(),
            r.portafoglio.tipo.code().into(),
            r.importo_richiesto.cents().into(),
            r.iban_richiesto.clone().into(),
            r.importo_pagato.map(|e| e.cents()).unwrap_or(0).into(),
            r.iban_pagato.clone().unwrap_or_default().into(),
            r.stato.code().into(),
            r.richiesto_il.into(),
            r.deciso_il.into(),
            r.deciso_da_cf.clone().into(),
            r.nota.clone().into(),
            r.sede.clone().into(),
        ])
        .map_err(AppError::internal)?
        .to_owned();
    inserimento(txn.execute(&q).await)
}

pub async fn carica(db: &impl ConnectionTrait, id: &str) -> Result<Option<Rimborso>, AppError> {
    let q = select().and_where(Expr::col("id").eq(id)).to_owned();
    db.query_one(&q)
        .await?
        .map(|r| decode(&r).map(|(_, x)| x))
        .transpose()
}

pub async fn per_request(db: &impl ConnectionTrait, request_id: &str) -> Result<Option<Rimborso>, AppError> {
    let q = select()
        .and_where(Expr::col("request_id").eq(request_id))
        .to_owned();
    db.query_one(&q)
        .await?
        .map(|r| decode(&r).map(|(_, x)| x))
        .transpose()
}

pub async fn blocca(txn: &impl ConnectionTrait, id: &str) -> Result<Option<Rimborso>, AppError> {
    let mut q = select().and_where(Expr::col("id").eq(id)).to_owned();
    per_aggiornare(&mut q, txn);
    txn.query_one(&q)
        .await?
        .map(|r| decode(&r).map(|(_, x)| x))
        .transpose()
}

/// Records the decision, only if the rimborso is still RICHIESTO.
pub async fn decidi(txn: &impl ConnectionTrait, r: &Rimborso) -> Result<(), AppError> {
    let q = Query::update()
        .table(RIMBORSI)
        .values([
            ("stato", r.stato.code().into()),
            (
                "importo_pagato",
                r.importo_pagato.map(|e| e.cents()).unwrap_or(0).into(),
            ),
            ("iban_pagato", r.iban_pagato.clone().unwrap_or_default().into()),
            ("deciso_il", r.deciso_il.into()),
            ("deciso_da_cf", r.deciso_da_cf.clone().into()),
            ("nota", r.nota.clone().into()),
        ])
        .and_where(Expr::col("id").eq(r.id.clone()))
        .and_where(Expr::col("stato").eq(StatoRimborso::Richiesto.code()))
        .to_owned();
    if txn.execute(&q).await?.rows_affected() != 1 {
        return Err(AppError::aborted(
            "POR-7",
            "POR_7_CONCURRENT_DECISION",
            "the rimborso was decided meanwhile; read it again",
        ));
    }
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct FiltroRimborsi {
    pub utilizzatore_cf: Option<String>,
    pub stato: Option<StatoRimborso>,
    pub sede: Option<String>,
}

/// Rimborsi, newest first, after the cursor.
pub async fn lista(
    db: &impl ConnectionTrait,
    f: &FiltroRimborsi,
    pagina: Pagina,
) -> Result<Vec<(i64, Rimborso)>, AppError> {
    let mut q = select()
        .order_by("seq", Order::Desc)
        .limit(pagina.limite)
        .to_owned();
    if let Some(seq) = pagina.cursore {
        q.and_where(Expr::col("seq").lt(seq));
    }
    if let Some(cf) = &f.utilizzatore_cf {
        q.and_where(Expr::col("utilizzatore_cf").eq(cf.clone()));
    }
    if let Some(s) = f.stato {
        q.and_where(Expr::col("stato").eq(s.code()));
    }
    if let Some(s) = &f.sede {
        q.and_where(Expr::col("sede").eq(s.clone()));
    }
    let rows = db.query_all(&q).await?;
    rows.iter().map(decode).collect()
}
