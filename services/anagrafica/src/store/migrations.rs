//! Schema of the anagrafica database. Migrations are append-only: a change is a new one.

use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, boolean, string, string_uniq, text, timestamp_with_time_zone,
};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreateRegistry),
            Box::new(CreateAccessi),
            // The relay's columns (issue 9), after every migration already applied.
            Box::new(AlterOutboxRelay),
        ]
    }
}

struct CreateRegistry;

impl MigrationName for CreateRegistry {
    fn name(&self) -> &str {
        "m0001_create_registry"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRegistry {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("soggetti")
                    .if_not_exists()
                    .col(string("cf").primary_key())
                    .col(string("sede"))
                    .col(string("natura"))
                    .col(string("nominativo"))
                    .col(boolean("is_prestatore"))
                    .col(boolean("is_utilizzatore_lf"))
                    .col(boolean("is_utilizzatore_cpo"))
                    .col(boolean("is_intermediario"))
                    .col(big_integer("versione"))
                    .col(text("dati"))
                    .col(timestamp_with_time_zone("creato_il"))
                    .col(timestamp_with_time_zone("aggiornato_il"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("soggetti_sede")
                    .table("soggetti")
                    .col("sede")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("modifiche")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(string_uniq("id"))
                    .col(string("cf"))
                    .col(timestamp_with_time_zone("eseguita_il"))
                    .col(string("autore_cf"))
                    .col(string("autore_profilo"))
                    .col(string("azione"))
                    .col(text("campi"))
                    .col(text("nota"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("modifiche_cf_seq")
                    .table("modifiche")
                    .col("cf")
                    .col("seq")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("modifiche").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("soggetti").to_owned())
            .await
    }
}

/// GW-5: operators' reads of registry data.
pub(super) struct CreateAccessi;

impl MigrationName for CreateAccessi {
    fn name(&self) -> &str {
        "m0002_create_accessi"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAccessi {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("accessi")
                    .if_not_exists()
                    .col(big_pk_auto("seq"))
                    .col(timestamp_with_time_zone("eseguito_il"))
                    .col(string("autore_cf"))
                    .col(string("autore_profilo"))
                    .col(string("autore_sede"))
                    .col(string("azione"))
                    .col(string("cf"))
                    .col(text("dettaglio"))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [("accessi_autore", "autore_cf"), ("accessi_cf", "cf")] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("accessi")
                        .col(col)
                        .col("seq")
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("accessi").to_owned())
            .await
    }
}
