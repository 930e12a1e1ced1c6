//! Integration tests of the anagrafica context (SPEC §1, ANA-1..ANA-9, and GW-3 errors): the
//! real gRPC service over a real database, on SQLite and on PostgreSQL (set
//! `OCCASIONALI_TEST_PG=1`), with a fake prestazioni service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares `$name::sqlite` and `$name::postgres`, running `async fn $name(&TestDb)`.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(occasionali_runtime::storage_test!(occasionali_anagrafica::Migrator, "anagrafica", $name, $name);)*
    };
}

mod common;

mod accesso;
mod concorrenza;
mod liste;
mod modifiche;
mod registrazione;
