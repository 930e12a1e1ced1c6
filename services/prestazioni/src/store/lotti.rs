//! The insertions and acceptances that concurrent requests make at the same moment, in shared
//! statements on PostgreSQL (group commit, issue 11: one round trip and one commit for many
//! sagas' steps). On SQLite, where writers queue in the process and a statement costs no round
//! trip, each runs alone as before.

use chrono::{DateTime, Utc};
use occasionali_runtime::AppError;
use occasionali_runtime::lotti::{Lotto, per_ognuno};
use sea_orm::{DatabaseConnection, DbBackend};

use super::contatori::{Presa, PresaPropria};
use super::prestazioni::{self, DaInserire, Inserita};
use crate::domain::Prestazione;

/// The most items in one statement: a batch's JSON stays well under a megabyte.
const MASSIMO: usize = 64;
/// Batches at the database at once, each on its own connection.
const PARALLELI: usize = 2;

#[derive(Clone)]
pub struct Lotti {
    db: DatabaseConnection,
    inserimenti: Option<Lotto<DaInserire, Inserita>>,
    accettazioni: Option<Lotto<(Prestazione, DateTime<Utc>), bool>>,
}

impl Lotti {
    pub fn new(db: &DatabaseConnection) -> Lotti {
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        let (d1, d2) = (db.clone(), db.clone());
        Lotti {
            db: db.clone(),
            inserimenti: postgres.then(|| {
                Lotto::new("insertion", MASSIMO, PARALLELI, move |lotto: Vec<DaInserire>| {
                    let db = d1.clone();
                    async move { prestazioni::inserisci_in_lotto(&db, &lotto).await }
                })
            }),
            accettazioni: postgres.then(|| {
                Lotto::new(
                    "acceptance",
                    MASSIMO,
                    PARALLELI,
                    move |lotto: Vec<(Prestazione, DateTime<Utc>)>| {
                        let db = d2.clone();
                        async move {
                            match prestazioni::accetta_in_lotto(&db, &lotto).await {
                                Ok(scritte) => {
                                    lotto.iter().map(|(p, _)| Ok(scritte.contains(&p.id))).collect()
                                }
                                Err(e) => per_ognuno(&e, lotto.len()),
                            }
                        }
                    },
                )
            }),
        }
    }

    /// [`prestazioni::inserisci_con_quote`], in the next batch on PostgreSQL.
    pub async fn inserisci(&self, p: &Prestazione, prese: &[Presa<'_>]) -> Result<Inserita, AppError> {
        match &self.inserimenti {
            Some(lotto) => {
                let item = DaInserire {
                    p: p.clone(),
                    prese: prese
                        .iter()
                        .map(|q| PresaPropria {
                            id: q.id.to_string(),
                            valore: q.valore,
                            limite: q.limite,
                        })
                        .collect(),
                };
                lotto.esegui(item).await
            }
            None => prestazioni::inserisci_con_quote(&self.db, p, prese).await,
        }
    }

    /// [`prestazioni::accetta_con_evento`], in the next batch on PostgreSQL.
    pub async fn accetta(&self, p: &Prestazione, at: DateTime<Utc>) -> Result<bool, AppError> {
        match &self.accettazioni {
            Some(lotto) => lotto.esegui((p.clone(), at)).await,
            None => prestazioni::accetta_con_evento(&self.db, p, at).await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{DateTime, Utc};
    use occasionali_kernel::Euro;
    use occasionali_runtime::testing::TestDb;
    use sea_orm::ConnectionTrait;

    use super::*;
    use crate::domain::accesso::Sedi;
    use crate::domain::dichiarazione::{AttivitaLf, LavoroLf, Luogo};
    use crate::domain::{Costo, Dichiarazione, Lavoro, QuotaPresa, Stato};
    use crate::store::{Migrator, contatori};

    const PIVA: &str = "00743110157";

    fn ora() -> DateTime<Utc> {
        "2026-06-01T08:00:00Z".parse().unwrap()
    }

    fn prestazione(request_id: &str, quote: &[(&str, i64)]) -> Prestazione {
        Prestazione {
            id: occasionali_kernel::ids::new_id("pre"),
            request_id: request_id.into(),
            dichiarazione: Dichiarazione {
                utilizzatore_cf: PIVA.into(),
                prestatore_cf: "RSSMRA80A01H501U".into(),
                luogo: Luogo {
                    comune: "h501".into(),
                    nome_comune: "Roma".into(),
                    indirizzo: "Via Roma 1".into(),
                },
                lavoro: Lavoro::Lf(LavoroLf {
                    attivita: AttivitaLf::LavoriDomestici,
                    data: "2026-06-16".parse().unwrap(),
                    minuti: 60,
                    titoli: 1,
                }),
                compenso: None,
                appalto: false,
                rapporto_recente: false,
            },
            costo: Costo {
                compenso: Euro::from_cents(1000),
                ivs: Euro::from_cents(165),
                inail: Euro::from_cents(35),
                oneri: Euro::from_cents(10),
            },
            quote: quote
                .iter()
                .map(|(id, valore)| QuotaPresa {
                    id: id.to_string(),
                    valore: *valore,
                })
                .collect(),
            sedi: Sedi::default(),
            revocabile_fino_al: "2026-06-19T22:00:00Z".parse().unwrap(),
            inserita_da_cf: PIVA.into(),
            inserita_il: ora(),
            stato: Stato::Pending,
            accettata_il: None,
            rifiuto: None,
            revoca: None,
            confermata_il: None,
            contestazione: None,
            pagamento: None,
        }
    }

    fn da_inserire(p: &Prestazione, tetto: i64) -> DaInserire {
        DaInserire {
            p: p.clone(),
            prese: p
                .quote
                .iter()
                .map(|q| PresaPropria {
                    id: q.id.clone(),
                    valore: q.valore,
                    limite: tetto,
                })
                .collect(),
        }
    }

    async fn usato(db: &DatabaseConnection, id: &str) -> i64 {
        contatori::usati(db, &[id.to_string()]).await.unwrap()[id]
    }

    async fn righe(db: &DatabaseConnection) -> i64 {
        let r = db
            .query_one_raw(crate::store::sql(
                db,
                "SELECT COUNT(*) AS n FROM prestazioni",
                vec![],
            ))
            .await
            .unwrap()
            .unwrap();
        r.try_get("", "n").unwrap()
    }

    occasionali_runtime::storage_test!(
        Migrator,
        "prestazioni",
        pre_9_a_batch_takes_its_quotas_as_one_after_the_other_would,
        pre_9_batch
    );

    /// PRE-9, PRE-18 under group commit: a batch whose quotas fit goes in whole; one that would
    /// cross a cap, or meets a request id already stored, answers per item exactly as the items
    /// inserted one after the other.
    async fn pre_9_batch(t: &TestDb) -> anyhow::Result<()> {
        let db = &t.db;
        // Fits whole: 4 × 5 on a counter capped at 100, one of them also on a second counter.
        let a: Vec<Prestazione> = (0..4)
            .map(|i| match i {
                0 => prestazione(&format!("a-{i}"), &[("c-altro", 7), ("c-u", 5)]),
                _ => prestazione(&format!("a-{i}"), &[("c-u", 5)]),
            })
            .collect();
        let lotto: Vec<DaInserire> = a.iter().map(|p| da_inserire(p, 100)).collect();
        let esiti = prestazioni::inserisci_in_lotto(db, &lotto).await;
        assert!(
            esiti.iter().all(|e| matches!(e, Ok(Inserita::Fatto))),
            "{esiti:?}"
        );
        assert_eq!((usato(db, "c-u").await, usato(db, "c-altro").await), (20, 7));
        assert_eq!(righe(db).await, 4);

        // Would cross the cap together (20 + 5 × 20 > 100): the first four fit, one by one.
        let b: Vec<Prestazione> = (0..5)
            .map(|i| prestazione(&format!("b-{i}"), &[("c-u", 20)]))
            .collect();
        let lotto: Vec<DaInserire> = b.iter().map(|p| da_inserire(p, 100)).collect();
        let esiti: Vec<Inserita> = prestazioni::inserisci_in_lotto(db, &lotto)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            esiti,
            [
                Inserita::Fatto,
                Inserita::Fatto,
                Inserita::Fatto,
                Inserita::Fatto,
                Inserita::LimiteSuperato
            ]
        );
        assert_eq!(usato(db, "c-u").await, 100);
        assert_eq!(righe(db).await, 8);

        // PRE-18: a request id already stored, in the middle of a batch that otherwise fits.
        let c = [
            prestazione("c-0", &[("c-v", 1)]),
            prestazione("a-2", &[("c-v", 1)]),
            prestazione("c-2", &[("c-v", 1)]),
        ];
        let lotto: Vec<DaInserire> = c.iter().map(|p| da_inserire(p, 100)).collect();
        let esiti: Vec<Inserita> = prestazioni::inserisci_in_lotto(db, &lotto)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(esiti, [Inserita::Fatto, Inserita::Duplicato, Inserita::Fatto]);
        assert_eq!(usato(db, "c-v").await, 2);
        assert_eq!(righe(db).await, 10);

        // A quota over its cap by itself never reaches the database.
        let d = [
            prestazione("d-0", &[("c-w", 1)]),
            prestazione("d-1", &[("c-w", 101)]),
        ];
        let lotto: Vec<DaInserire> = d.iter().map(|p| da_inserire(p, 100)).collect();
        let esiti: Vec<Inserita> = prestazioni::inserisci_in_lotto(db, &lotto)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(esiti, [Inserita::Fatto, Inserita::LimiteSuperato]);
        assert_eq!(usato(db, "c-w").await, 1);
        Ok(())
    }

    occasionali_runtime::storage_test!(
        Migrator,
        "prestazioni",
        pre_10_a_batch_accepts_only_what_is_still_pending_each_with_its_event,
        pre_10_batch
    );

    /// PRE-10 under group commit: every PENDING prestazione of a batch is written ACCEPTED with
    /// its own event; one that is no longer PENDING is left as it is, without an event.
    async fn pre_10_batch(t: &TestDb) -> anyhow::Result<()> {
        let db = &t.db;
        let ps: Vec<Prestazione> = (0..4).map(|i| prestazione(&format!("p-{i}"), &[])).collect();
        for p in &ps {
            assert_eq!(
                prestazioni::inserisci_con_quote(db, p, &[]).await?,
                Inserita::Fatto
            );
        }
        let at = ora() + chrono::Duration::seconds(3);
        let accetta = |p: &Prestazione| {
            let mut a = p.clone();
            a.accetta(at).unwrap();
            (a, at)
        };
        // The last one was accepted by somebody else first (recovery, a retry).
        assert!(prestazioni::accetta_con_evento(db, &accetta(&ps[3]).0, at).await?);
        let lotto: Vec<(Prestazione, DateTime<Utc>)> = ps.iter().map(accetta).collect();
        let scritte = prestazioni::accetta_in_lotto(db, &lotto).await?;
        let mut attese: Vec<&str> = ps[..3].iter().map(|p| p.id.as_str()).collect();
        let mut avute: Vec<&str> = scritte.iter().map(String::as_str).collect();
        attese.sort_unstable();
        avute.sort_unstable();
        assert_eq!(avute, attese);
        for p in &ps {
            let letta = prestazioni::carica(db, &p.id, false).await?.unwrap();
            assert_eq!(
                (letta.stato, letta.accettata_il),
                (Stato::Accepted, Some(at)),
                "{}",
                p.id
            );
        }
        // One event per acceptance: three from the batch, one from the first acceptance.
        let eventi = db
            .query_all_raw(crate::store::sql(
                db,
                "SELECT aggregate_id, topic, occurred_at FROM outbox ORDER BY id",
                vec![],
            ))
            .await?;
        let mut aggregati: Vec<String> = eventi
            .iter()
            .map(|r| r.try_get::<String>("", "aggregate_id").unwrap())
            .collect();
        aggregati.sort_unstable();
        let mut tutti: Vec<String> = ps.iter().map(|p| p.id.clone()).collect();
        tutti.sort_unstable();
        assert_eq!(aggregati, tutti);
        assert!(
            eventi
                .iter()
                .all(|r| r.try_get::<String>("", "topic").unwrap() == "prestazioni.prestazione.inserita")
        );
        Ok(())
    }

    occasionali_runtime::storage_test!(
        Migrator,
        "prestazioni",
        concurrent_sagas_share_statements_and_lose_nothing,
        concorrenti
    );

    /// Through the queues, as the saga uses them: 40 concurrent insertions and acceptances on
    /// one capped counter; exactly as many as fit go in, each accepted once.
    async fn concorrenti(t: &TestDb) -> anyhow::Result<()> {
        let lotti = Lotti::new(&t.db);
        let mut compiti = Vec::new();
        for i in 0..40 {
            let lotti = lotti.clone();
            compiti.push(tokio::spawn(async move {
                let p = prestazione(&format!("x-{i}"), &[("c-x", 3)]);
                let prese = [Presa {
                    id: "c-x",
                    valore: 3,
                    limite: 90,
                }];
                match lotti.inserisci(&p, &prese).await? {
                    Inserita::Fatto => {
                        let mut a = p.clone();
                        a.accetta(ora())?;
                        anyhow::ensure!(lotti.accetta(&a, ora()).await?, "{} not accepted", p.id);
                        Ok(true)
                    }
                    Inserita::LimiteSuperato => Ok(false),
                    Inserita::Duplicato => anyhow::bail!("no duplicate was sent"),
                }
            }));
        }
        let mut dentro = 0;
        for c in compiti {
            dentro += usize::from(c.await??);
        }
        assert_eq!(dentro, 30);
        assert_eq!(usato(&t.db, "c-x").await, 90);
        assert_eq!(righe(&t.db).await, 30);
        Ok(())
    }
}
