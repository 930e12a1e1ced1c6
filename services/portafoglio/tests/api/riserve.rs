//! POR-4 reservations (idempotent reserve, release, consume) and POR-8 debts from PRE-15
//! reinstatements.

use occasionali_proto::portafoglio as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    por_4_reservation_beyond_the_balance_is_refused_with_available_and_needed,
    por_4_reserve_release_consume_are_idempotent,
    por_4_bad_requests_report_every_field,
    por_8_debt_from_reinstatement_blocks_until_a_deposit_covers_it,
    gw_6_reservations_only_by_the_platform_within_the_origin_sede,
);

async fn por_4_reservation_beyond_the_balance_is_refused_with_available_and_needed(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(1);
    let p = persona_n(2).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    // No wallet yet: nothing available.
    let s = rifiuto(
        h.riserva(riserva("prest_0", cf, LF, &p, "2026-06-10", costo_lf()))
            .await,
        Code::FailedPrecondition,
        "POR-4",
    );
    assert_eq!(metadata_of(&s, "available"), "0.00");
    h.paga("PPA-1", cf, LF, "25.00").await;
    let r1 = h
        .riserva(riserva("prest_1", cf, LF, &p, "2026-06-10", costo_lf()))
        .await?;
    assert_eq!(r1.stato, pb::ReservationState::Reserved as i32);
    assert_eq!(r1.costo, Some(costo_lf()));
    assert_eq!(r1.debito, "0.00");
    h.riserva(riserva("prest_2", cf, LF, &p, "2026-06-11", costo_lf()))
        .await?;
    let s = rifiuto(
        h.riserva(riserva("prest_3", cf, LF, &p, "2026-06-12", costo_lf()))
            .await,
        Code::FailedPrecondition,
        "POR-4",
    );
    assert_eq!(reason_of(&s), "POR_4_INSUFFICIENT_FUNDS");
    assert_eq!(metadata_of(&s, "available"), "5.00");
    assert_eq!(metadata_of(&s, "needed"), "10.00");
    let d = fondi_insufficienti(&s).expect("FondiInsufficienti detail");
    assert_eq!(d.disponibile, "5.00");
    assert_eq!(d.necessario, "10.00");
    assert_eq!(d.debito, "0.00");
    assert_eq!(d.portafoglio, Some(w(cf, LF)));
    assert_eq!(
        h.saldi(cf, LF).await,
        ("5.00".into(), "20.00".into(), "0.00".into(), "0.00".into())
    );
    let r = h.riepilogo(cf, LF).await;
    assert_eq!(r.saldo, "25.00");
    assert_eq!(r.addebiti.len(), 2, "only accepted reservations are charged");
    assert!(
        r.limiti.is_empty(),
        "limits absent until prestazioni answers GetHeadroom"
    );
    h.fine().await;
    Ok(())
}

async fn por_4_reserve_release_consume_are_idempotent(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(3);
    let p = persona_n(4).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    h.paga("PPA-1", cf, LF, "100.00").await;
    let req = riserva("prest_1", cf, LF, &p, "2026-06-10", costo_lf());
    let a = h.riserva(req.clone()).await?;
    let b = h.riserva(req.clone()).await?;
    assert_eq!(a, b, "a retry answers the same reservation");
    assert_eq!(h.saldi(cf, LF).await.0, "90.00", "reserved once");
    let movimenti = h.movimenti(cf, LF).await.len();
    // Same id, other content: refused.
    let mut altro = req.clone();
    altro.data_prestazione = "2026-06-11".into();
    rifiuto(h.riserva(altro).await, Code::AlreadyExists, "POR-4");
    let mut altro = req.clone();
    altro.costo = Some(costo_ora_cpo());
    rifiuto(h.riserva(altro).await, Code::AlreadyExists, "POR-4");

    let rel = |pid: &str| pb::ReleaseFundsRequest {
        prestazione_id: pid.into(),
    };
    let r1 = ok(h.i().release_funds(h.prestazioni().req(rel("prest_1"))).await)
        .reservation
        .expect("reservation");
    assert_eq!(r1.stato, pb::ReservationState::Released as i32);
    assert!(r1.rilasciata_il.is_some());
    let r2 = ok(h.i().release_funds(h.prestazioni().req(rel("prest_1"))).await)
        .reservation
        .expect("reservation");
    assert_eq!(r1, r2);
    assert_eq!(h.saldi(cf, LF).await.0, "100.00", "released once");
    // Reserving a released prestazione again (without reinstatement) answers it as it is.
    let again = h.riserva(req.clone()).await?;
    assert_eq!(again.stato, pb::ReservationState::Released as i32);
    assert_eq!(h.saldi(cf, LF).await.0, "100.00");
    assert_eq!(h.movimenti(cf, LF).await.len(), movimenti + 1);
    let cons = |pid: &str, ordine: &str| pb::ConsumeFundsRequest {
        prestazione_id: pid.into(),
        payout_order_id: ordine.into(),
    };
    rifiuto(
        h.i()
            .consume_funds(h.prestazioni().req(cons("prest_1", "pay_x")))
            .await,
        Code::FailedPrecondition,
        "POR-4",
    );

    h.riserva(riserva("prest_2", cf, LF, &p, "2026-06-12", costo_lf()))
        .await?;
    let c1 = ok(h
        .i()
        .consume_funds(h.prestazioni().req(cons("prest_2", "pay_1")))
        .await)
    .reservation
    .expect("reservation");
    assert_eq!(c1.stato, pb::ReservationState::Consumed as i32);
    assert_eq!(c1.payout_order_id, "pay_1");
    let c2 = ok(h
        .i()
        .consume_funds(h.prestazioni().req(cons("prest_2", "pay_1")))
        .await)
    .reservation
    .expect("reservation");
    assert_eq!(c1, c2);
    rifiuto(
        h.i()
            .consume_funds(h.prestazioni().req(cons("prest_2", "pay_2")))
            .await,
        Code::FailedPrecondition,
        "POR-4",
    );
    rifiuto(
        h.i().release_funds(h.prestazioni().req(rel("prest_2"))).await,
        Code::FailedPrecondition,
        "POR-4",
    );
    assert_eq!(
        h.saldi(cf, LF).await,
        ("90.00".into(), "0.00".into(), "0.00".into(), "0.00".into())
    );
    assert_eq!(h.saldo_conto(pb::TipoConto::CompensiPrestatori).await, "8.00");
    assert_eq!(h.saldo_conto(pb::TipoConto::GestioneSeparata).await, "1.65");
    assert_eq!(h.saldo_conto(pb::TipoConto::Inail).await, "0.25");
    assert_eq!(h.saldo_conto(pb::TipoConto::OneriGestione).await, "0.10");
    let missing = h.i().release_funds(h.prestazioni().req(rel("prest_none"))).await;
    assert_eq!(missing.err().map(|s| s.code()), Some(Code::NotFound));
    h.fine().await;
    Ok(())
}

async fn por_4_bad_requests_report_every_field(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let r = pb::ReserveFundsRequest {
        prestazione_id: String::new(),
        portafoglio: Some(pb::PortafoglioRef {
            utilizzatore_cf: "123".into(),
            tipo: 0,
        }),
        prestatore_cf: PIVA.into(),
        data_prestazione: "2026-13-01".into(),
        costo: Some(costo("0.00", "1.65", "-0.25", "0.1", "10.00")),
        reintegro: false,
    };
    invalid(
        h.i().reserve_funds(h.prestazioni().req(r)).await,
        &[
            "prestazione_id",
            "portafoglio.utilizzatore_cf",
            "portafoglio.tipo",
            "prestatore_cf",
            "data_prestazione",
            "costo.compenso",
            "costo.premio_inail",
        ],
        "POR-4",
    );
    let u = persona_n(5).codice_fiscale;
    let p = persona_n(6).codice_fiscale;
    invalid(
        h.i()
            .reserve_funds(h.prestazioni().req(riserva(
                "prest_1",
                &u,
                LF,
                &p,
                "2026-06-10",
                costo("8.00", "1.65", "0.25", "0.10", "10.01"),
            )))
            .await,
        &["costo.totale"],
        "POR-4",
    );
    h.fine().await;
    Ok(())
}

async fn por_8_debt_from_reinstatement_blocks_until_a_deposit_covers_it(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(7);
    let p = persona_n(8).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    h.paga("PPA-1", cf, LF, "25.00").await;
    let p1 = riserva("prest_1", cf, LF, &p, "2026-06-10", costo_lf());
    h.riserva(p1.clone()).await?;
    // PRE-11 revoca: released.
    ok(h.i()
        .release_funds(h.prestazioni().req(pb::ReleaseFundsRequest {
            prestazione_id: "prest_1".into(),
        }))
        .await);
    // Meanwhile the funds go to other prestazioni.
    h.riserva(riserva("prest_2", cf, LF, &p, "2026-06-11", costo_lf()))
        .await?;
    h.riserva(riserva("prest_3", cf, LF, &p, "2026-06-12", costo_lf()))
        .await?;
    assert_eq!(h.saldi(cf, LF).await.0, "5.00");
    // PRE-15: the contested revoca reinstates prest_1: 5.00 from funds, 5.00 as debt.
    let mut reintegro = p1.clone();
    reintegro.reintegro = true;
    let r = h.riserva(reintegro.clone()).await?;
    assert_eq!(r.stato, pb::ReservationState::Reserved as i32);
    assert_eq!(r.debito, "5.00");
    assert_eq!(
        h.saldi(cf, LF).await,
        ("0.00".into(), "30.00".into(), "5.00".into(), "0.00".into())
    );
    // A retry of the reinstatement posts nothing more.
    let again = h.riserva(reintegro).await?;
    assert_eq!(again, r);
    let eventi: Vec<pb::DebitoCreato> = h.eventi("portafoglio.debito.creato").await;
    assert_eq!(eventi.len(), 1);
    // The debt blocks new prestazioni, whatever their cost.
    let s = rifiuto(
        h.riserva(riserva(
            "prest_4",
            cf,
            LF,
            &p,
            "2026-06-13",
            costo("0.01", "0.00", "0.00", "0.00", "0.01"),
        ))
        .await,
        Code::FailedPrecondition,
        "POR-8",
    );
    assert_eq!(reason_of(&s), "POR_8_WALLET_IN_DEBT");
    assert_eq!(metadata_of(&s, "debt"), "5.00");
    assert_eq!(fondi_insufficienti(&s).expect("detail").debito, "5.00");
    // A deposit covers the debt first.
    h.paga("PPA-2", cf, LF, "12.00").await;
    assert_eq!(
        h.saldi(cf, LF).await,
        ("7.00".into(), "30.00".into(), "0.00".into(), "0.00".into())
    );
    h.riserva(riserva(
        "prest_4",
        cf,
        LF,
        &p,
        "2026-06-13",
        costo("5.00", "1.00", "0.50", "0.50", "7.00"),
    ))
    .await?;
    assert_eq!(h.saldi(cf, LF).await.0, "0.00");
    h.fine().await;
    Ok(())
}

async fn gw_6_reservations_only_by_the_platform_within_the_origin_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(9);
    let p = persona_n(10).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    h.paga("PPA-1", cf, LF, "30.00").await;
    let req = |pid: &str| riserva(pid, cf, LF, &p, "2026-06-10", costo_lf());
    let rel = |pid: &str| pb::ReleaseFundsRequest {
        prestazione_id: pid.into(),
    };
    let cons = |pid: &str| pb::ConsumeFundsRequest {
        prestazione_id: pid.into(),
        payout_order_id: "pay_1".into(),
    };
    // The internal service admits the platform only: not the wallet's owner, not an operator
    // of its sede, not DG, not the payments feed (GW-6).
    let estranei = [
        h.utilizzatore(cf),
        h.prestatore(&p),
        h.op("RM"),
        h.op("MI"),
        h.dg(),
        h.flusso(),
    ];
    for who in &estranei {
        let s = rifiuto(
            h.i().reserve_funds(who.req(req("prest_x"))).await,
            Code::PermissionDenied,
            "GW-6",
        );
        assert_eq!(reason_of(&s), "GW_6_INTERNAL_ONLY");
        rifiuto(
            h.i().release_funds(who.req(rel("prest_x"))).await,
            Code::PermissionDenied,
            "GW-6",
        );
        rifiuto(
            h.i().consume_funds(who.req(cons("prest_x"))).await,
            Code::PermissionDenied,
            "GW-6",
        );
    }
    assert_eq!(h.saldi(cf, LF).await.1, "0.00", "nothing reserved");
    // The platform acting for an operator of another sede keeps that operator's scope (GW-6):
    // the wallet of a Rome family is not charged for a Milan operator.
    let s = rifiuto(
        h.i()
            .reserve_funds(h.prestazioni_per(&h.op("MI")).req(req("prest_1")))
            .await,
        Code::PermissionDenied,
        "POR-4",
    );
    assert_eq!(reason_of(&s), "POR_4_OUTSIDE_SEDE");
    assert_eq!(h.saldi(cf, LF).await.0, "30.00", "nothing reserved");
    // For an operator of the sede, for DG, and on its own (recovery): reserved.
    ok(h.i()
        .reserve_funds(h.prestazioni_per(&h.op("RM")).req(req("prest_1")))
        .await);
    ok(h.i()
        .reserve_funds(h.prestazioni_per(&h.dg()).req(req("prest_2")))
        .await);
    ok(h.i().reserve_funds(h.prestazioni().req(req("prest_3"))).await);
    assert_eq!(h.saldi(cf, LF).await.0, "0.00");
    // Releasing for the Milan operator is refused too; the platform on its own releases.
    rifiuto(
        h.i()
            .release_funds(h.prestazioni_per(&h.op("MI")).req(rel("prest_1")))
            .await,
        Code::PermissionDenied,
        "POR-4",
    );
    ok(h.i().release_funds(h.prestazioni().req(rel("prest_1"))).await);
    assert_eq!(h.saldi(cf, LF).await.0, "10.00");
    h.fine().await;
    Ok(())
}
