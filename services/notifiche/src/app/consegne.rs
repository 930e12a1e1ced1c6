//! The delivery worker (NOT-6): at least once, with backoff; a channel that fails delays only
//! its own deliveries; a process that dies mid-send leaves a lease that expires, and another
//! worker (or the same after restart) sends again. And the query of who was told what, how
//! (ListDeliveries).

use std::time::Duration;

use futures::future::join_all;
use occasionali_runtime::pagina::Pagina;
use occasionali_runtime::shutdown::Shutdown;
use occasionali_runtime::{AppError, Identity};
use rand::Rng;
use tokio::task::JoinHandle;

use super::App;
use crate::canali::{ErroreCanale, Esito, Messaggio};
use crate::domain::accesso;
use crate::domain::canali::Canale;
use crate::store::consegne;

pub use crate::store::consegne::{Consegna, Filtri, Stato};

/// After this many attempts a delivery is FAILED.
pub const MAX_TENTATIVI: i32 = 10;
/// How long a worker holds a claimed delivery (longer than any send's timeout).
const LEASE_MS: i64 = 60_000;
const INVIO_TIMEOUT: Duration = Duration::from_secs(30);
const LOTTO: u64 = 32;

/// 1 s, doubled per attempt up to an hour, with jitter (half to full).
pub fn attesa(tentativi: i32) -> Duration {
    let pieno = 1_000u64
        .saturating_mul(1u64 << tentativi.clamp(0, 12))
        .min(3_600_000);
    Duration::from_millis(rand::rng().random_range(pieno / 2..=pieno))
}

impl App {
    /// One round: claims the due deliveries and sends them, concurrently. How many were claimed.
    pub async fn consegna_dovute(&self) -> Result<usize, AppError> {
        let adesso = self.adesso_ms();
        let lease = adesso + LEASE_MS;
        let lotto = consegne::reclama(&self.db, adesso, lease, LOTTO).await?;
        let n = lotto.len();
        for r in join_all(lotto.iter().map(|c| self.consegna(c, lease))).await {
            r?;
        }
        Ok(n)
    }

    async fn consegna(&self, c: &Consegna, lease: i64) -> Result<(), AppError> {
        let canale = match c.canale {
            Canale::Email => self.canali.email.clone(),
            Canale::Sms => self.canali.sms.clone(),
            Canale::AppIo => self.canali.app_io.clone(),
            Canale::Inbox => None,
        };
        let tentativi = c.tentativi + 1;
        let adesso = self.adesso_ms();
        let Some(canale) = canale else {
            consegne::esito(
                &self.db,
                &c.id,
                lease,
                Stato::Skipped,
                c.tentativi,
                Some("channel not configured in this environment"),
                None,
                adesso,
                None,
            )
            .await?;
            return Ok(());
        };
        let m = Messaggio {
            chiave: c.id.clone(),
            codice_fiscale: c.codice_fiscale.clone(),
            indirizzo: c.indirizzo.clone().unwrap_or_default(),
            oggetto: c.oggetto.clone(),
            testo: c.testo.clone(),
        };
        let esito = match tokio::time::timeout(INVIO_TIMEOUT, canale.invia(&m)).await {
            Ok(r) => r,
            Err(_) => Err(ErroreCanale::Temporaneo("no answer within 30 s".into())),
        };
        let adesso = self.adesso_ms();
        let (stato, errore, riferimento, prossimo, inviata) = match esito {
            Ok(Esito::Inviato { riferimento }) => (Stato::Sent, None, riferimento, adesso, Some(adesso)),
            Ok(Esito::NonRaggiungibile(perche)) => (Stato::Skipped, Some(perche), None, adesso, None),
            Err(ErroreCanale::Definitivo(e)) => (Stato::Failed, Some(e), None, adesso, None),
            Err(ErroreCanale::Temporaneo(e)) if tentativi >= MAX_TENTATIVI => {
                (Stato::Failed, Some(e), None, adesso, None)
            }
            Err(ErroreCanale::Temporaneo(e)) => (
                Stato::Retrying,
                Some(e),
                None,
                adesso + attesa(c.tentativi).as_millis() as i64,
                None,
            ),
        };
        if stato != Stato::Sent {
            tracing::info!(delivery = %c.id, channel = %c.canale, state = stato.as_str(), attempts = tentativi,
                error = errore.as_deref().unwrap_or(""), "delivery not sent");
        }
        consegne::esito(
            &self.db,
            &c.id,
            lease,
            stato,
            tentativi,
            errore.as_deref(),
            riferimento.as_deref(),
            prossimo,
            inviata,
        )
        .await?;
        occasionali_runtime::metriche::notification_delivery(c.canale.as_str(), stato.as_str());
        Ok(())
    }
}

impl App {
    /// NOT-6: one page of the deliveries matching `filtri`, newest first (`(seq, delivery)`,
    /// one more than the page), for whom may see them.
    pub async fn consegne(
        &self,
        id: &Identity,
        filtri: &Filtri,
        pagina: Pagina,
    ) -> Result<Vec<(i64, Consegna)>, AppError> {
        accesso::consegne(id, filtri.codice_fiscale.as_deref())?;
        consegne::elenco(&self.db, filtri, pagina.cursore, pagina.da_leggere()).await
    }
}

/// Leases every due delivery as a worker would, and sends nothing: a worker that dies right
/// after its claim (tests of the lease).
pub async fn reclama_per_prova(app: &App, adesso_ms: i64) -> Result<usize, AppError> {
    Ok(consegne::reclama(&app.db, adesso_ms, adesso_ms + LEASE_MS, LOTTO)
        .await?
        .len())
}

/// The worker of every notifiche process: a round whenever woken (new notices) or every second.
pub fn spawn_worker(app: App, shutdown: Shutdown) -> JoinHandle<()> {
    tokio::spawn(async move {
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            let pieno = match app.consegna_dovute().await {
                Ok(n) => n as u64 == LOTTO,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery round failed; retrying");
                    false
                }
            };
            if pieno {
                continue;
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = app.sveglia.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    })
}
