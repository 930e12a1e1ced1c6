//! Integration tests of the deleghe context (SPEC §5, DEL-1, DEL-2, DEL-4, and GW-3 errors): the
//! real gRPC service over a real database, on SQLite and on PostgreSQL (set
//! `OCCASIONALI_TEST_PG=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares `$name::sqlite` and `$name::postgres`, running `async fn $name(&TestDb)`.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(occasionali_runtime::storage_test!(occasionali_deleghe::Migrator, "deleghe", $name, $name);)*
    };
}

mod common;

mod creazione;
mod liste;
mod revoca;
mod verifica;
