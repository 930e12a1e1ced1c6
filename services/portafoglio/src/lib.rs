//! Portafoglio: SPEC §2, the wallet ledger and F24 (POR-1..POR-8).
//!
//! An append-only double-entry ledger (integer cents) with a cached balance per account kept in
//! the same transaction; deposits from the F24/pagoPA feed matched through the registry
//! (anagrafica); reservations of prestazioni's costs guarded by a conditional update; the
//! monthly payout, run by an operator or by [`spawn_scheduler`]; refunds and operators'
//! corrections. Every command is one transaction with its outbox event.

mod anagrafica;
mod api;
mod app;
mod decode;
pub mod domain;
mod encode;
mod events;
mod prestazioni;
pub mod store;

use occasionali_runtime::limiti::Limitato;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

use occasionali_proto::portafoglio::portafoglio_internal_service_server::PortafoglioInternalServiceServer;
use occasionali_proto::portafoglio::portafoglio_service_server::PortafoglioServiceServer;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::client::Caller;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IdentityInterceptor, SystemOnlyInterceptor};
use occasionali_runtime::shutdown::Shutdown;
use tokio::task::JoinHandle;
use tonic::service::Routes;

pub use store::Migrator;

/// How often the payout scheduler looks at the clock (POR-5).
pub const SCHEDULER_INTERVAL: Duration = Duration::from_secs(60);

/// The context's commands, built from what the process gives every context.
fn portafoglio(deps: &ContextDeps) -> anyhow::Result<app::Portafoglio> {
    // One caller per destination: an internal token is good for its destination only.
    let caller = |verso| Caller::new(deps.tokens.clone(), verso, Duration::from_secs(10));
    let anagrafica = occasionali_runtime::client::lazy_channel(deps.endpoint(Context::Anagrafica)?)?;
    // The limits of the riepilogo are optional (POR-6): without prestazioni, they are absent.
    let prestazioni = match deps.endpoint(Context::Prestazioni) {
        Ok(url) => Some(occasionali_runtime::client::lazy_channel(url)?),
        Err(_) => None,
    };
    Ok(app::Portafoglio {
        db: deps.db.clone(),
        clock: deps.clock.clone(),
        registro: anagrafica::Registro::new(anagrafica, caller(Context::Anagrafica)),
        limiti: prestazioni::Limiti::new(prestazioni, caller(Context::Prestazioni)),
        // The process's relay; a context built alone (tests) makes its own.
        relay: match &deps.relay {
            Some(r) => r.clone(),
            None => occasionali_runtime::relay::Relay::new(
                deps.db.clone(),
                Context::Portafoglio,
                &deps.endpoints,
                deps.tokens.clone(),
                occasionali_runtime::relay::RelayOptions::default(),
            )?,
        },
    })
}

/// The tonic routes of the context: every call must carry a verified identity; the internal
/// service (the saga's steps) admits only the platform's `sistema` identity (GW-6).
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let app = portafoglio(&deps)?;
    let public = InterceptedService::new(
        PortafoglioServiceServer::new(api::Api { app: app.clone() }).limitato(),
        IdentityInterceptor::new(deps.tokens.clone()),
    );
    let internal = InterceptedService::new(
        PortafoglioInternalServiceServer::new(api::interno::Interno { app }).limitato(),
        SystemOnlyInterceptor::new(deps.tokens),
    );
    Ok(Routes::new(public).add_service(internal))
}

/// POR-5: the payout scheduler. Every minute it reads the platform clock; from the 15th of a
/// month (Rome) it pays the previous month if that month has not been paid, and resumes any run
/// left incomplete. Safe with many replicas: a month is paid once (orders are unique per
/// prestatore and month). Stops at `shutdown`. Call it once per process serving portafoglio.
pub fn spawn_scheduler(deps: ContextDeps, shutdown: Shutdown) -> anyhow::Result<JoinHandle<()>> {
    spawn_scheduler_every(deps, shutdown, SCHEDULER_INTERVAL)
}

/// [`spawn_scheduler`] with another interval (tests).
pub fn spawn_scheduler_every(
    deps: ContextDeps,
    shutdown: Shutdown,
    every: Duration,
) -> anyhow::Result<JoinHandle<()>> {
    let app = portafoglio(&deps)?;
    Ok(occasionali_runtime::periodic::spawn(
        "portafoglio-scheduler",
        every,
        shutdown,
        move || {
            let app = app.clone();
            async move { app.turno_pianificato().await }
        },
    ))
}
