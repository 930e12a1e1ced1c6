//! The internal service (NOT-2): other contexts' events, as their relays deliver them, served
//! only to the platform's `sistema` identity (the interceptor refuses anyone else).

use occasionali_proto::notifiche as pb;
use occasionali_proto::notifiche::notifiche_internal_service_server::NotificheInternalService;
use tonic::{Request, Response, Status};

use crate::app::App;
use crate::decode;

/// The internal service: only the platform calls it.
pub struct Interno {
    pub app: App,
}

#[tonic::async_trait]
impl NotificheInternalService for Interno {
    async fn ingest_event(
        &self,
        request: Request<pb::IngestEventRequest>,
    ) -> Result<Response<pb::IngestEventResponse>, Status> {
        let (event, ingresso) = decode::evento_ricevuto(request.into_inner())?;
        let esito = self.app.ingerisci(&event, ingresso).await?;
        Ok(Response::new(pb::IngestEventResponse {
            duplicato: esito.duplicato,
            notifica_ids: esito.notifiche,
        }))
    }
}
