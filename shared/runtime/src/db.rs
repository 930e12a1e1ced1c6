//! Database access shared by every context: connect (SQLite or PostgreSQL), migrate, and
//! begin write transactions that serialise writers the same way on both engines.

use std::time::Duration;

use anyhow::Context as _;
use sea_orm::sqlx::postgres::PgAnswerDeadlines;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

/// How long a call waits for a database connection (a free one from the pool, or a new one
/// opened) before it fails UNAVAILABLE: long beside a healthy wait (milliseconds), short beside
/// a client's patience (docs/decisions.md, "Database outages").
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// PostgreSQL `statement_timeout`: a statement (lock waits included) running longer is cancelled
/// by the server. Every statement of a request, saga step or payout is milliseconds under load.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a pool behaves when its database is slow or gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub size: u32,
    /// Longest wait for a connection, opening one included (sqlx bounds the connect by the same
    /// deadline, so this is the connect timeout too).
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout` of every connection; `None` keeps the server's.
    pub statement_timeout: Option<Duration>,
}

impl PoolSettings {
    /// The serving defaults for a pool of `size` connections.
    pub fn new(size: u32) -> PoolSettings {
        PoolSettings {
            size,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
        }
    }

    /// Migrations: one connection, patient while the server starts, and no statement timeout
    /// (DDL on a big table, or waiting for another replica's migration on the advisory lock).
    pub fn migrations() -> PoolSettings {
        PoolSettings {
            size: 1,
            acquire_timeout: Duration::from_secs(30),
            statement_timeout: None,
        }
    }
}

/// Closes a pool, waiting at most `limit` for its connections to come back. sqlx's close waits
/// for every checked-out connection, so one never returned (a future dropped mid-checkout)
/// would hold a process or a test forever; past the limit the pool is left to its drop.
pub async fn close(db: DatabaseConnection, limit: Duration) {
    match tokio::time::timeout(limit, db.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "closing the database pool failed"),
        Err(_) => tracing::warn!(
            limit_ms = limit.as_millis() as u64,
            "database pool not closed in time"
        ),
    }
}

/// Opens a pool with the serving defaults ([`PoolSettings::new`]).
pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, &PoolSettings::new(pool_size)).await
}

/// Opens a pool. No round trip is spent on liveness: on PostgreSQL every wait for the server
/// has a deadline ([`answer_deadlines`]; sqlx is patched, shared/patches/README.md), so a server
/// that stops answering fails the call instead of hanging it, and the connection is closed;
/// giving a clean connection back costs nothing either. PostgreSQL
/// connections carry the statement timeout and server-side TCP keepalives (the server notices a
/// vanished client in ~25 s and releases its locks) as startup options: no extra round trip.
/// SQLite files get WAL with `synchronous=FULL` (money is written: every acknowledged commit
/// must survive a crash, POR-8), a busy timeout and foreign keys.
pub async fn connect_with(url: &str, settings: &PoolSettings) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let deadlines = answer_deadlines(settings);
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(settings.size.max(1))
        .min_connections(0)
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        // No ping at checkout (a round trip per statement, measured in issue 11): the answer
        // deadlines bound every call instead, from the first statement on (tests/e2e/outage.rs).
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(move |o| {
            o.options([
                ("tcp_keepalives_idle", "10"),
                ("tcp_keepalives_interval", "5"),
                ("tcp_keepalives_count", "3"),
            ])
            .answer_deadlines(deadlines)
        })
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    if let Some(t) = settings.statement_timeout {
        options.statement_timeout(t);
    }
    Ok(Database::connect(options).await?)
}

/// How long a PostgreSQL connection waits for its server. The answers the server gives before
/// doing any work (to a statement's Bind, to BEGIN) within the acquire timeout: a live server
/// gives them in milliseconds, so a silent one is taken for gone as soon as a free connection
/// would have been. Every other answer (a statement's result, COMMIT) within the statement
/// timeout plus as much again as the acquire timeout, so the server's own timeout acts first;
/// no bound when the statement timeout is the server's (migrations: DDL on a big table, the
/// advisory lock).
pub fn answer_deadlines(settings: &PoolSettings) -> PgAnswerDeadlines {
    PgAnswerDeadlines {
        prompt: Some(settings.acquire_timeout),
        answer: settings.statement_timeout.map(|t| t + settings.acquire_timeout),
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Runs the context's migrations. On PostgreSQL an advisory lock makes concurrent runs (one
/// init container per replica) wait for each other instead of racing.
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection, context: &str) -> anyhow::Result<()> {
    let lock_key = advisory_key(context);
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_lock({lock_key})"))
            .await?;
    }
    let result = M::up(db, None).await;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_unlock({lock_key})"))
            .await?;
    }
    result?;
    Ok(())
}

fn advisory_key(context: &str) -> i64 {
    (occasionali_kernel::ids::fnv1a(context.as_bytes()) >> 1) as i64
}

/// Connects with a single connection (so a session-level advisory lock holds) and migrates.
pub async fn connect_and_migrate<M: MigratorTrait>(url: &str, context: &str) -> anyhow::Result<()> {
    connect_migrate_and_grant::<M>(url, context, None).await
}

/// [`connect_and_migrate`], then [`grant_runtime_role`] to `runtime_role` if any.
pub async fn connect_migrate_and_grant<M: MigratorTrait>(
    url: &str,
    context: &str,
    runtime_role: Option<&str>,
) -> anyhow::Result<()> {
    let db = connect_with(url, &PoolSettings::migrations()).await?;
    migrate::<M>(&db, context).await?;
    if let Some(role) = runtime_role {
        grant_runtime_role(&db, role).await?;
    }
    db.close().await?;
    Ok(())
}

/// Refuses to serve a database whose schema is behind this binary (`database.migrate_on_start`
/// false): the services' role cannot migrate, and serving an old schema would fail call by call.
/// Reads the migration table without creating it, so a role without DDL rights can check.
pub async fn ensure_migrated<M: MigratorTrait>(db: &DatabaseConnection, context: &str) -> anyhow::Result<()> {
    let pending = M::get_pending_migrations_read_only(db)
        .await
        .with_context(|| format!("reading {context}'s applied migrations"))?;
    if let Some(first) = pending.first() {
        anyhow::bail!(
            "{context}'s database has {} pending migration(s), the first {}: run `occasionali migrate {context}` \
             with the owner role (the init container does), or set database.migrate_on_start = true",
            pending.len(),
            first.name()
        );
    }
    Ok(())
}

/// A role name safe to splice into SQL unquoted: lower-case letters, digits and `_`, not
/// starting with a digit, at most 63 bytes (PostgreSQL's NAMEDATALEN).
pub fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Gives the services' role data rights and nothing more (PostgreSQL; SQLite has no roles): on
/// every table and sequence of `public` now, and on those the migrating role creates later.
/// Run by `occasionali migrate` as the owner, after migrating; idempotent.
pub async fn grant_runtime_role(db: &DatabaseConnection, role: &str) -> anyhow::Result<()> {
    anyhow::ensure!(is_plain_identifier(role), "not a plain role name: {role:?}");
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for statement in [
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        // Tables and sequences the owner creates in later migrations: granted as they appear.
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
        ),
        format!("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}"),
    ] {
        db.execute_unprepared(&statement)
            .await
            .with_context(|| format!("granting the runtime role: {statement}"))?;
    }
    Ok(())
}

/// Begins a write transaction. SQLite: `BEGIN IMMEDIATE`, after queueing on the process's lock
/// for that file ([`Scrittura`]). PostgreSQL: READ COMMITTED; invariants are enforced with row
/// locks and conditional updates.
pub async fn begin_write(db: &DatabaseConnection) -> Result<Scrittura, DbErr> {
    let turno = match db.get_database_backend() {
        DbBackend::Sqlite => Some(turno_sqlite(db).await?),
        _ => None,
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    Ok(Scrittura { txn, _turno: turno })
}

/// A write transaction. On SQLite the writers of this process first queue, in arrival order, on
/// one lock per database file: SQLite admits one writer at a time anyway, and its busy handler
/// waits by sleeping 1, 2, 5 … 100 ms between tries, which under load puts a tail of a hundred
/// milliseconds and more on whoever loses (issue 11: SQLite p99 at 8 clients). Correctness never
/// depends on the queue: `BEGIN IMMEDIATE`, conditional updates and unique keys hold across
/// processes too. End it with `commit` or `rollback` (dropping it rolls back).
pub struct Scrittura {
    txn: DatabaseTransaction,
    _turno: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Scrittura {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for Scrittura {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Scrittura {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<sea_orm::ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<sea_orm::QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}

/// How long a writer waits for its turn on SQLite before the call fails UNAVAILABLE, as long as
/// SQLite's own busy timeout (connect_with).
const SQLITE_TURNO: Duration = Duration::from_secs(30);

/// The turn of this process's writers on one SQLite file.
async fn turno_sqlite(db: &DatabaseConnection) -> Result<tokio::sync::OwnedMutexGuard<()>, DbErr> {
    static TURNI: std::sync::OnceLock<
        std::sync::Mutex<
            std::collections::HashMap<std::path::PathBuf, std::sync::Arc<tokio::sync::Mutex<()>>>,
        >,
    > = std::sync::OnceLock::new();
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let lock = {
        let mut turni = TURNI
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        turni.entry(file).or_default().clone()
    };
    tokio::time::timeout(SQLITE_TURNO, lock.lock_owned())
        .await
        .map_err(|_| DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout))
}

/// Begins a read-only transaction whose statements all see one snapshot of the database, for
/// reads that must agree with each other (sums checked against balances, POR-1). PostgreSQL:
/// `REPEATABLE READ, READ ONLY` (the snapshot is taken at the first statement; a read-only
/// transaction never fails to serialize). SQLite: a deferred `BEGIN`: in WAL mode the first
/// read fixes the snapshot until the end of the transaction and writers are not blocked.
/// End it with `commit` (or drop it).
pub async fn begin_snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = match db.get_database_backend() {
        DbBackend::Postgres => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            ..Default::default()
        },
        // sea-orm only warns about isolation and access modes on SQLite: leave them out.
        _ => TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Deferred),
            ..Default::default()
        },
    };
    db.begin_with_options(options).await
}

/// A statement in the connection's dialect.
pub fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// Is this a unique-constraint violation (on either engine)?
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// Does this error say that the CHECK constraint named `constraint` refused the statement
/// (PostgreSQL's check_violation, 23514)? A statement that relies on a constraint to stop it
/// whole (e.g. a counter past its cap) reads its refusal here.
pub fn is_check_violation(e: &DbErr, constraint: &str) -> bool {
    let sqlx = match e {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(x)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(x)) => x,
        _ => return false,
    };
    match &**sqlx {
        sea_orm::sqlx::Error::Database(d) => d
            .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
            .is_some_and(|pg| pg.code() == "23514" && pg.constraint() == Some(constraint)),
        _ => false,
    }
}

/// Does this error say that the database cannot be reached or cannot serve now, rather than
/// that the statement or the data is wrong? Such errors are answered UNAVAILABLE (retry later),
/// never INTERNAL: no connection within the acquire timeout (pool exhausted, server unreachable
/// or not answering), connection refused, reset or closed, I/O and TLS errors, and on
/// PostgreSQL the statement timeout, the server shutting down or starting up ("cannot connect
/// now"), too many connections, out of resources, the connection-exception class; on SQLite a
/// database still locked after the busy timeout, I/O errors, a full disk, a file that cannot be
/// opened.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(x))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(x))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(x)) => x,
        _ => return false,
    };
    match &**sqlx {
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
        Sqlx::Database(d) => {
            let code = d.code().unwrap_or_default();
            if d.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                pg_unavailable(&code)
            } else {
                code.parse::<i32>().is_ok_and(sqlite_unavailable)
            }
        }
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs of a server that cannot serve now.
fn pg_unavailable(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") // connection exception
        || sqlstate.starts_with("53") // insufficient resources (too many connections, disk full)
        || matches!(
            sqlstate,
            "57014" // query_canceled: our statement_timeout
            | "57P01" // admin_shutdown
            | "57P02" // crash_shutdown
            | "57P03" // cannot_connect_now (starting up, recovering)
            | "57P05" // idle_session_timeout
        )
}

/// SQLite (extended) result codes of a database that cannot serve now.
fn sqlite_unavailable(code: i32) -> bool {
    const BUSY: i32 = 5;
    const IOERR: i32 = 10;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    matches!(code & 0xff, BUSY | IOERR | FULL | CANTOPEN)
}

/// Is the database answering? `SELECT 1` through the pool, within `limit`. Prepared, so that on
/// PostgreSQL a silent server is found by the prompt deadline and its connection abandoned.
pub async fn ping(db: &DatabaseConnection, limit: Duration) -> Result<(), String> {
    let uno = crate::sql::statement(db, "SELECT ? AS uno", vec![1i32.into()]);
    match tokio::time::timeout(limit, db.query_one_raw(uno)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The patched pool (shared/patches/README.md): no round trip of its own, neither on checkout
    /// nor on the way back: no lone Sync (a prepared statement's travels with its Bind, a simple
    /// query's Sync with the query);
    /// upstream sqlx would add a ping (a lone Sync and its reply) at both ends of every statement.
    #[tokio::test]
    async fn a_statement_costs_its_own_round_trip_and_no_other() -> anyhow::Result<()> {
        use crate::testing::proxy::{FaultProxy, address_of, through};
        use crate::testing::{Engine, TestDb};
        use std::sync::atomic::Ordering;
        let Some(t) = TestDb::empty(Engine::Postgres, "pings").await? else {
            eprintln!("skipped: set OCCASIONALI_TEST_PG to run on PostgreSQL");
            return Ok(());
        };
        // PostgreSQL's Sync message alone: a ping, as sqlx sends it (one write, then the reply).
        const SYNC: &[u8] = &[b'S', 0, 0, 0, 4];
        let (proxy, pings) = FaultProxy::counting(address_of(&t.url).await?, SYNC).await?;
        // Plain text, so that the proxy can see the messages.
        let db = connect(&format!("{}?sslmode=disable", through(&t.url, proxy.addr())), 1).await?;
        let prepared =
            || Statement::from_sql_and_values(DbBackend::Postgres, "SELECT $1::int AS n", [7.into()]);
        db.query_one_raw(prepared()).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = pings.load(Ordering::SeqCst);
        const STATEMENTS: usize = 20;
        for _ in 0..STATEMENTS {
            db.execute_unprepared("SELECT 1").await?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            pings.load(Ordering::SeqCst) - before,
            0,
            "simple queries: no ping on checkout nor on release"
        );
        // A prepared statement's own Sync travels with its Bind and Execute, so it is not a
        // lone Sync: still none counted.
        for _ in 0..STATEMENTS {
            db.query_one_raw(prepared()).await?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            pings.load(Ordering::SeqCst) - before,
            0,
            "prepared statements: no ping either"
        );
        close(db, Duration::from_secs(5)).await;
        t.close().await
    }

    /// A pool whose server goes silent (issue 9's black hole) through a proxy, with short
    /// deadlines: prompt 400 ms (the acquire timeout), answers 1.4 s (1 s statement timeout).
    #[cfg(test)]
    async fn silent_pool(
        t: &crate::testing::TestDb,
    ) -> anyhow::Result<(crate::testing::proxy::FaultProxy, DatabaseConnection)> {
        use crate::testing::proxy::{FaultProxy, address_of, through};
        let proxy = FaultProxy::start(address_of(&t.url).await?).await?;
        let settings = PoolSettings {
            size: 2,
            acquire_timeout: Duration::from_millis(400),
            statement_timeout: Some(Duration::from_secs(1)),
        };
        let db = connect_with(&through(&t.url, proxy.addr()), &settings).await?;
        Ok((proxy, db))
    }

    /// A wait the deadlines must end: a hang fails the test instead of stalling it.
    async fn entro<T>(f: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
        tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .map_err(|_| anyhow::anyhow!("still waiting after 10 s: no deadline acted"))
    }

    fn numero(n: i32) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, "SELECT $1::int AS n", [n.into()])
    }

    /// Issue 9 without a ping per checkout: a statement sent to a server that no longer answers
    /// fails UNAVAILABLE within the prompt deadline (its Bind is answered before any work), a
    /// transaction's BEGIN as fast; once the network is back the pool serves again, on new
    /// connections.
    #[tokio::test]
    async fn a_silent_server_fails_statements_and_begins_within_the_prompt_deadline() -> anyhow::Result<()> {
        use crate::testing::proxy::Mode;
        use crate::testing::{Engine, TestDb};
        let Some(t) = TestDb::empty(Engine::Postgres, "silent").await? else {
            eprintln!("skipped: set OCCASIONALI_TEST_PG to run on PostgreSQL");
            return Ok(());
        };
        let (proxy, db) = silent_pool(&t).await?;
        // Both connections open and idle in the pool.
        let (a, b) = tokio::join!(db.begin(), db.begin());
        drop((a?, b?));
        db.query_one_raw(numero(1)).await?;
        assert_eq!(
            ping(&db, Duration::from_secs(1)).await,
            Ok(()),
            "the health probe"
        );
        proxy.set(Mode::BlackHole);
        assert!(ping(&db, Duration::from_secs(1)).await.is_err());
        let started = std::time::Instant::now();
        let e = entro(db.query_one_raw(numero(2)))
            .await?
            .err()
            .ok_or_else(|| anyhow::anyhow!("a silent server answered"))?;
        let took = started.elapsed();
        assert!(is_unavailable(&e), "UNAVAILABLE, not INTERNAL: {e}");
        assert!(
            took < Duration::from_millis(1200),
            "a statement failed after {took:?}"
        );
        let started = std::time::Instant::now();
        let e = entro(db.execute_unprepared("SELECT 1"))
            .await?
            .err()
            .ok_or_else(|| anyhow::anyhow!("a silent server answered a simple query"))?;
        let took = started.elapsed();
        assert!(is_unavailable(&e), "UNAVAILABLE, not INTERNAL: {e}");
        assert!(
            took < Duration::from_millis(1200),
            "a simple query failed after {took:?}"
        );
        let started = std::time::Instant::now();
        let e = entro(db.begin())
            .await?
            .err()
            .ok_or_else(|| anyhow::anyhow!("BEGIN answered"))?;
        let took = started.elapsed();
        assert!(is_unavailable(&e), "UNAVAILABLE, not INTERNAL: {e}");
        assert!(took < Duration::from_millis(1200), "BEGIN failed after {took:?}");
        proxy.set(Mode::Forward);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match db.query_one_raw(numero(3)).await {
                Ok(Some(row)) => {
                    assert_eq!(row.try_get::<i32>("", "n")?, 3);
                    break;
                }
                r => assert!(
                    std::time::Instant::now() < deadline,
                    "not serving after the outage: {r:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        close(db, Duration::from_secs(5)).await;
        t.close().await
    }

    /// The prompt deadline is for liveness, not for work: statements and commits slower than
    /// it, on a live server, finish; only a server silent past the answer deadline (statement
    /// timeout plus the acquire timeout) fails one already running.
    #[tokio::test]
    async fn slow_work_on_a_live_server_finishes_and_a_silence_midway_is_bounded() -> anyhow::Result<()> {
        use crate::testing::proxy::Mode;
        use crate::testing::{Engine, TestDb};
        let Some(t) = TestDb::empty(Engine::Postgres, "lento").await? else {
            eprintln!("skipped: set OCCASIONALI_TEST_PG to run on PostgreSQL");
            return Ok(());
        };
        let (proxy, db) = silent_pool(&t).await?;
        let dormi = |s: f64| {
            Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_sleep($1::float8) IS NULL AS ok",
                [s.into()],
            )
        };
        // Prepared and simple, in and out of a transaction: 0.7 s each, past the 400 ms prompt.
        db.query_one_raw(dormi(0.7)).await?;
        db.execute_unprepared("SELECT pg_sleep(0.7)").await?;
        let txn = db.begin().await?;
        txn.query_one_raw(dormi(0.7)).await?;
        txn.commit().await?;
        // The server's statement timeout still acts first, as an error of its own.
        let e = db
            .query_one_raw(dormi(3.0))
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("answered past the statement timeout"))?;
        assert!(e.to_string().contains("statement timeout"), "{e}");
        // Silent while a statement runs: abandoned at the answer deadline (1 s + 400 ms).
        let started = std::time::Instant::now();
        let (r, ()) = tokio::join!(entro(db.query_one_raw(dormi(0.5))), async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            proxy.set(Mode::BlackHole);
        });
        let took = started.elapsed();
        let e = r?
            .err()
            .ok_or_else(|| anyhow::anyhow!("an answer came through the black hole"))?;
        assert!(is_unavailable(&e), "{e}");
        assert!(
            took >= Duration::from_millis(1300) && took < Duration::from_millis(3000),
            "abandoned after {took:?}"
        );
        proxy.set(Mode::Forward);
        close(db, Duration::from_secs(5)).await;
        t.close().await
    }

    /// What the release ping is for still happens: a transaction dropped without commit or
    /// rollback (a cancelled call) gives its locks back at once, not when its connection is next
    /// used.
    #[tokio::test]
    async fn a_dropped_transaction_still_releases_its_locks_at_once() -> anyhow::Result<()> {
        use crate::testing::{Engine, TestDb};
        let Some(t) = TestDb::empty(Engine::Postgres, "rollback").await? else {
            eprintln!("skipped: set OCCASIONALI_TEST_PG to run on PostgreSQL");
            return Ok(());
        };
        let db = connect(&t.url, 1).await?;
        let other = connect(&t.url, 1).await?;
        let txn = db.begin().await?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(4242)")
            .await?;
        drop(txn);
        let taken = Statement::from_string(DbBackend::Postgres, "SELECT pg_try_advisory_lock(4242) AS preso");
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            let row = other
                .query_one_raw(taken.clone())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no row"))?;
            if row.try_get::<bool>("", "preso")? {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the dropped transaction still holds its lock"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        close(other, Duration::from_secs(5)).await;
        close(db, Duration::from_secs(5)).await;
        t.close().await
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://./data/a.db?mode=rwc").as_deref(),
            Some("./data/a.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
        assert_ne!(advisory_key("anagrafica"), advisory_key("prestazioni"));
    }

    #[test]
    fn outages_are_told_apart_from_bad_statements() {
        use sea_orm::{ConnAcquireErr, RuntimeErr};
        use std::sync::Arc;
        assert!(is_unavailable(&DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)));
        let io = sea_orm::sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(is_unavailable(&DbErr::Conn(RuntimeErr::SqlxError(Arc::new(io)))));
        let timed_out = sea_orm::sqlx::Error::PoolTimedOut;
        assert!(is_unavailable(&DbErr::Query(RuntimeErr::SqlxError(Arc::new(
            timed_out
        )))));
        let not_found = sea_orm::sqlx::Error::RowNotFound;
        assert!(!is_unavailable(&DbErr::Query(RuntimeErr::SqlxError(Arc::new(
            not_found
        )))));
        assert!(!is_unavailable(&DbErr::RecordNotFound("x".into())));
        assert!(!is_unavailable(&DbErr::Custom("bad".into())));
        for code in ["08006", "08001", "57014", "57P01", "57P03", "53300"] {
            assert!(pg_unavailable(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "22003"] {
            assert!(!pg_unavailable(code), "{code}");
        }
        // SQLITE_BUSY, SQLITE_BUSY_TIMEOUT (5 | 3 << 8), SQLITE_IOERR_WRITE (10 | 3 << 8).
        assert!(sqlite_unavailable(5) && sqlite_unavailable(773) && sqlite_unavailable(778));
        // SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_ERROR (1).
        assert!(!sqlite_unavailable(2067) && !sqlite_unavailable(1));
    }
}
