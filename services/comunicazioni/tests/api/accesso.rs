//! Who sees and sends what (LAO-1) and searches (LAO-2).

use occasionali_kernel::Sesso;
use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::Profile;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    lao_1_azienda_sees_and_sends_only_its_company,
    lao_1_soggetto_abilitato_opens_others_only_with_three_keys,
    lao_1_operators_read_everything_and_send_nothing,
    lao_1_other_profiles_are_refused,
    lao_2_search_needs_a_key,
    lao_2_search_shows_every_chain_member_with_type_and_head,
    lao_2_search_pages_through_every_match,
    lao_1_soggetto_abilitato_cancels_with_the_three_keys,
    lao_2_search_says_which_actions_each_row_allows,
    lao_1_list_profili_operativi,
    lao_1_legal_representative_acts_for_the_company_and_is_the_compilatore,
);

/// A soggetto abilitato (a labour consultant): a natural person.
fn consulente(i: usize) -> String {
    lavoratore(
        ["Bruno", "Gallo"][i % 2],
        "Franco",
        "1970-02-02",
        Sesso::M,
        "H501",
    )
    .codice_fiscale
}

async fn lao_1_azienda_sees_and_sends_only_its_company(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (a, b) = (h.azienda(PIVA), h.azienda(PIVA_B));
    let w = lavoratore_n(1);
    let ca = h.inserisci(&a, preventiva("", w.clone())).await;
    let cb = h.inserisci(&b, preventiva(PIVA_B, w.clone())).await;
    assert_eq!(ca.committente.as_ref().unwrap().codice_fiscale, PIVA);
    // Sending for another company is refused.
    let s = err(
        h.c()
            .insert_comunicazione(a.req(preventiva(PIVA_B, w.clone())))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "LAO_1_OTHER_COMMITTENTE");
    // Each company sees its own, not the other's.
    ok(h.c().get_comunicazione(a.req(get(&codice(&ca)))).await);
    let s = err(
        h.c().get_comunicazione(a.req(get(&codice(&cb)))).await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "LAO_1_OTHER_COMMITTENTE");
    // Not even with all three keys: those are for soggetti abilitati.
    err(
        h.c()
            .get_comunicazione(a.req(get3(&codice(&cb), PIVA_B, &w.codice_fiscale)))
            .await,
        Code::PermissionDenied,
    );
    err(
        h.ricevuta(&a, ricevuta_di(&codice(&cb)))
            .await
            .map(tonic::Response::new),
        Code::PermissionDenied,
    );
    // A search by worker finds only the company's own; naming another company is refused.
    let found = ok(h
        .c()
        .search_comunicazioni(a.req(per_lavoratore(&w.codice_fiscale)))
        .await)
    .comunicazioni;
    assert_eq!(
        found
            .iter()
            .map(|s| s.codice_comunicazione.clone())
            .collect::<Vec<_>>(),
        [codice(&ca)]
    );
    let found = ok(h.c().search_comunicazioni(a.req(per_codice(&codice(&cb)))).await).comunicazioni;
    assert!(found.is_empty());
    err(
        h.c().search_comunicazioni(a.req(per_committente(PIVA_B))).await,
        Code::PermissionDenied,
    );
    // Nor vary or cancel it.
    err(
        h.c()
            .vary_comunicazione(a.req(variazione(&codice(&cb), &ca)))
            .await,
        Code::PermissionDenied,
    );
    err(
        h.c()
            .cancel_comunicazione(a.req(annullamento(&codice(&cb))))
            .await,
        Code::PermissionDenied,
    );
    // Its own, yes.
    h.annulla(&a, &codice(&ca)).await;
    h.stop().await;
    Ok(())
}

async fn lao_1_soggetto_abilitato_opens_others_only_with_three_keys(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (sa1, sa2) = (
        h.soggetto_abilitato(&consulente(0)),
        h.soggetto_abilitato(&consulente(1)),
    );
    let w = lavoratore_n(2);
    let c = h.inserisci(&sa1, preventiva(PIVA, w.clone())).await;
    assert_eq!(invio(&c).compilatore_cf, sa1.cf());
    let k = codice(&c);
    // The compilatore sees it by codice alone and in its searches.
    ok(h.c().get_comunicazione(sa1.req(get(&k))).await);
    let mine = ok(h.c().search_comunicazioni(sa1.req(per_committente(PIVA))).await).comunicazioni;
    assert_eq!(mine.len(), 1);
    // Another soggetto abilitato: not by codice, not with two keys out of three.
    for r in [get(&k), get3(&k, PIVA, ""), get3(&k, "", &w.codice_fiscale)] {
        let s = err(h.c().get_comunicazione(sa2.req(r)).await, Code::PermissionDenied);
        assert_eq!(reason_of(&s), "LAO_1_THREE_KEYS_REQUIRED");
    }
    // With the three keys, yes: detail, receipt and search.
    let r = ok(h
        .c()
        .get_comunicazione(sa2.req(get3(&k, PIVA, &w.codice_fiscale)))
        .await);
    assert_eq!(r.comunicazione.map(|c| codice(&c)), Some(k.clone()));
    let pdf = h
        .ricevuta(
            &sa2,
            pb::DownloadRicevutaRequest {
                codice_comunicazione: k.clone(),
                committente_cf: PIVA.into(),
                lavoratore_cf: w.codice_fiscale.clone(),
            },
        )
        .await?;
    assert!(pdf.pdf.starts_with(b"%PDF"));
    let tre = pb::SearchComunicazioniRequest {
        codice_comunicazione: k.clone(),
        committente_cf: PIVA.into(),
        lavoratore_cf: w.codice_fiscale.clone(),
        ..Default::default()
    };
    assert_eq!(
        ok(h.c().search_comunicazioni(sa2.req(tre)).await)
            .comunicazioni
            .len(),
        1
    );
    // Its searches by committente or worker alone do not show it.
    assert!(
        ok(h.c().search_comunicazioni(sa2.req(per_committente(PIVA))).await)
            .comunicazioni
            .is_empty()
    );
    assert!(
        ok(h.c()
            .search_comunicazioni(sa2.req(per_lavoratore(&w.codice_fiscale)))
            .await)
        .comunicazioni
        .is_empty()
    );
    // Three keys that do not belong together find nothing.
    let altro = lavoratore_n(3).codice_fiscale;
    err(
        h.c().get_comunicazione(sa2.req(get3(&k, PIVA, &altro))).await,
        Code::NotFound,
    );
    err(
        h.c().get_comunicazione(sa1.req(get3(&k, PIVA_B, ""))).await,
        Code::NotFound,
    );
    // Cancelling by codice alone needs a communication of the chain it compiled.
    let s = err(
        h.c().cancel_comunicazione(sa2.req(annullamento(&k))).await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "LAO_1_THREE_KEYS_REQUIRED");
    // A variation carries the three keys: sa2 may take the chain over, and then cancel it.
    let mut v = variazione(&k, &c);
    v.rapporto.as_mut().unwrap().descrizione = "Ripresa dal nuovo consulente".into();
    let vv = h.varia(&sa2, v).await;
    assert_eq!(invio(&vv).compilatore_cf, sa2.cf());
    // sa1 still sees its P, but not sa2's V by codice alone...
    err(
        h.c().get_comunicazione(sa1.req(get(&codice(&vv)))).await,
        Code::PermissionDenied,
    );
    // ...yet may still act on the chain it started.
    let a = h.annulla(&sa1, &codice(&vv)).await;
    assert_eq!(invio(&a).tipo, pb::TipoComunicazione::Annullamento as i32);
    h.stop().await;
    Ok(())
}

async fn lao_1_operators_read_everything_and_send_nothing(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let w = lavoratore_n(4);
    let c = h.inserisci(&a, preventiva("", w.clone())).await;
    let k = codice(&c);
    for op in [h.dg(), h.op("RM")] {
        ok(h.c().get_comunicazione(op.req(get(&k))).await);
        assert_eq!(
            ok(h.c()
                .search_comunicazioni(op.req(per_lavoratore(&w.codice_fiscale)))
                .await)
            .comunicazioni
            .len(),
            1
        );
        assert!(h.ricevuta(&op, ricevuta_di(&k)).await.is_ok());
        for s in [
            err(
                h.c()
                    .insert_comunicazione(op.req(preventiva(PIVA, w.clone())))
                    .await,
                Code::PermissionDenied,
            ),
            err(
                h.c().vary_comunicazione(op.req(variazione(&k, &c))).await,
                Code::PermissionDenied,
            ),
            err(
                h.c().cancel_comunicazione(op.req(annullamento(&k))).await,
                Code::PermissionDenied,
            ),
        ] {
            assert_eq!(reason_of(&s), "LAO_1_OPERATOR_READ_ONLY");
        }
    }
    h.stop().await;
    Ok(())
}

async fn lao_1_other_profiles_are_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let w = lavoratore_n(5);
    let c = h.inserisci(&a, preventiva("", w.clone())).await;
    let k = codice(&c);
    for p in [
        Profile::Prestatore,
        Profile::Utilizzatore,
        Profile::Intermediario,
        Profile::Sistema,
    ] {
        // The platform's identity is one a process signs for itself (issue 14).
        let who = match p {
            Profile::Sistema => h.servizio("gateway"),
            p => h.who(p, &w.codice_fiscale, None),
        };
        for s in [
            err(
                h.c()
                    .insert_comunicazione(who.req(preventiva(PIVA, w.clone())))
                    .await,
                Code::PermissionDenied,
            ),
            err(
                h.c().get_comunicazione(who.req(get(&k))).await,
                Code::PermissionDenied,
            ),
            err(
                h.c().search_comunicazioni(who.req(per_codice(&k))).await,
                Code::PermissionDenied,
            ),
            err(
                h.c().cancel_comunicazione(who.req(annullamento(&k))).await,
                Code::PermissionDenied,
            ),
        ] {
            assert_eq!(reason_of(&s), "LAO_1_PROFILE", "{p}");
        }
    }
    // Without a verified identity: UNAUTHENTICATED.
    err(
        h.c().get_comunicazione(tonic::Request::new(get(&k))).await,
        Code::Unauthenticated,
    );
    h.stop().await;
    Ok(())
}

async fn lao_2_search_needs_a_key(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let s = invalid_motivi(
        h.c()
            .search_comunicazioni(h.dg().req(pb::SearchComunicazioniRequest::default()))
            .await,
        &[
            ("codice_comunicazione", "LAO_2_KEY_REQUIRED"),
            ("committente_cf", "LAO_2_KEY_REQUIRED"),
            ("lavoratore_cf", "LAO_2_KEY_REQUIRED"),
        ],
    );
    assert_eq!(rule_of(&s), "LAO-2");
    // Page size alone is no key; a malformed CF is ANA-2.
    invalid_motivi(
        h.c()
            .search_comunicazioni(h.dg().req(pb::SearchComunicazioniRequest {
                lavoratore_cf: "RSSMRA85T10A562X".into(),
                page_size: -1,
                ..Default::default()
            }))
            .await,
        &[
            ("lavoratore_cf", "ANA_2_CF_CHECK_CHARACTER"),
            ("page_size", "LAO_2_PAGE_SIZE"),
        ],
    );
    h.stop().await;
    Ok(())
}

async fn lao_2_search_shows_every_chain_member_with_type_and_head(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let w = lavoratore_n(6);
    let p = h.inserisci(&a, preventiva("", w.clone())).await;
    let mut r = variazione(&codice(&p), &p);
    r.rapporto.as_mut().unwrap().compenso_stimato = "1800.00".into();
    let v = h.varia(&a, r).await;
    let an = h.annulla(&a, &codice(&v)).await;
    let altra = h.inserisci(&a, preventiva("", w.clone())).await;

    let found = h.cerca(per_lavoratore(&w.codice_fiscale)).await;
    let rows: Vec<(String, i32, bool, String)> = found
        .iter()
        .map(|s| {
            (
                s.codice_comunicazione.clone(),
                s.tipo,
                s.is_head,
                s.codice_comunicazione_precedente.clone(),
            )
        })
        .collect();
    use pb::TipoComunicazione as T;
    assert_eq!(
        rows,
        vec![
            (codice(&altra), T::Preventiva as i32, true, String::new()),
            (codice(&an), T::Annullamento as i32, true, codice(&v)),
            (codice(&v), T::Variazione as i32, false, codice(&p)),
            (codice(&p), T::Preventiva as i32, false, String::new()),
        ],
        "newest first, every member, varied and cancelled ones included"
    );
    let s = &found[1];
    assert_eq!(s.committente_cf, PIVA);
    assert_eq!(s.committente_denominazione, "Officine Meccaniche Lombarde SpA");
    assert_eq!(s.lavoratore_cf, w.codice_fiscale);
    assert_eq!(s.lavoratore_nominativo, "ROMANO MARCO");
    assert_eq!(s.data_inizio, "2026-06-20");
    assert_eq!(s.data_invio, OGGI);
    assert_eq!(s.durata, pb::DurataRapporto::Giorni15 as i32);
    assert_eq!(s.compilatore_cf, PIVA);
    // By codice: that one only, with its head flag.
    let by_code = h.cerca(per_codice(&codice(&p))).await;
    assert_eq!(by_code.len(), 1);
    assert!(!by_code[0].is_head);
    // By committente and worker together.
    let both = h
        .cerca(pb::SearchComunicazioniRequest {
            committente_cf: PIVA.into(),
            lavoratore_cf: w.codice_fiscale.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(both.len(), 4);
    assert!(h.cerca(per_committente(PIVA_B)).await.is_empty());
    // The detail of the P shows its successor and the whole chain.
    let d = h.leggi(&codice(&p)).await;
    let c = d.comunicazione.unwrap();
    assert!(!c.is_head);
    assert_eq!(c.codice_comunicazione_successiva, codice(&v));
    let chain: Vec<String> = d.catena.iter().map(|s| s.codice_comunicazione.clone()).collect();
    assert_eq!(chain, [codice(&p), codice(&v), codice(&an)]);
    h.stop().await;
    Ok(())
}

async fn lao_2_search_pages_through_every_match(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let w = lavoratore_n(7);
    let mut sent = Vec::new();
    for _ in 0..7 {
        sent.push(codice(&h.inserisci(&a, preventiva("", w.clone())).await));
    }
    sent.reverse();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = ok(h
            .c()
            .search_comunicazioni(a.req(pb::SearchComunicazioniRequest {
                lavoratore_cf: w.codice_fiscale.clone(),
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            }))
            .await);
        pages += 1;
        seen.extend(r.comunicazioni.iter().map(|s| s.codice_comunicazione.clone()));
        if r.next_page_token.is_empty() {
            break;
        }
        // A token is bound to its search.
        invalid_motivi(
            h.c()
                .search_comunicazioni(a.req(pb::SearchComunicazioniRequest {
                    committente_cf: PIVA.into(),
                    page_size: 3,
                    page_token: r.next_page_token.clone(),
                    ..Default::default()
                }))
                .await,
            &[("page_token", "LAO_2_PAGE_TOKEN")],
        );
        token = r.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, sent);
    // Default page size is 50: all seven in one page.
    assert_eq!(
        ok(h.c()
            .search_comunicazioni(a.req(per_lavoratore(&w.codice_fiscale)))
            .await)
        .comunicazioni
        .len(),
        7
    );
    h.stop().await;
    Ok(())
}

/// The manual's flow: search with the three keys, then Annulla (LAO-1, LAO-9).
async fn lao_1_soggetto_abilitato_cancels_with_the_three_keys(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (sa1, sa2) = (
        h.soggetto_abilitato(&consulente(0)),
        h.soggetto_abilitato(&consulente(1)),
    );
    let w = lavoratore_n(5);
    let c = h.inserisci(&sa1, preventiva(PIVA, w.clone())).await;
    let k = codice(&c);
    let tre = pb::SearchComunicazioniRequest {
        codice_comunicazione: k.clone(),
        committente_cf: PIVA.into(),
        lavoratore_cf: w.codice_fiscale.clone(),
        ..Default::default()
    };
    let found = ok(h.c().search_comunicazioni(sa2.req(tre)).await).comunicazioni;
    assert_eq!(found.len(), 1);
    assert!(found[0].annullabile);
    let annulla3 = |committente: &str, lavoratore: &str| pb::CancelComunicazioneRequest {
        committente_cf: committente.into(),
        lavoratore_cf: lavoratore.into(),
        ..annullamento(&k)
    };
    // Two keys out of three: refused as a search or a detail would be.
    for r in [
        annulla3(PIVA, ""),
        annulla3("", &w.codice_fiscale),
        annullamento(&k),
    ] {
        let s = err(
            h.c().cancel_comunicazione(sa2.req(r)).await,
            Code::PermissionDenied,
        );
        assert_eq!(reason_of(&s), "LAO_1_THREE_KEYS_REQUIRED");
    }
    // Keys that do not belong together: NOT_FOUND, as an unknown codice (even for the compilatore).
    let altro = lavoratore_n(6).codice_fiscale;
    err(
        h.c().cancel_comunicazione(sa2.req(annulla3(PIVA, &altro))).await,
        Code::NotFound,
    );
    err(
        h.c().cancel_comunicazione(sa1.req(annulla3(PIVA_B, ""))).await,
        Code::NotFound,
    );
    // The three keys: cancelled, compiled by sa2, nothing else changed.
    let a = ok(h
        .c()
        .cancel_comunicazione(sa2.req(annulla3(PIVA, &w.codice_fiscale)))
        .await)
    .comunicazione
    .expect("comunicazione");
    assert_eq!(invio(&a).tipo, pb::TipoComunicazione::Annullamento as i32);
    assert_eq!(invio(&a).compilatore_cf, sa2.cf());
    assert_eq!(invio(&a).codice_comunicazione_precedente, k);
    assert_eq!(a.committente, c.committente);
    assert_eq!(a.lavoratore, c.lavoratore);
    assert!(a.is_head && !a.variabile && !a.annullabile);
    h.stop().await;
    Ok(())
}

/// Each row says whether it may be varied or cancelled today; an A is the head of the chain it
/// ends, yet allows neither (LAO-2, LAO-6, LAO-9).
async fn lao_2_search_says_which_actions_each_row_allows(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let w = lavoratore_n(7);
    let p = h.inserisci(&a, preventiva("", w.clone())).await;
    assert!(p.is_head && p.variabile && p.annullabile);
    let mut r = variazione(&codice(&p), &p);
    r.rapporto.as_mut().unwrap().compenso_stimato = "1800.00".into();
    let v = h.varia(&a, r).await;
    let an = h.annulla(&a, &codice(&v)).await;
    let altra = h.inserisci(&a, preventiva("", w.clone())).await;
    let rows = |found: Vec<pb::SintesiComunicazione>| -> Vec<(String, bool, bool, bool)> {
        found
            .into_iter()
            .map(|s| (s.codice_comunicazione, s.is_head, s.variabile, s.annullabile))
            .collect()
    };
    assert_eq!(
        rows(h.cerca(per_lavoratore(&w.codice_fiscale)).await),
        vec![
            (codice(&altra), true, true, true),
            (codice(&an), true, false, false),
            (codice(&v), false, false, false),
            (codice(&p), false, false, false),
        ]
    );
    // The chain in a detail says the same; the A itself too.
    let d = h.leggi(&codice(&an)).await;
    let c = d.comunicazione.unwrap();
    assert!(c.is_head && !c.variabile && !c.annullabile);
    assert_eq!(
        d.catena
            .iter()
            .map(|s| (s.variabile, s.annullabile))
            .collect::<Vec<_>>(),
        [(false, false), (false, false), (false, false)]
    );
    // From the day after the start date: still variabile (LAO-8), no longer annullabile (LAO-9).
    h.alle("2026-06-21 08:00");
    assert_eq!(
        rows(h.cerca(per_codice(&codice(&altra))).await),
        vec![(codice(&altra), true, true, false)]
    );
    h.stop().await;
    Ok(())
}

/// "Scegli per chi intendi operare": the caller itself, as soggetto abilitato when its token
/// says so, and each company it legally represents in the registry (LAO-1, ANA-8).
async fn lao_1_list_profili_operativi(t: &TestDb) -> anyhow::Result<()> {
    use pb::TipoProfiloOperativo as T;
    let h = Harness::start(t).await?;
    let profili = |r: pb::ListProfiliOperativiResponse| -> Vec<(i32, String, String, String)> {
        r.profili
            .into_iter()
            .map(|p| (p.tipo, p.codice_fiscale, p.denominazione, p.profilo))
            .collect()
    };
    let azienda = |cf: &str| {
        (
            T::Azienda as i32,
            cf.to_string(),
            "Officine Meccaniche Lombarde SpA".to_string(),
            "azienda".to_string(),
        )
    };
    let se = |tipo: T, profilo: &str| {
        (
            tipo as i32,
            LEGALE.to_string(),
            LEGALE.to_string(),
            profilo.to_string(),
        )
    };
    // The legal representative of PIVA and PIVA_B, as a consultant and as a citizen.
    let r = ok(h
        .c()
        .list_profili_operativi(
            h.soggetto_abilitato(LEGALE)
                .req(pb::ListProfiliOperativiRequest {}),
        )
        .await);
    assert_eq!(
        profili(r),
        vec![
            se(T::Cittadino, "prestatore"),
            se(T::SoggettoAbilitato, "soggetto_abilitato"),
            azienda(PIVA),
            azienda(PIVA_B),
        ]
    );
    let r = ok(h
        .c()
        .list_profili_operativi(h.prestatore(LEGALE).req(pb::ListProfiliOperativiRequest {}))
        .await);
    assert_eq!(
        profili(r),
        vec![se(T::Cittadino, "prestatore"), azienda(PIVA), azienda(PIVA_B)]
    );
    // Someone representing no company: itself only.
    let nessuno = consulente(0);
    let r = ok(h
        .c()
        .list_profili_operativi(h.utilizzatore(&nessuno).req(pb::ListProfiliOperativiRequest {}))
        .await);
    assert_eq!(
        profili(r),
        vec![(
            T::Cittadino as i32,
            nessuno.clone(),
            nessuno.clone(),
            "prestatore".to_string()
        )]
    );
    // A company's own token: its azienda profile.
    let r = ok(h
        .c()
        .list_profili_operativi(h.azienda(PIVA).req(pb::ListProfiliOperativiRequest {}))
        .await);
    assert_eq!(
        profili(r),
        vec![(
            T::Azienda as i32,
            PIVA.to_string(),
            PIVA.to_string(),
            "azienda".to_string()
        )]
    );
    // Operators do not choose.
    let s = err(
        h.c()
            .list_profili_operativi(h.dg().req(pb::ListProfiliOperativiRequest {}))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "LAO_1_PROFILE");
    h.stop().await;
    Ok(())
}

/// A person with the azienda profile acts for a company it legally represents, named as the
/// committente CF: the company is the committente, the person the compilatore (LAO-1, LAO-5).
async fn lao_1_legal_representative_acts_for_the_company_and_is_the_compilatore(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let lr = h.azienda(LEGALE);
    let w = lavoratore_n(8);
    let p = h.inserisci(&lr, preventiva(PIVA, w.clone())).await;
    assert_eq!(invio(&p).compilatore_cf, LEGALE);
    assert_eq!(p.committente.as_ref().unwrap().codice_fiscale, PIVA);
    // It finds, opens, varies and cancels the company's communications naming the company.
    let found = ok(h.c().search_comunicazioni(lr.req(per_committente(PIVA))).await).comunicazioni;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].compilatore_cf, LEGALE);
    ok(h.c().get_comunicazione(lr.req(get3(&codice(&p), PIVA, ""))).await);
    let mut r = variazione(&codice(&p), &p);
    r.rapporto.as_mut().unwrap().compenso_stimato = "700.00".into();
    let v = h.varia(&lr, r).await;
    assert_eq!(invio(&v).compilatore_cf, LEGALE);
    let a = ok(h
        .c()
        .cancel_comunicazione(lr.req(pb::CancelComunicazioneRequest {
            committente_cf: PIVA.into(),
            ..annullamento(&codice(&v))
        }))
        .await)
    .comunicazione
    .unwrap();
    assert_eq!(invio(&a).compilatore_cf, LEGALE);
    // The company sending with its own token sees them too, compiled by its representative.
    let own = ok(h
        .c()
        .search_comunicazioni(h.azienda(PIVA).req(per_lavoratore(&w.codice_fiscale)))
        .await)
    .comunicazioni;
    assert_eq!(own.len(), 3);
    // Without naming the company: INVALID_ARGUMENT; a company it does not represent: refused.
    let s = err(
        h.c()
            .insert_comunicazione(lr.req(preventiva("", w.clone())))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(reason_of(&s), "LAO_1_COMPANY_REQUIRED");
    let altro = h.azienda(&consulente(1));
    let s = err(
        h.c()
            .insert_comunicazione(altro.req(preventiva(PIVA, w.clone())))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "LAO_1_NOT_LEGAL_REPRESENTATIVE");
    let s = err(
        h.c().search_comunicazioni(altro.req(per_committente(PIVA))).await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "LAO_1_NOT_LEGAL_REPRESENTATIVE");
    h.stop().await;
    Ok(())
}
