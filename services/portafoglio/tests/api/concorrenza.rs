//! POR-8: under any concurrency a wallet never goes below zero, on SQLite and PostgreSQL, with
//! one service instance or two on the same database.

use futures::future::join_all;
use occasionali_proto::portafoglio as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    por_8_concurrent_reservations_never_overdraw,
    por_8_two_instances_share_the_load_and_never_overdraw,
    por_4_concurrent_retries_of_one_reservation_post_once,
    por_2_concurrent_deliveries_of_one_payment_credit_once,
);

/// How many concurrent reservations are fired, and how many the wallet covers.
const RICHIESTE: usize = 40;
const COPERTE: usize = 13;

/// Fires `RICHIESTE` reservations of 12.41 at once, each on its own connection, spread over
/// `urls`; returns (successes, refusals).
async fn raffica(h: &Harness, urls: &[String], cf: &str, prestatore: &str) -> (usize, usize) {
    let mut clients = Vec::new();
    for i in 0..RICHIESTE {
        clients.push(h.i_nuovo(&urls[i % urls.len()]).await);
    }
    let calls = clients.into_iter().enumerate().map(|(i, mut c)| {
        let req = h.sistema().req(riserva(
            &format!("prest_{i:03}"),
            cf,
            CPO,
            prestatore,
            "2026-06-10",
            costo_ora_cpo(),
        ));
        async move { c.reserve_funds(req).await }
    });
    let mut ok_ = 0;
    let mut refused = 0;
    for r in join_all(calls).await {
        match r {
            Ok(_) => ok_ += 1,
            Err(s) => {
                assert_eq!(s.code(), Code::FailedPrecondition, "{}", s.message());
                assert_eq!(rule_of(&s), "POR-4");
                refused += 1;
            }
        }
    }
    (ok_, refused)
}

async fn wallet(h: &Harness) -> (String, String) {
    let legale = persona_n(1);
    h.registra_azienda(PIVA, &legale.codice_fiscale, roma()).await;
    // 13 × 12.41 = 161.33, plus 7.77 that no reservation can take.
    h.paga("PPA-1", PIVA, CPO, "169.10").await;
    (PIVA.to_string(), persona_n(2).codice_fiscale)
}

async fn verifica(h: &Harness, cf: &str, ok_: usize, refused: usize) {
    assert_eq!(ok_, COPERTE, "exactly the covered reservations succeed");
    assert_eq!(refused, RICHIESTE - COPERTE);
    let r = h.riepilogo(cf, CPO).await;
    assert_eq!(r.disponibile, "7.77", "the remainder, exact to the cent");
    assert_eq!(r.riservato, "161.33");
    assert_eq!(r.addebiti.len(), COPERTE);
    let movimenti = h.movimenti(cf, CPO).await;
    assert_eq!(
        movimenti.len(),
        1 + COPERTE,
        "one movement per reservation, none for refusals"
    );
}

async fn por_8_concurrent_reservations_never_overdraw(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, p) = wallet(&h).await;
    let (ok_, refused) = raffica(&h, std::slice::from_ref(&h.url), &cf, &p).await;
    verifica(&h, &cf, ok_, refused).await;
    h.fine().await;
    Ok(())
}

async fn por_8_two_instances_share_the_load_and_never_overdraw(t: &TestDb) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let secondo = h.add_replica(t).await?;
    let (cf, p) = wallet(&h).await;
    let urls = vec![h.url.clone(), secondo];
    let (ok_, refused) = raffica(&h, &urls, &cf, &p).await;
    verifica(&h, &cf, ok_, refused).await;
    // Deposits and releases racing with reservations on both instances keep the books.
    let mut c1 = h.c_nuovo(&urls[0]).await;
    let mut c2 = h.i_nuovo(&urls[1]).await;
    let sis = h.sistema();
    let (a, b, c) = tokio::join!(
        c1.notify_pago_pa(sis.req(pagopa("PPA-2", &cf, CPO, "12.41"))),
        c2.release_funds(sis.req(pb::ReleaseFundsRequest {
            prestazione_id: "prest_000".into(),
        })),
        async {
            let mut c3 = h.i_nuovo(&urls[1]).await;
            c3.reserve_funds(sis.req(riserva("prest_x", &cf, CPO, &p, "2026-06-10", costo_ora_cpo())))
                .await
        },
    );
    a?;
    let released = b.is_ok();
    let reserved = c.is_ok();
    let r = h.riepilogo(&cf, CPO).await;
    let expected_available = 777 + 1241 + if released { 1241 } else { 0 } - if reserved { 1241 } else { 0 };
    let cents = |s: &str| -> i64 { s.replace('.', "").parse().expect("amount") };
    assert_eq!(cents(&r.disponibile), expected_available);
    h.fine().await;
    Ok(())
}

async fn por_4_concurrent_retries_of_one_reservation_post_once(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, p) = wallet(&h).await;
    let mut clients = Vec::new();
    for _ in 0..16 {
        clients.push(h.i_nuovo(&h.url).await);
    }
    let calls = clients.into_iter().map(|mut c| {
        let req = h
            .sistema()
            .req(riserva("prest_same", &cf, CPO, &p, "2026-06-10", costo_ora_cpo()));
        async move { c.reserve_funds(req).await }
    });
    let results = join_all(calls).await;
    let ids: Vec<String> = results
        .into_iter()
        .map(|r| ok(r).reservation.expect("reservation").prestazione_id)
        .collect();
    assert!(ids.iter().all(|i| i == "prest_same"));
    assert_eq!(h.riepilogo(&cf, CPO).await.riservato, "12.41", "reserved once");
    assert_eq!(h.movimenti(&cf, CPO).await.len(), 2);
    h.fine().await;
    Ok(())
}

async fn por_2_concurrent_deliveries_of_one_payment_credit_once(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(3);
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    let mut clients = Vec::new();
    for _ in 0..12 {
        clients.push(h.c_nuovo(&h.url).await);
    }
    let calls = clients.into_iter().map(|mut c| {
        let req = h.flusso().req(pagopa("PPA-SAME", cf, LF, "33.33"));
        async move { c.notify_pago_pa(req).await }
    });
    let results: Vec<pb::NotifyPagoPaResponse> = join_all(calls).await.into_iter().map(ok).collect();
    assert_eq!(results.iter().filter(|r| !r.duplicato).count(), 1);
    let id = results[0].versamento.as_ref().expect("versamento").id.clone();
    assert!(
        results
            .iter()
            .all(|r| r.versamento.as_ref().map(|v| v.id.as_str()) == Some(id.as_str()))
    );
    assert_eq!(h.saldi(cf, LF).await.0, "33.33");
    h.fine().await;
    Ok(())
}
