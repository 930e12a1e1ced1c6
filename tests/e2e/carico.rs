//! Issue 11: the load engine of `occasionali bench` against the real cluster — every operation
//! of a mix at two clients, each one successful — and a second run with the same seed and run
//! number, which must leave the first run's subjects alone and register its own.

use std::time::Duration;

use occasionali::bench::{self, ClockSource, Mix, Operation};
use occasionali_e2e::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bench_calls_every_operation_of_the_mix_and_each_succeeds() -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let options = bench::Options {
        gateway: format!("http://{}", c.gateway),
        clients: vec![2],
        duration: Duration::from_secs(2),
        warm_up: Duration::ZERO,
        mix: Mix::even(),
        population: 2,
        seed: 11,
        run: 1,
    };
    let tokens = c.client_tokens()?;
    let first = bench::run(&options, &tokens, &|_| {}).await;
    let again = bench::run(
        &bench::Options {
            mix: Mix::only(Operation::Insert),
            duration: Duration::from_millis(500),
            ..options.clone()
        },
        &tokens,
        &|_| {},
    )
    .await;
    c.stop().await?;

    let report = first?;
    assert_eq!((report.companies, report.workers, report.skipped), (2, 250, 0));
    // Dates are the platform's (the dev clock), slots in the next year.
    assert_eq!(report.clock, ClockSource::Platform);
    assert_eq!(report.today.to_string(), "2026-06-10");
    assert_eq!(report.first_year, 2027);
    let step = &report.steps[0];
    assert_eq!(step.clients, 2);
    for op in Operation::ALL {
        let m = step.operation(op).unwrap();
        assert!(m.calls > 0, "{op} was never called");
        assert_eq!(m.ok, m.calls, "{op}: {:?}", m.samples);
        assert!(m.percentile(0.99).is_some(), "{op}");
    }
    let md = report.markdown();
    for op in Operation::ALL {
        assert!(md.contains(&format!("| 2 | {op} ({}) |", op.rpc())), "{md}");
    }
    assert!(md.contains("| 2 | **all** |"), "{md}");
    assert_eq!(
        report.json()["steps"][0]["operations"].as_array().map(Vec::len),
        Some(5)
    );

    // The same seed and run again: every identifier of the first run is registered, so the
    // second skips them all and works with subjects of its own (fresh limits, its own wallets).
    let again = again?;
    assert_eq!(again.skipped, 252, "{:?}", again.samples());
    let m = again.steps[0].operation(Operation::Insert).unwrap();
    assert!(m.calls > 0);
    assert_eq!(m.ok, m.calls, "{:?}", m.samples);
    Ok(())
}
