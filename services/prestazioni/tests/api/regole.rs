//! PRE-20: the rule table.

use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    pre_20_rule_tables_hold_both_periods_with_reasons,
    pre_20_dg_publishes_a_future_year_and_it_applies_from_its_first_day,
    pre_20_only_dg_publishes_and_only_a_year_not_yet_begun,
    pre_20_a_bad_table_is_refused_field_by_field_and_changes_nothing,
    pre_20_publications_are_idempotent_versioned_and_keep_later_years_true,
);

async fn pre_20_rule_tables_hold_both_periods_with_reasons(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let get = |anno| {
        let h = &h;
        async move {
            ok(h.c()
                .get_rule_table(
                    h.prestatore(&persona_n(1).codice_fiscale)
                        .req(pb::GetRuleTableRequest { anno }),
                )
                .await)
            .rule_table
            .expect("table")
        }
    };
    let r2017 = get(2017).await;
    assert_eq!(
        (
            r2017.limite_utilizzatore.as_str(),
            r2017.dipendenti_max,
            r2017.agricoltura_ammessa
        ),
        ("5000.00", 5, true)
    );
    let r2022 = get(2022).await;
    assert_eq!(r2022.limite_utilizzatore, "5000.00");
    let r2023 = get(2023).await;
    assert_eq!(r2023.limite_utilizzatore, "10000.00");
    assert_eq!(r2023.limite_utilizzatore_settori_speciali, "15000.00");
    assert!(r2023.variazioni.iter().any(|v| v.motivo == "L. 197/2022"));
    assert!(r2023.variazioni.iter().any(|v| v.motivo == "DL 48/2023"));
    let r2026 = get(2026).await;
    assert_eq!(r2026.anno, 2026);
    assert_eq!(
        (
            r2026.titolo_valore.as_str(),
            r2026.titolo_compenso.as_str(),
            r2026.titolo_contributi_ivs.as_str(),
            r2026.titolo_premio_inail.as_str(),
            r2026.titolo_oneri_gestione.as_str()
        ),
        ("10.00", "8.00", "1.65", "0.25", "0.10")
    );
    assert_eq!(
        (
            r2026.compenso_orario_minimo.as_str(),
            r2026.compenso_giornaliero_minimo.as_str(),
            r2026.aliquota_ivs.as_str(),
            r2026.aliquota_inail.as_str(),
            r2026.aliquota_oneri_gestione.as_str()
        ),
        ("9.00", "36.00", "33.00", "3.50", "1.00")
    );
    assert_eq!(
        (
            r2026.dipendenti_max,
            r2026.dipendenti_max_settori_speciali,
            r2026.ore_coppia
        ),
        (10, 25, 280)
    );
    assert!(!r2026.agricoltura_ammessa);
    assert!(r2026.ateco_settori_speciali.contains(&"82.30.00".to_string()));
    assert!(r2026.ateco_esclusi.contains(&"43".to_string()));
    let all = ok(h
        .c()
        .list_rule_tables(h.dg().req(pb::ListRuleTablesRequest {}))
        .await)
    .rule_tables;
    let anni: Vec<i32> = all.iter().map(|r| r.anno).collect();
    assert_eq!(anni, (2017..=2026).collect::<Vec<_>>());
    h.fine().await;
    Ok(())
}

/// The 2026 table as DG would start from it for `anno`.
async fn bozza(h: &Harness, anno: i32) -> pb::RuleTable {
    let mut t = ok(h
        .c()
        .get_rule_table(h.dg().req(pb::GetRuleTableRequest { anno: 2026 }))
        .await)
    .rule_table
    .expect("table");
    t.anno = anno;
    t.variazioni.clear();
    t.pubblicazione = None;
    t
}

fn pubblica(request_id: &str, t: &pb::RuleTable, motivo: &str) -> pb::PublishRuleTableRequest {
    pb::PublishRuleTableRequest {
        request_id: request_id.into(),
        rule_table: Some(t.clone()),
        motivo: motivo.into(),
    }
}

async fn tabella(h: &Harness, who: &Chi, anno: i32) -> pb::RuleTable {
    ok(h.c()
        .get_rule_table(who.req(pb::GetRuleTableRequest { anno }))
        .await)
    .rule_table
    .expect("table")
}

fn variazioni(t: &pb::RuleTable) -> Vec<(String, String, String, String)> {
    t.variazioni
        .iter()
        .map(|v| {
            (
                v.campo.clone(),
                v.valore_precedente.clone(),
                v.valore.clone(),
                v.motivo.clone(),
            )
        })
        .collect()
}

fn v4(c: &str, p: &str, v: &str, m: &str) -> (String, String, String, String) {
    (c.into(), p.into(), v.into(), m.into())
}

async fn pre_20_dg_publishes_a_future_year_and_it_applies_from_its_first_day(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let mut t2027 = bozza(&h, 2027).await;
    t2027.aliquota_ivs = "35.00".into();
    t2027.limite_utilizzatore = "12000.00".into();
    let r = ok(h
        .c()
        .publish_rule_table(h.dg().req(pubblica("pub-1", &t2027, "L. 1/2027, art. 1")))
        .await)
    .rule_table
    .expect("published");
    assert_eq!(r.anno, 2027);
    assert_eq!(
        variazioni(&r),
        vec![
            v4("aliquota_ivs", "33.00", "35.00", "L. 1/2027, art. 1"),
            v4("limite_utilizzatore", "10000.00", "12000.00", "L. 1/2027, art. 1"),
        ]
    );
    let pubb = r.pubblicazione.clone().expect("provenance");
    assert_eq!(
        (
            pubb.versione,
            pubb.origine.as_str(),
            pubb.motivo.as_str(),
            pubb.autore_cf.as_str()
        ),
        (1, "pubblicazione", "L. 1/2027, art. 1", OP_DG)
    );
    assert!(pubb.pubblicata_il.is_some());

    // The year in force is untouched, and says where its figures come from.
    let prestatore = h.prestatore(&p[0]);
    let r2026 = tabella(&h, &prestatore, 2026).await;
    assert_eq!(
        (r2026.aliquota_ivs.as_str(), r2026.limite_utilizzatore.as_str()),
        ("33.00", "10000.00")
    );
    let seme = r2026.pubblicazione.expect("provenance");
    assert_eq!(
        (seme.versione, seme.origine.as_str()),
        (1, "migrazione m0001_create_prestazioni")
    );
    // Everyone reads the new year's figures; only operators read who published them.
    let r2027 = tabella(&h, &prestatore, 2027).await;
    assert_eq!(r2027.aliquota_ivs, "35.00");
    assert_eq!(r2027.pubblicazione.expect("provenance").autore_cf, "");
    assert_eq!(tabella(&h, &h.dg(), 2028).await.aliquota_ivs, "35.00");
    let anni: Vec<i32> = ok(h
        .c()
        .list_rule_tables(h.dg().req(pb::ListRuleTablesRequest {}))
        .await)
    .rule_tables
    .iter()
    .map(|r| r.anno)
    .collect();
    assert_eq!(anni, (2017..=2027).collect::<Vec<_>>());

    // A prestazione is valued with its own year's figures: 31 December 2026 at 33 %, 1 January
    // 2027 (Rome) at 35 %.
    let costo = |inizio: &'static str, fine: &'static str| {
        let h = &h;
        let p = p[0].clone();
        async move {
            h.verifica(&h.azienda(PIVA), cpo(&p, inizio, fine, "36.00"))
                .await
                .costo
                .expect("cost")
        }
    };
    let dicembre = costo("2026-12-31T08:00:00Z", "2026-12-31T12:00:00Z").await;
    assert_eq!(
        (dicembre.contributi_ivs.as_str(), dicembre.totale.as_str()),
        ("11.88", "49.63")
    );
    let gennaio = costo("2027-01-04T08:00:00Z", "2027-01-04T12:00:00Z").await;
    assert_eq!(gennaio.contributi_ivs, "12.60");
    h.fine().await;
    Ok(())
}

async fn pre_20_only_dg_publishes_and_only_a_year_not_yet_begun(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let t2027 = bozza(&h, 2027).await;
    for who in [
        h.prestatore(&persona_n(1).codice_fiscale),
        h.azienda(PIVA),
        h.op("RM"),
        h.intermediario(&persona_n(2).codice_fiscale),
    ] {
        let e = h
            .c()
            .publish_rule_table(who.req(pubblica("x", &t2027, "L. 1/2027")))
            .await
            .unwrap_err();
        let (code, reason, _, _) = errore(&e);
        assert_eq!(
            (code, reason.as_str()),
            (Code::PermissionDenied, "PRE_20_PUBLISH_DG_ONLY")
        );
    }
    // The year in force (its prestazioni were valued with its figures) and past years.
    for anno in [2026, 2025, 2017] {
        let e = h
            .c()
            .publish_rule_table(h.dg().req(pubblica("y", &bozza(&h, anno).await, "L. 1/2027")))
            .await
            .unwrap_err();
        let (code, reason, _, _) = errore(&e);
        assert_eq!(
            (code, reason.as_str()),
            (Code::FailedPrecondition, "PRE_20_YEAR_IN_FORCE"),
            "{anno}"
        );
    }
    // On 31 December 2026 at 23:30 Rome, 2027 has not begun; at 00:00 it has.
    h.set_ora("2026-12-31T22:30:00Z");
    ok(h.c()
        .publish_rule_table(h.dg().req(pubblica("z1", &t2027, "L. 1/2027")))
        .await);
    h.set_ora("2026-12-31T23:00:00Z");
    let e = h
        .c()
        .publish_rule_table(h.dg().req(pubblica("z2", &t2027, "L. 2/2027")))
        .await
        .unwrap_err();
    assert_eq!(errore(&e).1, "PRE_20_YEAR_IN_FORCE");
    // Too far ahead is a typo, not a law.
    let e = h
        .c()
        .publish_rule_table(h.dg().req(pubblica("z3", &bozza(&h, 2040).await, "L. 1/2027")))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), errore(&e).1.as_str()),
        (Code::InvalidArgument, "PRE_20_YEAR_TOO_FAR")
    );
    // The platform publishes too.
    ok(h.c()
        .publish_rule_table(h.servizio("portafoglio").req(pubblica(
            "s1",
            &bozza(&h, 2028).await,
            "L. 1/2028",
        )))
        .await);
    h.fine().await;
    Ok(())
}

async fn pre_20_a_bad_table_is_refused_field_by_field_and_changes_nothing(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let mut bad = bozza(&h, 2027).await;
    bad.aliquota_ivs = "33,00".into();
    bad.limite_coppia = "".into();
    bad.titolo_valore = "11.00".into();
    bad.giorno_pagamento = 31;
    bad.ateco_esclusi.push("4X".into());
    let e = h
        .c()
        .publish_rule_table(h.dg().req(pb::PublishRuleTableRequest {
            request_id: "".into(),
            rule_table: Some(bad),
            motivo: " ".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let campi = fields(&e);
    // Parsing first: the figures' consistency is judged once each of them reads.
    assert_eq!(
        campi,
        vec![
            "request_id",
            "motivo",
            "rule_table.limite_coppia",
            "rule_table.aliquota_ivs",
            "rule_table.titolo_valore",
        ]
    );
    // Consistency: each breach on its field.
    let mut incoerente = bozza(&h, 2027).await;
    incoerente.limite_coppia = "20000.00".into();
    incoerente.giorno_pagamento = 31;
    incoerente.ateco_esclusi.push("4X".into());
    incoerente.variazioni.push(pb::VariazioneRegola::default());
    let e = h
        .c()
        .publish_rule_table(h.dg().req(pubblica("b2", &incoerente, "L. 1/2027")))
        .await
        .unwrap_err();
    let campi = fields(&e);
    assert_eq!(campi, vec!["rule_table.variazioni"]);
    incoerente.variazioni.clear();
    let e = h
        .c()
        .publish_rule_table(h.dg().req(pubblica("b3", &incoerente, "L. 1/2027")))
        .await
        .unwrap_err();
    let campi = fields(&e);
    assert_eq!(
        campi,
        vec![
            "rule_table.limite_coppia",
            "rule_table.giorno_pagamento",
            "rule_table.ateco_esclusi[11]",
        ]
    );
    // Nothing was published: 2027 is still 2023's row.
    let r = tabella(&h, &h.dg(), 2027).await;
    assert_eq!(
        r.pubblicazione.expect("provenance").origine,
        "migrazione m0001_create_prestazioni"
    );
    assert_eq!(r.limite_coppia, "2500.00");
    h.fine().await;
    Ok(())
}

async fn pre_20_publications_are_idempotent_versioned_and_keep_later_years_true(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let mut t2027 = bozza(&h, 2027).await;
    t2027.limite_prestatore = "6000.00".into();
    let prima = ok(h
        .c()
        .publish_rule_table(h.dg().req(pubblica("a", &t2027, "L. 1/2027")))
        .await);
    // A retry answers the same publication.
    h.set_ora("2026-06-15T11:00:00Z");
    let di_nuovo = ok(h
        .c()
        .publish_rule_table(h.dg().req(pubblica("a", &t2027, "L. 1/2027")))
        .await);
    assert_eq!(di_nuovo, prima);
    // The same id for another table is a client's mistake.
    let mut altra = t2027.clone();
    altra.limite_prestatore = "7000.00".into();
    let e = h
        .c()
        .publish_rule_table(h.dg().req(pubblica("a", &altra, "L. 1/2027")))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), errore(&e).1.as_str()),
        (Code::AlreadyExists, "PRE_20_REQUEST_ID_REUSED")
    );
    // 2028 published from 2027's figures...
    let mut t2028 = t2027.clone();
    t2028.anno = 2028;
    t2028.limite_prestatore = "6500.00".into();
    let r2028 = ok(h
        .c()
        .publish_rule_table(h.dg().req(pubblica("b", &t2028, "L. 1/2028")))
        .await)
    .rule_table
    .expect("2028");
    assert_eq!(
        variazioni(&r2028),
        vec![v4("limite_prestatore", "6000.00", "6500.00", "L. 1/2028")]
    );
    // ...then 2027 republished (a corrected law): version 2, and 2028's changes now count from it.
    let r2027 = ok(h
        .c()
        .publish_rule_table(h.dg().req(pubblica("c", &altra, "L. 1/2027 (corretta)")))
        .await)
    .rule_table
    .expect("2027");
    assert_eq!(r2027.pubblicazione.as_ref().expect("provenance").versione, 2);
    assert_eq!(
        variazioni(&r2027),
        vec![v4(
            "limite_prestatore",
            "5000.00",
            "7000.00",
            "L. 1/2027 (corretta)"
        )]
    );
    let r2028 = tabella(&h, &h.dg(), 2028).await;
    assert_eq!(r2028.limite_prestatore, "6500.00");
    assert_eq!(
        variazioni(&r2028),
        vec![v4("limite_prestatore", "7000.00", "6500.00", "L. 1/2028")]
    );
    assert_eq!(r2028.pubblicazione.expect("provenance").versione, 1);
    // Concurrent publications of one year: each either commits as its own version or is asked
    // to retry; none is lost silently, none shares a version.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let mut c = h.c();
        let dg = h.dg();
        let mut t = t2027.clone();
        t.limite_prestatore = format!("{}.00", 6000 + i);
        tasks.push(tokio::spawn(async move {
            c.publish_rule_table(dg.req(pubblica(&format!("k{i}"), &t, "L. 1/2027")))
                .await
        }));
    }
    let mut versioni = Vec::new();
    for t in tasks {
        match t.await? {
            Ok(r) => versioni.push(
                r.into_inner()
                    .rule_table
                    .expect("t")
                    .pubblicazione
                    .expect("p")
                    .versione,
            ),
            Err(e) => assert_eq!(
                (e.code(), errore(&e).1.as_str()),
                (Code::Aborted, "PRE_20_CONCURRENT_PUBLICATION")
            ),
        }
    }
    let mut distinte = versioni.clone();
    distinte.sort();
    distinte.dedup();
    assert_eq!(distinte.len(), versioni.len(), "{versioni:?}");
    assert!(!versioni.is_empty());
    h.fine().await;
    Ok(())
}
