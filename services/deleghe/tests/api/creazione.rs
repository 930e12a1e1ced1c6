//! DEL-1 creation: who may create, validation, overlap, request ids, concurrency; DEL-4 audit
//! and the outbox event.

use occasionali_proto::deleghe as pb;
use occasionali_runtime::Profile;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    del_1_delegante_creates_its_own_delega,
    del_1_organisation_delegates_by_partita_iva,
    del_1_operator_creates_with_a_note,
    del_1_stranger_cannot_create,
    del_1_delega_does_not_grant_deleghe,
    del_1_every_violation_at_once,
    del_1_single_violations,
    del_1_future_and_bounded_periods,
    del_1_overlapping_delega_already_exists,
    del_1_request_id_retry_returns_the_same_delega,
    del_1_concurrent_creations_of_one_triple_one_wins,
    del_1_concurrent_retries_of_one_request_id_agree,
);

async fn del_1_delegante_creates_its_own_delega(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let mut r = richiesta(&delegante(), &delegato(), CAF, OGGI, "");
    r.nota = "per la dichiarazione".into();
    let d = ok(h.c().create_delega(h.prestatore(&delegante()).req(r)).await)
        .delega
        .expect("delega");
    assert!(d.id.starts_with("del_"), "{}", d.id);
    assert_eq!(d.delegante_cf, delegante());
    assert_eq!(d.delegato_cf, delegato());
    assert_eq!(d.ruolo, CAF as i32);
    assert_eq!(d.validita, Some(periodo(OGGI, "")));
    assert_eq!(stato(&d), pb::StatoDelega::Valida);
    assert_eq!(d.creata_il, Some(ts(ora())));
    assert_eq!(d.creata_da_cf, delegante());
    assert_eq!(d.nota, "per la dichiarazione");
    assert_eq!(d.revocata_il, None);

    // DEL-4: recorded, with who, when and what for.
    let audit = h.audit_delegato(&delegato()).await;
    assert_eq!(audit.len(), 1);
    let v = &audit[0];
    assert_eq!(v.action, pb::AuditAction::Created as i32);
    assert_eq!(v.delega_id, d.id);
    assert_eq!(v.autore_cf, delegante());
    assert_eq!(v.eseguita_il, Some(ts(ora())));
    assert_eq!(v.rpc_path, "/occasionali.deleghe.v1.DelegheService/CreateDelega");
    assert_eq!(v.nota, "per la dichiarazione");
    assert_eq!(v.outcome, pb::CheckDelegaOutcome::Unspecified as i32);

    // The event for notifiche (NOT-2), in the transaction of the creation.
    let eventi = h.eventi().await;
    assert_eq!(eventi.len(), 1);
    assert_eq!(eventi[0].0, "deleghe.delega.creata");
    assert_eq!(eventi[0].1, d.id);
    assert_eq!(eventi[0].2, d);
    h.stop().await;
    Ok(())
}

async fn del_1_organisation_delegates_by_partita_iva(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let azienda = h.who(Profile::Azienda, PIVA, None);
    let r = richiesta(PIVA, &delegato(), CONSULENTE, OGGI, "2026-12-31");
    let d = ok(h.c().create_delega(azienda.req(r)).await)
        .delega
        .expect("delega");
    assert_eq!(d.delegante_cf, PIVA);
    // A CF is stored as the kernel parses it: trimmed, upper case.
    let r = richiesta(&format!(" {} ", delegante().to_lowercase()), PIVA, CAF, OGGI, "");
    let d = ok(h.c().create_delega(h.prestatore(&delegante()).req(r)).await)
        .delega
        .expect("delega");
    assert_eq!(d.delegante_cf, delegante());
    assert_eq!(d.delegato_cf, PIVA);
    h.stop().await;
    Ok(())
}

async fn del_1_operator_creates_with_a_note(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    // Without a note: refused, like an operator's correction (ANA-6).
    let r = richiesta(&delegante(), &delegato(), CAF, OGGI, "");
    let s = invalid(
        h.c().create_delega(h.op("RM").req(r.clone())).await,
        &["nota"],
        "DEL-1",
    );
    assert_eq!(reason_of_field(&s, "nota"), "DEL_1_NOTE_REQUIRED");
    let mut blank = r.clone();
    blank.nota = "   ".into();
    invalid(h.c().create_delega(h.dg().req(blank)).await, &["nota"], "DEL-1");

    let mut with_note = r.clone();
    with_note.nota = "delega cartacea consegnata allo sportello".into();
    let d = ok(h.c().create_delega(h.op("RM").req(with_note)).await)
        .delega
        .expect("delega");
    assert_eq!(d.creata_da_cf, OP_RM);
    assert_eq!(d.nota, "delega cartacea consegnata allo sportello");

    let mut dg = richiesta(&delegante(), &delegato(), PATRONATO, OGGI, "");
    dg.nota = "richiesta del patronato".into();
    let d2 = ok(h.c().create_delega(h.dg().req(dg)).await)
        .delega
        .expect("delega");
    assert_eq!(d2.creata_da_cf, OP_DG);

    // The parties see the operator's CF masked (GW-5); operators see it in full.
    let seen = ok(h.c().get_delega(h.prestatore(&delegante()).req(get(&d.id))).await)
        .delega
        .expect("delega");
    assert_eq!(seen.creata_da_cf, occasionali_runtime::identity::mask(OP_RM));
    let seen = ok(h.c().get_delega(h.dg().req(get(&d.id))).await)
        .delega
        .expect("delega");
    assert_eq!(seen.creata_da_cf, OP_RM);

    let audit = h.audit_delegato(&delegato()).await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].autore_cf, OP_DG);
    assert_eq!(audit[1].autore_cf, OP_RM);
    assert_eq!(audit[1].nota, "delega cartacea consegnata allo sportello");
    h.stop().await;
    Ok(())
}

async fn del_1_stranger_cannot_create(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let r = richiesta(&delegante(), &delegato(), CAF, OGGI, "");
    // Neither someone else, nor the delegato, nor the platform itself.
    for who in [
        h.prestatore(&estraneo()),
        h.intermediario(&delegato()),
        h.servizio("anagrafica"),
    ] {
        refused(
            h.c().create_delega(who.req(r.clone())).await,
            Code::PermissionDenied,
            "DEL-1",
            "DEL_1_NOT_DELEGANTE",
        );
    }
    assert!(h.eventi().await.is_empty());
    assert!(h.audit_delegato(&delegato()).await.is_empty());
    h.stop().await;
    Ok(())
}

async fn del_1_delega_does_not_grant_deleghe(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    // An intermediary acting for the delegante cannot grant deleghe in its name, not even to
    // itself for another ruolo.
    let caf = h.intermediario(&delegato()).per_conto_di(&delegante(), "caf");
    let r = richiesta(&delegante(), &delegato(), PATRONATO, OGGI, "");
    refused(
        h.c().create_delega(caf.req(r)).await,
        Code::PermissionDenied,
        "DEL-1",
        "DEL_1_NOT_UNDER_DELEGA",
    );
    h.stop().await;
    Ok(())
}

async fn del_1_every_violation_at_once(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let r = pb::CreateDelegaRequest {
        request_id: String::new(),
        delegante_cf: "RSSMRA85T10A562X".into(),
        delegato_cf: "123".into(),
        ruolo: 0,
        validita: None,
        nota: String::new(),
    };
    let s = invalid(
        h.c().create_delega(h.op("RM").req(r)).await,
        &["delegante_cf", "delegato_cf", "ruolo", "validita.dal", "nota"],
        "DEL-1",
    );
    // The reason comes from the kernel's codice fiscale parser.
    assert_eq!(reason_of_field(&s, "delegante_cf"), "DEL_1_CF_CHECK_CHARACTER");
    assert_eq!(reason_of_field(&s, "delegato_cf"), "DEL_1_CF_LENGTH");
    assert_eq!(reason_of_field(&s, "ruolo"), "DEL_1_RUOLO_REQUIRED");
    assert_eq!(reason_of_field(&s, "validita.dal"), "DEL_1_DATE_REQUIRED");

    let r = pb::CreateDelegaRequest {
        delegante_cf: delegante(),
        delegato_cf: delegante(),
        ruolo: CAF as i32,
        validita: Some(periodo("2026-06-14", "2026-06-13")),
        ..Default::default()
    };
    let s = invalid(
        h.c().create_delega(h.prestatore(&delegante()).req(r)).await,
        &["delegato_cf", "validita.dal", "validita.al"],
        "DEL-1",
    );
    assert_eq!(reason_of_field(&s, "delegato_cf"), "DEL_1_SAME_PARTY");
    assert_eq!(reason_of_field(&s, "validita.dal"), "DEL_1_START_IN_THE_PAST");
    assert_eq!(reason_of_field(&s, "validita.al"), "DEL_1_END_BEFORE_START");
    assert!(h.eventi().await.is_empty());
    h.stop().await;
    Ok(())
}

async fn del_1_single_violations(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let me = h.prestatore(&delegante());
    let base = richiesta(&delegante(), &delegato(), CAF, OGGI, "");
    let cases: Vec<(&str, pb::CreateDelegaRequest, &str, &str)> = vec![
        (
            "missing delegato",
            pb::CreateDelegaRequest {
                delegato_cf: String::new(),
                ..base.clone()
            },
            "delegato_cf",
            "DEL_1_CF_REQUIRED",
        ),
        (
            "partita IVA with a wrong check digit",
            pb::CreateDelegaRequest {
                delegato_cf: "00743110158".into(),
                ..base.clone()
            },
            "delegato_cf",
            "DEL_1_CF_CHECK_CHARACTER",
        ),
        (
            "unknown ruolo",
            pb::CreateDelegaRequest {
                ruolo: 99,
                ..base.clone()
            },
            "ruolo",
            "DEL_1_RUOLO_REQUIRED",
        ),
        (
            "a date that is not a date",
            pb::CreateDelegaRequest {
                validita: Some(periodo("15/06/2026", "")),
                ..base.clone()
            },
            "validita.dal",
            "DEL_1_DATE_FORMAT",
        ),
        (
            "an end that is not a date",
            pb::CreateDelegaRequest {
                validita: Some(periodo(OGGI, "2026-02-30")),
                ..base.clone()
            },
            "validita.al",
            "DEL_1_DATE_FORMAT",
        ),
        (
            "yesterday",
            pb::CreateDelegaRequest {
                validita: Some(periodo("2026-06-14", "")),
                ..base.clone()
            },
            "validita.dal",
            "DEL_1_START_IN_THE_PAST",
        ),
    ];
    for (name, r, field, reason) in cases {
        let s = invalid(h.c().create_delega(me.req(r)).await, &[field], "DEL-1");
        assert_eq!(reason_of_field(&s, field), reason, "{name}");
    }
    // A one-day delega (al = dal) is fine.
    let r = pb::CreateDelegaRequest {
        validita: Some(periodo(OGGI, OGGI)),
        ..base
    };
    ok(h.c().create_delega(me.req(r)).await);
    h.stop().await;
    Ok(())
}

async fn del_1_future_and_bounded_periods(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, DOMANI, "2026-12-31").await;
    assert_eq!(stato(&d), pb::StatoDelega::NonAncoraValida);
    assert_eq!(d.validita, Some(periodo(DOMANI, "2026-12-31")));
    // "Today" is the Rome date: at 23:30 UTC on the 15th it is already the 16th in Rome.
    h.clock.set("2026-06-15T22:30:00Z".parse()?);
    let r = richiesta(&delegante(), &delegato(), PATRONATO, OGGI, "");
    let s = invalid(
        h.c().create_delega(h.prestatore(&delegante()).req(r)).await,
        &["validita.dal"],
        "DEL-1",
    );
    assert_eq!(reason_of_field(&s, "validita.dal"), "DEL_1_START_IN_THE_PAST");
    let d = ok(h
        .c()
        .create_delega(h.prestatore(&delegante()).req(richiesta(
            &delegante(),
            &delegato(),
            PATRONATO,
            DOMANI,
            "",
        )))
        .await)
    .delega
    .expect("delega");
    assert_eq!(stato(&d), pb::StatoDelega::Valida);
    h.stop().await;
    Ok(())
}

async fn del_1_overlapping_delega_already_exists(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let me = h.prestatore(&delegante());
    let prima = h.crea(&delegante(), &delegato(), CAF, OGGI, "2026-12-31").await;

    // Overlapping periods of the same triple.
    for (dal, al) in [
        (OGGI, ""),
        ("2026-12-31", "2027-06-30"),
        ("2026-07-01", "2026-07-31"),
    ] {
        let s = refused(
            h.c()
                .create_delega(me.req(richiesta(&delegante(), &delegato(), CAF, dal, al)))
                .await,
            Code::AlreadyExists,
            "DEL-1",
            "DEL_1_OVERLAPPING_DELEGA",
        );
        assert!(s.message().contains(&prima.id), "{}", s.message());
    }
    // Not the same triple, or not overlapping: fine.
    h.crea(&delegante(), &delegato(), PATRONATO, OGGI, "").await;
    h.crea(&delegante(), &estraneo(), CAF, OGGI, "").await;
    h.crea(&delegante(), &delegato(), CAF, "2027-01-01", "").await;
    // Once the 2027 one exists, an open-ended one from 2026-07 overlaps both.
    refused(
        h.c()
            .create_delega(me.req(richiesta(&delegante(), &delegato(), CAF, "2026-07-01", "")))
            .await,
        Code::AlreadyExists,
        "DEL-1",
        "DEL_1_OVERLAPPING_DELEGA",
    );
    // A revoked delega no longer blocks.
    h.revoca(&me, &prima.id, "cambio consulente").await;
    let dopo = h.crea(&delegante(), &delegato(), CAF, OGGI, "2026-12-31").await;
    assert_ne!(dopo.id, prima.id);
    h.stop().await;
    Ok(())
}

async fn del_1_request_id_retry_returns_the_same_delega(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let me = h.prestatore(&delegante());
    let mut r = richiesta(&delegante(), &delegato(), CAF, OGGI, "");
    r.request_id = "8d3c7a9e-1b2f-4c5d-9e0f-112233445566".into();
    let first = ok(h.c().create_delega(me.req(r.clone())).await)
        .delega
        .expect("delega");
    h.clock.advance(chrono::Duration::minutes(5));
    let again = ok(h.c().create_delega(me.req(r.clone())).await)
        .delega
        .expect("delega");
    assert_eq!(again, first);
    assert_eq!(h.eventi().await.len(), 1);
    assert_eq!(h.audit_delegato(&delegato()).await.len(), 1);

    // The same request id with other content is a client bug: said clearly.
    let mut other = r.clone();
    other.ruolo = PATRONATO as i32;
    let s = refused(
        h.c().create_delega(me.req(other)).await,
        Code::AlreadyExists,
        "DEL-1",
        "DEL_1_REQUEST_ID_REUSED",
    );
    assert!(s.message().contains("request_id"), "{}", s.message());

    // Request ids are per author: another delegante may use the same one.
    let altro = h.prestatore(&estraneo());
    let mut r2 = richiesta(&estraneo(), &delegato(), CAF, OGGI, "");
    r2.request_id = r.request_id.clone();
    let d2 = ok(h.c().create_delega(altro.req(r2)).await)
        .delega
        .expect("delega");
    assert_ne!(d2.id, first.id);
    h.stop().await;
    Ok(())
}

async fn del_1_concurrent_creations_of_one_triple_one_wins(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let me = h.prestatore(&delegante());
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut c = h.c();
        // Different periods, all overlapping: no request id can make them the same request.
        let r = richiesta(
            &delegante(),
            &delegato(),
            CAF,
            OGGI,
            &format!("2027-01-{:02}", i + 1),
        );
        let req = me.req(r);
        tasks.push(tokio::spawn(async move { c.create_delega(req).await }));
    }
    let mut created = 0;
    let mut already = 0;
    for task in tasks {
        match task.await? {
            Ok(_) => created += 1,
            Err(s) if s.code() == Code::AlreadyExists => already += 1,
            Err(s) => panic!("unexpected {:?}: {}", s.code(), s.message()),
        }
    }
    assert_eq!((created, already), (1, 9));
    let list = ok(h
        .c()
        .list_deleghe(h.dg().req(pb::ListDelegheRequest {
            delegante_cf: delegante(),
            ..Default::default()
        }))
        .await);
    assert_eq!(list.deleghe.len(), 1);
    assert_eq!(h.eventi().await.len(), 1);
    h.stop().await;
    Ok(())
}

async fn del_1_concurrent_retries_of_one_request_id_agree(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let me = h.prestatore(&delegante());
    let mut r = richiesta(&delegante(), &delegato(), CAF, OGGI, "");
    r.request_id = "retry-storm".into();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let mut c = h.c();
        let req = me.req(r.clone());
        tasks.push(tokio::spawn(async move { c.create_delega(req).await }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(ok(task.await?).delega.expect("delega").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry answers the same delega");
    assert_eq!(h.eventi().await.len(), 1);
    h.stop().await;
    Ok(())
}
