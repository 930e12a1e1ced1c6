//! The delivery channels (NOT-6): each an adapter behind one trait, configured per environment.
//! The MyINPS inbox is not here: it is a row of notifiche's own database, written with the
//! notice itself (NOT-1).
//!
//! Each adapter answers for one send: `Inviato` or `NonRaggiungibile`, or an error that says
//! whether retrying can help (`Temporaneo`: network, timeout, rate limit, server fault) or not
//! (`Definitivo`: the provider refused this message). Retries, backoff and the never-blocking of
//! the other channels (NOT-6) are the delivery loop's, not the adapters'. Error strings carry the
//! provider's status code and never the address, the number, the codice fiscale or the
//! provider's own text (which often echoes the recipient).
//!
//! A credential the provider rejects (HTTP 401/403, SMTP 530/534/535) is `Temporaneo`: it is
//! about this environment's key, not about the message, and once an operator fixes the key the
//! retried deliveries go through instead of having failed for good.

mod app_io;
mod email;
mod sms;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use occasionali_runtime::config::NotificheConfig;

pub use app_io::AppIo;
pub use email::Email;
pub use sms::Sms;

/// The bound of one send, connection included: a provider that hangs is a temporary failure,
/// and the delivery loop's other channels never wait behind it (NOT-6).
pub const TIMEOUT: Duration = Duration::from_secs(15);

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
    pub fn da_config(config: &NotificheConfig) -> anyhow::Result<Canali> {
        let email = match &config.smtp {
            Some(c) => Some(Arc::new(Email::new(c)?) as Arc<dyn Canale>),
            None => None,
        };
        let sms = match &config.sms {
            Some(c) => Some(Arc::new(Sms::new(c)?) as Arc<dyn Canale>),
            None => None,
        };
        let app_io = match &config.app_io {
            Some(c) => Some(Arc::new(AppIo::new(c)?) as Arc<dyn Canale>),
            None => None,
        };
        Ok(Canali { email, sms, app_io })
    }
}

/// Reads a key or password file named by the configuration key `chiave` (e.g.
/// `notifiche.sms.api_key_file`), without the surrounding whitespace a text editor leaves.
fn leggi_segreto(path: &Path, chiave: &str) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{chiave}: reading {}", path.display()))?;
    let testo =
        String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{chiave}: {} is not UTF-8", path.display()))?;
    let testo = testo.trim();
    if testo.is_empty() {
        bail!("{chiave}: {} is empty", path.display());
    }
    Ok(testo.to_owned())
}

/// The one mapping of an HTTP provider's non-success status: 429 and 5xx are worth a retry, a
/// rejected credential too (see the module doc); any other 4xx is this message's fault.
fn errore_http(servizio: &str, status: reqwest::StatusCode) -> ErroreCanale {
    let code = status.as_u16();
    if status.is_client_error() && !matches!(code, 401 | 403 | 408 | 429) {
        ErroreCanale::Definitivo(format!("{servizio} refused the request (http {code})"))
    } else {
        ErroreCanale::Temporaneo(format!("{servizio} answered http {code}"))
    }
}

/// A transport failure of an HTTP provider (no status), described without the URL or body.
fn errore_rete(servizio: &str, e: &reqwest::Error) -> ErroreCanale {
    let cosa = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "is unreachable"
    } else {
        "request failed"
    };
    ErroreCanale::Temporaneo(format!("{servizio} {cosa}"))
}

/// An HTTP client for one provider: every request bounded by `timeout`, no redirects (a POST
/// redirected is a misconfigured URL, not something to follow silently).
fn client_http(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("occasionali-notifiche/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the http client")
}
