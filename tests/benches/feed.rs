//! A day of the F24 payments feed through the gateway (POR-2, issue 12): 100,000 records in one
//! ImportF24 stream, one record per HTTP/2 DATA frame (as Go and Java clients send them), while
//! two other callers read a wallet summary every 20 ms through the same gateway (one on its own
//! connection, one on the feed's). Then the same day again: every record a duplicate. On SQLite
//! and, with `OCCASIONALI_TEST_PG` set, on PostgreSQL.
//!
//! Run: `cargo bench -p occasionali-e2e --bench feed` (release);
//! `OCCASIONALI_FEED_RECORDS` changes the day's size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use occasionali_e2e::Cluster;
use occasionali_e2e::basi::Basi;
use occasionali_e2e::feed::{self, lettore};
use occasionali_runtime::identity::Profile;
use occasionali_runtime::testing::persone::FLUSSO;
use tonic::transport::Channel;

const AZIENDE: usize = 32;

struct Row {
    engine: &'static str,
    records: usize,
    first: Duration,
    again: Duration,
    readers: usize,
    p50: Duration,
    p99: Duration,
}

async fn measure(engine: &'static str, basi: Option<&Basi>, records: usize) -> anyhow::Result<Row> {
    let c = Cluster::start_with(None, |config| {
        if let Some(b) = basi {
            b.configura(config);
        }
    })
    .await?;
    let url = format!("http://{}", c.gateway);
    let channel = Channel::from_shared(url.clone())?.connect().await?;
    let mut aziende = feed::registra_aziende(&c, channel.clone(), AZIENDE + 1).await?;
    let (letta, token) = aziende.pop().unwrap();
    let flusso = c.token(Profile::FlussoPagamenti, FLUSSO, None)?;

    let stop = Arc::new(AtomicBool::new(false));
    let altra = Channel::from_shared(url)?.connect().await?;
    let lettori: Vec<_> = [altra, channel.clone()]
        .into_iter()
        .map(|ch| tokio::spawn(lettore(ch, token.clone(), letta.clone(), stop.clone())))
        .collect();

    let giornata = aziende.clone();
    let t = Instant::now();
    let r = feed::invia(
        channel.clone(),
        &flusso,
        (0..records).map(move |i| feed::record("F24-BENCH", i, &giornata)),
    )
    .await??;
    let first = t.elapsed();
    anyhow::ensure!(
        r.numero_accreditati == records as i64,
        "{engine}: not all credited: {r:?}"
    );
    stop.store(true, Ordering::Relaxed);
    let mut latenze = Vec::new();
    for l in lettori {
        latenze.extend(l.await?.map_err(anyhow::Error::msg)?);
    }
    latenze.sort();
    anyhow::ensure!(!latenze.is_empty(), "{engine}: no reader call completed");
    let pct = |p: f64| latenze[((latenze.len() as f64 * p) as usize).min(latenze.len() - 1)];

    let giornata = aziende.clone();
    let t = Instant::now();
    let r = feed::invia(
        channel,
        &flusso,
        (0..records).map(move |i| feed::record("F24-BENCH", i, &giornata)),
    )
    .await??;
    let again = t.elapsed();
    anyhow::ensure!(
        r.numero_duplicati == records as i64 && r.numero_accreditati == 0,
        "{engine}: the re-send credited: {r:?}"
    );
    c.stop().await?;
    Ok(Row {
        engine,
        records,
        first,
        again,
        readers: latenze.len(),
        p50: pct(0.50),
        p99: pct(0.99),
    })
}

async fn run(engine: &'static str, pg: Option<&str>, records: usize) -> anyhow::Result<Row> {
    // PostgreSQL: one fresh database per context, dropped afterwards.
    let basi = match pg {
        Some(server) => Some(Basi::crea(server, "occ_feed").await?),
        None => None,
    };
    let result = measure(engine, basi.as_ref(), records).await;
    if let Some(b) = basi {
        b.elimina().await?;
    }
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let records = std::env::var("OCCASIONALI_FEED_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("ImportF24 through the gateway, loopback, {records} records, one DATA frame each");
    let mut rows = vec![run("sqlite", None, records).await?];
    if let Some(server) = occasionali_runtime::testing::pg_server_url() {
        rows.push(run("postgres", Some(&server), records).await?);
    }
    println!();
    println!(
        "{:<10} {:>9} {:>10} {:>11} {:>13} {:>9} {:>12} {:>12}",
        "engine", "records", "seconds", "records/s", "re-send rec/s", "reads", "read p50 ms", "read p99 ms"
    );
    for r in &rows {
        println!(
            "{:<10} {:>9} {:>10.1} {:>11.0} {:>13.0} {:>9} {:>12.2} {:>12.2}",
            r.engine,
            r.records,
            r.first.as_secs_f64(),
            r.records as f64 / r.first.as_secs_f64(),
            r.records as f64 / r.again.as_secs_f64(),
            r.readers,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
