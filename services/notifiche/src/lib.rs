//! Notifiche: SPEC §6, proactive notifications.
//!
//! What stands: the context's internal ingest (NotificheInternalService.IngestEvent), where the
//! relay of every other context delivers its events at least once; each event is kept once,
//! deduplicated by its id, for the notices to be built from (NOT-2). The public RPCs (consents,
//! inbox, campaigns) answer UNIMPLEMENTED until the context's own issue is worked.

mod api;
pub mod canali;
mod store;
pub mod web;

use occasionali_proto::notifiche::notifiche_internal_service_server::NotificheInternalServiceServer;
use occasionali_proto::notifiche::notifiche_service_server::{NotificheService, NotificheServiceServer};
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::identity::{IdentityInterceptor, SystemOnlyInterceptor};
use tonic::service::Routes;

pub use store::Migrator;
pub use store::eventi_ricevuti;

struct Notifiche;

impl NotificheService for Notifiche {}

/// The tonic routes of the context: every call must carry a verified identity; the internal
/// service only the platform's.
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let public =
        NotificheServiceServer::with_interceptor(Notifiche, IdentityInterceptor::new(deps.tokens.clone()));
    let internal = NotificheInternalServiceServer::with_interceptor(
        api::Interno {
            db: deps.db.clone(),
            clock: deps.clock.clone(),
        },
        SystemOnlyInterceptor::new(deps.tokens),
    );
    Ok(Routes::new(public).add_service(internal))
}
