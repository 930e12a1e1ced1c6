//! Integration tests of the prestazioni context (SPEC §3): the real gRPC service over a real
//! database, with the real anagrafica and portafoglio it asks, on SQLite and on PostgreSQL (set
//! `OCCASIONALI_TEST_PG=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares `$name::sqlite` and `$name::postgres`, running `async fn $name(&TestDb)`.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(occasionali_runtime::storage_test!(occasionali_prestazioni::Migrator, "prestazioni", $name, $name);)*
    };
}

mod common;

mod accesso;
mod ciclo;
mod concorrenza;
mod elenco;
mod inserimento;
mod regole;
