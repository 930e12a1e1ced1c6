//! Deliveries of notices on each channel (NOT-6): at least once, leased to one worker at a
//! time, with backoff; one per notice and channel.

use occasionali_runtime::AppError;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};

use super::{esegui, opt_i32, opt_str, righe};
use crate::domain::Tipo;
use crate::domain::canali::Canale;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stato {
    Pending,
    Retrying,
    Sent,
    Failed,
    Skipped,
}

impl Stato {
    pub const ALL: [Stato; 5] = [
        Stato::Pending,
        Stato::Retrying,
        Stato::Sent,
        Stato::Failed,
        Stato::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stato::Pending => "pending",
            Stato::Retrying => "retrying",
            Stato::Sent => "sent",
            Stato::Failed => "failed",
            Stato::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Stato> {
        Stato::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Clone, Debug)]
pub struct Consegna {
    pub id: String,
    pub notifica_id: String,
    pub codice_fiscale: String,
    pub canale: Canale,
    pub tipo: Tipo,
    pub stato: Stato,
    pub indirizzo: Option<String>,
    /// The notice's title and text: read with a claimed delivery, not stored per channel.
    pub oggetto: String,
    pub testo: String,
    pub tentativi: i32,
    pub ultimo_errore: Option<String>,
    pub prossimo_ms: i64,
    pub creata_ms: i64,
    pub inviata_ms: Option<i64>,
    pub event_id: Option<String>,
    pub campagna: Option<String>,
    pub anno: Option<i32>,
    pub trimestre: Option<i32>,
}

const INSERITE: [&str; 16] = [
    "id",
    "notifica_id",
    "codice_fiscale",
    "channel",
    "tipo",
    "state",
    "indirizzo",
    "tentativi",
    "ultimo_errore",
    "prossimo_ms",
    "creata_ms",
    "inviata_ms",
    "event_id",
    "campagna",
    "anno",
    "trimestre",
];

/// Writes deliveries (one per notice and channel: a repeat is ignored), multi-row.
pub async fn inserisci(db: &impl ConnectionTrait, consegne: &[Consegna]) -> Result<(), AppError> {
    let righe_ = consegne
        .iter()
        .map(|c| {
            vec![
                c.id.clone().into(),
                c.notifica_id.clone().into(),
                c.codice_fiscale.clone().into(),
                c.canale.as_str().into(),
                c.tipo.as_str().into(),
                c.stato.as_str().into(),
                opt_str(c.indirizzo.as_deref()),
                c.tentativi.into(),
                opt_str(c.ultimo_errore.as_deref()),
                c.prossimo_ms.into(),
                c.creata_ms.into(),
                Value::BigInt(c.inviata_ms),
                opt_str(c.event_id.as_deref()),
                opt_str(c.campagna.as_deref()),
                opt_i32(c.anno),
                opt_i32(c.trimestre),
            ]
        })
        .collect();
    super::inserisci_righe(
        db,
        "consegne",
        &INSERITE,
        righe_,
        "ON CONFLICT (notifica_id, channel) DO NOTHING",
    )
    .await?;
    Ok(())
}

const COLONNE: &str = "seq, id, notifica_id, codice_fiscale, channel, tipo, state, indirizzo, \
                       tentativi, ultimo_errore, prossimo_ms, creata_ms, inviata_ms, event_id, campagna, anno, trimestre";

fn consegna(r: &QueryResult) -> Result<(i64, Consegna), AppError> {
    let canale: String = r.try_get("", "channel")?;
    let tipo: String = r.try_get("", "tipo")?;
    let stato: String = r.try_get("", "state")?;
    let guasto = |cosa: &str, v: &str| AppError::internal(format!("unknown {cosa} {v:?} in the database"));
    Ok((
        r.try_get("", "seq")?,
        Consegna {
            id: r.try_get("", "id")?,
            notifica_id: r.try_get("", "notifica_id")?,
            codice_fiscale: r.try_get("", "codice_fiscale")?,
            canale: Canale::parse(&canale).ok_or_else(|| guasto("channel", &canale))?,
            tipo: Tipo::parse(&tipo).ok_or_else(|| guasto("tipo", &tipo))?,
            stato: Stato::parse(&stato).ok_or_else(|| guasto("state", &stato))?,
            indirizzo: r.try_get("", "indirizzo")?,
            oggetto: String::new(),
            testo: String::new(),
            tentativi: r.try_get("", "tentativi")?,
            ultimo_errore: r.try_get("", "ultimo_errore")?,
            prossimo_ms: r.try_get("", "prossimo_ms")?,
            creata_ms: r.try_get("", "creata_ms")?,
            inviata_ms: r.try_get("", "inviata_ms")?,
            event_id: r.try_get("", "event_id")?,
            campagna: r.try_get("", "campagna")?,
            anno: r.try_get("", "anno")?,
            trimestre: r.try_get("", "trimestre")?,
        },
    ))
}

/// Leases up to `limite` due deliveries until `fino_ms`, in one short transaction (replicas
/// skip each other's rows on PostgreSQL; SQLite has one writer). The lease value fences the
/// outcome: only the holder's update lands.
pub async fn reclama(
    db: &sea_orm::DatabaseConnection,
    adesso_ms: i64,
    fino_ms: i64,
    limite: u64,
) -> Result<Vec<Consegna>, AppError> {
    let lock = match db.get_database_backend() {
        DbBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let txn = occasionali_runtime::db::begin_write(db).await?;
    let rows = righe(
        &txn,
        &format!(
            "UPDATE consegne SET claimed_until_ms = ? WHERE id IN (\
             SELECT id FROM consegne WHERE state IN ('pending', 'retrying') AND prossimo_ms <= ? \
             AND (claimed_until_ms IS NULL OR claimed_until_ms < ?) ORDER BY prossimo_ms, seq LIMIT {limite} {lock}) \
             RETURNING {COLONNE}"
        ),
        vec![fino_ms.into(), adesso_ms.into(), adesso_ms.into()],
    )
    .await?;
    txn.commit().await?;
    let mut lotto: Vec<Consegna> = rows
        .iter()
        .map(|r| consegna(r).map(|(_, c)| c))
        .collect::<Result<_, _>>()?;
    // The words are the notice's (one copy, not one per channel).
    let ids: Vec<String> = lotto.iter().map(|c| c.notifica_id.clone()).collect();
    if !ids.is_empty() {
        let testi: std::collections::HashMap<String, (String, String)> = righe(
            db,
            &format!(
                "SELECT id, titolo, testo FROM notifiche WHERE id IN ({})",
                super::segnaposti(ids.len())
            ),
            ids.into_iter().map(Into::into).collect(),
        )
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("", "id")?,
                (r.try_get("", "titolo")?, r.try_get("", "testo")?),
            ))
        })
        .collect::<Result<_, AppError>>()?;
        for c in &mut lotto {
            if let Some((o, t)) = testi.get(&c.notifica_id) {
                c.oggetto = o.clone();
                c.testo = t.clone();
            }
        }
    }
    Ok(lotto)
}

/// The outcome of a leased attempt; `false` when the lease was lost (another worker took over).
#[allow(clippy::too_many_arguments)]
pub async fn esito(
    db: &impl ConnectionTrait,
    id: &str,
    lease_ms: i64,
    stato: Stato,
    tentativi: i32,
    errore: Option<&str>,
    riferimento: Option<&str>,
    prossimo_ms: i64,
    inviata_ms: Option<i64>,
) -> Result<bool, AppError> {
    esegui(
        db,
        "UPDATE consegne SET state = ?, tentativi = ?, ultimo_errore = ?, riferimento = COALESCE(?, riferimento), \
         prossimo_ms = ?, inviata_ms = ?, claimed_until_ms = NULL WHERE id = ? AND claimed_until_ms = ?",
        vec![
            stato.as_str().into(),
            tentativi.into(),
            opt_str(errore),
            opt_str(riferimento),
            prossimo_ms.into(),
            Value::BigInt(inviata_ms),
            id.into(),
            lease_ms.into(),
        ],
    )
    .await
    .map(|n| n > 0)
}

#[derive(Clone, Debug, Default)]
pub struct Filtri {
    pub codice_fiscale: Option<String>,
    pub notifica_id: Option<String>,
    pub event_id: Option<String>,
    pub canale: Option<Canale>,
    pub stato: Option<Stato>,
    pub campagna: Option<String>,
    pub anno: Option<i32>,
    pub trimestre: Option<i32>,
}

/// Deliveries matching the filters, newest first, before the cursor (a `seq`).
pub async fn elenco(
    db: &impl ConnectionTrait,
    f: &Filtri,
    prima_di: Option<i64>,
    limite: u64,
) -> Result<Vec<(i64, Consegna)>, AppError> {
    let mut sql = format!("SELECT {COLONNE} FROM consegne WHERE 1 = 1");
    let mut valori: Vec<Value> = Vec::new();
    let mut e = |col: &str, v: Value| {
        sql.push_str(&format!(" AND {col} = ?"));
        valori.push(v);
    };
    if let Some(v) = &f.codice_fiscale {
        e("codice_fiscale", v.clone().into());
    }
    if let Some(v) = &f.notifica_id {
        e("notifica_id", v.clone().into());
    }
    if let Some(v) = &f.event_id {
        e("event_id", v.clone().into());
    }
    if let Some(v) = f.canale {
        e("channel", v.as_str().into());
    }
    if let Some(v) = f.stato {
        e("state", v.as_str().into());
    }
    if let Some(v) = &f.campagna {
        e("campagna", v.clone().into());
    }
    if let Some(v) = f.anno {
        e("anno", v.into());
    }
    if let Some(v) = f.trimestre {
        e("trimestre", v.into());
    }
    if let Some(c) = prima_di {
        sql.push_str(" AND seq < ?");
        valori.push(c.into());
    }
    let sql = format!("{sql} ORDER BY seq DESC LIMIT {limite}");
    righe(db, &sql, valori).await?.iter().map(consegna).collect()
}

/// Deliveries of a campaign quarter per channel and state (NOT-5).
pub async fn conteggi(
    db: &impl ConnectionTrait,
    campagna: &str,
    anno: i32,
    trimestre: i32,
) -> Result<Vec<(Canale, Stato, i64)>, AppError> {
    let rows = righe(
        db,
        "SELECT channel, state, COUNT(*) AS n FROM consegne WHERE campagna = ? AND anno = ? AND trimestre = ? \
         GROUP BY channel, state",
        vec![campagna.into(), anno.into(), trimestre.into()],
    )
    .await?;
    rows.iter()
        .filter_map(|r| {
            let c: String = r.try_get("", "channel").ok()?;
            let s: String = r.try_get("", "state").ok()?;
            let n: i64 = r.try_get("", "n").ok()?;
            Some(Ok((Canale::parse(&c)?, Stato::parse(&s)?, n)))
        })
        .collect()
}
