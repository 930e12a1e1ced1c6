//! Who acts for an organisation (issue 13, docs/decisions.md): a person names the organisation
//! (`x-occasionali-on-behalf-of`) and the ruolo `legale_rappresentante`; the gateway asks
//! anagrafica which organisations the person is the registered legal representative of, on every
//! call as for delegations (the gateway runs with a zero cache time: a change of legal
//! representative holds for the next call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity, Profile};
use tonic::transport::Channel;

/// Entries kept at most; beyond it the cache starts afresh (it only saves latency).
const MAX_ENTRIES: usize = 50_000;

/// Caller CF → when asked, the organisations it represents.
type Cache = HashMap<String, (Instant, Vec<String>)>;

#[derive(Clone)]
pub struct RappresentanzaCheck {
    client: AnagraficaServiceClient<Channel>,
    caller: Caller,
    ttl: Duration,
    cache: Arc<Mutex<Cache>>,
}

/// The profiles of a person who may be an organisation's legal representative.
pub fn persona(profile: Profile) -> bool {
    matches!(profile, Profile::Prestatore | Profile::Utilizzatore)
}

impl RappresentanzaCheck {
    pub fn new(channel: Channel, caller: Caller, ttl: Duration) -> RappresentanzaCheck {
        RappresentanzaCheck {
            client: AnagraficaServiceClient::new(channel),
            caller,
            ttl,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn cached(&self, cf: &str) -> Option<Vec<String>> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(cf)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// The organisations `origin` (a person, acting as itself) legally represents, by CF.
    async fn rappresentate(&self, origin: &Identity) -> Result<Vec<String>, AppError> {
        let cf = origin.caller.cf.clone();
        if let Some(v) = self.cached(&cf) {
            return Ok(v);
        }
        let request = self.caller.request(
            pb::ListRappresentateRequest {
                codice_fiscale: cf.clone(),
            },
            Some(origin),
        )?;
        let v: Vec<String> = self
            .client
            .clone()
            .list_rappresentate(request)
            .await
            .map_err(|s| from_upstream("anagrafica", s))?
            .into_inner()
            .rappresentate
            .into_iter()
            .map(|o| o.codice_fiscale)
            .collect();
        if self.ttl > Duration::ZERO
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(cf, (Instant::now(), v.clone()));
        }
        Ok(v)
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
