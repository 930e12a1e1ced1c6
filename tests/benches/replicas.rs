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
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use occasionali_e2e::Cluster;
use occasionali_e2e::basi::Basi;
use occasionali_e2e::inserimenti::{self, AZIENDE, PRESTATORI, Passo};
use occasionali_e2e::repliche::Conteggi;
use occasionali_runtime::context::Context;

const CLIENTS: [usize; 2] = [8, 64];
const WARM_UP: Duration = Duration::from_secs(1);
const DURATION: Duration = Duration::from_secs(5);

struct Row {
    replicas: usize,
    passo: Passo,
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
    let url = format!("http://{}", c.gateway);
    c.wait_all_serving().await?;
    let t = Instant::now();
    let fixture = Arc::new(inserimenti::setup(&c, &url).await?);
    println!(
        "{} replica(s): {AZIENDE} companies, {PRESTATORI} prestatori registered and funded in {:.1} s",
        replicas.len(),
        t.elapsed().as_secs_f64()
    );
    let service = Context::Prestazioni.service_name();
    let count = |addr: &SocketAddr| conteggi.di(*addr, service);
    let next = Arc::new(AtomicU64::new(0));
    let mut errors = Vec::new();
    for n in CLIENTS {
        let before: Vec<u64> = replicas.iter().map(count).collect();
        let passo = inserimenti::passo(&url, &fixture, &next, n, (WARM_UP, DURATION), &mut errors).await?;
        let served = replicas
            .iter()
            .zip(before)
            .map(|(addr, b)| (*addr, count(addr) - b))
            .collect();
        rows.push(Row {
            replicas: replicas.len(),
            passo,
            served,
        });
    }
    c.stop().await?;
    if !errors.is_empty() {
        for e in errors.iter().take(20) {
            eprintln!("{e}");
        }
        anyhow::bail!(
            "{} replica(s): {} unexpected errors",
            replicas.len(),
            errors.len()
        );
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
        let p = &r.passo;
        let total: u64 = r.served.iter().map(|(_, n)| n).sum();
        let served: Vec<String> = r
            .served
            .iter()
            .map(|(addr, n)| format!("{addr} {n} ({:.0} %)", 100.0 * *n as f64 / total.max(1) as f64))
            .collect();
        println!(
            "{:<9} {:>8} {:>10} {:>12.1} {:>10.2} {:>10.2}   {}",
            r.replicas,
            p.clients,
            p.accepted,
            p.per_second,
            p.p50.as_secs_f64() * 1e3,
            p.p99.as_secs_f64() * 1e3,
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
                r.passo.clients
            );
        }
    }
    Ok(())
}
