//! The internal service (GW-6): the gateway's DEL-2 check, served only to the platform's
//! `sistema` identity (the interceptor refuses anyone else).

use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_internal_service_server::DelegheInternalService;
use occasionali_runtime::{AppError, RequestIdentity};
use tonic::{Request, Response, Status};

use crate::app::Deleghe;
use crate::decode;
use crate::domain::accesso;
use crate::encode;

/// The internal service: only the platform calls it.
pub struct Interno {
    pub app: Deleghe,
}

#[tonic::async_trait]
impl DelegheInternalService for Interno {
    async fn check_delega(
        &self,
        request: Request<pb::CheckDelegaRequest>,
    ) -> Result<Response<pb::CheckDelegaResponse>, Status> {
        let id = request.identity()?;
        // A second lock behind the interceptor, before the request is read.
        accesso::verifica(&id).map_err(AppError::from)?;
        let richiesta = decode::verifica(request.get_ref())?;
        let esito = self.app.verifica(&id, richiesta).await?;
        Ok(Response::new(pb::CheckDelegaResponse {
            outcome: encode::esito(esito.esito) as i32,
            delega_id: esito.delega_id.unwrap_or_default(),
        }))
    }
}
