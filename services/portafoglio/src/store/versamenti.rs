//! POR-2 / POR-3 / POR-7: versamenti, unique per payment id.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::Euro;
use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::{
    Inserimento, Pagina, corrotto, data, dove, esegui, euro, inserisci_unico, insert, per_aggiornare, riga,
    righe,
};
use crate::domain::versamento::{
    Canale, CodiceTributo, DatiVersamento, Modalita, MotivoNonAbbinato, StatoVersamento, Versamento,
};
use crate::domain::{PortafoglioRef, TipoPortafoglio};

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

/// `SELECT` of `seq` and every field of the versamenti, before its conditions.
fn select() -> String {
    format!("SELECT seq, {} FROM versamenti", CAMPI.join(", "))
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
    inserisci_unico(
        txn,
        &insert("versamenti", &CAMPI, 1, ""),
        vec![
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
        ],
    )
    .await
}

pub async fn carica(db: &impl ConnectionTrait, id: &str) -> Result<Option<Versamento>, AppError> {
    riga(db, &format!("{} WHERE id = ?", select()), vec![id.into()])
        .await?
        .map(|r| decode(&r).map(|(_, v)| v))
        .transpose()
}

/// The versamento of a payment id, with the fingerprint of the content first received.
pub async fn per_pagamento(
    db: &impl ConnectionTrait,
    id_pagamento: &str,
) -> Result<Option<(Versamento, String)>, AppError> {
    let r = riga(
        db,
        &format!("{} WHERE id_pagamento = ?", select()),
        vec![id_pagamento.into()],
    )
    .await?;
    match r {
        Some(r) => {
            let (_, v) = decode(&r)?;
            Ok(Some((v, r.try_get("", "impronta")?)))
        }
        None => Ok(None),
    }
}

/// Reads a versamento for update (row lock on PostgreSQL).
pub async fn blocca(txn: &impl ConnectionTrait, id: &str) -> Result<Option<Versamento>, AppError> {
    let sql = format!("{} WHERE id = ?{}", select(), per_aggiornare(txn));
    riga(txn, &sql, vec![id.into()])
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
    let n = esegui(
        txn,
        "UPDATE versamenti SET stato = ?, utilizzatore_cf = ?, tipo_portafoglio = ?, modalita = ?, \
         abbinato_da_cf = ?, nota_abbinamento = ?, abbinato_il = ?, sede = ?, importo_stornato = ? \
         WHERE id = ? AND stato = ? AND importo_stornato = ?",
        vec![
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
            v.id.clone().into(),
            prima.stato.code().into(),
            prima.importo_stornato.cents().into(),
        ],
    )
    .await?;
    if n != 1 {
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
    let mut condizioni: Vec<&str> = vec!["stato = ?"];
    let mut valori: Vec<Value> = vec![StatoVersamento::NonAbbinato.code().into()];
    if let Some(seq) = pagina.cursore {
        condizioni.push("seq > ?");
        valori.push(seq.into());
    }
    if let Some(s) = &f.sede {
        // POR-3: a payer representing companies of several sedi waits in each ("MI,RM").
        condizioni.push("(sede = ? OR sede LIKE ? OR sede LIKE ? OR sede LIKE ?)");
        valori.extend([
            s.clone().into(),
            format!("{s},%").into(),
            format!("%,{s}").into(),
            format!("%,{s},%").into(),
        ]);
    }
    if let Some(cf) = &f.cf_versante {
        condizioni.push("cf_versante = ?");
        valori.push(cf.clone().into());
    }
    if let Some(c) = f.codice_tributo {
        condizioni.push("codice_tributo = ?");
        valori.push(c.code().into());
    }
    if let Some(d) = f.dal {
        condizioni.push("data_versamento >= ?");
        valori.push(d.to_string().into());
    }
    if let Some(d) = f.al {
        condizioni.push("data_versamento <= ?");
        valori.push(d.to_string().into());
    }
    let sql = format!(
        "{}{} ORDER BY seq ASC LIMIT {}",
        select(),
        dove(&condizioni),
        pagina.limite
    );
    let rows = righe(db, &sql, valori).await?;
    rows.iter().map(decode).collect()
}

/// The versamenti credited to a wallet with a payment date in `[dal, al]`.
pub async fn del_portafoglio(
    db: &impl ConnectionTrait,
    w: &PortafoglioRef,
    dal: NaiveDate,
    al: NaiveDate,
) -> Result<Vec<Versamento>, AppError> {
    let sql = format!(
        "{} WHERE utilizzatore_cf = ? AND tipo_portafoglio = ? AND data_versamento >= ? AND data_versamento <= ? \
         ORDER BY seq ASC",
        select()
    );
    let rows = righe(
        db,
        &sql,
        vec![
            w.cf.clone().into(),
            w.tipo.code().into(),
            dal.to_string().into(),
            al.to_string().into(),
        ],
    )
    .await?;
    rows.iter().map(|r| decode(r).map(|(_, v)| v)).collect()
}

/// Sums transferred into `w` from other versamenti (POR-7), with when and how much.
pub async fn trasferiti_a(
    db: &impl ConnectionTrait,
    w: &PortafoglioRef,
    dal: DateTime<Utc>,
    al: DateTime<Utc>,
) -> Result<Vec<(Versamento, Euro, DateTime<Utc>)>, AppError> {
    let rows = righe(
        db,
        "SELECT versamento_id, importo, eseguito_il FROM storni WHERE tipo = ? AND destinazione_cf = ? \
         AND destinazione_tipo = ? AND eseguito_il >= ? AND eseguito_il < ? ORDER BY seq ASC",
        vec![
            "TRASFERIMENTO".into(),
            w.cf.clone().into(),
            w.tipo.code().into(),
            dal.into(),
            al.into(),
        ],
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
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
