//! POR-8: under any concurrency a wallet never goes below zero, on SQLite and PostgreSQL, with
//! one service instance or two on the same database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    por_1_ledger_balance_reads_one_snapshot_under_load,
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
        let req = h.prestazioni().req(riserva(
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
    let sis = h.prestazioni();
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
            .prestazioni()
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

/// Writers moving money while the balance is read, the least number of balance reads, and of
/// writer rounds (a reservation, every other one released, a deposit) made meanwhile.
const SCRITTORI: usize = 4;
const LETTURE: usize = 40;
const ROUNDS: usize = 40;

/// POR-1 under load: while writers keep moving money (deposits, reservations, releases, each a
/// movement and two cached balances), every GetLedgerBalance sees one consistent state, so it
/// always reports the ledger balanced with a zero total. Its reads used to be separate
/// statements: a movement committed between them made it report `bilanciato = false`.
async fn por_1_ledger_balance_reads_one_snapshot_under_load(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, p) = wallet(&h).await;
    h.paga("PPA-FONDO", &cf, CPO, "100000.00").await;
    let (stop, fermati) = tokio::sync::watch::channel(false);
    let scritture = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..SCRITTORI {
        // The saga's steps on the internal service (GW-6), deposits as the payments feed.
        let mut interno = h.i_nuovo(&h.url).await;
        let mut c = h.c_nuovo(&h.url).await;
        let sis = h.prestazioni();
        let flusso = h.flusso();
        let (cf, p) = (cf.clone(), p.clone());
        let fermati = fermati.clone();
        let scritture = scritture.clone();
        writers.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !*fermati.borrow() {
                let pid = format!("carico_{w}_{i}");
                ok(interno
                    .reserve_funds(sis.req(riserva(&pid, &cf, CPO, &p, "2026-06-10", costo_ora_cpo())))
                    .await);
                if i.is_multiple_of(2) {
                    ok(interno
                        .release_funds(sis.req(pb::ReleaseFundsRequest {
                            prestazione_id: pid.clone(),
                        }))
                        .await);
                }
                ok(
                    c.notify_pago_pa(flusso.req(pagopa(&format!("PPA-{w}-{i}"), &cf, CPO, "1.00")))
                        .await,
                );
                scritture.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    // Let the writers get going, then read while they write.
    while scritture.load(Ordering::Relaxed) < SCRITTORI {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let prima = scritture.load(Ordering::Relaxed);
    let durante = || scritture.load(Ordering::Relaxed) - prima;
    let inizio = std::time::Instant::now();
    let mut c = h.c_nuovo(&h.url).await;
    let mut letture = 0;
    let mut sbilanciate = Vec::new();
    // At least LETTURE reads, and as many as it takes for the writers to write ROUNDS rounds
    // meanwhile (SQLite writes fsync: slower than the reads).
    while letture < LETTURE || (durante() < ROUNDS && inizio.elapsed() < std::time::Duration::from_secs(60)) {
        let b = ok(c
            .get_ledger_balance(h.dg().req(pb::GetLedgerBalanceRequest::default()))
            .await);
        if !b.bilanciato || b.totale != "0.00" {
            sbilanciate.push((letture, b.totale.clone()));
        }
        letture += 1;
    }
    let durante = durante();
    let _ = stop.send(true);
    for w in writers {
        w.await?;
    }
    assert!(
        sbilanciate.is_empty(),
        "{} of {letture} balance reads saw the ledger out of balance (read, total): {sbilanciate:?}",
        sbilanciate.len()
    );
    assert!(
        durante >= ROUNDS,
        "the writers must keep writing while the balance is read (only {durante} rounds)"
    );
    h.fine().await;
    Ok(())
}
