//! DEL-2 at the gateway: a caller acting on behalf of a subject must hold a delega valid now.
//! Decisions are cached for a short, configurable time (a revocation takes effect within it);
//! every use is still sent to deleghe, in the background on a cache hit, so the audit (DEL-4)
//! sees each call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::transport::Channel;

/// Entries kept at most; beyond it the cache starts afresh (it only saves latency).
const MAX_ENTRIES: usize = 50_000;
/// Background use records in flight at most; beyond it a call records its use synchronously,
/// so a slow deleghe slows callers instead of piling up tasks (DEL-4: every use recorded).
const MAX_BACKGROUND: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    delegato: String,
    delegante: String,
    ruolo: i32,
}

#[derive(Clone, Debug)]
struct Decision {
    at: Instant,
    outcome: pb::CheckDelegaOutcome,
    delega_id: String,
}

#[derive(Clone)]
pub struct DelegaCheck {
    client: DelegheServiceClient<Channel>,
    caller: Caller,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<Key, Decision>>>,
    background: Arc<tokio::sync::Semaphore>,
}

impl DelegaCheck {
    pub fn new(channel: Channel, caller: Caller, ttl: Duration) -> DelegaCheck {
        DelegaCheck {
            client: DelegheServiceClient::new(channel),
            caller,
            ttl,
            cache: Arc::new(Mutex::new(HashMap::new())),
            background: Arc::new(tokio::sync::Semaphore::new(MAX_BACKGROUND)),
        }
    }

    async fn ask(&self, origin: &Identity, key: &Key, rpc_path: &str) -> Result<Decision, AppError> {
        let request = self.caller.request(
            pb::CheckDelegaRequest {
                delegato_cf: key.delegato.clone(),
                delegante_cf: key.delegante.clone(),
                ruolo: key.ruolo,
                at: None,
                rpc_path: rpc_path.to_string(),
            },
            Some(origin),
        )?;
        let answer = self
            .client
            .clone()
            .check_delega(request)
            .await
            .map_err(|s| from_upstream("deleghe", s))?
            .into_inner();
        let decision = Decision {
            at: Instant::now(),
            outcome: pb::CheckDelegaOutcome::try_from(answer.outcome)
                .unwrap_or(pb::CheckDelegaOutcome::Missing),
            delega_id: answer.delega_id,
        };
        self.remember(key.clone(), decision.clone());
        Ok(decision)
    }

    fn remember(&self, key: Key, decision: Decision) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(key, decision);
        }
    }

    fn cached(&self, key: &Key) -> Option<Decision> {
        let cache = self.cache.lock().ok()?;
        cache.get(key).filter(|d| d.at.elapsed() < self.ttl).cloned()
    }

    /// The outcome for `origin` acting for `delegante` in `ruolo`, and the delega deciding it.
    pub async fn check(
        &self,
        origin: &Identity,
        delegante: &str,
        ruolo: pb::Ruolo,
        rpc_path: &str,
    ) -> Result<(pb::CheckDelegaOutcome, String), AppError> {
        let key = Key {
            delegato: origin.caller.cf.clone(),
            delegante: delegante.to_string(),
            ruolo: ruolo as i32,
        };
        if let Some(d) = self.cached(&key) {
            // Record the use (and refresh the decision) without making the caller wait.
            if let Ok(permit) = self.background.clone().try_acquire_owned() {
                let this = self.clone();
                let (origin, rpc_path) = (origin.clone(), rpc_path.to_string());
                tokio::spawn(async move {
                    if let Err(e) = this.ask(&origin, &key, &rpc_path).await {
                        tracing::warn!(error = %e, "recording a delega use failed");
                    }
                    drop(permit);
                });
                return Ok((d.outcome, d.delega_id));
            }
        }
        let d = self.ask(origin, &key, rpc_path).await?;
        Ok((d.outcome, d.delega_id))
    }
}

/// `consulente_lavoro`, `CONSULENTE_LAVORO` or `RUOLO_CONSULENTE_LAVORO`.
pub fn parse_ruolo(value: &str) -> Option<pb::Ruolo> {
    let upper = value.trim().to_ascii_uppercase();
    let name = if upper.starts_with("RUOLO_") {
        upper
    } else {
        format!("RUOLO_{upper}")
    };
    pb::Ruolo::from_str_name(&name).filter(|r| *r != pb::Ruolo::Unspecified)
}

/// The refusal for an outcome other than VALID (DEL-2: saying which).
pub fn refusal(outcome: pb::CheckDelegaOutcome) -> AppError {
    use pb::CheckDelegaOutcome as O;
    let (reason, message) = match outcome {
        O::Missing | O::Unspecified => (
            "DEL_2_DELEGA_MISSING",
            "no delega from this subject to the caller",
        ),
        O::Expired => ("DEL_2_DELEGA_EXPIRED", "the delega has expired"),
        O::Revoked => ("DEL_2_DELEGA_REVOKED", "the delega was revoked"),
        O::WrongRuolo => ("DEL_2_DELEGA_WRONG_RUOLO", "the delega is for another ruolo"),
        O::NotYetValid => ("DEL_2_DELEGA_NOT_YET_VALID", "the delega is not valid yet"),
        O::Valid => ("DEL_2_DELEGA_VALID", "the delega is valid"),
    };
    AppError::denied("DEL-2", reason, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruolo_spellings() {
        assert_eq!(
            parse_ruolo("consulente_lavoro"),
            Some(pb::Ruolo::ConsulenteLavoro)
        );
        assert_eq!(parse_ruolo("RUOLO_PATRONATO"), Some(pb::Ruolo::Patronato));
        assert_eq!(
            parse_ruolo("intermediario_prestatore"),
            Some(pb::Ruolo::IntermediarioPrestatore)
        );
        assert_eq!(parse_ruolo("unspecified"), None);
        assert_eq!(parse_ruolo("boss"), None);
    }

    #[test]
    fn del_2_refusals_say_which() {
        for (o, r) in [
            (pb::CheckDelegaOutcome::Missing, "DEL_2_DELEGA_MISSING"),
            (pb::CheckDelegaOutcome::Expired, "DEL_2_DELEGA_EXPIRED"),
            (pb::CheckDelegaOutcome::Revoked, "DEL_2_DELEGA_REVOKED"),
            (pb::CheckDelegaOutcome::WrongRuolo, "DEL_2_DELEGA_WRONG_RUOLO"),
        ] {
            match refusal(o) {
                AppError::PermissionDenied { reason, rule, .. } => {
                    assert_eq!(reason, r);
                    assert_eq!(rule, "DEL-2");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
