//! Throughput of CPO insertions through the gateway (PRE-1..PRE-10 checks, limits counters and
//! the wallet reservation saga): accepted prestazioni per second and p50/p99 latency at 1, 8 and
//! 64 concurrent clients, on SQLite and, with `OCCASIONALI_TEST_PG` set, on PostgreSQL.
//! Run: `cargo bench -p occasionali-e2e --bench prestazioni` (release); `OCCASIONALI_BENCH_SECONDS`
//! lengthens each step (default 3).
//!
//! The load is `occasionali bench`'s engine (`occasionali::bench`) with insertions only, against
//! the in-process cluster: [`AZIENDE`] funded companies and their 250 workers, every pair once a
//! year so that no annual limit (PRE-8) is reached, each client on its own connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use anyhow::Context as _;
use occasionali::bench::{self, Mix, Operation};
use occasionali_e2e::Cluster;
use occasionali_e2e::basi::Basi;

/// Companies (CPO utilizzatori), with the engine's 250 workers.
const AZIENDE: usize = 32;
const CLIENTS: [usize; 3] = [1, 8, 64];
const WARM_UP: Duration = Duration::from_secs(1);
/// Seconds per step unless `OCCASIONALI_BENCH_SECONDS` says otherwise (longer steps, less spread).
const DURATION_SECONDS: u64 = 3;

fn duration() -> Duration {
    let seconds = std::env::var("OCCASIONALI_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DURATION_SECONDS);
    Duration::from_secs(seconds.max(1))
}

struct Row {
    engine: &'static str,
    clients: usize,
    accepted: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
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
    c.wait_all_serving().await?;
    let options = bench::Options {
        gateway: format!("http://{}", c.gateway),
        clients: CLIENTS.to_vec(),
        duration: duration(),
        warm_up: WARM_UP,
        mix: Mix::only(Operation::Insert),
        population: AZIENDE,
        seed: 1,
        run: 0,
    };
    let report = bench::run(&options, &c.client_tokens()?, &|_| {}).await;
    c.stop().await?;
    let report = report?;
    println!(
        "{engine}: {} companies, {} prestatori registered and funded in {:.1} s",
        report.companies,
        report.workers,
        report.setup.as_secs_f64()
    );
    let mut unexpected = 0;
    for step in &report.steps {
        let n = step.clients;
        let m = step
            .operation(Operation::Insert)
            .context("no insertions measured")?;
        unexpected += (m.calls - m.ok) + (step.warm_up.calls - step.warm_up.ok);
        anyhow::ensure!(m.ok > 0, "{engine}, {n} clients: nothing accepted");
        rows.push(Row {
            engine,
            clients: n,
            accepted: m.ok,
            per_second: step.per_second(m.ok),
            p50: m.percentile(0.50).unwrap_or_default(),
            p99: m.percentile(0.99).unwrap_or_default(),
        });
    }
    if unexpected > 0 {
        for e in report.samples().iter().take(20) {
            eprintln!("{e}");
        }
        anyhow::bail!("{engine}: {unexpected} unexpected errors");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!(
        "CPO InsertPrestazione through the gateway, loopback, warm-up {WARM_UP:?}, then {:?} per step",
        duration()
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
