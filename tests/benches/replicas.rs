//! Scale-out (issue 11): CPO insertions through one gateway to prestazioni with one replica,
//! then with two replicas sharing one PostgreSQL database; per step the throughput, the latency
//! and how many PrestazioniService calls each replica served (counted from the replicas' own
//! server spans). The gateway balances over the addresses the context's name resolves to
//! (`occasionali_runtime::client::balanced_channel`); without it the second replica would get
//! nothing. PostgreSQL only (`OCCASIONALI_TEST_PG`): two processes on one SQLite file is not a
//! deployment.
//! Run: `OCCASIONALI_TEST_PG=1 cargo bench -p occasionali-e2e --bench replicas` (release).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use occasionali::bench::{self, Mix, Operation};
use occasionali_e2e::Cluster;
use occasionali_e2e::basi::Basi;
use occasionali_e2e::repliche::Conteggi;
use occasionali_runtime::context::Context;

/// Companies (CPO utilizzatori), with the engine's 250 workers.
const AZIENDE: usize = 32;
const CLIENTS: [usize; 2] = [8, 64];
const WARM_UP: Duration = Duration::from_secs(1);
const DURATION: Duration = Duration::from_secs(5);

struct Row {
    replicas: usize,
    clients: usize,
    accepted: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// PrestazioniService calls each replica served during the step (warm-up included).
    served: Vec<(SocketAddr, u64)>,
}

async fn run(server: &str, due: bool, conteggi: &Conteggi, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let basi = Basi::crea(server, "occ_bench").await?;
    let result = measure(&basi, due, conteggi, rows).await;
    basi.elimina().await?;
    result
}

async fn measure(basi: &Basi, due: bool, conteggi: &Conteggi, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let clock = chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:00+01:00")?.to_utc();
    let configura = |config: &mut occasionali_runtime::Config| basi.configura(config);
    let c = match due {
        true => Cluster::start_with_two_prestazioni(Some(clock), configura).await?,
        false => Cluster::start_with(Some(clock), configura).await?,
    };
    let replicas = match due {
        true => c.prestazioni.clone(),
        false => vec![c.backends[&Context::Prestazioni]],
    };
    c.wait_all_serving().await?;
    let service = Context::Prestazioni.service_name();
    let count = || -> Vec<u64> { replicas.iter().map(|a| conteggi.di(*a, service)).collect() };
    // The engine tells when the population is ready and when each step ends: the replicas'
    // counters are read at each of those moments.
    let letture = Mutex::new(Vec::new());
    let options = bench::Options {
        gateway: format!("http://{}", c.gateway),
        clients: CLIENTS.to_vec(),
        duration: DURATION,
        warm_up: WARM_UP,
        mix: Mix::only(Operation::Insert),
        population: AZIENDE,
        seed: 1,
        run: 0,
    };
    let report = bench::run(&options, &c.client_tokens()?, &|messaggio| {
        if !messaggio.starts_with("preparing") {
            letture.lock().unwrap().push(count());
        }
    })
    .await;
    c.stop().await?;
    let report = report?;
    let letture = letture.into_inner().unwrap();
    println!(
        "{} replica(s): {} companies, {} prestatori registered and funded in {:.1} s",
        replicas.len(),
        report.companies,
        report.workers,
        report.setup.as_secs_f64()
    );
    let mut unexpected = 0;
    for (i, step) in report.steps.iter().enumerate() {
        let m = step
            .operation(Operation::Insert)
            .context("no insertions measured")?;
        unexpected += (m.calls - m.ok) + (step.warm_up.calls - step.warm_up.ok);
        let (prima, dopo) = (&letture[i], &letture[i + 1]);
        rows.push(Row {
            replicas: replicas.len(),
            clients: step.clients,
            accepted: m.ok,
            per_second: step.per_second(m.ok),
            p50: m.percentile(0.50).unwrap_or_default(),
            p99: m.percentile(0.99).unwrap_or_default(),
            served: replicas
                .iter()
                .zip(prima.iter().zip(dopo))
                .map(|(addr, (p, d))| (*addr, d - p))
                .collect(),
        });
    }
    if unexpected > 0 {
        for e in report.samples().iter().take(20) {
            eprintln!("{e}");
        }
        anyhow::bail!("{} replica(s): {unexpected} unexpected errors", replicas.len());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(server) = occasionali_runtime::testing::pg_server_url() else {
        println!(
            "skipped: set OCCASIONALI_TEST_PG (two replicas share a PostgreSQL database, not a SQLite file)"
        );
        return Ok(());
    };
    let conteggi = Conteggi::installa()?;
    println!(
        "CPO InsertPrestazione through one gateway to prestazioni on PostgreSQL, loopback, warm-up {WARM_UP:?}, then {DURATION:?} per step"
    );
    let mut rows = Vec::new();
    run(&server, false, &conteggi, &mut rows).await?;
    run(&server, true, &conteggi, &mut rows).await?;
    println!();
    println!(
        "{:<9} {:>8} {:>10} {:>12} {:>10} {:>10}   calls served per replica",
        "replicas", "clients", "accepted", "accepted/s", "p50 ms", "p99 ms"
    );
    for r in &rows {
        let total: u64 = r.served.iter().map(|(_, n)| n).sum();
        let served: Vec<String> = r
            .served
            .iter()
            .map(|(addr, n)| format!("{addr} {n} ({:.0} %)", 100.0 * *n as f64 / total.max(1) as f64))
            .collect();
        println!(
            "{:<9} {:>8} {:>10} {:>12.1} {:>10.2} {:>10.2}   {}",
            r.replicas,
            r.clients,
            r.accepted,
            r.per_second,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            served.join(", ")
        );
    }
    // The point of the exercise: the second replica works.
    for r in rows.iter().filter(|r| r.replicas == 2) {
        let total: u64 = r.served.iter().map(|(_, n)| n).sum();
        for (addr, n) in &r.served {
            anyhow::ensure!(
                *n * 5 >= total,
                "{} clients: replica {addr} served {n} of {total} calls: not balanced",
                r.clients
            );
        }
    }
    Ok(())
}
