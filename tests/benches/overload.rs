//! Overload (issue 12, point 6): many more concurrent clients than the gateway can serve, with
//! and without its cap on calls in flight. Without it every call queues and every caller waits
//! (or times out); with it the excess is shed at once (RESOURCE_EXHAUSTED, GW_OVERLOADED) and the
//! calls admitted keep a short p99.
//!
//! Run: `cargo bench -p occasionali-e2e --bench overload` (release) or, quicker to build,
//! `cargo test -p occasionali-e2e --bench overload` (debug). Environment: `OVERLOAD_CLIENTS`
//! (default 1024), `OVERLOAD_SECONDS` per run (default 10), `OVERLOAD_LIMITS` (the caps to
//! compare, default "0,256,64"; 0 = no cap).
//!
//! Each client is its own caller (an operatore_dg token) in a closed loop over GetSoggetto of an
//! unregistered CF through the gateway: authentication, the proxy and a SQLite read in
//! anagrafica, answered NOT_FOUND, which counts as served. A shed client waits at least the
//! RetryInfo delay, as the contract asks, backing off further on repeated refusals; a call has
//! a 5 s deadline. The clients and the cluster share the
//! process's two tokio workers, as in the other benches here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use occasionali_e2e::Cluster;
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_runtime::config::AdmissionConfig;
use occasionali_runtime::identity::Profile;
use tokio::sync::Mutex;
use tonic::Code;
use tonic::transport::Channel;

const CONNECTIONS: usize = 16;
const DEADLINE: Duration = Duration::from_secs(5);
/// What a shed client waits first: the gateway's RetryInfo for GW_OVERLOADED (1 s). Then, as
/// gRPC retry policies do, it doubles on each refusal in a row, up to [`SHED_BACKOFF_MAX`], with
/// jitter (half to the full delay), so the shed clients do not return all at once.
const SHED_BACKOFF: Duration = Duration::from_secs(1);
const SHED_BACKOFF_MAX: Duration = Duration::from_secs(8);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Tally {
    served: AtomicU64,
    shed: AtomicU64,
    failed: AtomicU64,
}

async fn client(
    channel: Channel,
    token: String,
    until: Instant,
    tally: Arc<Tally>,
    latencies: Arc<Mutex<Vec<Duration>>>,
) {
    let mut c = AnagraficaServiceClient::new(channel);
    let header: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    let mut mine = Vec::new();
    let mut refused_in_a_row = 0u32;
    // xorshift, seeded by the token: jitter without a dependency.
    let mut seed = token.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) | 1;
    while Instant::now() < until {
        let mut r = tonic::Request::new(ana::GetSoggettoRequest {
            codice_fiscale: "RSSMRA85T10A562S".into(),
        });
        r.metadata_mut().insert("authorization", header.clone());
        r.set_timeout(DEADLINE);
        let t = Instant::now();
        match c.get_soggetto(r).await {
            Ok(_) => {
                tally.served.fetch_add(1, Ordering::Relaxed);
                mine.push(t.elapsed());
                refused_in_a_row = 0;
            }
            Err(s) if s.code() == Code::NotFound => {
                tally.served.fetch_add(1, Ordering::Relaxed);
                mine.push(t.elapsed());
                refused_in_a_row = 0;
            }
            Err(s) if s.code() == Code::ResourceExhausted => {
                tally.shed.fetch_add(1, Ordering::Relaxed);
                let full = SHED_BACKOFF
                    .saturating_mul(1 << refused_in_a_row.min(8))
                    .min(SHED_BACKOFF_MAX);
                refused_in_a_row += 1;
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let jitter = 0.5 + (seed % 1000) as f64 / 2000.0;
                tokio::time::sleep(full.mul_f64(jitter)).await;
            }
            Err(_) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    latencies.lock().await.extend(mine);
}

async fn run(max_in_flight: u32, clients: usize, seconds: u64) -> anyhow::Result<()> {
    let c = Cluster::start_with(None, |config| {
        config.gateway.admission = AdmissionConfig {
            // Only the cap in flight is measured here: no per-caller limit.
            caller_rate_per_second: Some(0),
            caller_burst: None,
            feed_rate_per_second: None,
            feed_burst: None,
            max_in_flight: Some(max_in_flight),
            max_callers: None,
        };
    })
    .await?;
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(
            Channel::from_shared(format!("http://{}", c.gateway))?
                .connect()
                .await?,
        );
    }
    let mut tokens = Vec::with_capacity(clients);
    for i in 0..clients {
        tokens.push(c.token(Profile::OperatoreDg, &format!("DGXOPR80A01H{i:04}"), None)?);
    }
    // Warm up: connections, the SQLite pool, the code paths.
    {
        let warm = Arc::new(Tally::default());
        let lat = Arc::new(Mutex::new(Vec::new()));
        let until = Instant::now() + Duration::from_secs(1);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                tokio::spawn(client(
                    channels[i % CONNECTIONS].clone(),
                    tokens[i].clone(),
                    until,
                    warm.clone(),
                    lat.clone(),
                ))
            })
            .collect();
        for t in tasks {
            t.await?;
        }
    }
    let tally = Arc::new(Tally::default());
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            tokio::spawn(client(
                channels[i % CONNECTIONS].clone(),
                token,
                until,
                tally.clone(),
                latencies.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut samples = std::mem::take(&mut *latencies.lock().await);
    samples.sort();
    let pct = |p: f64| {
        samples
            .get(((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let cap = if max_in_flight == 0 {
        "none".to_string()
    } else {
        max_in_flight.to_string()
    };
    // The machine's other work shows in every number here: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    println!(
        "{cap:>13} {:>9.0} {:>7.0} {:>9.0} {:>9.1} {:>9.1} {:>9.1}   {load:>5}",
        tally.served.load(Ordering::Relaxed) as f64 / elapsed,
        tally.shed.load(Ordering::Relaxed) as f64 / elapsed,
        tally.failed.load(Ordering::Relaxed) as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        samples.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
    );
    c.stop().await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let clients: usize = env_or("OVERLOAD_CLIENTS", 1024);
    let seconds: u64 = env_or("OVERLOAD_SECONDS", 10);
    let limits: Vec<u32> = std::env::var("OVERLOAD_LIMITS")
        .unwrap_or_else(|_| "0,256,64".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "overload: {clients} clients (own caller each, closed loop, {} s deadline) over {CONNECTIONS} connections, \
         {seconds} s per run, GetSoggetto through the gateway, SQLite",
        DEADLINE.as_secs()
    );
    println!(
        "max_in_flight  served/s  shed/s  failed/s   p50 ms    p99 ms    max ms    load   (latencies of served calls; load: 1-min load average after the run)"
    );
    for max_in_flight in limits {
        run(max_in_flight, clients, seconds).await?;
    }
    Ok(())
}
