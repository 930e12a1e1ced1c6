//! Group commit: the writes of one kind that concurrent requests make at the same moment run as
//! one statement (issue 11). A caller hands its item to a [`Lotto`] and waits for its own
//! outcome; a task of the process takes whatever is waiting (up to `massimo` items), runs it as a
//! batch, and answers each caller. Nobody waits for a batch to fill: a lone request runs at once,
//! in a batch of one; under load, the requests that arrive while a batch is at the database form
//! the next one, so round trips and commits are shared exactly when they are scarce.
//!
//! What a batch may do is the batch function's contract: each item's outcome must be what
//! running it alone would have given in some serial order of the items (the stores fall back to
//! one statement per item whenever a batch could not tell items apart, e.g. a constraint that
//! stopped the whole statement).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::AppError;

type Risposta<O> = oneshot::Sender<Result<O, AppError>>;
type Esecuzione<I, O> =
    Arc<dyn Fn(Vec<I>) -> Pin<Box<dyn Future<Output = Vec<Result<O, AppError>>> + Send>> + Send + Sync>;

/// A queue of items run in batches by `esegui`, at most `paralleli` batches at the database at
/// once. Cloning shares the queue.
pub struct Lotto<I, O> {
    nome: &'static str,
    massimo: usize,
    paralleli: usize,
    esegui: Esecuzione<I, O>,
    coda: Arc<OnceLock<mpsc::UnboundedSender<(I, Risposta<O>)>>>,
}

impl<I, O> Clone for Lotto<I, O> {
    fn clone(&self) -> Self {
        Lotto {
            nome: self.nome,
            massimo: self.massimo,
            paralleli: self.paralleli,
            esegui: self.esegui.clone(),
            coda: self.coda.clone(),
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> Lotto<I, O> {
    /// `esegui` answers one outcome per item, in the items' order.
    pub fn new<F, Fut>(nome: &'static str, massimo: usize, paralleli: usize, esegui: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<O, AppError>>> + Send + 'static,
    {
        Lotto {
            nome,
            massimo: massimo.max(1),
            paralleli: paralleli.max(1),
            esegui: Arc::new(move |items| Box::pin(esegui(items))),
            coda: Arc::new(OnceLock::new()),
        }
    }

    /// Runs `item` in the next batch and answers its outcome. Dropping the future does not
    /// withdraw an item already queued (as a statement already sent is not withdrawn).
    pub async fn esegui(&self, item: I) -> Result<O, AppError> {
        let (tx, rx) = oneshot::channel();
        // The task starts with the first item, inside the runtime that serves it.
        let coda = self.coda.get_or_init(|| self.avvia());
        coda.send((item, tx))
            .map_err(|_| AppError::Unavailable(format!("the {} batches have stopped", self.nome)))?;
        rx.await
            .map_err(|_| AppError::Unavailable(format!("a {} batch ended without an answer", self.nome)))?
    }

    fn avvia(&self) -> mpsc::UnboundedSender<(I, Risposta<O>)> {
        let (tx, mut rx) = mpsc::unbounded_channel::<(I, Risposta<O>)>();
        let (massimo, esegui) = (self.massimo, self.esegui.clone());
        let posti = Arc::new(Semaphore::new(self.paralleli));
        tokio::spawn(async move {
            loop {
                // A place at the database first: while every batch is running, the queue grows
                // into the next one.
                let Ok(posto) = posti.clone().acquire_owned().await else {
                    return;
                };
                let Some(primo) = rx.recv().await else {
                    return;
                };
                let mut lotto = vec![primo];
                while lotto.len() < massimo {
                    match rx.try_recv() {
                        Ok(x) => lotto.push(x),
                        Err(_) => break,
                    }
                }
                let esegui = esegui.clone();
                tokio::spawn(async move {
                    let (items, risposte): (Vec<I>, Vec<Risposta<O>>) = lotto.into_iter().unzip();
                    let n = items.len();
                    let mut esiti = esegui(items).await.into_iter();
                    for r in risposte {
                        let esito = esiti.next().unwrap_or_else(|| {
                            Err(AppError::internal(format!(
                                "a batch of {n} answered fewer outcomes"
                            )))
                        });
                        // A caller gone meanwhile needs no answer.
                        let _ = r.send(esito);
                    }
                    drop(posto);
                });
            }
        });
        tx
    }
}

/// A batch's failure, as the outcome of each of its `n` items: the database's unavailability as
/// it was (the callers answer UNAVAILABLE, retryable), anything else as a server fault.
pub fn per_ognuno<O>(e: &AppError, n: usize) -> Vec<Result<O, AppError>> {
    (0..n)
        .map(|_| {
            Err(match e {
                AppError::DatabaseUnavailable(s) => AppError::DatabaseUnavailable(s.clone()),
                AppError::Unavailable(s) => AppError::Unavailable(s.clone()),
                e => AppError::internal(e),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_items_share_batches_and_each_gets_its_own_outcome() {
        let dimensioni = Arc::new(Mutex::new(Vec::new()));
        let d = dimensioni.clone();
        let lotto = Lotto::new("test", 16, 1, move |items: Vec<u32>| {
            d.lock().unwrap().push(items.len());
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                items
                    .into_iter()
                    .map(|i| {
                        if i % 7 == 0 {
                            Err(AppError::Unavailable("seven".into()))
                        } else {
                            Ok(i * 2)
                        }
                    })
                    .collect()
            }
        });
        let chiamate: Vec<_> = (1..=40u32)
            .map(|i| {
                let l = lotto.clone();
                tokio::spawn(async move { (i, l.esegui(i).await) })
            })
            .collect();
        for c in chiamate {
            let (i, esito) = c.await.unwrap();
            match i % 7 {
                0 => assert!(esito.is_err()),
                _ => assert_eq!(esito.unwrap(), i * 2),
            }
        }
        let dimensioni = dimensioni.lock().unwrap().clone();
        assert_eq!(dimensioni.iter().sum::<usize>(), 40);
        assert!(dimensioni.iter().all(|&n| n <= 16), "{dimensioni:?}");
        assert!(
            dimensioni.len() < 40,
            "no batch held more than one item: {dimensioni:?}"
        );
    }

    #[tokio::test]
    async fn a_lone_item_runs_at_once_and_a_short_answer_is_an_error_not_a_hang() {
        let lotto = Lotto::new("test", 8, 2, |items: Vec<u32>| async move {
            items.into_iter().skip(1).map(Ok).collect()
        });
        let esito = tokio::time::timeout(Duration::from_secs(5), lotto.esegui(1))
            .await
            .unwrap();
        assert!(esito.is_err());
    }
}
