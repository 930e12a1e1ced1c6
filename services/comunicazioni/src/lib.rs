//! Comunicazioni: SPEC §4, the Ministry of Labour's preventive communications of lavoro
//! autonomo occasionale (LAO) and their P → V → A chains.

mod api;
mod decode;
pub mod domain;
mod encode;
mod events;
mod ricevuta;
pub mod store;

use occasionali_proto::comunicazioni::comunicazioni_service_server::ComunicazioniServiceServer;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::identity::IdentityInterceptor;
use tonic::service::Routes;

/// The context's migrations, the outbox first.
pub use store::Migrator;

/// The tonic routes of the context: every call must carry a verified identity.
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let service = api::Comunicazioni {
        db: deps.db,
        clock: deps.clock,
    };
    let server = ComunicazioniServiceServer::with_interceptor(service, IdentityInterceptor::new(deps.tokens));
    Ok(Routes::new(server))
}
