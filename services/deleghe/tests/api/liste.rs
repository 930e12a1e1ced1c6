//! Reading deleghe (GetDelega, ListDeleghe: DEL-1, DEL-3) and the audit trail (DEL-4).

use occasionali_proto::common::Periodo;
use occasionali_proto::deleghe as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    del_1_get_by_parties_and_operators,
    del_1_list_shows_non_operators_only_their_deleghe,
    del_1_list_states_are_computed_from_the_clock,
    del_1_list_pagination,
    del_1_list_filters_are_validated,
    del_4_audit_is_for_operators_only,
    del_4_audit_filters_and_order,
    del_4_audit_pagination,
);

fn lista(delegante: &str, delegato: &str) -> pb::ListDelegheRequest {
    pb::ListDelegheRequest {
        delegante_cf: delegante.into(),
        delegato_cf: delegato.into(),
        ..Default::default()
    }
}

async fn ids(h: &Harness, who: &Chi, r: pb::ListDelegheRequest) -> Vec<String> {
    let mut v: Vec<String> = ok(h.c().list_deleghe(who.req(r)).await)
        .deleghe
        .into_iter()
        .map(|d| d.id)
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn del_1_get_by_parties_and_operators(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    for who in [
        h.prestatore(&delegante()),
        h.intermediario(&delegato()),
        h.op("RM"),
        h.dg(),
        // Someone acting for the delegante under a delega (DEL-3 through the gateway).
        h.intermediario(&estraneo()).per_conto_di(&delegante(), "caf"),
        h.servizio("gateway"),
    ] {
        let got = ok(h.c().get_delega(who.req(get(&d.id))).await)
            .delega
            .expect("delega");
        assert_eq!(got, d);
    }
    let stranger = h.prestatore(&estraneo());
    let known = refused(
        h.c().get_delega(stranger.req(get(&d.id))).await,
        Code::PermissionDenied,
        "DEL-1",
        "DEL_1_NOT_A_PARTY",
    );
    let unknown = refused(
        h.c().get_delega(stranger.req(get("del_nonexistent"))).await,
        Code::PermissionDenied,
        "DEL-1",
        "DEL_1_NOT_A_PARTY",
    );
    assert_eq!(known.message(), unknown.message());
    err(
        h.c().get_delega(h.op("RM").req(get("del_nonexistent"))).await,
        Code::NotFound,
    );
    invalid(
        h.c().get_delega(h.op("RM").req(get(" "))).await,
        &["delega_id"],
        "DEL-1",
    );
    h.stop().await;
    Ok(())
}

async fn del_1_list_shows_non_operators_only_their_deleghe(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (a, b, c, x) = (cf_n(10), cf_n(11), cf_n(12), cf_n(13));
    let ab = h.crea(&a, &b, CAF, OGGI, "").await.id;
    let ac = h.crea(&a, &c, PATRONATO, OGGI, "").await.id;
    let xb = h.crea(&x, &b, CAF, OGGI, "").await.id;
    let xc = h.crea(&x, &c, CAF, OGGI, "").await.id;

    // Without filters: where the caller is delegante or delegato.
    let me_a = h.prestatore(&a);
    assert_eq!(
        ids(&h, &me_a, lista("", "")).await,
        sorted(vec![ab.clone(), ac.clone()])
    );
    let me_b = h.intermediario(&b);
    assert_eq!(
        ids(&h, &me_b, lista("", "")).await,
        sorted(vec![ab.clone(), xb.clone()])
    );
    // Filters narrow what one may see, never widen it.
    assert_eq!(ids(&h, &me_a, lista("", &b)).await, vec![ab.clone()]);
    assert_eq!(ids(&h, &me_b, lista(&x, "")).await, vec![xb.clone()]);
    assert!(ids(&h, &me_a, lista(&x, &c)).await.is_empty());
    assert!(ids(&h, &me_a, lista(&x, "")).await.is_empty());
    let mut by_ruolo = lista("", "");
    by_ruolo.ruolo = PATRONATO as i32;
    assert_eq!(ids(&h, &me_a, by_ruolo.clone()).await, vec![ac.clone()]);
    // Acting for a delegante shows the delegante's deleghe.
    let for_x = h.intermediario(&c).per_conto_di(&x, "caf");
    assert_eq!(
        ids(&h, &for_x, lista("", "")).await,
        sorted(vec![xb.clone(), xc.clone()])
    );
    // Operators filter freely.
    assert_eq!(ids(&h, &h.dg(), lista("", "")).await.len(), 4);
    assert_eq!(
        ids(&h, &h.op("RM"), lista(&x, "")).await,
        sorted(vec![xb, xc.clone()])
    );
    assert_eq!(
        ids(&h, &h.op("RM"), lista("", &c)).await,
        sorted(vec![ac.clone(), xc])
    );
    assert_eq!(ids(&h, &h.dg(), by_ruolo).await, vec![ac]);
    h.stop().await;
    Ok(())
}

async fn del_1_list_states_are_computed_from_the_clock(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let me = h.prestatore(&delegante());
    let breve = h
        .crea(&delegante(), &delegato(), CAF, OGGI, "2026-06-20")
        .await
        .id;
    let futura = h
        .crea(&delegante(), &delegato(), PATRONATO, "2026-06-25", "")
        .await
        .id;
    let aperta = h.crea(&delegante(), &delegato(), CONSULENTE, OGGI, "").await.id;
    let revocata = h.crea(&delegante(), &estraneo(), CAF, OGGI, "").await.id;
    h.revoca(&me, &revocata, "").await;

    let stati = |r: pb::ListDelegheResponse| -> Vec<(String, pb::StatoDelega)> {
        let mut v: Vec<(String, pb::StatoDelega)> =
            r.deleghe.iter().map(|d| (d.id.clone(), stato(d))).collect();
        v.sort();
        v
    };
    let tutte = ok(h.c().list_deleghe(me.req(lista("", ""))).await);
    let mut want = vec![
        (breve.clone(), pb::StatoDelega::Valida),
        (futura.clone(), pb::StatoDelega::NonAncoraValida),
        (aperta.clone(), pb::StatoDelega::Valida),
        (revocata.clone(), pb::StatoDelega::Revocata),
    ];
    want.sort();
    assert_eq!(stati(tutte), want);

    // Ten days later, with nothing written: the short one expired, the future one started.
    h.avanza_giorni(10);
    let tutte = ok(h.c().list_deleghe(me.req(lista("", ""))).await);
    let mut want = vec![
        (breve.clone(), pb::StatoDelega::Scaduta),
        (futura.clone(), pb::StatoDelega::Valida),
        (aperta.clone(), pb::StatoDelega::Valida),
        (revocata.clone(), pb::StatoDelega::Revocata),
    ];
    want.sort();
    assert_eq!(stati(tutte), want);

    // Filtering by state uses the same computation, in the database.
    let by = |s: &[pb::StatoDelega]| pb::ListDelegheRequest {
        stati: s.iter().map(|s| *s as i32).collect(),
        ..Default::default()
    };
    assert_eq!(
        ids(&h, &me, by(&[pb::StatoDelega::Valida])).await,
        sorted(vec![futura.clone(), aperta.clone()])
    );
    assert_eq!(
        ids(&h, &me, by(&[pb::StatoDelega::Scaduta])).await,
        vec![breve.clone()]
    );
    assert_eq!(
        ids(
            &h,
            &me,
            by(&[pb::StatoDelega::Revocata, pb::StatoDelega::Scaduta])
        )
        .await,
        sorted(vec![breve, revocata])
    );
    assert!(
        ids(&h, &me, by(&[pb::StatoDelega::NonAncoraValida]))
            .await
            .is_empty()
    );
    h.avanza_giorni(-20);
    assert_eq!(
        ids(&h, &me, by(&[pb::StatoDelega::NonAncoraValida])).await.len(),
        3,
        "before the 15th, even those starting on the 15th were not yet valid"
    );
    h.stop().await;
    Ok(())
}

async fn del_1_list_pagination(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(h.crea(&delegante(), &cf_n(20 + i), CAF, OGGI, "").await.id);
    }
    let me = h.prestatore(&delegante());
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = ok(h
            .c()
            .list_deleghe(me.req(pb::ListDelegheRequest {
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            }))
            .await);
        pages += 1;
        assert!(r.deleghe.len() <= 3);
        seen.extend(r.deleghe.into_iter().map(|d| d.id));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(pages, 3);
    // Newest first, each once.
    created.reverse();
    assert_eq!(seen, created);

    // Default page size, and a token only fits the filters it came with.
    let first = ok(h
        .c()
        .list_deleghe(me.req(pb::ListDelegheRequest {
            page_size: 2,
            ..Default::default()
        }))
        .await);
    let s = invalid(
        h.c()
            .list_deleghe(me.req(pb::ListDelegheRequest {
                ruolo: CAF as i32,
                page_size: 2,
                page_token: first.next_page_token.clone(),
                ..Default::default()
            }))
            .await,
        &["page_token"],
        "DEL-1",
    );
    assert_eq!(reason_of_field(&s, "page_token"), "DEL_1_PAGE_TOKEN");
    invalid(
        h.c()
            .list_deleghe(me.req(pb::ListDelegheRequest {
                page_token: "not-a-token".into(),
                ..Default::default()
            }))
            .await,
        &["page_token"],
        "DEL-1",
    );
    invalid(
        h.c()
            .list_deleghe(me.req(pb::ListDelegheRequest {
                page_size: -1,
                ..Default::default()
            }))
            .await,
        &["page_size"],
        "DEL-1",
    );
    let all = ok(h
        .c()
        .list_deleghe(me.req(pb::ListDelegheRequest::default()))
        .await);
    assert_eq!(all.deleghe.len(), 7);
    assert!(all.next_page_token.is_empty());
    h.stop().await;
    Ok(())
}

async fn del_1_list_filters_are_validated(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let r = pb::ListDelegheRequest {
        delegante_cf: "XXX".into(),
        delegato_cf: "00743110158".into(),
        ruolo: 42,
        stati: vec![0, 9],
        ..Default::default()
    };
    invalid(
        h.c().list_deleghe(h.dg().req(r)).await,
        &["delegante_cf", "delegato_cf", "ruolo", "stati", "stati"],
        "DEL-1",
    );
    h.stop().await;
    Ok(())
}

fn audit(delega_id: &str, delegante: &str, delegato: &str) -> pb::ListAuditDelegaRequest {
    pb::ListAuditDelegaRequest {
        delega_id: delega_id.into(),
        delegante_cf: delegante.into(),
        delegato_cf: delegato.into(),
        ..Default::default()
    }
}

fn azioni(r: &pb::ListAuditDelegaResponse) -> Vec<pb::AuditAction> {
    r.voci
        .iter()
        .map(|v| pb::AuditAction::try_from(v.action).expect("known action"))
        .collect()
}

async fn del_4_audit_is_for_operators_only(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    for who in [
        h.prestatore(&delegante()),
        h.intermediario(&delegato()),
        h.servizio("gateway"),
    ] {
        refused(
            h.c().list_audit_delega(who.req(audit(&d.id, "", ""))).await,
            Code::PermissionDenied,
            "DEL-4",
            "DEL_4_OPERATORS_ONLY",
        );
    }
    for who in [h.op("RM"), h.dg()] {
        let r = ok(h.c().list_audit_delega(who.req(audit(&d.id, "", ""))).await);
        assert_eq!(azioni(&r), vec![pb::AuditAction::Created]);
    }
    let s = invalid(
        h.c().list_audit_delega(h.dg().req(audit("", "", ""))).await,
        &["delega_id"],
        "DEL-4",
    );
    assert_eq!(reason_of_field(&s, "delega_id"), "DEL_4_FILTER_REQUIRED");
    h.stop().await;
    Ok(())
}

async fn del_4_audit_filters_and_order(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let caf = h.intermediario(&delegato());
    // Day 1 (15th): created, used. Day 2: denied for another ruolo. Day 3: revoked, denied.
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    h.verifica(&caf, &delegante(), CAF).await;
    h.avanza_giorni(1);
    h.verifica(&caf, &delegante(), PATRONATO).await;
    h.avanza_giorni(1);
    h.revoca(&h.prestatore(&delegante()), &d.id, "fine incarico")
        .await;
    h.verifica(&caf, &delegante(), CAF).await;
    // Unrelated traffic.
    h.crea(&estraneo(), &cf_n(30), CAF, "2026-06-17", "").await;

    use pb::AuditAction::*;
    let r = ok(h.c().list_audit_delega(h.dg().req(audit(&d.id, "", ""))).await);
    assert_eq!(
        azioni(&r),
        vec![Denied, Revoked, Denied, Used, Created],
        "newest first"
    );
    let by_delegante = ok(h
        .c()
        .list_audit_delega(h.dg().req(audit("", &delegante(), "")))
        .await);
    assert_eq!(azioni(&by_delegante), azioni(&r));
    let both = ok(h
        .c()
        .list_audit_delega(h.dg().req(audit("", &delegante(), &delegato())))
        .await);
    assert_eq!(both.voci.len(), 5);
    // The DENIED of day 3 names the revoked delega; the WRONG_RUOLO one the delega found.
    assert_eq!(r.voci[0].outcome, pb::CheckDelegaOutcome::Revoked as i32);
    assert_eq!(r.voci[2].outcome, pb::CheckDelegaOutcome::WrongRuolo as i32);
    assert_eq!(r.voci[2].ruolo, PATRONATO as i32);

    let mut only = audit("", &delegante(), "");
    only.action = Denied as i32;
    let denied = ok(h.c().list_audit_delega(h.op("RM").req(only)).await);
    assert_eq!(azioni(&denied), vec![Denied, Denied]);

    let on = |dal: &str, al: &str| {
        let mut q = audit(&d.id, "", "");
        q.periodo = Some(Periodo {
            dal: dal.into(),
            al: al.into(),
        });
        q
    };
    let day1 = ok(h.c().list_audit_delega(h.op("RM").req(on(OGGI, OGGI))).await);
    assert_eq!(azioni(&day1), vec![Used, Created]);
    let from2 = ok(h.c().list_audit_delega(h.op("RM").req(on(DOMANI, ""))).await);
    assert_eq!(azioni(&from2), vec![Denied, Revoked, Denied]);
    let until2 = ok(h.c().list_audit_delega(h.op("RM").req(on("", DOMANI))).await);
    assert_eq!(azioni(&until2), vec![Denied, Used, Created]);
    let s = invalid(
        h.c().list_audit_delega(h.op("RM").req(on(DOMANI, OGGI))).await,
        &["periodo.al"],
        "DEL-4",
    );
    assert_eq!(reason_of_field(&s, "periodo.al"), "DEL_4_END_BEFORE_START");
    let mut bad = on("ieri", "");
    bad.action = 77;
    bad.delegato_cf = "X".into();
    invalid(
        h.c().list_audit_delega(h.op("RM").req(bad)).await,
        &["periodo.dal", "action", "delegato_cf"],
        "DEL-4",
    );
    h.stop().await;
    Ok(())
}

async fn del_4_audit_pagination(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let caf = h.intermediario(&delegato());
    h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    for _ in 0..5 {
        h.verifica(&caf, &delegante(), CAF).await;
    }
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let mut q = audit("", "", &delegato());
        q.page_size = 4;
        q.page_token = token;
        let r = ok(h.c().list_audit_delega(h.op("RM").req(q)).await);
        all.extend(r.voci);
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(all.len(), 6);
    let mut unique: Vec<&str> = all.iter().map(|v| v.id.as_str()).collect();
    unique.dedup();
    assert_eq!(unique.len(), 6);
    assert_eq!(
        all.last().map(|v| v.action),
        Some(pb::AuditAction::Created as i32)
    );
    h.stop().await;
    Ok(())
}
