//! The transactional outbox: an event is written in the same transaction as the change it
//! describes (ARCHITECTURE.md, How the contexts talk), and a relay delivers it at least once.

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Value};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, big_pk_auto, blob, string, string_uniq, timestamp_with_time_zone,
};

use occasionali_proto::common::Event;

use crate::context::Context;
use crate::error::AppError;
use crate::identity::Identity;

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

/// The relay's bookkeeping (issue 9): what a row is and where it goes, its attempts, its lease,
/// its last error and its final failed state. Added columns have defaults, so rows written
/// before this migration are events for their subscribers, queued from the start.
pub struct AlterOutboxRelay;

impl MigrationName for AlterOutboxRelay {
    fn name(&self) -> &str {
        "m0001_outbox_relay"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AlterOutboxRelay {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            ColumnDef::new("kind")
                .string()
                .not_null()
                .default("event")
                .to_owned(),
            ColumnDef::new("destination")
                .string()
                .not_null()
                .default(Context::Notifiche.name())
                .to_owned(),
            ColumnDef::new("method")
                .string()
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new("origin").text().null().to_owned(),
            ColumnDef::new("attempts")
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new("next_attempt_ms")
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new("claimed_until_ms").big_integer().null().to_owned(),
            ColumnDef::new("last_error").text().null().to_owned(),
            ColumnDef::new("failed_at_ms").big_integer().null().to_owned(),
            ColumnDef::new("created_at_ms")
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
        ];
        for mut c in columns {
            manager
                .alter_table(Table::alter().table("outbox").add_column(&mut c).to_owned())
                .await?;
        }
        let db = manager.get_connection();
        // Rows queued before the relay existed: their age counts from now.
        db.execute_unprepared(&format!(
            "UPDATE outbox SET created_at_ms = {} WHERE created_at_ms = 0",
            now_ms()
        ))
        .await?;
        // The relay scans only what waits (both engines support partial indexes).
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) \
             WHERE delivered_at_ms IS NULL AND failed_at_ms IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS outbox_pending_by_destination ON outbox (destination, id) \
             WHERE delivered_at_ms IS NULL AND failed_at_ms IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS outbox_undelivered_by_aggregate ON outbox (destination, aggregate_id, id) \
             WHERE delivered_at_ms IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// The rows whose delivery was postponed (a failed attempt's backoff, a destination not yet
/// reachable): the only ones that stop later rows of their destination, so the relay looks them
/// up by index instead of walking every row waiting (issue 11). A new row's next attempt is its
/// creation; only a postponement moves it later.
pub struct OutboxPostponed;

impl MigrationName for OutboxPostponed {
    fn name(&self) -> &str {
        "m0002_outbox_postponed"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OutboxPostponed {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS outbox_postponed ON outbox (destination, id) \
                 WHERE delivered_at_ms IS NULL AND failed_at_ms IS NULL \
                 AND next_attempt_ms > created_at_ms",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS outbox_postponed")
            .await?;
        Ok(())
    }
}

/// The outbox migrations, in order: every context's migrator starts with these.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(CreateOutbox),
        Box::new(AlterOutboxRelay),
        Box::new(OutboxPostponed),
    ]
}

/// Wall-clock milliseconds: the relay's scheduling is about delivery, not business dates, so it
/// never follows the platform clock (which `occasionali dev` can move).
pub fn now_ms() -> i64 {
    occasionali_kernel::Clock::now(&occasionali_kernel::SystemClock).timestamp_millis()
}

/// Every event's subscribers. Notifiche ingests every event (NOT-2: it decides what is worth a
/// notice), so no topic is without one.
const SUBSCRIBERS: &[Context] = &[Context::Notifiche];

// `append` writes one row per subscriber and nothing else: an event with no subscriber would
// vanish from the outbox, so "every topic has a subscriber" is checked when compiling. Whoever
// routes topics separately must keep that true (or store unsubscribed events again).
const _: () = assert!(!SUBSCRIBERS.is_empty(), "every event needs a subscriber");

/// Who receives the events of a topic: the contexts whose internal service ingests them.
pub fn subscribers(_topic: &str) -> &'static [Context] {
    SUBSCRIBERS
}

fn envelope(
    event_id: &str,
    topic: &str,
    aggregate_id: &str,
    occurred_at: DateTime<Utc>,
    type_name: &str,
    payload: &impl Message,
) -> Event {
    Event {
        event_id: event_id.to_string(),
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
    }
}

/// One row of the outbox as written.
struct Row<'a> {
    key: &'a str,
    kind: &'static str,
    destination: &'a str,
    method: &'a str,
    origin: Option<String>,
    event: &'a Event,
    occurred: DateTime<Utc>,
}

const COLONNE: &str = "event_id, topic, aggregate_id, occurred_at, event, kind, destination, method, \
                       origin, created_at_ms, next_attempt_ms";
const COLONNE_VALORI: &str = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";

/// The values of one row, in [`COLONNE`]'s order.
fn valori_riga(row: Row<'_>, event: Vec<u8>, now: i64) -> [Value; 11] {
    [
        row.key.into(),
        row.event.topic.clone().into(),
        row.event.aggregate_id.clone().into(),
        row.occurred.into(),
        event.into(),
        row.kind.into(),
        row.destination.into(),
        row.method.into(),
        row.origin.into(),
        now.into(),
        now.into(),
    ]
}

async fn insert(txn: &impl ConnectionTrait, row: Row<'_>) -> Result<bool, AppError> {
    let sql =
        format!("INSERT INTO outbox ({COLONNE}) VALUES ({COLONNE_VALORI}) ON CONFLICT (event_id) DO NOTHING");
    let event = row.event.encode_to_vec();
    let stmt = crate::sql::statement(txn, &sql, valori_riga(row, event, now_ms()).into());
    Ok(txn.execute_raw(stmt).await?.rows_affected() > 0)
}

/// Appends an event inside the caller's transaction, once for each subscriber of its topic
/// (the relay delivers each copy to its subscriber's ingest RPC). `type_name` is the payload's
/// fully qualified proto name (e.g. `occasionali.anagrafica.v1.SoggettoModificato`).
pub async fn append(
    txn: &impl ConnectionTrait,
    topic: &str,
    aggregate_id: &str,
    occurred_at: DateTime<Utc>,
    type_name: &str,
    payload: &impl Message,
) -> Result<String, AppError> {
    let event_id = uuid::Uuid::now_v7().to_string();
    let event = envelope(&event_id, topic, aggregate_id, occurred_at, type_name, payload);
    // Never empty (checked at compile time, see `SUBSCRIBERS`): the first row carries the
    // event's own id as its key.
    for (key, ctx) in copie(&event_id, topic) {
        insert(txn, riga_evento(&key, ctx, &event, occurred_at)).await?;
    }
    Ok(event_id)
}

/// An event as [`append`] takes it, in one value.
pub struct Evento<'a, M: Message> {
    pub topic: &'a str,
    pub aggregate_id: &'a str,
    pub occurred_at: DateTime<Utc>,
    /// The payload's fully qualified proto name.
    pub type_name: &'a str,
    pub payload: &'a M,
}

/// One `UPDATE` (plain SQL with `?` placeholders, as [`crate::sql::statement`] takes it) and,
/// only when it changed a row, `evento` for every subscriber, atomically; whether it changed
/// one. On PostgreSQL this is one statement (the update in a `WITH`, the outbox rows selected
/// from what it returned) sent on its own, without `BEGIN` and `COMMIT`: a saga step that is
/// one round trip instead of four (issue 11). On SQLite, a write transaction as [`append`]'s
/// callers open.
pub async fn aggiorna_con_evento<M: Message>(
    db: &DatabaseConnection,
    update: &str,
    valori: Vec<Value>,
    evento: Evento<'_, M>,
) -> Result<bool, AppError> {
    if db.get_database_backend() != DbBackend::Postgres {
        let txn = crate::db::begin_write(db).await?;
        let cambiata = txn
            .execute_raw(crate::sql::statement(&*txn, update, valori))
            .await?
            .rows_affected()
            == 1;
        if !cambiata {
            txn.rollback().await?;
            return Ok(false);
        }
        append(
            &*txn,
            evento.topic,
            evento.aggregate_id,
            evento.occurred_at,
            evento.type_name,
            evento.payload,
        )
        .await?;
        txn.commit().await?;
        return Ok(true);
    }
    let event_id = uuid::Uuid::now_v7().to_string();
    let event = envelope(
        &event_id,
        evento.topic,
        evento.aggregate_id,
        evento.occurred_at,
        evento.type_name,
        evento.payload,
    );
    let bytes = event.encode_to_vec();
    let now = now_ms();
    let mut valori = valori;
    let mut righe = Vec::new();
    for (key, ctx) in copie(&event_id, evento.topic) {
        righe.push(format!("SELECT {COLONNE_VALORI} FROM cambio"));
        valori.extend(valori_riga(
            riga_evento(&key, ctx, &event, evento.occurred_at),
            bytes.clone(),
            now,
        ));
    }
    let sql = format!(
        "WITH cambio AS ({update} RETURNING 1) INSERT INTO outbox ({COLONNE}) {} \
         ON CONFLICT (event_id) DO NOTHING",
        righe.join(" UNION ALL ")
    );
    let scritte = db
        .execute_raw(crate::sql::statement(db, &sql, valori))
        .await?
        .rows_affected();
    Ok(scritte > 0)
}

/// One row per subscriber of `topic`, each with its key: the event's own id for the first, the
/// id and the subscriber's name for the others; the event inside keeps its one id (consumers
/// dedupe on it).
fn copie(event_id: &str, topic: &str) -> Vec<(String, Context)> {
    subscribers(topic)
        .iter()
        .enumerate()
        .map(|(i, ctx)| match i {
            0 => (event_id.to_string(), *ctx),
            _ => (format!("{event_id}>{}", ctx.name()), *ctx),
        })
        .collect()
}

fn riga_evento<'a>(key: &'a str, ctx: Context, event: &'a Event, occurred: DateTime<Utc>) -> Row<'a> {
    Row {
        key,
        kind: KIND_EVENT,
        destination: ctx.name(),
        method: ctx.ingest_method().unwrap_or_default(),
        origin: None,
        event,
        occurred,
    }
}

pub const KIND_EVENT: &str = "event";
pub const KIND_COMMAND: &str = "command";

/// A saga step for another context (ARCHITECTURE.md: release after a revocation, reinstatement,
/// marking paid): the request message of one of its internal RPCs, delivered at least once by
/// the relay until it answers OK. The destination must be idempotent on the request's own key.
pub struct Comando<'a, M: Message> {
    /// Idempotency key of the command itself: appending the same key twice writes one row.
    pub key: String,
    pub destination: Context,
    /// The full gRPC path, e.g. `/occasionali.portafoglio.v1.PortafoglioInternalService/ReleaseFunds`.
    pub method: &'static str,
    /// A short name for operators, e.g. `portafoglio.release_funds`.
    pub topic: &'static str,
    pub aggregate_id: &'a str,
    /// The request's fully qualified proto name.
    pub type_name: &'static str,
    pub request: &'a M,
    /// The person whose request caused the step: its scope travels with the call.
    pub origin: Option<&'a Identity>,
}

/// Appends a command inside the caller's transaction; `false` when its key was already there.
pub async fn append_command<M: Message>(
    txn: &impl ConnectionTrait,
    occurred_at: DateTime<Utc>,
    c: Comando<'_, M>,
) -> Result<bool, AppError> {
    let event = envelope(
        &c.key,
        c.topic,
        c.aggregate_id,
        occurred_at,
        c.type_name,
        c.request,
    );
    let origin = match c.origin {
        Some(o) => Some(serde_json::to_string(o).map_err(AppError::internal)?),
        None => None,
    };
    insert(
        txn,
        Row {
            key: &c.key,
            kind: KIND_COMMAND,
            destination: c.destination.name(),
            method: c.method,
            origin,
            event: &event,
            occurred: occurred_at,
        },
    )
    .await
}

/// Reads events in order (tests, the relay).
pub async fn read_all(db: &impl ConnectionTrait) -> Result<Vec<Event>, AppError> {
    let rows = db
        .query_all_raw(crate::db::stmt(
            db,
            "SELECT event FROM outbox WHERE kind = 'event' ORDER BY id",
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

#[cfg(test)]
mod tests {
    use sea_orm_migration::MigratorTrait;

    use super::*;
    use crate::testing::{Engine, TestDb};

    struct Migrator;

    impl MigratorTrait for Migrator {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            migrations()
        }
    }

    async fn eventi(db: &DatabaseConnection) -> Vec<(String, String)> {
        let rows = db
            .query_all_raw(crate::sql::statement(
                db,
                "SELECT event_id, destination FROM outbox ORDER BY id",
                vec![],
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        rows.iter()
            .map(|r| {
                (
                    r.try_get::<String>("", "event_id").unwrap_or_default(),
                    r.try_get::<String>("", "destination").unwrap_or_default(),
                )
            })
            .collect()
    }

    /// A saga step written with its event: the event exists exactly when the update changed
    /// its row, on both engines (PostgreSQL: one statement; SQLite: one transaction).
    #[tokio::test]
    async fn an_update_and_its_event_are_written_together_or_not_at_all() {
        for engine in [Engine::Sqlite, Engine::Postgres] {
            let Some(t) = TestDb::new::<Migrator>(engine, "outbox")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
            else {
                continue;
            };
            t.db.execute_unprepared("CREATE TABLE saga (id TEXT PRIMARY KEY, stato TEXT NOT NULL)")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            t.db.execute_unprepared("INSERT INTO saga (id, stato) VALUES ('a', 'PENDING')")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let payload = Event::default();
            let passo = |id: &'static str| {
                let t = &t;
                let payload = &payload;
                async move {
                    aggiorna_con_evento(
                        &t.db,
                        "UPDATE saga SET stato = ? WHERE id = ? AND stato = ?",
                        vec!["ACCEPTED".into(), id.into(), "PENDING".into()],
                        Evento {
                            topic: "test.saga.accettata",
                            aggregate_id: id,
                            occurred_at: Utc::now(),
                            type_name: "occasionali.common.v1.Event",
                            payload,
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                }
            };
            assert!(passo("a").await, "{engine:?}: PENDING → ACCEPTED");
            let scritti = eventi(&t.db).await;
            assert_eq!(
                scritti.len(),
                subscribers("test.saga.accettata").len(),
                "{engine:?}"
            );
            assert_eq!(scritti[0].1, "notifiche");
            // No longer PENDING, or no such row: nothing changes, no event.
            assert!(!passo("a").await, "{engine:?}: already ACCEPTED");
            assert!(!passo("b").await, "{engine:?}: no row");
            assert_eq!(eventi(&t.db).await, scritti, "{engine:?}");
            t.close().await.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
