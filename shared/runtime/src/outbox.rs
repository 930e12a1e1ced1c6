//! The transactional outbox: an event is written in the same transaction as the change it
//! describes (ARCHITECTURE.md, How the contexts talk), and a relay delivers it at least once.

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, big_pk_auto, blob, string, string_uniq, timestamp_with_time_zone,
};

use occasionali_proto::common::Event;

use crate::error::AppError;

/// The outbox table, the same in every context. Include it in the context's migrator.
pub struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m0000_create_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_uniq("event_id"))
                    .col(string("topic"))
                    .col(string("aggregate_id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(blob("event"))
                    // Delivery bookkeeping for the relay: attempts and the instant (unix ms) it was delivered.
                    .col(big_integer_null("delivered_at_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_undelivered")
                    .table("outbox")
                    .col("delivered_at_ms")
                    .col("id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("outbox").to_owned()).await
    }
}

/// Appends an event inside the caller's transaction. `type_name` is the payload's fully
/// qualified proto name (e.g. `occasionali.anagrafica.v1.SoggettoModificato`).
pub async fn append(
    txn: &impl ConnectionTrait,
    topic: &str,
    aggregate_id: &str,
    occurred_at: DateTime<Utc>,
    type_name: &str,
    payload: &impl Message,
) -> Result<String, AppError> {
    let event_id = uuid::Uuid::now_v7().to_string();
    let event = Event {
        event_id: event_id.clone(),
        topic: topic.to_string(),
        aggregate_id: aggregate_id.to_string(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: occurred_at.timestamp(),
            nanos: occurred_at.timestamp_subsec_nanos() as i32,
        }),
        payload: Some(prost_types::Any {
            type_url: format!("type.googleapis.com/{type_name}"),
            value: payload.encode_to_vec(),
        }),
    };
    let stmt = crate::db::stmt(
        txn,
        match txn.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO outbox (event_id, topic, aggregate_id, occurred_at, event) VALUES ($1, $2, $3, $4, $5)"
            }
            _ => {
                "INSERT INTO outbox (event_id, topic, aggregate_id, occurred_at, event) VALUES (?, ?, ?, ?, ?)"
            }
        },
        vec![
            event_id.clone().into(),
            topic.into(),
            aggregate_id.into(),
            occurred_at.into(),
            event.encode_to_vec().into(),
        ],
    );
    txn.execute_raw(stmt).await?;
    Ok(event_id)
}

/// Reads events in order (tests, the relay).
pub async fn read_all(db: &impl ConnectionTrait) -> Result<Vec<Event>, AppError> {
    let rows = db
        .query_all_raw(crate::db::stmt(
            db,
            "SELECT event FROM outbox ORDER BY id",
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
