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

    /// `message` to `ctx` with the caller's identity signed for `ctx` alone (issue 14).
    fn request<T>(
        &self,
        id: &Identity,
        ctx: Context,
        message: T,
        deadline: Duration,
    ) -> Result<Request<T>, Status> {
        let mut r = Request::new(message);
        r.set_timeout(deadline);
        let token = crate::auth::internal_token(&self.tokens, id, ctx)?;
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

/// Which parts of a position exist, by the subject's roles in the registry.
#[derive(Clone, Copy)]
struct Ruoli {
    prestatore: bool,
    utilizzatore_lf: bool,
    utilizzatore_cpo: bool,
    /// A person, who may be the lavoratore of communications.
    persona: bool,
}

impl Ruoli {
    /// The roles of `soggetto` as the registry answered; when the registry is missing they are
    /// unknown, and every part is asked for.
    fn di(cf: &str, soggetto: Option<&anagrafica::Soggetto>, registro_mancante: bool) -> Ruoli {
        let known = soggetto.is_some() || !registro_mancante;
        let nessuno = anagrafica::Soggetto::default();
        let s = soggetto.unwrap_or(&nessuno);
        Ruoli {
            prestatore: !known || s.prestatore.is_some(),
            utilizzatore_lf: !known || s.utilizzatore_lf.is_some(),
            utilizzatore_cpo: !known || s.utilizzatore_cpo.is_some(),
            persona: !known
                || matches!(s.identita, Some(anagrafica::soggetto::Identita::Persona(_)))
                || (soggetto.is_none() && cf.len() == 16),
        }
    }

    fn utilizzatore(self) -> bool {
        self.utilizzatore_lf || self.utilizzatore_cpo
    }
}

/// The requests of the parts of a position, one per part.
struct Domande {
    portafoglio_lf: Request<portafoglio::GetRiepilogoRequest>,
    portafoglio_cpo: Request<portafoglio::GetRiepilogoRequest>,
    prestazioni_come_prestatore: Request<prestazioni::ListPrestazioniRequest>,
    prestazioni_come_utilizzatore: Request<prestazioni::ListPrestazioniRequest>,
    limiti_prestatore: Request<prestazioni::GetHeadroomRequest>,
    limiti_utilizzatore: Request<prestazioni::GetHeadroomRequest>,
    comunicazioni_committente: Request<comunicazioni::SearchComunicazioniRequest>,
    comunicazioni_lavoratore: Request<comunicazioni::SearchComunicazioniRequest>,
    deleghe: Request<deleghe::ListDelegheRequest>,
}

/// The parts asked of the contexts (none where the subject's roles exclude the part).
struct Parti {
    portafoglio_lf: Option<Parte<portafoglio::GetRiepilogoResponse>>,
    portafoglio_cpo: Option<Parte<portafoglio::GetRiepilogoResponse>>,
    prestazioni_come_prestatore: Option<Parte<prestazioni::ListPrestazioniResponse>>,
    prestazioni_come_utilizzatore: Option<Parte<prestazioni::ListPrestazioniResponse>>,
    limiti_prestatore: Option<Parte<prestazioni::GetHeadroomResponse>>,
    limiti_utilizzatore: Option<Parte<prestazioni::GetHeadroomResponse>>,
    comunicazioni_committente: Option<Parte<comunicazioni::SearchComunicazioniResponse>>,
    comunicazioni_lavoratore: Option<Parte<comunicazioni::SearchComunicazioniResponse>>,
    deleghe: Option<Parte<deleghe::ListDelegheResponse>>,
}

impl Parti {
    /// The position: every part that came, and after the ones already `mancanti` (the
    /// registry's) those that failed or were late, in the order of the response's fields.
    fn componi(
        self,
        codice_fiscale: String,
        anno: i32,
        anagrafica: Option<anagrafica::Soggetto>,
        mut mancanti: Vec<pb::ParteMancante>,
    ) -> pb::GetPosizioneResponse {
        pb::GetPosizioneResponse {
            codice_fiscale,
            anno,
            anagrafica,
            portafoglio_lf: split(self.portafoglio_lf, &mut mancanti),
            portafoglio_cpo: split(self.portafoglio_cpo, &mut mancanti),
            prestazioni_come_prestatore: split(self.prestazioni_come_prestatore, &mut mancanti),
            prestazioni_come_utilizzatore: split(self.prestazioni_come_utilizzatore, &mut mancanti),
            limiti_prestatore: split(self.limiti_prestatore, &mut mancanti),
            limiti_utilizzatore: split(self.limiti_utilizzatore, &mut mancanti),
            comunicazioni_committente: split(self.comunicazioni_committente, &mut mancanti),
            comunicazioni_lavoratore: split(self.comunicazioni_lavoratore, &mut mancanti),
            deleghe: split(self.deleghe, &mut mancanti),
            mancanti,
        }
    }
}

impl Posizione {
    /// Whose position: the codice fiscale asked, or the delegante of the delega named (deleghe
    /// decides who may read the delega).
    async fn di_chi(
        &self,
        id: &Identity,
        r: &pb::GetPosizioneRequest,
        deadline: Duration,
    ) -> Result<String, Status> {
        let mut cf = r.codice_fiscale.trim().to_ascii_uppercase();
        if cf.is_empty() && !r.delega_id.trim().is_empty() {
            let delega = DelegheServiceClient::new(self.channel(Context::Deleghe)?)
                .get_delega(self.request(
                    id,
                    Context::Deleghe,
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
        Ok(cf)
    }

    /// The registry first: it decides whether the caller may see this subject at all (ANA-8),
    /// so its refusal is the answer; when it fails otherwise it is a missing part.
    async fn anagrafica(
        &self,
        id: &Identity,
        cf: &str,
        deadline: Duration,
    ) -> Result<Parte<Option<anagrafica::Soggetto>>, Status> {
        let soggetto = AnagraficaServiceClient::new(self.channel(Context::Anagrafica)?)
            .get_soggetto(self.request(
                id,
                Context::Anagrafica,
                anagrafica::GetSoggettoRequest {
                    codice_fiscale: cf.to_string(),
                },
                deadline,
            )?)
            .await;
        match soggetto {
            Ok(s) => Ok(Ok(s.into_inner().soggetto)),
            Err(s)
                if matches!(
                    s.code(),
                    Code::PermissionDenied | Code::NotFound | Code::InvalidArgument | Code::Unauthenticated
                ) =>
            {
                Err(s)
            }
            Err(s) => Ok(Err(pb::ParteMancante {
                parte: "anagrafica".into(),
                context: "anagrafica".into(),
                code: format!("{:?}", s.code()),
                message: s.message().to_string(),
            })),
        }
    }

    /// What each context is asked for the subject's position in `anno`, with the caller's
    /// identity and what is `left` of the deadline.
    fn domande(&self, id: &Identity, cf: &str, anno: i32, left: Duration) -> Result<Domande, Status> {
        let wallet = |tipo: portafoglio::TipoPortafoglio| portafoglio::GetRiepilogoRequest {
            portafoglio: Some(portafoglio::PortafoglioRef {
                utilizzatore_cf: cf.to_string(),
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
        Ok(Domande {
            portafoglio_lf: self.request(
                id,
                Context::Portafoglio,
                wallet(portafoglio::TipoPortafoglio::LibrettoFamiglia),
                left,
            )?,
            portafoglio_cpo: self.request(
                id,
                Context::Portafoglio,
                wallet(portafoglio::TipoPortafoglio::Cpo),
                left,
            )?,
            prestazioni_come_prestatore: self.request(
                id,
                Context::Prestazioni,
                lista(cf.to_string(), String::new()),
                left,
            )?,
            prestazioni_come_utilizzatore: self.request(
                id,
                Context::Prestazioni,
                lista(String::new(), cf.to_string()),
                left,
            )?,
            limiti_prestatore: self.request(
                id,
                Context::Prestazioni,
                limiti(cf.to_string(), String::new()),
                left,
            )?,
            limiti_utilizzatore: self.request(
                id,
                Context::Prestazioni,
                limiti(String::new(), cf.to_string()),
                left,
            )?,
            comunicazioni_committente: self.request(
                id,
                Context::Comunicazioni,
                cerca(cf.to_string(), String::new()),
                left,
            )?,
            comunicazioni_lavoratore: self.request(
                id,
                Context::Comunicazioni,
                cerca(String::new(), cf.to_string()),
                left,
            )?,
            deleghe: self.request(
                id,
                Context::Deleghe,
                deleghe::ListDelegheRequest {
                    delegante_cf: cf.to_string(),
                    ..Default::default()
                },
                left,
            )?,
        })
    }

    /// Every part the roles make exist, asked at once; each is given what is `left` of the
    /// deadline and is missing if it has not answered by then.
    async fn chiedi_parti(
        &self,
        id: &Identity,
        cf: &str,
        anno: i32,
        ruoli: Ruoli,
        left: Duration,
    ) -> Result<Parti, Status> {
        let pf = PortafoglioServiceClient::new(self.channel(Context::Portafoglio)?);
        let pr = PrestazioniServiceClient::new(self.channel(Context::Prestazioni)?);
        let co = ComunicazioniServiceClient::new(self.channel(Context::Comunicazioni)?);
        let de = DelegheServiceClient::new(self.channel(Context::Deleghe)?);
        let d = self.domande(id, cf, anno, left)?;
        let (mut pf1, mut pf2) = (pf.clone(), pf);
        let (mut pr1, mut pr2, mut pr3, mut pr4) = (pr.clone(), pr.clone(), pr.clone(), pr);
        let (mut co1, mut co2, mut de) = (co.clone(), co, de);
        let (p_lf, p_cpo, pre_p, pre_u, lim_p, lim_u, com_c, com_l, del) = tokio::join!(
            maybe(
                ruoli.utilizzatore_lf,
                parte(
                    "portafoglio_lf",
                    Context::Portafoglio,
                    left,
                    pf1.get_riepilogo(d.portafoglio_lf)
                )
            ),
            maybe(
                ruoli.utilizzatore_cpo,
                parte(
                    "portafoglio_cpo",
                    Context::Portafoglio,
                    left,
                    pf2.get_riepilogo(d.portafoglio_cpo)
                )
            ),
            maybe(
                ruoli.prestatore,
                parte(
                    "prestazioni_come_prestatore",
                    Context::Prestazioni,
                    left,
                    pr1.list_prestazioni(d.prestazioni_come_prestatore)
                )
            ),
            maybe(
                ruoli.utilizzatore(),
                parte(
                    "prestazioni_come_utilizzatore",
                    Context::Prestazioni,
                    left,
                    pr2.list_prestazioni(d.prestazioni_come_utilizzatore)
                )
            ),
            maybe(
                ruoli.prestatore,
                parte(
                    "limiti_prestatore",
                    Context::Prestazioni,
                    left,
                    pr3.get_headroom(d.limiti_prestatore)
                )
            ),
            maybe(
                ruoli.utilizzatore(),
                parte(
                    "limiti_utilizzatore",
                    Context::Prestazioni,
                    left,
                    pr4.get_headroom(d.limiti_utilizzatore)
                )
            ),
            maybe(
                true,
                parte(
                    "comunicazioni_committente",
                    Context::Comunicazioni,
                    left,
                    co1.search_comunicazioni(d.comunicazioni_committente)
                )
            ),
            maybe(
                ruoli.persona,
                parte(
                    "comunicazioni_lavoratore",
                    Context::Comunicazioni,
                    left,
                    co2.search_comunicazioni(d.comunicazioni_lavoratore)
                )
            ),
            maybe(
                true,
                parte("deleghe", Context::Deleghe, left, de.list_deleghe(d.deleghe))
            ),
        );
        Ok(Parti {
            portafoglio_lf: p_lf,
            portafoglio_cpo: p_cpo,
            prestazioni_come_prestatore: pre_p,
            prestazioni_come_utilizzatore: pre_u,
            limiti_prestatore: lim_p,
            limiti_utilizzatore: lim_u,
            comunicazioni_committente: com_c,
            comunicazioni_lavoratore: com_l,
            deleghe: del,
        })
    }
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
        let cf = self.di_chi(&id, &r, deadline).await?;
        let anno = if r.anno > 0 {
            r.anno
        } else {
            chrono::Datelike::year(&calendar::rome_date(self.clock.now()))
        };
        let started = tokio::time::Instant::now();
        let (soggetto, mancanti) = match self.anagrafica(&id, &cf, deadline).await? {
            Ok(s) => (s, Vec::new()),
            Err(m) => (None, vec![m]),
        };
        let ruoli = Ruoli::di(&cf, soggetto.as_ref(), !mancanti.is_empty());
        let left = deadline.saturating_sub(started.elapsed());
        let parti = self.chiedi_parti(&id, &cf, anno, ruoli, left).await?;
        Ok(Response::new(parti.componi(cf, anno, soggetto, mancanti)))
    }
}
