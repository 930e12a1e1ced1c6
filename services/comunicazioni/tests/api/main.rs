//! Integration tests of the comunicazioni context (SPEC §4, LAO-0..LAO-11, and GW-3 errors):
//! the real gRPC service over a real database, on SQLite and on PostgreSQL (set
//! `OCCASIONALI_TEST_PG=1`). Receipts are read back with poppler's `pdftotext`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares `$name::sqlite` and `$name::postgres`, running `async fn $name(&TestDb)`.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(occasionali_runtime::storage_test!(occasionali_comunicazioni::Migrator, "comunicazioni", $name, $name);)*
    };
}

mod common;

mod accesso;
mod catena;
mod concorrenza;
mod eventi;
mod invio;
mod ricevuta;
mod soglia;
