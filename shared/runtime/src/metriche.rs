//! The metrics a process exports (OpenTelemetry, over OTLP beside the traces: see
//! [`crate::telemetry`]). Names follow OpenTelemetry's semantic conventions where one exists
//! (`rpc.server.duration`, `db.client.connection.*`), `occasionali.*` otherwise.
//!
//! Counters and histograms are recorded where the state changes (a request ends, a delivery is
//! marked, a saga step commits). Levels (rows waiting in an outbox, sagas pending, pool
//! connections) are observable gauges: the SDK calls their callbacks when it exports, and the
//! callbacks only read what is already in memory — a pool's own counters, or the last value a
//! background round stored with [`livello`]. No query runs on a request's path or inside a
//! callback.
//!
//! The instruments are created on first use from the global meter provider, so after
//! [`crate::telemetry::init`]; without an OTLP endpoint they record into a no-op provider.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use sea_orm::{DatabaseConnection, DbBackend};
use tonic::Code;

use crate::context::Context;
use crate::shutdown::Shutdown;

/// Duration of the calls a server answered, by service, method and status code (RED).
pub const RPC_SERVER_DURATION: &str = "rpc.server.duration";
/// Duration of the calls this process made to another (the relay's deliveries), by service,
/// method and status code.
pub const RPC_CLIENT_DURATION: &str = "rpc.client.duration";
/// Outbox deliveries by outcome (`delivered`, `retried`, `waiting`, `failed`, `refused`).
pub const RELAY_DELIVERIES: &str = "occasionali.relay.deliveries";
/// Outbox rows waiting for delivery.
pub const RELAY_PENDING: &str = "occasionali.relay.pending";
/// Outbox rows failed for good, waiting for an operator (DG).
pub const RELAY_FAILED: &str = "occasionali.relay.failed";
/// Age of the oldest outbox row waiting for delivery: the relay's lag.
pub const RELAY_LAG: &str = "occasionali.relay.lag";
/// Connections of a context's pool by state (`idle`, `used`).
pub const DB_CONNECTIONS: &str = "db.client.connection.count";
/// The most connections a context's pool opens.
pub const DB_CONNECTIONS_MAX: &str = "db.client.connection.max";
/// Prestazioni saga steps by the state reached (`PENDING`, `ACCEPTED`, `REJECTED`).
pub const SAGA_TRANSITIONS: &str = "occasionali.prestazioni.saga.transitions";
/// PENDING prestazioni the last recovery round found (a wallet outage makes it grow).
pub const SAGA_PENDING: &str = "occasionali.prestazioni.saga.pending";
/// Prestatori handled by payout runs, by outcome (`paid`, `unpaid`).
pub const PAYOUT_PRESTATORI: &str = "occasionali.portafoglio.payout.prestatori";
/// Prestatori the running payout still has to handle (0 when none runs).
pub const PAYOUT_REMAINING: &str = "occasionali.portafoglio.payout.remaining";
/// Notifications a campaign run created, by campaign.
pub const CAMPAIGN_NOTIFICATIONS: &str = "occasionali.notifiche.campaign.notifications";
/// Notification deliveries by channel and outcome (`sent`, `retrying`, `failed`, `skipped`).
pub const NOTIFICATION_DELIVERIES: &str = "occasionali.notifiche.deliveries";

/// How often a context reads its levels from the database ([`spawn_livelli`]).
pub const LIVELLI_OGNI: Duration = Duration::from_secs(15);

struct Strumenti {
    rpc_server_duration: Histogram<f64>,
    rpc_client_duration: Histogram<f64>,
    relay_deliveries: Counter<u64>,
    saga_transitions: Counter<u64>,
    payout_prestatori: Counter<u64>,
    campaign_notifications: Counter<u64>,
    notification_deliveries: Counter<u64>,
}

/// Histogram buckets of call durations (ms): calls here take milliseconds; the SDK's default
/// buckets stop being useful above 10 s, where the deadlines are.
const DURATE_MS: [f64; 14] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
];

static STRUMENTI: LazyLock<Strumenti> = LazyLock::new(|| {
    let meter = meter();
    registra_livelli(&meter);
    Strumenti {
        rpc_server_duration: meter
            .f64_histogram(RPC_SERVER_DURATION)
            .with_unit("ms")
            .with_description("Duration of the calls a server answered, to the end of the answer")
            .with_boundaries(DURATE_MS.to_vec())
            .build(),
        rpc_client_duration: meter
            .f64_histogram(RPC_CLIENT_DURATION)
            .with_unit("ms")
            .with_description("Duration of the calls this process made to another")
            .with_boundaries(DURATE_MS.to_vec())
            .build(),
        relay_deliveries: meter
            .u64_counter(RELAY_DELIVERIES)
            .with_description("Outbox deliveries by outcome")
            .build(),
        saga_transitions: meter
            .u64_counter(SAGA_TRANSITIONS)
            .with_description("Prestazioni saga steps by the state reached")
            .build(),
        payout_prestatori: meter
            .u64_counter(PAYOUT_PRESTATORI)
            .with_description("Prestatori handled by payout runs, by outcome")
            .build(),
        campaign_notifications: meter
            .u64_counter(CAMPAIGN_NOTIFICATIONS)
            .with_description("Notifications created by campaign runs")
            .build(),
        notification_deliveries: meter
            .u64_counter(NOTIFICATION_DELIVERIES)
            .with_description("Notification deliveries by channel and outcome")
            .build(),
    }
});

fn meter() -> Meter {
    opentelemetry::global::meter("occasionali")
}

/// One answered call (see [`crate::richiesta`]).
pub fn rpc_server_duration(service: &str, method: &str, code: Code, durata: Duration) {
    STRUMENTI.rpc_server_duration.record(
        durata.as_secs_f64() * 1000.0,
        &[
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_string()),
            KeyValue::new("rpc.method", method.to_string()),
            KeyValue::new("rpc.grpc.status_code", code as i64),
        ],
    );
}

/// One call made to another process (see [`crate::richiesta::in_uscita`]).
pub fn rpc_client_duration(service: &str, method: &str, code: Code, durata: Duration) {
    STRUMENTI.rpc_client_duration.record(
        durata.as_secs_f64() * 1000.0,
        &[
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_string()),
            KeyValue::new("rpc.method", method.to_string()),
            KeyValue::new("rpc.grpc.status_code", code as i64),
        ],
    );
}

/// `n` outbox rows of `context` marked with `esito`.
pub fn relay_deliveries(context: Context, esito: &'static str, n: u64) {
    STRUMENTI.relay_deliveries.add(
        n,
        &[
            KeyValue::new("context", context.name()),
            KeyValue::new("outcome", esito),
        ],
    );
}

/// A prestazione's saga committed state `stato`.
pub fn saga_transition(stato: &'static str) {
    STRUMENTI
        .saga_transitions
        .add(1, &[KeyValue::new("state", stato)]);
}

/// A prestatore handled by a payout run (`paid` or `unpaid`).
pub fn payout_prestatore(esito: &'static str) {
    STRUMENTI
        .payout_prestatori
        .add(1, &[KeyValue::new("outcome", esito)]);
}

/// `n` notifications created by a run of `campagna`.
pub fn campaign_notifications(campagna: &str, n: u64) {
    STRUMENTI
        .campaign_notifications
        .add(n, &[KeyValue::new("campaign", campagna.to_string())]);
}

/// A notification delivery on `canale` marked `stato`.
pub fn notification_delivery(canale: &'static str, stato: &'static str) {
    STRUMENTI.notification_deliveries.add(
        1,
        &[KeyValue::new("channel", canale), KeyValue::new("outcome", stato)],
    );
}

type Attributi = Vec<(&'static str, String)>;

/// The last value of each level, by gauge and attributes, as stored by the rounds that read them.
static LIVELLI: LazyLock<Mutex<BTreeMap<(&'static str, Attributi), f64>>> = LazyLock::new(Default::default);

/// The pools whose connections are reported, by context.
static POOL: LazyLock<Mutex<Vec<(Context, DatabaseConnection, u32)>>> = LazyLock::new(Default::default);

/// Stores the current value of the level `gauge` (one of this module's gauge names) for
/// `attributi`; exported at the next collection.
pub fn livello(gauge: &'static str, attributi: &[(&'static str, &str)], valore: f64) {
    LazyLock::force(&STRUMENTI);
    let chiave = (
        gauge,
        attributi.iter().map(|(k, v)| (*k, (*v).to_string())).collect(),
    );
    LIVELLI
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(chiave, valore);
}

/// Reports the connections of `context`'s pool (of at most `massimo`) from now on.
pub fn registra_pool(context: Context, db: &DatabaseConnection, massimo: u32) {
    LazyLock::force(&STRUMENTI);
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    pool.retain(|(c, _, _)| *c != context);
    pool.push((context, db.clone(), massimo));
}

/// Stops reporting `context`'s pool (the context stopped): the pool is not kept alive here.
pub fn rimuovi_pool(context: Context) {
    POOL.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|(c, _, _)| *c != context);
}

/// Open and idle connections of a pool.
fn connessioni(db: &DatabaseConnection) -> Option<(u32, usize)> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            Some((p.size(), p.num_idle()))
        }
        DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            Some((p.size(), p.num_idle()))
        }
        _ => None,
    }
}

fn registra_livelli(meter: &Meter) {
    for (nome, unita, descrizione) in [
        (RELAY_PENDING, "{row}", "Outbox rows waiting for delivery"),
        (
            RELAY_FAILED,
            "{row}",
            "Outbox rows failed for good, waiting for an operator",
        ),
        (
            RELAY_LAG,
            "s",
            "Age of the oldest outbox row waiting for delivery",
        ),
        (
            SAGA_PENDING,
            "{prestazione}",
            "PENDING prestazioni found by the last recovery round",
        ),
        (
            PAYOUT_REMAINING,
            "{prestatore}",
            "Prestatori the running payout still has to handle",
        ),
    ] {
        let _ = meter
            .f64_observable_gauge(nome)
            .with_unit(unita)
            .with_description(descrizione)
            .with_callback(move |osserva| {
                let livelli = LIVELLI.lock().unwrap_or_else(PoisonError::into_inner);
                for ((g, attributi), valore) in livelli.iter() {
                    if *g == nome {
                        let attributi: Vec<KeyValue> = attributi
                            .iter()
                            .map(|(k, v)| KeyValue::new(*k, v.clone()))
                            .collect();
                        osserva.observe(*valore, &attributi);
                    }
                }
            })
            .build();
    }
    let _ = meter
        .i64_observable_gauge(DB_CONNECTIONS)
        .with_unit("{connection}")
        .with_description("Connections of a context's pool by state")
        .with_callback(|osserva| {
            let pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
            for (context, db, _) in pool.iter() {
                let Some((aperte, libere)) = connessioni(db) else {
                    continue;
                };
                let libere = libere as i64;
                let usate = (i64::from(aperte) - libere).max(0);
                for (stato, n) in [("idle", libere), ("used", usate)] {
                    osserva.observe(
                        n,
                        &[
                            KeyValue::new("db.client.connection.pool.name", context.name()),
                            KeyValue::new("db.client.connection.state", stato),
                        ],
                    );
                }
            }
        })
        .build();
    let _ = meter
        .i64_observable_gauge(DB_CONNECTIONS_MAX)
        .with_unit("{connection}")
        .with_description("The most connections a context's pool opens")
        .with_callback(|osserva| {
            let pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
            for (context, _, massimo) in pool.iter() {
                osserva.observe(
                    i64::from(*massimo),
                    &[KeyValue::new("db.client.connection.pool.name", context.name())],
                );
            }
        })
        .build();
}

/// Reads `context`'s outbox levels (rows waiting, failed, the oldest one's age) every `every`
/// until shutdown: three indexed queries per round, off every request's path.
pub fn spawn_livelli(
    context: Context,
    db: DatabaseConnection,
    every: Duration,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::spawn("metriche-livelli", every, shutdown, move || {
        let db = db.clone();
        async move {
            let lag = crate::relay::livelli(&db).await?;
            let ctx = [("context", context.name())];
            livello(RELAY_PENDING, &ctx, lag.in_attesa as f64);
            livello(RELAY_FAILED, &ctx, lag.falliti as f64);
            livello(RELAY_LAG, &ctx, lag.ritardo.as_secs_f64());
            Ok(())
        }
    })
}
