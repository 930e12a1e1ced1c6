//! Prestazioni: SPEC §3, LF and CPO declarations (PRE-1..PRE-20).
//!
//! A per-year rule table (PRE-20); insertion with every check, limits enforced by counter rows
//! raised with conditional updates in the inserting transaction (PRE-8, PRE-9); the wallet saga
//! with portafoglio (PENDING → ReserveFunds → ACCEPTED/REJECTED, PRE-10) resumed by
//! [`spawn_recovery`]; idempotent request ids (PRE-18); revoca, conferma, contestazione
//! (PRE-11..PRE-15) with outbox events (PRE-17); views and the payout feed (PRE-16, POR-5).

mod anagrafica;
mod api;
mod app;
mod decode;
pub mod domain;
mod encode;
mod events;
mod portafoglio;
pub mod store;

use occasionali_runtime::limiti::Limitato;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

use occasionali_proto::prestazioni::prestazioni_internal_service_server::PrestazioniInternalServiceServer;
use occasionali_proto::prestazioni::prestazioni_service_server::PrestazioniServiceServer;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::client::Caller;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IdentityInterceptor, SystemOnlyInterceptor};
use occasionali_runtime::shutdown::Shutdown;
use tokio::task::JoinHandle;
use tonic::service::Routes;

pub use store::Migrator;

/// How often [`spawn_recovery`] looks for PENDING prestazioni.
pub const RECOVERY_INTERVAL: Duration = Duration::from_secs(10);

fn app(deps: &ContextDeps) -> anyhow::Result<app::App> {
    // One caller per destination: an internal token is good for its destination only.
    let caller = |verso| Caller::new(deps.tokens.clone(), verso, Duration::from_secs(10));
    let anagrafica = occasionali_runtime::client::lazy_channel(deps.endpoint(Context::Anagrafica)?)?;
    let portafoglio = occasionali_runtime::client::lazy_channel(deps.endpoint(Context::Portafoglio)?)?;
    Ok(app::App {
        db: deps.db.clone(),
        clock: deps.clock.clone(),
        registro: anagrafica::Registro::new(anagrafica, caller(Context::Anagrafica)),
        portafoglio: portafoglio::Portafoglio::new(portafoglio, caller(Context::Portafoglio)),
        // The process's relay; a context built alone (tests) makes its own.
        relay: match &deps.relay {
            Some(r) => r.clone(),
            None => occasionali_runtime::relay::Relay::new(
                deps.db.clone(),
                Context::Prestazioni,
                &deps.endpoints,
                deps.tokens.clone(),
                occasionali_runtime::relay::RelayOptions::default(),
            )?,
        },
        regole_in_vigore: app::RegoleInVigore::default(),
    })
}

/// The tonic routes of the context: every call must carry a verified identity; the internal
/// service (payout steps, registry questions) admits only the platform's `sistema` identity (GW-6).
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let app = app(&deps)?;
    let public = InterceptedService::new(
        PrestazioniServiceServer::new(api::Api { app: app.clone() }).limitato(),
        IdentityInterceptor::new(deps.tokens.clone()),
    );
    let internal = InterceptedService::new(
        PrestazioniInternalServiceServer::new(api::interno::Interno { app }).limitato(),
        SystemOnlyInterceptor::new(deps.tokens),
    );
    Ok(Routes::new(public).add_service(internal))
}

/// The saga's recovery: at start-up and then every [`RECOVERY_INTERVAL`], finishes every PENDING
/// prestazione (a crash between its insertion and the wallet's answer) by asking portafoglio again
/// (idempotent on the prestazione id). Safe with many replicas. Stops at `shutdown`.
pub fn spawn_recovery(deps: ContextDeps, shutdown: Shutdown) -> anyhow::Result<JoinHandle<()>> {
    spawn_recovery_every(deps, shutdown, RECOVERY_INTERVAL)
}

/// [`spawn_recovery`] with another interval (tests).
pub fn spawn_recovery_every(
    deps: ContextDeps,
    shutdown: Shutdown,
    every: Duration,
) -> anyhow::Result<JoinHandle<()>> {
    let app = app(&deps)?;
    Ok(occasionali_runtime::periodic::spawn(
        "prestazioni-recovery",
        every,
        shutdown,
        move || {
            let app = app.clone();
            async move { app.riprendi().await.map(drop) }
        },
    ))
}
