//! Who migrates (issue 14): `db::ensure_migrated` refuses a database behind the binary, naming
//! the first pending migration, without creating anything (a DML-only role could not), and
//! accepts it once migrated; `grant_runtime_role` is a no-op on SQLite and refuses a role name it
//! could not splice into SQL. On SQLite always, on PostgreSQL with `OCCASIONALI_TEST_PG`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use occasionali_runtime::db;
use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox, OutboxPostponed};
use occasionali_runtime::testing::{Engine, TestDb};
use sea_orm::ConnectionTrait;
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// A context's migrations, as small as one can be: the shared outbox's.
struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(AlterOutboxRelay),
            Box::new(OutboxPostponed),
        ]
    }
}

async fn tables(t: &TestDb) -> i64 {
    let sql = match t.engine {
        Engine::Sqlite => "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'",
        Engine::Postgres => {
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
        }
    };
    t.db.query_one_raw(sea_orm::Statement::from_string(t.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

#[tokio::test]
async fn pending_migrations_are_refused_until_migrated() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(t) = TestDb::empty(engine, "schema").await.unwrap() else {
            eprintln!("skipped on {engine:?}: set OCCASIONALI_TEST_PG to run on PostgreSQL");
            continue;
        };
        let e = db::ensure_migrated::<Migrator>(&t.db, "prova").await.unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("3 pending migration(s)"), "{engine:?}: {e}");
        assert!(e.contains("occasionali migrate prova"), "{engine:?}: {e}");
        assert_eq!(tables(&t).await, 0, "{engine:?}: the check created nothing");

        db::migrate::<Migrator>(&t.db, "prova").await.unwrap();
        db::ensure_migrated::<Migrator>(&t.db, "prova").await.unwrap();
        // SQLite has no roles: nothing to grant, nothing refused.
        if engine == Engine::Sqlite {
            db::grant_runtime_role(&t.db, "occasionali_runtime")
                .await
                .unwrap();
        }
        t.close().await.unwrap();
    }
}

#[test]
fn only_plain_role_names_are_spliced() {
    assert!(db::is_plain_identifier("occasionali_runtime"));
    assert!(db::is_plain_identifier("r2"));
    for bad in [
        "",
        "2r",
        "Occasionali",
        "a-b",
        "a b",
        "x; DROP TABLE outbox",
        "\"q\"",
        &"r".repeat(64),
    ] {
        assert!(!db::is_plain_identifier(bad), "{bad:?}");
    }
}
