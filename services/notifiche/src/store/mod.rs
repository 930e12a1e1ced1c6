//! Notifiche's tables: the events received from the other contexts, once each.

use chrono::{DateTime, Utc};
use occasionali_proto::common::Event;
use occasionali_runtime::AppError;
use occasionali_runtime::outbox::{AlterOutboxRelay, CreateOutbox};
use occasionali_runtime::sql::dialect;
use prost::Message;
use sea_orm::ConnectionTrait;
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

/// Keeps an event once: `false` when its id was already received (a redelivery).
pub async fn ricevi(db: &impl ConnectionTrait, e: &Event, adesso: DateTime<Utc>) -> Result<bool, AppError> {
    let occurred = e
        .occurred_at
        .as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.clamp(0, 999_999_999) as u32))
        .unwrap_or(adesso);
    let sql = dialect(
        db,
        "INSERT INTO eventi_ricevuti (event_id, topic, aggregate_id, occurred_at, ricevuto_il, event) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
    );
    let r = db
        .execute_raw(occasionali_runtime::db::stmt(
            db,
            &sql,
            vec![
                e.event_id.clone().into(),
                e.topic.clone().into(),
                e.aggregate_id.clone().into(),
                occurred.into(),
                adesso.into(),
                e.encode_to_vec().into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Every event received, in the order received (tests, and the notices built from them).
pub async fn eventi_ricevuti(db: &impl ConnectionTrait) -> Result<Vec<Event>, AppError> {
    let rows = db
        .query_all_raw(occasionali_runtime::db::stmt(
            db,
            "SELECT event FROM eventi_ricevuti ORDER BY seq",
            vec![],
        ))
        .await?;
    rows.into_iter()
        .map(|r| {
            let bytes: Vec<u8> = r.try_get("", "event")?;
            Event::decode(bytes.as_slice()).map_err(AppError::internal)
        })
        .collect()
}
