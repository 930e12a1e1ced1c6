//! Schema of the deleghe database. Migrations are append-only: a change is a new one.

use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox, OutboxPostponed};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_pk_auto, date, date_null, string, string_null, string_uniq, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateDeleghe),
            Box::new(AlterOutboxRelay),
            Box::new(OutboxPostponed),
        ]
    }
}

struct CreateDeleghe;

impl MigrationName for CreateDeleghe {
    fn name(&self) -> &str {
        "m0001_create_deleghe"
    }
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &str,
    cols: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    manager.create_index(i.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for CreateDeleghe {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("deleghe")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_uniq("id"))
                    .col(string("delegante_cf"))
                    .col(string("delegato_cf"))
                    .col(string("ruolo"))
                    // Rome dates, both inclusive; no end = open-ended (DEL-1).
                    .col(date("dal"))
                    .col(date_null("al"))
                    .col(timestamp_with_time_zone("creata_il"))
                    .col(string("creata_da_cf"))
                    .col(text("nota"))
                    .col(string_null("request_id"))
                    .col(timestamp_with_time_zone_null("revocata_il"))
                    .col(string_null("revocata_da_cf"))
                    .col(text_null("motivo_revoca"))
                    .to_owned(),
            )
            .await?;
        // DEL-2: the check reads the deleghe of one (delegato, delegante) pair.
        index(
            manager,
            "deleghe_coppia",
            "deleghe",
            &["delegato_cf", "delegante_cf", "ruolo"],
            false,
        )
        .await?;
        index(
            manager,
            "deleghe_delegante",
            "deleghe",
            &["delegante_cf", "seq"],
            false,
        )
        .await?;
        index(
            manager,
            "deleghe_delegato",
            "deleghe",
            &["delegato_cf", "seq"],
            false,
        )
        .await?;
        // AIP-155: a request id names one creation per author (NULLs do not collide).
        index(
            manager,
            "deleghe_request_id",
            "deleghe",
            &["creata_da_cf", "request_id"],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_deleghe")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_uniq("id"))
                    // Empty for a DENIED check that found no delega.
                    .col(string("delega_id"))
                    .col(string("azione"))
                    .col(string("autore_cf"))
                    .col(timestamp_with_time_zone("eseguita_il"))
                    // The Rome date of eseguita_il, for the periodo filter on both engines.
                    .col(date("giorno"))
                    .col(string("rpc_path"))
                    .col(string("delegante_cf"))
                    .col(string("delegato_cf"))
                    .col(string("ruolo"))
                    // Empty for CREATED/REVOKED.
                    .col(string("esito"))
                    .col(text("nota"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "audit_delega",
            "audit_deleghe",
            &["delega_id", "seq"],
            false,
        )
        .await?;
        index(
            manager,
            "audit_delegante",
            "audit_deleghe",
            &["delegante_cf", "seq"],
            false,
        )
        .await?;
        index(
            manager,
            "audit_delegato",
            "audit_deleghe",
            &["delegato_cf", "seq"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_deleghe").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("deleghe").to_owned())
            .await
    }
}
