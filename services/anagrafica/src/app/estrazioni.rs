//! ANA-9: the lists of active subjects for INPS checks, whole or sampled, streamed as
//! prestazioni names the subjects and the registry finds them.

use std::collections::HashMap;

use futures::StreamExt;
use occasionali_runtime::{AppError, Identity};
use tokio::sync::mpsc;

use super::Anagrafica;
use crate::domain::campione::{CampioneFisso, Dimensione, punteggio};
use crate::domain::estrazione::{Estrazione, SoggettoAttivo};
use crate::store;

/// How many CFs from prestazioni are looked up in one registry query.
const LOOKUP_BATCH: usize = 500;

/// The lines of an extraction as they come, or the error that ended it. The bounded channel
/// gives backpressure: a slow client slows the extraction instead of filling memory.
pub type Righe = mpsc::Receiver<Result<SoggettoAttivo, AppError>>;

impl Anagrafica {
    /// The registered subjects active in the period, every one of them; the extraction is
    /// recorded (GW-5) before it starts.
    pub async fn estrai(&self, id: Identity, e: Estrazione) -> Result<Righe, AppError> {
        self.traccia(&id, "estrazione_lista", "", &e.descrizione())
            .await?;
        Ok(self.attivi(id, e, |_| true))
    }

    /// A reproducible sample of the same list: the same seed over the same list always draws the
    /// same subjects.
    pub async fn campione(
        &self,
        id: Identity,
        e: Estrazione,
        dimensione: Dimensione,
        seed: u64,
    ) -> Result<Righe, AppError> {
        let dettaglio = format!("{} {} seed {seed}", e.descrizione(), dimensione.misura());
        self.traccia(&id, "estrazione_campione", "", &dettaglio).await?;
        Ok(match dimensione {
            Dimensione::Percentuale { soglia, .. } => {
                self.attivi(id, e, move |cf| punteggio(seed, cf) < soglia)
            }
            Dimensione::Numero(n) => campione_fisso(self.attivi(id, e, |_| true), n, seed),
        })
    }

    /// Streams the registered subjects of an extraction whose CF passes `keep`, batch by batch.
    fn attivi(
        &self,
        id: Identity,
        e: Estrazione,
        keep: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Righe {
        let (db, prestazioni) = (self.db.clone(), self.prestazioni.clone());
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            let result: Result<(), AppError> = async {
                let stream = prestazioni.soggetti_attivi(e.ruolo, e.dal, e.al, &id).await?;
                let mut chunks = std::pin::pin!(stream.chunks(LOOKUP_BATCH));
                while let Some(chunk) = chunks.next().await {
                    let mut numeri = HashMap::with_capacity(chunk.len());
                    for item in chunk {
                        let (cf, n) = item?;
                        if keep(&cf) {
                            numeri.insert(cf, n);
                        }
                    }
                    for attivo in registrati(&db, &numeri, &e).await? {
                        if tx.send(Ok(attivo)).await.is_err() {
                            return Ok(());
                        }
                    }
                }
                Ok(())
            }
            .await;
            if let Err(err) = result {
                let _ = tx.send(Err(err)).await;
            }
        });
        rx
    }
}

/// The subjects of one batch (CF → prestazioni in the period) that the registry holds in the
/// extraction's role and sede, in CF order.
async fn registrati(
    db: &sea_orm::DatabaseConnection,
    numeri: &HashMap<String, i64>,
    e: &Estrazione,
) -> Result<Vec<SoggettoAttivo>, AppError> {
    let cfs: Vec<String> = numeri.keys().cloned().collect();
    let mut trovati = store::soggetti_tra(db, &cfs, e.ruolo, e.sede.as_deref()).await?;
    trovati.sort_by(|a, b| a.cf.cmp(&b.cf));
    Ok(trovati
        .iter()
        .map(|s| e.attivo(s, numeri.get(&s.cf).copied().unwrap_or_default()))
        .collect())
}

/// Keeps the `n` smallest-scoring subjects of the whole list, sent once the list has ended; an
/// error of the list ends the sample too.
fn campione_fisso(mut righe: Righe, n: usize, seed: u64) -> Righe {
    let (tx, out) = mpsc::channel(256);
    tokio::spawn(async move {
        let mut campione = CampioneFisso::new(n);
        while let Some(item) = righe.recv().await {
            match item {
                Ok(s) => {
                    let cf = s.cf.clone();
                    campione.offri(seed, &cf, s);
                }
                Err(err) => {
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            }
        }
        for s in campione.estrai() {
            if tx.send(Ok(s)).await.is_err() {
                return;
            }
        }
    });
    out
}
