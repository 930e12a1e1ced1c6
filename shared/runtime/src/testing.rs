//! The one test kit of every context: throw-away databases on SQLite (always) and PostgreSQL
//! (when `OCCASIONALI_TEST_PG` is set), so one storage suite runs on both engines; the callers
//! ([`chi`]), people and companies ([`persone`]) and answers ([`esiti`]) every suite speaks;
//! a test server and fakes of other contexts.

pub mod chi;
pub mod esiti;
pub mod persone;
pub mod proxy;

pub use chi::{Chi, Chiamanti};
pub use esiti::{
    descrizioni, err, errore, fields, invalid, metadata_of, ok, reason_of, reason_of_field, refused, rule_of,
    violazioni,
};

use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

use crate::env;

static CHIAVI_DI_PROVA: LazyLock<crate::firme::Portachiavi> =
    LazyLock::new(crate::firme::Portachiavi::deterministic);

/// Every process's deterministic test key, all of them trusted (issue 14): what the suites'
/// callers ([`Chiamanti`]) and fakes sign with.
pub fn chiavi_di_prova() -> &'static crate::firme::Portachiavi {
    &CHIAVI_DI_PROVA
}

/// What a process (a context, or the gateway) signs and verifies with under test: its
/// deterministic key, every test signer trusted. The `tokens` of a context built alone, of a
/// fake of it, of a gateway under test.
#[allow(clippy::expect_used)]
pub fn tokens_di_prova(firmatario: impl Into<crate::firme::Firmatario>) -> crate::identity::InternalTokens {
    chiavi_di_prova()
        .tokens(firmatario.into())
        .expect("every process has a test key")
}

/// The engines a storage test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server URL (no database) for tests, when enabled.
pub fn pg_server_url() -> Option<String> {
    let v = std::env::var(env::TEST_PG).ok()?;
    let v = v.trim();
    if v.is_empty() || v == "0" {
        return None;
    }
    if v == "1" || v == "true" {
        return Some("postgres://postgres@127.0.0.1:5432".into());
    }
    Some(v.trim_end_matches('/').to_string())
}

/// A database that exists for one test and is dropped afterwards.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    pub engine: Engine,
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Pg { server: String, name: String },
}

impl TestDb {
    /// A fresh, migrated database on `engine`; `None` when the engine is not enabled here.
    pub async fn new<M: MigratorTrait>(engine: Engine, context: &str) -> anyhow::Result<Option<TestDb>> {
        let Some(t) = TestDb::empty(engine, context).await? else {
            return Ok(None);
        };
        crate::db::migrate::<M>(&t.db, context).await?;
        Ok(Some(t))
    }

    /// A fresh database on `engine` with nothing in it (the test migrates it, or a process it
    /// starts does); `None` when the engine is not enabled here.
    pub async fn empty(engine: Engine, context: &str) -> anyhow::Result<Option<TestDb>> {
        let (url, cleanup) = match engine {
            Engine::Sqlite => {
                let dir =
                    std::env::temp_dir().join(format!("occasionali-test-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir)?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.join(format!("{context}.db")).display()
                );
                (url, Cleanup::Dir(dir))
            }
            Engine::Postgres => {
                let Some(server) = pg_server_url() else {
                    return Ok(None);
                };
                let name = format!("occ_test_{}_{}", context, uuid::Uuid::new_v4().simple());
                let admin = crate::db::connect_with(
                    &format!("{server}/postgres"),
                    &crate::db::PoolSettings::migrations(),
                )
                .await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await?;
                admin.close().await?;
                (format!("{server}/{name}"), Cleanup::Pg { server, name })
            }
        };
        let db = crate::db::connect(&url, 8).await?;
        Ok(Some(TestDb {
            db,
            url,
            engine,
            cleanup: Some(cleanup),
        }))
    }

    /// Closes the pool and removes the database.
    pub async fn close(mut self) -> anyhow::Result<()> {
        crate::db::close(self.db.clone(), std::time::Duration::from_secs(5)).await;
        if let Some(c) = self.cleanup.take() {
            remove(c).await?;
        }
        Ok(())
    }
}

async fn remove(c: Cleanup) -> anyhow::Result<()> {
    match c {
        Cleanup::Dir(dir) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Cleanup::Pg { server, name } => {
            // DDL under load may take longer than a serving statement timeout.
            let admin = crate::db::connect_with(
                &format!("{server}/postgres"),
                &crate::db::PoolSettings::migrations(),
            )
            .await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
            admin.close().await?;
        }
    }
    Ok(())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A test that panicked did not call close(): drop the database from a helper thread
        // with its own runtime (we may be inside a runtime that is shutting down).
        if let Some(c) = self.cleanup.take() {
            let handle = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    let _ = rt.block_on(remove(c));
                }
            });
            let _ = handle.join();
        }
    }
}

/// Runs one async test body on SQLite and on PostgreSQL: `storage_suite!(migrator, "ctx", name, body_fn)`
/// expands to `name_sqlite` and `name_postgres` tests calling `body_fn(&TestDb)`.
#[macro_export]
macro_rules! storage_test {
    ($migrator:ty, $context:expr, $name:ident, $body:path) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() -> anyhow::Result<()> {
                let t = $crate::testing::TestDb::new::<$migrator>($crate::testing::Engine::Sqlite, $context)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("sqlite always available"))?;
                $body(&t).await?;
                t.close().await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() -> anyhow::Result<()> {
                match $crate::testing::TestDb::new::<$migrator>($crate::testing::Engine::Postgres, $context)
                    .await?
                {
                    Some(t) => {
                        $body(&t).await?;
                        t.close().await
                    }
                    None => {
                        eprintln!("skipped: set {} to run on PostgreSQL", $crate::env::TEST_PG);
                        Ok(())
                    }
                }
            }
        }
    };
}

/// A service serving on a free loopback port for a test.
pub struct TestServer {
    pub url: String,
    trigger: crate::shutdown::ShutdownTrigger,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    /// Serves `routes` (plus health and reflection for `service`) on 127.0.0.1, port 0.
    pub async fn spawn(
        name: &str,
        service: &str,
        routes: tonic::service::Routes,
    ) -> anyhow::Result<TestServer> {
        let listener = crate::server::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (trigger, signal) = crate::shutdown::channel();
        let options = crate::server::ServeOptions {
            name: name.into(),
            services: vec![service.into()],
            drain: std::time::Duration::ZERO,
            tls: None,
        };
        let task = tokio::spawn(crate::server::serve(listener, options, routes, signal));
        Ok(TestServer { url, trigger, task })
    }

    pub async fn stop(self) {
        self.trigger.trigger();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.task).await;
    }
}

/// The RPCs a test fake of another context does not play: each answers UNIMPLEMENTED (the
/// generated services have no default stubs, so a fake names what it leaves out). Written in
/// the form `#[tonic::async_trait]` gives trait methods, so it can sit in such an impl.
#[macro_export]
macro_rules! rpc_non_simulate {
    ($($name:ident($req:ty) -> $resp:ty;)*) => {
        $(
            fn $name<'life0, 'async_trait>(
                &'life0 self,
                _request: tonic::Request<$req>,
            ) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Result<tonic::Response<$resp>, tonic::Status>> + Send + 'async_trait>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                Box::pin(async move {
                    Err(tonic::Status::unimplemented(concat!(stringify!($name), " is not played by this test fake")))
                })
            }
        )*
    };
}

/// A server stream a test fake never sends (with [`rpc_non_simulate`]).
pub type FlussoVuoto<T> = std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, tonic::Status>> + Send>>;
