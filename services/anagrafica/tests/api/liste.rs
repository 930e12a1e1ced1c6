//! Lists for checks and reproducible samples (ANA-9).

use std::collections::HashMap;

use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::RuoloAttivo;
use occasionali_proto::anagrafica::sample_soggetti_attivi_request::Dimensione;
use occasionali_proto::prestazioni as pp;
use occasionali_runtime::Profile;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    ana_9_sede_operator_lists_only_its_sede,
    ana_9_sede_operator_cannot_ask_for_another_sede,
    ana_9_dg_lists_every_sede_or_the_one_asked,
    ana_9_lists_are_for_operators_only,
    ana_9_list_is_per_role,
    ana_9_prestatori_carry_the_categories_valid_in_the_period,
    ana_9_bad_list_requests_are_invalid,
    ana_9_list_fails_when_prestazioni_is_unavailable,
    ana_9_sample_of_a_size_is_reproducible,
    ana_9_sample_of_a_percentage_is_reproducible,
    ana_9_bad_sample_sizes_are_invalid,
);

const DAL: &str = "2026-01-01";
const AL: &str = "2026-05-31";

/// Three prestatori: two in RM (the first also an LF utilizzatore, with categories), one in
/// MI; prestazioni knows them and one CF the registry does not.
struct Mondo {
    p1: String,
    p2: String,
    p3: String,
}

async fn mondo(h: &Harness) -> Mondo {
    use pb::TipoCategoria as C;
    let mut r1 = prestatore(persona_n(1));
    r1.categorie = vec![
        categoria(C::Pensionato, "2025-01-01", ""),
        categoria(C::Studente, "2019-09-01", "2020-06-30"),
        categoria(C::Disoccupato, "2026-07-01", ""),
        categoria(C::IscrittoElenchiAgricoli, "2025-01-01", "2026-01-01"),
    ];
    let p1 = h.registra_prestatore(r1).await.codice_fiscale;
    h.registra_utilizzatore(&h.utilizzatore(&p1), lf(persona_n(1)))
        .await;
    let p2 = h
        .registra_prestatore(prestatore(persona_n(2)))
        .await
        .codice_fiscale;
    let mut r3 = prestatore(persona_n(3));
    r3.domicilio = Some(milano());
    let p3 = h.registra_prestatore(r3).await.codice_fiscale;
    let ignoto = cf_sconosciuto();
    h.fake.set_attivi(&[
        (p1.as_str(), 3),
        (p2.as_str(), 1),
        (p3.as_str(), 5),
        (ignoto.as_str(), 2),
    ]);
    Mondo { p1, p2, p3 }
}

fn lista(ruolo: RuoloAttivo, sede: &str) -> pb::StreamSoggettiAttiviRequest {
    pb::StreamSoggettiAttiviRequest {
        ruolo: ruolo as i32,
        periodo: Some(periodo(DAL, AL)),
        sede: sede.into(),
    }
}

async fn estrai(
    h: &Harness,
    who: &Chi,
    r: pb::StreamSoggettiAttiviRequest,
) -> Result<Vec<pb::SoggettoAttivo>, tonic::Status> {
    raccogli(h.c().stream_soggetti_attivi(who.req(r)).await, |m| m.soggetto).await
}

async fn campione(
    h: &Harness,
    who: &Chi,
    dimensione: Dimensione,
    seed: u64,
) -> Result<Vec<pb::SoggettoAttivo>, tonic::Status> {
    let r = pb::SampleSoggettiAttiviRequest {
        ruolo: RuoloAttivo::Prestatore as i32,
        periodo: Some(periodo(DAL, AL)),
        sede: String::new(),
        dimensione: Some(dimensione),
        seed,
    };
    raccogli(h.c().sample_soggetti_attivi(who.req(r)).await, |m| m.soggetto).await
}

fn numeri(list: &[pb::SoggettoAttivo]) -> HashMap<String, i64> {
    list.iter()
        .map(|s| (s.codice_fiscale.clone(), s.numero_prestazioni))
        .collect()
}

#[track_caller]
fn assert_status(r: Result<Vec<pb::SoggettoAttivo>, tonic::Status>, code: Code, rule: &str) -> tonic::Status {
    match r {
        Ok(v) => panic!("expected {code:?}, got {} subjects", v.len()),
        Err(s) => {
            assert_eq!(s.code(), code, "{}", s.message());
            if !rule.is_empty() {
                assert_eq!(rule_of(&s), rule);
            }
            s
        }
    }
}

async fn ana_9_sede_operator_lists_only_its_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let m = mondo(&h).await;
    let op = h.op("RM");
    for sede in ["", "RM", "rm"] {
        let list = estrai(&h, &op, lista(RuoloAttivo::Prestatore, sede)).await?;
        assert_eq!(
            numeri(&list),
            HashMap::from([(m.p1.clone(), 3), (m.p2.clone(), 1)]),
            "sede {sede:?}"
        );
        assert!(list.iter().all(|s| s.sede == "RM"));
    }
    let list = estrai(&h, &op, lista(RuoloAttivo::Prestatore, "")).await?;
    let p2 = list.iter().find(|s| s.codice_fiscale == m.p2).expect("p2");
    assert_eq!(p2.nominativo, "VERDI MARCO");

    // What anagrafica asked prestazioni, and as whom.
    let streams = h.fake.streams();
    assert_eq!(streams.len(), 4);
    let seen = &streams[0];
    assert_eq!(seen.request.ruolo, pp::RuoloSoggetto::Prestatore as i32);
    assert_eq!(seen.request.periodo, Some(periodo(DAL, AL)));
    let id = seen.identity.as_ref().expect("a verifiable identity");
    assert_eq!(id.caller.profile, Profile::Sistema);
    assert_eq!(id.origin.as_ref().map(|o| &o.caller), Some(&op.identity.caller));
    h.stop().await;
    Ok(())
}

async fn ana_9_sede_operator_cannot_ask_for_another_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    mondo(&h).await;
    let s = err(
        h.c()
            .stream_soggetti_attivi(h.op("RM").req(lista(RuoloAttivo::Prestatore, "MI")))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-9");
    let r = pb::SampleSoggettiAttiviRequest {
        ruolo: RuoloAttivo::Prestatore as i32,
        periodo: Some(periodo(DAL, AL)),
        sede: "MI".into(),
        dimensione: Some(Dimensione::Numero(1)),
        seed: 1,
    };
    let s = err(
        h.c().sample_soggetti_attivi(h.op("RM").req(r)).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-9");
    assert!(h.fake.streams().is_empty(), "nothing extracted");
    h.stop().await;
    Ok(())
}

async fn ana_9_dg_lists_every_sede_or_the_one_asked(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let m = mondo(&h).await;
    let list = estrai(&h, &h.dg(), lista(RuoloAttivo::Prestatore, "")).await?;
    assert_eq!(
        numeri(&list),
        HashMap::from([(m.p1.clone(), 3), (m.p2.clone(), 1), (m.p3.clone(), 5)])
    );
    let p3 = list.iter().find(|s| s.codice_fiscale == m.p3).expect("p3");
    assert_eq!(p3.sede, "MI");
    let list = estrai(&h, &h.dg(), lista(RuoloAttivo::Prestatore, "MI")).await?;
    assert_eq!(cfs(&list), vec![m.p3.clone()]);
    let list = estrai(&h, &h.op("MI"), lista(RuoloAttivo::Prestatore, "")).await?;
    assert_eq!(cfs(&list), vec![m.p3.clone()]);
    h.stop().await;
    Ok(())
}

async fn ana_9_lists_are_for_operators_only(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let m = mondo(&h).await;
    for who in [
        h.prestatore(&m.p1),
        h.utilizzatore(&m.p1),
        h.who(Profile::Intermediario, &m.p2, None),
    ] {
        let s = err(
            h.c()
                .stream_soggetti_attivi(who.req(lista(RuoloAttivo::Prestatore, "")))
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(rule_of(&s), "ANA-9");
        let r = pb::SampleSoggettiAttiviRequest {
            ruolo: RuoloAttivo::Prestatore as i32,
            periodo: Some(periodo(DAL, AL)),
            sede: String::new(),
            dimensione: Some(Dimensione::Numero(1)),
            seed: 1,
        };
        err(
            h.c().sample_soggetti_attivi(who.req(r)).await,
            Code::PermissionDenied,
        );
    }
    assert!(h.fake.streams().is_empty());
    h.stop().await;
    Ok(())
}

async fn ana_9_list_is_per_role(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let m = mondo(&h).await;
    let list = estrai(&h, &h.dg(), lista(RuoloAttivo::UtilizzatoreLf, "")).await?;
    assert_eq!(cfs(&list), vec![m.p1.clone()]);
    assert_eq!(
        h.fake.streams().last().map(|s| s.request.ruolo),
        Some(pp::RuoloSoggetto::UtilizzatoreLf as i32)
    );
    let list = estrai(&h, &h.dg(), lista(RuoloAttivo::UtilizzatoreCpo, "")).await?;
    assert!(list.is_empty());
    assert_eq!(
        h.fake.streams().last().map(|s| s.request.ruolo),
        Some(pp::RuoloSoggetto::UtilizzatoreCpo as i32)
    );
    h.stop().await;
    Ok(())
}

async fn ana_9_prestatori_carry_the_categories_valid_in_the_period(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let m = mondo(&h).await;
    let list = estrai(&h, &h.op("RM"), lista(RuoloAttivo::Prestatore, "")).await?;
    let p1 = list.iter().find(|s| s.codice_fiscale == m.p1).expect("p1");
    let mut got = p1.categorie.clone();
    got.sort_unstable();
    // Pensionato (open-ended) and the agricultural lists (ending on the first day) overlap the
    // period; the old student card and the future unemployment do not.
    assert_eq!(
        got,
        vec![
            pb::TipoCategoria::Pensionato as i32,
            pb::TipoCategoria::IscrittoElenchiAgricoli as i32
        ]
    );
    let p2 = list.iter().find(|s| s.codice_fiscale == m.p2).expect("p2");
    assert!(p2.categorie.is_empty());
    h.stop().await;
    Ok(())
}

async fn ana_9_bad_list_requests_are_invalid(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    mondo(&h).await;
    let dg = h.dg();
    let mut r = lista(RuoloAttivo::Prestatore, "");
    r.ruolo = 0;
    invalid(h.c().stream_soggetti_attivi(dg.req(r)).await, &["ruolo"], "ANA-9");
    let mut r = lista(RuoloAttivo::Prestatore, "");
    r.periodo = Some(periodo(AL, DAL));
    invalid(
        h.c().stream_soggetti_attivi(dg.req(r)).await,
        &["periodo.al"],
        "ANA-9",
    );
    let mut r = lista(RuoloAttivo::Prestatore, "");
    r.periodo = None;
    invalid(
        h.c().stream_soggetti_attivi(dg.req(r)).await,
        &["periodo.dal", "periodo.al"],
        "ANA-9",
    );
    let r = lista(RuoloAttivo::Prestatore, "XX");
    invalid(h.c().stream_soggetti_attivi(dg.req(r)).await, &["sede"], "ANA-5");
    let r = lista(RuoloAttivo::Prestatore, "XX");
    invalid(
        h.c().stream_soggetti_attivi(h.op("RM").req(r)).await,
        &["sede"],
        "ANA-5",
    );
    assert!(h.fake.streams().is_empty());
    h.stop().await;
    Ok(())
}

async fn ana_9_list_fails_when_prestazioni_is_unavailable(t: &TestDb) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    mondo(&h).await;
    h.stop_prestazioni().await;
    let r = estrai(&h, &h.dg(), lista(RuoloAttivo::Prestatore, "")).await;
    assert_status(r, Code::Unavailable, "");
    h.stop().await;
    Ok(())
}

/// 30 prestatori in RM, all with prestazioni, plus unregistered and MI noise.
async fn molti(h: &Harness) -> Vec<String> {
    let mut tutti = Vec::new();
    for i in 10..40 {
        tutti.push(
            h.registra_prestatore(prestatore(persona_n(i)))
                .await
                .codice_fiscale,
        );
    }
    let mut r = prestatore(persona_n(50));
    r.domicilio = Some(milano());
    let mi = h.registra_prestatore(r).await.codice_fiscale;
    let ignoto = cf_sconosciuto();
    let mut attivi: Vec<(&str, i64)> = tutti.iter().map(|cf| (cf.as_str(), 1)).collect();
    attivi.push((&mi, 4));
    attivi.push((&ignoto, 2));
    h.fake.set_attivi(&attivi);
    tutti.sort();
    tutti
}

fn in_ordine(list: &[pb::SoggettoAttivo]) -> Vec<String> {
    list.iter().map(|s| s.codice_fiscale.clone()).collect()
}

async fn ana_9_sample_of_a_size_is_reproducible(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let tutti = molti(&h).await;
    let op = h.op("RM");
    let a = campione(&h, &op, Dimensione::Numero(2), 42).await?;
    assert_eq!(a.len(), 2);
    assert!(
        cfs(&a).iter().all(|cf| tutti.contains(cf)),
        "only RM subjects with prestazioni"
    );
    assert!(a.iter().all(|s| s.sede == "RM" && s.numero_prestazioni == 1));
    let b = campione(&h, &op, Dimensione::Numero(2), 42).await?;
    assert_eq!(in_ordine(&a), in_ordine(&b), "same seed, same sample");
    // Whatever order prestazioni streams the list in.
    h.fake.set_reverse(true);
    let c = campione(&h, &op, Dimensione::Numero(2), 42).await?;
    assert_eq!(in_ordine(&a), in_ordine(&c), "independent of arrival order");
    h.fake.set_reverse(false);

    // Another seed draws independently (5 other seeds all giving the same 2 of 30: ~1e-13).
    let mut differs = false;
    for seed in 1..=5 {
        let other = campione(&h, &op, Dimensione::Numero(2), seed).await?;
        assert_eq!(other.len(), 2);
        differs |= cfs(&other) != cfs(&a);
    }
    assert!(differs, "other seeds draw other samples");

    // A sample larger than the list is the list.
    let all = campione(&h, &op, Dimensione::Numero(1000), 42).await?;
    assert_eq!(cfs(&all), tutti);
    // DG without a sede samples every sede.
    let all = campione(&h, &h.dg(), Dimensione::Numero(1000), 42).await?;
    assert_eq!(all.len(), 31);
    h.stop().await;
    Ok(())
}

async fn ana_9_sample_of_a_percentage_is_reproducible(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let tutti = molti(&h).await;
    let op = h.op("RM");
    let meta = || Dimensione::Percentuale("50".into());
    let a = campione(&h, &op, meta(), 7).await?;
    // 50% of 30: empty or all with probability 2^-29.
    assert!(
        !a.is_empty() && a.len() < tutti.len(),
        "{} of {}",
        a.len(),
        tutti.len()
    );
    assert!(cfs(&a).iter().all(|cf| tutti.contains(cf)));
    let b = campione(&h, &op, meta(), 7).await?;
    assert_eq!(cfs(&a), cfs(&b), "same seed, same sample");
    h.fake.set_reverse(true);
    let c = campione(&h, &op, meta(), 7).await?;
    assert_eq!(cfs(&a), cfs(&c), "independent of arrival order");
    h.fake.set_reverse(false);
    let mut differs = false;
    for seed in 100..103 {
        differs |= cfs(&campione(&h, &op, meta(), seed).await?) != cfs(&a);
    }
    assert!(differs, "other seeds draw other samples");

    let all = campione(&h, &op, Dimensione::Percentuale("100".into()), 7).await?;
    assert_eq!(cfs(&all), tutti);
    // Nested: a smaller share with the same seed is drawn from the larger one.
    let poco = campione(&h, &op, Dimensione::Percentuale("12.5".into()), 7).await?;
    assert!(cfs(&poco).iter().all(|cf| cfs(&a).contains(cf)));
    h.stop().await;
    Ok(())
}

async fn ana_9_bad_sample_sizes_are_invalid(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    molti(&h).await;
    let op = h.op("RM");
    for p in ["0", "101", "1.234", "-5", "abc", ""] {
        let s = assert_status(
            campione(&h, &op, Dimensione::Percentuale(p.into()), 1).await,
            Code::InvalidArgument,
            "ANA-9",
        );
        assert_eq!(fields(&s), vec!["percentuale".to_string()], "{p:?}");
    }
    for n in [0, -1, 100_001] {
        let s = assert_status(
            campione(&h, &op, Dimensione::Numero(n), 1).await,
            Code::InvalidArgument,
            "ANA-9",
        );
        assert_eq!(fields(&s), vec!["numero".to_string()], "{n}");
    }
    let r = pb::SampleSoggettiAttiviRequest {
        ruolo: RuoloAttivo::Prestatore as i32,
        periodo: Some(periodo(DAL, AL)),
        sede: String::new(),
        dimensione: None,
        seed: 1,
    };
    invalid(
        h.c().sample_soggetti_attivi(op.req(r)).await,
        &["numero"],
        "ANA-9",
    );
    assert!(h.fake.streams().is_empty());
    h.stop().await;
    Ok(())
}

both_engines!(ana_9_utilizzatore_lists_carry_no_prestatore_categories);

async fn ana_9_utilizzatore_lists_carry_no_prestatore_categories(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let m = mondo(&h).await;
    let list = estrai(&h, &h.dg(), lista(RuoloAttivo::UtilizzatoreLf, "")).await?;
    assert_eq!(cfs(&list), vec![m.p1.clone()]);
    assert!(list[0].categorie.is_empty(), "{:?}", list[0].categorie);
    h.stop().await;
    Ok(())
}
