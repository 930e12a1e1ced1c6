//! PRE-1..PRE-10, PRE-18: insertion, what-if and headroom.

use occasionali_proto::anagrafica as ana;
use occasionali_proto::portafoglio as por;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

both_engines!(
    pre_3_cpo_accepted_reserves_its_cost,
    pre_3_cpo_below_daily_minimum_is_refused,
    pre_3_cpo_notice_edge_is_60_minutes,
    pre_1_refusal_lists_every_rule_broken,
    pre_4_excluded_sector_and_employees_are_refused,
    pre_2_lf_deadline_is_the_3rd_of_next_month_rome,
    pre_8_pair_limit_refusal_says_used_and_left,
    pre_8_special_categories_count_75_percent_for_utilizzatore_only,
    pre_10_without_funds_rejected_and_limits_given_back,
    pre_18_retry_returns_same_prestazione_and_charges_once,
    pre_8_yearly_limits_reset_on_1_january_rome,
    pre_4_ateco_2025_event_company_may_have_25_employees,
    pre_18_retry_of_a_rejected_insertion_answers_the_same_refusal,
    pre_8_limit_refusal_carries_stato_limite_and_request_field_paths,
    pre_18_unavailable_but_committed_then_retried_with_the_same_id_is_charged_once,
);

const INIZIO: &str = "2026-06-16T07:00:00Z"; // 09:00 Rome
const FINE4: &str = "2026-06-16T11:00:00Z"; // 13:00 Rome

async fn pre_3_cpo_accepted_reserves_its_cost(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let x = h
        .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap();
    assert_eq!(x.stato, pb::StatoPrestazione::Accepted as i32);
    let c = x.costo.clone().unwrap();
    assert_eq!(
        (
            c.compenso.as_str(),
            c.contributi_ivs.as_str(),
            c.premio_inail.as_str(),
            c.oneri_gestione.as_str(),
            c.totale.as_str()
        ),
        ("36.00", "11.88", "1.26", "0.49", "49.63")
    );
    assert_eq!(x.data_prestazione, "2026-06-16");
    assert_eq!(x.luogo.as_ref().unwrap().comune_nome, "Roma");
    assert_eq!(x.durata_minuti, 240);
    // PRE-11: end of the 3rd day after, Rome: 2026-06-20 00:00 CEST.
    assert_eq!(x.revocabile_fino_al.unwrap(), ts("2026-06-19T22:00:00Z"));
    let r = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert_eq!(
        (r.disponibile.as_str(), r.riservato.as_str()),
        ("950.37", "49.63")
    );
    // POR-6: portafoglio's riepilogo reads the limits from GetHeadroom.
    assert_eq!(r.limiti.len(), 2, "{:?}", r.limiti);
    assert_eq!(
        (r.limiti[0].utilizzato.as_str(), r.limiti[0].residuo.as_str()),
        ("36.00", "9964.00")
    );
    assert_eq!(
        (r.limiti[1].prestatore_cf.as_str(), r.limiti[1].residuo.as_str()),
        (p[0].as_str(), "2464.00")
    );
    let ev: Vec<pb::PrestazioneInserita> = h.eventi("prestazioni.prestazione.inserita").await;
    assert_eq!(ev.len(), 1);
    // Headroom of the pair.
    let l = h.headroom(2026, &p[0], PIVA).await;
    let coppia = l
        .iter()
        .find(|l| l.tipo == pb::TipoLimite::Coppia as i32)
        .unwrap();
    assert_eq!(
        (coppia.utilizzato.as_str(), coppia.residuo.as_str()),
        ("36.00", "2464.00")
    );
    let ore = l
        .iter()
        .find(|l| l.tipo == pb::TipoLimite::OreCoppia as i32)
        .unwrap();
    assert_eq!((ore.utilizzato.as_str(), ore.residuo.as_str()), ("4", "276"));
    let u = h.headroom(2026, "", PIVA).await;
    assert_eq!(u[0].tipo, pb::TipoLimite::Utilizzatore as i32);
    assert_eq!(
        (u[0].limite.as_str(), u[0].residuo.as_str()),
        ("10000.00", "9964.00")
    );
    h.fine().await;
    Ok(())
}

async fn pre_3_cpo_below_daily_minimum_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    // Two hours at 18.00 meet the hourly minimum but not the daily one.
    let e = h
        .inserisci(
            &h.azienda(PIVA),
            "req-1",
            cpo(&p[0], INIZIO, "2026-06-16T09:00:00Z", "35.99"),
        )
        .await
        .unwrap_err();
    let (code, reason, _, _) = errore(&e);
    assert_eq!(
        (code, reason.as_str()),
        (Code::FailedPrecondition, "PRE_3_CPO_DAILY_MINIMUM")
    );
    // Exactly 36.00 passes.
    h.inserisci(
        &h.azienda(PIVA),
        "req-2",
        cpo(&p[0], INIZIO, "2026-06-16T09:00:00Z", "36.00"),
    )
    .await
    .unwrap();
    // More than four hours: only the hourly minimum (5 h → 45.00).
    let e = h
        .inserisci(
            &h.azienda(PIVA),
            "req-3",
            cpo(&p[0], INIZIO, "2026-06-16T12:00:00Z", "44.99"),
        )
        .await
        .unwrap_err();
    assert_eq!(errore(&e).1, "PRE_3_CPO_HOURLY_MINIMUM");
    h.inserisci(
        &h.azienda(PIVA),
        "req-4",
        cpo(&p[0], INIZIO, "2026-06-16T12:00:00Z", "45.00"),
    )
    .await
    .unwrap();
    h.fine().await;
    Ok(())
}

async fn pre_3_cpo_notice_edge_is_60_minutes(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    // Now 12:00 Rome; a start at 12:59 is too soon, 13:00 is fine.
    let e = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p[0], "2026-06-15T10:59:00Z", "2026-06-15T14:59:00Z", "36.00"),
        )
        .await
        .unwrap_err();
    assert_eq!(errore(&e).1, "PRE_3_CPO_NOTICE");
    h.inserisci(
        &h.azienda(PIVA),
        "b",
        cpo(&p[0], "2026-06-15T11:00:00Z", "2026-06-15T15:00:00Z", "36.00"),
    )
    .await
    .unwrap();
    h.fine().await;
    Ok(())
}

async fn pre_1_refusal_lists_every_rule_broken(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let mut d = cpo(&p[0], "2026-06-15T10:30:00Z", "2026-06-15T12:30:00Z", "10.00");
    d.dichiarazioni = Some(pb::Dichiarazioni {
        appalto: Some(true),
        rapporto_lavoro_recente: Some(true),
    });
    let e = h.inserisci(&h.azienda(PIVA), "x", d.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    for rule in ["PRE-3", "PRE-4", "PRE-5"] {
        assert!(e.message().contains(rule), "{rule} missing in {}", e.message());
    }
    let v = h.verifica(&h.azienda(PIVA), d).await;
    assert!(!v.ammissibile);
    let reasons: Vec<&str> = v.violazioni.iter().map(|v| v.reason.as_str()).collect();
    for r in [
        "PRE_3_CPO_NOTICE",
        "PRE_3_CPO_HOURLY_MINIMUM",
        "PRE_3_CPO_DAILY_MINIMUM",
        "PRE_4_APPALTO",
        "PRE_5_RECENT_EMPLOYMENT",
    ] {
        assert!(reasons.contains(&r), "{r} missing: {reasons:?}");
    }
    // Unset declarations are invalid arguments.
    let mut d = cpo(&p[0], INIZIO, FINE4, "36.00");
    d.dichiarazioni = None;
    let e = h.inserisci(&h.azienda(PIVA), "y", d).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // A prestatore cannot insert (PRE-19).
    let e = h
        .inserisci(&h.prestatore(&p[0]), "z", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    h.fine().await;
    Ok(())
}

async fn pre_4_excluded_sector_and_employees_are_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.azienda_cpo(ana::CategoriaUtilizzatore::Impresa, "43.21.01", 11)
        .await;
    let p = persona_n(1);
    h.registra_prestatore(&p, Vec::new()).await;
    let v = h
        .verifica(&h.azienda(PIVA), cpo(&p.codice_fiscale, INIZIO, FINE4, "36.00"))
        .await;
    let reasons: Vec<&str> = v.violazioni.iter().map(|v| v.reason.as_str()).collect();
    assert!(reasons.contains(&"PRE_4_EXCLUDED_SECTOR"), "{reasons:?}");
    assert!(reasons.contains(&"PRE_4_TOO_MANY_EMPLOYEES"), "{reasons:?}");
    h.fine().await;
    Ok(())
}

/// PRE-4/PRE-8: a company registered under the ATECO 2025 successor of a special sector
/// (82.30.09 continues 82.30.00) has the 25 employees and the 15,000 € of DL 48/2023.
async fn pre_4_ateco_2025_event_company_may_have_25_employees(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.azienda_cpo(ana::CategoriaUtilizzatore::Impresa, "82.30.09", 20)
        .await;
    h.finanzia("F24-1", PIVA, por::CodiceTributo::Cloc, "1000.00")
        .await;
    let p = persona_n(1);
    h.registra_prestatore(&p, Vec::new()).await;
    let a = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            cpo(&p.codice_fiscale, INIZIO, FINE4, "36.00"),
        )
        .await
        .unwrap();
    assert_eq!(a.stato, pb::StatoPrestazione::Accepted as i32);
    let l = h.headroom(2026, &p.codice_fiscale, PIVA).await;
    let u = l
        .iter()
        .find(|x| x.tipo == pb::TipoLimite::Utilizzatore as i32)
        .unwrap();
    assert_eq!(u.limite, "15000.00");
    h.fine().await;
    Ok(())
}

async fn pre_2_lf_deadline_is_the_3rd_of_next_month_rome(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let fam = persona_n(20);
    h.famiglia(&fam).await;
    h.finanzia(
        "F24-LF-1",
        &fam.codice_fiscale,
        por::CodiceTributo::Lifa,
        "100.00",
    )
    .await;
    let p = persona_n(1);
    h.registra_prestatore(&p, Vec::new()).await;
    let fw = h.utilizzatore(&fam.codice_fiscale);
    // 3 July 23:59 Rome (21:59Z): still in time for a June prestazione; 90 minutes → 2 titoli.
    h.set_ora("2026-07-03T21:59:59Z");
    let x = h
        .inserisci(
            &fw,
            "lf-1",
            lf(&fam.codice_fiscale, &p.codice_fiscale, "2026-06-30", 90),
        )
        .await
        .unwrap();
    assert_eq!(x.compenso, "16.00");
    assert_eq!(x.costo.unwrap().totale, "20.00");
    // 4 July 00:00 Rome: too late.
    h.set_ora("2026-07-03T22:00:00Z");
    let e = h
        .inserisci(
            &fw,
            "lf-2",
            lf(&fam.codice_fiscale, &p.codice_fiscale, "2026-06-29", 60),
        )
        .await
        .unwrap_err();
    assert_eq!(errore(&e).1, "PRE_2_LF_DEADLINE");
    // An LF utilizzatore cannot declare a CPO, and a company cannot use the LF.
    let mut d = cpo(
        &p.codice_fiscale,
        "2026-07-10T07:00:00Z",
        "2026-07-10T11:00:00Z",
        "36.00",
    );
    d.utilizzatore_cf = fam.codice_fiscale.clone();
    let e = h.inserisci(&fw, "lf-3", d).await.unwrap_err();
    assert_eq!(errore(&e).1, "PRE_3_NOT_CPO_UTILIZZATORE");
    h.fine().await;
    Ok(())
}

async fn pre_8_pair_limit_refusal_says_used_and_left(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "5000.00", 1).await;
    h.inserisci(&h.azienda(PIVA), "a", cpo(&p[0], INIZIO, FINE4, "2400.00"))
        .await
        .unwrap();
    let e = h
        .inserisci(
            &h.azienda(PIVA),
            "b",
            cpo(&p[0], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z", "100.01"),
        )
        .await
        .unwrap_err();
    let (code, reason, md, _) = errore(&e);
    assert_eq!(
        (code, reason.as_str()),
        (Code::FailedPrecondition, "PRE_8_LIMIT_COPPIA")
    );
    assert_eq!(md.get("limite").map(String::as_str), Some("coppia"));
    assert_eq!(md.get("utilizzato").map(String::as_str), Some("2400.00"));
    assert_eq!(md.get("residuo").map(String::as_str), Some("100.00"));
    // Exactly what is left passes.
    h.inserisci(
        &h.azienda(PIVA),
        "c",
        cpo(&p[0], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z", "100.00"),
    )
    .await
    .unwrap();
    h.fine().await;
    Ok(())
}

/// PRE-8: a limit refusal carries the StatoLimite of the crossed limit in its details (as the
/// proto promises), reads well, and names fields by their path in the request
/// (`prestazione.compenso`), like every other refusal of the context.
async fn pre_8_limit_refusal_carries_stato_limite_and_request_field_paths(t: &TestDb) -> anyhow::Result<()> {
    use prost::Message;
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "5000.00", 1).await;
    h.inserisci(&h.azienda(PIVA), "a", cpo(&p[0], INIZIO, FINE4, "2400.00"))
        .await
        .unwrap();
    let d = cpo(&p[0], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z", "100.01");
    let e = h.inserisci(&h.azienda(PIVA), "b", d.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(
        e.message(),
        "[PRE-8] the prestatore–utilizzatore pair limit for 2026 is 2500.00 €: used 2400.00 €, \
         left 100.00 €, requested 100.01 €"
    );
    let rpc = tonic_types::pb::Status::decode(e.details()).unwrap();
    let stati: Vec<pb::StatoLimite> = rpc
        .details
        .iter()
        .filter(|a| a.type_url == "type.googleapis.com/occasionali.prestazioni.v1.StatoLimite")
        .map(|a| pb::StatoLimite::decode(a.value.as_slice()).unwrap())
        .collect();
    assert_eq!(stati.len(), 1, "{rpc:?}");
    let s = &stati[0];
    assert_eq!(s.tipo, pb::TipoLimite::Coppia as i32);
    assert_eq!(
        (
            s.anno,
            s.limite.as_str(),
            s.utilizzato.as_str(),
            s.residuo.as_str()
        ),
        (2026, "2500.00", "2400.00", "100.00")
    );
    assert_eq!((s.richiesto.as_str(), s.superato), ("100.01", true));
    assert_eq!(s.prestatore_cf, p[0]);
    // The standard details are still there.
    let det = e.get_error_details();
    assert_eq!(
        det.error_info().map(|i| i.reason.as_str()),
        Some("PRE_8_LIMIT_COPPIA")
    );
    assert_eq!(fields(&e), vec!["prestazione.compenso"]);
    // A rule refusal and the what-if name the same path as decoding does.
    let d = cpo(&p[0], "2026-06-18T07:00:00Z", "2026-06-18T08:00:00Z", "9.00");
    let e = h.inserisci(&h.azienda(PIVA), "c", d.clone()).await.unwrap_err();
    assert_eq!(fields(&e), vec!["prestazione.compenso"]);
    assert_eq!(
        e.message(),
        "[PRE-3] at least 36.00 per day for prestazioni of at most 4 hours"
    );
    let v = h.verifica(&h.azienda(PIVA), d).await;
    let campi: Vec<&str> = v.violazioni.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(campi, vec!["prestazione.compenso"]);
    let mut bad = cpo(&p[0], INIZIO, FINE4, "x");
    bad.compenso = "abc".into();
    let e = h.inserisci(&h.azienda(PIVA), "d", bad).await.unwrap_err();
    assert_eq!(fields(&e), vec!["prestazione.compenso"]);
    h.fine().await;
    Ok(())
}

async fn pre_8_special_categories_count_75_percent_for_utilizzatore_only(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.azienda_cpo(ana::CategoriaUtilizzatore::Impresa, "56.10.11", 3)
        .await;
    h.finanzia("F24-1", PIVA, por::CodiceTributo::Cloc, "1000.00")
        .await;
    let p = persona_n(3);
    h.registra_prestatore(
        &p,
        vec![ana::CategoriaDichiarata {
            tipo: ana::TipoCategoria::Pensionato as i32,
            validita: Some(occasionali_proto::common::Periodo {
                dal: "2026-01-01".into(),
                al: String::new(),
            }),
            dettaglio: String::new(),
        }],
    )
    .await;
    h.inserisci(
        &h.azienda(PIVA),
        "a",
        cpo(&p.codice_fiscale, INIZIO, FINE4, "100.00"),
    )
    .await
    .unwrap();
    let l = h.headroom(2026, &p.codice_fiscale, PIVA).await;
    let get = |t: pb::TipoLimite| l.iter().find(|x| x.tipo == t as i32).unwrap().utilizzato.clone();
    assert_eq!(get(pb::TipoLimite::Utilizzatore), "75.00");
    assert_eq!(get(pb::TipoLimite::Coppia), "100.00");
    assert_eq!(get(pb::TipoLimite::Prestatore), "100.00");
    h.fine().await;
    Ok(())
}

async fn pre_10_without_funds_rejected_and_limits_given_back(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "49.62", 1).await;
    let e = h
        .inserisci(&h.azienda(PIVA), "a", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let l = h.headroom(2026, &p[0], PIVA).await;
    assert!(
        l.iter().all(|x| x.utilizzato == "0.00" || x.utilizzato == "0"),
        "{l:?}"
    );
    let lst = ok(h
        .c()
        .list_prestazioni(h.azienda(PIVA).req(pb::ListPrestazioniRequest::default()))
        .await)
    .prestazioni;
    assert_eq!(lst.len(), 1);
    assert_eq!(lst[0].stato, pb::StatoPrestazione::Rejected as i32);
    assert!(lst[0].motivo_rifiuto.starts_with("PRE-10"));
    h.fine().await;
    Ok(())
}

async fn pre_18_retry_returns_same_prestazione_and_charges_once(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let a = h
        .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap();
    let b = h
        .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap();
    assert_eq!(a.id, b.id);
    let r = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert_eq!(r.riservato, "49.63");
    let e = h
        .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "40.00"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let l = h.headroom(2026, &p[0], PIVA).await;
    let coppia = l
        .iter()
        .find(|l| l.tipo == pb::TipoLimite::Coppia as i32)
        .unwrap();
    assert_eq!(coppia.utilizzato, "36.00");
    h.fine().await;
    Ok(())
}

/// The retry contract (README "Retries and what an error means"): UNAVAILABLE says nothing about
/// whether the insertion happened. Here it did: the prestazione was committed (PENDING, its limit
/// share taken) and only the wallet could not be reached. The client retries with the same
/// request id, as the contract asks, and pays once; a new request id would have been a second
/// prestazione.
async fn pre_18_unavailable_but_committed_then_retried_with_the_same_id_is_charged_once(
    t: &TestDb,
) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let senza_portafoglio = h.add_instance_senza_portafoglio().await?;
    let mut c = h.c_nuovo(&senza_portafoglio).await;
    let e = c
        .insert_prestazione(h.azienda(PIVA).req(pb::InsertPrestazioneRequest {
            request_id: "req-1".into(),
            prestazione: Some(cpo(&p[0], INIZIO, FINE4, "36.00")),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // It happened: committed, counted toward the limits, waiting for the wallet.
    let lista = ok(h
        .c()
        .list_prestazioni(h.azienda(PIVA).req(pb::ListPrestazioniRequest::default()))
        .await)
    .prestazioni;
    assert_eq!(lista.len(), 1);
    assert_eq!(lista[0].stato, pb::StatoPrestazione::Pending as i32);
    // The retry, same id, where the wallet answers: the same prestazione, now accepted.
    let x = h
        .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap();
    assert_eq!(x.id, lista[0].id);
    assert_eq!(x.stato, pb::StatoPrestazione::Accepted as i32);
    // Charged once: one reservation, one limit share.
    let r = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert_eq!(r.riservato, "49.63");
    let l = h.headroom(2026, &p[0], PIVA).await;
    let coppia = l
        .iter()
        .find(|l| l.tipo == pb::TipoLimite::Coppia as i32)
        .unwrap();
    assert_eq!(coppia.utilizzato, "36.00");
    let lista = ok(h
        .c()
        .list_prestazioni(h.azienda(PIVA).req(pb::ListPrestazioniRequest::default()))
        .await)
    .prestazioni;
    assert_eq!(lista.len(), 1);
    h.fine().await;
    Ok(())
}

/// PRE-18: a retry gives back the first answer: a REJECTED insertion (no funds, PRE-10) is
/// refused again with the same code, message and details, never OK with `stato: REJECTED`, and
/// nothing is charged or counted.
async fn pre_18_retry_of_a_rejected_insertion_answers_the_same_refusal(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "49.62", 1).await;
    let prima = h
        .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap_err();
    assert_eq!(prima.code(), Code::FailedPrecondition);
    for _ in 0..2 {
        let di_nuovo = h
            .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "36.00"))
            .await
            .unwrap_err();
        assert_eq!(di_nuovo.code(), prima.code());
        assert_eq!(di_nuovo.message(), prima.message());
        assert_eq!(di_nuovo.details(), prima.details());
        assert_eq!(errore(&di_nuovo), errore(&prima));
    }
    // Funds arriving later do not turn the refused request into an accepted one.
    h.finanzia("F24-CPO-2", PIVA, por::CodiceTributo::Cloc, "100.00")
        .await;
    let e = h
        .inserisci(&h.azienda(PIVA), "req-1", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap_err();
    assert_eq!(errore(&e), errore(&prima));
    let r = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert!(r.riservato == "0.00" || r.riservato.is_empty(), "{r:?}");
    let l = h.headroom(2026, &p[0], PIVA).await;
    assert!(
        l.iter().all(|x| x.utilizzato == "0.00" || x.utilizzato == "0"),
        "{l:?}"
    );
    h.fine().await;
    Ok(())
}

async fn pre_8_yearly_limits_reset_on_1_january_rome(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "5000.00", 1).await;
    h.set_ora("2026-12-30T10:00:00Z");
    // 31 Dec 22:00–23:30 Rome counts for 2026; 1 Jan 00:00 Rome (31 Dec 23:00Z) for 2027.
    h.inserisci(
        &h.azienda(PIVA),
        "a",
        cpo(&p[0], "2026-12-31T21:00:00Z", "2026-12-31T22:30:00Z", "2500.00"),
    )
    .await
    .unwrap();
    let x = h
        .inserisci(
            &h.azienda(PIVA),
            "b",
            cpo(&p[0], "2026-12-31T23:00:00Z", "2027-01-01T01:00:00Z", "36.00"),
        )
        .await
        .unwrap();
    assert_eq!(x.data_prestazione, "2027-01-01");
    let e = h
        .inserisci(
            &h.azienda(PIVA),
            "c",
            cpo(&p[0], "2026-12-31T20:00:00Z", "2026-12-31T20:30:00Z", "36.00"),
        )
        .await
        .unwrap_err();
    assert_eq!(errore(&e).1, "PRE_8_LIMIT_COPPIA");
    h.fine().await;
    Ok(())
}

both_engines!(
    pre_6_pa_purpose_is_mandatory,
    pre_7_agriculture_only_up_to_2022_with_special_prestatori
);

async fn pre_6_pa_purpose_is_mandatory(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.azienda_cpo(
        ana::CategoriaUtilizzatore::PubblicaAmministrazione,
        "84.11.10",
        50,
    )
    .await;
    let p = persona_n(1);
    h.registra_prestatore(&p, Vec::new()).await;
    let d = cpo(&p.codice_fiscale, INIZIO, FINE4, "36.00");
    let v = h.verifica(&h.azienda(PIVA), d.clone()).await;
    let reasons: Vec<&str> = v.violazioni.iter().map(|v| v.reason.as_str()).collect();
    assert!(reasons.contains(&"PRE_6_PA_PURPOSE_REQUIRED"), "{reasons:?}");
    let mut d = d;
    if let Some(pb::dati_prestazione::Dettaglio::Cpo(c)) = &mut d.dettaglio {
        c.finalita_pa = pb::FinalitaPa::Manifestazioni as i32;
    }
    let v = h.verifica(&h.azienda(PIVA), d).await;
    assert!(
        !v.violazioni.iter().any(|v| v.rule_id == "PRE-6"),
        "{:?}",
        v.violazioni
    );
    h.fine().await;
    Ok(())
}

fn finestra(prestatore: &str, dal: &str, al: &str, compenso: &str) -> pb::DatiPrestazione {
    let mut d = cpo(prestatore, INIZIO, FINE4, compenso);
    if let Some(pb::dati_prestazione::Dettaglio::Cpo(c)) = &mut d.dettaglio {
        c.inizio = None;
        c.fine = None;
        c.finestra_agricola = Some(pb::FinestraAgricola {
            periodo: Some(occasionali_proto::common::Periodo {
                dal: dal.into(),
                al: al.into(),
            }),
            durata_minuti: 8 * 60,
        });
    }
    d
}

async fn pre_7_agriculture_only_up_to_2022_with_special_prestatori(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.set_ora("2022-06-15T10:00:00Z");
    h.azienda_cpo(ana::CategoriaUtilizzatore::ImpresaAgricola, "01.11.00", 2)
        .await;
    let qualunque = persona_n(1);
    h.registra_prestatore(&qualunque, Vec::new()).await;
    let pensionato = persona_n(2);
    h.registra_prestatore(
        &pensionato,
        vec![ana::CategoriaDichiarata {
            tipo: ana::TipoCategoria::Pensionato as i32,
            validita: Some(occasionali_proto::common::Periodo {
                dal: "2022-01-01".into(),
                al: String::new(),
            }),
            dettaglio: String::new(),
        }],
    )
    .await;
    let v = h
        .verifica(
            &h.azienda(PIVA),
            finestra(&qualunque.codice_fiscale, "2022-06-20", "2022-06-22", "80.00"),
        )
        .await;
    let reasons: Vec<&str> = v.violazioni.iter().map(|v| v.reason.as_str()).collect();
    assert_eq!(reasons, vec!["PRE_7_AGRICULTURAL_PRESTATORE"]);
    let v = h
        .verifica(
            &h.azienda(PIVA),
            finestra(&pensionato.codice_fiscale, "2022-06-20", "2022-06-22", "80.00"),
        )
        .await;
    assert!(v.ammissibile, "{:?}", v.violazioni);
    // Four days is beyond the window; in 2026 agriculture is excluded.
    let v = h
        .verifica(
            &h.azienda(PIVA),
            finestra(&pensionato.codice_fiscale, "2022-06-20", "2022-06-23", "80.00"),
        )
        .await;
    assert!(
        v.violazioni
            .iter()
            .any(|v| v.reason == "PRE_3_AGRICULTURAL_WINDOW_TOO_LONG")
    );
    h.set_ora("2026-06-15T10:00:00Z");
    let v = h
        .verifica(
            &h.azienda(PIVA),
            cpo(&pensionato.codice_fiscale, INIZIO, FINE4, "36.00"),
        )
        .await;
    let reasons: Vec<&str> = v.violazioni.iter().map(|v| v.reason.as_str()).collect();
    assert!(reasons.contains(&"PRE_4_AGRICULTURE_EXCLUDED"), "{reasons:?}");
    h.fine().await;
    Ok(())
}

both_engines!(
    pre_19_intermediary_with_delega_inserts_for_the_utilizzatore,
    pre_3_agricultural_window_duration_fits_the_window,
);

/// PRE-3: the hours declared in an agricultural window fit in it: a one-day window holds at most
/// 24 hours (50 hours are refused), a three-day window 72.
async fn pre_3_agricultural_window_duration_fits_the_window(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    h.set_ora("2022-06-15T10:00:00Z");
    h.azienda_cpo(ana::CategoriaUtilizzatore::ImpresaAgricola, "01.11.00", 2)
        .await;
    h.finanzia("F24-1", PIVA, por::CodiceTributo::Cloc, "2000.00")
        .await;
    let pensionato = persona_n(2);
    h.registra_prestatore(
        &pensionato,
        vec![ana::CategoriaDichiarata {
            tipo: ana::TipoCategoria::Pensionato as i32,
            validita: Some(occasionali_proto::common::Periodo {
                dal: "2022-01-01".into(),
                al: String::new(),
            }),
            dettaglio: String::new(),
        }],
    )
    .await;
    let con_durata = |dal: &str, al: &str, minuti: i32, compenso: &str| {
        let mut d = finestra(&pensionato.codice_fiscale, dal, al, compenso);
        if let Some(pb::dati_prestazione::Dettaglio::Cpo(c)) = &mut d.dettaglio
            && let Some(f) = &mut c.finestra_agricola
        {
            f.durata_minuti = minuti;
        }
        d
    };
    let e = h
        .inserisci(
            &h.azienda(PIVA),
            "a",
            con_durata("2022-06-20", "2022-06-20", 3000, "400.00"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(
        violazioni(&e),
        vec![(
            "prestazione.cpo.finestra_agricola.durata_minuti".to_string(),
            "PRE_3_DURATION_BEYOND_WINDOW".to_string()
        )]
    );
    let e = h
        .c()
        .check_prestazione(h.azienda(PIVA).req(pb::CheckPrestazioneRequest {
            prestazione: Some(con_durata("2022-06-20", "2022-06-22", 72 * 60 + 1, "500.00")),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // The whole window is possible.
    let v = h
        .verifica(
            &h.azienda(PIVA),
            con_durata("2022-06-20", "2022-06-20", 24 * 60, "160.00"),
        )
        .await;
    assert!(v.ammissibile, "{:?}", v.violazioni);
    let v = h
        .verifica(
            &h.azienda(PIVA),
            con_durata("2022-06-20", "2022-06-22", 72 * 60, "480.00"),
        )
        .await;
    assert!(v.ammissibile, "{:?}", v.violazioni);
    h.fine().await;
    Ok(())
}

async fn pre_19_intermediary_with_delega_inserts_for_the_utilizzatore(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "1000.00", 1).await;
    let consulente = persona_n(30).codice_fiscale;
    let who = h.intermediario(&consulente);
    // Without a delega: refused.
    let e = h
        .inserisci(&who, "a", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let who = who.per_conto_di(PIVA, "intermediario_utilizzatore");
    let x = h
        .inserisci(&who, "a", cpo(&p[0], INIZIO, FINE4, "36.00"))
        .await
        .unwrap();
    assert_eq!(x.inserita_da_cf, consulente);
    assert_eq!(x.stato, pb::StatoPrestazione::Accepted as i32);
    h.fine().await;
    Ok(())
}
