//! The gRPC edge: identity, decode → app → encode; the domain's refusals are mapped to gRPC once,
//! in [`errori`]. The public service is here; the internal one (other contexts' events, `sistema`
//! only) is in [`interno`], and the pages' port onto the application in [`pagine`].

use occasionali_proto::notifiche as pb;
use occasionali_proto::notifiche::notifiche_service_server::NotificheService;
use occasionali_runtime::{AppError, RequestIdentity};
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::app::App;
use crate::domain::accesso;
use crate::{decode, encode};

mod errori;
pub mod interno;
mod pagine;

/// The public service: what clients call through the gateway.
pub struct Notifiche {
    pub app: App,
}

type R<T> = Result<Response<T>, Status>;

/// Records of an ImportLavoroDomestico stream written in one transaction at most (issue 12).
const LOTTO_LAVORO_DOMESTICO: usize = 256;

/// The next batch of an import stream: the first message awaited, then those already arrived
/// (none awaited, so a slow client's records are not held back), at most a batch. `None` once
/// the stream has ended.
async fn lotto(
    stream: &mut Streaming<pb::ImportLavoroDomesticoRequest>,
    finito: &mut bool,
) -> Result<Option<Vec<pb::ImportLavoroDomesticoRequest>>, Status> {
    if *finito {
        return Ok(None);
    }
    let Some(primo) = stream.next().await else {
        return Ok(None);
    };
    let mut arrivati = vec![primo?];
    while arrivati.len() < LOTTO_LAVORO_DOMESTICO {
        match futures::FutureExt::now_or_never(stream.next()) {
            Some(Some(m)) => arrivati.push(m?),
            Some(None) => {
                *finito = true;
                break;
            }
            None => break,
        }
    }
    Ok(Some(arrivati))
}

#[tonic::async_trait]
impl NotificheService for Notifiche {
    async fn get_contatti(&self, request: Request<pb::GetContattiRequest>) -> R<pb::GetContattiResponse> {
        let id = request.identity()?;
        let cf = decode::contatti(request.get_ref())?;
        let c = self.app.contatti(&id, &cf).await?;
        Ok(Response::new(pb::GetContattiResponse {
            contatti: Some(encode::contatti(&cf, &c)),
        }))
    }

    async fn update_consensi(
        &self,
        request: Request<pb::UpdateConsensiRequest>,
    ) -> R<pb::UpdateConsensiResponse> {
        let id = request.identity()?;
        let (cf, consensi) = decode::consensi(request.get_ref())?;
        let c = self.app.aggiorna_consensi(&id, &cf, consensi).await?;
        Ok(Response::new(pb::UpdateConsensiResponse {
            contatti: Some(encode::contatti(&cf, &c)),
        }))
    }

    async fn list_inbox(&self, request: Request<pb::ListInboxRequest>) -> R<pb::ListInboxResponse> {
        let id = request.identity()?;
        let (cf, filtro, pagina) = decode::inbox(request.get_ref())?;
        let righe = self.app.inbox(&id, &cf, filtro, pagina).await?;
        let (messaggi, next_page_token) = pagina.taglia(righe);
        Ok(Response::new(pb::ListInboxResponse {
            messaggi: messaggi.into_iter().map(encode::messaggio).collect(),
            next_page_token,
        }))
    }

    async fn mark_inbox_read(
        &self,
        request: Request<pb::MarkInboxReadRequest>,
    ) -> R<pb::MarkInboxReadResponse> {
        let id = request.identity()?;
        let (cf, messaggio_id) = decode::letto(request.get_ref())?;
        let n = self.app.segna_letto(&id, &cf, &messaggio_id).await?;
        Ok(Response::new(pb::MarkInboxReadResponse {
            messaggio: Some(encode::messaggio(n)),
        }))
    }

    async fn import_lavoro_domestico(
        &self,
        request: Request<Streaming<pb::ImportLavoroDomesticoRequest>>,
    ) -> R<pb::ImportLavoroDomesticoResponse> {
        let id = request.identity()?;
        // Who may import is settled before the stream is read.
        let mut importazione = self.app.apri_importazione(&id)?;
        let mut stream = request.into_inner();
        let mut finito = false;
        while let Some(arrivati) = lotto(&mut stream, &mut finito).await? {
            let decodificati = arrivati.into_iter().map(|m| decode::record(m.record)).collect();
            self.app.importa_arrivati(&mut importazione, decodificati).await?;
        }
        self.app.chiudi_importazione(&importazione);
        Ok(Response::new(encode::importazione(importazione)))
    }

    async fn list_scarti_import_lavoro_domestico(
        &self,
        request: Request<pb::ListScartiImportLavoroDomesticoRequest>,
    ) -> R<pb::ListScartiImportLavoroDomesticoResponse> {
        let id = request.identity()?;
        let (id_import, pagina) = decode::scarti(request.get_ref())?;
        let righe = self.app.scarti(&id, &id_import, pagina).await?;
        let (scarti, next_page_token) = pagina.taglia(righe);
        Ok(Response::new(pb::ListScartiImportLavoroDomesticoResponse {
            scartati: scarti.into_iter().map(encode::scartato).collect(),
            next_page_token,
        }))
    }

    async fn run_campagna(&self, request: Request<pb::RunCampagnaRequest>) -> R<pb::RunCampagnaResponse> {
        let id = request.identity()?;
        let r = request.get_ref();
        let (campagna, t) = decode::campagna(r)?;
        accesso::campagna(&id).map_err(AppError::from)?;
        let run = self
            .app
            .esegui_campagna(campagna, t, r.dry_run, id.author().subject_cf())
            .await?;
        Ok(Response::new(pb::RunCampagnaResponse {
            run: Some(encode::run(&run)),
        }))
    }

    async fn get_guida(&self, request: Request<pb::GetGuidaRequest>) -> R<pb::GetGuidaResponse> {
        request.identity()?;
        let guida = self.app.apri_guida(request.get_ref().token.trim()).await?;
        Ok(Response::new(pb::GetGuidaResponse {
            guida: Some(encode::guida(guida, &self.app.base_url)),
        }))
    }

    async fn rate_guida(&self, request: Request<pb::RateGuidaRequest>) -> R<pb::RateGuidaResponse> {
        request.identity()?;
        let r = request.get_ref();
        let guida = self.app.vota_guida(r.token.trim(), r.voto).await?;
        Ok(Response::new(pb::RateGuidaResponse {
            guida: Some(encode::guida(guida, &self.app.base_url)),
        }))
    }

    async fn record_guida_link(
        &self,
        request: Request<pb::RecordGuidaLinkRequest>,
    ) -> R<pb::RecordGuidaLinkResponse> {
        request.identity()?;
        let r = request.get_ref();
        let link = decode::link(pb::GuidaLink::try_from(r.link).unwrap_or(pb::GuidaLink::Unspecified))?;
        let url = self.app.segui_link(r.token.trim(), link).await?;
        Ok(Response::new(pb::RecordGuidaLinkResponse { url }))
    }

    async fn get_campagna_dashboard(
        &self,
        request: Request<pb::GetCampagnaDashboardRequest>,
    ) -> R<pb::GetCampagnaDashboardResponse> {
        let id = request.identity()?;
        accesso::cruscotto(&id).map_err(AppError::from)?;
        let r = request.into_inner();
        let campagna = pb::TipoCampagna::try_from(r.campagna).unwrap_or(pb::TipoCampagna::Unspecified);
        let (campagna, t) = decode::cruscotto(campagna, r.trimestre)?;
        let righe = self.app.cruscotto(campagna, t).await?;
        Ok(Response::new(pb::GetCampagnaDashboardResponse {
            righe: righe.into_iter().map(encode::cruscotto).collect(),
        }))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> R<pb::ListDeliveriesResponse> {
        let id = request.identity()?;
        let (filtri, pagina) = decode::consegne(request.get_ref())?;
        let righe = self.app.consegne(&id, &filtri, pagina).await?;
        let (deliveries, next_page_token) = pagina.taglia(righe);
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: deliveries.into_iter().map(encode::delivery).collect(),
            next_page_token,
        }))
    }
}
