//! POR-4: reservations, one per prestazione id.

use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use occasionali_kernel::ids::new_id;
use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Value};

use super::{
    Inserimento, corrotto, data, esegui, euro, inserisci_unico, insert, istruzione, per_aggiornare, riga,
    righe,
};
use crate::domain::conti::{Conto, Scritture};
use crate::domain::payout::chiave_mese;
use crate::domain::riserva::{Costo, Riserva, StatoRiserva};
use crate::domain::{PortafoglioRef, TipoPortafoglio};

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

/// `SELECT` of every field of the reservations, before its conditions.
fn select() -> String {
    format!("SELECT {} FROM riserve", CAMPI.join(", "))
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
    inserisci_unico(txn, &insert("riserve", &CAMPI, 1, ""), valori(r)).await
}

fn valori(r: &Riserva) -> Vec<Value> {
    let c = &r.costo;
    vec![
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
    ]
}

/// How a new reservation went in ([`riserva_atomica`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Esito {
    Riservata,
    /// The prestazione has a reservation already (POR-4 is idempotent on its id).
    Duplicato,
    /// The wallet does not cover it, is in debt, or does not exist: nothing written.
    NonCoperta,
}

/// POR-4 / POR-8 on PostgreSQL: the reservation `r`, its journal movement (the one movement of
/// `s`) and both balances, in one statement sent alone. The reservation goes in only if the
/// wallet is not in debt and has both accounts; the balances follow it (the available one
/// can only fall within the CHECK `conti_saldo_non_negativo`, which stops the whole statement
/// when the funds do not cover it — the check is on the row as locked, so concurrent
/// reservations never overdraw); the movement follows it too. The wallet's rows are locked
/// only while the server executes and commits, not across round trips (issue 11).
pub async fn riserva_atomica(
    db: &DatabaseConnection,
    r: &Riserva,
    s: &Scritture,
    ora: DateTime<Utc>,
) -> Result<Esito, AppError> {
    let [m] = s.movimenti.as_slice() else {
        return Err(AppError::internal("a reservation is one movement"));
    };
    let w = &r.portafoglio;
    let (disponibile, riservato, debito) = (
        Conto::disponibile(w).id(),
        Conto::riservato(w).id(),
        Conto::debito(w).id(),
    );
    let mut v = valori(r);
    v.extend([
        debito.into(),
        disponibile.clone().into(),
        riservato.clone().into(),
    ]);
    let variazioni: Vec<(String, i64)> = s.variazioni()?.into_values().map(|(c, d)| (c.id(), d)).collect();
    let casi = vec!["WHEN ? THEN ?"; variazioni.len()].join(" ");
    for (id, delta) in &variazioni {
        v.extend([id.clone().into(), (*delta).into()]);
    }
    let conti = vec!["?"; variazioni.len()].join(", ");
    for (id, _) in &variazioni {
        v.push(id.clone().into());
    }
    v.extend(super::conti::valori_movimento(&new_id("mov"), m, ora));
    let sql = format!(
        "WITH riserva AS (INSERT INTO riserve ({campi}) SELECT {segnaposti} \
         WHERE NOT EXISTS (SELECT 1 FROM conti WHERE id = ? AND saldo < 0) \
         AND (SELECT count(*) FROM conti WHERE id IN (?, ?)) = 2 RETURNING 1), \
         saldi AS (UPDATE conti SET saldo = saldo + (CASE id {casi} END) \
         WHERE id IN ({conti}) AND EXISTS (SELECT 1 FROM riserva) RETURNING 1) \
         INSERT INTO movimenti ({movimenti}) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM riserva)",
        campi = CAMPI.join(", "),
        segnaposti = vec!["?"; CAMPI.len()].join(", "),
        movimenti = super::conti::COLONNE_MOVIMENTI.join(", "),
    );
    match db.execute_raw(istruzione(db, &sql, v)).await {
        Ok(r) if r.rows_affected() == 1 => Ok(Esito::Riservata),
        Ok(_) => Ok(Esito::NonCoperta),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(Esito::Duplicato),
        Err(e) if occasionali_runtime::db::is_check_violation(&e, "conti_saldo_non_negativo") => {
            Ok(Esito::NonCoperta)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn carica(db: &impl ConnectionTrait, prestazione_id: &str) -> Result<Option<Riserva>, AppError> {
    riga(
        db,
        &format!("{} WHERE prestazione_id = ?", select()),
        vec![prestazione_id.into()],
    )
    .await?
    .map(|r| decode(&r))
    .transpose()
}

/// Reads a reservation for update (row lock on PostgreSQL).
pub async fn blocca(txn: &impl ConnectionTrait, prestazione_id: &str) -> Result<Option<Riserva>, AppError> {
    let sql = format!("{} WHERE prestazione_id = ?{}", select(), per_aggiornare(txn));
    riga(txn, &sql, vec![prestazione_id.into()])
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// Writes the reservation's new state, only if it is still in state `prima`.
pub async fn aggiorna(txn: &impl ConnectionTrait, prima: StatoRiserva, r: &Riserva) -> Result<(), AppError> {
    let n = esegui(
        txn,
        "UPDATE riserve SET stato = ?, debito = ?, riservata_il = ?, rilasciata_il = ?, consumata_il = ?, \
         payout_order_id = ? WHERE prestazione_id = ? AND stato = ?",
        vec![
            r.stato.code().into(),
            r.debito.cents().into(),
            r.riservata_il.into(),
            r.rilasciata_il.into(),
            r.consumata_il.into(),
            r.payout_order_id.clone().unwrap_or_default().into(),
            r.prestazione_id.clone().into(),
            prima.code().into(),
        ],
    )
    .await?;
    if n != 1 {
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
    let rows = righe(
        db,
        "SELECT DISTINCT prestatore_cf FROM riserve WHERE stato = ? AND mese = ? ORDER BY prestatore_cf ASC",
        vec![
            StatoRiserva::Riservata.code().into(),
            chiave_mese(anno, mese).into(),
        ],
    )
    .await?;
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
    let sql = format!(
        "{} WHERE stato = ? AND mese = ? AND prestatore_cf = ? ORDER BY prestazione_id ASC{}",
        select(),
        if blocca { per_aggiornare(db) } else { "" }
    );
    let rows = righe(
        db,
        &sql,
        vec![
            StatoRiserva::Riservata.code().into(),
            chiave_mese(anno, mese).into(),
            prestatore_cf.into(),
        ],
    )
    .await?;
    rows.iter().map(decode).collect()
}

/// A wallet's reservations with the prestazione in `[dal, al]` (POR-6).
pub async fn del_portafoglio(
    db: &impl ConnectionTrait,
    w: &PortafoglioRef,
    dal: NaiveDate,
    al: NaiveDate,
) -> Result<Vec<Riserva>, AppError> {
    let sql = format!(
        "{} WHERE utilizzatore_cf = ? AND tipo_portafoglio = ? AND data_prestazione >= ? \
         AND data_prestazione <= ? ORDER BY data_prestazione ASC, prestazione_id ASC",
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
    rows.iter().map(decode).collect()
}

/// The reservations a payout order consumed.
pub async fn dell_ordine(db: &impl ConnectionTrait, payout_order_id: &str) -> Result<Vec<Riserva>, AppError> {
    let sql = format!(
        "{} WHERE payout_order_id = ? ORDER BY data_prestazione ASC, prestazione_id ASC",
        select()
    );
    let rows = righe(db, &sql, vec![payout_order_id.into()]).await?;
    rows.iter().map(decode).collect()
}
