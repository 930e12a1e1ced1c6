//! POR-1: the journal of movements and the balance rows it maintains.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use occasionali_kernel::Euro;
use occasionali_kernel::ids::new_id;
use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Order, Query};

use super::{Pagina, corrotto, per_aggiornare};
use crate::domain::conti::{Causale, Conto, Segno};
use crate::domain::{PortafoglioRef, SaldiPortafoglio, Scritture, TipoConto, TipoPortafoglio};

const CONTI: &str = "conti";
const MOVIMENTI: &str = "movimenti";

/// Creates a wallet's four accounts if they do not exist yet.
pub async fn apri_portafoglio(txn: &impl ConnectionTrait, w: &PortafoglioRef) -> Result<(), AppError> {
    let mut q = Query::insert();
    q.into_table(CONTI)
        .columns(["id", "tipo", "utilizzatore_cf", "tipo_portafoglio", "saldo"]);
    for t in TipoConto::PORTAFOGLIO {
        q.values([
            Conto::Portafoglio(w.clone(), t).id().into(),
            t.code().into(),
            w.cf.clone().into(),
            w.tipo.code().into(),
            0i64.into(),
        ])
        .map_err(AppError::internal)?;
    }
    q.on_conflict(OnConflict::column("id").do_nothing().to_owned());
    txn.execute(&q).await?;
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
        let mut q = Query::select()
            .column("saldo")
            .from(CONTI)
            .and_where(Expr::col("id").eq(Conto::disponibile(w).id()))
            .to_owned();
        per_aggiornare(&mut q, txn);
        txn.query_one(&q).await?;
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
    let q = Query::select()
        .columns(["tipo", "saldo"])
        .from(CONTI)
        .and_where(Expr::col("utilizzatore_cf").eq(w.cf.clone()))
        .and_where(Expr::col("tipo_portafoglio").eq(w.tipo.code()))
        .to_owned();
    let mut s = SaldiPortafoglio::default();
    for row in db.query_all(&q).await? {
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
    let debito = Query::select()
        .expr(Expr::val(1))
        .from(CONTI)
        .and_where(Expr::col("id").eq(Conto::debito(w).id()))
        .and_where(Expr::col("saldo").lt(0))
        .to_owned();
    let q = Query::update()
        .table(CONTI)
        .value("saldo", Expr::col("saldo").sub(cents))
        .and_where(Expr::col("id").eq(Conto::disponibile(w).id()))
        .and_where(Expr::col("saldo").gte(cents))
        .and_where(Expr::exists(debito).not())
        .to_owned();
    Ok(txn.execute(&q).await?.rows_affected() == 1)
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
    let mut ids = Vec::with_capacity(s.movimenti.len());
    let mut q = Query::insert();
    q.into_table(MOVIMENTI).columns([
        "id",
        "registrato_il",
        "conto_addebito",
        "conto_accredito",
        "importo",
        "causale",
        "riferimento",
        "storno_di",
    ]);
    for m in &s.movimenti {
        let id = new_id("mov");
        q.values([
            id.clone().into(),
            ora.into(),
            m.addebito.id().into(),
            m.accredito.id().into(),
            m.importo.cents().into(),
            m.causale.code().into(),
            m.riferimento.clone().into(),
            m.storno_di.clone().unwrap_or_default().into(),
        ])
        .map_err(AppError::internal)?;
        ids.push(id);
    }
    txn.execute(&q).await?;
    let variazioni = s.variazioni()?;
    let (portafogli, piattaforma): (Vec<_>, Vec<_>) = variazioni
        .into_values()
        .filter(|(c, d)| *d != 0 && !gia_applicati.contains(c))
        .partition(|(c, _)| c.portafoglio().is_some());
    for (conto, delta) in portafogli.into_iter().chain(piattaforma) {
        let mut q = Query::update();
        q.table(CONTI)
            .value("saldo", Expr::col("saldo").add(delta))
            .and_where(Expr::col("id").eq(conto.id()));
        match conto.tipo().segno() {
            Segno::NonNegativo => {
                q.and_where(Expr::col("saldo").add(delta).gte(0));
            }
            Segno::NonPositivo => {
                q.and_where(Expr::col("saldo").add(delta).lte(0));
            }
            Segno::Libero => {}
        }
        if txn.execute(&q).await?.rows_affected() != 1 {
            return Err(AppError::aborted(
                "POR-8",
                "POR_8_CONCURRENT_CHANGE",
                "the wallet changed meanwhile; retry",
            ));
        }
    }
    Ok(ids)
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
    let mut q = Query::select()
        .columns([
            "seq",
            "id",
            "registrato_il",
            "conto_addebito",
            "conto_accredito",
            "importo",
            "causale",
            "riferimento",
            "storno_di",
        ])
        .from(MOVIMENTI)
        .cond_where(
            Expr::col("conto_addebito")
                .is_in(conti.clone())
                .or(Expr::col("conto_accredito").is_in(conti)),
        )
        .order_by("seq", Order::Desc)
        .limit(pagina.limite)
        .to_owned();
    if let Some(seq) = pagina.cursore {
        q.and_where(Expr::col("seq").lt(seq));
    }
    if let Some(dal) = dal {
        q.and_where(Expr::col("registrato_il").gte(dal));
    }
    if let Some(al) = al {
        q.and_where(Expr::col("registrato_il").lt(al));
    }
    let rows = db.query_all(&q).await?;
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
        let q = Query::select()
            .column(col)
            .expr_as(
                Func::cast_as(Func::sum(Expr::col("importo")), Alias::new("BIGINT")),
                "totale",
            )
            .from(MOVIMENTI)
            .group_by_col(col)
            .to_owned();
        for r in db.query_all(&q).await? {
            let id: String = r.try_get("", col)?;
            let totale: i64 = r.try_get("", "totale")?;
            let v = derivati.entry(id).or_default();
            *v = v
                .checked_add(segno * totale)
                .ok_or_else(|| AppError::internal("ledger amount overflow"))?;
        }
    }
    let q = Query::select()
        .columns(["id", "saldo"])
        .from(CONTI)
        .order_by("id", Order::Asc)
        .to_owned();
    let mut out = Vec::new();
    for r in db.query_all(&q).await? {
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
    let q = Query::select()
        .expr_as(Func::count(Expr::col("seq")), "n")
        .from(MOVIMENTI)
        .to_owned();
    let n: i64 = match db.query_one(&q).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok((out, n))
}
