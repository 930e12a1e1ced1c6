//! Notifiche's schema. Each migration is frozen once released: a change is a new migration.

use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox, OutboxPostponed};
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{blob, string, string_uniq, timestamp_with_time_zone};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateOutbox),
            Box::new(AlterOutboxRelay),
            Box::new(CreateEventiRicevuti),
            Box::new(CreateNotifiche),
            Box::new(CreateLdScarti),
            Box::new(OutboxPostponed),
        ]
    }
}

struct CreateEventiRicevuti;

impl MigrationName for CreateEventiRicevuti {
    fn name(&self) -> &str {
        "m0002_create_eventi_ricevuti"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEventiRicevuti {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("eventi_ricevuti")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("seq")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(string_uniq("event_id"))
                    .col(string("topic"))
                    .col(string("aggregate_id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(timestamp_with_time_zone("ricevuto_il"))
                    .col(blob("event"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("eventi_ricevuti").to_owned())
            .await
    }
}

/// Contacts and consents (NOT-1), notices and their deliveries (NOT-2, NOT-6), the
/// domestic-work read model (NOT-7), guides and what readers did with them (NOT-3..5), the
/// deleghe whose end is announced (NOT-2). Times are epoch milliseconds.
struct CreateNotifiche;

impl MigrationName for CreateNotifiche {
    fn name(&self) -> &str {
        "m0003_create_notifiche"
    }
}

const TABELLE: &str = "
CREATE TABLE contatti (
    codice_fiscale TEXT PRIMARY KEY,
    cellulare TEXT,
    email TEXT,
    consenso_sms BOOLEAN NOT NULL DEFAULT FALSE,
    consenso_sms_ms BIGINT,
    consenso_email BOOLEAN NOT NULL DEFAULT FALSE,
    consenso_email_ms BIGINT,
    versione_anagrafica BIGINT NOT NULL DEFAULT 0,
    aggiornato_ms BIGINT NOT NULL
);
CREATE TABLE notifiche (
    seq {SEQ},
    id TEXT NOT NULL UNIQUE,
    chiave TEXT NOT NULL UNIQUE,
    codice_fiscale TEXT NOT NULL,
    tipo TEXT NOT NULL,
    titolo TEXT NOT NULL,
    testo TEXT NOT NULL,
    guida_token TEXT,
    event_id TEXT,
    campagna TEXT,
    anno INTEGER,
    trimestre INTEGER,
    creata_ms BIGINT NOT NULL,
    letta_ms BIGINT
);
CREATE INDEX notifiche_per_persona ON notifiche (codice_fiscale, seq);
CREATE INDEX notifiche_per_evento ON notifiche (event_id);
CREATE TABLE consegne (
    seq {SEQ},
    id TEXT NOT NULL UNIQUE,
    notifica_id TEXT NOT NULL,
    codice_fiscale TEXT NOT NULL,
    channel TEXT NOT NULL,
    tipo TEXT NOT NULL,
    state TEXT NOT NULL,
    indirizzo TEXT,
    tentativi INTEGER NOT NULL DEFAULT 0,
    ultimo_errore TEXT,
    riferimento TEXT,
    prossimo_ms BIGINT NOT NULL,
    claimed_until_ms BIGINT,
    creata_ms BIGINT NOT NULL,
    inviata_ms BIGINT,
    event_id TEXT,
    campagna TEXT,
    anno INTEGER,
    trimestre INTEGER,
    UNIQUE (notifica_id, channel)
);
CREATE INDEX consegne_da_fare ON consegne (prossimo_ms) WHERE state IN ('pending', 'retrying');
CREATE INDEX consegne_per_campagna ON consegne (campagna, anno, trimestre, channel, state);
CREATE INDEX consegne_per_persona ON consegne (codice_fiscale, seq);
CREATE TABLE ld_record (
    record_id TEXT PRIMARY KEY,
    importato_ms BIGINT NOT NULL
);
CREATE TABLE ld_datori (
    codice_fiscale TEXT PRIMARY KEY,
    nome TEXT NOT NULL,
    cognome TEXT NOT NULL,
    data_nascita TEXT
);
CREATE TABLE ld_rapporti (
    codice_rapporto TEXT PRIMARY KEY,
    datore_cf TEXT NOT NULL,
    lavoratore_cf TEXT NOT NULL,
    lavoratore_nome TEXT NOT NULL
);
CREATE INDEX ld_rapporti_per_datore ON ld_rapporti (datore_cf);
CREATE TABLE ld_trimestri (
    codice_rapporto TEXT NOT NULL,
    anno INTEGER NOT NULL,
    numero INTEGER NOT NULL,
    stato TEXT NOT NULL,
    dovuti TEXT,
    pagati TEXT,
    PRIMARY KEY (codice_rapporto, anno, numero)
);
CREATE TABLE guide (
    token TEXT PRIMARY KEY,
    codice_fiscale TEXT NOT NULL,
    notifica_id TEXT NOT NULL,
    campagna TEXT NOT NULL,
    anno INTEGER NOT NULL,
    trimestre INTEGER NOT NULL,
    emessa_ms BIGINT NOT NULL,
    scade_ms BIGINT NOT NULL,
    contenuto TEXT NOT NULL,
    voto INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE guida_eventi (
    seq {SEQ},
    token TEXT NOT NULL,
    campagna TEXT NOT NULL,
    anno INTEGER NOT NULL,
    trimestre INTEGER NOT NULL,
    tipo TEXT NOT NULL,
    link TEXT,
    voto INTEGER,
    voto_precedente INTEGER,
    at_ms BIGINT NOT NULL
);
CREATE INDEX guida_eventi_per_campagna ON guida_eventi (campagna, anno, trimestre, tipo);
CREATE TABLE campagne_run (
    seq {SEQ},
    campagna TEXT NOT NULL,
    anno INTEGER NOT NULL,
    trimestre INTEGER NOT NULL,
    destinatari BIGINT NOT NULL,
    notifiche BIGINT NOT NULL,
    dry_run BOOLEAN NOT NULL,
    autore_cf TEXT NOT NULL,
    eseguita_ms BIGINT NOT NULL
);
CREATE TABLE deleghe (
    delega_id TEXT PRIMARY KEY,
    delegante_cf TEXT NOT NULL,
    delegato_cf TEXT NOT NULL,
    fine TEXT,
    revocata BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX deleghe_per_fine ON deleghe (fine);
";

#[async_trait::async_trait]
impl MigrationTrait for CreateNotifiche {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let seq = match db.get_database_backend() {
            DbBackend::Postgres => "BIGSERIAL PRIMARY KEY",
            _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        for statement in TABELLE.replace("{SEQ}", seq).split(';') {
            if !statement.trim().is_empty() {
                db.execute_unprepared(statement).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for t in [
            "deleghe",
            "campagne_run",
            "guida_eventi",
            "guide",
            "ld_trimestri",
            "ld_rapporti",
            "ld_datori",
            "ld_record",
            "consegne",
            "notifiche",
            "contatti",
        ] {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {t}"))
                .await?;
        }
        Ok(())
    }
}

/// NOT-7: every discarded record of an ImportLavoroDomestico stream, in stream order, under the
/// import's id: an archive of 100,000 bad records does not fit an answer (issue 12).
struct CreateLdScarti;

impl MigrationName for CreateLdScarti {
    fn name(&self) -> &str {
        "m0004_create_ld_scarti"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateLdScarti {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE IF NOT EXISTS ld_scarti (
                    id_import TEXT NOT NULL,
                    posizione BIGINT NOT NULL,
                    record_id TEXT NOT NULL,
                    motivo TEXT NOT NULL,
                    registrato_ms BIGINT NOT NULL,
                    PRIMARY KEY (id_import, posizione)
                )",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS ld_scarti")
            .await?;
        Ok(())
    }
}
