//! A chain never forks (LAO-11): concurrent variations and cancellations of one head, from
//! separate connections; exactly one wins, every other is told the new head.

use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::{Code, Status};

use crate::common::*;

both_engines!(
    lao_11_ten_concurrent_variations_one_wins,
    lao_11_concurrent_variations_and_cancellations_one_wins,
    lao_11_the_database_refuses_a_second_successor,
);

/// The losers: ABORTED (lost the race in the database) or FAILED_PRECONDITION (read the head
/// after the winner committed), each naming the winner as the new head.
#[track_caller]
fn perdente(s: &Status, vincitore: &str) {
    match s.code() {
        Code::Aborted => assert_eq!(reason_of(s), "LAO_11_NO_LONGER_HEAD"),
        Code::FailedPrecondition => {
            assert!(
                ["LAO_6_NOT_HEAD", "LAO_9_NOT_HEAD"].contains(&reason_of(s).as_str()),
                "{}",
                reason_of(s)
            );
            assert_eq!(metadata_of(s, "codice_comunicazione_testa"), vincitore);
        }
        other => panic!(
            "a lost race is ABORTED or FAILED_PRECONDITION, got {other:?}: {}",
            s.message()
        ),
    }
    assert!(s.message().contains(vincitore), "{}", s.message());
}

async fn catena_di(h: &Harness, codice: &str) -> Vec<pb::SintesiComunicazione> {
    h.leggi(codice).await.catena
}

async fn lao_11_ten_concurrent_variations_one_wins(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    for round in 0..3 {
        let p = h.inserisci(&a, preventiva("", lavoratore_n(round))).await;
        let head = codice(&p);
        let mut calls = Vec::new();
        for i in 0..10 {
            let mut client = h.nuovo_client().await;
            let mut r = variazione(&head, &p);
            r.rapporto.as_mut().unwrap().descrizione = format!("Variazione concorrente {i}");
            let req = a.req(r);
            calls.push(tokio::spawn(async move { client.vary_comunicazione(req).await }));
        }
        let mut vinte = Vec::new();
        let mut perse = Vec::new();
        for call in calls {
            match call.await? {
                Ok(r) => vinte.push(r.into_inner().comunicazione.unwrap()),
                Err(s) => perse.push(s),
            }
        }
        assert_eq!(vinte.len(), 1, "exactly one variation wins");
        let vincitore = codice(&vinte[0]);
        let aborted = perse.iter().filter(|s| s.code() == Code::Aborted).count();
        eprintln!(
            "{:?} round {round}: {aborted} lost in the database (ABORTED), {} found a newer head",
            t.engine,
            perse.len() - aborted
        );
        for s in &perse {
            perdente(s, &vincitore);
        }
        let chain = catena_di(&h, &head).await;
        assert_eq!(chain.len(), 2, "P and one V: no fork");
        assert_eq!(chain[1].codice_comunicazione, vincitore);
        assert!(chain[1].is_head && !chain[0].is_head);
    }
    assert_eq!(h.eventi().await.len(), 6, "3 P and 3 V, nothing for the losers");
    h.stop().await;
    Ok(())
}

async fn lao_11_concurrent_variations_and_cancellations_one_wins(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let p = h.inserisci(&a, preventiva("", lavoratore_n(5))).await;
    let head = codice(&p);
    let mut calls = Vec::new();
    for i in 0..8 {
        let mut client = h.nuovo_client().await;
        let call = if i % 2 == 0 {
            let mut r = variazione(&head, &p);
            r.rapporto.as_mut().unwrap().compenso_stimato = format!("{}.00", 100 + i);
            let req = a.req(r);
            tokio::spawn(async move {
                client
                    .vary_comunicazione(req)
                    .await
                    .map(|r| r.into_inner().comunicazione)
            })
        } else {
            let req = a.req(annullamento(&head));
            tokio::spawn(async move {
                client
                    .cancel_comunicazione(req)
                    .await
                    .map(|r| r.into_inner().comunicazione)
            })
        };
        calls.push(call);
    }
    let mut vinte = Vec::new();
    let mut perse = Vec::new();
    for call in calls {
        match call.await? {
            Ok(c) => vinte.push(c.unwrap()),
            Err(s) => perse.push(s),
        }
    }
    assert_eq!(vinte.len(), 1);
    let vincitore = codice(&vinte[0]);
    for s in &perse {
        perdente(s, &vincitore);
    }
    let chain = catena_di(&h, &head).await;
    assert_eq!(chain.len(), 2);
    // Every chain member but the last has exactly one successor, recorded once.
    let found = h.cerca(per_codice(&head)).await;
    assert_eq!(found.len(), 1);
    assert!(!found[0].is_head);
    h.stop().await;
    Ok(())
}

/// Below the service: two successors of one communication cannot both be stored, whatever
/// the code above did (the unique index on `codice_precedente`), and the conditional update
/// marks a communication replaced only once.
async fn lao_11_the_database_refuses_a_second_successor(t: &TestDb) -> anyhow::Result<()> {
    use occasionali_comunicazioni::domain::{CodiceComunicazione, Comunicazione, Invio, Tipo};
    use occasionali_comunicazioni::store;
    use occasionali_runtime::AppError;

    let h = Harness::start(t).await?;
    let p = h
        .inserisci(&h.azienda(PIVA), preventiva("", lavoratore_n(9)))
        .await;
    let head = codice(&p);
    let stored = store::carica(&h.db, &head).await?.expect("stored");
    let successiva = |email: &str| {
        stored.com.successiva(
            Tipo::A,
            stored.com.contenuto.clone(),
            Invio {
                compilatore_cf: PIVA.into(),
                compilatore_email: email.into(),
                ora: ora(),
                oggi: data(OGGI),
            },
            CodiceComunicazione::genera(&mut rand::rng()),
        )
    };
    let (a, b): (Comunicazione, Comunicazione) = (successiva("a@example.it"), successiva("b@example.it"));
    store::inserisci(&h.db, &a, &stored.origine, None).await?;
    let second = store::inserisci(&h.db, &b, &stored.origine, None).await;
    assert!(matches!(second, Err(AppError::Aborted { .. })), "{second:?}");
    assert!(store::sostituisci(&h.db, &head, a.codice()).await?);
    assert!(!store::sostituisci(&h.db, &head, b.codice()).await?);
    assert_eq!(store::catena(&h.db, &stored.origine).await?.len(), 2);
    h.stop().await;
    Ok(())
}
