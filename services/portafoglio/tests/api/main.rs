//! Integration tests of the portafoglio context (SPEC §2, POR-1..POR-8, and GW-3 errors): the
//! real gRPC service over a real database and the real anagrafica it asks, on SQLite and on
//! PostgreSQL (set `OCCASIONALI_TEST_PG=1`). Every scenario ends by checking the ledger: it
//! sums to zero and every cached balance equals its entries (POR-1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Declares `$name::sqlite` and `$name::postgres`, running `async fn $name(&TestDb)`.
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        $(occasionali_runtime::storage_test!(occasionali_portafoglio::Migrator, "portafoglio", $name, $name);)*
    };
}

mod common;

mod accesso;
mod concorrenza;
mod payout;
mod rimborsi;
mod riserve;
mod storni;
mod versamenti;
