//! Throughput of CPO insertions through the gateway (PRE-1..PRE-10 checks, limits counters and
//! the wallet reservation saga): accepted prestazioni per second and p50/p99 latency at 1, 8 and
//! 64 concurrent clients, on SQLite and, with `OCCASIONALI_TEST_PG` set, on PostgreSQL.
//! Run: `cargo bench -p occasionali-e2e --bench prestazioni` (release).
//!
//! The population, the slots and the clients are `occasionali_e2e::inserimenti`'s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use occasionali_e2e::Cluster;
use occasionali_e2e::basi::Basi;
use occasionali_e2e::inserimenti::{self, AZIENDE, PRESTATORI, Passo};

const CLIENTS: [usize; 3] = [1, 8, 64];
const WARM_UP: Duration = Duration::from_secs(1);
const DURATION: Duration = Duration::from_secs(3);

struct Row {
    engine: &'static str,
    passo: Passo,
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
    let fixture = Arc::new(inserimenti::setup(&c, &url).await?);
    println!(
        "{engine}: {AZIENDE} companies, {PRESTATORI} prestatori registered and funded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let next = Arc::new(AtomicU64::new(0));
    let mut errors = Vec::new();
    for n in CLIENTS {
        let passo = inserimenti::passo(&url, &fixture, &next, n, (WARM_UP, DURATION), &mut errors)
            .await
            .map_err(|e| e.context(engine))?;
        rows.push(Row { engine, passo });
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
        let p = &r.passo;
        println!(
            "{:<10} {:>8} {:>10} {:>12.1} {:>10.2} {:>10.2}",
            r.engine,
            p.clients,
            p.accepted,
            p.per_second,
            p.p50.as_secs_f64() * 1e3,
            p.p99.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
