//! CPO insertions through the gateway as the benchmarks drive them (`benches/prestazioni.rs`,
//! `benches/replicas.rs`): a population of companies and workers registered and funded once,
//! then clients inserting one slot after another, each slot a pair that never reaches an annual
//! limit (PRE-8), and the accepted ones timed.
//!
//! Insertions are spread over [`AZIENDE`] companies and [`PRESTATORI`] workers: each slot is one
//! 36.00 CPO of one pair, every pair once per year, the year moving on when every pair has had
//! one (10,000.00 per company, 5,000.00 per worker).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::identity::Profile;
use occasionali_runtime::testing::persone::FLUSSO;
use tonic::transport::Channel;

use crate::feed::versamento;
use crate::{Cluster, carico, with};

/// Companies (CPO utilizzatori), each funded with [`FONDI`].
pub const AZIENDE: usize = 32;
/// Workers; one slot per (company, worker) per year: 250 × 36.00 = 9,000.00 per company-year.
pub const PRESTATORI: usize = 250;
pub const FONDI: &str = "1000000.00";

/// Who inserts what in one slot.
pub struct Fixture {
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
        let inizio = Utc
            .with_ymd_and_hms(anno, 3, giorno, 8, 0, 0)
            .earliest()
            .unwrap_or_default();
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

/// Registers the companies and workers through the gateway at `url` and funds the companies'
/// wallets with the payments feed. The cluster's clock must be early in March 2026.
pub async fn setup(c: &Cluster, url: &str) -> anyhow::Result<Fixture> {
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

/// What a run of clients did.
#[derive(Default)]
pub struct Outcome {
    /// Of each accepted insertion.
    pub latencies: Vec<Duration>,
    pub errors: Vec<String>,
}

async fn client(channel: Channel, fixture: Arc<Fixture>, next: Arc<AtomicU64>, until: Instant) -> Outcome {
    let mut c = PrestazioniServiceClient::new(channel);
    let mut out = Outcome::default();
    while Instant::now() < until {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let (token, req) = fixture.slot(k);
        let request = match with(token, req) {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(format!("slot {k}: {e}"));
                continue;
            }
        };
        let t = Instant::now();
        let r = c.insert_prestazione(request).await;
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

/// `n` clients, each on its own connection to the gateway at `url`, inserting the next free
/// slots until `duration` has passed.
pub async fn scenario(
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

/// One step of a benchmark: `clients` clients for a while.
pub struct Passo {
    pub clients: usize,
    pub accepted: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// `n` clients inserting for `warm_up` (not measured), then for `duration`; the errors of both
/// are added to `errors`.
pub async fn passo(
    url: &str,
    fixture: &Arc<Fixture>,
    next: &Arc<AtomicU64>,
    n: usize,
    (warm_up, duration): (Duration, Duration),
    errors: &mut Vec<String>,
) -> anyhow::Result<Passo> {
    let (warm, _) = scenario(url, fixture, next, n, warm_up).await?;
    errors.extend(warm.errors);
    let (mut o, elapsed) = scenario(url, fixture, next, n, duration).await?;
    errors.extend(o.errors);
    anyhow::ensure!(!o.latencies.is_empty(), "{n} clients: nothing accepted");
    o.latencies.sort();
    let pct = |p: f64| o.latencies[((o.latencies.len() as f64 * p) as usize).min(o.latencies.len() - 1)];
    Ok(Passo {
        clients: n,
        accepted: o.latencies.len(),
        per_second: o.latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    })
}
