//! Portafoglio: SPEC §2, the wallet ledger and F24 (issue: Portafoglio and F24).
//!
//! This release starts the context (its database, health, reflection, identity check) so the
//! whole API surface is visible through the gateway; its RPCs answer UNIMPLEMENTED until the
//! context's own issue is worked.

use occasionali_proto::portafoglio::portafoglio_service_server::{
    PortafoglioService, PortafoglioServiceServer,
};
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

struct Portafoglio;

impl PortafoglioService for Portafoglio {}

/// The tonic routes of the context: every call must carry a verified identity.
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let server =
        PortafoglioServiceServer::with_interceptor(Portafoglio, IdentityInterceptor::new(deps.tokens));
    Ok(Routes::new(server))
}
