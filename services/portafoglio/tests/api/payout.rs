//! POR-5: the monthly payout, once per month, one order per prestatore, and its scheduler.

use std::time::Duration;

use occasionali_proto::portafoglio as pb;
use occasionali_runtime::shutdown;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    por_5_payout_pays_each_prestatore_once_summing_its_prestazioni,
    por_5_only_dg_and_the_platform_run_the_payout,
    por_5_scheduler_pays_the_previous_month_on_the_15th,
);

fn run(anno: i32, mese: i32) -> pb::RunPayoutRequest {
    pb::RunPayoutRequest { anno, mese }
}

fn ordini(prestatore: &str) -> pb::ListPayoutOrdersRequest {
    pb::ListPayoutOrdersRequest {
        anno: 2026,
        mese: 6,
        prestatore_cf: prestatore.into(),
        page_size: 50,
        page_token: String::new(),
    }
}

/// Two utilizzatori (LF and CPO), two prestatori (IBAN and bonifico domiciliato), June and July.
struct Scenario {
    famiglia: String,
    a: String,
    b: String,
}

async fn scenario(h: &Harness) -> anyhow::Result<Scenario> {
    let famiglia = persona_n(1);
    let legale = persona_n(2);
    let a = persona_n(3);
    let b = persona_n(4);
    h.registra_lf(&famiglia, roma()).await;
    h.registra_azienda(PIVA, &legale.codice_fiscale, roma()).await;
    h.registra_prestatore(&a, conto(IBAN)).await;
    h.registra_prestatore(&b, bonifico_domiciliato()).await;
    let (f, a, b) = (famiglia.codice_fiscale, a.codice_fiscale, b.codice_fiscale);
    h.paga("PPA-1", &f, LF, "100.00").await;
    h.paga("PPA-2", PIVA, CPO, "100.00").await;
    h.riserva(riserva("prest_a1", &f, LF, &a, "2026-06-03", costo_lf()))
        .await?;
    h.riserva(riserva(
        "prest_a2",
        PIVA,
        CPO,
        &a,
        "2026-06-30",
        costo_giorno_cpo(),
    ))
    .await?;
    h.riserva(riserva("prest_b1", &f, LF, &b, "2026-06-20", costo_lf()))
        .await?;
    // July: paid next month. A revoked June prestazione: never paid.
    h.riserva(riserva("prest_a3", &f, LF, &a, "2026-07-01", costo_lf()))
        .await?;
    h.riserva(riserva("prest_b2", &f, LF, &b, "2026-06-21", costo_lf()))
        .await?;
    ok(h.i()
        .release_funds(h.prestazioni().req(pb::ReleaseFundsRequest {
            prestazione_id: "prest_b2".into(),
        }))
        .await);
    Ok(Scenario { famiglia: f, a, b })
}

async fn por_5_payout_pays_each_prestatore_once_summing_its_prestazioni(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let s = scenario(&h).await?;
    // Before the 15th of July the month is not payable.
    let e = rifiuto(
        h.c().run_payout(h.dg().req(run(2026, 6))).await,
        Code::FailedPrecondition,
        "POR-5",
    );
    assert_eq!(reason_of(&e), "POR_5_TOO_EARLY");
    // 15 July 2026, 00:30 in Rome.
    h.clock.set("2026-07-14T22:30:00Z".parse()?);
    let r = ok(h.c().run_payout(h.dg().req(run(2026, 6))).await)
        .run
        .expect("run");
    assert!(!r.gia_eseguito);
    assert_eq!((r.numero_ordini, r.numero_prestazioni), (2, 3));
    // A: 8.00 + 36.00; B: 8.00 − 2.60 bonifico domiciliato fee.
    assert_eq!(r.totale_netto, "49.40");
    assert_eq!(r.totale_contributi_ivs, "15.18");
    assert_eq!(r.totale_premi_inail, "1.76");
    assert_eq!(r.totale_oneri_gestione, "0.69");
    assert_eq!(r.totale_commissioni, "2.60");

    // Running it again pays nothing twice.
    let again = ok(h.c().run_payout(h.prestazioni().req(run(2026, 6))).await)
        .run
        .expect("run");
    assert!(again.gia_eseguito);
    assert_eq!((again.numero_ordini, again.numero_prestazioni), (0, 0));
    assert_eq!(again.totale_netto, "0.00");

    let all = ok(h.c().list_payout_orders(h.dg().req(ordini(""))).await).payout_orders;
    assert_eq!(all.len(), 2, "one order per prestatore per month");
    let oa = all.iter().find(|o| o.prestatore_cf == s.a).expect("order of A");
    assert_eq!(oa.righe.len(), 2);
    assert_eq!(oa.importo_lordo, "44.00");
    assert_eq!(
        (oa.commissione.as_str(), oa.importo_netto.as_str()),
        ("0.00", "44.00")
    );
    assert_eq!(oa.data_pagamento, "2026-07-15");
    let m = oa.metodo_pagamento.clone().expect("metodo");
    assert_eq!(m.tipo, pb::TipoMetodoPagamento::ContoCorrente as i32);
    assert!(m.iban.ends_with("3456") && !m.iban.contains("IT60"), "{}", m.iban);
    let ob = all.iter().find(|o| o.prestatore_cf == s.b).expect("order of B");
    assert_eq!(ob.righe.len(), 1, "the revoked prestazione is not paid");
    assert_eq!(ob.importo_lordo, "8.00");
    assert_eq!(ob.commissione, "2.60");
    assert_eq!(ob.importo_netto, "5.40");
    assert_eq!(
        ob.metodo_pagamento.clone().expect("metodo").tipo,
        pb::TipoMetodoPagamento::BonificoDomiciliato as i32
    );

    // The reservations are consumed by their order; July's is still reserved.
    let lf = h.riepilogo(&s.famiglia, LF).await;
    let stato = |pid: &str| {
        lf.addebiti
            .iter()
            .find(|a| a.prestazione_id == pid)
            .map(|a| a.stato)
            .unwrap_or_default()
    };
    assert_eq!(stato("prest_a1"), pb::ReservationState::Consumed as i32);
    assert_eq!(stato("prest_b1"), pb::ReservationState::Consumed as i32);
    assert_eq!(stato("prest_b2"), pb::ReservationState::Released as i32);
    assert_eq!(stato("prest_a3"), pb::ReservationState::Reserved as i32);
    assert_eq!(
        (lf.disponibile.as_str(), lf.riservato.as_str()),
        ("70.00", "10.00")
    );
    assert_eq!(h.riepilogo(PIVA, CPO).await.riservato, "0.00");
    rifiuto(
        h.i()
            .release_funds(h.prestazioni().req(pb::ReleaseFundsRequest {
                prestazione_id: "prest_a1".into(),
            }))
            .await,
        Code::FailedPrecondition,
        "POR-4",
    );
    assert_eq!(h.saldo_conto(pb::TipoConto::CompensiPrestatori).await, "49.40");
    assert_eq!(h.saldo_conto(pb::TipoConto::GestioneSeparata).await, "15.18");
    assert_eq!(h.saldo_conto(pb::TipoConto::Inail).await, "1.76");
    assert_eq!(h.saldo_conto(pb::TipoConto::OneriGestione).await, "0.69");
    assert_eq!(
        h.saldo_conto(pb::TipoConto::CommissioniBonificoDomiciliato).await,
        "2.60"
    );
    let eventi: Vec<pb::PagamentoEseguito> = h.eventi("portafoglio.pagamento.eseguito").await;
    assert_eq!(eventi.len(), 2);

    // A prestatore sees only its own orders.
    let mine = ok(h.c().list_payout_orders(h.prestatore(&s.a).req(ordini(""))).await).payout_orders;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].prestatore_cf, s.a);
    rifiuto(
        h.c()
            .list_payout_orders(h.prestatore(&s.a).req(ordini(&s.b)))
            .await,
        Code::PermissionDenied,
        "POR-5",
    );
    let rm = ok(h.c().list_payout_orders(h.op("RM").req(ordini(""))).await).payout_orders;
    assert_eq!(rm.len(), 2);
    let mi = ok(h.c().list_payout_orders(h.op("MI").req(ordini(""))).await).payout_orders;
    assert!(mi.is_empty());

    // July is paid in August, on its own.
    h.clock.set("2026-08-15T08:00:00Z".parse()?);
    let luglio = ok(h.c().run_payout(h.dg().req(run(2026, 7))).await)
        .run
        .expect("run");
    assert_eq!((luglio.numero_ordini, luglio.numero_prestazioni), (1, 1));
    assert_eq!(luglio.totale_netto, "8.00");
    h.fine().await;
    Ok(())
}

async fn por_5_only_dg_and_the_platform_run_the_payout(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.clock.set("2026-07-15T08:00:00Z".parse()?);
    let u = persona_n(5).codice_fiscale;
    for who in [h.op("RM"), h.utilizzatore(&u)] {
        rifiuto(
            h.c().run_payout(who.req(run(2026, 6))).await,
            Code::PermissionDenied,
            "POR-5",
        );
    }
    invalid(
        h.c().run_payout(h.dg().req(run(2016, 13))).await,
        &["anno", "mese"],
        "POR-5",
    );
    // An empty month is paid (nothing) and closed.
    let r = ok(h.c().run_payout(h.dg().req(run(2026, 6))).await)
        .run
        .expect("run");
    assert_eq!(r.numero_ordini, 0);
    let r = ok(h.c().run_payout(h.dg().req(run(2026, 6))).await)
        .run
        .expect("run");
    assert!(r.gia_eseguito);
    h.fine().await;
    Ok(())
}

async fn por_5_scheduler_pays_the_previous_month_on_the_15th(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let s = scenario(&h).await?;
    // 14 July, 23:50 in Rome: not yet.
    h.clock.set("2026-07-14T21:50:00Z".parse()?);
    let (trigger, stop) = shutdown::channel();
    let task = occasionali_portafoglio::spawn_scheduler_every(
        h.deps(h.db.clone()),
        stop,
        Duration::from_millis(50),
    )?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        ok(h.c().list_payout_orders(h.dg().req(ordini(""))).await)
            .payout_orders
            .is_empty()
    );
    // 15 July, 00:00 in Rome: June is paid, once, whatever the number of ticks.
    h.clock.set("2026-07-14T22:00:00Z".parse()?);
    let mut paid = Vec::new();
    for _ in 0..200 {
        paid = ok(h.c().list_payout_orders(h.dg().req(ordini(""))).await).payout_orders;
        if paid.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(paid.len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ok(h.c().list_payout_orders(h.dg().req(ordini(""))).await)
            .payout_orders
            .len(),
        2
    );
    let r = ok(h.c().run_payout(h.dg().req(run(2026, 6))).await)
        .run
        .expect("run");
    assert!(r.gia_eseguito, "the scheduler closed the month");
    assert_eq!(h.riepilogo(&s.famiglia, LF).await.riservato, "10.00");
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(5), task).await??;
    let _ = (&s.a, &s.b);
    h.fine().await;
    Ok(())
}
