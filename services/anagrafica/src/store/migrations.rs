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
            Box::new(AddLegaleRappresentante),
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

/// Issue 13: the organisations a person legally represents are looked up by that person's CF
/// (who acts for an organisation; POR-3's sede of an F24 paid by a representative). The column
/// copies the document's `legale_rappresentante_cf` (empty for persons) and is backfilled here.
pub(super) struct AddLegaleRappresentante;

impl MigrationName for AddLegaleRappresentante {
    fn name(&self) -> &str {
        "m0004_add_legale_rappresentante"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddLegaleRappresentante {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("soggetti")
                    .add_column(string("legale_rappresentante_cf").default(""))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let righe = db
            .query_all(
                &Query::select()
                    .columns(["cf", "dati"])
                    .from("soggetti")
                    .and_where(Expr::col("natura").eq("organizzazione"))
                    .to_owned(),
            )
            .await?;
        for r in righe {
            let cf: String = r.try_get("", "cf")?;
            let dati: String = r.try_get("", "dati")?;
            let s: crate::domain::Soggetto = serde_json::from_str(&dati)
                .map_err(|e| DbErr::Migration(format!("corrupt soggetto document {cf}: {e}")))?;
            let lr = s.legale_rappresentante().unwrap_or_default().to_string();
            db.execute(
                &Query::update()
                    .table("soggetti")
                    .value("legale_rappresentante_cf", lr)
                    .and_where(Expr::col("cf").eq(cf))
                    .to_owned(),
            )
            .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("soggetti_legale_rappresentante")
                    .table("soggetti")
                    .col("legale_rappresentante_cf")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("soggetti_legale_rappresentante")
                    .table("soggetti")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("soggetti")
                    .drop_column("legale_rappresentante_cf")
                    .to_owned(),
            )
            .await
    }
}
