//! What must hold once the platform has recovered, read straight from each context's
//! PostgreSQL database (tables of services/*/src/store/migrations.rs): acknowledged writes,
//! the saga's states, reservations against prestazioni, limit counters, the ledger, the outbox.

use std::collections::{BTreeMap, HashMap, HashSet};

use occasionali_runtime::context::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, Statement};

use crate::load::Fixture;

async fn rows(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<QueryResult>> {
    Ok(db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?)
}

/// States in which a prestazione is due: its cost reserved, not yet paid.
const DOVUTE: [&str; 2] = ["ACCEPTED", "CONTESTED"];
/// States whose limit shares are taken (prestazioni's `Stato::conta`).
const CONTANO: [&str; 4] = ["PENDING", "ACCEPTED", "CONTESTED", "PAID"];

/// The states a prestazione may legally be in after a call acknowledged `ack`.
fn successori(ack: &str) -> &'static [&'static str] {
    match ack {
        "ACCEPTED" => &["ACCEPTED", "REVOKED", "CONTESTED", "PAID"],
        "REVOKED" => &["REVOKED", "CONTESTED", "PAID"],
        "CONTESTED" => &["CONTESTED", "PAID"],
        "REJECTED" => &["REJECTED"],
        "PAID" => &["PAID"],
        _ => &[],
    }
}

struct Prestazione {
    utilizzatore_cf: String,
    tipo: String,
    stato: String,
    totale: i64,
    quote: Vec<(String, i64)>,
    rilascio_pendente: bool,
}

struct Riserva {
    utilizzatore_cf: String,
    tipo: String,
    stato: String,
    totale: i64,
    debito: i64,
    /// Released at least once (a RESERVED one was then reserved again by a contestazione).
    rilasciata: bool,
}

struct Outbox {
    total: i64,
    undelivered: i64,
    /// None while the column does not exist.
    failed: Option<i64>,
}

/// One reading of every database.
pub struct Snapshot {
    prestazioni: BTreeMap<String, Prestazione>,
    contatori: HashMap<String, i64>,
    riserve: BTreeMap<String, Riserva>,
    /// Account id → (type, cached balance).
    conti: BTreeMap<String, (String, i64)>,
    /// Account id → credits − debits over the journal.
    da_movimenti: HashMap<String, i64>,
    movimenti: i64,
    importi: i64,
    /// (account, riferimento) → net change of a wallet's RISERVATO account by that reference.
    riservato_per_rif: HashMap<(String, String), i64>,
    outbox: BTreeMap<Context, Outbox>,
}

pub async fn connect(
    urls: &BTreeMap<Context, String>,
) -> anyhow::Result<BTreeMap<Context, DatabaseConnection>> {
    let mut out = BTreeMap::new();
    for (ctx, url) in urls {
        out.insert(*ctx, occasionali_runtime::db::connect(url, 2).await?);
    }
    Ok(out)
}

fn int(r: &QueryResult, col: &str) -> anyhow::Result<i64> {
    Ok(r.try_get::<i64>("", col)?)
}

fn text(r: &QueryResult, col: &str) -> anyhow::Result<String> {
    Ok(r.try_get::<String>("", col)?)
}

pub async fn snapshot(dbs: &BTreeMap<Context, DatabaseConnection>) -> anyhow::Result<Snapshot> {
    let pre = &dbs[&Context::Prestazioni];
    let por = &dbs[&Context::Portafoglio];
    let mut prestazioni = BTreeMap::new();
    for r in rows(
        pre,
        "SELECT id, utilizzatore_cf, tipo, stato, totale, quote, rilascio_pendente FROM prestazioni",
    )
    .await?
    {
        let quote: serde_json::Value = serde_json::from_str(&text(&r, "quote")?)?;
        let quote = quote
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| {
                (
                    q["id"].as_str().unwrap_or_default().to_string(),
                    q["valore"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        prestazioni.insert(
            text(&r, "id")?,
            Prestazione {
                utilizzatore_cf: text(&r, "utilizzatore_cf")?,
                tipo: text(&r, "tipo")?,
                stato: text(&r, "stato")?,
                totale: int(&r, "totale")?,
                quote,
                rilascio_pendente: r.try_get::<i32>("", "rilascio_pendente")? != 0,
            },
        );
    }
    let mut contatori = HashMap::new();
    for r in rows(pre, "SELECT id, usato FROM contatori").await? {
        contatori.insert(text(&r, "id")?, int(&r, "usato")?);
    }
    let mut riserve = BTreeMap::new();
    for r in rows(
        por,
        "SELECT prestazione_id, utilizzatore_cf, tipo_portafoglio, stato, totale, debito, \
         (rilasciata_il IS NOT NULL) AS rilasciata FROM riserve",
    )
    .await?
    {
        riserve.insert(
            text(&r, "prestazione_id")?,
            Riserva {
                utilizzatore_cf: text(&r, "utilizzatore_cf")?,
                tipo: text(&r, "tipo_portafoglio")?,
                stato: text(&r, "stato")?,
                totale: int(&r, "totale")?,
                debito: int(&r, "debito")?,
                rilasciata: r.try_get::<bool>("", "rilasciata")?,
            },
        );
    }
    let mut conti = BTreeMap::new();
    for r in rows(por, "SELECT id, tipo, saldo FROM conti").await? {
        conti.insert(text(&r, "id")?, (text(&r, "tipo")?, int(&r, "saldo")?));
    }
    let mut da_movimenti: HashMap<String, i64> = HashMap::new();
    for (col, segno) in [("conto_accredito", 1), ("conto_addebito", -1)] {
        for r in rows(
            por,
            &format!("SELECT {col} AS conto, SUM(importo)::BIGINT AS totale FROM movimenti GROUP BY {col}"),
        )
        .await?
        {
            *da_movimenti.entry(text(&r, "conto")?).or_default() += segno * int(&r, "totale")?;
        }
    }
    let (movimenti, importi) = match rows(
        por,
        "SELECT COUNT(*)::BIGINT AS n, COALESCE(SUM(importo), 0)::BIGINT AS s FROM movimenti",
    )
    .await?
    .first()
    {
        Some(r) => (int(r, "n")?, int(r, "s")?),
        None => (0, 0),
    };
    let mut riservato_per_rif: HashMap<(String, String), i64> = HashMap::new();
    for (col, segno) in [("conto_accredito", 1), ("conto_addebito", -1)] {
        for r in rows(
            por,
            &format!(
                "SELECT {col} AS conto, riferimento, SUM(importo)::BIGINT AS totale FROM movimenti \
                 WHERE {col} LIKE 'W:%:RISERVATO' GROUP BY {col}, riferimento"
            ),
        )
        .await?
        {
            *riservato_per_rif
                .entry((text(&r, "conto")?, text(&r, "riferimento")?))
                .or_default() += segno * int(&r, "totale")?;
        }
    }
    let mut outbox = BTreeMap::new();
    for (ctx, db) in dbs {
        let has_failed = !rows(
            db,
            "SELECT 1 AS x FROM information_schema.columns WHERE table_name = 'outbox' AND column_name = 'failed_at_ms'",
        )
        .await?
        .is_empty();
        let failed_col = if has_failed {
            "COUNT(failed_at_ms)::BIGINT"
        } else {
            "0::BIGINT"
        };
        let r = rows(
            db,
            &format!(
                "SELECT COUNT(*)::BIGINT AS total, (COUNT(*) - COUNT(delivered_at_ms))::BIGINT AS undelivered, \
                 {failed_col} AS failed FROM outbox"
            ),
        )
        .await?;
        let r = r.first().ok_or_else(|| anyhow::anyhow!("no outbox count"))?;
        outbox.insert(
            *ctx,
            Outbox {
                total: int(r, "total")?,
                undelivered: int(r, "undelivered")?,
                failed: has_failed.then(|| int(r, "failed")).transpose()?,
            },
        );
    }
    Ok(Snapshot {
        prestazioni,
        contatori,
        riserve,
        conti,
        da_movimenti,
        movimenti,
        importi,
        riservato_per_rif,
        outbox,
    })
}

/// One property, with how many cases break it and a few of them.
pub struct Finding {
    pub name: &'static str,
    /// Money and state consistency (the platform must converge to it), or delivery.
    pub kind: Kind,
    pub broken: usize,
    pub examples: Vec<String>,
    pub detail: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Consistency,
    Delivery,
}

impl Finding {
    pub fn new(name: &'static str, kind: Kind) -> Finding {
        Finding {
            name,
            kind,
            broken: 0,
            examples: Vec::new(),
            detail: String::new(),
        }
    }

    pub fn bad(&mut self, example: impl FnOnce() -> String) {
        self.broken += 1;
        if self.examples.len() < 8 {
            self.examples.push(example());
        }
    }

    pub fn ok(&self) -> bool {
        self.broken == 0
    }
}

fn wallet(tipo: &str, cf: &str, conto: &str) -> String {
    format!("W:{tipo}:{cf}:{conto}")
}

/// Every property on one snapshot. `acks`: prestazione id → acknowledged state.
pub fn evaluate(s: &Snapshot, acks: &HashMap<String, String>, fx: &Fixture) -> Vec<Finding> {
    let mut out = Vec::new();

    // 1. Every acknowledged write is there, in its state or a later legal one.
    let mut f = Finding::new("acknowledged writes durable", Kind::Consistency);
    let mut lost = 0;
    for (id, ack) in acks {
        match s.prestazioni.get(id) {
            None => {
                lost += 1;
                f.bad(|| format!("{id}: acknowledged {ack}, missing"));
            }
            Some(p) if !successori(ack).contains(&p.stato.as_str()) => {
                f.bad(|| format!("{id}: acknowledged {ack}, now {}", p.stato))
            }
            Some(_) => {}
        }
    }
    f.detail = format!(
        "{} acknowledged prestazioni: {lost} missing, {} in an illegal state",
        acks.len(),
        f.broken - lost
    );
    out.push(f);

    // 2. No saga left half-way.
    let mut f = Finding::new("no prestazione PENDING", Kind::Consistency);
    let mut con_riserva = 0;
    for (id, p) in &s.prestazioni {
        if p.stato == "PENDING" {
            let r = s.riserve.get(id).map(|r| r.stato.as_str());
            if r == Some("RESERVED") {
                con_riserva += 1;
            }
            f.bad(|| format!("{id} PENDING, reservation {}", r.unwrap_or("none")));
        }
    }
    f.detail = format!(
        "{} PENDING of {} prestazioni ({con_riserva} with a live reservation)",
        f.broken,
        s.prestazioni.len()
    );
    out.push(f);

    // 3. Every due prestazione has exactly one live reservation of its cost.
    let mut f = Finding::new(
        "each due prestazione has one live reservation of its cost",
        Kind::Consistency,
    );
    let mut dovute = 0;
    for (id, p) in &s.prestazioni {
        if !DOVUTE.contains(&p.stato.as_str()) {
            continue;
        }
        dovute += 1;
        match s.riserve.get(id) {
            None => f.bad(|| format!("{id} {}: no reservation", p.stato)),
            Some(r) if r.stato != "RESERVED" => {
                f.bad(|| format!("{id} {}: reservation {}", p.stato, r.stato))
            }
            Some(r) if r.totale != p.totale || r.utilizzatore_cf != p.utilizzatore_cf || r.tipo != p.tipo => {
                f.bad(|| {
                    format!(
                        "{id} {}: reservation of {} on {}/{} for a cost of {} on {}/{}",
                        p.stato, r.totale, r.tipo, r.utilizzatore_cf, p.totale, p.tipo, p.utilizzatore_cf
                    )
                })
            }
            Some(_) => {}
        }
    }
    f.detail = format!("{dovute} due prestazioni, {} without their reservation", f.broken);
    out.push(f);

    // 4. No live reservation for what is not due (orphans): revoked, rejected, unknown.
    let mut f = Finding::new("no live reservation without a due prestazione", Kind::Consistency);
    let mut per_stato: BTreeMap<String, usize> = BTreeMap::new();
    for (id, r) in &s.riserve {
        if r.stato != "RESERVED" {
            continue;
        }
        let stato = s.prestazioni.get(id).map_or("MISSING", |p| p.stato.as_str());
        if DOVUTE.contains(&stato) || stato == "PENDING" {
            continue; // PENDING is reported by its own check
        }
        // Never released: the release a revoca owes was not done. Released and reserved
        // again: a contestazione reinstated it but its prestazione never became CONTESTED.
        let come = if r.rilasciata {
            "released then reserved again"
        } else {
            "never released"
        };
        *per_stato.entry(format!("{stato}, {come}")).or_default() += 1;
        f.bad(|| {
            format!(
                "{id}: reservation of {} live ({come}), prestazione {stato}",
                r.totale
            )
        });
    }
    f.detail = format!(
        "{} orphan reservations {per_stato:?} (of {} reservations)",
        f.broken,
        s.riserve.len()
    );
    out.push(f);

    // 5. Per wallet: the reserved balance is the cost of its due prestazioni, and portafoglio's
    //    own books agree (reserved balance = its live reservations).
    let mut f = Finding::new(
        "wallet reserved balance = cost of its due prestazioni",
        Kind::Consistency,
    );
    let mut g = Finding::new(
        "wallet reserved balance = its live reservations (portafoglio's books)",
        Kind::Consistency,
    );
    let mut h = Finding::new(
        "wallet money conserved (available + reserved - debt = deposits)",
        Kind::Consistency,
    );
    for u in &fx.utilizzatori {
        let tipo = u.tipo.code();
        let saldo = |conto: &str| s.conti.get(&wallet(tipo, &u.cf, conto)).map_or(0, |c| c.1);
        let riservato = saldo("RISERVATO");
        let dovuto: i64 = s
            .prestazioni
            .values()
            .filter(|p| p.utilizzatore_cf == u.cf && p.tipo == tipo && DOVUTE.contains(&p.stato.as_str()))
            .map(|p| p.totale)
            .sum();
        let vive: i64 = s
            .riserve
            .values()
            .filter(|r| r.utilizzatore_cf == u.cf && r.tipo == tipo && r.stato == "RESERVED")
            .map(|r| r.totale)
            .sum();
        let disponibile = saldo("DISPONIBILE");
        let debito = saldo("DEBITO");
        let trattenuto = saldo("RIMBORSO_RICHIESTO");
        if riservato != dovuto {
            f.bad(|| {
                format!(
                    "{tipo}/{}: reserved {riservato}, due {dovuto} (diff {})",
                    u.cf,
                    riservato - dovuto
                )
            });
        }
        if riservato != vive {
            g.bad(|| format!("{tipo}/{}: reserved {riservato}, live reservations {vive}", u.cf));
        }
        let totale = disponibile + riservato + debito + trattenuto;
        if totale != u.fondi {
            h.bad(|| {
                format!(
                    "{tipo}/{}: available {disponibile} + reserved {riservato} + debt {debito} = {totale}, deposited {}",
                    u.cf, u.fondi
                )
            });
        }
    }
    f.detail = format!("{} of {} wallets differ", f.broken, fx.utilizzatori.len());
    g.detail = format!("{} of {} wallets differ", g.broken, fx.utilizzatori.len());
    h.detail = format!("{} of {} wallets differ", h.broken, fx.utilizzatori.len());
    out.push(f);
    out.push(g);
    out.push(h);

    // 6. Limit counters = the quotas of the prestazioni that count (PRE-8, PRE-9).
    let mut f = Finding::new(
        "limit counters = quotas of their counting prestazioni",
        Kind::Consistency,
    );
    let mut attesi: HashMap<&str, i64> = HashMap::new();
    for p in s.prestazioni.values() {
        if CONTANO.contains(&p.stato.as_str()) {
            for (id, v) in &p.quote {
                *attesi.entry(id.as_str()).or_default() += v;
            }
        }
    }
    let ids: HashSet<&str> = attesi
        .keys()
        .copied()
        .chain(s.contatori.keys().map(String::as_str))
        .collect();
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    for id in &ids {
        let usato = s.contatori.get(*id).copied().unwrap_or(0);
        let atteso = attesi.get(id).copied().unwrap_or(0);
        if usato != atteso {
            f.bad(|| {
                format!(
                    "{id}: counter {usato}, prestazioni {atteso} (diff {})",
                    usato - atteso
                )
            });
        }
    }
    f.detail = format!("{} of {} counters differ", f.broken, ids.len());
    out.push(f);

    // 7. The ledger: balanced, balances = journal, each reservation's movements net to its state.
    let mut f = Finding::new("ledger balanced and consistent", Kind::Consistency);
    let somma: i64 = s.conti.values().map(|c| c.1).sum();
    if somma != 0 {
        f.bad(|| format!("sum of every account balance is {somma}, not 0"));
    }
    let somma_mov: i64 = s.da_movimenti.values().sum();
    if somma_mov != 0 {
        f.bad(|| format!("journal debits and credits differ by {somma_mov}"));
    }
    for (id, (tipo, saldo)) in &s.conti {
        let d = s.da_movimenti.get(id).copied().unwrap_or(0);
        if d != *saldo {
            f.bad(|| format!("{id} ({tipo}): balance {saldo}, journal {d}"));
        }
    }
    for id in s.da_movimenti.keys() {
        if !s.conti.contains_key(id) {
            f.bad(|| format!("movements on unknown account {id}"));
        }
    }
    for (id, r) in &s.riserve {
        let conto = wallet(&r.tipo, &r.utilizzatore_cf, "RISERVATO");
        let netto = s
            .riservato_per_rif
            .get(&(conto, id.clone()))
            .copied()
            .unwrap_or(0);
        let atteso = if r.stato == "RESERVED" { r.totale } else { 0 };
        if netto != atteso {
            f.bad(|| {
                format!(
                    "{id}: reservation {} of {}, its movements on the reserved account net {netto}",
                    r.stato, r.totale
                )
            });
        }
    }
    f.detail = format!(
        "{} movements, {} moved; {} accounts",
        s.movimenti,
        s.importi,
        s.conti.len()
    );
    out.push(f);

    // 8. Every outbox row delivered, none failed for good.
    let mut f = Finding::new("outbox rows all delivered (none failed)", Kind::Delivery);
    let mut righe = Vec::new();
    for (ctx, o) in &s.outbox {
        if o.undelivered > 0 {
            f.bad(|| {
                format!(
                    "{}: {} of {} rows undelivered",
                    ctx.name(),
                    o.undelivered,
                    o.total
                )
            });
        }
        if let Some(n) = o.failed
            && n > 0
        {
            f.bad(|| format!("{}: {n} rows failed", ctx.name()));
        }
        righe.push(format!(
            "{} {}/{}{}",
            ctx.name(),
            o.total - o.undelivered,
            o.total,
            match o.failed {
                Some(n) => format!(" ({n} failed)"),
                None => String::new(),
            }
        ));
    }
    f.detail = format!("delivered/total: {}", righe.join(", "));
    out.push(f);
    out
}

/// Counts for the summary.
pub fn counts(s: &Snapshot) -> String {
    let mut per_stato: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_tipo: BTreeMap<&str, usize> = BTreeMap::new();
    for p in s.prestazioni.values() {
        *per_stato.entry(p.stato.as_str()).or_default() += 1;
        *per_tipo.entry(p.tipo.as_str()).or_default() += 1;
    }
    let mut riserve: BTreeMap<&str, usize> = BTreeMap::new();
    for r in s.riserve.values() {
        *riserve.entry(r.stato.as_str()).or_default() += 1;
    }
    let debiti = s.riserve.values().filter(|r| r.debito > 0).count();
    let rilasci = s.prestazioni.values().filter(|p| p.rilascio_pendente).count();
    format!(
        "prestazioni {} {per_stato:?} {per_tipo:?}; reservations {} {riserve:?} ({debiti} with debt); \
         releases still owed (rilascio_pendente) {rilasci}; counters {}; movements {}",
        s.prestazioni.len(),
        s.riserve.len(),
        s.contatori.len(),
        s.movimenti
    )
}

/// One line per wallet for the summary (cents).
pub fn wallets(s: &Snapshot, fx: &Fixture) -> Vec<String> {
    fx.utilizzatori
        .iter()
        .map(|u| {
            let tipo = u.tipo.code();
            let saldo = |conto: &str| s.conti.get(&wallet(tipo, &u.cf, conto)).map_or(0, |c| c.1);
            let dovuto: i64 = s
                .prestazioni
                .values()
                .filter(|p| p.utilizzatore_cf == u.cf && p.tipo == tipo && DOVUTE.contains(&p.stato.as_str()))
                .map(|p| p.totale)
                .sum();
            format!(
                "{tipo}/{}: deposited {}, available {}, reserved {}, debt {}, due {dovuto}",
                u.cf,
                u.fondi,
                saldo("DISPONIBILE"),
                saldo("RISERVATO"),
                saldo("DEBITO")
            )
        })
        .collect()
}
