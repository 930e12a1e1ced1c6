//! Chaos: the platform as production runs it — one `occasionali serve` process per context plus
//! the gateway, each context on its own PostgreSQL database — under a load of insertions,
//! revocations and contestazioni through the gateway, while prestazioni and portafoglio are
//! SIGKILLed and restarted. When the load stops the platform must recover by itself (nobody
//! retries): every acknowledged write durable, no saga half-way, reservations, wallets, limit
//! counters and the ledger consistent, every outbox row delivered.
//!
//! Runs only when `OCCASIONALI_TEST_PG` is set (like the other PostgreSQL suites); about three
//! minutes: `OCCASIONALI_TEST_PG=1 cargo test -p occasionali-e2e --test chaos -- --nocapture`.

mod checks;
mod cluster;
mod load;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use occasionali_runtime::context::Context;
use occasionali_runtime::issuers::DevIssuer;
use tonic::transport::Channel;

use checks::{Finding, Kind};
use cluster::Platform;
use load::{Fault, Journal};

/// Concurrent clients, each on its own connection to the gateway.
const CLIENTS: usize = 14;
/// How long the clients call.
const LOAD: Duration = Duration::from_secs(65);
/// How long the platform has, after the load, to converge by itself.
const RECOVERY: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_secs(2);
/// Hard bound on the whole run (the binary's build excluded).
const BOUND: Duration = Duration::from_secs(240);

/// Staggered kills during the load, each restart on the same port after a short pause.
fn plan() -> Vec<Fault> {
    let f = |at: u64, ctx, pause_ms: u64| Fault {
        at: Duration::from_secs(at),
        ctx,
        pause: Duration::from_millis(pause_ms),
    };
    vec![
        f(8, Context::Prestazioni, 1500),
        f(17, Context::Portafoglio, 2000),
        f(27, Context::Prestazioni, 3000),
        f(36, Context::Portafoglio, 1000),
        f(46, Context::Prestazioni, 2000),
        f(54, Context::Portafoglio, 2500),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_kill_prestazioni_and_portafoglio_under_load() -> anyhow::Result<()> {
    let Some(server) = occasionali_runtime::testing::pg_server_url() else {
        eprintln!(
            "skipped: set {} to run the chaos test on PostgreSQL",
            occasionali_runtime::env::TEST_PG
        );
        return Ok(());
    };
    let bin = tokio::task::spawn_blocking(cluster::binary).await??;
    match tokio::time::timeout(BOUND, run(bin, server)).await {
        Ok(r) => r,
        Err(_) => anyhow::bail!("the chaos test did not finish within {BOUND:?}"),
    }
}

async fn run(bin: std::path::PathBuf, server: String) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let platform = Arc::new(Platform::start(bin, &server).await?);
    let started_in = t0.elapsed();
    let url = format!("http://{}", platform.gateway);
    let tokens = DevIssuer::load(&platform.auth_key)?;
    let t = Instant::now();
    let channel = Channel::from_shared(url.clone())?.connect().await?;
    let fx = match load::seed(channel, &tokens).await {
        Ok(fx) => Arc::new(fx),
        Err(e) => {
            platform.keep_dir();
            eprintln!("{}", platform.tails(40));
            return Err(e).context("seeding through the gateway");
        }
    };
    let seeded_in = t.elapsed();

    // Load and faults.
    let journal = Arc::new(Mutex::new(Journal::default()));
    let start = Instant::now();
    let faults = tokio::spawn(load::faults(platform.clone(), start, plan()));
    load::run_clients(&url, fx.clone(), CLIENTS, LOAD, journal.clone()).await?;
    let kills = faults.await?;
    let load_took = start.elapsed();

    // Recovery: nobody retries; poll the databases until every property holds.
    let urls: BTreeMap<Context, String> = Context::ALL
        .iter()
        .map(|c| (*c, platform.database_url(*c)))
        .collect();
    let dbs = checks::connect(&urls).await?;
    let acks = journal
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .acks
        .clone();
    let r0 = Instant::now();
    let mut consistent_after = None;
    let mut all_after = None;
    let (snapshot, findings) = loop {
        let snapshot = checks::snapshot(&dbs).await?;
        let mut findings = checks::evaluate(&snapshot, &acks, &fx);
        findings.push(processes(&platform).await);
        let consistent = findings
            .iter()
            .filter(|f| f.kind == Kind::Consistency)
            .all(Finding::ok);
        if consistent && consistent_after.is_none() {
            consistent_after = Some(r0.elapsed());
        }
        if findings.iter().all(Finding::ok) {
            all_after = Some(r0.elapsed());
            break (snapshot, findings);
        }
        if r0.elapsed() >= RECOVERY {
            break (snapshot, findings);
        }
        tokio::time::sleep(POLL).await;
    };
    for db in dbs.into_values() {
        let _ = db.close().await;
    }

    // Summary.
    let j = journal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    println!("\n===== chaos summary =====");
    println!(
        "platform: {} processes started in {:.1} s; {} utilizzatori and their wallets, prestatori seeded in {:.1} s",
        Context::ALL.len() + 1,
        started_in.as_secs_f64(),
        fx.utilizzatori.len(),
        seeded_in.as_secs_f64()
    );
    println!(
        "load: {CLIENTS} clients for {:.1} s, no client retry",
        load_took.as_secs_f64()
    );
    let mut per_method: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((m, code), n) in &j.calls {
        per_method.entry(m).or_default().push(format!("{code} {n}"));
    }
    for (m, codes) in &per_method {
        println!("  {m:<18} {}", codes.join(", "));
    }
    println!("acknowledged: {:?} ({} prestazioni)", j.acked, j.acks.len());
    println!("kills:");
    for k in &kills {
        println!(
            "  +{:>5.1} s SIGKILL {:<12} pause {:.1} s: {}",
            k.at.as_secs_f64(),
            k.ctx.name(),
            k.pause.as_secs_f64(),
            match &k.back {
                Ok((d, n)) => format!(
                    "SERVING again {:.1} s after the kill ({n} start(s))",
                    d.as_secs_f64()
                ),
                Err(e) => format!("NOT BACK: {e}"),
            }
        );
    }
    let after = |d: Option<Duration>| match d {
        Some(d) => format!("after {:.1} s", d.as_secs_f64()),
        None => format!("NOT within {:.0} s", RECOVERY.as_secs_f64()),
    };
    println!(
        "recovery: money and states consistent {}; everything (outbox included) {}",
        after(consistent_after),
        after(all_after)
    );
    println!("counts: {}", checks::counts(&snapshot));
    println!("wallets (cents):");
    for w in checks::wallets(&snapshot, &fx) {
        println!("  {w}");
    }
    println!("properties:");
    for f in &findings {
        println!(
            "  {} {} — {}",
            if f.ok() { "PASS" } else { "FAIL" },
            f.name,
            f.detail
        );
        for e in &f.examples {
            println!("        e.g. {e}");
        }
        if !f.ok() && f.kind == Kind::Delivery {
            println!(
                "        note: delivered_at_ms is set by the outbox relay; where no relay runs, every row stays undelivered"
            );
        }
    }
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
    let broken: Vec<&str> = findings.iter().filter(|f| !f.ok()).map(|f| f.name).collect();
    if !broken.is_empty() {
        platform.keep_dir();
        eprintln!("{}", platform.tails(40));
        anyhow::bail!(
            "the platform did not recover within {RECOVERY:?}: {}",
            broken.join("; ")
        );
    }
    Ok(())
}

/// Every process running (none died on its own) and the gateway reporting SERVING.
async fn processes(platform: &Platform) -> Finding {
    let mut f = Finding::new("every process running, gateway SERVING", Kind::Consistency);
    for (name, how) in platform.dead() {
        f.bad(|| format!("{name}: {how}"));
    }
    if !platform.gateway_serving().await {
        f.bad(|| "gateway health is not SERVING".into());
    }
    f.detail = format!(
        "starts: prestazioni {}, portafoglio {}, others {}",
        platform.starts(Context::Prestazioni.name()),
        platform.starts(Context::Portafoglio.name()),
        platform.starts(Context::Anagrafica.name())
    );
    f
}
