//! The gRPC edge: identity and scope, decode → app → encode. The registry's refusals are mapped
//! to gRPC once, in [`errori`]. The public service is here; the internal one (registry queries
//! for the platform's own contexts, `sistema` only) is in [`interno`].

use std::pin::Pin;

use futures::{Stream, StreamExt};
use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_service_server::AnagraficaService;
use occasionali_proto::common::Periodo;
use occasionali_runtime::{AppError, Identity, RequestIdentity, Violations};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::app::{Anagrafica, Correzione, Righe};
use crate::decode;
use crate::domain::estrazione::{self, Estrazione, SoggettoAttivo};
use crate::encode;

mod errori;
pub mod interno;

/// The public service: what clients call through the gateway.
pub struct Api {
    pub app: Anagrafica,
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// An extraction the caller may ask (ANA-9): `None` when a field is bad, reported in `v`.
/// Refusing the caller comes before any bad field.
fn estrazione(
    id: &Identity,
    ruolo: i32,
    periodo: Option<&Periodo>,
    sede: &str,
    v: &mut Violations,
) -> Result<Option<Estrazione>, AppError> {
    let ruolo_e_periodo = decode::ruolo_e_periodo(v, ruolo, periodo);
    let sede = decode::sede(v, "sede", sede).flatten();
    let sede = estrazione::sede_estraibile(id, sede)?;
    Ok(ruolo_e_periodo.map(|(ruolo, dal, al)| Estrazione { ruolo, dal, al, sede }))
}

/// The lines of an extraction as the stream of an RPC.
fn flusso<T: Send + 'static>(righe: Righe, risposta: fn(pb::SoggettoAttivo) -> T) -> Stream_<T> {
    Box::pin(ReceiverStream::new(righe).map(move |r| {
        r.map(|a: SoggettoAttivo| risposta(encode::soggetto_attivo(a)))
            .map_err(Status::from)
    }))
}

#[tonic::async_trait]
impl AnagraficaService for Api {
    type StreamSoggettiAttiviStream = Stream_<pb::StreamSoggettiAttiviResponse>;
    type SampleSoggettiAttiviStream = Stream_<pb::SampleSoggettiAttiviResponse>;

    async fn register_prestatore(
        &self,
        request: Request<pb::RegisterPrestatoreRequest>,
    ) -> Result<Response<pb::RegisterPrestatoreResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let reg = decode::registrazione_prestatore(&r, self.app.oggi())?;
        let s = self.app.registra(&id, reg, &r.nota).await?;
        Ok(Response::new(pb::RegisterPrestatoreResponse {
            soggetto: Some(encode::soggetto(&s)),
        }))
    }

    async fn register_utilizzatore(
        &self,
        request: Request<pb::RegisterUtilizzatoreRequest>,
    ) -> Result<Response<pb::RegisterUtilizzatoreResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let reg = decode::registrazione_utilizzatore(&r, self.app.oggi())?;
        let s = self.app.registra(&id, reg, &r.nota).await?;
        Ok(Response::new(pb::RegisterUtilizzatoreResponse {
            soggetto: Some(encode::soggetto(&s)),
        }))
    }

    async fn register_intermediario(
        &self,
        request: Request<pb::RegisterIntermediarioRequest>,
    ) -> Result<Response<pb::RegisterIntermediarioResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let reg = decode::registrazione_intermediario(&r, self.app.oggi())?;
        let s = self.app.registra(&id, reg, &r.nota).await?;
        Ok(Response::new(pb::RegisterIntermediarioResponse {
            soggetto: Some(encode::soggetto(&s)),
        }))
    }

    async fn get_soggetto(
        &self,
        request: Request<pb::GetSoggettoRequest>,
    ) -> Result<Response<pb::GetSoggettoResponse>, Status> {
        let id = request.identity()?;
        let cf = decode::cf_richiesto(&request.get_ref().codice_fiscale)?;
        let s = self.app.soggetto(&id, &cf).await?;
        Ok(Response::new(pb::GetSoggettoResponse {
            soggetto: Some(encode::soggetto(&s)),
        }))
    }

    async fn list_rappresentate(
        &self,
        request: Request<pb::ListRappresentateRequest>,
    ) -> Result<Response<pb::ListRappresentateResponse>, Status> {
        let id = request.identity()?;
        let cf = decode::cf_richiesto(&request.get_ref().codice_fiscale)?;
        let rappresentate = self.app.rappresentate(&id, &cf).await?;
        Ok(Response::new(pb::ListRappresentateResponse {
            rappresentate: rappresentate.iter().map(encode::rappresentata).collect(),
        }))
    }

    async fn update_soggetto(
        &self,
        request: Request<pb::UpdateSoggettoRequest>,
    ) -> Result<Response<pb::UpdateSoggettoResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let valori = decode::valori(&r, self.app.oggi())?;
        let correzione = Correzione {
            cf: decode::cf_richiesto(&r.codice_fiscale)?,
            valori,
            nota: r.nota,
            versione_attesa: r.expected_versione,
        };
        let s = self.app.modifica(&id, correzione).await?;
        Ok(Response::new(pb::UpdateSoggettoResponse {
            soggetto: Some(encode::soggetto(&s)),
        }))
    }

    async fn list_modifiche(
        &self,
        request: Request<pb::ListModificheRequest>,
    ) -> Result<Response<pb::ListModificheResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let cf = decode::cf_richiesto(&r.codice_fiscale)?;
        let elenco = self.app.storia(&id, &cf, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListModificheResponse {
            modifiche: elenco.righe.into_iter().map(encode::modifica).collect(),
            next_page_token: elenco.next_page_token,
        }))
    }

    async fn stream_soggetti_attivi(
        &self,
        request: Request<pb::StreamSoggettiAttiviRequest>,
    ) -> Result<Response<Stream_<pb::StreamSoggettiAttiviResponse>>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let e = estrazione(&id, r.ruolo, r.periodo.as_ref(), &r.sede, &mut v)?;
        v.check().map_err(AppError::from)?;
        let e = e.ok_or_else(|| AppError::internal("extraction decoded without value"))?;
        let righe = self.app.estrai(id, e).await?;
        Ok(Response::new(flusso(righe, |s| {
            pb::StreamSoggettiAttiviResponse { soggetto: Some(s) }
        })))
    }

    async fn sample_soggetti_attivi(
        &self,
        request: Request<pb::SampleSoggettiAttiviRequest>,
    ) -> Result<Response<Stream_<pb::SampleSoggettiAttiviResponse>>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let e = estrazione(&id, r.ruolo, r.periodo.as_ref(), &r.sede, &mut v)?;
        let dimensione = decode::dimensione(&mut v, r.dimensione.as_ref());
        v.check().map_err(AppError::from)?;
        let (Some(e), Some(dimensione)) = (e, dimensione) else {
            return Err(AppError::internal("sample decoded without value").into());
        };
        let righe = self.app.campione(id, e, dimensione, r.seed).await?;
        Ok(Response::new(flusso(righe, |s| {
            pb::SampleSoggettiAttiviResponse { soggetto: Some(s) }
        })))
    }

    async fn list_accessi_operatori(
        &self,
        request: Request<pb::ListAccessiOperatoriRequest>,
    ) -> Result<Response<pb::ListAccessiOperatoriResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let norm = |s: &str| Some(s.trim().to_uppercase()).filter(|s| !s.is_empty());
        let (autore, cf) = (norm(&r.autore_cf), norm(&r.codice_fiscale));
        let elenco = self
            .app
            .accessi_operatori(&id, autore.as_deref(), cf.as_deref(), r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListAccessiOperatoriResponse {
            accessi: elenco.righe.into_iter().map(encode::accesso_operatore).collect(),
            next_page_token: elenco.next_page_token,
        }))
    }
}
