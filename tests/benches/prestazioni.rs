//! Throughput of CPO insertions through the gateway (PRE-1..PRE-10 checks, limits counters and
//! the wallet reservation saga): accepted prestazioni per second and p50/p99 latency at 1, 8 and
//! 64 concurrent clients, on SQLite and, with `OCCASIONALI_TEST_PG` set, on PostgreSQL.
//! Run: `cargo bench -p occasionali-e2e --bench prestazioni` (release).
//!
//! Insertions are spread over [`AZIENDE`] companies and [`PRESTATORI`] workers so that no annual
//! limit (PRE-8) is reached: each slot is one 36.00 CPO of one pair, every pair once per year, the
//! year moving on when every pair has had one (10,000.00 per company, 5,000.00 per worker).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use occasionali::carico::{self, versamento};
use occasionali_e2e::basi::Basi;
use occasionali_e2e::{Cluster, with};
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::identity::Profile;
use occasionali_runtime::testing::persone::FLUSSO;
use tonic::transport::Channel;

/// Companies (CPO utilizzatori), each funded with [`FONDI`].
const AZIENDE: usize = 32;
/// Workers; one slot per (company, worker) per year: 250 × 36.00 = 9,000.00 per company-year.
const PRESTATORI: usize = 250;
const FONDI: &str = "1000000.00";
const CLIENTS: [usize; 3] = [1, 8, 64];
const WARM_UP: Duration = Duration::from_secs(1);
const DURATION: Duration = Duration::from_secs(3);

/// Who inserts what in one slot.
struct Fixture {
    aziende: Vec<(String, String)>,
    prestatori: Vec<String>,
}

impl Fixture {
    /// Slot `k`: company k % AZIENDE, worker (k / AZIENDE) % PRESTATORI, in year 2026 + k / (AZIENDE × PRESTATORI),
    /// from 09:00 to 13:00 Rome on a day of March a few days after the clock, 36.00.
    fn slot(&self, k: u64) -> (&str, pb::InsertPrestazioneRequest) {
        let k = k as usize;
        let per_anno = AZIENDE * PRESTATORI;
        let anno = 2026 + (k / per_anno) as i32;
        let j = k % per_anno;
        let (piva, token) = &self.aziende[j % AZIENDE];
        let p = j / AZIENDE;
        let giorno = 5 + (p % 20) as u32;
        let inizio = Utc.with_ymd_and_hms(anno, 3, giorno, 8, 0, 0).unwrap();
        let d = carico::cpo(piva, &self.prestatori[p], inizio);
        (
            token,
            pb::InsertPrestazioneRequest {
                request_id: format!("bench-{k}"),
                prestazione: Some(d),
            },
        )
    }
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

async fn client(channel: Channel, fixture: Arc<Fixture>, next: Arc<AtomicU64>, until: Instant) -> Outcome {
    let mut c = PrestazioniServiceClient::new(channel);
    let mut out = Outcome::default();
    while Instant::now() < until {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let (token, req) = fixture.slot(k);
        let t = Instant::now();
        let r = c.insert_prestazione(with(token, req).unwrap()).await;
        let elapsed = t.elapsed();
        match r {
            Ok(r) => {
                let p = r.into_inner().prestazione.unwrap_or_default();
                if p.stato == pb::StatoPrestazione::Accepted as i32 {
                    out.latencies.push(elapsed);
                } else {
                    out.errors
                        .push(format!("slot {k}: stato {} {}", p.stato, p.motivo_rifiuto));
                }
            }
            Err(s) => out
                .errors
                .push(format!("slot {k}: {:?} {}", s.code(), s.message())),
        }
    }
    out
}

/// `n` clients, each on its own connection, inserting until `duration` has passed.
async fn scenario(
    url: &str,
    fixture: &Arc<Fixture>,
    next: &Arc<AtomicU64>,
    n: usize,
    duration: Duration,
) -> anyhow::Result<(Outcome, Duration)> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        channels.push(Channel::from_shared(url.to_string())?.connect().await?);
    }
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<_> = channels
        .into_iter()
        .map(|ch| tokio::spawn(client(ch, fixture.clone(), next.clone(), until)))
        .collect();
    let mut all = Outcome::default();
    for t in tasks {
        let o = t.await?;
        all.latencies.extend(o.latencies);
        all.errors.extend(o.errors);
    }
    Ok((all, started.elapsed()))
}

struct Row {
    engine: &'static str,
    clients: usize,
    accepted: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn setup(c: &Cluster, url: &str) -> anyhow::Result<Fixture> {
    let channel = Channel::from_shared(url.to_string())?.connect().await?;
    let mut anagrafica = AnagraficaServiceClient::new(channel.clone());
    let mut aziende = Vec::with_capacity(AZIENDE);
    for i in 0..AZIENDE {
        let piva = carico::partita_iva(1_000_000 + i);
        let token = c.token(Profile::Azienda, &piva, None)?;
        let legale = carico::persona(10_000 + i).codice_fiscale;
        anagrafica
            .register_utilizzatore(with(
                &token,
                carico::azienda(&piva, format!("Trattoria {i} srl"), &legale),
            )?)
            .await?;
        aziende.push((piva, token));
    }
    let mut prestatori = Vec::with_capacity(PRESTATORI);
    for i in 0..PRESTATORI {
        let p = carico::persona(i);
        let token = c.token(Profile::Prestatore, &p.codice_fiscale, None)?;
        let cf = p.codice_fiscale.clone();
        anagrafica
            .register_prestatore(with(&token, carico::prestatore(p))?)
            .await?;
        prestatori.push(cf);
    }
    // The payments feed funds the wallets (POR-2: never a person).
    let flusso = c.token(Profile::FlussoPagamenti, FLUSSO, None)?;
    let records: Vec<_> = aziende
        .iter()
        .enumerate()
        .map(|(i, (piva, _))| por::ImportF24Request {
            record: Some(versamento(
                format!("F24-BENCH-{i}"),
                piva,
                FONDI,
                2026,
                "2026-03-01",
            )),
        })
        .collect();
    let r = PortafoglioServiceClient::new(channel)
        .import_f24(with(&flusso, tonic::codegen::tokio_stream::iter(records))?)
        .await?
        .into_inner();
    anyhow::ensure!(
        r.numero_accreditati == AZIENDE as i64,
        "F24 not all credited: {r:?}"
    );
    Ok(Fixture { aziende, prestatori })
}

async fn run(engine: &'static str, pg: Option<&str>, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    // PostgreSQL: one fresh database per context, dropped afterwards.
    let basi = match pg {
        Some(server) => Some(Basi::crea(server, "occ_bench").await?),
        None => None,
    };
    let result = measure(engine, basi.as_ref(), rows).await;
    if let Some(b) = basi {
        b.elimina().await?;
    }
    result
}

async fn measure(engine: &'static str, basi: Option<&Basi>, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let clock = chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:00+01:00")?.to_utc();
    let c = Cluster::start_with(Some(clock), |config| {
        if let Some(b) = basi {
            b.configura(config);
        }
    })
    .await?;
    let url = format!("http://{}", c.gateway);
    c.wait_all_serving().await?;
    let t = Instant::now();
    let fixture = Arc::new(setup(&c, &url).await?);
    println!(
        "{engine}: {AZIENDE} companies, {PRESTATORI} prestatori registered and funded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let next = Arc::new(AtomicU64::new(0));
    let mut errors = Vec::new();
    for n in CLIENTS {
        let (warm, _) = scenario(&url, &fixture, &next, n, WARM_UP).await?;
        errors.extend(warm.errors);
        let (mut o, elapsed) = scenario(&url, &fixture, &next, n, DURATION).await?;
        errors.extend(o.errors);
        anyhow::ensure!(!o.latencies.is_empty(), "{engine}, {n} clients: nothing accepted");
        o.latencies.sort();
        let pct = |p: f64| o.latencies[((o.latencies.len() as f64 * p) as usize).min(o.latencies.len() - 1)];
        rows.push(Row {
            engine,
            clients: n,
            accepted: o.latencies.len(),
            per_second: o.latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: pct(0.50),
            p99: pct(0.99),
        });
    }
    c.stop().await?;
    if !errors.is_empty() {
        for e in errors.iter().take(20) {
            eprintln!("{e}");
        }
        anyhow::bail!("{engine}: {} unexpected errors", errors.len());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "CPO InsertPrestazione through the gateway, loopback, warm-up {WARM_UP:?}, then {DURATION:?} per step"
    );
    let mut rows = Vec::new();
    run("sqlite", None, &mut rows).await?;
    if let Some(server) = occasionali_runtime::testing::pg_server_url() {
        run("postgres", Some(&server), &mut rows).await?;
    }
    println!();
    println!(
        "{:<10} {:>8} {:>10} {:>12} {:>10} {:>10}",
        "engine", "clients", "accepted", "accepted/s", "p50 ms", "p99 ms"
    );
    for r in &rows {
        println!(
            "{:<10} {:>8} {:>10} {:>12.1} {:>10.2} {:>10.2}",
            r.engine,
            r.clients,
            r.accepted,
            r.per_second,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
