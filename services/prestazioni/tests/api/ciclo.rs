//! PRE-11..PRE-17: revoca, conferma, contestazione, views and the payout feed; the saga's recovery.

use occasionali_proto::portafoglio as por;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    pre_11_revoca_until_end_of_3rd_day_rome_releases_funds,
    pre_11_revoca_deadline_on_dst_day_25_october,
    pre_12_confirmed_cannot_be_revoked,
    pre_12_confirmation_only_once_the_prestazione_took_place,
    pre_14_contest_reinstates_until_payout_closed,
    pre_16_payout_feed_and_statement,
    pre_19_other_sides_are_refused,
    ana_9_soggetti_attivi_and_ana_7_categoria_change,
);

async fn revoca(h: &Harness, who: &Chi, id: &str) -> Result<pb::Prestazione, tonic::Status> {
    h.c()
        .revoke_prestazione(who.req(pb::RevokePrestazioneRequest {
            prestazione_id: id.into(),
            motivo: "maltempo".into(),
        }))
        .await
        .map(|r| r.into_inner().prestazione.unwrap())
}

async fn pre_11_revoca_until_end_of_3rd_day_rome_releases_funds(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    let b = h
        .inserisci(
            &h.azienda(PIVA),
            "b",
            cpo(&p[0], "2026-06-16T12:00:00Z", "2026-06-16T16:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    // 19 June 23:59:59 Rome: still revocable.
    h.set_ora("2026-06-19T21:59:59Z");
    let r = revoca(&h, &h.azienda(PIVA), &a.id).await.unwrap();
    assert_eq!(r.stato, pb::StatoPrestazione::Revoked as i32);
    assert_eq!(r.stato_pagamento, pb::StatoPagamento::NotDue as i32);
    // 20 June 00:00 Rome: too late.
    h.set_ora("2026-06-19T22:00:00Z");
    let e = revoca(&h, &h.azienda(PIVA), &b.id).await.unwrap_err();
    assert_eq!(errore(&e).1, "PRE_11_REVOCA_DEADLINE");
    let w = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert_eq!(w.riservato, "49.63");
    let ev: Vec<pb::PrestazioneRevocata> = h.eventi("prestazioni.prestazione.revocata").await;
    assert_eq!(ev.len(), 1);
    let l = h.headroom(2026, &p[0], PIVA).await;
    assert_eq!(
        l.iter()
            .find(|x| x.tipo == pb::TipoLimite::Coppia as i32)
            .unwrap()
            .utilizzato,
        "36.00"
    );
    h.fine().await;
    Ok(())
}

async fn pre_11_revoca_deadline_on_dst_day_25_october(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    h.set_ora("2026-10-20T10:00:00Z");
    // A prestazione on 22 October: revocable until 25 October 24:00 Rome, which is CET (UTC+1)
    // after the clocks go back that morning: 25 October 23:00Z.
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-10-22T07:00:00Z", "2026-10-22T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    assert_eq!(a.revocabile_fino_al.unwrap(), ts("2026-10-25T23:00:00Z"));
    // 29 March: the prestazione's day is Rome's even at 23:30 CEST (21:30Z).
    h.set_ora("2026-03-20T10:00:00Z");
    let b = h
        .inserisci(
            &h.azienda(PIVA),
            "b",
            cpo(&p[0], "2026-03-29T21:30:00Z", "2026-03-29T21:59:00Z", "36.00"),
        )
        .await
        .unwrap();
    assert_eq!(b.data_prestazione, "2026-03-29");
    let c = h
        .inserisci(
            &h.azienda(PIVA),
            "c",
            cpo(&p[0], "2026-03-29T22:00:00Z", "2026-03-29T23:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    assert_eq!(c.data_prestazione, "2026-03-30");
    h.set_ora("2026-10-25T22:59:59Z");
    revoca(&h, &h.azienda(PIVA), &a.id).await.unwrap();
    h.fine().await;
    Ok(())
}

async fn pre_12_confirmed_cannot_be_revoked(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    // After the work (13:00 Rome), within the revocation window.
    h.set_ora("2026-06-16T12:00:00Z");
    let c = ok(h
        .c()
        .confirm_prestazione(h.prestatore(&p[0]).req(pb::ConfirmPrestazioneRequest {
            prestazione_id: a.id.clone(),
        }))
        .await)
    .prestazione
    .unwrap();
    assert!(c.confermata);
    let e = revoca(&h, &h.azienda(PIVA), &a.id).await.unwrap_err();
    assert_eq!(errore(&e).1, "PRE_12_CONFIRMED");
    let ev: Vec<pb::PrestazioneConfermata> = h.eventi("prestazioni.prestazione.confermata").await;
    assert_eq!(ev.len(), 1);
    h.fine().await;
    Ok(())
}

/// PRE-12: the prestatore confirms that the work took place: not before the CPO's end (Rome),
/// and until then the utilizzatore may still revoke.
async fn pre_12_confirmation_only_once_the_prestazione_took_place(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    // 16 June 09:00–13:00 Rome; the clock is at 15 June 12:00.
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    let conferma = |id: String| {
        let mut c = h.c();
        let req = h
            .prestatore(&p[0])
            .req(pb::ConfirmPrestazioneRequest { prestazione_id: id });
        async move { c.confirm_prestazione(req).await }
    };
    for ora in ["2026-06-15T10:00:00Z", "2026-06-16T10:59:59Z"] {
        h.set_ora(ora);
        let e = conferma(a.id.clone()).await.unwrap_err();
        let (code, reason, md, _) = errore(&e);
        assert_eq!(
            (code, reason.as_str()),
            (Code::FailedPrecondition, "PRE_12_NOT_YET_TAKEN_PLACE"),
            "{ora}"
        );
        assert_eq!(md.get("rule").map(String::as_str), Some("PRE-12"));
        assert!(e.message().contains("2026-06-16 13:00"), "{}", e.message());
    }
    h.set_ora("2026-06-16T11:00:00Z");
    let c = ok(conferma(a.id.clone()).await).prestazione.unwrap();
    assert!(c.confermata);
    h.fine().await;
    Ok(())
}

async fn contesta(h: &Harness, who: &Chi, id: &str) -> Result<pb::Prestazione, tonic::Status> {
    h.c()
        .contest_revoca(who.req(pb::ContestRevocaRequest {
            prestazione_id: id.into(),
            nota: "ho lavorato".into(),
        }))
        .await
        .map(|r| r.into_inner().prestazione.unwrap())
}

async fn pre_14_contest_reinstates_until_payout_closed(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    let b = h
        .inserisci(
            &h.azienda(PIVA),
            "b",
            cpo(&p[0], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    revoca(&h, &h.azienda(PIVA), &a.id).await.unwrap();
    revoca(&h, &h.azienda(PIVA), &b.id).await.unwrap();
    assert_eq!(
        h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato,
        "0.00"
    );
    // Only the prestatore side contests.
    assert_eq!(
        contesta(&h, &h.azienda(PIVA), &a.id).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let c = contesta(&h, &h.prestatore(&p[0]), &a.id).await.unwrap();
    assert_eq!(c.stato, pb::StatoPrestazione::Contested as i32);
    assert_eq!(c.stato_pagamento, pb::StatoPagamento::Due as i32);
    assert_eq!(
        h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato,
        "49.63"
    );
    let l = h.headroom(2026, &p[0], PIVA).await;
    assert_eq!(
        l.iter()
            .find(|x| x.tipo == pb::TipoLimite::Coppia as i32)
            .unwrap()
            .utilizzato,
        "36.00"
    );
    // The payout closes June: no more contestazioni.
    let chiuso = ok(h
        .interno()
        .close_contestazioni(
            h.servizio("portafoglio")
                .req(pb::CloseContestazioniRequest { anno: 2026, mese: 6 }),
        )
        .await);
    assert_eq!(chiuso.numero_dovute, 1);
    let e = contesta(&h, &h.prestatore(&p[0]), &b.id).await.unwrap_err();
    assert_eq!(errore(&e).1, "PRE_14_PAYOUT_COMPUTED");
    h.fine().await;
    Ok(())
}

async fn pre_16_payout_feed_and_statement(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    let b = h
        .inserisci(
            &h.azienda(PIVA),
            "b",
            cpo(&p[0], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z", "40.00"),
        )
        .await
        .unwrap();
    let due = ok(h
        .interno()
        .list_due_prestazioni(h.servizio("portafoglio").req(pb::ListDuePrestazioniRequest {
            anno: 2026,
            mese: 6,
            page_size: 1,
            page_token: String::new(),
        }))
        .await);
    assert_eq!(due.prestazioni.len(), 1);
    assert!(!due.next_page_token.is_empty());
    let due2 = ok(h
        .interno()
        .list_due_prestazioni(h.servizio("portafoglio").req(pb::ListDuePrestazioniRequest {
            anno: 2026,
            mese: 6,
            page_size: 1,
            page_token: due.next_page_token.clone(),
        }))
        .await);
    assert_eq!(due2.prestazioni.len(), 1);
    assert!(due2.next_page_token.is_empty());
    let pag = pb::Pagamento {
        payout_order_id: "po_1".into(),
        prestatore_cf: p[0].clone(),
        anno: 2026,
        mese: 6,
        data_pagamento: "2026-07-15".into(),
        importo_lordo: "36.00".into(),
        commissione: "0.00".into(),
        importo_netto: "36.00".into(),
        prestazione_ids: vec![a.id.clone()],
        pagato_il: None,
    };
    for _ in 0..2 {
        let r = ok(h
            .interno()
            .mark_paid(h.servizio("portafoglio").req(pb::MarkPaidRequest {
                pagamento: Some(pag.clone()),
            }))
            .await);
        assert_eq!(r.prestazioni[0].stato, pb::StatoPrestazione::Paid as i32);
    }
    let ev: Vec<pb::PrestazionePagata> = h.eventi("prestazioni.prestazione.pagata").await;
    assert_eq!(ev.len(), 1);
    let pw = h.prestatore(&p[0]);
    let s = ok(h
        .c()
        .get_annual_statement(pw.req(pb::GetAnnualStatementRequest {
            prestatore_cf: p[0].clone(),
            anno: 2026,
        }))
        .await)
    .statement
    .unwrap();
    assert_eq!(
        (
            s.numero_prestazioni,
            s.totale_compensi.as_str(),
            s.totale_incassato.as_str(),
            s.totale_da_incassare.as_str()
        ),
        (2, "76.00", "36.00", "40.00")
    );
    assert_eq!(s.per_mese.len(), 1);
    let pay = ok(h
        .c()
        .list_payments(pw.req(pb::ListPaymentsRequest {
            prestatore_cf: p[0].clone(),
            anno: 0,
            page_size: 10,
            page_token: String::new(),
        }))
        .await);
    assert_eq!(pay.pagamenti.len(), 1);
    let mine = ok(h
        .c()
        .list_prestazioni(pw.req(pb::ListPrestazioniRequest::default()))
        .await)
    .prestazioni;
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].id, b.id, "newest first");
    h.fine().await;
    Ok(())
}

async fn pre_19_other_sides_are_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 2).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    assert_eq!(
        revoca(&h, &h.prestatore(&p[0]), &a.id).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let e = h
        .c()
        .confirm_prestazione(h.azienda(PIVA).req(pb::ConfirmPrestazioneRequest {
            prestazione_id: a.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = h
        .c()
        .get_prestazione(h.prestatore(&p[1]).req(pb::GetPrestazioneRequest {
            prestazione_id: a.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let e = h
        .interno()
        .list_due_prestazioni(h.azienda(PIVA).req(pb::ListDuePrestazioniRequest {
            anno: 2026,
            mese: 6,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    h.fine().await;
    Ok(())
}

async fn ana_9_soggetti_attivi_and_ana_7_categoria_change(t: &TestDb) -> anyhow::Result<()> {
    use futures::StreamExt;
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 2).await;
    h.inserisci(
        &h.azienda(PIVA),
        "a",
        cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
    )
    .await
    .unwrap();
    h.inserisci(
        &h.azienda(PIVA),
        "b",
        cpo(&p[1], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z", "36.00"),
    )
    .await
    .unwrap();
    let mut s = ok(h
        .interno()
        .stream_soggetti_attivi(h.servizio("portafoglio").req(pb::StreamSoggettiAttiviRequest {
            ruolo: pb::RuoloSoggetto::UtilizzatoreCpo as i32,
            periodo: Some(occasionali_proto::common::Periodo {
                dal: "2026-06-01".into(),
                al: "2026-06-30".into(),
            }),
        }))
        .await);
    let mut got = Vec::new();
    while let Some(x) = s.next().await {
        got.push(x.unwrap());
    }
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].codice_fiscale.as_str(), got[0].numero_prestazioni),
        (PIVA, 2)
    );
    let r = ok(h
        .interno()
        .check_categoria_change(h.servizio("portafoglio").req(pb::CheckCategoriaChangeRequest {
            utilizzatore_cf: PIVA.into(),
            categoria: "pubblica_amministrazione".into(),
            ateco: "56.10.11".into(),
        }))
        .await);
    assert!(r.has_prestazioni);
    assert_eq!(r.incoerenti.len(), 2);
    assert!(r.incoerenti.iter().all(|i| i.rule_id == "PRE-6"));
    h.fine().await;
    Ok(())
}

both_engines!(pre_10_pending_left_by_a_crash_is_resumed);

async fn pre_10_pending_left_by_a_crash_is_resumed(t: &TestDb) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let rotto = h.add_instance_senza_portafoglio().await?;
    let mut c = h.c_nuovo(&rotto).await;
    for rid in ["r-1", "r-2"] {
        let e = c
            .insert_prestazione(h.azienda(PIVA).req(pb::InsertPrestazioneRequest {
                request_id: rid.into(),
                prestazione: Some(cpo(
                    &p[0],
                    "2026-06-16T07:00:00Z",
                    "2026-06-16T11:00:00Z",
                    "36.00",
                )),
            }))
            .await
            .unwrap_err();
        assert_ne!(e.code(), Code::FailedPrecondition);
    }
    let lista = |h: &Harness| {
        let mut c = h.c();
        let who = h.azienda(PIVA);
        async move {
            ok(c.list_prestazioni(who.req(pb::ListPrestazioniRequest::default()))
                .await)
            .prestazioni
        }
    };
    assert!(
        lista(&h)
            .await
            .iter()
            .all(|x| x.stato == pb::StatoPrestazione::Pending as i32)
    );
    // PENDING holds its limit share.
    let l = h.headroom(2026, &p[0], PIVA).await;
    assert_eq!(
        l.iter()
            .find(|x| x.tipo == pb::TipoLimite::Coppia as i32)
            .unwrap()
            .utilizzato,
        "72.00"
    );
    // A client retry with the same request id finishes the saga…
    let x = h
        .inserisci(
            &h.azienda(PIVA),
            "r-1",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    assert_eq!(x.stato, pb::StatoPrestazione::Accepted as i32);
    // …and the recovery task finishes the other one.
    let (trigger, signal) = occasionali_runtime::shutdown::channel();
    let task = occasionali_prestazioni::spawn_recovery_every(
        h.deps(h.db.clone()),
        signal,
        std::time::Duration::from_millis(50),
    )?;
    let mut fatto = false;
    for _ in 0..100 {
        if lista(&h)
            .await
            .iter()
            .all(|x| x.stato == pb::StatoPrestazione::Accepted as i32)
        {
            fatto = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    trigger.trigger();
    let _ = task.await;
    assert!(fatto, "pending prestazioni resumed");
    assert_eq!(
        h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato,
        "99.26"
    );
    h.fine().await;
    Ok(())
}

both_engines!(pre_15_contest_without_funds_books_a_debt);

async fn pre_15_contest_without_funds_books_a_debt(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "49.63", 1).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    revoca(&h, &h.azienda(PIVA), &a.id).await.unwrap();
    // The released funds go to another prestazione.
    h.inserisci(
        &h.azienda(PIVA),
        "b",
        cpo(&p[0], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z", "36.00"),
    )
    .await
    .unwrap();
    let c = contesta(&h, &h.prestatore(&p[0]), &a.id).await.unwrap();
    assert_eq!(c.stato, pb::StatoPrestazione::Contested as i32);
    let w = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert_ne!(w.debito.trim_start_matches('-'), "0.00", "{w:?}");
    let ev: Vec<pb::RevocaContestata> = h.eventi("prestazioni.prestazione.contestata").await;
    assert_eq!(ev.len(), 1);
    h.fine().await;
    Ok(())
}

both_engines!(pre_11_revoca_answers_once_committed_and_the_relay_releases);

async fn pre_11_revoca_answers_once_committed_and_the_relay_releases(t: &TestDb) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    // The instance that revokes cannot reach the wallet: the revocation still answers OK (it
    // is committed), and the release is owed as a durable command.
    let rotto = h.add_instance_senza_portafoglio().await?;
    let x = ok(h
        .c_nuovo(&rotto)
        .await
        .revoke_prestazione(h.azienda(PIVA).req(pb::RevokePrestazioneRequest {
            prestazione_id: a.id.clone(),
            motivo: String::new(),
        }))
        .await);
    assert_eq!(x.prestazione.unwrap().stato, pb::StatoPrestazione::Revoked as i32);
    assert_eq!(
        h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato,
        "49.63"
    );
    let owed = occasionali_runtime::relay::status(&h.db).await?;
    assert!(owed.in_attesa >= 1, "the release waits in the outbox");
    // The relay of any process serving prestazioni delivers it.
    let (trigger, task) = relay(&h)?;
    let mut fatto = false;
    for _ in 0..200 {
        if h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato == "0.00" {
            fatto = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    trigger.trigger();
    let _ = task.await;
    assert!(fatto, "the owed release was made");
    h.fine().await;
    Ok(())
}

/// A relay for the harness's prestazioni database (what every process serving prestazioni runs).
fn relay(
    h: &Harness,
) -> anyhow::Result<(
    occasionali_runtime::shutdown::ShutdownTrigger,
    tokio::task::JoinHandle<()>,
)> {
    let (trigger, signal) = occasionali_runtime::shutdown::channel();
    let task = occasionali_runtime::relay::Relay::new(
        h.db.clone(),
        occasionali_runtime::context::Context::Prestazioni,
        &h.deps(h.db.clone()).endpoints,
        h.tokens().clone(),
        occasionali_runtime::relay::RelayOptions {
            poll: std::time::Duration::from_millis(20),
            ..Default::default()
        },
    )?
    .spawn(signal);
    Ok((trigger, task))
}

both_engines!(pre_14_the_payout_waits_for_the_months_reinstatements_and_closes_contests);

async fn pre_14_the_payout_waits_for_the_months_reinstatements_and_closes_contests(
    t: &TestDb,
) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let mut ids = Vec::new();
    for (r, giorno) in [("a", "16"), ("b", "17")] {
        let x = h
            .inserisci(
                &h.azienda(PIVA),
                r,
                cpo(
                    &p[0],
                    &format!("2026-06-{giorno}T07:00:00Z"),
                    &format!("2026-06-{giorno}T11:00:00Z"),
                    "36.00",
                ),
            )
            .await
            .unwrap();
        revoca(&h, &h.azienda(PIVA), &x.id).await.unwrap();
        ids.push(x.id);
    }
    assert_eq!(
        h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato,
        "0.00"
    );
    // The contest is committed by an instance that cannot reach the wallet: CONTESTED, and the
    // reinstatement owed as a durable command.
    let rotto = h.add_instance_senza_portafoglio().await?;
    let c = ok(h
        .c_nuovo(&rotto)
        .await
        .contest_revoca(h.prestatore(&p[0]).req(pb::ContestRevocaRequest {
            prestazione_id: ids[0].clone(),
            nota: "ho lavorato".into(),
        }))
        .await);
    assert_eq!(
        c.prestazione.unwrap().stato,
        pb::StatoPrestazione::Contested as i32
    );
    assert_eq!(
        h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato,
        "0.00"
    );
    // The payout cannot start while the wallet does not hold the month's due prestazioni.
    let chiudi = || {
        let mut c = h.interno();
        let r = h
            .servizio("portafoglio")
            .req(pb::CloseContestazioniRequest { anno: 2026, mese: 6 });
        async move { c.close_contestazioni(r).await }
    };
    let e = chiudi().await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // The month is closed all the same: no contest slips in after it.
    let e = contesta(&h, &h.prestatore(&p[0]), &ids[1]).await.unwrap_err();
    assert_eq!(errore(&e).1, "PRE_14_PAYOUT_COMPUTED");
    // The relay delivers the reinstatement; then the closing answers and the payout may start.
    let (trigger, task) = relay(&h)?;
    let mut chiuso = None;
    for _ in 0..100 {
        if let Ok(r) = chiudi().await {
            chiuso = Some(r.into_inner());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    trigger.trigger();
    let _ = task.await;
    let chiuso = chiuso.expect("closed once the reinstatement was delivered");
    assert_eq!(chiuso.numero_dovute, 1, "the contested one is due");
    assert_eq!(
        h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await.riservato,
        "49.63"
    );
    h.fine().await;
    Ok(())
}
