//! App IO through the public IO services API published by PagoPA (NOT-6), as specified by
//! `apps/io-functions-services/openapi/index.yaml` of pagopa/io-functions-services (version
//! 4.1.1, base path `/api/v1`, key in the `Ocp-Apim-Subscription-Key` header):
//!
//! 1. `POST /api/v1/profiles` (`getProfileByPOST`) with `{"fiscal_code": …}`: 200 with a
//!    `LimitedProfile` whose `sender_allowed` says whether the citizen accepts this service's
//!    messages; 404 when the citizen is not on IO. The POST forms are used, not
//!    `GET /profiles/{fiscal_code}` and `POST /messages/{fiscal_code}`, so the codice fiscale
//!    never appears in a URL (and so in no access log on the way).
//! 2. `POST /api/v1/messages` (`submitMessageforUserWithFiscalCodeInBody`) with
//!    `{"fiscal_code": …, "content": {"subject": …, "markdown": …}}`: 201 with `{"id": …}`.
//!
//! Not on IO (404) or the service not allowed → `Esito::NonRaggiungibile`, not retried. 429,
//! 5xx and timeouts are temporary, so is a rejected key (401/403, see the parent module); any
//! other 4xx (the spec's 400 "invalid payload") is permanent.
//!
//! The spec bounds `subject` to 10–120 characters and `markdown` to 80–10000 (counted as the
//! service's JavaScript validators count them: UTF-16 code units). This adapter fits a notice
//! into them rather than fail it: a short subject gets the prefix `Avviso INPS: `, a long one is
//! cut at 119 and ends with `…`; a short body gets the service's closing line appended. A body
//! over 10000 is `Definitivo`: cutting it could break a link or a Markdown construct, so the
//! notice must be composed shorter. An empty subject or body is `Definitivo` too.
//!
//! The IO API has no idempotency key: a retry after a lost 201 can show the message twice in
//! the app, which is what at-least-once delivery (NOT-6) accepts.

use std::time::Duration;

use anyhow::Context as _;
use occasionali_runtime::config::AppIoConfig;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use serde_json::json;

use super::{
    Canale, ErroreCanale, Esito, Messaggio, TIMEOUT, client_http, errore_http, errore_rete, leggi_segreto,
};

const SERVIZIO: &str = "app io";
const HEADER_CHIAVE: &str = "Ocp-Apim-Subscription-Key";

/// `MessageContentBase.subject`: `minLength: 10`, `maxLength: 120`.
const OGGETTO_MIN: usize = 10;
const OGGETTO_MAX: usize = 120;
/// `MessageContentBase.markdown`: `minLength: 80`, `maxLength: 10000`.
const MARKDOWN_MIN: usize = 80;
const MARKDOWN_MAX: usize = 10000;

const PREFISSO_OGGETTO: &str = "Avviso INPS: ";
/// Appended to a body shorter than the API's minimum; on its own longer than that minimum.
const CHIUSURA: &str = "\n\n---\n\nQuesto messaggio ti è stato inviato dall'INPS per le prestazioni occasionali \
                        (Libretto Famiglia e contratto di prestazione occasionale).";

/// The App IO channel.
pub struct AppIo {
    client: reqwest::Client,
    base_url: String,
    chiave: HeaderValue,
    timeout: Duration,
}

impl AppIo {
    /// Builds the adapter; the subscription key file is read here.
    pub fn new(config: &AppIoConfig) -> anyhow::Result<AppIo> {
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base_url)
            .with_context(|| format!("notifiche.app_io.base_url: {:?} is not a URL", config.base_url))?;
        let key = leggi_segreto(&config.api_key_file, "notifiche.app_io.api_key_file")?;
        let mut chiave = HeaderValue::from_str(&key).map_err(|_| {
            anyhow::anyhow!("notifiche.app_io.api_key_file: the key holds characters a header cannot")
        })?;
        chiave.set_sensitive(true);
        Ok(AppIo {
            client: client_http(TIMEOUT)?,
            base_url,
            chiave,
            timeout: TIMEOUT,
        })
    }

    /// The bound of each of the two calls of a send (default [`TIMEOUT`]).
    pub fn con_timeout(mut self, timeout: Duration) -> AppIo {
        self.timeout = timeout;
        self
    }

    async fn post(
        &self,
        percorso: &str,
        corpo: &serde_json::Value,
    ) -> Result<reqwest::Response, ErroreCanale> {
        self.client
            .post(format!("{}{percorso}", self.base_url))
            .header(HEADER_CHIAVE, self.chiave.clone())
            .timeout(self.timeout)
            .json(corpo)
            .send()
            .await
            .map_err(|e| errore_rete(SERVIZIO, &e))
    }
}

/// `LimitedProfile`: only what the send needs.
#[derive(Deserialize)]
struct ProfiloLimitato {
    sender_allowed: bool,
}

/// `CreatedMessage`.
#[derive(Deserialize)]
struct MessaggioCreato {
    id: Option<String>,
}

fn lunghezza(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The longest prefix of `s` within `max` UTF-16 code units, cut on a character boundary.
fn taglia(s: &str, max: usize) -> &str {
    let mut usati = 0;
    for (i, c) in s.char_indices() {
        usati += c.len_utf16();
        if usati > max {
            return &s[..i];
        }
    }
    s
}

/// The subject and markdown fitted into the API's bounds (see the module doc).
pub(crate) fn contenuto(oggetto: &str, testo: &str) -> Result<(String, String), ErroreCanale> {
    let oggetto = oggetto.trim();
    if oggetto.is_empty() {
        return Err(ErroreCanale::Definitivo(
            "app io message without a subject".into(),
        ));
    }
    let mut oggetto = if lunghezza(oggetto) < OGGETTO_MIN {
        format!("{PREFISSO_OGGETTO}{oggetto}")
    } else {
        oggetto.to_owned()
    };
    if lunghezza(&oggetto) > OGGETTO_MAX {
        oggetto = format!("{}…", taglia(&oggetto, OGGETTO_MAX - 1).trim_end());
    }
    if testo.trim().is_empty() {
        return Err(ErroreCanale::Definitivo("app io message without a body".into()));
    }
    let n = lunghezza(testo);
    if n > MARKDOWN_MAX {
        return Err(ErroreCanale::Definitivo(format!(
            "app io message body of {n} characters, over the api's {MARKDOWN_MAX}"
        )));
    }
    let markdown = if n < MARKDOWN_MIN {
        format!("{}{CHIUSURA}", testo.trim_end())
    } else {
        testo.to_owned()
    };
    Ok((oggetto, markdown))
}

#[tonic::async_trait]
impl Canale for AppIo {
    async fn invia(&self, m: &Messaggio) -> Result<Esito, ErroreCanale> {
        let codice_fiscale = m.codice_fiscale.trim().to_ascii_uppercase();
        if codice_fiscale.is_empty() {
            return Err(ErroreCanale::Definitivo("no codice fiscale".into()));
        }
        let (subject, markdown) = contenuto(&m.oggetto, &m.testo)?;

        let risposta = self
            .post("/api/v1/profiles", &json!({ "fiscal_code": codice_fiscale }))
            .await?;
        match risposta.status().as_u16() {
            200 => {}
            404 => return Ok(Esito::NonRaggiungibile("not registered on app io".into())),
            _ => return Err(errore_http(SERVIZIO, risposta.status())),
        }
        let profilo: ProfiloLimitato = risposta
            .json()
            .await
            .map_err(|_| ErroreCanale::Temporaneo("app io profile answer unreadable".into()))?;
        if !profilo.sender_allowed {
            return Ok(Esito::NonRaggiungibile(
                "the citizen has not allowed this service on app io".into(),
            ));
        }

        let corpo = json!({
            "fiscal_code": codice_fiscale,
            "content": { "subject": subject, "markdown": markdown },
        });
        let risposta = self.post("/api/v1/messages", &corpo).await?;
        let status = risposta.status();
        if !status.is_success() {
            return Err(errore_http(SERVIZIO, status));
        }
        let id = risposta
            .json::<MessaggioCreato>()
            .await
            .ok()
            .and_then(|c| c.id)
            .filter(|id| !id.is_empty());
        Ok(Esito::Inviato { riferimento: id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_subject_gets_the_prefix_and_a_long_one_is_cut() -> Result<(), ErroreCanale> {
        let corpo = "x".repeat(100);
        let (s, _) = contenuto("Avviso", &corpo)?;
        assert_eq!(s, "Avviso INPS: Avviso");
        let lungo = "è".repeat(200);
        let (s, _) = contenuto(&lungo, &corpo)?;
        assert_eq!(lunghezza(&s), OGGETTO_MAX);
        assert!(s.ends_with('…'));
        Ok(())
    }

    #[test]
    fn a_short_body_gets_the_closing_line_and_a_long_one_is_refused() -> Result<(), ErroreCanale> {
        assert!(lunghezza(CHIUSURA) >= MARKDOWN_MIN);
        let (_, md) = contenuto("Un oggetto valido", "Ciao")?;
        assert!(md.starts_with("Ciao\n\n---"));
        assert!(lunghezza(&md) >= MARKDOWN_MIN);
        let ok = "a".repeat(MARKDOWN_MAX);
        assert_eq!(contenuto("Un oggetto valido", &ok)?.1, ok);
        assert!(matches!(
            contenuto("Un oggetto valido", &"a".repeat(MARKDOWN_MAX + 1)),
            Err(ErroreCanale::Definitivo(_))
        ));
        assert!(matches!(
            contenuto("  ", "testo"),
            Err(ErroreCanale::Definitivo(_))
        ));
        Ok(())
    }

    #[test]
    fn lengths_count_utf16_units_as_the_api_does() {
        // An emoji is two UTF-16 units: cutting never splits it.
        assert_eq!(taglia("ab😀c", 3), "ab");
        assert_eq!(taglia("ab😀c", 4), "ab😀");
    }
}
