//! The events received from the other contexts, once each (NOT-2).

use chrono::{DateTime, Utc};
use occasionali_proto::common::Event;
use occasionali_runtime::AppError;
use prost::Message;
use sea_orm::ConnectionTrait;

/// Keeps an event once: `false` when its id was already received (a redelivery).
pub async fn ricevi(db: &impl ConnectionTrait, e: &Event, adesso: DateTime<Utc>) -> Result<bool, AppError> {
    Ok(!ricevi_molti(db, &[e], adesso).await?.is_empty())
}

/// Keeps many events at once (one statement per few thousand): the ids of those not received
/// before. An id twice in `eventi` is kept once.
pub async fn ricevi_molti(
    db: &impl ConnectionTrait,
    eventi: &[&Event],
    adesso: DateTime<Utc>,
) -> Result<std::collections::HashSet<String>, AppError> {
    let righe = eventi
        .iter()
        .map(|e| {
            let occurred = e
                .occurred_at
                .as_ref()
                .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.clamp(0, 999_999_999) as u32))
                .unwrap_or(adesso);
            vec![
                e.event_id.clone().into(),
                e.topic.clone().into(),
                e.aggregate_id.clone().into(),
                occurred.into(),
                adesso.into(),
                e.encode_to_vec().into(),
            ]
        })
        .collect();
    super::inserisci_righe(
        db,
        "eventi_ricevuti",
        &[
            "event_id",
            "topic",
            "aggregate_id",
            "occurred_at",
            "ricevuto_il",
            "event",
        ],
        righe,
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get("", "event_id")?))
    .collect()
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
