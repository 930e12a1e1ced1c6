//! Schema of the comunicazioni database. Migrations are append-only: a change is a new one.

use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox, OutboxPostponed};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, date, integer, string, string_null, string_uniq, text, timestamp_with_time_zone,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateComunicazioni),
            Box::new(AlterOutboxRelay),
            Box::new(OutboxPostponed),
        ]
    }
}

struct CreateComunicazioni;

impl MigrationName for CreateComunicazioni {
    fn name(&self) -> &str {
        "m0001_create_comunicazioni"
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

/// One row per communication P, V or A, never updated but for `codice_successivo`, set once
/// when a V or A replaces it. The document (`dati`, JSON) is what was sent; the other columns
/// are its keys for searches, chains and totals. Money in integer cents.
async fn crea_comunicazioni(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("comunicazioni")
                .if_not_exists()
                .col(big_pk_auto("seq"))
                .col(string_uniq("codice"))
                .col(string("tipo"))
                .col(string_null("codice_precedente"))
                .col(string_null("codice_successivo"))
                .col(string("codice_origine"))
                .col(string("committente_cf"))
                .col(string("committente_denominazione"))
                .col(string("lavoratore_cf"))
                .col(string("lavoratore_nominativo"))
                .col(string("compilatore_cf"))
                .col(date("data_invio"))
                .col(timestamp_with_time_zone("inviata_il"))
                .col(date("data_inizio"))
                .col(integer("anno_inizio"))
                .col(integer("durata_giorni"))
                .col(big_integer("compenso_cents"))
                .col(string_null("request_key"))
                .col(string_null("request_impronta"))
                .col(text("dati"))
                .to_owned(),
        )
        .await
}

/// The indexes of the communications: chains, request ids, searches and totals.
async fn indici_comunicazioni(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // LAO-11 backstop: at most one communication replaces a given one, so a chain never
    // forks even if two writers got past the conditional update.
    manager
        .create_index(
            index(
                "comunicazioni_precedente",
                "comunicazioni",
                &["codice_precedente"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("comunicazioni_request_key", "comunicazioni", &["request_key"])
                .unique()
                .to_owned(),
        )
        .await?;
    // LAO-2 searches, newest first, and LAO-1 restrictions.
    for (name, cols) in [
        ("comunicazioni_committente", &["committente_cf", "seq"][..]),
        ("comunicazioni_lavoratore", &["lavoratore_cf", "seq"][..]),
        ("comunicazioni_compilatore", &["compilatore_cf", "seq"][..]),
        ("comunicazioni_origine", &["codice_origine", "seq"][..]),
        (
            "comunicazioni_lavoratore_anno",
            &["lavoratore_cf", "anno_inizio"][..],
        ),
    ] {
        manager.create_index(index(name, "comunicazioni", cols)).await?;
    }
    Ok(())
}

/// Committenti bound to an access profile (LAO-7): a company that sent through its own azienda
/// profile; from then on its data in a variation comes from that profile.
async fn crea_committenti_vincolati(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table("committenti_vincolati")
                .if_not_exists()
                .col(string("cf").primary_key())
                .col(timestamp_with_time_zone("vincolato_il"))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for CreateComunicazioni {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crea_comunicazioni(manager).await?;
        indici_comunicazioni(manager).await?;
        crea_committenti_vincolati(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("committenti_vincolati").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("comunicazioni").to_owned())
            .await
    }
}
