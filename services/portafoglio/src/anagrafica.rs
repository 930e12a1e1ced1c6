//! The questions portafoglio asks the registry (anagrafica), over gRPC with our system identity
//! carrying the original caller (a system caller may read any record).

use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::Code;
use tonic::transport::Channel;

use crate::domain::{MetodoPagamento, SoggettoRegistrato};

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

    /// The registered subject with this CF; `None` when not registered.
    pub async fn soggetto(
        &self,
        cf: &str,
        origin: Option<&Identity>,
    ) -> Result<Option<SoggettoRegistrato>, AppError> {
        let request = self.caller.request(
            pb::GetSoggettoRequest {
                codice_fiscale: cf.to_string(),
            },
            origin,
        )?;
        match self.client.clone().get_soggetto(request).await {
            Ok(r) => Ok(r.into_inner().soggetto.map(soggetto)),
            Err(s) if s.code() == Code::NotFound => Ok(None),
            Err(s) => Err(from_upstream("anagrafica", s)),
        }
    }

    /// The competent sedi of the organisations `cf` is the registered legal representative of,
    /// sorted and without repetitions (empty when none).
    pub async fn sedi_rappresentate(
        &self,
        cf: &str,
        origin: Option<&Identity>,
    ) -> Result<Vec<String>, AppError> {
        let request = self.caller.request(
            pb::ListRappresentateRequest {
                codice_fiscale: cf.to_string(),
            },
            origin,
        )?;
        let r = self
            .client
            .clone()
            .list_rappresentate(request)
            .await
            .map_err(|s| from_upstream("anagrafica", s))?;
        let mut sedi: Vec<String> = r
            .into_inner()
            .rappresentate
            .into_iter()
            .map(|o| o.sede)
            .filter(|s| !s.is_empty())
            .collect();
        sedi.sort();
        sedi.dedup();
        Ok(sedi)
    }

    /// The competent sede of a subject; `None` when not registered.
    pub async fn sede(&self, cf: &str, origin: Option<&Identity>) -> Result<Option<String>, AppError> {
        Ok(self.soggetto(cf, origin).await?.map(|s| s.sede))
    }
}

fn soggetto(s: pb::Soggetto) -> SoggettoRegistrato {
    let legale_rappresentante_cf = match &s.identita {
        Some(pb::soggetto::Identita::Organizzazione(o)) => Some(o.legale_rappresentante_cf.clone()),
        _ => None,
    };
    let metodo_pagamento = s
        .prestatore
        .as_ref()
        .and_then(|p| p.metodo_pagamento.as_ref())
        .and_then(|m| {
            use pb::TipoMetodoPagamento as T;
            let iban = m.iban.clone();
            match T::try_from(m.tipo) {
                Ok(T::ContoCorrente) => Some(MetodoPagamento::ContoCorrente { iban }),
                Ok(T::LibrettoPostale) => Some(MetodoPagamento::LibrettoPostale { iban }),
                Ok(T::CartaPagamento) => Some(MetodoPagamento::CartaPagamento { iban }),
                Ok(T::BonificoDomiciliato) => Some(MetodoPagamento::BonificoDomiciliato),
                _ => None,
            }
        });
    SoggettoRegistrato {
        cf: s.codice_fiscale,
        sede: s.sede,
        utilizzatore_lf: s.utilizzatore_lf.is_some(),
        utilizzatore_cpo: s.utilizzatore_cpo.is_some(),
        legale_rappresentante_cf,
        metodo_pagamento,
    }
}
