//! The questions comunicazioni asks the registry (anagrafica), over gRPC with our `sistema`
//! identity carrying the original caller (a system caller may read any record).

use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::Code;
use tonic::transport::Channel;

#[derive(Clone)]
pub struct Registro {
    client: AnagraficaServiceClient<Channel>,
    caller: Caller,
}

impl Registro {
    pub fn new(channel: Channel, caller: Caller) -> Registro {
        Registro {
            client: AnagraficaServiceClient::new(channel),
            caller,
        }
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
        let Some(s) = s else {
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
    AppError::precondition(
        "LAO-1",
        "LAO_1_COMMITTENTE_NOT_REGISTERED",
        format!(
            "the company {cf} of the azienda profile is not an organisation in the registry: its committente data come from there"
        ),
    )
}
