//! A context's database going away, simulated from outside the process with a TCP proxy between
//! the pool and PostgreSQL: calls answer UNAVAILABLE (DATABASE_UNAVAILABLE) within ~2 s instead
//! of hanging, health goes NOT_SERVING within ~3 s and SERVING again once the database is back,
//! and a graceful shutdown keeps NOT_SERVING whatever the database does. Runs when
//! `OCCASIONALI_TEST_PG` is set (like the storage suites).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use occasionali_runtime::db::{self, PoolSettings};
use occasionali_runtime::error::{AppError, DATABASE_UNAVAILABLE};
use occasionali_runtime::server::{self, ServeOptions};
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
use occasionali_runtime::testing::proxy::{FaultProxy, Mode, address_of, through};
use occasionali_runtime::testing::{Engine, TestDb};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

const SERVICE: &str = "occasionali.prova.v1.ProvaService";
/// How fast a call must fail when the database is gone (the acquire timeout is 1.5 s).
const ANSWER_WITHIN: Duration = Duration::from_millis(2500);
/// How fast health must follow (checks every 1 s, each failing after at most 1.5–2 s).
const HEALTH_WITHIN: Duration = Duration::from_secs(3);

/// A context-like process: a pool through the proxy, served with its health watching it.
struct Context {
    t: TestDb,
    proxy: FaultProxy,
    db: DatabaseConnection,
    health: HealthClient<Channel>,
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Context {
    async fn start(drain: Duration) -> anyhow::Result<Option<Context>> {
        let Some(t) = TestDb::empty(Engine::Postgres, "outage").await? else {
            eprintln!("skipped: set OCCASIONALI_TEST_PG to run on PostgreSQL");
            return Ok(None);
        };
        let proxy = FaultProxy::start(address_of(&t.url).await?).await?;
        let db = db::connect(&through(&t.url, proxy.addr()), 4).await?;
        let listener = server::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (trigger, signal) = shutdown::channel();
        let options = ServeOptions {
            name: "prova".into(),
            services: vec![SERVICE.into()],
            drain,
            tls: None,
        };
        let task = tokio::spawn(server::serve_context(
            listener,
            options,
            tonic::service::Routes::default(),
            db.clone(),
            signal,
        ));
        let health = HealthClient::new(Channel::from_shared(url)?.connect().await?);
        Ok(Some(Context {
            t,
            proxy,
            db,
            health,
            trigger,
            task,
        }))
    }

    /// One statement, as a request would run it; the status it would answer and how long it took.
    async fn call(&self) -> (Result<(), Status>, Duration) {
        let started = Instant::now();
        let r = self
            .db
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| {
                // INTERNAL's message hides the cause: say which error was not taken for an
                // outage, so that a failure here names what to classify.
                if !db::is_unavailable(&e) {
                    eprintln!("not classified as an outage: {e:?}");
                }
                Status::from(AppError::from(e))
            });
        (r, started.elapsed())
    }

    async fn status(&self, service: &str) -> Option<i32> {
        let mut h = self.health.clone();
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: service.into(),
        });
        request.set_timeout(Duration::from_secs(1));
        h.check(request).await.ok().map(|r| r.get_ref().status)
    }

    /// Waits until `service` reports `want`; how long it took from `since`.
    async fn wait_for(
        &self,
        service: &str,
        want: ServingStatus,
        since: Instant,
        limit: Duration,
    ) -> Duration {
        loop {
            if self.status(service).await == Some(want as i32) {
                return since.elapsed();
            }
            assert!(
                since.elapsed() < limit,
                "health of {service:?} not {want:?} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.trigger.trigger();
        self.task.await??;
        self.db.close().await?;
        self.proxy.set(Mode::Forward);
        self.t.close().await
    }
}

#[track_caller]
fn assert_database_unavailable(r: &Result<(), Status>, took: Duration) {
    let Err(s) = r else {
        panic!("expected UNAVAILABLE, the call succeeded")
    };
    assert_eq!(s.code(), Code::Unavailable, "{}", s.message());
    assert_eq!(s.message(), "database unavailable, retry later");
    let reason = s.get_error_details().error_info().map(|i| i.reason.clone());
    assert_eq!(reason.as_deref(), Some(DATABASE_UNAVAILABLE));
    assert!(s.get_error_details().retry_info().is_some());
    assert!(took < ANSWER_WITHIN, "answered after {took:?}");
}

async fn outage(c: &Context, mode: Mode) {
    let (r, _) = c.call().await;
    assert!(r.is_ok(), "healthy before the outage: {r:?}");
    c.wait_for("", ServingStatus::Serving, Instant::now(), HEALTH_WITHIN)
        .await;

    c.proxy.set(mode);
    let down = Instant::now();
    // More concurrent calls than the pool has connections: every one answers in time.
    let calls = futures::future::join_all((0..10).map(|_| c.call())).await;
    let slowest = calls.iter().map(|(_, d)| *d).max().unwrap_or_default();
    for (r, took) in &calls {
        assert_database_unavailable(r, *took);
    }
    let flipped = c
        .wait_for("", ServingStatus::NotServing, down, HEALTH_WITHIN)
        .await;
    c.wait_for(SERVICE, ServingStatus::NotServing, down, HEALTH_WITHIN)
        .await;
    // Still down: still answered in time (no connection left hanging in the pool).
    let (r, took) = c.call().await;
    assert_database_unavailable(&r, took);

    c.proxy.set(Mode::Forward);
    let healed = Instant::now();
    let back = c
        .wait_for("", ServingStatus::Serving, healed, HEALTH_WITHIN)
        .await;
    c.wait_for(SERVICE, ServingStatus::Serving, healed, HEALTH_WITHIN)
        .await;
    let (r, _) = c.call().await;
    assert!(r.is_ok(), "calls succeed once the database is back: {r:?}");
    eprintln!(
        "{mode:?}: slowest answer {slowest:?}, NOT_SERVING after {flipped:?}, SERVING again {back:?} after healing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_black_holed_database_answers_unavailable_fast_and_health_follows() -> anyhow::Result<()> {
    let Some(c) = Context::start(Duration::ZERO).await? else {
        return Ok(());
    };
    outage(&c, Mode::BlackHole).await;
    // A second time: the pool recovered for real, it did not just get lucky.
    outage(&c, Mode::BlackHole).await;
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refusing_database_answers_unavailable_fast_and_health_follows() -> anyhow::Result<()> {
    let Some(c) = Context::start(Duration::ZERO).await? else {
        return Ok(());
    };
    outage(&c, Mode::Refuse).await;
    outage(&c, Mode::BlackHole).await;
    outage(&c, Mode::Refuse).await;
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_wins_over_the_database_coming_back() -> anyhow::Result<()> {
    let drain = Duration::from_secs(3);
    let Some(c) = Context::start(drain).await? else {
        return Ok(());
    };
    c.proxy.set(Mode::BlackHole);
    c.wait_for("", ServingStatus::NotServing, Instant::now(), HEALTH_WITHIN)
        .await;
    // Shutdown starts while the database is down, then the database comes back: the process
    // drains, so it must keep answering NOT_SERVING.
    c.trigger.trigger();
    c.proxy.set(Mode::Forward);
    let started = Instant::now();
    while started.elapsed() < drain - Duration::from_millis(500) {
        for service in ["", SERVICE] {
            let s = c.status(service).await;
            assert_ne!(
                s,
                Some(ServingStatus::Serving as i32),
                "{service:?} SERVING again while shutting down"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_connections_carry_the_timeouts() -> anyhow::Result<()> {
    let Some(t) = TestDb::empty(Engine::Postgres, "outage").await? else {
        return Ok(());
    };
    let show = |db: DatabaseConnection| async move {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT current_setting('statement_timeout') AS s",
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no row"))?;
        let s: String = row.try_get("", "s")?;
        db.close().await?;
        anyhow::Ok(s)
    };
    assert_eq!(show(db::connect(&t.url, 1).await?).await?, "5s");
    assert_eq!(
        show(db::connect_with(&t.url, &PoolSettings::migrations()).await?).await?,
        "0"
    );

    // A statement running past the statement timeout is cancelled by the server: UNAVAILABLE.
    let settings = PoolSettings {
        statement_timeout: Some(Duration::from_millis(200)),
        ..PoolSettings::new(1)
    };
    let db = db::connect_with(&t.url, &settings).await?;
    let started = Instant::now();
    let r = db
        .execute_unprepared("SELECT pg_sleep(3)")
        .await
        .map(|_| ())
        .map_err(|e| Status::from(AppError::from(e)));
    assert_database_unavailable(&r, started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(1));
    db.close().await?;
    t.close().await
}
