//! POR-7: rimborsi, one per client request id.

use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, QueryResult, Value};

use super::{
    Inserimento, Pagina, corrotto, dove, esegui, euro, inserisci_unico, insert, per_aggiornare, riga, righe,
};
use crate::domain::rimborso::{Rimborso, StatoRimborso};
use crate::domain::{PortafoglioRef, TipoPortafoglio};

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

/// `SELECT` of every field of the rimborsi, before its conditions.
fn select() -> String {
    format!("SELECT {} FROM rimborsi", CAMPI.join(", "))
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
    // Every field but `seq`, assigned by the database.
    inserisci_unico(
        txn,
        &insert("rimborsi", &CAMPI[..15], 1, ""),
        vec![
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
        ],
    )
    .await
}

pub async fn carica(db: &impl ConnectionTrait, id: &str) -> Result<Option<Rimborso>, AppError> {
    riga(db, &format!("{} WHERE id = ?", select()), vec![id.into()])
        .await?
        .map(|r| decode(&r).map(|(_, x)| x))
        .transpose()
}

pub async fn per_request(db: &impl ConnectionTrait, request_id: &str) -> Result<Option<Rimborso>, AppError> {
    riga(
        db,
        &format!("{} WHERE request_id = ?", select()),
        vec![request_id.into()],
    )
    .await?
    .map(|r| decode(&r).map(|(_, x)| x))
    .transpose()
}

pub async fn blocca(txn: &impl ConnectionTrait, id: &str) -> Result<Option<Rimborso>, AppError> {
    let sql = format!("{} WHERE id = ?{}", select(), per_aggiornare(txn));
    riga(txn, &sql, vec![id.into()])
        .await?
        .map(|r| decode(&r).map(|(_, x)| x))
        .transpose()
}

/// Records the decision, only if the rimborso is still RICHIESTO.
pub async fn decidi(txn: &impl ConnectionTrait, r: &Rimborso) -> Result<(), AppError> {
    let n = esegui(
        txn,
        "UPDATE rimborsi SET stato = ?, importo_pagato = ?, iban_pagato = ?, deciso_il = ?, deciso_da_cf = ?, \
         nota = ? WHERE id = ? AND stato = ?",
        vec![
            r.stato.code().into(),
            r.importo_pagato.map(|e| e.cents()).unwrap_or(0).into(),
            r.iban_pagato.clone().unwrap_or_default().into(),
            r.deciso_il.into(),
            r.deciso_da_cf.clone().into(),
            r.nota.clone().into(),
            r.id.clone().into(),
            StatoRimborso::Richiesto.code().into(),
        ],
    )
    .await?;
    if n != 1 {
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
    let mut condizioni: Vec<&str> = Vec::new();
    let mut valori: Vec<Value> = Vec::new();
    if let Some(seq) = pagina.cursore {
        condizioni.push("seq < ?");
        valori.push(seq.into());
    }
    if let Some(cf) = &f.utilizzatore_cf {
        condizioni.push("utilizzatore_cf = ?");
        valori.push(cf.clone().into());
    }
    if let Some(s) = f.stato {
        condizioni.push("stato = ?");
        valori.push(s.code().into());
    }
    if let Some(s) = &f.sede {
        condizioni.push("sede = ?");
        valori.push(s.clone().into());
    }
    let sql = format!(
        "{}{} ORDER BY seq DESC LIMIT {}",
        select(),
        dove(&condizioni),
        pagina.limite
    );
    let rows = righe(db, &sql, valori).await?;
    rows.iter().map(decode).collect()
}
