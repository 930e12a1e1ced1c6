//! DEL-1 revocation: by either party or an operator, idempotent, audited (DEL-4) and announced.

use occasionali_proto::deleghe as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    del_1_delegante_revokes,
    del_1_delegato_revokes,
    del_1_operator_revokes_with_a_reason,
    del_1_revocation_is_idempotent,
    del_1_stranger_cannot_revoke_nor_learn_existence,
);

async fn del_1_delegante_revokes(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    h.clock.advance(chrono::Duration::hours(2));
    let quando = ora() + chrono::Duration::hours(2);
    let r = h.revoca(&h.prestatore(&delegante()), &d.id, "cambio CAF").await;
    assert_eq!(stato(&r), pb::StatoDelega::Revocata);
    assert_eq!(r.revocata_il, Some(ts(quando)));
    assert_eq!(r.revocata_da_cf, delegante());
    assert_eq!(r.motivo_revoca, "cambio CAF");
    // Everything else as it was.
    assert_eq!(r.validita, d.validita);
    assert_eq!(r.creata_il, d.creata_il);

    let audit = h.audit_delegato(&delegato()).await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].action, pb::AuditAction::Revoked as i32);
    assert_eq!(audit[0].autore_cf, delegante());
    assert_eq!(audit[0].eseguita_il, Some(ts(quando)));
    assert_eq!(audit[0].nota, "cambio CAF");
    assert_eq!(
        audit[0].rpc_path,
        "/occasionali.deleghe.v1.DelegheService/RevokeDelega"
    );
    assert_eq!(audit[1].action, pb::AuditAction::Created as i32);

    let eventi = h.eventi().await;
    assert_eq!(eventi.len(), 2);
    assert_eq!(eventi[1].0, "deleghe.delega.revocata");
    assert_eq!(eventi[1].1, d.id);
    assert_eq!(eventi[1].2, r);
    h.stop().await;
    Ok(())
}

async fn del_1_delegato_revokes(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    // The delegato revokes without giving a reason: parties need none.
    let r = h.revoca(&h.intermediario(&delegato()), &d.id, "").await;
    assert_eq!(stato(&r), pb::StatoDelega::Revocata);
    assert_eq!(r.revocata_da_cf, delegato());
    assert_eq!(r.motivo_revoca, "");
    h.stop().await;
    Ok(())
}

async fn del_1_operator_revokes_with_a_reason(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    let s = invalid(
        h.c().revoke_delega(h.op("RM").req(revoca(&d.id, " "))).await,
        &["motivo"],
        "DEL-1",
    );
    assert_eq!(reason_of_field(&s, "motivo"), "DEL_1_NOTE_REQUIRED");
    let r = h
        .revoca(&h.op("RM"), &d.id, "revoca richiesta allo sportello")
        .await;
    assert_eq!(r.revocata_da_cf, OP_RM);
    // The delegante sees the operator masked.
    let seen = ok(h.c().get_delega(h.prestatore(&delegante()).req(get(&d.id))).await)
        .delega
        .expect("delega");
    assert_eq!(seen.revocata_da_cf, occasionali_runtime::identity::mask(OP_RM));

    let d2 = h.crea(&delegante(), &delegato(), PATRONATO, OGGI, "").await;
    let r2 = h.revoca(&h.dg(), &d2.id, "verifica ispettiva").await;
    assert_eq!(r2.revocata_da_cf, OP_DG);
    h.stop().await;
    Ok(())
}

async fn del_1_revocation_is_idempotent(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    let first = h.revoca(&h.prestatore(&delegante()), &d.id, "primo motivo").await;
    h.clock.advance(chrono::Duration::days(1));
    // Again, by the other party and with another reason: unchanged, nothing recorded again.
    let again = h.revoca(&h.intermediario(&delegato()), &d.id, "secondo").await;
    assert_eq!(again.revocata_il, first.revocata_il);
    assert_eq!(again.revocata_da_cf, delegante());
    assert_eq!(again.motivo_revoca, "primo motivo");
    let audit = h.audit_delegato(&delegato()).await;
    assert_eq!(audit.len(), 2, "one CREATED and one REVOKED");
    assert_eq!(h.eventi().await.len(), 2);
    h.stop().await;
    Ok(())
}

async fn del_1_stranger_cannot_revoke_nor_learn_existence(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let d = h.crea(&delegante(), &delegato(), CAF, OGGI, "").await;
    let stranger = h.prestatore(&estraneo());
    let known = refused(
        h.c().revoke_delega(stranger.req(revoca(&d.id, ""))).await,
        Code::PermissionDenied,
        "DEL-1",
        "DEL_1_NOT_A_PARTY",
    );
    let unknown = refused(
        h.c()
            .revoke_delega(stranger.req(revoca("del_nonexistent", "")))
            .await,
        Code::PermissionDenied,
        "DEL-1",
        "DEL_1_NOT_A_PARTY",
    );
    assert_eq!(known.message(), unknown.message());
    // Acting for the delegante under a delega does not make one a party either; nor is the
    // platform one.
    let other_caf = h.intermediario(&estraneo()).per_conto_di(&delegante(), "caf");
    refused(
        h.c().revoke_delega(other_caf.req(revoca(&d.id, ""))).await,
        Code::PermissionDenied,
        "DEL-1",
        "DEL_1_NOT_A_PARTY",
    );
    let sistema = h.servizio("notifiche");
    err(
        h.c().revoke_delega(sistema.req(revoca(&d.id, ""))).await,
        Code::PermissionDenied,
    );
    // Operators learn that an id does not exist.
    err(
        h.c()
            .revoke_delega(h.dg().req(revoca("del_nonexistent", "x")))
            .await,
        Code::NotFound,
    );
    invalid(
        h.c().revoke_delega(h.dg().req(revoca("", "x"))).await,
        &["delega_id"],
        "DEL-1",
    );
    // Still valid.
    let seen = ok(h.c().get_delega(h.dg().req(get(&d.id))).await)
        .delega
        .expect("delega");
    assert_eq!(stato(&seen), pb::StatoDelega::Valida);
    h.stop().await;
    Ok(())
}
