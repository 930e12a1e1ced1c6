//! DEL-2 CheckDelega: each outcome, with the DEL-4 audit entry each check leaves.

use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::CheckDelegaOutcome as O;
use occasionali_runtime::Profile;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    del_2_valid_delega_lets_the_call_through,
    del_2_missing_delega,
    del_2_expired_delega,
    del_2_revoked_delega,
    del_2_wrong_ruolo,
    del_2_not_yet_valid_delega,
    del_2_only_the_platform_checks,
    del_2_check_request_is_validated,
);

/// The newest audit entry about the delegato is the check just made: USED/DENIED, the outcome,
/// the delega that decided it, the client's CF, the method and the instant.
async fn assert_audited(h: &Harness, client: &Chi, outcome: O, delega_id: &str) {
    let audit = h.audit_delegato(&client.cf()).await;
    let v = audit.first().expect("an audit entry");
    let action = if outcome == O::Valid {
        pb::AuditAction::Used
    } else {
        pb::AuditAction::Denied
    };
    assert_eq!(v.action, action as i32, "{v:?}");
    assert_eq!(v.outcome, outcome as i32, "{v:?}");
    assert_eq!(v.delega_id, delega_id);
    assert_eq!(v.autore_cf, client.cf(), "the client, not the gateway");
    assert_eq!(v.rpc_path, RPC);
    assert_eq!(v.delegante_cf, delegante());
    assert_eq!(v.delegato_cf, client.cf());
    assert_eq!(v.eseguita_il, Some(ts(h.now())));
}

async fn del_2_valid_delega_lets_the_call_through(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    let caf = h.intermediario(&delegato());
    let r = h.verifica(&caf, &delegante(), CAF).await;
    assert_eq!(outcome(&r), O::Valid);
    assert_eq!(r.delega_id, d.id);
    assert_audited(&h, &caf, O::Valid, &d.id).await;
    // Each use is recorded, not only the first.
    h.verifica(&caf, &delegante(), CAF).await;
    let audit = h.audit_delegato(&delegato()).await;
    assert_eq!(
        audit
            .iter()
            .filter(|v| v.action == pb::AuditAction::Used as i32)
            .count(),
        2
    );
    h.stop().await;
    Ok(())
}

async fn del_2_missing_delega(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    // A delega for someone else's client does not count.
    h.crea(&estraneo(), &delegato(), CAF, OGGI, "").await;
    let caf = h.intermediario(&delegato());
    let r = h.verifica(&caf, &delegante(), CAF).await;
    assert_eq!(outcome(&r), O::Missing);
    assert_eq!(r.delega_id, "");
    assert_audited(&h, &caf, O::Missing, "").await;
    h.stop().await;
    Ok(())
}

async fn del_2_expired_delega(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "2026-06-25").await;
    let caf = h.intermediario(&delegato());
    h.avanza_giorni(10);
    // 2026-06-25: the last day is still valid.
    assert_eq!(outcome(&h.verifica(&caf, &delegante(), CAF).await), O::Valid);
    h.avanza_giorni(1);
    let r = h.verifica(&caf, &delegante(), CAF).await;
    assert_eq!(outcome(&r), O::Expired);
    assert_eq!(r.delega_id, d.id);
    assert_audited(&h, &caf, O::Expired, &d.id).await;
    h.stop().await;
    Ok(())
}

async fn del_2_revoked_delega(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    h.revoca(&h.prestatore(&delegante()), &d.id, "").await;
    let caf = h.intermediario(&delegato());
    let r = h.verifica(&caf, &delegante(), CAF).await;
    assert_eq!(outcome(&r), O::Revoked);
    assert_eq!(r.delega_id, d.id);
    assert_audited(&h, &caf, O::Revoked, &d.id).await;
    // At an instant before the revocation, it was valid (the gateway passes `at`).
    let before = ora() - chrono::Duration::minutes(1);
    let r = ok(h
        .interno()
        .check_delega(
            h.gateway_per(&caf)
                .req(check(&delegato(), &delegante(), CAF, Some(before))),
        )
        .await);
    assert_eq!(outcome(&r), O::Valid);
    h.stop().await;
    Ok(())
}

async fn del_2_wrong_ruolo(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), PATRONATO, OGGI, "").await;
    let caf = h.intermediario(&delegato());
    let r = h.verifica(&caf, &delegante(), CAF).await;
    assert_eq!(outcome(&r), O::WrongRuolo);
    assert_eq!(r.delega_id, d.id);
    assert_audited(&h, &caf, O::WrongRuolo, &d.id).await;
    h.stop().await;
    Ok(())
}

async fn del_2_not_yet_valid_delega(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, DOMANI, "").await;
    let caf = h.intermediario(&delegato());
    let r = h.verifica(&caf, &delegante(), CAF).await;
    assert_eq!(outcome(&r), O::NotYetValid);
    assert_eq!(r.delega_id, d.id);
    assert_audited(&h, &caf, O::NotYetValid, &d.id).await;
    // The validity is on the Rome date of `at`: 22:30 UTC on the 15th is the 16th in Rome.
    let at = "2026-06-15T22:30:00Z".parse()?;
    let r = ok(h
        .interno()
        .check_delega(
            h.gateway_per(&caf)
                .req(check(&delegato(), &delegante(), CAF, Some(at))),
        )
        .await);
    assert_eq!(outcome(&r), O::Valid);
    h.stop().await;
    Ok(())
}

async fn del_2_only_the_platform_checks(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    let r = check(&delegato(), &delegante(), CAF, None);
    for who in [
        h.intermediario(&delegato()),
        h.prestatore(&delegante()),
        h.op("RM"),
        h.dg(),
        h.who(Profile::SoggettoAbilitato, &delegato(), None),
    ] {
        refused(
            h.interno().check_delega(who.req(r.clone())).await,
            Code::PermissionDenied,
            "GW-6",
            "GW_6_INTERNAL_ONLY",
        );
    }
    // Refused calls are not uses: nothing recorded but the creation.
    assert_eq!(h.audit_delegato(&delegato()).await.len(), 1);
    h.stop().await;
    Ok(())
}

async fn del_2_check_request_is_validated(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let caf = h.intermediario(&delegato());
    let r = pb::CheckDelegaRequest {
        delegato_cf: "NOTACF".into(),
        delegante_cf: String::new(),
        ruolo: 0,
        at: Some(prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        }),
        rpc_path: String::new(),
    };
    let s = invalid(
        h.interno().check_delega(h.gateway_per(&caf).req(r)).await,
        &["delegato_cf", "delegante_cf", "ruolo", "at", "rpc_path"],
        "DEL-2",
    );
    assert_eq!(reason_of_field(&s, "rpc_path"), "DEL_4_RPC_PATH_REQUIRED");
    assert!(h.audit_delegato(&delegato()).await.is_empty());
    h.stop().await;
    Ok(())
}
