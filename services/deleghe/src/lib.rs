//! Deleghe: SPEC §5, delegations (issue: Deleghe).
//!
//! This release starts the context (its database, health, reflection, identity check) so the
//! whole API surface is visible through the gateway; its RPCs answer UNIMPLEMENTED until the
//! context's own issue is worked.

use occasionali_proto::deleghe::deleghe_service_server::{DelegheService, DelegheServiceServer};
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::identity::IdentityInterceptor;
use occasionali_runtime::outbox::CreateOutbox;
use sea_orm_migration::prelude::*;
use tonic::service::Routes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateOutbox)]
    }
}

struct Deleghe;

impl DelegheService for Deleghe {}

/// The tonic routes of the context: every call must carry a verified identity.
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let server = DelegheServiceServer::with_interceptor(Deleghe, IdentityInterceptor::new(deps.tokens));
    Ok(Routes::new(server))
}
