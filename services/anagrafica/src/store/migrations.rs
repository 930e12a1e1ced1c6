//! Schema of the anagrafica database. Migrations are append-only: a change is a new one.

use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox, OutboxPostponed};
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
            Box::new(AddLegaleRappresentante),
            Box::new(OutboxPostponed),
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

/// ANA-8 / LAO-1 (issue 13): an organisation's legal representative as a queryable column, so
/// the organisations a person represents are found by index; existing rows filled from their
/// document.
pub(super) struct AddLegaleRappresentante;

impl MigrationName for AddLegaleRappresentante {
    fn name(&self) -> &str {
        "m0003_add_legale_rappresentante"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddLegaleRappresentante {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("soggetti")
                    .add_column(
                        ColumnDef::new("legale_rappresentante_cf")
                            .string()
                            .null()
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("soggetti_legale_rappresentante")
                    .table("soggetti")
                    .col("legale_rappresentante_cf")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let q = Query::select()
            .columns(["cf", "dati"])
            .from("soggetti")
            .and_where(Expr::col("natura").eq("organizzazione"))
            .to_owned();
        for row in db.query_all(&q).await? {
            let cf: String = row.try_get("", "cf")?;
            let s = super::decode(&row).map_err(|e| DbErr::Custom(e.to_string()))?;
            let u = Query::update()
                .table("soggetti")
                .value(
                    "legale_rappresentante_cf",
                    s.legale_rappresentante().map(str::to_string),
                )
                .and_where(Expr::col("cf").eq(cf))
                .to_owned();
            db.execute(&u).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
