//! Who acts for an organisation (issue 13, docs/decisions.md): a person names the organisation
//! (`x-occasionali-on-behalf-of`) and the ruolo `legale_rappresentante`; the gateway asks
//! anagrafica which organisations the person is the registered legal representative of, on every
//! call, as for delegations: a change of legal representative holds for the next call.

use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity, Profile};
use tonic::transport::Channel;

#[derive(Clone)]
pub struct RappresentanzaCheck {
    client: AnagraficaServiceClient<Channel>,
    caller: Caller,
}

/// The profiles of a person who may be an organisation's legal representative.
pub fn persona(profile: Profile) -> bool {
    matches!(profile, Profile::Prestatore | Profile::Utilizzatore)
}

impl RappresentanzaCheck {
    pub fn new(channel: Channel, caller: Caller) -> RappresentanzaCheck {
        RappresentanzaCheck {
            client: AnagraficaServiceClient::new(channel),
            caller,
        }
    }

    /// The organisations `origin` (a person, acting as itself) legally represents, by CF.
    async fn rappresentate(&self, origin: &Identity) -> Result<Vec<String>, AppError> {
        let cf = origin.caller.cf.clone();
        let request = self.caller.request(
            pb::ListRappresentateRequest {
                codice_fiscale: cf.clone(),
            },
            Some(origin),
        )?;
        Ok(self
            .client
            .clone()
            .list_rappresentate(request)
            .await
            .map_err(|s| from_upstream("anagrafica", s))?
            .into_inner()
            .rappresentate
            .into_iter()
            .map(|o| o.codice_fiscale)
            .collect())
    }

    /// Whether `origin` is the registered legal representative of `organizzazione`; refused
    /// (PERMISSION_DENIED, ANA-8) otherwise.
    pub async fn verifica(&self, origin: &Identity, organizzazione: &str) -> Result<(), AppError> {
        if persona(origin.profile())
            && self
                .rappresentate(origin)
                .await?
                .iter()
                .any(|o| o == organizzazione)
        {
            Ok(())
        } else {
            Err(AppError::denied(
                "ANA-8",
                "ANA_8_NOT_LEGAL_REPRESENTATIVE",
                "the caller is not the registered legal representative of this organisation",
            ))
        }
    }
}
