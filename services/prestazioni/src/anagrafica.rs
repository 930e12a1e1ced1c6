//! The questions prestazioni asks the registry (anagrafica), over gRPC with our system identity
//! carrying the original caller. Asked before any transaction is opened.

use chrono::NaiveDate;
use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_internal_service_client::AnagraficaInternalServiceClient;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::Code;
use tonic::transport::Channel;

use crate::domain::soggetti::{
    Categoria, CategoriaUtilizzatore, CategoriaValida, Prestatore, ProfiloUtilizzatore, Utilizzatore,
};

#[derive(Clone)]
pub struct Registro {
    client: AnagraficaServiceClient<Channel>,
    interno: AnagraficaInternalServiceClient<Channel>,
    caller: Caller,
}

/// What the checks of a declaration need about its parties, read in one call.
pub struct Parti {
    pub utilizzatore: Option<Utilizzatore>,
    pub sede_utilizzatore: Option<String>,
    pub prestatore: Prestatore,
    pub sede_prestatore: Option<String>,
}

impl Registro {
    pub fn new(channel: Channel, caller: Caller) -> Registro {
        Registro {
            client: AnagraficaServiceClient::new(channel.clone()),
            interno: AnagraficaInternalServiceClient::new(channel),
            caller,
        }
    }

    /// Both parties of a declaration in one call (issue 11: a hop fewer per insertion).
    pub async fn parti(
        &self,
        utilizzatore_cf: &str,
        prestatore_cf: &str,
        origin: &Identity,
    ) -> Result<Parti, AppError> {
        let request = self.caller.request(
            pb::GetSoggettiRequest {
                codici_fiscali: vec![utilizzatore_cf.to_string(), prestatore_cf.to_string()],
            },
            Some(origin),
        )?;
        let soggetti = self
            .interno
            .clone()
            .get_soggetti(request)
            .await
            .map_err(|s| from_upstream("anagrafica", s))?
            .into_inner()
            .soggetti;
        let di = |cf: &str| soggetti.iter().find(|s| s.codice_fiscale == cf).cloned();
        let (utilizzatore, sede_utilizzatore) = utilizzatore_e_sede(di(utilizzatore_cf));
        let (prestatore, sede_prestatore) = prestatore_e_sede(di(prestatore_cf));
        Ok(Parti {
            utilizzatore,
            sede_utilizzatore,
            prestatore,
            sede_prestatore,
        })
    }

    pub async fn soggetto(&self, cf: &str, origin: &Identity) -> Result<Option<pb::Soggetto>, AppError> {
        let request = self.caller.request(
            pb::GetSoggettoRequest {
                codice_fiscale: cf.to_string(),
            },
            Some(origin),
        )?;
        match self.client.clone().get_soggetto(request).await {
            Ok(r) => Ok(r.into_inner().soggetto),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(from_upstream("anagrafica", s)),
        }
    }

    /// The competent sede of a subject; `None` when it is not registered.
    pub async fn sede(&self, cf: &str, origin: &Identity) -> Result<Option<String>, AppError> {
        Ok(self.soggetto(cf, origin).await?.as_ref().and_then(sede))
    }

    pub async fn utilizzatore(&self, cf: &str, origin: &Identity) -> Result<Option<Utilizzatore>, AppError> {
        Ok(self.utilizzatore_e_sede(cf, origin).await?.0)
    }

    /// The utilizzatore's profiles, and the subject's sede (GW-6: a sede operator's scope).
    pub async fn utilizzatore_e_sede(
        &self,
        cf: &str,
        origin: &Identity,
    ) -> Result<(Option<Utilizzatore>, Option<String>), AppError> {
        Ok(utilizzatore_e_sede(self.soggetto(cf, origin).await?))
    }
}

fn utilizzatore_e_sede(s: Option<pb::Soggetto>) -> (Option<Utilizzatore>, Option<String>) {
    let sede = s.as_ref().and_then(sede);
    (
        s.and_then(|s| {
            let u = Utilizzatore {
                lf: s.utilizzatore_lf.as_ref().map(profilo),
                cpo: s.utilizzatore_cpo.as_ref().map(profilo),
            };
            (u.lf.is_some() || u.cpo.is_some()).then_some(u)
        }),
        sede,
    )
}

/// The prestatore's role, and the subject's sede (GW-6: a sede operator's scope).
fn prestatore_e_sede(s: Option<pb::Soggetto>) -> (Prestatore, Option<String>) {
    let sede = s.as_ref().and_then(sede);
    let p = match s.and_then(|s| s.prestatore) {
        Some(p) => Prestatore {
            registrato: true,
            categorie: p.categorie.iter().filter_map(categoria).collect(),
        },
        None => Prestatore::default(),
    };
    (p, sede)
}

fn sede(s: &pb::Soggetto) -> Option<String> {
    let t = s.sede.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn profilo(u: &pb::Utilizzatore) -> ProfiloUtilizzatore {
    use pb::CategoriaUtilizzatore as C;
    ProfiloUtilizzatore {
        categoria: match C::try_from(u.categoria) {
            Ok(C::Impresa) => Some(CategoriaUtilizzatore::Impresa),
            Ok(C::Professionista) => Some(CategoriaUtilizzatore::Professionista),
            Ok(C::ImpresaAgricola) => Some(CategoriaUtilizzatore::ImpresaAgricola),
            Ok(C::PubblicaAmministrazione) => Some(CategoriaUtilizzatore::PubblicaAmministrazione),
            Ok(C::AssociazioneEnte) => Some(CategoriaUtilizzatore::AssociazioneEnte),
            Ok(C::Altro) => Some(CategoriaUtilizzatore::Altro),
            _ => None,
        },
        ateco: u.ateco.clone(),
        dipendenti: u.dipendenti_tempo_indeterminato,
    }
}

fn data(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn categoria(c: &pb::CategoriaDichiarata) -> Option<CategoriaValida> {
    use pb::TipoCategoria as T;
    let categoria = match T::try_from(c.tipo) {
        Ok(T::Pensionato) => Categoria::Pensionato,
        Ok(T::Studente) => Categoria::Studente,
        Ok(T::Disoccupato) => Categoria::Disoccupato,
        Ok(T::PercettoreSostegnoReddito) => Categoria::SostegnoReddito,
        Ok(T::IscrittoElenchiAgricoli) => Categoria::ElenchiAgricoli,
        _ => return None,
    };
    let (dal, al) = match &c.validita {
        Some(p) => (data(&p.dal), data(&p.al)),
        None => (None, None),
    };
    Some(CategoriaValida { categoria, dal, al })
}
