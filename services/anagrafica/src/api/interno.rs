//! The internal service: registry queries for the platform's own contexts, served only to the
//! `sistema` identity (GW-6).

use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_internal_service_server::AnagraficaInternalService;
use occasionali_runtime::{AppError, RequestIdentity, Violations};
use tonic::{Request, Response, Status};

use crate::app::Anagrafica;
use crate::decode;
use crate::encode;

pub struct Interno {
    pub app: Anagrafica,
}

impl Interno {
    async fn rappresentate(
        &self,
        r: pb::ListOrganizzazioniRappresentateRequest,
    ) -> Result<pb::ListOrganizzazioniRappresentateResponse, AppError> {
        let mut v = Violations::new();
        let cf = decode::cf_persona(&mut v, "legale_rappresentante_cf", &r.legale_rappresentante_cf);
        v.check()?;
        let Some(cf) = cf else {
            return Ok(pb::ListOrganizzazioniRappresentateResponse::default());
        };
        let organizzazioni = self
            .app
            .organizzazioni_rappresentate(&cf)
            .await?
            .into_iter()
            .map(|(cf, o)| encode::organizzazione(cf, o))
            .collect();
        Ok(pb::ListOrganizzazioniRappresentateResponse { organizzazioni })
    }
}

#[tonic::async_trait]
impl AnagraficaInternalService for Interno {
    async fn get_soggetti(
        &self,
        request: Request<pb::GetSoggettiRequest>,
    ) -> Result<Response<pb::GetSoggettiResponse>, Status> {
        let id = request.identity()?;
        let cfs = decode::cf_elenco(&request.get_ref().codici_fiscali)?;
        let soggetti = self.app.soggetti(&id, &cfs).await?;
        Ok(Response::new(pb::GetSoggettiResponse {
            soggetti: soggetti.iter().map(encode::soggetto).collect(),
        }))
    }

    async fn list_organizzazioni_rappresentate(
        &self,
        request: Request<pb::ListOrganizzazioniRappresentateRequest>,
    ) -> Result<Response<pb::ListOrganizzazioniRappresentateResponse>, Status> {
        Ok(Response::new(self.rappresentate(request.into_inner()).await?))
    }
}
