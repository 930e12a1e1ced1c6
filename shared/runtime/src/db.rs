//! Database access shared by every context: connect (SQLite or PostgreSQL), migrate, and
//! begin write transactions that serialise writers the same way on both engines.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

/// Opens a pool. SQLite files get WAL with `synchronous=FULL` (money is written: every
/// acknowledged commit must survive a crash, POR-8), a busy timeout and foreign keys.
pub async fn connect(url: &str, pool_size: u32) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(pool_size.max(1))
        .min_connections(0)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    Ok(Database::connect(options).await?)
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
    let db = connect(url, 1).await?;
    migrate::<M>(&db, context).await?;
    db.close().await?;
    Ok(())
}

/// Begins a write transaction. SQLite: `BEGIN IMMEDIATE`, so concurrent writers queue on the
/// busy timeout instead of failing with "database is locked" (STACK.md). PostgreSQL: READ
/// COMMITTED; invariants are enforced with row locks and conditional updates.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
