//! Comunicazioni: SPEC §4, LAO preventive communications (issue: Comunicazioni LAO).
//!
//! This release starts the context (its database, health, reflection, identity check) so the
//! whole API surface is visible through the gateway; its RPCs answer UNIMPLEMENTED until the
//! context's own issue is worked.

use occasionali_proto::comunicazioni::comunicazioni_service_server::{
    ComunicazioniService, ComunicazioniServiceServer,
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

struct Comunicazioni;

impl ComunicazioniService for Comunicazioni {}

/// The tonic routes of the context: every call must carry a verified identity.
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let server =
        ComunicazioniServiceServer::with_interceptor(Comunicazioni, IdentityInterceptor::new(deps.tokens));
    Ok(Routes::new(server))
}
