//! The gRPC edge: identity → decode → application → encode; the LAO rules' refusals become gRPC
//! errors once, in `errori`.

mod errori;

use std::pin::Pin;

use futures::Stream;
use occasionali_proto::comunicazioni as pb;
use occasionali_proto::comunicazioni::comunicazioni_service_server::ComunicazioniService;
use occasionali_runtime::{AppError, RequestIdentity};
use tonic::{Request, Response, Status};

use crate::app::{App, Ricevuta};
use crate::{decode, encode};

pub struct Comunicazioni {
    pub app: App,
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Receipt chunk size for DownloadRicevuta.
const CHUNK: usize = 16 * 1024;

/// The receipt in chunks; the first names the content type and the file.
fn in_pezzi(r: Ricevuta) -> Vec<Result<pb::DownloadRicevutaResponse, Status>> {
    r.pdf
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            Ok(pb::DownloadRicevutaResponse {
                content_type: if i == 0 {
                    "application/pdf".into()
                } else {
                    String::new()
                },
                filename: if i == 0 {
                    r.nome_file.clone()
                } else {
                    String::new()
                },
                chunk: chunk.to_vec(),
            })
        })
        .collect()
}

#[tonic::async_trait]
impl ComunicazioniService for Comunicazioni {
    type DownloadRicevutaStream = Stream_<pb::DownloadRicevutaResponse>;

    async fn search_comunicazioni(
        &self,
        request: Request<pb::SearchComunicazioniRequest>,
    ) -> Result<Response<pb::SearchComunicazioniResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        // The request is checked before the profile: a search without keys is malformed
        // whoever sends it.
        let ricerca = decode::ricerca(&id, &r).map_err(AppError::from)?;
        let (righe, oggi) = self.app.cerca(&id, &ricerca, &r.committente_cf).await?;
        let (comunicazioni, next_page_token) = ricerca
            .pagina
            .taglia(righe.iter().map(|s| (s.seq, encode::sintesi(s, oggi))).collect());
        Ok(Response::new(pb::SearchComunicazioniResponse {
            comunicazioni,
            next_page_token,
        }))
    }

    async fn get_comunicazione(
        &self,
        request: Request<pb::GetComunicazioneRequest>,
    ) -> Result<Response<pb::GetComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let apertura = decode::apertura(&r.codice_comunicazione, &r.committente_cf, &r.lavoratore_cf)
            .map_err(AppError::from)?;
        let d = self.app.dettaglio(&id, &apertura, &r.committente_cf).await?;
        Ok(Response::new(pb::GetComunicazioneResponse {
            comunicazione: Some(encode::registrata(&d.comunicazione, d.oggi, Vec::new())),
            catena: d.catena.iter().map(|s| encode::sintesi(s, d.oggi)).collect(),
        }))
    }

    async fn insert_comunicazione(
        &self,
        request: Request<pb::InsertComunicazioneRequest>,
    ) -> Result<Response<pb::InsertComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let e = self.app.inserisci(&id, request.into_inner()).await?;
        Ok(Response::new(pb::InsertComunicazioneResponse {
            comunicazione: Some(encode::esito(e)),
        }))
    }

    async fn vary_comunicazione(
        &self,
        request: Request<pb::VaryComunicazioneRequest>,
    ) -> Result<Response<pb::VaryComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let e = self.app.varia(&id, request.into_inner()).await?;
        Ok(Response::new(pb::VaryComunicazioneResponse {
            comunicazione: Some(encode::esito(e)),
        }))
    }

    async fn cancel_comunicazione(
        &self,
        request: Request<pb::CancelComunicazioneRequest>,
    ) -> Result<Response<pb::CancelComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let e = self.app.annulla(&id, request.into_inner()).await?;
        Ok(Response::new(pb::CancelComunicazioneResponse {
            comunicazione: Some(encode::esito(e)),
        }))
    }

    async fn download_ricevuta(
        &self,
        request: Request<pb::DownloadRicevutaRequest>,
    ) -> Result<Response<Stream_<pb::DownloadRicevutaResponse>>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let apertura = decode::apertura(&r.codice_comunicazione, &r.committente_cf, &r.lavoratore_cf)
            .map_err(AppError::from)?;
        let ricevuta = self.app.ricevuta(&id, &apertura, &r.committente_cf).await?;
        Ok(Response::new(Box::pin(tokio_stream::iter(in_pezzi(ricevuta)))))
    }

    async fn list_profili_operativi(
        &self,
        request: Request<pb::ListProfiliOperativiRequest>,
    ) -> Result<Response<pb::ListProfiliOperativiResponse>, Status> {
        let id = request.identity()?;
        let profili = self.app.profili(&id).await?;
        Ok(Response::new(pb::ListProfiliOperativiResponse {
            profili: profili.into_iter().map(encode::profilo_operativo).collect(),
        }))
    }

    async fn get_lavoratore_summary(
        &self,
        request: Request<pb::GetLavoratoreSummaryRequest>,
    ) -> Result<Response<pb::GetLavoratoreSummaryResponse>, Status> {
        let id = request.identity()?;
        let (cf, anno) = decode::riepilogo(request.get_ref()).map_err(AppError::from)?;
        let anni = self.app.riepilogo(&id, &cf, anno).await?;
        Ok(Response::new(pb::GetLavoratoreSummaryResponse {
            anni: anni.iter().map(encode::anno).collect(),
            avvisi: anni
                .iter()
                .filter_map(|t| t.avviso())
                .map(encode::avviso)
                .collect(),
        }))
    }
}
