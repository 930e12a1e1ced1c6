//! SMS through an HTTP SMS gateway (NOT-6).
//!
//! The contract this adapter keeps with the gateway (a generic one: the commercial gateways
//! INPS contracts all offer an endpoint of this shape, and a thin proxy covers any other):
//!
//! ```text
//! POST <notifiche.sms.url>
//! Authorization: Bearer <the key in notifiche.sms.api_key_file>
//! Content-Type: application/json
//!
//! {"to": "+393331234567", "from": "INPS", "text": "…", "reference": "<delivery key>"}
//! ```
//!
//! - `to` is the mobile number as the person gave it (the gateway normalises it, E.164
//!   recommended); `from` is `notifiche.sms.sender`; `text` is the message's plain text, split
//!   into parts by the gateway if needed; `reference` is the delivery key, for the gateway to
//!   drop a retried duplicate and to quote in its delivery reports.
//! - 2xx: accepted. A JSON answer's `id` (string or number), if any, becomes the reference.
//! - 429, 5xx, no answer within the timeout, a broken connection: temporary, retried later.
//! - 401/403: the key was rejected: temporary (an operator fixes the key; see the parent module).
//! - Any other 4xx: this message was refused (e.g. an invalid number): permanent.

use std::time::Duration;

use anyhow::Context as _;
use occasionali_runtime::config::SmsConfig;
use reqwest::header::HeaderValue;
use serde_json::json;

use super::{
    Canale, ErroreCanale, Esito, Messaggio, TIMEOUT, client_http, errore_http, errore_rete, leggi_segreto,
};

const SERVIZIO: &str = "sms gateway";

/// The SMS channel.
pub struct Sms {
    client: reqwest::Client,
    url: reqwest::Url,
    autorizzazione: HeaderValue,
    sender: String,
    timeout: Duration,
}

impl Sms {
    /// Builds the adapter; the API key file is read here.
    pub fn new(config: &SmsConfig) -> anyhow::Result<Sms> {
        let url = reqwest::Url::parse(&config.url)
            .with_context(|| format!("notifiche.sms.url: {:?} is not a URL", config.url))?;
        let key = leggi_segreto(&config.api_key_file, "notifiche.sms.api_key_file")?;
        let mut autorizzazione = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            anyhow::anyhow!("notifiche.sms.api_key_file: the key holds characters a header cannot")
        })?;
        autorizzazione.set_sensitive(true);
        Ok(Sms {
            client: client_http(TIMEOUT)?,
            url,
            autorizzazione,
            sender: config.sender.clone(),
            timeout: TIMEOUT,
        })
    }

    /// The bound of one send (default [`TIMEOUT`]).
    pub fn con_timeout(mut self, timeout: Duration) -> Sms {
        self.timeout = timeout;
        self
    }
}

#[tonic::async_trait]
impl Canale for Sms {
    async fn invia(&self, m: &Messaggio) -> Result<Esito, ErroreCanale> {
        if m.indirizzo.trim().is_empty() {
            return Err(ErroreCanale::Definitivo("no mobile number".into()));
        }
        let corpo = json!({
            "to": m.indirizzo.trim(),
            "from": self.sender,
            "text": m.testo,
            "reference": m.chiave,
        });
        let risposta = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::AUTHORIZATION, self.autorizzazione.clone())
            .timeout(self.timeout)
            .json(&corpo)
            .send()
            .await
            .map_err(|e| errore_rete(SERVIZIO, &e))?;
        let status = risposta.status();
        if !status.is_success() {
            return Err(errore_http(SERVIZIO, status));
        }
        // The message is accepted whatever the body says; an unreadable one only loses the id.
        let id = match risposta.json::<serde_json::Value>().await {
            Ok(v) => match v.get("id") {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            Err(_) => None,
        };
        Ok(Esito::Inviato { riferimento: id })
    }
}
