//! Schema of the portafoglio database. Money is integer cents (BIGINT) everywhere (STACK.md:
//! no float path, the same arithmetic on SQLite and PostgreSQL). Migrations are append-only: a
//! change is a new one.

use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox, OutboxPostponed};
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, integer, string, string_uniq, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

use crate::domain::TipoConto;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateLedger),
            Box::new(AlterOutboxRelay),
            Box::new(CreateScartiImport),
            Box::new(OutboxPostponed),
        ]
    }
}

/// POR-2: every discarded record of an ImportF24 stream, in stream order, under the import's
/// id: a day of 100,000 bad records does not fit an answer (issue 12).
struct CreateScartiImport;

impl MigrationName for CreateScartiImport {
    fn name(&self) -> &str {
        "m0002_create_scarti_import"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateScartiImport {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("scarti_import")
                    .if_not_exists()
                    .col(string("id_import"))
                    .col(big_integer("posizione"))
                    .col(string("id_pagamento"))
                    .col(text("motivo"))
                    .col(timestamp_with_time_zone("registrato_il"))
                    .primary_key(Index::create().col("id_import").col("posizione"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("scarti_import").if_exists().to_owned())
            .await
    }
}

struct CreateLedger;

impl MigrationName for CreateLedger {
    fn name(&self) -> &str {
        "m0001_create_ledger"
    }
}

fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table).if_not_exists();
    for c in cols {
        i.col(*c);
    }
    i.to_owned()
}

fn unique(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = index(name, table, cols);
    i.unique();
    i
}

/// `col` in the list of string literals.
fn in_codes(col: &'static str, codes: &[&'static str]) -> Expr {
    Expr::col(col).is_in(codes.iter().map(|c| String::from(*c)))
}

/// POR-1: one balance row per account, a cache of its entries kept in the transaction that
/// posts them; the platform's accounts exist from the start. The CHECKs are the last line of
/// defence of POR-8: a wallet's available, reserved and held balances never go below zero, its
/// debt never above.
async fn conti(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let non_negativi = [
        TipoConto::Disponibile.code(),
        TipoConto::Riservato.code(),
        TipoConto::RimborsoRichiesto.code(),
    ];
    manager
        .create_table(
            Table::create()
                .table("conti")
                .if_not_exists()
                .col(string("id").primary_key())
                .col(string("tipo"))
                .col(string("utilizzatore_cf"))
                .col(string("tipo_portafoglio"))
                .col(big_integer("saldo").default(0))
                .check(Check::named(
                    "conti_saldo_non_negativo",
                    in_codes("tipo", &non_negativi)
                        .not()
                        .or(Expr::col("saldo").gte(0)),
                ))
                .check(Check::named(
                    "conti_debito_non_positivo",
                    Expr::col("tipo")
                        .ne(TipoConto::Debito.code())
                        .or(Expr::col("saldo").lte(0)),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "conti_portafoglio",
            "conti",
            &["utilizzatore_cf", "tipo_portafoglio"],
        ))
        .await?;
    let mut seed = Query::insert();
    seed.into_table("conti")
        .columns(["id", "tipo", "utilizzatore_cf", "tipo_portafoglio", "saldo"]);
    for t in TipoConto::PIATTAFORMA {
        seed.values_panic([
            crate::domain::Conto::Piattaforma(t).id().into(),
            t.code().into(),
            "".into(),
            "".into(),
            0i64.into(),
        ]);
    }
    seed.on_conflict(OnConflict::column("id").do_nothing().to_owned());
    manager.exec_stmt(seed).await?;
    Ok(())
}

/// POR-1: the append-only journal. Amount positive, two different accounts.
async fn giornale(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("movimenti")
                .if_not_exists()
                .col(big_pk_auto("seq"))
                .col(string_uniq("id"))
                .col(timestamp_with_time_zone("registrato_il"))
                .col(string("conto_addebito"))
                .col(string("conto_accredito"))
                .col(big_integer("importo"))
                .col(string("causale"))
                .col(string("riferimento"))
                .col(string("storno_di"))
                .check(Check::named(
                    "movimenti_importo_positivo",
                    Expr::col("importo").gt(0),
                ))
                .check(Check::named(
                    "movimenti_conti_diversi",
                    Expr::col("conto_addebito").ne(Expr::col("conto_accredito")),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .name("movimenti_conto_addebito")
                        .from_col("conto_addebito")
                        .to_tbl("conti")
                        .to_col("id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("movimenti_conto_accredito")
                        .from_col("conto_accredito")
                        .to_tbl("conti")
                        .to_col("id"),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "movimenti_addebito",
            "movimenti",
            &["conto_addebito", "seq"],
        ))
        .await?;
    manager
        .create_index(index(
            "movimenti_accredito",
            "movimenti",
            &["conto_accredito", "seq"],
        ))
        .await?;
    manager
        .create_index(index("movimenti_riferimento", "movimenti", &["riferimento"]))
        .await?;
    Ok(())
}

/// Posted movements are never updated or deleted, whoever connects (POR-1).
async fn giornale_immutabile(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(
                "CREATE OR REPLACE FUNCTION movimenti_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'POR-1: posted movements are never updated or deleted'; END $$",
            )
            .await?;
            db.execute_unprepared("DROP TRIGGER IF EXISTS movimenti_append_only ON movimenti")
                .await?;
            db.execute_unprepared(
                "CREATE TRIGGER movimenti_append_only BEFORE UPDATE OR DELETE ON movimenti \
                 FOR EACH ROW EXECUTE FUNCTION movimenti_append_only()",
            )
            .await?;
        }
        _ => {
            db.execute_unprepared(
                "CREATE TRIGGER IF NOT EXISTS movimenti_no_update BEFORE UPDATE ON movimenti \
                 BEGIN SELECT RAISE(ABORT, 'POR-1: posted movements are never updated'); END",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER IF NOT EXISTS movimenti_no_delete BEFORE DELETE ON movimenti \
                 BEGIN SELECT RAISE(ABORT, 'POR-1: posted movements are never deleted'); END",
            )
            .await?;
        }
    }
    Ok(())
}

/// POR-2 / POR-3 / POR-7: versamenti, unique per payment id.
async fn versamenti(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("versamenti")
                .if_not_exists()
                .col(big_pk_auto("seq"))
                .col(string_uniq("id"))
                .col(string_uniq("id_pagamento"))
                .col(string("canale"))
                .col(string("cf_versante"))
                .col(string("codice_tributo"))
                .col(string("tipo_atteso"))
                .col(integer("anno"))
                .col(string("riferimento_a"))
                .col(string("riferimento_b"))
                .col(string("iuv"))
                .col(big_integer("importo"))
                .col(string("data_versamento"))
                .col(timestamp_with_time_zone("ricevuto_il"))
                .col(string("stato"))
                .col(string("utilizzatore_cf"))
                .col(string("tipo_portafoglio"))
                .col(string("modalita"))
                .col(string("abbinato_da_cf"))
                .col(text("nota_abbinamento"))
                .col(timestamp_with_time_zone_null("abbinato_il"))
                .col(string("sede"))
                .col(big_integer("importo_stornato"))
                .col(string("motivo_non_abbinato"))
                .col(text("impronta"))
                .check(Check::named(
                    "versamenti_importo_positivo",
                    Expr::col("importo").gt(0),
                ))
                .check(Check::named(
                    "versamenti_stornato",
                    Expr::col("importo_stornato")
                        .gte(0)
                        .and(Expr::col("importo_stornato").lte(Expr::col("importo"))),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index("versamenti_coda", "versamenti", &["stato", "sede", "seq"]))
        .await?;
    manager
        .create_index(index(
            "versamenti_portafoglio",
            "versamenti",
            &["utilizzatore_cf", "tipo_portafoglio", "data_versamento"],
        ))
        .await?;
    Ok(())
}

/// POR-4: reservations, unique per prestazione.
async fn riserve(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("riserve")
                .if_not_exists()
                .col(string("prestazione_id").primary_key())
                .col(string("utilizzatore_cf"))
                .col(string("tipo_portafoglio"))
                .col(string("prestatore_cf"))
                .col(string("data_prestazione"))
                .col(big_integer("mese"))
                .col(big_integer("compenso"))
                .col(big_integer("contributi_ivs"))
                .col(big_integer("premio_inail"))
                .col(big_integer("oneri_gestione"))
                .col(big_integer("totale"))
                .col(string("stato"))
                .col(big_integer("debito"))
                .col(timestamp_with_time_zone("riservata_il"))
                .col(timestamp_with_time_zone_null("rilasciata_il"))
                .col(timestamp_with_time_zone_null("consumata_il"))
                .col(string("payout_order_id"))
                .check(Check::named(
                    "riserve_totale",
                    Expr::col("totale").eq(Expr::col("compenso")
                        .add(Expr::col("contributi_ivs"))
                        .add(Expr::col("premio_inail"))
                        .add(Expr::col("oneri_gestione"))),
                ))
                .check(Check::named("riserve_totale_positivo", Expr::col("totale").gt(0)))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "riserve_payout",
            "riserve",
            &["stato", "mese", "prestatore_cf"],
        ))
        .await?;
    manager
        .create_index(index(
            "riserve_portafoglio",
            "riserve",
            &["utilizzatore_cf", "tipo_portafoglio", "data_prestazione"],
        ))
        .await?;
    manager
        .create_index(index("riserve_ordine", "riserve", &["payout_order_id"]))
        .await?;
    Ok(())
}

/// POR-5: one run per month, one order per prestatore per month.
async fn payout(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("payout_runs")
                .if_not_exists()
                .col(integer("anno"))
                .col(integer("mese"))
                .col(timestamp_with_time_zone("avviato_il"))
                .col(timestamp_with_time_zone_null("completato_il"))
                .primary_key(Index::create().col("anno").col("mese"))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table("payout_orders")
                .if_not_exists()
                .col(big_pk_auto("seq"))
                .col(string_uniq("id"))
                .col(string("prestatore_cf"))
                .col(integer("anno"))
                .col(integer("mese"))
                .col(string("data_pagamento"))
                .col(big_integer("importo_lordo"))
                .col(big_integer("commissione"))
                .col(big_integer("importo_netto"))
                .col(string("metodo"))
                .col(string("iban"))
                .col(string("sede"))
                .col(timestamp_with_time_zone("eseguito_il"))
                .check(Check::named(
                    "payout_orders_netto",
                    Expr::col("importo_netto")
                        .eq(Expr::col("importo_lordo").sub(Expr::col("commissione")))
                        .and(Expr::col("importo_netto").gte(0)),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(unique(
            "payout_orders_prestatore_mese",
            "payout_orders",
            &["prestatore_cf", "anno", "mese"],
        ))
        .await?;
    manager
        .create_index(index(
            "payout_orders_mese",
            "payout_orders",
            &["anno", "mese", "seq"],
        ))
        .await?;
    Ok(())
}

/// POR-7: rimborsi, unique per client request id.
async fn rimborsi(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("rimborsi")
                .if_not_exists()
                .col(big_pk_auto("seq"))
                .col(string_uniq("id"))
                .col(string_uniq("request_id"))
                .col(string("richiedente_cf"))
                .col(string("utilizzatore_cf"))
                .col(string("tipo_portafoglio"))
                .col(big_integer("importo_richiesto"))
                .col(string("iban_richiesto"))
                .col(big_integer("importo_pagato"))
                .col(string("iban_pagato"))
                .col(string("stato"))
                .col(timestamp_with_time_zone("richiesto_il"))
                .col(timestamp_with_time_zone_null("deciso_il"))
                .col(string("deciso_da_cf"))
                .col(text("nota"))
                .col(string("sede"))
                .check(Check::named(
                    "rimborsi_importi",
                    Expr::col("importo_richiesto")
                        .gt(0)
                        .and(Expr::col("importo_pagato").gte(0))
                        .and(Expr::col("importo_pagato").lte(Expr::col("importo_richiesto"))),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "rimborsi_utilizzatore",
            "rimborsi",
            &["utilizzatore_cf", "seq"],
        ))
        .await?;
    manager
        .create_index(index("rimborsi_sede", "rimborsi", &["sede", "seq"]))
        .await?;
    Ok(())
}

/// POR-7: storni of wrong F24s, unique per client request id.
async fn storni(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("storni")
                .if_not_exists()
                .col(big_pk_auto("seq"))
                .col(string_uniq("id"))
                .col(string_uniq("request_id"))
                .col(string("versamento_id"))
                .col(string("tipo"))
                .col(big_integer("importo"))
                .col(string("iban"))
                .col(string("destinazione_cf"))
                .col(string("destinazione_tipo"))
                .col(string("operatore_cf"))
                .col(text("nota"))
                .col(timestamp_with_time_zone("eseguito_il"))
                .check(Check::named(
                    "storni_importo_positivo",
                    Expr::col("importo").gt(0),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index("storni_versamento", "storni", &["versamento_id"]))
        .await?;
    manager
        .create_index(index(
            "storni_destinazione",
            "storni",
            &["destinazione_cf", "destinazione_tipo"],
        ))
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for CreateLedger {
    /// Released history: these steps, in this order, emit exactly the statements they always
    /// did; a change to the schema is a new migration.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        conti(manager).await?;
        giornale(manager).await?;
        giornale_immutabile(manager).await?;
        versamenti(manager).await?;
        riserve(manager).await?;
        payout(manager).await?;
        rimborsi(manager).await?;
        storni(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "storni",
            "rimborsi",
            "payout_orders",
            "payout_runs",
            "riserve",
            "versamenti",
            "movimenti",
            "conti",
        ] {
            manager
                .drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
