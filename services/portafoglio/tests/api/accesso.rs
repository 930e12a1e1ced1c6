//! Who reads which wallet (issue: authorization), the POR-6 riepilogo and the POR-1 views.

use occasionali_proto::common::Periodo;
use occasionali_proto::portafoglio as pb;
use occasionali_runtime::Profile;
use occasionali_runtime::testing::TestDb;
use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;

use crate::common::*;

both_engines!(
    another_person_s_wallet_is_permission_denied,
    por_6_riepilogo_shows_deposits_charges_and_balances,
    por_1_movements_are_double_entry_and_never_change,
);

fn riepilogo_req(cf: &str, tipo: pb::TipoPortafoglio) -> pb::GetRiepilogoRequest {
    pb::GetRiepilogoRequest {
        portafoglio: Some(w(cf, tipo)),
        anno: 0,
    }
}

async fn another_person_s_wallet_is_permission_denied(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(1);
    let altro = persona_n(2).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    h.paga("PPA-1", cf, LF, "10.00").await;
    let mov = pb::ListMovimentiRequest {
        portafoglio: Some(w(cf, LF)),
        ..Default::default()
    };
    for who in [
        h.utilizzatore(&altro),
        h.op("MI"),
        h.prestatore(cf)
            .per_conto_di(&altro, "intermediario_utilizzatore"),
    ] {
        rifiuto(
            h.c().get_riepilogo(who.req(riepilogo_req(cf, LF))).await,
            Code::PermissionDenied,
            "POR-6",
        );
        rifiuto(
            h.c().list_movimenti(who.req(mov.clone())).await,
            Code::PermissionDenied,
            "POR-1",
        );
    }
    let delegato = h
        .who(Profile::Intermediario, &altro, None)
        .per_conto_di(cf, "intermediario_utilizzatore");
    for who in [h.utilizzatore(cf), delegato, h.op("RM"), h.dg(), h.prestazioni()] {
        let r = ok(h.c().get_riepilogo(who.req(riepilogo_req(cf, LF))).await)
            .riepilogo
            .expect("riepilogo");
        assert_eq!(r.disponibile, "10.00");
        assert_eq!(r.anno, 2026, "anno 0 is this year (Rome)");
        assert_eq!(
            ok(h.c().list_movimenti(who.req(mov.clone())).await)
                .movimenti
                .len(),
            1
        );
    }
    for who in [h.utilizzatore(cf), h.prestatore(cf)] {
        rifiuto(
            h.c()
                .get_ledger_balance(who.req(pb::GetLedgerBalanceRequest::default()))
                .await,
            Code::PermissionDenied,
            "POR-1",
        );
    }
    rifiuto(
        h.c()
            .get_ledger_balance(h.op("RM").req(pb::GetLedgerBalanceRequest::default()))
            .await,
        Code::PermissionDenied,
        "POR-1",
    );
    let mine = ok(h
        .c()
        .get_ledger_balance(h.op("RM").req(pb::GetLedgerBalanceRequest {
            tipi: vec![pb::TipoConto::PortafoglioDisponibile as i32],
            portafoglio: Some(w(cf, LF)),
        }))
        .await);
    assert_eq!(mine.saldi.len(), 1);
    assert_eq!(mine.saldi[0].saldo, "10.00");
    assert!(mine.bilanciato);
    invalid(
        h.c()
            .get_riepilogo(h.dg().req(pb::GetRiepilogoRequest {
                portafoglio: Some(pb::PortafoglioRef {
                    utilizzatore_cf: "X".into(),
                    tipo: 7,
                }),
                anno: 1999,
            }))
            .await,
        &["portafoglio.utilizzatore_cf", "portafoglio.tipo", "anno"],
        "POR-6",
    );
    h.fine().await;
    Ok(())
}

async fn por_6_riepilogo_shows_deposits_charges_and_balances(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let legale = persona_n(3);
    let p = persona_n(4).codice_fiscale;
    h.registra_azienda(PIVA, &legale.codice_fiscale, roma()).await;
    h.importa(vec![f24("F24-1", PIVA, pb::CodiceTributo::Cloc, "150.00")])
        .await?;
    h.paga("PPA-1", PIVA, CPO, "50.00").await;
    h.riserva(riserva(
        "prest_1",
        PIVA,
        CPO,
        &p,
        "2026-06-10",
        costo_giorno_cpo(),
    ))
    .await?;
    h.riserva(riserva("prest_2", PIVA, CPO, &p, "2026-06-11", costo_ora_cpo()))
        .await?;
    let r = ok(h
        .c()
        .get_riepilogo(h.utilizzatore(PIVA).req(riepilogo_req(PIVA, CPO)))
        .await)
    .riepilogo
    .expect("riepilogo");
    assert_eq!(r.portafoglio, Some(w(PIVA, CPO)));
    assert_eq!(r.saldo, "200.00");
    assert_eq!(r.riservato, "62.04");
    assert_eq!(r.disponibile, "137.96");
    assert_eq!(
        (r.debito.as_str(), r.rimborso_richiesto.as_str()),
        ("0.00", "0.00")
    );
    assert_eq!(r.versamenti.len(), 2);
    assert_eq!(r.addebiti.len(), 2);
    assert_eq!(r.addebiti[0].prestazione_id, "prest_1");
    assert_eq!(r.addebiti[0].costo, Some(costo_giorno_cpo()));
    assert!(r.limiti.is_empty(), "no limits until prestazioni answers");
    // Another year: nothing of this one.
    let r25 = ok(h
        .c()
        .get_riepilogo(h.utilizzatore(PIVA).req(pb::GetRiepilogoRequest {
            portafoglio: Some(w(PIVA, CPO)),
            anno: 2025,
        }))
        .await)
    .riepilogo
    .expect("riepilogo");
    assert!(r25.versamenti.is_empty() && r25.addebiti.is_empty());
    assert_eq!(r25.disponibile, "137.96", "balances are today's");
    h.fine().await;
    Ok(())
}

async fn por_1_movements_are_double_entry_and_never_change(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(5);
    let p = persona_n(6).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    h.paga("PPA-1", cf, LF, "30.00").await;
    h.riserva(riserva("prest_1", cf, LF, &p, "2026-06-10", costo_lf()))
        .await?;
    let m = h.movimenti(cf, LF).await;
    assert_eq!(m.len(), 2);
    // Newest first: the reservation moves 10.00 from available to reserved.
    assert_eq!(m[0].causale, pb::CausaleMovimento::Riserva as i32);
    assert_eq!(m[0].riferimento, "prest_1");
    assert_eq!(m[0].importo, "10.00");
    assert_eq!(
        m[0].conto_addebito.as_ref().map(|c| c.tipo),
        Some(pb::TipoConto::PortafoglioDisponibile as i32)
    );
    assert_eq!(
        m[0].conto_accredito.as_ref().map(|c| c.tipo),
        Some(pb::TipoConto::PortafoglioRiservato as i32)
    );
    assert_eq!(m[1].causale, pb::CausaleMovimento::Versamento as i32);
    assert_eq!(
        m[1].conto_addebito.as_ref().map(|c| c.tipo),
        Some(pb::TipoConto::Incassi as i32)
    );
    // Pages, and periods in Rome dates.
    let page = |token: &str, periodo: Option<Periodo>| pb::ListMovimentiRequest {
        portafoglio: Some(w(cf, LF)),
        periodo,
        page_size: 1,
        page_token: token.into(),
    };
    let p1 = ok(h.c().list_movimenti(h.dg().req(page("", None))).await);
    assert_eq!(p1.movimenti[0].id, m[0].id);
    let p2 = ok(h
        .c()
        .list_movimenti(h.dg().req(page(&p1.next_page_token, None)))
        .await);
    assert_eq!(p2.movimenti[0].id, m[1].id);
    let ieri = Periodo {
        dal: "2026-06-14".into(),
        al: "2026-06-14".into(),
    };
    assert!(
        ok(h.c().list_movimenti(h.dg().req(page("", Some(ieri)))).await)
            .movimenti
            .is_empty()
    );
    // Posted entries cannot be changed or removed, even by someone with database access.
    let db = &h.db;
    for sql in [
        "UPDATE movimenti SET importo = importo + 1",
        "DELETE FROM movimenti",
    ] {
        let r = db
            .execute_raw(Statement::from_string(db.get_database_backend(), sql.to_string()))
            .await;
        assert!(r.is_err(), "{sql} must be refused");
    }
    let b = h.bilancio().await;
    assert_eq!(b.numero_movimenti, 2);
    let kinds: Vec<i32> = b
        .saldi
        .iter()
        .filter_map(|s| s.conto.as_ref().map(|c| c.tipo))
        .collect();
    assert!(kinds.contains(&(pb::TipoConto::Incassi as i32)));
    assert_eq!(h.saldo_conto(pb::TipoConto::Incassi).await, "-30.00");
    assert_eq!(h.saldo_conto(pb::TipoConto::PortafoglioRiservato).await, "10.00");
    h.fine().await;
    Ok(())
}
