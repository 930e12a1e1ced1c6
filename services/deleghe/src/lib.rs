//! Deleghe: delegations of prestatori and utilizzatori to intermediaries (SPEC §5, DEL-1,
//! DEL-2, DEL-4). The operator's whole-position view (DEL-3) is a gateway composite starting
//! from GetDelega.

mod api;
mod app;
mod decode;
pub mod domain;
mod encode;
mod events;
pub mod store;

use occasionali_proto::deleghe::deleghe_internal_service_server::DelegheInternalServiceServer;
use occasionali_proto::deleghe::deleghe_service_server::DelegheServiceServer;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::identity::{IdentityInterceptor, SystemOnlyInterceptor};
use occasionali_runtime::limiti::Limitato;
use tonic::service::Routes;
use tonic::service::interceptor::InterceptedService;

pub use events::{TOPIC_CREATA, TOPIC_REVOCATA};
pub use store::Migrator;

/// The tonic routes of the context: every call must carry a verified identity; the internal
/// service (the gateway's CheckDelega) admits only the platform's `sistema` identity (GW-6).
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let app = app::Deleghe {
        db: deps.db,
        clock: deps.clock,
    };
    let internal = InterceptedService::new(
        DelegheInternalServiceServer::new(api::interno::Interno { app: app.clone() }).limitato(),
        SystemOnlyInterceptor::new(deps.tokens.clone()),
    );
    let server = InterceptedService::new(
        DelegheServiceServer::new(api::Api { app }).limitato(),
        IdentityInterceptor::new(deps.tokens),
    );
    Ok(Routes::new(server).add_service(internal))
}
