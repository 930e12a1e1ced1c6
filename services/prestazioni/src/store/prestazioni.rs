//! The prestazioni table: one row per prestazione, the declaration as a document
//! ([`super::dichiarazione`]), everything else in its own column — what queries filter on
//! (parties, kind, year and month, day, state, the parties' sedi), the cost, and each step of
//! the lifecycle with its time. The state is the `stato` column alone.

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::outbox;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Value};
use serde::{Deserialize, Serialize};

use chrono::Datelike;
use occasionali_kernel::Euro;

use super::contatori::{self, Presa};
use super::migrations::CONTATORI_ENTRO_IL_TETTO;
use super::{da_istante, dichiarazione, istante, sql};
use crate::domain::accesso::Sedi;
use crate::domain::prestazione::{Contestazione, Pagata, Revoca, Rifiuto, Risposta};
use crate::domain::{Costo, Prestazione, QuotaPresa, Stato, Tipo};

/// A quota as the `quote` column lists it (a JSON array of `{"id", "valore"}`).
#[derive(Serialize, Deserialize)]
struct Quota {
    id: String,
    valore: i64,
}

fn quote_json(quote: &[QuotaPresa]) -> Result<String, AppError> {
    let q: Vec<Quota> = quote
        .iter()
        .map(|q| Quota {
            id: q.id.clone(),
            valore: q.valore,
        })
        .collect();
    serde_json::to_string(&q).map_err(AppError::internal)
}

fn da_quote_json(s: &str) -> Result<Vec<QuotaPresa>, AppError> {
    let q: Vec<Quota> = serde_json::from_str(s).map_err(AppError::internal)?;
    Ok(q.into_iter()
        .map(|q| QuotaPresa {
            id: q.id,
            valore: q.valore,
        })
        .collect())
}

const COLONNE: &str = "id, request_id, dichiarazione, compenso, contributi_ivs, premio_inail, oneri_gestione, \
                       quote, sede_utilizzatore, sede_prestatore, revocabile_fino_al, inserita_da_cf, inserita_il, \
                       stato, accettata_il, motivo_rifiuto, rifiuto_codice, rifiuto_messaggio, rifiuto_dettagli, \
                       revocata_il, motivo_revoca, confermata_il, contestata_il, nota_contestazione, pagata_il, \
                       payout_order_id";

fn quando(r: &QueryResult, col: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    let s: Option<String> = r.try_get("", col)?;
    s.as_deref().map(da_istante).transpose()
}

fn riga(r: &QueryResult) -> Result<Prestazione, AppError> {
    let id: String = r.try_get("", "id")?;
    let stato: String = r.try_get("", "stato")?;
    let doc: String = r.try_get("", "dichiarazione")?;
    let quote: String = r.try_get("", "quote")?;
    let euro = |col: &str| -> Result<Euro, AppError> { Ok(Euro::from_cents(r.try_get::<i64>("", col)?)) };
    let inserita_il: String = r.try_get("", "inserita_il")?;
    let revocabile: String = r.try_get("", "revocabile_fino_al")?;
    let motivo_rifiuto: Option<String> = r.try_get("", "motivo_rifiuto")?;
    let codice: Option<i32> = r.try_get("", "rifiuto_codice")?;
    let risposta = match codice {
        Some(codice) => Some(Risposta {
            codice,
            messaggio: r
                .try_get::<Option<String>>("", "rifiuto_messaggio")?
                .unwrap_or_default(),
            dettagli: r
                .try_get::<Option<Vec<u8>>>("", "rifiuto_dettagli")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    let motivo_revoca: Option<String> = r.try_get("", "motivo_revoca")?;
    let nota: Option<String> = r.try_get("", "nota_contestazione")?;
    let payout_order_id: String = r.try_get("", "payout_order_id")?;
    Ok(Prestazione {
        dichiarazione: dichiarazione::leggi(&doc)
            .map_err(|e| AppError::internal(format!("prestazione {id}: {e}")))?,
        request_id: r.try_get("", "request_id")?,
        costo: Costo {
            compenso: euro("compenso")?,
            ivs: euro("contributi_ivs")?,
            inail: euro("premio_inail")?,
            oneri: euro("oneri_gestione")?,
        },
        quote: da_quote_json(&quote)?,
        sedi: Sedi {
            utilizzatore: r.try_get("", "sede_utilizzatore")?,
            prestatore: r.try_get("", "sede_prestatore")?,
        },
        revocabile_fino_al: da_istante(&revocabile)?,
        inserita_da_cf: r.try_get("", "inserita_da_cf")?,
        inserita_il: da_istante(&inserita_il)?,
        stato: Stato::from_code(&stato).ok_or_else(|| AppError::internal(format!("stato {stato:?}")))?,
        accettata_il: quando(r, "accettata_il")?,
        rifiuto: motivo_rifiuto.map(|motivo| Rifiuto { motivo, risposta }),
        revoca: quando(r, "revocata_il")?.map(|il| Revoca {
            il,
            motivo: motivo_revoca.unwrap_or_default(),
        }),
        confermata_il: quando(r, "confermata_il")?,
        contestazione: quando(r, "contestata_il")?.map(|il| Contestazione {
            il,
            nota: nota.unwrap_or_default(),
        }),
        pagamento: quando(r, "pagata_il")?.map(|il| Pagata { il, payout_order_id }),
        id,
    })
}

/// Inserts a new prestazione; `false` when the (utilizzatore, request id) exists (on PostgreSQL
/// the transaction is then aborted: roll it back).
pub async fn inserisci(db: &impl ConnectionTrait, p: &Prestazione) -> Result<bool, AppError> {
    let (insert, valori) = inserimento(p)?;
    match db.execute_raw(sql(db, &insert, valori)).await {
        Ok(_) => Ok(true),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// How a new prestazione and its quotas went in.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserita {
    Fatto,
    /// Its request id was there already (PRE-18): nothing written.
    Duplicato,
    /// A quota would take its counter past its cap (PRE-9): nothing written.
    LimiteSuperato,
}

/// A new PENDING prestazione and its quotas (PRE-9), atomically. On PostgreSQL one statement
/// (the insertion in a `WITH`, the counters' upsert after it), sent alone: the counters' rows
/// are locked only while the server executes and commits it, not across round trips to this
/// process, and the CHECK `contatori_entro_il_tetto` stops it whole when a quota does not fit.
/// On SQLite, a write transaction (the conditional upsert of [`contatori::prendi`]).
pub async fn inserisci_con_quote(
    db: &DatabaseConnection,
    p: &Prestazione,
    prese: &[Presa<'_>],
) -> Result<Inserita, AppError> {
    if prese.iter().any(|q| q.valore > q.limite) {
        return Ok(Inserita::LimiteSuperato);
    }
    if db.get_database_backend() != DbBackend::Postgres {
        let txn = begin_write(db).await?;
        if !inserisci(&txn, p).await? {
            txn.rollback().await?;
            return Ok(Inserita::Duplicato);
        }
        if !contatori::prendi(&txn, prese).await? {
            txn.rollback().await?;
            return Ok(Inserita::LimiteSuperato);
        }
        txn.commit().await?;
        return Ok(Inserita::Fatto);
    }
    let (insert, mut valori) = inserimento(p)?;
    let statement = match prese.is_empty() {
        true => insert,
        false => {
            let (upsert, quote) = contatori::presa_con_tetto(prese);
            valori.extend(quote);
            format!("WITH nuova AS ({insert} RETURNING 1) {upsert}")
        }
    };
    match db.execute_raw(sql(db, &statement, valori)).await {
        Ok(_) => Ok(Inserita::Fatto),
        Err(e) if occasionali_runtime::db::is_unique_violation(&e) => Ok(Inserita::Duplicato),
        Err(e) if occasionali_runtime::db::is_check_violation(&e, CONTATORI_ENTRO_IL_TETTO) => {
            Ok(Inserita::LimiteSuperato)
        }
        Err(e) => Err(e.into()),
    }
}

/// The INSERT of a new prestazione, with its values.
fn inserimento(p: &Prestazione) -> Result<(String, Vec<Value>), AppError> {
    let d = &p.dichiarazione;
    let data = p.data();
    Ok((
        "INSERT INTO prestazioni (id, utilizzatore_cf, prestatore_cf, request_id, tipo, anno, mese, data, minuti, \
             compenso, contributi_ivs, premio_inail, oneri_gestione, totale, stato, quote, payout_order_id, \
             dichiarazione, sede_utilizzatore, sede_prestatore, revocabile_fino_al, inserita_da_cf, inserita_il) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)".to_string(),
        vec![
                p.id.clone().into(),
                d.utilizzatore_cf.clone().into(),
                d.prestatore_cf.clone().into(),
                p.request_id.clone().into(),
                d.tipo().code().into(),
                data.year().into(),
                (data.month() as i32).into(),
                data.format("%Y-%m-%d").to_string().into(),
                p.minuti().into(),
                p.costo.compenso.cents().into(),
                p.costo.ivs.cents().into(),
                p.costo.inail.cents().into(),
                p.costo.oneri.cents().into(),
                p.costo.totale().cents().into(),
                p.stato.code().into(),
                quote_json(&p.quote)?.into(),
                dichiarazione::scrivi(d).into(),
                p.sedi.utilizzatore.clone().into(),
                p.sedi.prestatore.clone().into(),
                istante(p.revocabile_fino_al).into(),
                p.inserita_da_cf.clone().into(),
                istante(p.inserita_il).into(),
            ],
    ))
}

/// Writes the lifecycle: the state and each step's time and words (what insertion settled does
/// not change).
pub async fn aggiorna(db: &impl ConnectionTrait, p: &Prestazione) -> Result<(), AppError> {
    scrivi_stato(db, p, None).await.map(|_| ())
}

async fn scrivi_stato(
    db: &impl ConnectionTrait,
    p: &Prestazione,
    da: Option<Stato>,
) -> Result<bool, AppError> {
    let (update, valori) = aggiornamento(p, da);
    let r = db.execute_raw(sql(db, &update, valori)).await?;
    Ok(r.rows_affected() == 1)
}

/// The UPDATE writing `p`'s state (only if it is still `da`, when given), with its values.
fn aggiornamento(p: &Prestazione, da: Option<Stato>) -> (String, Vec<Value>) {
    let risposta = p.rifiuto.as_ref().and_then(|r| r.risposta.as_ref());
    let mut valori: Vec<Value> = vec![
        p.stato.code().into(),
        p.accettata_il.map(istante).into(),
        p.rifiuto.as_ref().map(|r| r.motivo.clone()).into(),
        risposta.map(|r| r.codice).into(),
        risposta.map(|r| r.messaggio.clone()).into(),
        risposta.map(|r| r.dettagli.clone()).into(),
        p.revoca.as_ref().map(|r| istante(r.il)).into(),
        p.revoca.as_ref().map(|r| r.motivo.clone()).into(),
        p.confermata_il.map(istante).into(),
        p.contestazione.as_ref().map(|c| istante(c.il)).into(),
        p.contestazione.as_ref().map(|c| c.nota.clone()).into(),
        p.pagamento.as_ref().map(|x| istante(x.il)).into(),
        p.pagamento
            .as_ref()
            .map(|x| x.payout_order_id.clone())
            .unwrap_or_default()
            .into(),
        p.id.clone().into(),
    ];
    let condizione = match da {
        Some(stato) => {
            valori.push(stato.code().into());
            " AND stato = ?"
        }
        None => "",
    };
    (
        format!(
            "UPDATE prestazioni SET stato = ?, accettata_il = ?, motivo_rifiuto = ?, rifiuto_codice = ?, \
             rifiuto_messaggio = ?, rifiuto_dettagli = ?, revocata_il = ?, motivo_revoca = ?, confermata_il = ?, \
             contestata_il = ?, nota_contestazione = ?, pagata_il = ?, payout_order_id = ? WHERE id = ?{condizione}"
        ),
        valori,
    )
}

/// PRE-10: a PENDING prestazione `p` (already accepted in memory) written ACCEPTED with its
/// event, in one atomic write; `false` if it was no longer PENDING (nothing written).
pub async fn accetta_con_evento(
    db: &DatabaseConnection,
    p: &Prestazione,
    at: DateTime<Utc>,
) -> Result<bool, AppError> {
    let (update, valori) = aggiornamento(p, Some(Stato::Pending));
    let evento = crate::events::PrestazioneInserita::di(p);
    outbox::aggiorna_con_evento(db, &update, valori, evento.evento(&p.id, at)).await
}

pub async fn per_request(
    db: &impl ConnectionTrait,
    utilizzatore_cf: &str,
    request_id: &str,
) -> Result<Option<Prestazione>, AppError> {
    let row = db
        .query_one_raw(sql(
            db,
            &format!("SELECT {COLONNE} FROM prestazioni WHERE utilizzatore_cf = ? AND request_id = ?"),
            vec![utilizzatore_cf.into(), request_id.into()],
        ))
        .await?;
    row.as_ref().map(riga).transpose()
}

/// One prestazione; `for_update` locks it on PostgreSQL (SQLite write transactions are exclusive).
pub async fn carica(
    db: &impl ConnectionTrait,
    id: &str,
    for_update: bool,
) -> Result<Option<Prestazione>, AppError> {
    let lock = if for_update && db.get_database_backend() == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = db
        .query_one_raw(sql(
            db,
            &format!("SELECT {COLONNE} FROM prestazioni WHERE id = ?{lock}"),
            vec![id.into()],
        ))
        .await?;
    row.as_ref().map(riga).transpose()
}

/// PRE-11: clears the wallet release a revoca stored before the relay existed still owed.
pub async fn rilascio_fatto(db: &impl ConnectionTrait, id: &str) -> Result<(), AppError> {
    db.execute_raw(sql(
        db,
        "UPDATE prestazioni SET rilascio_pendente = 0 WHERE id = ?",
        vec![id.into()],
    ))
    .await?;
    Ok(())
}

/// Revoked prestazioni whose reservation release is still owed.
pub async fn rilasci_pendenti(db: &impl ConnectionTrait) -> Result<Vec<String>, AppError> {
    let rows = db
        .query_all_raw(sql(
            db,
            "SELECT id FROM prestazioni WHERE rilascio_pendente = 1 ORDER BY id",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get("", "id").map_err(AppError::from))
        .collect()
}

pub async fn pendenti(db: &impl ConnectionTrait) -> Result<Vec<Prestazione>, AppError> {
    let rows = db
        .query_all_raw(sql(
            db,
            &format!("SELECT {COLONNE} FROM prestazioni WHERE stato = ? ORDER BY id"),
            vec![Stato::Pending.code().into()],
        ))
        .await?;
    rows.iter().map(riga).collect()
}

/// Filters of a listing.
#[derive(Clone, Debug, Default)]
pub struct Filtro {
    pub utilizzatore_cf: Option<String>,
    pub prestatore_cf: Option<String>,
    pub anno: Option<i32>,
    pub mese: Option<u32>,
    pub stati: Vec<Stato>,
    pub tipo: Option<Tipo>,
    /// The scheduled day, from and to (inclusive), YYYY-MM-DD.
    pub dal: Option<String>,
    pub al: Option<String>,
    /// A sede operator's scope: prestazioni with a party of this sede (PRE-19).
    pub sede: Option<String>,
    pub dopo_id: Option<String>,
    pub crescente: bool,
    pub limite: u64,
}

pub async fn elenca(db: &impl ConnectionTrait, f: &Filtro) -> Result<Vec<Prestazione>, AppError> {
    let mut cond = vec!["1 = 1".to_string()];
    let mut vals: Vec<Value> = Vec::new();
    let mut add = |c: &str, v: Value, cond: &mut Vec<String>| {
        vals.push(v);
        cond.push(format!("{c} ?"));
    };
    if let Some(u) = &f.utilizzatore_cf {
        add("utilizzatore_cf =", u.clone().into(), &mut cond);
    }
    if let Some(p) = &f.prestatore_cf {
        add("prestatore_cf =", p.clone().into(), &mut cond);
    }
    if let Some(a) = f.anno {
        add("anno =", a.into(), &mut cond);
    }
    if let Some(m) = f.mese {
        add("mese =", (m as i32).into(), &mut cond);
    }
    if let Some(t) = f.tipo {
        add("tipo =", t.code().into(), &mut cond);
    }
    if let Some(d) = &f.dal {
        add("data >=", d.clone().into(), &mut cond);
    }
    if let Some(d) = &f.al {
        add("data <=", d.clone().into(), &mut cond);
    }
    if let Some(d) = &f.dopo_id {
        let op = if f.crescente { "id >" } else { "id <" };
        add(op, d.clone().into(), &mut cond);
    }
    if let Some(s) = &f.sede {
        vals.push(s.clone().into());
        vals.push(s.clone().into());
        cond.push("(sede_utilizzatore = ? OR sede_prestatore = ?)".to_string());
    }
    if !f.stati.is_empty() {
        // At most one placeholder per state: callers pass distinct states (decode::stati).
        let list = vec!["?"; f.stati.len()].join(", ");
        vals.extend(f.stati.iter().map(|s| Value::from(s.code())));
        cond.push(format!("stato IN ({list})"));
    }
    let order = if f.crescente { "ASC" } else { "DESC" };
    let limite = if f.limite == 0 { 1_000_000 } else { f.limite };
    let text = format!(
        "SELECT {COLONNE} FROM prestazioni WHERE {} ORDER BY id {order} LIMIT {limite}",
        cond.join(" AND ")
    );
    let rows = db.query_all_raw(sql(db, &text, vals)).await?;
    rows.iter().map(riga).collect()
}

/// ANA-9: subjects with prestazioni (not rejected) between two days, and how many: prestatori,
/// or utilizzatori (of one kind, or both).
pub async fn soggetti_attivi(
    db: &impl ConnectionTrait,
    prestatori: bool,
    tipo: Option<Tipo>,
    dal: &str,
    al: &str,
) -> Result<Vec<(String, i64)>, AppError> {
    let col = if prestatori {
        "prestatore_cf"
    } else {
        "utilizzatore_cf"
    };
    let tipo_cond = match tipo {
        Some(t) => format!(" AND tipo = '{}'", t.code()),
        None => String::new(),
    };
    let text = format!(
        "SELECT {col} AS cf, COUNT(*) AS n FROM prestazioni WHERE data >= ? AND data <= ? AND stato <> 'REJECTED'{tipo_cond} GROUP BY {col} ORDER BY {col}"
    );
    let rows = db
        .query_all_raw(sql(db, &text, vec![dal.into(), al.into()]))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "cf")?, r.try_get("", "n")?)))
        .collect()
}
