//! The internal service (NOT-2): other contexts' events, as their relays deliver them, served
//! only to the platform's `sistema` identity (the interceptor refuses anyone else).

use occasionali_proto::common as cpb;
use occasionali_proto::notifiche as pb;
use occasionali_proto::notifiche::notifiche_internal_service_server::NotificheInternalService;
use occasionali_runtime::{AppError, Violations};
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

    async fn ingest_events(
        &self,
        request: Request<cpb::IngestEventsRequest>,
    ) -> Result<Response<cpb::IngestEventsResponse>, Status> {
        let mut v = Violations::new();
        let events = request.into_inner().events;
        occasionali_runtime::decode::al_massimo(&mut v, "events", &events, MAX_EVENTI);
        v.check().map_err(AppError::from)?;
        // Decoded first: the run up to the first event refused is ingested in one transaction,
        // then that event is answered with its refusal and the rest wait (none overtakes it).
        let mut buoni = Vec::with_capacity(events.len());
        let mut rifiuto = None;
        for event in events {
            match decode::evento_ricevuto(pb::IngestEventRequest { event: Some(event) }) {
                Ok(e) => buoni.push(e),
                Err(e) => {
                    rifiuto = Some(Status::from(e));
                    break;
                }
            }
        }
        let n = buoni.len();
        let esito = |s: &Status| cpb::IngestOutcome {
            code: s.code() as i32,
            message: s.message().to_string(),
        };
        let outcomes = match self.app.ingerisci_tutti(buoni).await {
            Ok(()) => {
                let mut o = vec![cpb::IngestOutcome::default(); n];
                o.extend(rifiuto.as_ref().map(esito));
                o
            }
            // Nothing of the run was kept (an empty run cannot fail): the first event answers
            // why, the rest wait.
            Err(e) => vec![esito(&Status::from(e))],
        };
        Ok(Response::new(cpb::IngestEventsResponse { outcomes }))
    }
}

/// The most events one IngestEvents takes: a relay's batch (runtime::relay, 64 by default) with
/// room to spare.
pub const MAX_EVENTI: usize = 256;
