//! POR-1: the journal of movements and the balance rows it maintains.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use occasionali_kernel::Euro;
use occasionali_kernel::ids::new_id;
use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, Value};

use super::{Pagina, corrotto, esegui, insert, per_aggiornare, riga, righe, segnaposti};
use crate::domain::conti::{Causale, Conto, Movimento, Segno};
use crate::domain::{PortafoglioRef, SaldiPortafoglio, Scritture, TipoConto, TipoPortafoglio};

/// Creates a wallet's four accounts if they do not exist yet.
pub async fn apri_portafoglio(txn: &impl ConnectionTrait, w: &PortafoglioRef) -> Result<(), AppError> {
    let valori: Vec<Value> = TipoConto::PORTAFOGLIO
        .into_iter()
        .flat_map(|t| -> [Value; 5] {
            [
                Conto::Portafoglio(w.clone(), t).id().into(),
                t.code().into(),
                w.cf.clone().into(),
                w.tipo.code().into(),
                0i64.into(),
            ]
        })
        .collect();
    let sql = insert(
        "conti",
        &["id", "tipo", "utilizzatore_cf", "tipo_portafoglio", "saldo"],
        TipoConto::PORTAFOGLIO.len(),
        "ON CONFLICT (id) DO NOTHING",
    );
    esegui(txn, &sql, valori).await?;
    Ok(())
}

/// Opens (if needed) and locks wallets, in key order, and reads their balances. Every
/// transaction that moves a wallet's money starts here (or with the conditional update of
/// [`preleva_per_riserva`], which locks the same row).
pub async fn blocca(
    txn: &impl ConnectionTrait,
    portafogli: &[PortafoglioRef],
) -> Result<BTreeMap<PortafoglioRef, SaldiPortafoglio>, AppError> {
    let mut ordinati: Vec<&PortafoglioRef> = portafogli.iter().collect();
    ordinati.sort_by_key(|w| Conto::disponibile(w).id());
    ordinati.dedup();
    let mut out = BTreeMap::new();
    for w in ordinati {
        apri_portafoglio(txn, w).await?;
        riga(
            txn,
            &format!("SELECT saldo FROM conti WHERE id = ?{}", per_aggiornare(txn)),
            vec![Conto::disponibile(w).id().into()],
        )
        .await?;
        out.insert(w.clone(), saldi(txn, w).await?);
    }
    Ok(out)
}

/// The locked balances of one wallet.
pub async fn blocca_uno(
    txn: &impl ConnectionTrait,
    w: &PortafoglioRef,
) -> Result<SaldiPortafoglio, AppError> {
    blocca(txn, std::slice::from_ref(w))
        .await?
        .remove(w)
        .ok_or_else(|| AppError::internal("wallet not locked"))
}

/// A wallet's balances (zero when it has no account yet).
pub async fn saldi(db: &impl ConnectionTrait, w: &PortafoglioRef) -> Result<SaldiPortafoglio, AppError> {
    let mut s = SaldiPortafoglio::default();
    for row in righe(
        db,
        "SELECT tipo, saldo FROM conti WHERE utilizzatore_cf = ? AND tipo_portafoglio = ?",
        vec![w.cf.clone().into(), w.tipo.code().into()],
    )
    .await?
    {
        let tipo: String = row.try_get("", "tipo")?;
        let saldo = Euro::from_cents(row.try_get::<i64>("", "saldo")?);
        match TipoConto::from_code(&tipo) {
            Some(TipoConto::Disponibile) => s.disponibile = saldo,
            Some(TipoConto::Riservato) => s.riservato = saldo,
            Some(TipoConto::RimborsoRichiesto) => s.rimborso_richiesto = saldo,
            Some(TipoConto::Debito) => {
                s.debito = saldo
                    .checked_neg()
                    .ok_or_else(|| AppError::internal("debt overflow"))?
            }
            _ => return Err(corrotto("wallet account kind", &tipo)),
        }
    }
    Ok(s)
}

/// POR-4 / POR-8, the reservation's guard: moves `importo` off the wallet's available balance
/// only if it covers it and the wallet has no debt, in one conditional UPDATE (0 rows: refused).
/// It locks the available-balance row, like [`blocca`].
pub async fn preleva_per_riserva(
    txn: &impl ConnectionTrait,
    w: &PortafoglioRef,
    importo: Euro,
) -> Result<bool, AppError> {
    let cents = importo.cents();
    let n = esegui(
        txn,
        "UPDATE conti SET saldo = saldo - ? WHERE id = ? AND saldo >= ? \
         AND NOT EXISTS (SELECT 1 FROM conti WHERE id = ? AND saldo < 0)",
        vec![
            cents.into(),
            Conto::disponibile(w).id().into(),
            cents.into(),
            Conto::debito(w).id().into(),
        ],
    )
    .await?;
    Ok(n == 1)
}

/// Posts the movements and applies their net change to the balance rows, wallets first then
/// platform accounts, each in key order. `gia_applicati`: accounts whose change the caller
/// already applied (the reservation's guard). A change that would break an account's sign
/// (POR-8) means a concurrent writer got in between: ABORTED, retry.
pub async fn registra(
    txn: &impl ConnectionTrait,
    s: &Scritture,
    ora: DateTime<Utc>,
    gia_applicati: &[Conto],
) -> Result<Vec<String>, AppError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let ids = scrivi_movimenti(txn, s, ora).await?;
    let (portafogli, piattaforma): (Vec<_>, Vec<_>) = s
        .variazioni()?
        .into_values()
        .filter(|(c, d)| *d != 0 && !gia_applicati.contains(c))
        .partition(|(c, _)| c.portafoglio().is_some());
    for (conto, delta) in portafogli.into_iter().chain(piattaforma) {
        applica_variazione(txn, &conto, delta).await?;
    }
    Ok(ids)
}

/// POR-1: appends the movements to the journal, in one statement; their new ids.
async fn scrivi_movimenti(
    txn: &impl ConnectionTrait,
    s: &Scritture,
    ora: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    let mut ids = Vec::with_capacity(s.movimenti.len());
    let mut valori: Vec<Value> = Vec::with_capacity(s.movimenti.len() * 8);
    for m in &s.movimenti {
        let id = new_id("mov");
        valori.extend(valori_movimento(&id, m, ora));
        ids.push(id);
    }
    let sql = insert("movimenti", &COLONNE_MOVIMENTI, s.movimenti.len(), "");
    esegui(txn, &sql, valori).await?;
    Ok(ids)
}

/// A journal movement's values, in the order of [`COLONNE_MOVIMENTI`].
pub(super) fn valori_movimento(id: &str, m: &Movimento, ora: DateTime<Utc>) -> [Value; 8] {
    [
        id.into(),
        ora.into(),
        m.addebito.id().into(),
        m.accredito.id().into(),
        m.importo.cents().into(),
        m.causale.code().into(),
        m.riferimento.clone().into(),
        m.storno_di.clone().unwrap_or_default().into(),
    ]
}

/// The journal's columns as movements are written.
pub(super) const COLONNE_MOVIMENTI: [&str; 8] = [
    "id",
    "registrato_il",
    "conto_addebito",
    "conto_accredito",
    "importo",
    "causale",
    "riferimento",
    "storno_di",
];

/// Applies an account's net change to its balance row, only if the account's sign still holds
/// after it (POR-8); a row left alone means a concurrent writer got in between.
async fn applica_variazione(txn: &impl ConnectionTrait, conto: &Conto, delta: i64) -> Result<(), AppError> {
    let (sql, valori): (&str, Vec<Value>) = match conto.tipo().segno() {
        Segno::NonNegativo => (
            "UPDATE conti SET saldo = saldo + ? WHERE id = ? AND saldo + ? >= 0",
            vec![delta.into(), conto.id().into(), delta.into()],
        ),
        Segno::NonPositivo => (
            "UPDATE conti SET saldo = saldo + ? WHERE id = ? AND saldo + ? <= 0",
            vec![delta.into(), conto.id().into(), delta.into()],
        ),
        Segno::Libero => (
            "UPDATE conti SET saldo = saldo + ? WHERE id = ?",
            vec![delta.into(), conto.id().into()],
        ),
    };
    if esegui(txn, sql, valori).await? != 1 {
        return Err(AppError::aborted(
            "POR-8",
            "POR_8_CONCURRENT_CHANGE",
            "the wallet changed meanwhile; retry",
        ));
    }
    Ok(())
}

/// A posted movement as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovimentoRegistrato {
    pub seq: i64,
    pub id: String,
    pub registrato_il: DateTime<Utc>,
    pub addebito: Conto,
    pub accredito: Conto,
    pub importo: Euro,
    pub causale: Causale,
    pub riferimento: String,
    pub storno_di: String,
}

/// Parses a stored account key back.
pub fn conto_da_id(id: &str) -> Result<Conto, AppError> {
    let parts: Vec<&str> = id.split(':').collect();
    let conto = match parts.as_slice() {
        ["P", t] => TipoConto::from_code(t).map(Conto::Piattaforma),
        ["W", tipo, cf, t] => match (TipoPortafoglio::from_code(tipo), TipoConto::from_code(t)) {
            (Some(tipo), Some(t)) => Some(Conto::Portafoglio(PortafoglioRef::new(*cf, tipo), t)),
            _ => None,
        },
        _ => None,
    };
    // Account keys hold a codice fiscale: masked even in error logs (GW-5).
    conto.ok_or_else(|| corrotto("account key", &occasionali_runtime::identity::mask(id)))
}

/// Movements touching a wallet, newest first, within `[dal, al)`.
pub async fn movimenti(
    db: &impl ConnectionTrait,
    w: &PortafoglioRef,
    dal: Option<DateTime<Utc>>,
    al: Option<DateTime<Utc>>,
    pagina: Pagina,
) -> Result<Vec<MovimentoRegistrato>, AppError> {
    let conti: Vec<String> = TipoConto::PORTAFOGLIO
        .into_iter()
        .map(|t| Conto::Portafoglio(w.clone(), t).id())
        .collect();
    let mut sql = format!(
        "SELECT seq, id, registrato_il, conto_addebito, conto_accredito, importo, causale, riferimento, storno_di \
         FROM movimenti WHERE (conto_addebito IN ({in_}) OR conto_accredito IN ({in_}))",
        in_ = segnaposti(conti.len())
    );
    let mut valori: Vec<Value> = conti.iter().chain(&conti).map(|c| c.as_str().into()).collect();
    if let Some(seq) = pagina.cursore {
        sql.push_str(" AND seq < ?");
        valori.push(seq.into());
    }
    if let Some(dal) = dal {
        sql.push_str(" AND registrato_il >= ?");
        valori.push(dal.into());
    }
    if let Some(al) = al {
        sql.push_str(" AND registrato_il < ?");
        valori.push(al.into());
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", pagina.limite));
    let rows = righe(db, &sql, valori).await?;
    rows.iter()
        .map(|r| {
            let causale: String = r.try_get("", "causale")?;
            Ok(MovimentoRegistrato {
                seq: r.try_get("", "seq")?,
                id: r.try_get("", "id")?,
                registrato_il: r.try_get("", "registrato_il")?,
                addebito: conto_da_id(&r.try_get::<String>("", "conto_addebito")?)?,
                accredito: conto_da_id(&r.try_get::<String>("", "conto_accredito")?)?,
                importo: Euro::from_cents(r.try_get("", "importo")?),
                causale: Causale::from_code(&causale).ok_or_else(|| corrotto("causale", &causale))?,
                riferimento: r.try_get("", "riferimento")?,
                storno_di: r.try_get("", "storno_di")?,
            })
        })
        .collect()
}

/// One account's balance: from the entries (the truth, POR-1) and from the cached row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaldoConto {
    pub conto: Conto,
    pub da_movimenti: i64,
    pub in_cache: i64,
}

/// Every account's balance derived from the journal, beside its cached balance, and the number
/// of movements. Several statements: run it in one snapshot (`db::begin_snapshot`), or a
/// movement committed between them makes a balanced ledger look unbalanced.
pub async fn bilancio(db: &impl ConnectionTrait) -> Result<(Vec<SaldoConto>, i64), AppError> {
    let mut derivati: HashMap<String, i64> = HashMap::new();
    for (col, segno) in [("conto_accredito", 1i64), ("conto_addebito", -1i64)] {
        let sql =
            format!("SELECT {col}, CAST(SUM(importo) AS BIGINT) AS totale FROM movimenti GROUP BY {col}");
        for r in righe(db, &sql, vec![]).await? {
            let id: String = r.try_get("", col)?;
            let totale: i64 = r.try_get("", "totale")?;
            let v = derivati.entry(id).or_default();
            *v = v
                .checked_add(segno * totale)
                .ok_or_else(|| AppError::internal("ledger amount overflow"))?;
        }
    }
    let mut out = Vec::new();
    for r in righe(db, "SELECT id, saldo FROM conti ORDER BY id ASC", vec![]).await? {
        let id: String = r.try_get("", "id")?;
        out.push(SaldoConto {
            conto: conto_da_id(&id)?,
            da_movimenti: derivati.remove(&id).unwrap_or_default(),
            in_cache: r.try_get("", "saldo")?,
        });
    }
    if let Some(id) = derivati.keys().next() {
        return Err(corrotto(
            "movement on an unknown account",
            &occasionali_runtime::identity::mask(id),
        ));
    }
    let n: i64 = match riga(db, "SELECT COUNT(seq) AS n FROM movimenti", vec![]).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok((out, n))
}
