//! E-mail over SMTP (NOT-6): one plain-text UTF-8 message per send, through the relay the
//! configuration names.
//!
//! The `Message-ID` is derived from the delivery key (`<chiave@occasionali.inps.it>`), so a
//! message sent again after a lost answer carries the same id and mail systems and readers can
//! recognise the redelivery. A 5xx reply is `Definitivo` (the relay refused this message or
//! recipient), a 4xx reply, a refused connection or a timeout `Temporaneo`; a credential the
//! relay rejects (530/534/535) is `Temporaneo` too (see the parent module).

use std::time::Duration;

use anyhow::{Context as _, bail};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use occasionali_runtime::config::{SmtpConfig, SmtpTls};

use super::{Canale, ErroreCanale, Esito, Messaggio, TIMEOUT, leggi_segreto};

/// The domain of the `Message-ID`s this service generates.
const DOMINIO_MESSAGE_ID: &str = "occasionali.inps.it";

/// The e-mail channel.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl Email {
    /// Builds the adapter; the password file, when configured, is read here.
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Email> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| anyhow::anyhow!("notifiche.smtp.from: {:?} is not a mailbox", config.from))?;
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str()),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .with_context(|| format!("notifiche.smtp.host: {:?}", config.host))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .with_context(|| format!("notifiche.smtp.host: {:?}", config.host))?,
        };
        let mut builder = builder.port(config.port).timeout(Some(TIMEOUT));
        match (&config.username, &config.password_file) {
            (Some(user), Some(file)) => {
                let password = leggi_segreto(file, "notifiche.smtp.password_file")?;
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (Some(_), None) => bail!("notifiche.smtp.password_file is required with notifiche.smtp.username"),
            (None, Some(_)) => bail!("notifiche.smtp.username is required with notifiche.smtp.password_file"),
            (None, None) => {}
        }
        Ok(Email {
            transport: builder.build(),
            from,
            timeout: TIMEOUT,
        })
    }

    /// The bound of one send (default [`TIMEOUT`]).
    pub fn con_timeout(mut self, timeout: Duration) -> Email {
        self.timeout = timeout;
        self
    }
}

/// `<chiave@occasionali.inps.it>`, with any character a message id cannot hold replaced, so the
/// same key always gives the same id.
pub(crate) fn message_id(chiave: &str) -> String {
    let sinistra: String = chiave
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("<{sinistra}@{DOMINIO_MESSAGE_ID}>")
}

fn classifica(e: &lettre::transport::smtp::Error) -> ErroreCanale {
    if let Some(code) = e.status() {
        let numero = code.to_string();
        if matches!(numero.as_str(), "530" | "534" | "535") {
            return ErroreCanale::Temporaneo(format!("smtp relay rejected the credentials ({numero})"));
        }
        return if e.is_permanent() {
            ErroreCanale::Definitivo(format!("smtp relay refused the message ({numero})"))
        } else {
            ErroreCanale::Temporaneo(format!("smtp relay deferred the message ({numero})"))
        };
    }
    let cosa = if e.is_timeout() {
        "timed out"
    } else if e.is_tls() {
        "tls failed"
    } else if e.is_response() {
        "answer unreadable"
    } else {
        "connection failed"
    };
    ErroreCanale::Temporaneo(format!("smtp relay {cosa}"))
}

#[tonic::async_trait]
impl Canale for Email {
    async fn invia(&self, m: &Messaggio) -> Result<Esito, ErroreCanale> {
        let to: Mailbox = m
            .indirizzo
            .parse()
            .map_err(|_| ErroreCanale::Definitivo("invalid e-mail address".into()))?;
        let messaggio = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.oggetto.as_str())
            .message_id(Some(message_id(&m.chiave)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.testo.clone())
            .map_err(|_| ErroreCanale::Definitivo("e-mail message cannot be built".into()))?;
        match tokio::time::timeout(self.timeout, self.transport.send(messaggio)).await {
            Ok(Ok(risposta)) => Ok(Esito::Inviato {
                // The relay's queue id, when it says one ("250 2.0.0 Ok: queued as 4Bx…").
                riferimento: risposta
                    .first_line()
                    .and_then(|l| l.rsplit_once("queued as "))
                    .map(|(_, id)| id.trim().to_owned())
                    .filter(|id| !id.is_empty()),
            }),
            Ok(Err(e)) => Err(classifica(&e)),
            Err(_) => Err(ErroreCanale::Temporaneo("smtp relay timed out".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::message_id;

    #[test]
    fn message_id_is_derived_from_the_key() {
        assert_eq!(message_id("01JX3D9-ab_c"), "<01JX3D9-ab_c@occasionali.inps.it>");
        assert_eq!(message_id("a b<c>@d"), "<a_b_c__d@occasionali.inps.it>");
    }
}
