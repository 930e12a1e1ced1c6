//! NOT-3 at national scale: one campaign run over `NOT_BENCH_DATORI` domestic employers (default
//! 1,000,000) on PostgreSQL — selection (keyset pages, each employer's relationships and quarters)
//! and enqueueing (notices, a delivery per channel, the guides) — with the process's resident
//! memory sampled throughout, to show it stays flat however many employers there are.
//!
//! `OCCASIONALI_TEST_PG=1 cargo bench -p occasionali-notifiche --bench campagna`
//! (without OCCASIONALI_TEST_PG it runs on SQLite). The archive is seeded in SQL
//! (`generate_series` on PostgreSQL, a recursive CTE on SQLite); the seed is not timed.
//! One employer in five has Q1 2026 unpaid; one in a hundred is 76 or older; half of them
//! consented to SMS with a mobile number.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use occasionali_kernel::{OffsetClock, SharedClock};
use occasionali_notifiche::Migrator;
use occasionali_notifiche::domain::Campagna;
use occasionali_notifiche::domain::trimestre::PRIMO;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::config::{NotificheConfig, SmsConfig};
use occasionali_runtime::testing::{Engine, TestDb};
use sea_orm::{ConnectionTrait, DbBackend};

fn rss_kib(campo: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(campo))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn semina(db: &sea_orm::DatabaseConnection, n: u64) -> anyhow::Result<()> {
    let serie = match db.get_database_backend() {
        DbBackend::Postgres => format!("SELECT i FROM generate_series(1, {n}) AS s(i)"),
        _ => format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
        ),
    };
    let lpad = |col: &str| match db.get_database_backend() {
        DbBackend::Postgres => format!("lpad({col}::text, 15, '0')"),
        _ => format!("substr('000000000000000' || {col}, -15, 15)"),
    };
    let cf = lpad("i");
    for sql in [
        format!(
            "INSERT INTO ld_datori (codice_fiscale, nome, cognome, data_nascita) \
             SELECT 'D' || {cf}, 'Nome' || i, 'Cognome', CASE WHEN i % 100 = 0 THEN '1940-01-01' ELSE '1975-06-15' END FROM ({serie}) q"
        ),
        format!(
            "INSERT INTO ld_rapporti (codice_rapporto, datore_cf, lavoratore_cf, lavoratore_nome) \
             SELECT 'R' || {cf}, 'D' || {cf}, 'L' || {cf}, 'Lavoratore' || i FROM ({serie}) q"
        ),
        format!(
            "INSERT INTO ld_trimestri (codice_rapporto, anno, numero, stato, dovuti, pagati) \
             SELECT 'R' || {cf}, 2026, 1, 'active', '300.00', CASE WHEN i % 5 = 0 THEN '0' ELSE '300.00' END FROM ({serie}) q"
        ),
        format!(
            "INSERT INTO contatti (codice_fiscale, cellulare, consenso_sms, aggiornato_ms) \
             SELECT 'D' || {cf}, '+39333' || {cf}, TRUE, 0 FROM ({serie}) q WHERE i % 2 = 0"
        ),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::var("NOT_BENCH_DATORI")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let engine = if std::env::var_os("OCCASIONALI_TEST_PG").is_some() {
            Engine::Postgres
        } else {
            Engine::Sqlite
        };
        let t = TestDb::new::<Migrator>(engine, "notifiche_bench")
            .await?
            .ok_or_else(|| anyhow::anyhow!("database not available"))?;
        let inizio = Instant::now();
        semina(&t.db, n).await?;
        println!("engine {engine:?}: {n} employers seeded in {:.1} s (not timed below)", inizio.elapsed().as_secs_f64());

        let dir = std::env::temp_dir().join("notifiche-bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("sms.key"), "k")?;
        let config = NotificheConfig {
            // Configured so SMS deliveries are enqueued PENDING (the worker is not started here).
            sms: Some(SmsConfig {
                url: "http://127.0.0.1:9/v1/messages".into(),
                api_key_file: dir.join("sms.key"),
                sender: "INPS".into(),
            }),
            ..Default::default()
        };
        let clock: SharedClock = Arc::new(OffsetClock::starting_at("2026-03-01T08:00:00Z".parse()?));
        let deps = ContextDeps {
            db: t.db.clone(),
            clock,
            tokens: occasionali_runtime::testing::tokens_di_prova(occasionali_runtime::Context::Notifiche),
            endpoints: HashMap::new(),
            relay: None,
        };
        let app = occasionali_notifiche::app(&deps, &config)?;

        let picco = Arc::new(AtomicU64::new(0));
        let campioni = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (p, c) = (picco.clone(), campioni.clone());
        let base = rss_kib("VmRSS:");
        let campionatore = tokio::spawn(async move {
            let t0 = Instant::now();
            loop {
                let r = rss_kib("VmRSS:");
                p.fetch_max(r, Ordering::Relaxed);
                c.lock().unwrap().push((t0.elapsed().as_secs_f64(), r));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        let inizio = Instant::now();
        let run = app.esegui_campagna(Campagna::LavoroDomestico, PRIMO, false, "BENCH").await?;
        let durata = inizio.elapsed();
        campionatore.abort();
        println!(
            "campaign run: {} employers, {} selected, {} notices enqueued ({} deliveries) in {:.1} s = {:.0} employers/s",
            n,
            run.destinatari,
            run.notifiche,
            run.notifiche * 4,
            durata.as_secs_f64(),
            n as f64 / durata.as_secs_f64()
        );
        let c = campioni.lock().unwrap().clone();
        let quarto = |q: f64| c.get(((c.len() as f64 - 1.0) * q) as usize).map(|x| x.1).unwrap_or(0);
        println!(
            "resident memory: {} KiB before; during the run at 25/50/75/100%: {} / {} / {} / {} KiB; peak {} KiB",
            base,
            quarto(0.25),
            quarto(0.5),
            quarto(0.75),
            quarto(1.0),
            picco.load(Ordering::Relaxed)
        );
        // A second run enqueues nothing (NOT-3: nobody twice) and shows the selection alone.
        let inizio = Instant::now();
        let di_nuovo = app.esegui_campagna(Campagna::LavoroDomestico, PRIMO, false, "BENCH").await?;
        println!(
            "second run: {} selected, {} new notices, {:.1} s",
            di_nuovo.destinatari,
            di_nuovo.notifiche,
            inizio.elapsed().as_secs_f64()
        );
        t.close().await
    })
}
