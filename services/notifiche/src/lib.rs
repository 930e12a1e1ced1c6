//! Notifiche: SPEC §6, proactive notifications.
//!
//! Events of the other contexts arrive through their relays (NotificheInternalService.
//! IngestEvent, once per event id) and become notices: the MyINPS inbox always, App IO, e-mail
//! and SMS as consents and contacts allow (NOT-1, NOT-2, PRE-13). A worker in every process
//! delivers them at least once with backoff (NOT-6); a scheduler announces deleghe about to end.
//! The domestic-work read model is imported by stream (NOT-7) and drives the quarterly campaign
//! (NOT-3) whose personalised guide is a web page with its dashboard (NOT-4, NOT-5).
//!
//! Layout: `domain/` (pure: rules, access, refusals), `app/` (commands, queries, workers),
//! `store/` (tables), `decode.rs` (requests and other contexts' events), `encode.rs` (answers),
//! `api.rs` (gRPC edge; `api/errori.rs` maps refusals to gRPC, `api/interno.rs` the internal
//! service, `api/pagine.rs` the pages' port), `canali/` (channel adapters), `web/` (the pages).

mod api;
pub mod app;
pub mod canali;
mod decode;
pub mod domain;
mod encode;
mod store;
pub mod web;

use occasionali_runtime::limiti::Limitato;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

use occasionali_proto::notifiche::notifiche_internal_service_server::NotificheInternalServiceServer;
use occasionali_proto::notifiche::notifiche_service_server::NotificheServiceServer;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::config::NotificheConfig;
use occasionali_runtime::identity::{IdentityInterceptor, SystemOnlyInterceptor};
use occasionali_runtime::shutdown::Shutdown;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tonic::service::Routes;

pub use app::App;
pub use store::Migrator;
pub use store::ricevuti::eventi_ricevuti;

/// The context's application for this process's configuration.
pub fn app(deps: &ContextDeps, config: &NotificheConfig) -> anyhow::Result<App> {
    let base = match (&config.public_url, config.web_listen) {
        (Some(u), _) => u.trim_end_matches('/').to_string(),
        (None, Some(addr)) => format!("http://{addr}"),
        (None, None) => "https://servizi.inps.it/notifiche".to_string(),
    };
    Ok(App {
        db: deps.db.clone(),
        clock: deps.clock.clone(),
        canali: canali::Canali::da_config(config)?,
        base_url: Arc::from(base),
        sveglia: Arc::new(Notify::new()),
    })
}

/// The tonic routes of the context: every call must carry a verified identity; the internal
/// service only the platform's.
pub fn routes(app: &App, deps: &ContextDeps) -> Routes {
    let public = InterceptedService::new(
        NotificheServiceServer::new(api::Notifiche { app: app.clone() }).limitato(),
        IdentityInterceptor::new(deps.tokens.clone()),
    );
    let internal = InterceptedService::new(
        NotificheInternalServiceServer::new(api::interno::Interno { app: app.clone() }).limitato(),
        SystemOnlyInterceptor::new(deps.tokens.clone()),
    );
    Routes::new(public).add_service(internal)
}

/// The guide and dashboard pages (NOT-4, NOT-5) on `listener` until shutdown.
pub fn spawn_web(
    app: &App,
    listener: tokio::net::TcpListener,
    client_tokens: occasionali_runtime::issuers::ClientVerifier,
    shutdown: Shutdown,
) -> JoinHandle<()> {
    let router = web::router(
        Arc::new(app.clone()),
        Arc::new(web::TokenOperatore(client_tokens)),
    );
    tokio::spawn(async move {
        if let Err(e) = web::serve(listener, router, shutdown.wait()).await {
            tracing::error!(error = %e, "the notifiche pages stopped");
        }
    })
}

/// [`app`] and [`routes`] with the default configuration (no channels configured; tests).
pub fn routes_for(deps: &ContextDeps) -> anyhow::Result<Routes> {
    Ok(routes(&app(deps, &NotificheConfig::default())?, deps))
}

/// What every notifiche process runs besides its RPCs: the delivery worker and the scheduler of
/// deleghe about to end (safe on every replica: leases and notice keys).
pub fn spawn_background(app: &App, shutdown: Shutdown) -> Vec<JoinHandle<()>> {
    let scadenze = app.clone();
    vec![
        app::consegne::spawn_worker(app.clone(), shutdown.clone()),
        occasionali_runtime::periodic::spawn(
            "scadenze-deleghe",
            Duration::from_secs(60),
            shutdown,
            move || {
                let a = scadenze.clone();
                async move { a.avvisa_scadenze().await.map(|_| ()) }
            },
        ),
    ]
}
