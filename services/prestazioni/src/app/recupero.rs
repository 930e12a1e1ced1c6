//! The saga's recovery (`spawn_recovery`): what a crash or a wallet outage left half done.

use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;

use super::App;
use crate::events;
use crate::store;

impl App {
    /// Resumes every PENDING prestazione (after a crash or a wallet outage), and turns the
    /// releases owed by revocations stored before the relay existed into commands.
    pub async fn riprendi(&self) -> Result<usize, AppError> {
        let mut n = 0;
        for id in store::prestazioni::rilasci_pendenti(&self.db).await? {
            let txn = begin_write(&self.db).await?;
            if let Some(p) = store::prestazioni::carica(&txn, &id, true).await? {
                events::rilascio(&txn, events::chiave_rilascio(&id), &p, None, self.adesso()).await?;
            }
            store::prestazioni::rilascio_fatto(&txn, &id).await?;
            txn.commit().await?;
            n += 1;
        }
        let pendenti = store::prestazioni::pendenti(&self.db).await?;
        // The saga's backlog, as this round found it (a wallet outage makes it grow).
        occasionali_runtime::metriche::livello(
            occasionali_runtime::metriche::SAGA_PENDING,
            &[],
            pendenti.len() as f64,
        );
        for p in pendenti {
            match self.completa(p, None).await {
                Ok(_) => n += 1,
                // Refused for good (REJECTED): done too.
                Err(e) if e.code() == tonic::Code::FailedPrecondition => n += 1,
                Err(e) => tracing::warn!(error = %e, "pending prestazione not resumed; retrying later"),
            }
        }
        Ok(n)
    }
}
