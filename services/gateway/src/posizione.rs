//! DEL-3: a subject's whole position, fanned out to the contexts in parallel with a deadline.
//! Every part is asked with the caller's own verified identity, so each context applies its
//! own authorization; a part that fails or is late is reported missing, never waited for.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use occasionali_kernel::{SharedClock, calendar};
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::comunicazioni::comunicazioni_service_client::ComunicazioniServiceClient;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_proto::gateway as pb;
use occasionali_proto::gateway::posizione_service_server::PosizioneService;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_proto::{anagrafica, comunicazioni, deleghe, portafoglio, prestazioni};
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens};
use occasionali_runtime::{AppError, Identity};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

use crate::auth::Authenticator;

pub struct Posizione {
    pub auth: Authenticator,
    pub channels: HashMap<Context, Channel>,
    pub tokens: InternalTokens,
    pub clock: SharedClock,
    /// How long the whole fan-out may take (a shorter client deadline wins).
    pub deadline: Duration,
}

/// One part's outcome: its value, or why it is missing.
type Parte<T> = Result<T, pb::ParteMancante>;

impl Posizione {
    fn channel(&self, ctx: Context) -> Result<Channel, Status> {
        self.channels
            .get(&ctx)
            .cloned()
            .ok_or_else(|| Status::unavailable(format!("no backend configured for {ctx}")))
    }

    fn request<T>(&self, id: &Identity, message: T, deadline: Duration) -> Result<Request<T>, Status> {
        let mut r = Request::new(message);
        r.set_timeout(deadline);
        let token = crate::auth::internal_token(&self.tokens, id)?;
        let value = tonic::metadata::MetadataValue::try_from(token.as_bytes())
            .map_err(|e| Status::internal(e.to_string()))?;
        r.metadata_mut().insert(IDENTITY_HEADER, value);
        occasionali_runtime::client::inject_trace(r.metadata_mut());
        Ok(r)
    }
}

/// Runs one part within the deadline, turning failure into a `ParteMancante`.
async fn parte<T>(
    nome: &str,
    ctx: Context,
    deadline: Duration,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Parte<T> {
    let missing = |code: Code, message: String| pb::ParteMancante {
        parte: nome.to_string(),
        context: ctx.name().to_string(),
        code: format!("{code:?}"),
        message,
    };
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok(r)) => Ok(r.into_inner()),
        Ok(Err(s)) => Err(missing(s.code(), s.message().to_string())),
        Err(_) => Err(missing(
            Code::DeadlineExceeded,
            format!("{ctx} did not answer within {deadline:?}"),
        )),
    }
}

fn split<T>(p: Option<Parte<T>>, mancanti: &mut Vec<pb::ParteMancante>) -> Option<T> {
    match p? {
        Ok(v) => Some(v),
        Err(m) => {
            mancanti.push(m);
            None
        }
    }
}

async fn maybe<T>(yes: bool, f: impl Future<Output = Parte<T>>) -> Option<Parte<T>> {
    if yes { Some(f.await) } else { None }
}

#[tonic::async_trait]
impl PosizioneService for Posizione {
    async fn get_posizione(
        &self,
        request: Request<pb::GetPosizioneRequest>,
    ) -> Result<Response<pb::GetPosizioneResponse>, Status> {
        let headers = request.metadata().clone().into_headers();
        let id = self
            .auth
            .identity(&headers, "/occasionali.gateway.v1.PosizioneService/GetPosizione")
            .await?;
        let deadline =
            crate::proxy::client_deadline(&headers).map_or(self.deadline, |d| d.min(self.deadline));
        let r = request.into_inner();
        let mut cf = r.codice_fiscale.trim().to_ascii_uppercase();
        if cf.is_empty() && !r.delega_id.trim().is_empty() {
            // From a delega to its delegante's position: deleghe decides who may read the delega.
            let delega = DelegheServiceClient::new(self.channel(Context::Deleghe)?)
                .get_delega(self.request(
                    &id,
                    deleghe::GetDelegaRequest {
                        delega_id: r.delega_id.trim().to_string(),
                    },
                    deadline,
                )?)
                .await?
                .into_inner()
                .delega
                .ok_or_else(|| Status::not_found("delega not found"))?;
            cf = delega.delegante_cf;
        }
        if cf.is_empty() {
            return Err(AppError::invalid(
                "codice_fiscale",
                "DEL-3",
                "DEL_3_SUBJECT_REQUIRED",
                "give codice_fiscale or delega_id",
            )
            .into());
        }
        let anno = if r.anno > 0 {
            r.anno
        } else {
            chrono::Datelike::year(&calendar::rome_date(self.clock.now()))
        };
        let started = tokio::time::Instant::now();

        // The registry first: it decides whether the caller may see this subject at all (ANA-8)
        // and which roles — hence which parts — exist.
        let soggetto = AnagraficaServiceClient::new(self.channel(Context::Anagrafica)?)
            .get_soggetto(self.request(
                &id,
                anagrafica::GetSoggettoRequest {
                    codice_fiscale: cf.clone(),
                },
                deadline,
            )?)
            .await;
        let mut mancanti = Vec::new();
        let soggetto = match soggetto {
            Ok(s) => s.into_inner().soggetto,
            Err(s)
                if matches!(
                    s.code(),
                    Code::PermissionDenied | Code::NotFound | Code::InvalidArgument | Code::Unauthenticated
                ) =>
            {
                return Err(s);
            }
            Err(s) => {
                mancanti.push(pb::ParteMancante {
                    parte: "anagrafica".into(),
                    context: "anagrafica".into(),
                    code: format!("{:?}", s.code()),
                    message: s.message().to_string(),
                });
                None
            }
        };
        // Without the registry the roles are unknown: ask for every part.
        let known = soggetto.is_some() || mancanti.is_empty();
        let s = soggetto.clone().unwrap_or_default();
        let prestatore = !known || s.prestatore.is_some();
        let lf = !known || s.utilizzatore_lf.is_some();
        let cpo = !known || s.utilizzatore_cpo.is_some();
        let persona = !known
            || matches!(s.identita, Some(anagrafica::soggetto::Identita::Persona(_)))
            || (soggetto.is_none() && cf.len() == 16);
        let left = deadline.saturating_sub(started.elapsed());

        let pf = PortafoglioServiceClient::new(self.channel(Context::Portafoglio)?);
        let pr = PrestazioniServiceClient::new(self.channel(Context::Prestazioni)?);
        let co = ComunicazioniServiceClient::new(self.channel(Context::Comunicazioni)?);
        let de = DelegheServiceClient::new(self.channel(Context::Deleghe)?);
        let wallet = |tipo: portafoglio::TipoPortafoglio| portafoglio::GetRiepilogoRequest {
            portafoglio: Some(portafoglio::PortafoglioRef {
                utilizzatore_cf: cf.clone(),
                tipo: tipo as i32,
            }),
            anno,
        };
        let lista = |prestatore_cf: String, utilizzatore_cf: String| prestazioni::ListPrestazioniRequest {
            prestatore_cf,
            utilizzatore_cf,
            ..Default::default()
        };
        let limiti = |prestatore_cf: String, utilizzatore_cf: String| prestazioni::GetHeadroomRequest {
            anno,
            prestatore_cf,
            utilizzatore_cf,
        };
        let cerca =
            |committente_cf: String, lavoratore_cf: String| comunicazioni::SearchComunicazioniRequest {
                committente_cf,
                lavoratore_cf,
                ..Default::default()
            };
        let (r_lf, r_cpo) = (
            self.request(&id, wallet(portafoglio::TipoPortafoglio::LibrettoFamiglia), left)?,
            self.request(&id, wallet(portafoglio::TipoPortafoglio::Cpo), left)?,
        );
        let (r_pre_p, r_pre_u) = (
            self.request(&id, lista(cf.clone(), String::new()), left)?,
            self.request(&id, lista(String::new(), cf.clone()), left)?,
        );
        let (r_lim_p, r_lim_u) = (
            self.request(&id, limiti(cf.clone(), String::new()), left)?,
            self.request(&id, limiti(String::new(), cf.clone()), left)?,
        );
        let (r_com_c, r_com_l) = (
            self.request(&id, cerca(cf.clone(), String::new()), left)?,
            self.request(&id, cerca(String::new(), cf.clone()), left)?,
        );
        let r_del = self.request(
            &id,
            deleghe::ListDelegheRequest {
                delegante_cf: cf.clone(),
                ..Default::default()
            },
            left,
        )?;
        let (mut pf1, mut pf2) = (pf.clone(), pf);
        let (mut pr1, mut pr2, mut pr3, mut pr4) = (pr.clone(), pr.clone(), pr.clone(), pr);
        let (mut co1, mut co2, mut de) = (co.clone(), co, de);
        let (p_lf, p_cpo, pre_p, pre_u, lim_p, lim_u, com_c, com_l, del) = tokio::join!(
            maybe(
                lf,
                parte(
                    "portafoglio_lf",
                    Context::Portafoglio,
                    left,
                    pf1.get_riepilogo(r_lf)
                )
            ),
            maybe(
                cpo,
                parte(
                    "portafoglio_cpo",
                    Context::Portafoglio,
                    left,
                    pf2.get_riepilogo(r_cpo)
                )
            ),
            maybe(
                prestatore,
                parte(
                    "prestazioni_come_prestatore",
                    Context::Prestazioni,
                    left,
                    pr1.list_prestazioni(r_pre_p)
                )
            ),
            maybe(
                lf || cpo,
                parte(
                    "prestazioni_come_utilizzatore",
                    Context::Prestazioni,
                    left,
                    pr2.list_prestazioni(r_pre_u)
                )
            ),
            maybe(
                prestatore,
                parte(
                    "limiti_prestatore",
                    Context::Prestazioni,
                    left,
                    pr3.get_headroom(r_lim_p)
                )
            ),
            maybe(
                lf || cpo,
                parte(
                    "limiti_utilizzatore",
                    Context::Prestazioni,
                    left,
                    pr4.get_headroom(r_lim_u)
                )
            ),
            maybe(
                true,
                parte(
                    "comunicazioni_committente",
                    Context::Comunicazioni,
                    left,
                    co1.search_comunicazioni(r_com_c)
                )
            ),
            maybe(
                persona,
                parte(
                    "comunicazioni_lavoratore",
                    Context::Comunicazioni,
                    left,
                    co2.search_comunicazioni(r_com_l)
                )
            ),
            maybe(
                true,
                parte("deleghe", Context::Deleghe, left, de.list_deleghe(r_del))
            ),
        );
        let response = pb::GetPosizioneResponse {
            codice_fiscale: cf,
            anno,
            anagrafica: soggetto,
            portafoglio_lf: split(p_lf, &mut mancanti),
            portafoglio_cpo: split(p_cpo, &mut mancanti),
            prestazioni_come_prestatore: split(pre_p, &mut mancanti),
            prestazioni_come_utilizzatore: split(pre_u, &mut mancanti),
            limiti_prestatore: split(lim_p, &mut mancanti),
            limiti_utilizzatore: split(lim_u, &mut mancanti),
            comunicazioni_committente: split(com_c, &mut mancanti),
            comunicazioni_lavoratore: split(com_l, &mut mancanti),
            deleghe: split(del, &mut mancanti),
            mancanti,
        };
        Ok(Response::new(response))
    }
}
