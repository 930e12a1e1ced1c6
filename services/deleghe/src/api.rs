//! The gRPC edge: identity and scope, decode → app → encode, domain refusals mapped to gRPC once
//! ([`errori`]). The public service is here; the internal one (the gateway's DEL-2 check,
//! `sistema` only) is in [`interno`].

use occasionali_kernel::calendar;
use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_service_server::DelegheService;
use occasionali_runtime::{AppError, Identity, RequestIdentity};
use tonic::{Request, Response, Status};

use crate::app::Deleghe;
use crate::decode;
use crate::domain::accesso;
use crate::encode::{self, Vista};

mod errori;
pub mod interno;

/// The public service: what clients call through the gateway.
pub struct Api {
    pub app: Deleghe,
}

/// Operators and the platform read every CF of a delega; its parties read operators' masked.
fn vista(id: &Identity) -> Vista {
    if accesso::vede_tutte(id) {
        Vista::Completa
    } else {
        Vista::Parte
    }
}

#[tonic::async_trait]
impl DelegheService for Api {
    async fn create_delega(
        &self,
        request: Request<pb::CreateDelegaRequest>,
    ) -> Result<Response<pb::CreateDelegaResponse>, Status> {
        let id = request.identity()?;
        // One instant for the request: "not before today" is judged on the creation's own date.
        let ora = self.app.ora();
        let nuova = decode::nuova_delega(
            request.get_ref(),
            calendar::rome_date(ora),
            accesso::nota_obbligatoria(&id),
        )?;
        let (d, oggi) = self.app.crea(&id, ora, nuova).await?;
        Ok(Response::new(pb::CreateDelegaResponse {
            delega: Some(encode::delega(&d, oggi, vista(&id))),
        }))
    }

    async fn revoke_delega(
        &self,
        request: Request<pb::RevokeDelegaRequest>,
    ) -> Result<Response<pb::RevokeDelegaResponse>, Status> {
        let id = request.identity()?;
        let (delega_id, motivo) = decode::revoca(request.get_ref(), accesso::nota_obbligatoria(&id))?;
        let (d, oggi) = self.app.revoca(&id, &delega_id, motivo).await?;
        Ok(Response::new(pb::RevokeDelegaResponse {
            delega: Some(encode::delega(&d, oggi, vista(&id))),
        }))
    }

    async fn get_delega(
        &self,
        request: Request<pb::GetDelegaRequest>,
    ) -> Result<Response<pb::GetDelegaResponse>, Status> {
        let id = request.identity()?;
        let delega_id = decode::delega_id(&request.get_ref().delega_id)?;
        let (d, oggi) = self.app.delega(&id, &delega_id).await?;
        Ok(Response::new(pb::GetDelegaResponse {
            delega: Some(encode::delega(&d, oggi, vista(&id))),
        }))
    }

    async fn list_deleghe(
        &self,
        request: Request<pb::ListDelegheRequest>,
    ) -> Result<Response<pb::ListDelegheResponse>, Status> {
        let id = request.identity()?;
        let visibili_a = (!accesso::vede_tutte(&id)).then(|| id.subject_cf().to_string());
        let (filtro, pagina) = decode::lista(request.get_ref(), visibili_a)?;
        let p = self.app.lista(&filtro, pagina).await?;
        let vista = vista(&id);
        Ok(Response::new(pb::ListDelegheResponse {
            deleghe: p
                .deleghe
                .iter()
                .map(|d| encode::delega(d, p.oggi, vista))
                .collect(),
            next_page_token: p.next_page_token,
        }))
    }

    async fn list_audit_delega(
        &self,
        request: Request<pb::ListAuditDelegaRequest>,
    ) -> Result<Response<pb::ListAuditDelegaResponse>, Status> {
        let id = request.identity()?;
        // Who may read the trail is settled before the request is read.
        accesso::audit(&id).map_err(AppError::from)?;
        let (filtro, pagina) = decode::audit(request.get_ref())?;
        let (voci, next_page_token) = self.app.audit(&filtro, pagina).await?;
        Ok(Response::new(pb::ListAuditDelegaResponse {
            voci: voci.iter().map(encode::voce).collect(),
            next_page_token,
        }))
    }
}
