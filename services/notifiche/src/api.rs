//! The internal service: events from the other contexts' relays (NOT-2).

use occasionali_kernel::SharedClock;
use occasionali_proto::notifiche as pb;
use occasionali_proto::notifiche::notifiche_internal_service_server::NotificheInternalService;
use occasionali_runtime::AppError;
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::store;

pub struct Interno {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
}

#[tonic::async_trait]
impl NotificheInternalService for Interno {
    async fn ingest_event(
        &self,
        request: Request<pb::IngestEventRequest>,
    ) -> Result<Response<pb::IngestEventResponse>, Status> {
        let Some(event) = request.into_inner().event else {
            return Err(
                AppError::invalid("event", "NOT-2", "NOT_2_EVENT_REQUIRED", "the event is required").into(),
            );
        };
        if event.event_id.trim().is_empty() {
            return Err(AppError::invalid(
                "event.event_id",
                "NOT-2",
                "NOT_2_EVENT_ID_REQUIRED",
                "the event id is required",
            )
            .into());
        }
        let nuovo = store::ricevi(&self.db, &event, self.clock.now()).await?;
        Ok(Response::new(pb::IngestEventResponse {
            duplicato: !nuovo,
            notifica_ids: Vec::new(),
        }))
    }
}
