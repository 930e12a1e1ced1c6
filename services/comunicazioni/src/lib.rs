//! Comunicazioni: SPEC §4, the Ministry of Labour's preventive communications of lavoro
//! autonomo occasionale (LAO) and their P → V → A chains.

mod anagrafica;
mod api;
mod app;
mod decode;
mod deleghe;
pub mod domain;
mod encode;
mod events;
mod ricevuta;
pub mod store;

use occasionali_proto::comunicazioni::comunicazioni_service_server::ComunicazioniServiceServer;
use occasionali_runtime::limiti::Limitato;
use std::time::Duration;
use tonic::service::interceptor::InterceptedService;

use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::client::Caller;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::IdentityInterceptor;
use tonic::service::Routes;

/// The context's migrations, the outbox first.
pub use store::Migrator;

/// The tonic routes of the context: every call must carry a verified identity. An Azienda's
/// committente data come from the registry (anagrafica).
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    // One caller per destination: an internal token is good for its destination only.
    let caller = |verso| Caller::new(deps.tokens.clone(), verso, Duration::from_secs(10));
    let anagrafica = occasionali_runtime::client::lazy_channel(deps.endpoint(Context::Anagrafica)?)?;
    // Deleghe answers for whom a person acts under a delega (ListProfiliOperativi); a process
    // configured without it lists only the person's own profiles and companies.
    let deleghe = match deps.endpoints.get(&Context::Deleghe) {
        Some(url) => Some(deleghe::Deleghe::new(
            occasionali_runtime::client::lazy_channel(url)?,
            caller(Context::Deleghe),
        )),
        None => None,
    };
    let service = api::Comunicazioni {
        app: app::App {
            db: deps.db,
            clock: deps.clock,
            registro: anagrafica::Registro::new(anagrafica, caller(Context::Anagrafica)),
            deleghe,
        },
    };
    let server = InterceptedService::new(
        ComunicazioniServiceServer::new(service).limitato(),
        IdentityInterceptor::new(deps.tokens),
    );
    Ok(Routes::new(server))
}
