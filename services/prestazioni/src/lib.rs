//! Prestazioni: LF and CPO declarations (SPEC §3).
//!
//! This release answers the two questions the registry asks (ANA-7, ANA-9) from its own
//! database, which holds no prestazioni until insertion (issue: Prestazioni LF and CPO) is
//! built: so the answers are truthfully empty. Every other RPC answers UNIMPLEMENTED.

use std::pin::Pin;

use futures::Stream;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_service_server::{
    PrestazioniService, PrestazioniServiceServer,
};
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::identity::IdentityInterceptor;
use occasionali_runtime::outbox::CreateOutbox;
use occasionali_runtime::{AppError, Identity};
use sea_orm_migration::prelude::*;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateOutbox)]
    }
}

struct Prestazioni;

/// Only the platform's own contexts ask these questions.
fn solo_sistema(id: &Identity) -> Result<(), Status> {
    if id.is_system() || id.is_operator() {
        Ok(())
    } else {
        Err(AppError::denied(
            "PRE-19",
            "PRE_19_SYSTEM_ONLY",
            "this query is for INPS systems and operators",
        )
        .into())
    }
}

#[tonic::async_trait]
impl PrestazioniService for Prestazioni {
    async fn check_categoria_change(
        &self,
        request: Request<pb::CheckCategoriaChangeRequest>,
    ) -> Result<Response<pb::CheckCategoriaChangeResponse>, Status> {
        solo_sistema(&Identity::of(&request)?)?;
        Ok(Response::new(pb::CheckCategoriaChangeResponse {
            has_prestazioni: false,
            incoerenti: Vec::new(),
        }))
    }

    async fn stream_soggetti_attivi(
        &self,
        request: Request<pb::StreamSoggettiAttiviRequest>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<pb::StreamSoggettiAttiviResponse, Status>> + Send>>>,
        Status,
    > {
        solo_sistema(&Identity::of(&request)?)?;
        Ok(Response::new(Box::pin(futures::stream::empty())))
    }
}

/// The tonic routes of the context: every call must carry a verified identity.
pub fn routes(deps: ContextDeps) -> anyhow::Result<Routes> {
    let server =
        PrestazioniServiceServer::with_interceptor(Prestazioni, IdentityInterceptor::new(deps.tokens));
    Ok(Routes::new(server))
}
