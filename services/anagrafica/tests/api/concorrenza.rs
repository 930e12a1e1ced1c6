//! Lost races (GW-3: ABORTED or ALREADY_EXISTS, never a duplicate or a lost update), on both
//! engines.

use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    concurrent_registrations_of_the_same_cf_one_wins,
    concurrent_registrations_of_two_roles_lose_nothing,
    concurrent_changes_lose_no_update,
);

#[track_caller]
fn lost_race<T>(r: &Result<T, tonic::Status>) -> bool {
    match r {
        Ok(_) => false,
        Err(s) => {
            assert!(
                matches!(s.code(), Code::AlreadyExists | Code::Aborted),
                "a lost race is ALREADY_EXISTS or ABORTED, got {:?}: {}",
                s.code(),
                s.message()
            );
            true
        }
    }
}

async fn concurrent_registrations_of_the_same_cf_one_wins(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    for i in 0..8 {
        let p = persona_n(i);
        let cf = p.codice_fiscale.clone();
        let me = h.prestatore(&cf);
        let (mut c1, mut c2) = (h.c(), h.c());
        let (a, b) = tokio::join!(
            c1.register_prestatore(me.req(prestatore(p.clone()))),
            c2.register_prestatore(me.req(prestatore(p.clone()))),
        );
        let lost = usize::from(lost_race(&a)) + usize::from(lost_race(&b));
        assert_eq!(lost, 1, "exactly one registration wins");
        assert_eq!(
            h.stato(&cf).await,
            (1, 1, 1),
            "one record, one history entry, one event"
        );
    }
    h.stop().await;
    Ok(())
}

async fn concurrent_registrations_of_two_roles_lose_nothing(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    for i in 0..8 {
        let p = persona_n(i);
        let cf = p.codice_fiscale.clone();
        let (mut c1, mut c2) = (h.c(), h.c());
        let (a, b) = tokio::join!(
            c1.register_prestatore(h.prestatore(&cf).req(prestatore(p.clone()))),
            c2.register_utilizzatore(h.utilizzatore(&cf).req(lf(p.clone()))),
        );
        let won_a = !lost_race(&a);
        let won_b = !lost_race(&b);
        assert!(won_a || won_b, "someone wins");
        let s = h.leggi(&cf).await;
        assert_eq!(s.prestatore.is_some(), won_a);
        assert_eq!(s.utilizzatore_lf.is_some(), won_b);
        let wins = i64::from(won_a) + i64::from(won_b);
        assert_eq!(s.versione, wins);
        assert_eq!(h.storia(&cf).await.len() as i64, wins);
        assert_eq!(h.eventi(&cf).await.len() as i64, wins);
    }
    h.stop().await;
    Ok(())
}

async fn concurrent_changes_lose_no_update(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona_n(1);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p)).await;
    let me = h.prestatore(&cf);
    let mut versione = 1;
    for round in 0..6 {
        let ra = update(
            &cf,
            con_email(&format!("a{round}@example.it")),
            &["contatti.email"],
            "",
        );
        let rb = update(
            &cf,
            con_email(&format!("b{round}@example.it")),
            &["contatti.email"],
            "",
        );
        let (mut c1, mut c2) = (h.c(), h.c());
        let (a, b) = tokio::join!(c1.update_soggetto(me.req(ra)), c2.update_soggetto(me.req(rb)));
        let wins = i64::from(!lost_race(&a)) + i64::from(!lost_race(&b));
        assert!(wins >= 1, "someone wins");
        versione += wins;
        let (v, storia, eventi) = h.stato(&cf).await;
        assert_eq!(v, versione, "every applied change counted once");
        assert_eq!(storia as i64, versione);
        assert_eq!(eventi as i64, versione);
        // The record holds the last applied change, as the history says.
        let email = h.leggi(&cf).await.contatti.map(|c| c.email).unwrap_or_default();
        let last = h.storia(&cf).await[0].campi[0].dopo.clone();
        assert_eq!(email, last);
    }
    h.stop().await;
    Ok(())
}
