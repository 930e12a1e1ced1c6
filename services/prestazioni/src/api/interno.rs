//! The internal service (GW-6): the payout's steps (portafoglio) and the registry's questions
//! (anagrafica), served only to the platform's `sistema` identity (the interceptor refuses
//! anyone else, operators included).

use occasionali_runtime::RequestIdentity;
use std::pin::Pin;

use futures::Stream;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_internal_service_server::PrestazioniInternalService;
use occasionali_runtime::AppError;
use tonic::{Request, Response, Status};

use crate::app::App;
use crate::decode;
use crate::encode::{self, timestamp};

/// The internal service: only the platform calls it.
pub struct Interno {
    pub app: App,
}

type SoggettiStream = Pin<Box<dyn Stream<Item = Result<pb::StreamSoggettiAttiviResponse, Status>> + Send>>;

#[tonic::async_trait]
impl PrestazioniInternalService for Interno {
    type StreamSoggettiAttiviStream = SoggettiStream;

    async fn close_contestazioni(
        &self,
        request: Request<pb::CloseContestazioniRequest>,
    ) -> Result<Response<pb::CloseContestazioniResponse>, Status> {
        request.identity()?;
        let (anno, m) =
            decode::mese(request.get_ref().anno, request.get_ref().mese).map_err(AppError::from)?;
        let (at, n) = self.app.chiudi_contestazioni(anno, m).await?;
        Ok(Response::new(pb::CloseContestazioniResponse {
            chiuse_il: Some(timestamp(at)),
            numero_dovute: n,
        }))
    }

    async fn list_due_prestazioni(
        &self,
        request: Request<pb::ListDuePrestazioniRequest>,
    ) -> Result<Response<pb::ListDuePrestazioniResponse>, Status> {
        request.identity()?;
        let r = request.into_inner();
        let (anno, m) = decode::mese(r.anno, r.mese).map_err(AppError::from)?;
        let size = if r.page_size <= 0 {
            500
        } else {
            r.page_size.min(5000)
        } as u64;
        let dopo = (!r.page_token.is_empty()).then(|| r.page_token.clone());
        let righe = self.app.dovute(anno, m, dopo, size + 1).await?;
        let more = righe.len() as u64 > size;
        let righe: Vec<_> = righe.into_iter().take(size as usize).collect();
        let next_page_token = if more {
            righe.last().map(|x| x.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListDuePrestazioniResponse {
            prestazioni: righe.iter().map(encode::dovuta).collect(),
            next_page_token,
        }))
    }

    async fn mark_paid(
        &self,
        request: Request<pb::MarkPaidRequest>,
    ) -> Result<Response<pb::MarkPaidResponse>, Status> {
        request.identity()?;
        let pagamento = decode::pagamento(request.into_inner().pagamento).map_err(AppError::from)?;
        let pagate = self.app.segna_pagate(pagamento).await?;
        Ok(Response::new(pb::MarkPaidResponse {
            prestazioni: pagate.iter().map(encode::prestazione).collect(),
        }))
    }

    async fn check_categoria_change(
        &self,
        request: Request<pb::CheckCategoriaChangeRequest>,
    ) -> Result<Response<pb::CheckCategoriaChangeResponse>, Status> {
        request.identity()?;
        let r = request.into_inner();
        let (has_prestazioni, incoerenti) = self
            .app
            .incoerenze(
                &r.utilizzatore_cf.trim().to_uppercase(),
                &r.categoria.trim().to_lowercase(),
                r.ateco.trim(),
            )
            .await?;
        Ok(Response::new(pb::CheckCategoriaChangeResponse {
            has_prestazioni,
            incoerenti: incoerenti.iter().map(encode::incoerenza).collect(),
        }))
    }

    async fn stream_soggetti_attivi(
        &self,
        request: Request<pb::StreamSoggettiAttiviRequest>,
    ) -> Result<Response<SoggettiStream>, Status> {
        request.identity()?;
        let r = request.into_inner();
        let (prestatori, tipo) = decode::ruolo(r.ruolo).map_err(AppError::from)?;
        let per = r.periodo.unwrap_or_default();
        let dal = if per.dal.is_empty() {
            "0000-01-01".to_string()
        } else {
            per.dal
        };
        let al = if per.al.is_empty() {
            "9999-12-31".to_string()
        } else {
            per.al
        };
        let righe = self.app.soggetti_attivi(prestatori, tipo, &dal, &al).await?;
        let items: Vec<Result<pb::StreamSoggettiAttiviResponse, Status>> = righe
            .into_iter()
            .map(|(cf, n)| {
                Ok(pb::StreamSoggettiAttiviResponse {
                    codice_fiscale: cf,
                    numero_prestazioni: n,
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(items))))
    }
}
