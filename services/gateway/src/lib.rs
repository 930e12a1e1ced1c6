//! The gateway: the one address clients use (GW-1). It authenticates the caller, routes each
//! gRPC call by its package to the owning context as a byte-level HTTP/2 proxy (messages are
//! never decoded, so a new RPC needs no change here), propagates deadlines and trace context,
//! serves reflection for every context and reports health as the aggregate of the backends'.
//! Internal services (`<Context>InternalService`, GW-6) are the platform's own: never routed
//! (UNIMPLEMENTED) and never advertised.

mod auth;
mod delega;
mod dev_clock;
mod health;
mod posizione;
mod proxy;
mod rappresentanza;
mod relay;
mod soglie;

use occasionali_runtime::limiti::Limitato;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

use occasionali_kernel::{OffsetClock, SharedClock};
use occasionali_proto::gateway::dev_clock_service_server::DevClockServiceServer;
use occasionali_proto::gateway::posizione_service_server::PosizioneServiceServer;
use occasionali_proto::gateway::relay_service_server::RelayServiceServer;
use occasionali_runtime::client::{self, Caller};

use occasionali_runtime::config::AdmissionLimits;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::InternalTokens;
use occasionali_runtime::issuers::ClientVerifier;
use occasionali_runtime::server::{self, ServeOptions};
use occasionali_runtime::shutdown::Shutdown;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use proxy::Proxy;

/// Everything the gateway needs to run.
pub struct GatewayOptions {
    /// Where each context is reached.
    pub backends: HashMap<Context, String>,
    /// Verifies client tokens against the configured issuers (issue 14).
    pub client_tokens: ClientVerifier,
    pub internal_tokens: InternalTokens,
    /// Upper bound on a call's deadline; a shorter client deadline wins.
    pub max_timeout: Duration,
    /// Upper bound on a streaming call's deadline (feeds, downloads); a shorter client
    /// deadline wins.
    pub stream_timeout: Duration,
    pub drain: Duration,
    /// How often backend health is polled.
    pub health_interval: Duration,
    /// `occasionali dev` only: the clock every context shares, served as DevClockService.
    pub dev_clock: Option<Arc<OffsetClock>>,
    /// The platform clock (the year of a position, DEL-3).
    pub clock: SharedClock,
    /// Deadline of the composite position (DEL-3).
    pub composite_deadline: Duration,
    /// Per-caller rate and calls in flight (issue 12, `[gateway.admission]`).
    pub admission: AdmissionLimits,
    /// TLS for clients (`[gateway.tls]`, issue 14); the backends are called with the process's
    /// client TLS (`[tls]`) whatever this is.
    pub tls: Option<occasionali_runtime::tls::ServerTls>,
}

/// Serves the gateway on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, options: GatewayOptions, shutdown: Shutdown) -> anyhow::Result<()> {
    // Each backend's calls spread over every replica its name resolves to (issue 11); the
    // streams' own connections too (`addresses`).
    let mut channels = HashMap::new();
    let mut addresses = HashMap::new();
    for (ctx, endpoint) in &options.backends {
        let (channel, resolved) = client::balanced_channel(
            endpoint,
            client::Balancing {
                shutdown: Some(shutdown.clone()),
                ..Default::default()
            },
        )?;
        channels.insert(*ctx, channel);
        addresses.insert(*ctx, resolved);
    }
    // Only the public services: internal ones (GW-6) are neither advertised nor routed here.
    let mut services: Vec<String> = Context::ALL
        .iter()
        .map(|c| c.service_name().to_string())
        .collect();
    let deleghe = channels
        .get(&Context::Deleghe)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no deleghe backend configured"))?;
    let anagrafica = channels
        .get(&Context::Anagrafica)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no anagrafica backend configured"))?;
    let auth = auth::Authenticator {
        rappresentanze: rappresentanza::RappresentanzaCheck::new(
            anagrafica,
            Caller::new(
                options.internal_tokens.clone(),
                Context::Anagrafica,
                Duration::from_secs(2),
            ),
        ),
        client_tokens: options.client_tokens.clone(),
        deleghe: delega::DelegaCheck::new(
            deleghe,
            Caller::new(
                options.internal_tokens.clone(),
                Context::Deleghe,
                Duration::from_secs(2),
            ),
        ),
    };
    let mut local = Routes::new(
        PosizioneServiceServer::new(posizione::Posizione {
            auth: auth.clone(),
            channels: channels.clone(),
            tokens: options.internal_tokens.clone(),
            clock: options.clock.clone(),
            deadline: options.composite_deadline,
        })
        .limitato(),
    );
    services.push("occasionali.gateway.v1.PosizioneService".into());
    local = local.add_service(
        RelayServiceServer::new(relay::Relay {
            auth: auth.clone(),
            channels: channels.clone(),
            tokens: options.internal_tokens.clone(),
            deadline: options.composite_deadline,
        })
        .limitato(),
    );
    services.push("occasionali.gateway.v1.RelayService".into());
    if let Some(clock) = options.dev_clock.clone() {
        local = local.add_service(InterceptedService::new(
            DevClockServiceServer::new(dev_clock::DevClock { clock }).limitato(),
            dev_clock::ClientAuth(options.client_tokens.clone()),
        ));
        services.push("occasionali.gateway.v1.DevClockService".into());
    }
    let (standard, reporter) = server::standard_routes(local, &services).await?;
    // Not serving until the backends say they are.
    health::mark_all_unknown(&reporter, &services[..Context::ALL.len()]).await;
    tokio::spawn(health::watch(
        reporter.clone(),
        channels.clone(),
        options.health_interval,
        shutdown.clone(),
    ));

    let thresholds = Arc::new(soglie::Thresholds::new(
        options.admission,
        options.client_tokens.clone(),
    ));
    let proxy = Proxy::new(
        channels,
        addresses,
        auth,
        options.internal_tokens,
        proxy::Scadenze {
            chiamata: options.max_timeout,
            flusso: options.stream_timeout,
        },
    )?;
    // Health and reflection are answered here; every other path goes to the proxy. Admission
    // wraps both, so the gateway's own services (the DEL-3 fan-out above all) are limited too;
    // it lets health and reflection through untouched.
    let app = standard.into_axum_router().fallback_service(proxy);
    let routes = Routes::from(axum::Router::new().fallback_service(soglie::Admission::new(app, thresholds)));
    server::serve_with_health(
        listener,
        ServeOptions {
            name: "gateway".into(),
            services,
            drain: options.drain,
            tls: options.tls,
        },
        routes,
        reporter,
        shutdown,
    )
    .await
}
