//! The gateway: the one address clients use (GW-1). It authenticates the caller, routes each
//! gRPC call by its package to the owning context as a byte-level HTTP/2 proxy (messages are
//! never decoded, so a new RPC needs no change here), propagates deadlines and trace context,
//! serves reflection for every context and reports health as the aggregate of the backends'.

mod auth;
mod dev_clock;
mod health;
mod proxy;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use occasionali_kernel::OffsetClock;
use occasionali_proto::gateway::dev_clock_service_server::DevClockServiceServer;

use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{ClientTokens, InternalTokens};
use occasionali_runtime::server::{self, ServeOptions};
use occasionali_runtime::shutdown::Shutdown;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use proxy::Proxy;

/// Everything the gateway needs to run.
pub struct GatewayOptions {
    /// Where each context is reached.
    pub backends: HashMap<Context, String>,
    pub client_tokens: ClientTokens,
    pub internal_tokens: InternalTokens,
    /// Upper bound on a call's deadline; a shorter client deadline wins.
    pub max_timeout: Duration,
    pub drain: Duration,
    /// How often backend health is polled.
    pub health_interval: Duration,
    /// `occasionali dev` only: the clock every context shares, served as DevClockService.
    pub dev_clock: Option<Arc<OffsetClock>>,
}

/// Serves the gateway on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, options: GatewayOptions, shutdown: Shutdown) -> anyhow::Result<()> {
    let mut channels = HashMap::new();
    for (ctx, endpoint) in &options.backends {
        channels.insert(*ctx, occasionali_runtime::client::lazy_channel(endpoint)?);
    }
    let mut services: Vec<String> = Context::ALL
        .iter()
        .map(|c| c.service_name().to_string())
        .collect();
    let mut local = Routes::builder().routes();
    if let Some(clock) = options.dev_clock.clone() {
        local = local.add_service(DevClockServiceServer::with_interceptor(
            dev_clock::DevClock { clock },
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

    let proxy = Proxy::new(
        channels,
        options.client_tokens,
        options.internal_tokens,
        options.max_timeout,
    );
    // Health and reflection are answered here; every other path goes to the proxy.
    let routes = Routes::from(standard.into_axum_router().fallback_service(proxy));
    server::serve_with_health(
        listener,
        ServeOptions {
            name: "gateway".into(),
            services,
            drain: options.drain,
        },
        routes,
        reporter,
        shutdown,
    )
    .await
}
