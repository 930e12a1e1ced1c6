//! Who may call what (GW-6, PRE-19): the internal service only for the platform's `sistema`
//! identity; a sede operator declares only for utilizzatori of its sede (its scope travels with
//! the saga to portafoglio) and reads only prestazioni with a party of its sede; DG reads all.

use occasionali_proto::portafoglio as por;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::{Code, Status};

use crate::common::*;

both_engines!(
    gw_6_internal_service_only_for_sistema,
    gw_6_sede_operator_cannot_charge_an_utilizzatore_of_another_sede,
    pre_19_sede_operator_reads_only_prestazioni_of_its_sede,
);

#[track_caller]
fn negato(r: Result<impl std::fmt::Debug, Status>, reason: &str) {
    match r {
        Ok(x) => panic!("expected PERMISSION_DENIED {reason}, got {x:?}"),
        Err(s) => {
            let (code, got, _, _) = errore(&s);
            assert_eq!(
                (code, got.as_str()),
                (Code::PermissionDenied, reason),
                "{}",
                s.message()
            );
        }
    }
}

async fn gw_6_internal_service_only_for_sistema(t: &TestDb) -> anyhow::Result<()> {
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
    let mese = || pb::ListDuePrestazioniRequest {
        anno: 2026,
        mese: 6,
        ..Default::default()
    };
    let categoria = || pb::CheckCategoriaChangeRequest {
        utilizzatore_cf: PIVA.into(),
        categoria: "impresa".into(),
        ateco: "56.10.11".into(),
    };
    let attivi = || pb::StreamSoggettiAttiviRequest {
        ruolo: pb::RuoloSoggetto::Prestatore as i32,
        periodo: None,
    };
    let pagato = || pb::MarkPaidRequest {
        pagamento: Some(pb::Pagamento {
            payout_order_id: "po_x".into(),
            prestatore_cf: p[0].clone(),
            anno: 2026,
            mese: 6,
            prestazione_ids: vec![a.id.clone()],
            ..Default::default()
        }),
    };
    let chiudi = || pb::CloseContestazioniRequest { anno: 2026, mese: 6 };
    // Nobody but the platform: not the parties, not operators (DG included), not the feed.
    for who in [
        h.azienda(PIVA),
        h.prestatore(&p[0]),
        h.dg(),
        h.op("RM"),
        h.flusso(),
    ] {
        let i = h.interno();
        negato(
            i.clone().list_due_prestazioni(who.req(mese())).await,
            "GW_6_INTERNAL_ONLY",
        );
        negato(
            i.clone().check_categoria_change(who.req(categoria())).await,
            "GW_6_INTERNAL_ONLY",
        );
        negato(
            i.clone().stream_soggetti_attivi(who.req(attivi())).await,
            "GW_6_INTERNAL_ONLY",
        );
        negato(i.clone().mark_paid(who.req(pagato())).await, "GW_6_INTERNAL_ONLY");
        negato(
            i.clone().close_contestazioni(who.req(chiudi())).await,
            "GW_6_INTERNAL_ONLY",
        );
    }
    // Nothing changed: the prestazione is still due, the month still open.
    let r = h
        .c()
        .get_prestazione(h.dg().req(pb::GetPrestazioneRequest {
            prestazione_id: a.id.clone(),
        }))
        .await;
    assert_eq!(
        ok(r).prestazione.unwrap().stato,
        pb::StatoPrestazione::Accepted as i32
    );
    // The platform's own identity (also acting for a client) is served.
    let s = h.servizio("portafoglio");
    let per_dg = h.servizio("portafoglio").per(&h.dg());
    assert_eq!(
        ok(h.interno().list_due_prestazioni(s.req(mese())).await)
            .prestazioni
            .len(),
        1
    );
    assert!(ok(h.interno().check_categoria_change(per_dg.req(categoria())).await).has_prestazioni);
    ok(h.interno().stream_soggetti_attivi(s.req(attivi())).await);
    assert_eq!(
        ok(h.interno().close_contestazioni(s.req(chiudi())).await).numero_dovute,
        1
    );
    assert_eq!(
        ok(h.interno().mark_paid(s.req(pagato())).await).prestazioni[0].stato,
        pb::StatoPrestazione::Paid as i32
    );
    h.fine().await;
    Ok(())
}

/// A family living in Milan (sede MI), funded, and a prestatore living in Rome (sede RM).
async fn famiglia_di_milano(h: &Harness) -> (String, String) {
    let fam = persona_n(21);
    h.famiglia_a(&fam, milano()).await;
    h.finanzia(
        "F24-LF-MI",
        &fam.codice_fiscale,
        por::CodiceTributo::Lifa,
        "100.00",
    )
    .await;
    let p = persona_n(2);
    h.registra_prestatore(&p, Vec::new()).await;
    (fam.codice_fiscale, p.codice_fiscale)
}

async fn gw_6_sede_operator_cannot_charge_an_utilizzatore_of_another_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (fam, p) = famiglia_di_milano(&h).await;
    let d = || lf(&fam, &p, "2026-06-12", 60);
    // A Rome operator cannot declare for a Milan family: refused before anything is held.
    negato(
        h.inserisci(&h.op("RM"), "op-rm-1", d()).await,
        "PRE_19_OUTSIDE_SEDE",
    );
    negato(
        h.c()
            .check_prestazione(h.op("RM").req(pb::CheckPrestazioneRequest {
                prestazione: Some(d()),
            }))
            .await,
        "PRE_19_OUTSIDE_SEDE",
    );
    let w = h.riepilogo(&fam, por::TipoPortafoglio::LibrettoFamiglia).await;
    assert_eq!((w.disponibile.as_str(), w.riservato.as_str()), ("100.00", "0.00"));
    let righe = ok(h
        .c()
        .list_prestazioni(h.dg().req(pb::ListPrestazioniRequest {
            utilizzatore_cf: fam.clone(),
            ..Default::default()
        }))
        .await);
    assert!(righe.prestazioni.is_empty(), "{righe:?}");
    // Nor does the retry of the same request id slip through.
    negato(
        h.inserisci(&h.op("RM"), "op-rm-1", d()).await,
        "PRE_19_OUTSIDE_SEDE",
    );
    // A Milan operator declares for it, and the wallet is charged.
    let x = h.inserisci(&h.op("MI"), "op-mi-1", d()).await.unwrap();
    assert_eq!(x.stato, pb::StatoPrestazione::Accepted as i32);
    assert_eq!(x.inserita_da_cf, OP_MI);
    let w = h.riepilogo(&fam, por::TipoPortafoglio::LibrettoFamiglia).await;
    assert_eq!(w.riservato, "10.00");
    // A Rome operator's retry of the Milan operator's request learns nothing either.
    negato(
        h.inserisci(&h.op("RM"), "op-mi-1", d()).await,
        "PRE_19_OUTSIDE_SEDE",
    );
    h.fine().await;
    Ok(())
}

async fn pre_19_sede_operator_reads_only_prestazioni_of_its_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    // Utilizzatore in Milan, prestatore in Rome: both sedi see it, Turin does not.
    let (fam, p) = famiglia_di_milano(&h).await;
    let x = h
        .inserisci(&h.utilizzatore(&fam), "lf-1", lf(&fam, &p, "2026-06-12", 60))
        .await
        .unwrap();
    let (mi, rm, to) = (h.op("MI"), h.op("RM"), h.op("TO"));
    let get = |who: &Chi| {
        let mut c = h.c();
        let r = who.req(pb::GetPrestazioneRequest {
            prestazione_id: x.id.clone(),
        });
        async move { c.get_prestazione(r).await }
    };
    for who in [&mi, &rm, &h.dg()] {
        assert_eq!(ok(get(who).await).prestazione.unwrap().id, x.id);
    }
    negato(get(&to).await, "PRE_19_OUTSIDE_SEDE");
    // The platform acting for the Turin operator is limited the same way; on its own it is not.
    negato(
        get(&h.servizio("portafoglio").per(&to)).await,
        "PRE_19_OUTSIDE_SEDE",
    );
    ok(get(&h.servizio("portafoglio")).await);
    // Acting on it goes through the same read.
    negato(
        h.c()
            .revoke_prestazione(to.req(pb::RevokePrestazioneRequest {
                prestazione_id: x.id.clone(),
                motivo: "x".into(),
            }))
            .await,
        "PRE_19_OUTSIDE_SEDE",
    );
    // Lists keep what the operator's sede reaches.
    let elenco = |who: &Chi, u: &str, pr: &str| {
        let mut c = h.c();
        let r = who.req(pb::ListPrestazioniRequest {
            utilizzatore_cf: u.into(),
            prestatore_cf: pr.into(),
            ..Default::default()
        });
        async move { ok(c.list_prestazioni(r).await).prestazioni.len() }
    };
    assert_eq!(elenco(&mi, &fam, "").await, 1);
    assert_eq!(elenco(&rm, "", &p).await, 1);
    assert_eq!(elenco(&h.dg(), &fam, "").await, 1);
    assert_eq!(elenco(&to, &fam, "").await, 0);
    assert_eq!(elenco(&to, "", &p).await, 0);
    // Limits: one of the named subjects must be of the sede.
    let limiti = |who: &Chi, pr: &str, u: &str| {
        let mut c = h.c();
        let r = who.req(pb::GetHeadroomRequest {
            anno: 2026,
            prestatore_cf: pr.into(),
            utilizzatore_cf: u.into(),
        });
        async move { c.get_headroom(r).await }
    };
    ok(limiti(&mi, "", &fam).await);
    ok(limiti(&rm, &p, &fam).await);
    ok(limiti(&h.dg(), "", &fam).await);
    negato(limiti(&rm, "", &fam).await, "PRE_19_OUTSIDE_SEDE");
    negato(limiti(&to, &p, &fam).await, "PRE_19_OUTSIDE_SEDE");
    // The prestatore's statement and payments: the prestatore's sede.
    let statement = |who: &Chi| {
        let mut c = h.c();
        let r = who.req(pb::GetAnnualStatementRequest {
            prestatore_cf: p.clone(),
            anno: 2026,
        });
        async move { c.get_annual_statement(r).await }
    };
    let pagamenti = |who: &Chi| {
        let mut c = h.c();
        let r = who.req(pb::ListPaymentsRequest {
            prestatore_cf: p.clone(),
            ..Default::default()
        });
        async move { c.list_payments(r).await }
    };
    assert_eq!(ok(statement(&rm).await).statement.unwrap().numero_prestazioni, 1);
    ok(pagamenti(&rm).await);
    negato(statement(&mi).await, "PRE_19_OUTSIDE_SEDE");
    negato(pagamenti(&to).await, "PRE_19_OUTSIDE_SEDE");
    // What-if for someone else's family.
    negato(
        h.c()
            .check_prestazione(to.req(pb::CheckPrestazioneRequest {
                prestazione: Some(lf(&fam, &p, "2026-06-13", 60)),
            }))
            .await,
        "PRE_19_OUTSIDE_SEDE",
    );
    // Persons are unchanged: the parties see it, another person does not.
    ok(get(&h.prestatore(&p)).await);
    let e = get(&h.prestatore(&persona_n(3).codice_fiscale))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    h.fine().await;
    Ok(())
}
