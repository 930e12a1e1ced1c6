//! POR-7: rimborsi of unused funds, requested by the utilizzatore and decided by an operator.

use occasionali_proto::portafoglio as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    por_7_rimborso_never_above_available_and_idempotent,
    por_7_rimborso_approved_or_rejected_by_the_competent_operator,
);

fn richiesta(request_id: &str, cf: &str, importo: &str, iban: &str) -> pb::RequestRimborsoRequest {
    pb::RequestRimborsoRequest {
        request_id: request_id.into(),
        portafoglio: Some(w(cf, LF)),
        importo: importo.into(),
        iban: iban.into(),
    }
}

async fn por_7_rimborso_never_above_available_and_idempotent(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(1);
    let p = persona_n(2).codice_fiscale;
    let altro = persona_n(3).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    h.paga("PPA-1", cf, LF, "50.00").await;
    h.riserva(riserva(
        "prest_1",
        cf,
        LF,
        &p,
        "2026-06-10",
        costo("24.00", "4.95", "0.75", "0.30", "30.00"),
    ))
    .await?;
    let me = h.utilizzatore(cf);
    let s = rifiuto(
        h.c()
            .request_rimborso(me.req(richiesta("r-1", cf, "20.01", IBAN)))
            .await,
        Code::FailedPrecondition,
        "POR-7",
    );
    assert_eq!(reason_of(&s), "POR_7_EXCEEDS_AVAILABLE");
    assert_eq!(metadata_of(&s, "available"), "20.00");
    assert_eq!(metadata_of(&s, "needed"), "20.01");
    invalid(
        h.c()
            .request_rimborso(me.req(richiesta("", cf, "-1", "IT60X0542811101000000123457")))
            .await,
        &["request_id", "importo", "iban"],
        "POR-7",
    );
    rifiuto(
        h.c()
            .request_rimborso(h.utilizzatore(&altro).req(richiesta("r-2", cf, "5.00", IBAN)))
            .await,
        Code::PermissionDenied,
        "POR-7",
    );
    rifiuto(
        h.c()
            .request_rimborso(h.dg().req(richiesta("r-2", cf, "5.00", IBAN)))
            .await,
        Code::PermissionDenied,
        "POR-7",
    );
    let r = ok(h
        .c()
        .request_rimborso(me.req(richiesta("r-1", cf, "20.00", IBAN)))
        .await)
    .rimborso
    .expect("rimborso");
    assert_eq!(r.stato, pb::StatoRimborso::Richiesto as i32);
    assert_eq!(r.sede, "RM");
    assert_eq!(
        h.saldi(cf, LF).await,
        ("0.00".into(), "30.00".into(), "0.00".into(), "20.00".into()),
        "held, so it cannot be reserved meanwhile"
    );
    rifiuto(
        h.riserva(riserva("prest_2", cf, LF, &p, "2026-06-11", costo_lf()))
            .await,
        Code::FailedPrecondition,
        "POR-4",
    );
    // A retry is the same rimborso; the same request id for another request is refused.
    let again = ok(h
        .c()
        .request_rimborso(me.req(richiesta("r-1", cf, "20.00", IBAN)))
        .await)
    .rimborso
    .expect("rimborso");
    assert_eq!(again.id, r.id);
    rifiuto(
        h.c()
            .request_rimborso(me.req(richiesta("r-1", cf, "10.00", IBAN)))
            .await,
        Code::AlreadyExists,
        "POR-7",
    );
    // An intermediary under a delega acts for the utilizzatore.
    let consulente = h
        .who(occasionali_runtime::Profile::Intermediario, &altro, None)
        .per_conto_di(cf, "intermediario_utilizzatore");
    let s = rifiuto(
        h.c()
            .request_rimborso(consulente.req(richiesta("r-3", cf, "0.01", IBAN)))
            .await,
        Code::FailedPrecondition,
        "POR-7",
    );
    assert_eq!(metadata_of(&s, "available"), "0.00");
    h.fine().await;
    Ok(())
}

fn decidi(id: &str, d: pb::decide_rimborso_request::Decisione, nota: &str) -> pb::DecideRimborsoRequest {
    pb::DecideRimborsoRequest {
        rimborso_id: id.into(),
        decisione: Some(d),
        nota: nota.into(),
    }
}

fn approva(iban: &str, importo: &str) -> pb::decide_rimborso_request::Decisione {
    pb::decide_rimborso_request::Decisione::Approvazione(pb::ApprovazioneRimborso {
        iban: iban.into(),
        importo: importo.into(),
    })
}

fn respingi(motivo: &str) -> pb::decide_rimborso_request::Decisione {
    pb::decide_rimborso_request::Decisione::Respingimento(pb::RespingimentoRimborso {
        motivo: motivo.into(),
    })
}

async fn por_7_rimborso_approved_or_rejected_by_the_competent_operator(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(4);
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    h.paga("PPA-1", cf, LF, "50.00").await;
    let me = h.utilizzatore(cf);
    let r1 = ok(h
        .c()
        .request_rimborso(me.req(richiesta("r-1", cf, "20.00", IBAN)))
        .await)
    .rimborso
    .expect("rimborso");
    let r2 = ok(h
        .c()
        .request_rimborso(me.req(richiesta("r-2", cf, "10.00", IBAN)))
        .await)
    .rimborso
    .expect("rimborso");
    // Not the competent sede; not an operator.
    rifiuto(
        h.c()
            .decide_rimborso(h.op("MI").req(decidi(&r1.id, approva("", ""), "ok")))
            .await,
        Code::PermissionDenied,
        "POR-7",
    );
    rifiuto(
        h.c()
            .decide_rimborso(me.req(decidi(&r1.id, approva("", ""), "ok")))
            .await,
        Code::PermissionDenied,
        "POR-7",
    );
    invalid(
        h.c()
            .decide_rimborso(h.op("RM").req(decidi(&r1.id, approva("IT00", "20.01"), "")))
            .await,
        &["nota", "approvazione.iban"],
        "POR-7",
    );
    invalid(
        h.c()
            .decide_rimborso(h.op("RM").req(decidi(&r1.id, approva("", "20.01"), "ok")))
            .await,
        &["approvazione.importo"],
        "POR-7",
    );
    // Approved for less, to a corrected IBAN: the rest is available again.
    let nuovo_iban = "IT07X0542811101000000654321";
    let pagato = ok(h
        .c()
        .decide_rimborso(
            h.op("RM")
                .req(decidi(&r1.id, approva(nuovo_iban, "15.00"), "IBAN corretto")),
        )
        .await)
    .rimborso
    .expect("rimborso");
    assert_eq!(pagato.stato, pb::StatoRimborso::Pagato as i32);
    assert_eq!(pagato.importo_pagato, "15.00");
    assert_eq!(pagato.iban_pagato, nuovo_iban);
    assert_eq!(pagato.deciso_da_cf, OP_RM);
    assert_eq!(
        h.saldi(cf, LF).await,
        ("25.00".into(), "0.00".into(), "0.00".into(), "10.00".into())
    );
    // Deciding again: the same approval answers as it is; a rejection is refused.
    let again = ok(h
        .c()
        .decide_rimborso(
            h.op("RM")
                .req(decidi(&r1.id, approva(nuovo_iban, "15.00"), "IBAN corretto")),
        )
        .await)
    .rimborso
    .expect("rimborso");
    assert_eq!(again, pagato);
    rifiuto(
        h.c()
            .decide_rimborso(h.dg().req(decidi(&r1.id, respingi("no"), "no")))
            .await,
        Code::FailedPrecondition,
        "POR-7",
    );
    // DG rejects the other: the held amount is available again.
    invalid(
        h.c()
            .decide_rimborso(h.dg().req(decidi(&r2.id, respingi(" "), "nota")))
            .await,
        &["respingimento.motivo"],
        "POR-7",
    );
    let respinto = ok(h
        .c()
        .decide_rimborso(
            h.dg()
                .req(decidi(&r2.id, respingi("fondi necessari"), "verificato")),
        )
        .await)
    .rimborso
    .expect("rimborso");
    assert_eq!(respinto.stato, pb::StatoRimborso::Respinto as i32);
    assert!(respinto.nota.contains("fondi necessari"));
    assert_eq!(
        h.saldi(cf, LF).await,
        ("35.00".into(), "0.00".into(), "0.00".into(), "0.00".into())
    );
    assert_eq!(h.saldo_conto(pb::TipoConto::Rimborsi).await, "15.00");
    let eventi: Vec<pb::RimborsoPagato> = h.eventi("portafoglio.rimborso.pagato").await;
    assert_eq!(eventi.len(), 1);
    assert_eq!(
        eventi[0].rimborso.as_ref().map(|r| r.importo_pagato.as_str()),
        Some("15.00")
    );

    let lista = |who: &Chi, sede: &str| {
        let c = h.c();
        let req = who.req(pb::ListRimborsiRequest {
            sede: sede.into(),
            page_size: 10,
            ..Default::default()
        });
        async move {
            let mut c = c;
            c.list_rimborsi(req).await
        }
    };
    assert_eq!(ok(lista(&me, "").await).rimborsi.len(), 2);
    assert_eq!(ok(lista(&h.op("RM"), "").await).rimborsi.len(), 2);
    assert_eq!(ok(lista(&h.op("MI"), "").await).rimborsi.len(), 0);
    rifiuto(lista(&h.op("MI"), "RM").await, Code::PermissionDenied, "POR-7");
    assert_eq!(ok(lista(&h.dg(), "RM").await).rimborsi.len(), 2);
    let other = h.utilizzatore(&persona_n(5).codice_fiscale);
    assert_eq!(ok(lista(&other, "").await).rimborsi.len(), 0);
    h.fine().await;
    Ok(())
}
