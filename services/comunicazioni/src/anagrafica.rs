//! The questions comunicazioni asks the registry (anagrafica), over gRPC with our `sistema`
//! identity carrying the original caller (a system caller may read any record).

use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_internal_service_client::AnagraficaInternalServiceClient;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::Code;
use tonic::transport::Channel;

use crate::domain::Errore;

#[derive(Clone)]
pub struct Registro {
    client: AnagraficaServiceClient<Channel>,
    interno: AnagraficaInternalServiceClient<Channel>,
    caller: Caller,
}

impl Registro {
    pub fn new(channel: Channel, caller: Caller) -> Registro {
        Registro {
            client: AnagraficaServiceClient::new(channel.clone()),
            interno: AnagraficaInternalServiceClient::new(channel),
            caller,
        }
    }

    async fn organizzazione(&self, cf: &str, origin: &Identity) -> Result<Option<ana::Soggetto>, AppError> {
        let request = self.caller.request(
            ana::GetSoggettoRequest {
                codice_fiscale: cf.to_string(),
            },
            Some(origin),
        )?;
        let s = match self.client.clone().get_soggetto(request).await {
            Ok(r) => r.into_inner().soggetto,
            Err(s) if s.code() == Code::NotFound => None,
            Err(s) => return Err(from_upstream("anagrafica", s)),
        };
        Ok(s.filter(|s| matches!(s.identita, Some(ana::soggetto::Identita::Organizzazione(_)))))
    }

    /// The registry's name of an organisation, if it is one the registry knows.
    pub async fn denominazione(&self, cf: &str, origin: &Identity) -> Result<Option<String>, AppError> {
        Ok(match self.organizzazione(cf, origin).await? {
            Some(ana::Soggetto {
                identita: Some(ana::soggetto::Identita::Organizzazione(o)),
                ..
            }) => Some(o.denominazione),
            _ => None,
        })
    }

    /// Whether the registry holds `persona` as the legal representative of the organisation
    /// `azienda` (ANA-8).
    pub async fn rappresenta(
        &self,
        persona: &str,
        azienda: &str,
        origin: &Identity,
    ) -> Result<bool, AppError> {
        Ok(match self.organizzazione(azienda, origin).await? {
            Some(ana::Soggetto {
                identita: Some(ana::soggetto::Identita::Organizzazione(o)),
                ..
            }) => o.legale_rappresentante_cf.eq_ignore_ascii_case(persona),
            _ => false,
        })
    }

    /// The organisations `persona` legally represents (ANA-8): (CF, name), by CF.
    pub async fn rappresentate(
        &self,
        persona: &str,
        origin: &Identity,
    ) -> Result<Vec<(String, String)>, AppError> {
        let request = self.caller.request(
            ana::ListOrganizzazioniRappresentateRequest {
                legale_rappresentante_cf: persona.to_string(),
            },
            Some(origin),
        )?;
        let r = self
            .interno
            .clone()
            .list_organizzazioni_rappresentate(request)
            .await
            .map_err(|s| from_upstream("anagrafica", s))?;
        Ok(r.into_inner()
            .organizzazioni
            .into_iter()
            .map(|o| (o.codice_fiscale, o.denominazione))
            .collect())
    }

    /// Section 1 of an Azienda's communications, from its company's record in the registry
    /// (LAO-1, LAO-7): name and registered office, and its e-mail (the request's
    /// `email_richiesta` only when the registry has none). A company the registry does not know
    /// is FAILED_PRECONDITION.
    pub async fn committente(
        &self,
        cf: &str,
        email_richiesta: &str,
        origin: &Identity,
    ) -> Result<pb::Committente, AppError> {
        let Some(s) = self.organizzazione(cf, origin).await? else {
            return Err(non_registrata(cf));
        };
        let Some(ana::soggetto::Identita::Organizzazione(o)) = &s.identita else {
            return Err(non_registrata(cf));
        };
        let d = s.domicilio.unwrap_or_default();
        let email = s.contatti.map(|c| c.email).unwrap_or_default();
        Ok(pb::Committente {
            codice_fiscale: s.codice_fiscale,
            denominazione: o.denominazione.clone(),
            comune: d.comune,
            indirizzo: d.indirizzo,
            cap: d.cap,
            email: if email.trim().is_empty() {
                email_richiesta.to_string()
            } else {
                email
            },
        })
    }
}

fn non_registrata(cf: &str) -> AppError {
    Errore::CommittenteNonRegistrato { cf: cf.to_string() }.into()
}
