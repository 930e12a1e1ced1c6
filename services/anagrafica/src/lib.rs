//! Anagrafica: the registry of prestatori, utilizzatori and intermediari (SPEC §1).

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

use occasionali_proto::anagrafica::anagrafica_internal_service_server::AnagraficaInternalServiceServer;
use occasionali_proto::anagrafica::anagrafica_service_server::AnagraficaServiceServer;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::client::Caller;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IdentityInterceptor, SystemOnlyInterceptor};
use tonic::service::Routes;

pub use prestazioni::PrestazioniClient;
pub use store::Migrator;

/// The tonic routes of the context: every call must carry a verified identity; the internal
/// service (queries for other contexts) admits only the platform's `sistema` identity (GW-6).
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let channel = occasionali_runtime::client::lazy_channel(deps.endpoint(Context::Prestazioni)?)?;
    let caller = Caller::new(deps.tokens.clone(), Context::Prestazioni, Duration::from_secs(10));
    let app = app::Anagrafica {
        db: deps.db,
        clock: deps.clock,
        prestazioni: PrestazioniClient::new(channel, caller),
    };
    let internal = InterceptedService::new(
        AnagraficaInternalServiceServer::new(api::interno::Interno { app: app.clone() }).limitato(),
        SystemOnlyInterceptor::new(deps.tokens.clone()),
    );
    let server = InterceptedService::new(
        AnagraficaServiceServer::new(api::Api { app }).limitato(),
        IdentityInterceptor::new(deps.tokens),
    );
    Ok(Routes::new(server).add_service(internal))
}
