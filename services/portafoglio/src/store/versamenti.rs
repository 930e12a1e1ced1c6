//! POR-2 / POR-3 / POR-7: versamenti, unique per payment id.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::Euro;
use occasionali_runtime::AppError;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};

use super::{Inserimento, Pagina, corrotto, data, euro, inserimento, per_aggiornare};
use crate::domain::versamento::{
    Canale, CodiceTributo, DatiVersamento, Modalita, MotivoNonAbbinato, StatoVersamento, Versamento,
};
use crate::domain::{PortafoglioRef, TipoPortafoglio};

const VERSAMENTI: &str = "versamenti";

const CAMPI: [&str; 24] = [
    "id",
    "id_pagamento",
    "canale",
    "cf_versante",
    "codice_tributo",
    "tipo_atteso",
    "anno",
    "riferimento_a",
    "riferimento_b",
    "iuv",
    "importo",
    "data_versamento",
    "ricevuto_il",
    "stato",
    "utilizzatore_cf",
    "tipo_portafoglio",
    "modalita",
    "abbinato_da_cf",
    "nota_abbinamento",
    "abbinato_il",
    "sede",
    "importo_stornato",
    "motivo_non_abbinato",
    "impronta",
];

fn select() -> SelectStatement {
    Query::select()
        .column("seq")
        .columns(CAMPI)
        .from(VERSAMENTI)
        .to_owned()
}

fn decode(r: &QueryResult) -> Result<(i64, Versamento), AppError> {
    let canale: String = r.try_get("", "canale")?;
    let codice: String = r.try_get("", "codice_tributo")?;
    let tipo_atteso: String = r.try_get("", "tipo_atteso")?;
    let stato: String = r.try_get("", "stato")?;
    let cf: String = r.try_get("", "utilizzatore_cf")?;
    let tipo: String = r.try_get("", "tipo_portafoglio")?;
    let modalita: String = r.try_get("", "modalita")?;
    let motivo: String = r.try_get("", "motivo_non_abbinato")?;
    let anno: i32 = r.try_get("", "anno")?;
    let portafoglio = if cf.is_empty() {
        None
    } else {
        Some(PortafoglioRef::new(
            cf,
            TipoPortafoglio::from_code(&tipo).ok_or_else(|| corrotto("wallet type", &tipo))?,
        ))
    };
    Ok((
        r.try_get("", "seq")?,
        Versamento {
            id: r.try_get("", "id")?,
            dati: DatiVersamento {
                id_pagamento: r.try_get("", "id_pagamento")?,
                canale: Canale::from_code(&canale).ok_or_else(|| corrotto("canale", &canale))?,
                cf_versante: r.try_get("", "cf_versante")?,
                codice_tributo: CodiceTributo::from_code(&codice),
                tipo_portafoglio: TipoPortafoglio::from_code(&tipo_atteso)
                    .ok_or_else(|| corrotto("wallet type", &tipo_atteso))?,
                anno: (anno != 0).then_some(anno),
                riferimento_a: r.try_get("", "riferimento_a")?,
                riferimento_b: r.try_get("", "riferimento_b")?,
                iuv: r.try_get("", "iuv")?,
                importo: euro(r, "importo")?,
                data_versamento: data(r, "data_versamento")?,
            },
            ricevuto_il: r.try_get("", "ricevuto_il")?,
            stato: StatoVersamento::from_code(&stato).ok_or_else(|| corrotto("stato", &stato))?,
            portafoglio,
            modalita: Modalita::from_code(&modalita),
            abbinato_da_cf: r.try_get("", "abbinato_da_cf")?,
            nota_abbinamento: r.try_get("", "nota_abbinamento")?,
            abbinato_il: r.try_get("", "abbinato_il")?,
            sede: r.try_get("", "sede")?,
            importo_stornato: euro(r, "importo_stornato")?,
            motivo_non_abbinato: MotivoNonAbbinato::from_code(&motivo),
        },
    ))
}

/// Stores a new versamento; `Duplicato` when its payment id is known.
pub async fn inserisci(txn: &impl ConnectionTrait, v: &Versamento) -> Result<Inserimento, AppError> {
    let d = &v.dati;
    let q = Query::insert()
        .into_table(VERSAMENTI)
        .columns(CAMPI)
        .values([
            v.id.clone().into(),
            d.id_pagamento.clone().into(),
            d.canale.code().into(),
            d.cf_versante.clone().into(),
            d.codice_tributo.map(|c| c.code()).unwrap_or("").into(),
            d.tipo_portafoglio.code().into(),
            d.anno.unwrap_or(0).into(),
            d.riferimento_a.clone().into(),
            d.riferimento_b.clone().into(),
            d.iuv.clone().into(),
            d.importo.cents().into(),
            d.data_versamento.to_string().into(),
            v.ricevuto_il.into(),
            v.stato.code().into(),
            v.portafoglio
                .as_ref()
                .map(|w| w.cf.clone())
                .unwrap_or_default()
                .into(),
            v.portafoglio.as_ref().map(|w| w.tipo.code()).unwrap_or("").into(),
            v.modalita.map(|m| m.code()).unwrap_or("").into(),
            v.abbinato_da_cf.clone().into(),
            v.nota_abbinamento.clone().into(),
            v.abbinato_il.into(),
            v.sede.clone().into(),
            v.importo_stornato.cents().into(),
            v.motivo_non_abbinato.map(|m| m.code()).unwrap_or("").into(),
            d.impronta().into(),
        ])
        .map_err(AppError::internal)?
        .to_owned();
    inserimento(txn.execute(&q).await)
}

pub async fn carica(db: &impl ConnectionTrait, id: &str) -> Result<Option<Versamento>, AppError> {
    let q = select().and_where(Expr::col("id").eq(id)).to_owned();
    db.query_one(&q)
        .await?
        .map(|r| decode(&r).map(|(_, v)| v))
        .transpose()
}

/// The versamento of a payment id, with the fingerprint of the content first received.
pub async fn per_pagamento(
    db: &impl ConnectionTrait,
    id_pagamento: &str,
) -> Result<Option<(Versamento, String)>, AppError> {
    let q = select()
        .and_where(Expr::col("id_pagamento").eq(id_pagamento))
        .to_owned();
    match db.query_one(&q).await? {
        Some(r) => {
            let (_, v) = decode(&r)?;
            Ok(Some((v, r.try_get("", "impronta")?)))
        }
        None => Ok(None),
    }
}

/// Reads a versamento for update (row lock on PostgreSQL).
pub async fn blocca(txn: &impl ConnectionTrait, id: &str) -> Result<Option<Versamento>, AppError> {
    let mut q = select().and_where(Expr::col("id").eq(id)).to_owned();
    per_aggiornare(&mut q, txn);
    txn.query_one(&q)
        .await?
        .map(|r| decode(&r).map(|(_, v)| v))
        .transpose()
}

/// Writes the versamento's new state, only if it is still as read (`prima`).
pub async fn aggiorna(
    txn: &impl ConnectionTrait,
    prima: &Versamento,
    v: &Versamento,
) -> Result<(), AppError> {
    let q = Query::update()
        .table(VERSAMENTI)
        .values([
            ("stato", v.stato.code().into()),
            (
                "utilizzatore_cf",
                v.portafoglio
                    .as_ref()
                    .map(|w| w.cf.clone())
                    .unwrap_or_default()
                    .into(),
            ),
            (
                "tipo_portafoglio",
                v.portafoglio.as_ref().map(|w| w.tipo.code()).unwrap_or("").into(),
            ),
            ("modalita", v.modalita.map(|m| m.code()).unwrap_or("").into()),
            ("abbinato_da_cf", v.abbinato_da_cf.clone().into()),
            ("nota_abbinamento", v.nota_abbinamento.clone().into()),
            ("abbinato_il", v.abbinato_il.into()),
            ("sede", v.sede.clone().into()),
            ("importo_stornato", v.importo_stornato.cents().into()),
        ])
        .and_where(Expr::col("id").eq(v.id.clone()))
        .and_where(Expr::col("stato").eq(prima.stato.code()))
        .and_where(Expr::col("importo_stornato").eq(prima.importo_stornato.cents()))
        .to_owned();
    if txn.execute(&q).await?.rows_affected() != 1 {
        return Err(AppError::aborted(
            "POR-3",
            "POR_3_CONCURRENT_CHANGE",
            "the versamento changed meanwhile; read it again and retry",
        ));
    }
    Ok(())
}

/// Filters of the unmatched queue (POR-3).
#[derive(Clone, Debug, Default)]
pub struct FiltroCoda {
    pub sede: Option<String>,
    pub cf_versante: Option<String>,
    pub codice_tributo: Option<CodiceTributo>,
    pub dal: Option<NaiveDate>,
    pub al: Option<NaiveDate>,
}

/// The unmatched queue, oldest first, after the cursor.
pub async fn coda(
    db: &impl ConnectionTrait,
    f: &FiltroCoda,
    pagina: Pagina,
) -> Result<Vec<(i64, Versamento)>, AppError> {
    let mut q = select()
        .and_where(Expr::col("stato").eq(StatoVersamento::NonAbbinato.code()))
        .order_by("seq", Order::Asc)
        .limit(pagina.limite)
        .to_owned();
    if let Some(seq) = pagina.cursore {
        q.and_where(Expr::col("seq").gt(seq));
    }
    if let Some(s) = &f.sede {
        // POR-3: a payer representing companies of several sedi waits in each ("MI,RM").
        q.and_where(
            Expr::col("sede")
                .eq(s.clone())
                .or(Expr::col("sede").like(format!("{s},%")))
                .or(Expr::col("sede").like(format!("%,{s}")))
                .or(Expr::col("sede").like(format!("%,{s},%"))),
        );
    }
    if let Some(cf) = &f.cf_versante {
        q.and_where(Expr::col("cf_versante").eq(cf.clone()));
    }
    if let Some(c) = f.codice_tributo {
        q.and_where(Expr::col("codice_tributo").eq(c.code()));
    }
    if let Some(d) = f.dal {
        q.and_where(Expr::col("data_versamento").gte(d.to_string()));
    }
    if let Some(d) = f.al {
        q.and_where(Expr::col("data_versamento").lte(d.to_string()));
    }
    let rows = db.query_all(&q).await?;
    rows.iter().map(decode).collect()
}

/// The versamenti credited to a wallet with a payment date in `[dal, al]`.
pub async fn del_portafoglio(
    db: &impl ConnectionTrait,
    w: &PortafoglioRef,
    dal: NaiveDate,
    al: NaiveDate,
) -> Result<Vec<Versamento>, AppError> {
    let q = select()
        .and_where(Expr::col("utilizzatore_cf").eq(w.cf.clone()))
        .and_where(Expr::col("tipo_portafoglio").eq(w.tipo.code()))
        .and_where(Expr::col("data_versamento").gte(dal.to_string()))
        .and_where(Expr::col("data_versamento").lte(al.to_string()))
        .order_by("seq", Order::Asc)
        .to_owned();
    let rows = db.query_all(&q).await?;
    rows.iter().map(|r| decode(r).map(|(_, v)| v)).collect()
}

/// Sums transferred into `w` from other versamenti (POR-7), with when and how much.
pub async fn trasferiti_a(
    db: &impl ConnectionTrait,
    w: &PortafoglioRef,
    dal: DateTime<Utc>,
    al: DateTime<Utc>,
) -> Result<Vec<(Versamento, Euro, DateTime<Utc>)>, AppError> {
    let q = Query::select()
        .columns(["versamento_id", "importo", "eseguito_il"])
        .from("storni")
        .and_where(Expr::col("tipo").eq("TRASFERIMENTO"))
        .and_where(Expr::col("destinazione_cf").eq(w.cf.clone()))
        .and_where(Expr::col("destinazione_tipo").eq(w.tipo.code()))
        .and_where(Expr::col("eseguito_il").gte(dal))
        .and_where(Expr::col("eseguito_il").lt(al))
        .order_by("seq", Order::Asc)
        .to_owned();
    let mut out = Vec::new();
    for r in db.query_all(&q).await? {
        let id: String = r.try_get("", "versamento_id")?;
        // A versamento moved whole from the queue is already the wallet's own.
        if let Some(v) = carica(db, &id).await?
            && v.portafoglio.as_ref() != Some(w)
        {
            out.push((v, euro(&r, "importo")?, r.try_get("", "eseguito_il")?));
        }
    }
    Ok(out)
}
