//! The relay (ARCHITECTURE.md, How the contexts talk): delivers the rows of a context's outbox —
//! events for their subscribers' ingest RPCs, saga commands for another context's internal
//! service — at least once, over gRPC, as the `sistema` identity carrying the origin's.
//!
//! Every process that serves a context runs one ([`spawn`]). Replicas share the work: a batch is
//! claimed with a lease in one short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite
//! has one writer), delivered outside any transaction, then marked. A failure is retried with
//! exponential backoff and jitter, its attempts and last error recorded, until a bounded number
//! of attempts or a refusal that retrying cannot change: then the row is failed, for an operator
//! to list and retry (DG). A subscriber that does not exist yet (UNIMPLEMENTED, or not
//! configured) is waited for without counting attempts, and rows to one destination are not
//! overtaken by later ones while they wait: they are delivered in order when it comes.

use crate::identity::RequestIdentity;
use crate::limiti::Limitato;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

use chrono::DateTime;
use prost::Message;
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use tokio::task::JoinHandle;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

use occasionali_proto::common::outbox_internal_service_server::{
    OutboxInternalService, OutboxInternalServiceServer,
};
use occasionali_proto::common::{self as pb, Event};

use crate::context::Context;
use crate::error::AppError;
use crate::identity::{IDENTITY_HEADER, Identity, InternalTokens, Profile, SystemOnlyInterceptor};
use crate::outbox::{KIND_COMMAND, KIND_EVENT, now_ms};
use crate::pagina::{Pagina, impronta};
use crate::shutdown::Shutdown;
use crate::sql::dialect;

/// How the relay paces itself. The defaults suit production; tests shorten them.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// Rows claimed at once.
    pub batch: u64,
    /// How often an idle relay looks for work.
    pub poll: Duration,
    /// First retry delay; doubled at each attempt up to `max_backoff`, with jitter.
    pub base_backoff: Duration,
    /// The longest wait between two attempts: a destination back from an outage gets its
    /// messages within this (the saga finishes "within a minute of the wallet being back").
    pub max_backoff: Duration,
    /// Attempts before a row is failed for an operator to look at (~50 min at the longest wait).
    pub max_attempts: i32,
    /// How long a claim holds before another replica may take the row again.
    pub lease: Duration,
    /// Deadline of one delivery.
    pub call_deadline: Duration,
    /// Delivered rows older than this are removed (consumers dedupe in their own stores).
    pub retention: Duration,
}

impl Default for RelayOptions {
    fn default() -> RelayOptions {
        RelayOptions {
            // Under full load a relay step waits its turn at every await, so a step must carry
            // much (issue 11): a run of 256 events is one IngestEvents call.
            batch: 256,
            poll: Duration::from_millis(200),
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            max_attempts: 100,
            lease: Duration::from_secs(60),
            call_deadline: Duration::from_secs(5),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A row `o` waits while an earlier row of its destination waits for its backoff (no
/// overtaking), or while any earlier row about the same aggregate is undelivered — claimed
/// elsewhere, or failed and waiting for an operator: a release and a later reinstatement of one
/// prestazione never cross, even on two replicas. One placeholder: the current instant.
///
/// Two probes, each answered by its own partial index, so a claim costs the same whatever the
/// backlog (one condition with an OR walked every earlier pending row for every candidate:
/// 30 ms per claim at a few hundred waiting, quadratic beyond; issue 11): the same aggregate
/// (`outbox_undelivered_by_aggregate`), and a postponed row — one whose next attempt was moved
/// past its creation, which only a failed or waiting delivery does (`outbox_postponed`).
const NOT_BLOCKED: &str = "NOT EXISTS (SELECT 1 FROM outbox w WHERE w.destination = o.destination \
     AND w.aggregate_id = o.aggregate_id AND w.id < o.id AND w.delivered_at_ms IS NULL) \
     AND NOT EXISTS (SELECT 1 FROM outbox w WHERE w.destination = o.destination AND w.id < o.id \
     AND w.delivered_at_ms IS NULL AND w.failed_at_ms IS NULL \
     AND w.next_attempt_ms > w.created_at_ms AND w.next_attempt_ms > ?)";

/// One context's relay.
#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    context: Context,
    channels: HashMap<Context, Channel>,
    tokens: InternalTokens,
    options: RelayOptions,
}

/// A claimed row.
#[derive(Clone, Debug)]
struct Claimed {
    id: i64,
    kind: String,
    destination: String,
    method: String,
    origin: Option<String>,
    attempts: i32,
    event: Vec<u8>,
}

/// What a delivery attempt came to.
#[derive(Debug)]
/// An [`Outcome`] without its message, for the metrics.
enum Kind {
    Refused,
    Wait,
    Other,
}

enum Outcome {
    Delivered,
    /// Try again later; counts as an attempt.
    Retry(String),
    /// The subscriber is not there yet: wait, without counting.
    Wait(String),
    /// Retrying cannot change the answer: failed at once.
    Refused(String),
}

impl Relay {
    /// A relay for `context`'s database, delivering to the contexts at `endpoints`.
    pub fn new(
        db: DatabaseConnection,
        context: Context,
        endpoints: &HashMap<Context, String>,
        tokens: InternalTokens,
        options: RelayOptions,
    ) -> anyhow::Result<Relay> {
        let mut channels = HashMap::new();
        for (ctx, url) in endpoints {
            channels.insert(*ctx, crate::client::lazy_channel(url)?);
        }
        Ok(Relay {
            db,
            context,
            channels,
            tokens,
            options,
        })
    }

    /// Runs until `shutdown`: claims, delivers, marks; sleeps `poll` when idle.
    pub fn spawn(self, shutdown: Shutdown) -> JoinHandle<()> {
        tokio::spawn(async move {
            let stop = shutdown.wait();
            tokio::pin!(stop);
            let mut since_purge = 0u32;
            loop {
                let busy = match self.step().await {
                    Ok(n) => n as u64 >= self.options.batch,
                    Err(e) => {
                        tracing::warn!(context = %self.context, error = %e, "relay step failed; retrying");
                        false
                    }
                };
                since_purge += 1;
                if since_purge >= 3000 {
                    since_purge = 0;
                    if let Err(e) = self.purge().await {
                        tracing::warn!(context = %self.context, error = %e, "relay purge failed");
                    }
                }
                let pause = if busy { Duration::ZERO } else { self.options.poll };
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        })
    }

    /// One cycle: claims a batch and delivers it. Returns how many rows were claimed.
    pub async fn step(&self) -> Result<usize, AppError> {
        if !self.has_work().await? {
            return Ok(0);
        }
        let mut rows = self.claim().await?;
        rows.sort_by_key(|r| r.id);
        let n = rows.len();
        // In order within a destination; destinations in parallel.
        let mut groups: Vec<(String, Vec<Claimed>)> = Vec::new();
        for r in rows {
            match groups.iter_mut().find(|(d, _)| *d == r.destination) {
                Some((_, g)) => g.push(r),
                None => groups.push((r.destination.clone(), vec![r])),
            }
        }
        let results = futures::future::join_all(groups.into_iter().map(|(_, g)| self.deliver_group(g))).await;
        for r in results {
            r?;
        }
        Ok(n)
    }

    async fn deliver_group(&self, rows: Vec<Claimed>) -> Result<(), AppError> {
        let mut delivered = Vec::new();
        let mut rest = rows.into_iter().peekable();
        while let Some(row) = rest.next() {
            // A run of events for a subscriber that takes them together goes in one call.
            let outcomes = match lotto(row, &mut rest) {
                Lotto::Uno(row) => {
                    let outcome = self.deliver(&row).await;
                    vec![(row, outcome)]
                }
                Lotto::Eventi(method, rows) => self.deliver_events(method, rows).await,
            };
            let mut outcomes = outcomes.into_iter();
            for (row, outcome) in outcomes.by_ref() {
                match outcome {
                    Outcome::Delivered => delivered.push(row.id),
                    other => {
                        self.mark_delivered(&delivered).await?;
                        delivered.clear();
                        self.mark_failed_attempt(&row, other).await?;
                        // Rows behind a failed one keep their turn: released for the next cycle.
                        let left: Vec<i64> = outcomes.map(|(r, _)| r.id).chain(rest.map(|r| r.id)).collect();
                        return self.release(&left).await;
                    }
                }
            }
        }
        self.mark_delivered(&delivered).await
    }

    /// One IngestEvents call for a run of events (issue 11): each row's outcome, in order; a
    /// row the subscriber did not look at (after one it did not ingest) is a retry.
    async fn deliver_events(&self, method: &'static str, rows: Vec<Claimed>) -> Vec<(Claimed, Outcome)> {
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            match Event::decode(row.event.as_slice()) {
                Ok(e) => events.push(e),
                // `lotto` takes only rows that decode.
                Err(e) => {
                    return rows
                        .into_iter()
                        .map(|r| (r, Outcome::Retry(format!("undecodable: {e}"))))
                        .collect();
                }
            }
        }
        let Some((destination, channel)) = Context::from_str(&rows[0].destination)
            .ok()
            .and_then(|d| self.channels.get(&d).map(|c| (d, c.clone())))
        else {
            let why = format!("{} is not configured", rows[0].destination);
            return rows
                .into_iter()
                .map(|r| (r, Outcome::Wait(why.clone())))
                .collect();
        };
        let body = pb::IngestEventsRequest { events }.encode_to_vec();
        let answer = self
            .call(destination, channel, method, body, None)
            .await
            .and_then(|bytes| {
                pb::IngestEventsResponse::decode(bytes.as_slice())
                    .map_err(|e| Status::internal(e.to_string()))
            });
        match answer {
            Err(s) => rows.into_iter().map(|r| (r, classify(KIND_EVENT, &s))).collect(),
            Ok(answer) => {
                let mut outcomes = answer.outcomes.into_iter();
                rows.into_iter()
                    .map(|r| {
                        let outcome = match outcomes.next() {
                            Some(o) if o.code == Code::Ok as i32 => Outcome::Delivered,
                            Some(o) => classify(KIND_EVENT, &Status::new(Code::from_i32(o.code), o.message)),
                            None => Outcome::Retry("not looked at: an earlier event was not ingested".into()),
                        };
                        (r, outcome)
                    })
                    .collect()
            }
        }
    }

    /// Delivers one row now, by its key, if it is due and nothing earlier about its aggregate
    /// waits (the command of a request just committed: its effect is usually there when the
    /// request answers). Whatever happens, the row stays the relay's to finish: this only
    /// spares the wait for the next cycle.
    pub async fn deliver_now(&self, key: &str) {
        if let Err(e) = self.try_deliver_now(key).await {
            tracing::debug!(context = %self.context, error = %e, "immediate delivery skipped; the relay will deliver");
        }
    }

    async fn try_deliver_now(&self, key: &str) -> Result<(), AppError> {
        for row in self.claim_due(Some(key), 1).await? {
            self.deliver_group(vec![row]).await?;
        }
        Ok(())
    }

    async fn has_work(&self) -> Result<bool, AppError> {
        let now = now_ms();
        let sql = dialect(
            &self.db,
            &format!(
                "SELECT o.id FROM outbox o WHERE o.delivered_at_ms IS NULL AND o.failed_at_ms IS NULL \
                 AND o.next_attempt_ms <= ? AND (o.claimed_until_ms IS NULL OR o.claimed_until_ms < ?) \
                 AND {NOT_BLOCKED} LIMIT 1"
            ),
        );
        let row = self
            .db
            .query_one_raw(crate::db::stmt(
                &self.db,
                &sql,
                vec![now.into(), now.into(), now.into()],
            ))
            .await?;
        Ok(row.is_some())
    }

    /// Claims up to `batch` due rows with a lease. A row waiting for its backoff is not
    /// overtaken by later rows of its destination.
    async fn claim(&self) -> Result<Vec<Claimed>, AppError> {
        self.claim_due(None, self.options.batch).await
    }

    /// Leases up to `limit` due rows (only the row of `key`, when given) that nothing earlier
    /// blocks ([`NOT_BLOCKED`]), in one short write transaction.
    async fn claim_due(&self, key: Option<&str>, limit: u64) -> Result<Vec<Claimed>, AppError> {
        let now = now_ms();
        let until = now + self.options.lease.as_millis() as i64;
        let lock = match self.db.get_database_backend() {
            DbBackend::Postgres => "FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let by_key = if key.is_some() { "AND o.event_id = ?" } else { "" };
        let sql = dialect(
            &self.db,
            &format!(
                "UPDATE outbox SET claimed_until_ms = ? WHERE id IN (\
                 SELECT o.id FROM outbox o WHERE o.delivered_at_ms IS NULL AND o.failed_at_ms IS NULL \
                 {by_key} AND o.next_attempt_ms <= ? \
                 AND (o.claimed_until_ms IS NULL OR o.claimed_until_ms < ?) \
                 AND {NOT_BLOCKED} \
                 ORDER BY o.id LIMIT {limit} {lock}) \
                 RETURNING id, kind, destination, method, origin, attempts, event"
            ),
        );
        let mut values: Vec<sea_orm::Value> = vec![until.into()];
        if let Some(k) = key {
            values.push(k.into());
        }
        values.extend([now.into(), now.into(), now.into()]);
        let txn = crate::db::begin_write(&self.db).await?;
        let rows = txn.query_all_raw(crate::db::stmt(&txn, &sql, values)).await?;
        txn.commit().await?;
        rows.into_iter()
            .map(|r| {
                Ok(Claimed {
                    id: r.try_get("", "id")?,
                    kind: r.try_get("", "kind")?,
                    destination: r.try_get("", "destination")?,
                    method: r.try_get("", "method")?,
                    origin: r.try_get("", "origin")?,
                    attempts: r.try_get("", "attempts")?,
                    event: r.try_get("", "event")?,
                })
            })
            .collect()
    }

    async fn deliver(&self, row: &Claimed) -> Outcome {
        let event = match Event::decode(row.event.as_slice()) {
            Ok(e) => e,
            Err(e) => return Outcome::Refused(format!("undecodable row: {e}")),
        };
        let Ok(destination) = Context::from_str(&row.destination) else {
            return Outcome::Refused(format!("unknown destination {:?}", row.destination));
        };
        let Some(channel) = self.channels.get(&destination) else {
            return Outcome::Wait(format!("{destination} is not configured"));
        };
        let body = if row.kind == KIND_COMMAND {
            event.payload.map(|p| p.value).unwrap_or_default()
        } else {
            // Every ingest RPC takes `{ occasionali.common.v1.Event event = 1; }`.
            IngestBody { event: Some(event) }.encode_to_vec()
        };
        if row.method.is_empty() {
            return Outcome::Wait(format!("{destination} has no ingest RPC yet"));
        }
        let origin: Option<Identity> = row.origin.as_deref().and_then(|o| serde_json::from_str(o).ok());
        match self
            .call(destination, channel.clone(), &row.method, body, origin.as_ref())
            .await
        {
            Ok(_) => Outcome::Delivered,
            Err(s) => classify(&row.kind, &s),
        }
    }

    async fn call(
        &self,
        destination: Context,
        channel: Channel,
        method: &str,
        body: Vec<u8>,
        origin: Option<&Identity>,
    ) -> Result<Vec<u8>, Status> {
        // A client span (the trace context injected below names it as the destination's
        // parent) and rpc.client.duration for every delivery (crate::richiesta).
        crate::richiesta::in_uscita(method, async move {
            let path = http::uri::PathAndQuery::try_from(method.to_string())
                .map_err(|e| Status::invalid_argument(format!("bad method {method:?}: {e}")))?;
            let mut request = Request::new(body);
            request.set_timeout(self.options.call_deadline);
            // Signed by this process for the destination alone (issue 14).
            let token = self.tokens.system_call(destination, origin)?;
            request.metadata_mut().insert(IDENTITY_HEADER, token);
            crate::client::inject_trace(request.metadata_mut());
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(format!("not reachable: {e}")))?;
            let answer: Response<Vec<u8>> = grpc.unary(request, path, RawCodec).await?;
            Ok(answer.into_inner())
        })
        .await
    }

    async fn mark_delivered(&self, ids: &[i64]) -> Result<(), AppError> {
        if ids.is_empty() {
            return Ok(());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = dialect(
            &self.db,
            &format!(
                "UPDATE outbox SET delivered_at_ms = ?, claimed_until_ms = NULL, attempts = attempts + 1, \
                 last_error = NULL WHERE id IN ({list})"
            ),
        );
        self.write(&sql, vec![now_ms().into()]).await?;
        crate::metriche::relay_deliveries(self.context, "delivered", ids.len() as u64);
        Ok(())
    }

    async fn mark_failed_attempt(&self, row: &Claimed, outcome: Outcome) -> Result<(), AppError> {
        let now = now_ms();
        let outcome_kind = match &outcome {
            Outcome::Refused(_) => Kind::Refused,
            Outcome::Wait(_) => Kind::Wait,
            _ => Kind::Other,
        };
        let (attempts, error, failed, wait) = match outcome {
            Outcome::Delivered => return Ok(()),
            Outcome::Wait(e) => (row.attempts, e, false, self.options.max_backoff),
            Outcome::Retry(e) => {
                let n = row.attempts + 1;
                (n, e, n >= self.options.max_attempts, self.backoff(n))
            }
            Outcome::Refused(e) => (row.attempts + 1, e, true, Duration::ZERO),
        };
        // What the marking below records, for the relay's failure metrics.
        let esito = match (&outcome_kind, failed) {
            (Kind::Refused, _) => "refused",
            (_, true) => "failed",
            (Kind::Wait, _) => "waiting",
            _ => "retried",
        };
        let error: String = error.chars().take(500).collect();
        if failed {
            tracing::warn!(context = %self.context, row = row.id, destination = %row.destination, attempts, error = %error, "outbox row failed: an operator must retry it");
        } else {
            tracing::debug!(context = %self.context, row = row.id, destination = %row.destination, attempts, error = %error, "outbox delivery postponed");
        }
        let sql = dialect(
            &self.db,
            "UPDATE outbox SET attempts = ?, last_error = ?, claimed_until_ms = NULL, \
             next_attempt_ms = ?, failed_at_ms = ? WHERE id = ?",
        );
        self.write(
            &sql,
            vec![
                attempts.into(),
                error.into(),
                (now + wait.as_millis() as i64).into(),
                failed.then_some(now).into(),
                row.id.into(),
            ],
        )
        .await?;
        crate::metriche::relay_deliveries(self.context, esito, 1);
        Ok(())
    }

    async fn release(&self, ids: &[i64]) -> Result<(), AppError> {
        if ids.is_empty() {
            return Ok(());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        self.write(
            &format!("UPDATE outbox SET claimed_until_ms = NULL WHERE id IN ({list})"),
            vec![],
        )
        .await
    }

    fn backoff(&self, attempts: i32) -> Duration {
        let exp = attempts.clamp(1, 20) as u32 - 1;
        let base = self.options.base_backoff.as_millis() as u64;
        let cap = self.options.max_backoff.as_millis() as u64;
        let full = base.saturating_mul(1u64 << exp).min(cap);
        // Jitter: between half and all of it, so replicas and rows do not retry in step.
        let jittered = rand::rng().random_range(full / 2..=full.max(1));
        Duration::from_millis(jittered)
    }

    async fn write(&self, sql: &str, values: Vec<sea_orm::Value>) -> Result<(), AppError> {
        let txn = crate::db::begin_write(&self.db).await?;
        txn.execute_raw(crate::db::stmt(&txn, sql, values)).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn purge(&self) -> Result<(), AppError> {
        let before = now_ms() - self.options.retention.as_millis() as i64;
        let sql = dialect(
            &self.db,
            "DELETE FROM outbox WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms < ?",
        );
        self.write(&sql, vec![before.into()]).await
    }
}

/// The most events one IngestEvents call carries (the subscriber takes up to 256).
const EVENTI_PER_CHIAMATA: usize = 256;

/// What one delivery call carries: a row alone, or a run of events for a subscriber that
/// ingests several at once.
enum Lotto {
    Uno(Claimed),
    Eventi(&'static str, Vec<Claimed>),
}

/// `first` and, when it is an event for a subscriber with IngestEvents, the events right after
/// it (same destination: a group is one destination) that decode.
fn lotto(first: Claimed, rest: &mut std::iter::Peekable<std::vec::IntoIter<Claimed>>) -> Lotto {
    let batch = Context::from_str(&first.destination)
        .ok()
        .and_then(Context::ingest_batch_method);
    let decodes = |r: &Claimed| r.kind == KIND_EVENT && Event::decode(r.event.as_slice()).is_ok();
    let Some(method) = batch.filter(|_| decodes(&first)) else {
        return Lotto::Uno(first);
    };
    let mut rows = vec![first];
    while rows.len() < EVENTI_PER_CHIAMATA
        && let Some(r) = rest.next_if(|r| decodes(r))
    {
        rows.push(r);
    }
    Lotto::Eventi(method, rows)
}

/// The request of every ingest RPC, encoded without naming a context's type.
#[derive(Clone, PartialEq, prost::Message)]
struct IngestBody {
    #[prost(message, optional, tag = "1")]
    event: Option<Event>,
}

/// Which failures are worth retrying. Server-side and transport failures are; a refusal of the
/// request itself is not (an operator must look). UNIMPLEMENTED for an event: its subscriber
/// is not deployed yet — wait for it.
fn classify(kind: &str, s: &Status) -> Outcome {
    let text = format!("{:?}: {}", s.code(), s.message());
    match s.code() {
        Code::Unimplemented if kind == KIND_EVENT => Outcome::Wait(text),
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Internal
        | Code::Unknown
        | Code::Unauthenticated
        | Code::Unimplemented
        | Code::DataLoss => Outcome::Retry(text),
        Code::Ok => Outcome::Delivered,
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange => Outcome::Refused(text),
    }
}

/// Sends and receives message bytes as they are: the relay does not know the types it carries.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n).to_vec()))
    }
}

// ---- what operators see (through the gateway's RelayService) ----

fn ts(ms: Option<i64>) -> Option<prost_types::Timestamp> {
    ms.filter(|m| *m > 0)
        .and_then(DateTime::from_timestamp_millis)
        .map(|t| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        })
}

const PENDING: &str = "delivered_at_ms IS NULL AND failed_at_ms IS NULL";
const FAILED: &str = "delivered_at_ms IS NULL AND failed_at_ms IS NOT NULL";
const DELIVERED: &str = "delivered_at_ms IS NOT NULL";

/// An outbox's levels for the metrics ([`crate::metriche::spawn_livelli`]).
pub struct Livelli {
    pub in_attesa: i64,
    pub falliti: i64,
    /// Age of the oldest row waiting (zero when none waits).
    pub ritardo: Duration,
}

/// Rows waiting and failed, and the oldest waiting row's age: unlike [`status`], no count of the
/// delivered rows (a week of them), so cheap enough to read every few seconds.
pub async fn livelli(db: &impl ConnectionTrait) -> Result<Livelli, AppError> {
    let row = db
        .query_one_raw(crate::db::stmt(
            db,
            &format!("SELECT COUNT(*) AS n, MIN(created_at_ms) AS t FROM outbox WHERE {PENDING}"),
            vec![],
        ))
        .await?;
    let (in_attesa, oldest): (i64, Option<i64>) = match row {
        Some(r) => (r.try_get("", "n")?, r.try_get("", "t")?),
        None => (0, None),
    };
    let falliti: i64 = match db
        .query_one_raw(crate::db::stmt(
            db,
            &format!("SELECT COUNT(*) AS n FROM outbox WHERE {FAILED}"),
            vec![],
        ))
        .await?
    {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    let ritardo = oldest.map_or(0, |t| (now_ms() - t).max(0));
    Ok(Livelli {
        in_attesa,
        falliti,
        ritardo: Duration::from_millis(ritardo as u64),
    })
}

/// Counts by state and the lag of one context's outbox.
pub async fn status(db: &impl ConnectionTrait) -> Result<pb::GetOutboxStatusResponse, AppError> {
    let count = |cond: &'static str| async move {
        let row = db
            .query_one_raw(crate::db::stmt(
                db,
                &format!("SELECT COUNT(*) AS n FROM outbox WHERE {cond}"),
                vec![],
            ))
            .await?;
        Ok::<i64, AppError>(match row {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        })
    };
    let in_attesa = count(PENDING).await?;
    let falliti = count(FAILED).await?;
    let recapitati = count(DELIVERED).await?;
    let oldest: Option<i64> = match db
        .query_one_raw(crate::db::stmt(
            db,
            &format!("SELECT MIN(created_at_ms) AS t FROM outbox WHERE {PENDING}"),
            vec![],
        ))
        .await?
    {
        Some(r) => r.try_get("", "t")?,
        None => None,
    };
    Ok(pb::GetOutboxStatusResponse {
        in_attesa,
        falliti,
        recapitati,
        piu_vecchio_in_attesa: ts(oldest),
        ritardo_ms: oldest.map(|t| (now_ms() - t).max(0)).unwrap_or(0),
    })
}

/// One state's rows, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    stato: pb::StatoRecapito,
    pagina: Pagina,
) -> Result<(Vec<pb::MessaggioOutbox>, String), AppError> {
    let cond = match stato {
        pb::StatoRecapito::InAttesa => PENDING,
        pb::StatoRecapito::Fallito => FAILED,
        pb::StatoRecapito::Recapitato => DELIVERED,
        pb::StatoRecapito::Unspecified => "1 = 1",
    };
    let after = pagina.cursore.unwrap_or(0);
    let sql = dialect(
        db,
        &format!(
            "SELECT id, event_id, kind, topic, aggregate_id, destination, method, attempts, last_error, \
             created_at_ms, next_attempt_ms, delivered_at_ms, failed_at_ms FROM outbox \
             WHERE {cond} AND id > ? ORDER BY id LIMIT {}",
            pagina.limite
        ),
    );
    let rows = db
        .query_all_raw(crate::db::stmt(db, &sql, vec![after.into()]))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind: String = r.try_get("", "kind")?;
        let delivered: Option<i64> = r.try_get("", "delivered_at_ms")?;
        let failed: Option<i64> = r.try_get("", "failed_at_ms")?;
        let last_error: Option<String> = r.try_get("", "last_error")?;
        out.push(pb::MessaggioOutbox {
            id: r.try_get("", "id")?,
            message_id: r.try_get("", "event_id")?,
            tipo: if kind == KIND_COMMAND {
                pb::TipoMessaggio::Comando
            } else {
                pb::TipoMessaggio::Evento
            } as i32,
            topic: r.try_get("", "topic")?,
            aggregate_id: r.try_get("", "aggregate_id")?,
            destinazione: r.try_get("", "destination")?,
            metodo: r.try_get("", "method")?,
            stato: if delivered.is_some() {
                pb::StatoRecapito::Recapitato
            } else if failed.is_some() {
                pb::StatoRecapito::Fallito
            } else {
                pb::StatoRecapito::InAttesa
            } as i32,
            tentativi: r.try_get("", "attempts")?,
            ultimo_errore: last_error.unwrap_or_default(),
            creato_il: ts(r.try_get("", "created_at_ms")?),
            prossimo_tentativo_il: if delivered.is_none() && failed.is_none() {
                ts(r.try_get("", "next_attempt_ms")?)
            } else {
                None
            },
            recapitato_il: ts(delivered),
            fallito_il: ts(failed),
        });
    }
    let token = pagina.prossima(out.len(), out.last().map(|m| m.id));
    Ok((out, token))
}

/// Puts failed rows back in the queue (all of them, or those of `ids`), attempts reset.
pub async fn retry(db: &DatabaseConnection, ids: &[i64], all: bool) -> Result<i64, AppError> {
    let mut sql = format!(
        "UPDATE outbox SET failed_at_ms = NULL, attempts = 0, next_attempt_ms = 0, claimed_until_ms = NULL \
         WHERE {FAILED}"
    );
    if !all {
        if ids.is_empty() {
            return Ok(0);
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        sql.push_str(&format!(" AND id IN ({list})"));
    }
    let txn = crate::db::begin_write(db).await?;
    let n = txn
        .execute_raw(crate::db::stmt(&txn, &sql, vec![]))
        .await?
        .rows_affected();
    txn.commit().await?;
    Ok(n as i64)
}

/// The internal service operators reach through the gateway: the platform (`sistema`) only,
/// and when it acts for a person, that person must be operatore_dg.
#[derive(Clone)]
pub struct OutboxAdmin {
    db: DatabaseConnection,
    context: Context,
}

/// The admin service of `context`'s outbox, behind the identity check.
pub fn admin_service(
    db: DatabaseConnection,
    context: Context,
    tokens: InternalTokens,
) -> tonic::service::interceptor::InterceptedService<
    OutboxInternalServiceServer<OutboxAdmin>,
    SystemOnlyInterceptor,
> {
    InterceptedService::new(
        OutboxInternalServiceServer::new(OutboxAdmin { db, context }).limitato(),
        SystemOnlyInterceptor::new(tokens),
    )
}

/// The fully qualified name of the admin service (reflection, health).
pub const ADMIN_SERVICE: &str = "occasionali.common.v1.OutboxInternalService";

fn autorizza<T>(request: &Request<T>) -> Result<Identity, Status> {
    let id = request.identity()?;
    let ok = id.is_system()
        && id
            .origin
            .as_deref()
            .is_none_or(|o| o.author().profile() == Profile::OperatoreDg);
    if ok {
        Ok(id)
    } else {
        Err(AppError::denied(
            "GW-6",
            "GW_6_INTERNAL_ONLY",
            "the relay's bookkeeping is for the platform and operatore_dg only",
        )
        .into())
    }
}

#[tonic::async_trait]
impl OutboxInternalService for OutboxAdmin {
    async fn get_outbox_status(
        &self,
        request: Request<pb::GetOutboxStatusRequest>,
    ) -> Result<Response<pb::GetOutboxStatusResponse>, Status> {
        autorizza(&request)?;
        Ok(Response::new(status(&self.db).await?))
    }

    async fn list_outbox(
        &self,
        request: Request<pb::ListOutboxRequest>,
    ) -> Result<Response<pb::ListOutboxResponse>, Status> {
        autorizza(&request)?;
        let r = request.into_inner();
        let stato = pb::StatoRecapito::try_from(r.stato).unwrap_or(pb::StatoRecapito::Unspecified);
        let mut v = crate::error::Violations::new();
        let pagina = Pagina::decodifica(
            &mut v,
            "GW-5",
            r.page_size,
            &r.page_token,
            impronta(&["outbox", stato.as_str_name()]),
        );
        v.check().map_err(AppError::from)?;
        let (messaggi, next_page_token) = list(&self.db, stato, pagina).await?;
        Ok(Response::new(pb::ListOutboxResponse {
            messaggi,
            next_page_token,
        }))
    }

    async fn retry_outbox(
        &self,
        request: Request<pb::RetryOutboxRequest>,
    ) -> Result<Response<pb::RetryOutboxResponse>, Status> {
        let id = autorizza(&request)?;
        let r = request.into_inner();
        // GW-3: at most a page of ListOutbox (what an operator can have seen), each once.
        let mut v = crate::Violations::new();
        let ids = crate::decode::distinti(&mut v, "ids", &r.ids, crate::pagina::MAX_PAGE_SIZE as usize);
        v.check().map_err(AppError::from)?;
        if r.ids.is_empty() && !r.tutti_falliti {
            return Err(AppError::invalid(
                "ids",
                "GW-5",
                "GW_5_NOTHING_TO_RETRY",
                "name the failed messages to retry, or set tutti_falliti",
            )
            .into());
        }
        let ripresi = retry(&self.db, &ids, r.tutti_falliti).await?;
        tracing::info!(
            context = %self.context,
            operator = %crate::identity::mask(&id.author().caller.cf),
            ripresi,
            "failed outbox messages put back in the queue"
        );
        Ok(Response::new(pb::RetryOutboxResponse { ripresi }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_final_outages_are_retried_missing_subscribers_awaited() {
        assert!(matches!(
            classify(KIND_COMMAND, &Status::unavailable("down")),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            classify(KIND_COMMAND, &Status::failed_precondition("no")),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            classify(KIND_EVENT, &Status::unimplemented("later")),
            Outcome::Wait(_)
        ));
        assert!(matches!(
            classify(KIND_COMMAND, &Status::unimplemented("typo")),
            Outcome::Retry(_)
        ));
    }

    fn riga(id: i64, kind: &str, destination: &str, event: Vec<u8>) -> Claimed {
        Claimed {
            id,
            kind: kind.into(),
            destination: destination.into(),
            method: String::new(),
            origin: None,
            attempts: 0,
            event,
        }
    }

    fn ids(l: &Lotto) -> (bool, Vec<i64>) {
        match l {
            Lotto::Uno(r) => (false, vec![r.id]),
            Lotto::Eventi(_, rows) => (true, rows.iter().map(|r| r.id).collect()),
        }
    }

    /// Issue 11: consecutive events for notifiche go in one IngestEvents call, at most
    /// EVENTI_PER_CHIAMATA; a command, or a row that does not decode, is delivered alone and
    /// ends the run, so the order within a destination is kept.
    #[test]
    fn runs_of_events_are_batched_up_to_a_command_or_an_undecodable_row() {
        let ev = Event::default().encode_to_vec();
        let mut rows: Vec<Claimed> = (1..=3)
            .map(|i| riga(i, KIND_EVENT, "notifiche", ev.clone()))
            .collect();
        rows.push(riga(4, KIND_COMMAND, "notifiche", ev.clone()));
        rows.push(riga(5, KIND_EVENT, "notifiche", vec![0xff, 0xff]));
        rows.push(riga(6, KIND_EVENT, "notifiche", ev.clone()));
        let mut rest = rows.into_iter().peekable();
        let mut lotti = Vec::new();
        while let Some(first) = rest.next() {
            lotti.push(ids(&lotto(first, &mut rest)));
        }
        assert_eq!(
            lotti,
            vec![
                (true, vec![1, 2, 3]),
                (false, vec![4]),
                (false, vec![5]),
                (true, vec![6]),
            ]
        );
        // A destination without IngestEvents: one call each.
        let mut rest = vec![riga(2, KIND_EVENT, "portafoglio", ev.clone())]
            .into_iter()
            .peekable();
        assert_eq!(
            ids(&lotto(riga(1, KIND_EVENT, "portafoglio", ev.clone()), &mut rest)),
            (false, vec![1])
        );
        // Bounded.
        let mut rest = (2..=300)
            .map(|i| riga(i, KIND_EVENT, "notifiche", ev.clone()))
            .collect::<Vec<_>>()
            .into_iter()
            .peekable();
        let (_, primo) = ids(&lotto(riga(1, KIND_EVENT, "notifiche", ev.clone()), &mut rest));
        assert_eq!(primo.len(), EVENTI_PER_CHIAMATA);
        assert_eq!(rest.count(), 300 - EVENTI_PER_CHIAMATA);
    }
}
