//! A context with two replicas in the in-process cluster (issue 11): the second prestazioni
//! replica, run as `occasionali serve prestazioni` runs one (relay and recovery included) on
//! the same database, and the count of calls each server of the process served, read from the
//! servers' own spans.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use occasionali_kernel::SharedClock;
use occasionali_runtime::config::Config;
use occasionali_runtime::context::Context;
use occasionali_runtime::shutdown::Shutdown;
use tokio::net::TcpListener;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where the second replica of a context listens: the same port as the first on this other
/// loopback address, so one name resolving to both is the context's endpoint.
pub const SECONDA: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// The second prestazioni replica, serving on `listener` until `shutdown`, as `serve` runs a
/// context (`occasionali::run_context`: relay and recovery included).
pub async fn prestazioni(
    config: Arc<Config>,
    clock: SharedClock,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let tokens = occasionali::internal_tokens(
        &config,
        occasionali_runtime::firme::Firmatario::Contesto(Context::Prestazioni),
    )?;
    let ascolti = occasionali::Ascolti {
        contesti: HashMap::from([(Context::Prestazioni, listener)]),
        ..Default::default()
    };
    occasionali::run_context(
        config,
        Context::Prestazioni,
        clock,
        tokens,
        Duration::from_millis(200),
        ascolti,
        shutdown,
    )
    .await
}

/// Calls served by each server of this process, by the server's address and the called
/// service, counted from the server spans (`occasionali_runtime::telemetry::server_span`
/// records `rpc.service`, `network.local.address` and `network.local.port`).
#[derive(Clone, Default)]
pub struct Conteggi {
    per_server: Arc<Mutex<HashMap<(SocketAddr, String), u64>>>,
}

impl Conteggi {
    /// Installs the counting as the process's tracing subscriber (nothing else is logged).
    pub fn installa() -> anyhow::Result<Conteggi> {
        let conteggi = Conteggi::default();
        let filtro = tracing_subscriber::filter::filter_fn(|m| m.is_span() && m.name() == "grpc");
        tracing_subscriber::registry()
            .with(conteggi.clone().with_filter(filtro))
            .try_init()?;
        Ok(conteggi)
    }

    /// Calls to `service` (e.g. `occasionali.prestazioni.v1.PrestazioniService`) that the
    /// server at `addr` served so far.
    pub fn di(&self, addr: SocketAddr, service: &str) -> u64 {
        let per_server = self.per_server.lock().unwrap_or_else(PoisonError::into_inner);
        per_server
            .get(&(addr, service.to_string()))
            .copied()
            .unwrap_or_default()
    }
}

/// The fields of one server span.
#[derive(Default)]
struct Campi {
    metodo: Option<String>,
    ip: Option<IpAddr>,
    porta: Option<u16>,
}

impl Visit for Campi {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "rpc.service" => self.metodo = Some(format!("{value:?}")),
            "network.local.address" => self.ip = format!("{value:?}").parse().ok(),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "network.local.port" {
            self.porta = u16::try_from(value).ok();
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Conteggi {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut campi = Campi::default();
        attrs.record(&mut campi);
        let (Some(metodo), Some(ip), Some(porta)) = (campi.metodo, campi.ip, campi.porta) else {
            return;
        };
        let service = metodo;
        let mut per_server = self.per_server.lock().unwrap_or_else(PoisonError::into_inner);
        *per_server
            .entry((SocketAddr::new(ip, porta), service))
            .or_default() += 1;
    }
}
