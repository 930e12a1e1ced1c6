//! Schema of the prestazioni database. Money is integer cents (BIGINT) everywhere, hours are
//! minutes (STACK.md). Migrations are append-only.

use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox, OutboxPostponed};
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, blob, blob_null, integer, string, string_null, text,
};

/// The 2017–2023 rows exactly as the first release inserted them: frozen, so editing the
/// domain's code can never make a fresh database differ from an upgraded one (PRE-20).
const SEMI: &str = include_str!("semi_2017_2023.jsonl");

mod prestazione_in_colonne;

use prestazione_in_colonne::PrestazioneInColonne;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(CreatePrestazioni),
            Box::new(SediDelleParti),
            Box::new(AlterOutboxRelay),
            Box::new(RifiutoDellaPrestazione),
            Box::new(PrestazioneInColonne),
            Box::new(RegoleVersionate),
            Box::new(TettoDeiContatori),
            Box::new(OutboxPostponed),
        ]
    }
}

struct CreatePrestazioni;

impl MigrationName for CreatePrestazioni {
    fn name(&self) -> &str {
        "m0001_create_prestazioni"
    }
}

fn index(name: &str, table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table).if_not_exists();
    for c in cols {
        i.col(*c);
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreatePrestazioni {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // PRE-20: one row per year where a figure changes; a year uses the latest row not after it.
        manager
            .create_table(
                Table::create()
                    .table("regole")
                    .if_not_exists()
                    .col(integer("anno").primary_key())
                    .col(text("dati"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for dati in SEMI.lines() {
            let anno = serde_json::from_str::<serde_json::Value>(dati)
                .ok()
                .and_then(|v| v["anno"].as_i64())
                .ok_or_else(|| DbErr::Custom("frozen rule seed without a year".into()))?;
            let q = Query::insert()
                .into_table("regole")
                .columns(["anno", "dati"])
                .values_panic([(anno as i32).into(), dati.into()])
                .to_owned();
            db.execute(&q).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("prestazioni")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("utilizzatore_cf"))
                    .col(string("prestatore_cf"))
                    .col(string("request_id"))
                    .col(blob("richiesta"))
                    .col(string("tipo"))
                    .col(integer("anno"))
                    .col(integer("mese"))
                    .col(string("data"))
                    .col(big_integer("minuti"))
                    .col(big_integer("compenso"))
                    .col(big_integer("totale"))
                    .col(string("stato"))
                    .col(integer("confermata").default(0))
                    .col(integer("reintegrata").default(0))
                    .col(text("quote"))
                    .col(string("payout_order_id").default(""))
                    // PRE-11: the revoca is stored; the wallet's release is still to be confirmed.
                    .col(integer("rilascio_pendente").default(0))
                    .col(blob("dati"))
                    .to_owned(),
            )
            .await?;
        // PRE-18: a request id names one insertion per utilizzatore.
        manager
            .create_index(index(
                "prestazioni_request",
                "prestazioni",
                &["utilizzatore_cf", "request_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "prestazioni_prestatore",
                "prestazioni",
                &["prestatore_cf", "anno"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "prestazioni_mese",
                "prestazioni",
                &["anno", "mese", "stato"],
                false,
            ))
            .await?;
        // PRE-8, PRE-9: one counter per limit, subject and year, raised by a conditional UPDATE in
        // the inserting transaction. The CHECK is the backstop.
        manager
            .create_table(
                Table::create()
                    .table("contatori")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(big_integer("usato").default(0))
                    .check(Check::named("contatori_non_negativo", Expr::col("usato").gte(0)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("pagamenti")
                    .if_not_exists()
                    .col(string("payout_order_id").primary_key())
                    .col(string("prestatore_cf"))
                    .col(integer("anno"))
                    .col(integer("mese"))
                    .col(blob("dati"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mesi_chiusi")
                    .if_not_exists()
                    .col(string("mese").primary_key())
                    .col(big_integer("chiuse_il_ms"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["mesi_chiusi", "pagamenti", "contatori", "prestazioni", "regole"] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// GW-6 / PRE-19: the competent sede of each party at insertion (anagrafica's answer), so that a
/// sede operator's reads are filtered in the query. Nullable: rows inserted before it have no
/// sede and are seen by DG only; a party unknown to the registry has none either.
struct SediDelleParti;

impl MigrationName for SediDelleParti {
    fn name(&self) -> &str {
        "m0002_sedi_delle_parti"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SediDelleParti {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for c in ["sede_utilizzatore", "sede_prestatore"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("prestazioni")
                        .add_column(string_null(c))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in ["sede_utilizzatore", "sede_prestatore"] {
            manager
                .alter_table(Table::alter().table("prestazioni").drop_column(c).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// PRE-18: the answer a REJECTED insertion gave (gRPC code, message and status details, a
/// `RifiutoSalvato`), answered again to a retry of its request id. Nullable: rows refused
/// before it have only their `motivo_rifiuto`.
struct RifiutoDellaPrestazione;

impl MigrationName for RifiutoDellaPrestazione {
    fn name(&self) -> &str {
        "m0003_rifiuto_della_prestazione"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RifiutoDellaPrestazione {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("prestazioni")
                    .add_column(blob_null("rifiuto"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("prestazioni")
                    .drop_column("rifiuto")
                    .to_owned(),
            )
            .await
    }
}

/// PRE-20: rule tables as versioned data. The row in force for a year keeps its provenance
/// (version, origin, reason, author, time: the seeds are version 1 of the first migration), and
/// every publication is kept whole in `regole_pubblicazioni`, with its request id for retries.
struct RegoleVersionate;

impl MigrationName for RegoleVersionate {
    fn name(&self) -> &str {
        "m0005_regole_versionate"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RegoleVersionate {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for mut c in [
            integer("versione").default(1).to_owned(),
            string("origine")
                .default("migrazione m0001_create_prestazioni")
                .to_owned(),
            text("motivo").default("").to_owned(),
            string("autore_cf").default("").to_owned(),
            big_integer_null("pubblicata_il_ms"),
        ] {
            manager
                .alter_table(Table::alter().table("regole").add_column(&mut c).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("regole_pubblicazioni")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("request_id"))
                    .col(integer("anno"))
                    .col(integer("versione"))
                    .col(text("dati"))
                    .col(text("motivo"))
                    .col(string("autore_cf"))
                    .col(string("autore_profilo"))
                    .col(big_integer("pubblicata_il_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "regole_pubblicazioni_request",
                "regole_pubblicazioni",
                &["request_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "regole_pubblicazioni_versione",
                "regole_pubblicazioni",
                &["anno", "versione"],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("regole_pubblicazioni").to_owned())
            .await?;
        for c in ["versione", "origine", "motivo", "autore_cf", "pubblicata_il_ms"] {
            manager
                .alter_table(Table::alter().table("regole").drop_column(c).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// PRE-9 (issue 11): each limit counter keeps the cap its last quota was taken under, and on
/// PostgreSQL a CHECK holds `usato` within it, so that an insertion and its quotas are one
/// statement that the constraint stops whole (`store::prestazioni::inserisci_con_quote`). SQLite
/// cannot add a constraint to a table; there the conditional upsert in a transaction stays.
/// A counter raised without a cap (a contested revoca, PRE-15) has none (NULL).
struct TettoDeiContatori;

pub const CONTATORI_ENTRO_IL_TETTO: &str = "contatori_entro_il_tetto";

impl MigrationName for TettoDeiContatori {
    fn name(&self) -> &str {
        "m0006_tetto_dei_contatori"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for TettoDeiContatori {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("contatori")
                    .add_column(big_integer_null("tetto"))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE contatori ADD CONSTRAINT {CONTATORI_ENTRO_IL_TETTO} \
                     CHECK (tetto IS NULL OR usato <= tetto)"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "ALTER TABLE contatori DROP CONSTRAINT IF EXISTS {CONTATORI_ENTRO_IL_TETTO}"
                ))
                .await?;
        }
        manager
            .alter_table(Table::alter().table("contatori").drop_column("tetto").to_owned())
            .await
    }
}
