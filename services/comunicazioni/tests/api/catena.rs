//! P → V → A chains: variation before and after the start date (LAO-6, LAO-7, LAO-8) and
//! cancellation (LAO-9), with the Rome midnight edge.

use occasionali_kernel::Sesso;
use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    lao_6_a_variation_is_a_new_v_pointing_to_the_head,
    lao_6_only_the_head_can_be_varied_or_cancelled,
    lao_7_up_to_the_start_date_everything_but_the_cfs_may_change,
    lao_7_a_bound_committente_keeps_its_data,
    lao_7_azienda_committente_comes_from_the_registry,
    lao_8_after_the_start_date_only_document_permit_and_domicile,
    lao_8_9_the_start_date_ends_at_rome_midnight,
    lao_9_a_cancellation_copies_the_sections_and_ends_the_chain,
);

async fn lao_6_a_variation_is_a_new_v_pointing_to_the_head(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let p = h.inserisci(&a, preventiva("", lavoratore_n(1))).await;
    h.clock.advance(chrono::Duration::days(1));
    let mut r = variazione(&codice(&p), &p);
    r.rapporto.as_mut().unwrap().descrizione = "Manutenzione ordinaria".into();
    r.compilatore_email = "nuovo@example.it".into();
    let v = h.varia(&a, r).await;
    let d = invio(&v);
    assert_eq!(d.tipo, pb::TipoComunicazione::Variazione as i32);
    assert_eq!(d.codice_comunicazione_precedente, codice(&p));
    assert_eq!(d.data_invio, "2026-06-16");
    assert_eq!(d.compilatore_email, "nuovo@example.it");
    assert_ne!(codice(&v), codice(&p));
    assert!(v.is_head);
    assert_eq!(v.rapporto.as_ref().unwrap().descrizione, "Manutenzione ordinaria");
    // The P is unchanged but no longer the head.
    let old = h.leggi(&codice(&p)).await.comunicazione.unwrap();
    assert!(!old.is_head);
    assert_eq!(old.codice_comunicazione_successiva, codice(&v));
    assert_eq!(old.rapporto, p.rapporto);
    assert_eq!(old.dati_invio, p.dati_invio);
    // The chain, oldest first, from either end.
    let chain: Vec<String> = h
        .leggi(&codice(&v))
        .await
        .catena
        .iter()
        .map(|s| s.codice_comunicazione.clone())
        .collect();
    assert_eq!(chain, [codice(&p), codice(&v)]);
    // A variation without section 1 keeps it.
    let mut r = variazione(&codice(&v), &v);
    r.committente = None;
    r.rapporto.as_mut().unwrap().compenso_stimato = "99.99".into();
    let v2 = h.varia(&a, r).await;
    assert_eq!(v2.committente, p.committente);
    // A variation that changes nothing is refused.
    let s = err(
        h.c()
            .vary_comunicazione(a.req(variazione(&codice(&v2), &v2)))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_6_NOTHING_CHANGED");
    h.stop().await;
    Ok(())
}

async fn lao_6_only_the_head_can_be_varied_or_cancelled(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let p = h.inserisci(&a, preventiva("", lavoratore_n(2))).await;
    let mut r = variazione(&codice(&p), &p);
    r.rapporto.as_mut().unwrap().descrizione = "Prima variazione".into();
    let v1 = h.varia(&a, r.clone()).await;
    r.rapporto.as_mut().unwrap().descrizione = "Seconda variazione".into();
    let s = err(h.c().vary_comunicazione(a.req(r)).await, Code::FailedPrecondition);
    assert_eq!(reason_of(&s), "LAO_6_NOT_HEAD");
    assert_eq!(metadata_of(&s, "codice_comunicazione_testa"), codice(&v1));
    assert!(s.message().contains(&codice(&v1)), "{}", s.message());
    let s = err(
        h.c().cancel_comunicazione(a.req(annullamento(&codice(&p)))).await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_9_NOT_HEAD");
    // After a second V the first is not the head either; the error names the latest.
    let mut r = variazione(&codice(&v1), &v1);
    r.rapporto.as_mut().unwrap().descrizione = "Seconda variazione".into();
    let v2 = h.varia(&a, r).await;
    let s = err(
        h.c().cancel_comunicazione(a.req(annullamento(&codice(&p)))).await,
        Code::FailedPrecondition,
    );
    assert_eq!(metadata_of(&s, "codice_comunicazione_testa"), codice(&v2));
    assert_eq!(h.eventi().await.len(), 3, "refusals write nothing");
    h.stop().await;
    Ok(())
}

async fn lao_7_up_to_the_start_date_everything_but_the_cfs_may_change(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let sa = h.soggetto_abilitato(OP_RM);
    let w = lavoratore_n(3);
    let p = h.inserisci(&sa, preventiva(PIVA, w.clone())).await;
    // Workplaces added and removed, start date moved (not before today), compensation, duration,
    // description, the committente's data (not bound) and the worker's personal data still
    // consistent with the CF (here: a new document and a domicile abroad).
    let mut r = variazione(&codice(&p), &p);
    {
        let ra = r.rapporto.as_mut().unwrap();
        ra.luoghi_lavoro = vec![
            luogo("F205", "Via Dante 1", "20121"),
            luogo("L219", "Via Po 2", "10124"),
        ];
        ra.data_inizio = OGGI.into();
        ra.durata = pb::DurataRapporto::Giorni7 as i32;
        ra.compenso_stimato = "2000".into();
        ra.descrizione = "Altro lavoro".into();
        let co = r.committente.as_mut().unwrap();
        co.denominazione = "OML SpA".into();
        co.email = "pec@oml.example.it".into();
        let l = r.lavoratore.as_mut().unwrap();
        l.domicilio = Some(domicilio_estero("Z110", "Paris"));
        l.identificazione = Some(pb::lavoratore::Identificazione::Documento(
            pb::DocumentoIdentita {
                tipo: pb::TipoDocumento::Passaporto as i32,
                numero: "YA1234567".into(),
                ..carta_identita()
            },
        ));
    }
    let v = h.varia(&sa, r).await;
    let ra = v.rapporto.clone().unwrap();
    assert_eq!(ra.luoghi_lavoro.len(), 2);
    assert_eq!(ra.data_inizio, OGGI);
    assert_eq!(ra.data_fine, "2026-06-22");
    assert_eq!(v.committente.as_ref().unwrap().denominazione, "OML SpA");

    // A new start date before today is refused; so is a worker inconsistent with the CF.
    let mut r = variazione(&codice(&v), &v);
    r.rapporto.as_mut().unwrap().data_inizio = "2026-06-14".into();
    r.lavoratore.as_mut().unwrap().nome = "Paolo".into();
    invalid_motivi(
        h.c().vary_comunicazione(sa.req(r)).await,
        &[
            ("rapporto.data_inizio", "LAO_7_START_BEFORE_TODAY"),
            ("lavoratore.nome", "ANA_3_CF_DATA_CONFLICT"),
        ],
    );
    // The two CFs never change, and the refusal names both.
    let mut r = variazione(&codice(&v), &v);
    r.committente.as_mut().unwrap().codice_fiscale = PIVA_B.into();
    r.lavoratore = Some(lavoratore("Neri", "Carla", "1990-09-09", Sesso::F, "F205"));
    let s = err(
        h.c().vary_comunicazione(sa.req(r.clone())).await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_7_CF_FIXED");
    let mut fields = violazioni(&s);
    fields.sort();
    assert_eq!(
        fields,
        [
            (
                "committente.codice_fiscale".to_string(),
                "LAO_7_CF_FIXED".to_string()
            ),
            (
                "lavoratore.codice_fiscale".to_string(),
                "LAO_7_CF_FIXED".to_string()
            ),
        ]
    );
    // A soggetto abilitato foreign to the chain, with keys that are not the chain's, cannot
    // act on it at all.
    let s = err(
        h.c().vary_comunicazione(h.soggetto_abilitato(OP_DG).req(r)).await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "LAO_1_THREE_KEYS_REQUIRED");
    // An azienda cannot even name another committente.
    let a = h.azienda(PIVA);
    let mut r = variazione(&codice(&v), &v);
    r.committente.as_mut().unwrap().codice_fiscale = PIVA_B.into();
    err(h.c().vary_comunicazione(a.req(r)).await, Code::PermissionDenied);
    h.stop().await;
    Ok(())
}

async fn lao_7_a_bound_committente_keeps_its_data(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let sa = h.soggetto_abilitato(OP_RM);
    let p = h.inserisci(&sa, preventiva(PIVA, lavoratore_n(4))).await;
    // Not bound yet: the soggetto abilitato may correct the committente's address (section 1
    // given without its CF keeps the chain's).
    let mut r = variazione(&codice(&p), &p);
    r.committente.as_mut().unwrap().indirizzo = "Via Torino 12".into();
    r.committente.as_mut().unwrap().codice_fiscale = String::new();
    let v = h.varia(&sa, r).await;
    // The company starts sending through its own azienda profile: it is now bound.
    h.inserisci(&h.azienda(PIVA), preventiva("", lavoratore_n(5)))
        .await;
    let mut r = variazione(&codice(&v), &v);
    r.committente.as_mut().unwrap().email = "altro@oml.example.it".into();
    r.committente.as_mut().unwrap().cap = "20124".into();
    r.rapporto.as_mut().unwrap().compenso_stimato = "10.00".into();
    let s = err(
        h.c().vary_comunicazione(sa.req(r.clone())).await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_7_COMMITTENTE_BOUND");
    let mut fields: Vec<String> = violazioni(&s).into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(fields, ["committente.cap", "committente.email"]);
    // The other changes go through with the committente as it is.
    r.committente = None;
    let v2 = h.varia(&sa, r).await;
    assert_eq!(v2.rapporto.as_ref().unwrap().compenso_stimato, "10.00");
    // The azienda itself cannot change them either: they come from the registry (what it sends
    // is ignored), which also brings back the registered address.
    let mut r = variazione(&codice(&v2), &v2);
    r.committente.as_mut().unwrap().denominazione = "Nuovo nome".into();
    let v3 = h.varia(&h.azienda(PIVA), r).await;
    assert_eq!(v3.committente, Some(committente_registrato(PIVA)));
    h.stop().await;
    Ok(())
}

async fn lao_8_after_the_start_date_only_document_permit_and_domicile(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let p = h.inserisci(&a, preventiva("", lavoratore_extra_ue())).await;
    // Start 2026-06-20: move to the 21st.
    h.alle("2026-06-21 09:00");
    let mut r = variazione(&codice(&p), &p);
    {
        let l = r.lavoratore.as_mut().unwrap();
        l.domicilio = Some(domicilio_italia("H501", "00185"));
        l.identificazione = Some(pb::lavoratore::Identificazione::PermessoSoggiorno(
            pb::PermessoSoggiorno {
                numero: "I7654321".into(),
                data_rilascio: "2026-06-18".into(),
                data_scadenza: "2028-06-18".into(),
                ..permesso()
            },
        ));
    }
    // Sections left out are unchanged.
    r.committente = None;
    r.rapporto = None;
    let v = h.varia(&a, r).await;
    assert_eq!(invio(&v).data_invio, "2026-06-21");
    assert_eq!(v.rapporto, p.rapporto);
    // Anything else is refused, naming every field.
    let mut r = variazione(&codice(&v), &v);
    {
        let ra = r.rapporto.as_mut().unwrap();
        ra.descrizione = "Altro".into();
        ra.compenso_stimato = "1.00".into();
        ra.luoghi_lavoro.push(luogo("H501", "Via Nuova 1", "00100"));
        r.lavoratore.as_mut().unwrap().domicilio = Some(domicilio_estero("Z330", "Rabat"));
    }
    let s = err(h.c().vary_comunicazione(a.req(r)).await, Code::FailedPrecondition);
    assert_eq!(reason_of(&s), "LAO_8_FIXED_AFTER_START");
    assert_eq!(rule_of(&s), "LAO-8");
    let mut fields: Vec<String> = violazioni(&s).into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "rapporto.compenso_stimato",
            "rapporto.descrizione",
            "rapporto.luoghi_lavoro"
        ]
    );
    // The start date itself is fixed too (even to a later date), and so is the worker's name.
    let mut r = variazione(&codice(&v), &v);
    r.rapporto.as_mut().unwrap().data_inizio = "2026-07-01".into();
    let s = err(h.c().vary_comunicazione(a.req(r)).await, Code::FailedPrecondition);
    assert_eq!(violazioni(&s)[0].0, "rapporto.data_inizio");
    // Cancelling is over.
    let s = err(
        h.c().cancel_comunicazione(a.req(annullamento(&codice(&v)))).await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_9_AFTER_START");
    h.stop().await;
    Ok(())
}

async fn lao_8_9_the_start_date_ends_at_rome_midnight(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let p1 = h.inserisci(&a, preventiva("", lavoratore_n(6))).await;
    let p2 = h.inserisci(&a, preventiva("", lavoratore_n(7))).await;
    let descrizione = |c: &pb::Comunicazione, d: &str| {
        let mut r = variazione(&codice(c), c);
        r.rapporto.as_mut().unwrap().descrizione = d.into();
        r
    };
    // 23:30 in Rome on the start date (21:30 UTC): still "up to the start date".
    h.alle("2026-06-20 23:30");
    let v1 = h.varia(&a, descrizione(&p1, "Ultima modifica")).await;
    assert_eq!(invio(&v1).data_invio, "2026-06-20");
    let a2 = h.annulla(&a, &codice(&p2)).await;
    assert_eq!(invio(&a2).data_invio, "2026-06-20");
    // 00:30 in Rome the next day (still the 20th in UTC): too late.
    h.alle("2026-06-21 00:30");
    let s = err(
        h.c()
            .vary_comunicazione(a.req(descrizione(&v1, "Troppo tardi")))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_8_FIXED_AFTER_START");
    let s = err(
        h.c()
            .cancel_comunicazione(a.req(annullamento(&codice(&v1))))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_9_AFTER_START");
    h.stop().await;
    Ok(())
}

async fn lao_9_a_cancellation_copies_the_sections_and_ends_the_chain(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let p = h.inserisci(&a, preventiva("", lavoratore_n(8))).await;
    let mut r = variazione(&codice(&p), &p);
    r.rapporto.as_mut().unwrap().compenso_stimato = "700.00".into();
    let v = h.varia(&a, r).await;
    h.alle("2026-06-18 16:00");
    let an = h.annulla(&a, &codice(&v)).await;
    let d = invio(&an);
    assert_eq!(d.tipo, pb::TipoComunicazione::Annullamento as i32);
    assert_eq!(d.data_invio, "2026-06-18", "the cancellation date");
    assert_eq!(d.codice_comunicazione_precedente, codice(&v));
    assert_eq!(an.committente, v.committente);
    assert_eq!(an.lavoratore, v.lavoratore);
    assert_eq!(an.rapporto, v.rapporto);
    assert!(an.is_head, "the A is the last of its chain");
    // The chain is over: no V, no second A.
    let s = err(
        h.c()
            .vary_comunicazione(a.req(variazione(&codice(&an), &v)))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_6_CHAIN_CANCELLED");
    let s = err(
        h.c()
            .cancel_comunicazione(a.req(annullamento(&codice(&an))))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_9_CHAIN_CANCELLED");
    // The e-mail of the compilatore is required for an A too.
    let mut r = annullamento(&codice(&p));
    r.compilatore_email = String::new();
    invalid_motivi(
        h.c().cancel_comunicazione(a.req(r)).await,
        &[("compilatore_email", "LAO_5_REQUIRED")],
    );
    h.stop().await;
    Ok(())
}

/// PIVA's section 1 as the registry gives it back (comune as ISTAT code).
fn committente_registrato(cf: &str) -> pb::Committente {
    pb::Committente {
        comune: "015146".into(),
        ..committente(cf)
    }
}

/// An Azienda's section 1 is its company's record in the registry, the same for a P and a V
/// (LAO-1, LAO-7): what the request says is ignored, a second P cannot send other data and a V
/// is never refused for data the caller did not choose.
async fn lao_7_azienda_committente_comes_from_the_registry(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let registrato = committente_registrato(PIVA);
    let p1 = h.inserisci(&a, preventiva("", lavoratore_n(1))).await;
    assert_eq!(p1.committente, Some(registrato.clone()));
    // A second P with another name and address: the registry's data all the same.
    let mut r = preventiva(PIVA, lavoratore_n(2));
    let c = r.committente.as_mut().unwrap();
    c.denominazione = "Altra Ragione Sociale srl".into();
    c.indirizzo = "Via Altrove 99".into();
    c.comune = "H501".into();
    let p2 = h.inserisci(&a, r).await;
    assert_eq!(p2.committente, Some(registrato.clone()));
    // A V of the first, sending the data of the second P or none at all: accepted, registry's data.
    let mut r = variazione(&codice(&p1), &p1);
    r.committente = p2.committente.clone();
    r.rapporto.as_mut().unwrap().compenso_stimato = "900.00".into();
    let v = h.varia(&a, r).await;
    assert_eq!(v.committente, Some(registrato.clone()));
    let mut r = variazione(&codice(&v), &v);
    r.committente = None;
    r.rapporto.as_mut().unwrap().compenso_stimato = "950.00".into();
    let v = h.varia(&a, r).await;
    assert_eq!(v.committente, Some(registrato.clone()));
    // The company changes its name in the registry: the next V carries it.
    h.rinomina_azienda(PIVA, "Officine Meccaniche Lombarde SpA in liquidazione")
        .await;
    let mut r = variazione(&codice(&v), &v);
    r.rapporto.as_mut().unwrap().compenso_stimato = "990.00".into();
    let v = h.varia(&a, r).await;
    assert_eq!(
        v.committente.as_ref().unwrap().denominazione,
        "Officine Meccaniche Lombarde SpA in liquidazione"
    );
    // A soggetto abilitato still cannot change a bound committente's data (LAO-7).
    let sa = h.soggetto_abilitato(OP_RM);
    let mut r = variazione(&codice(&v), &v);
    r.rapporto.as_mut().unwrap().compenso_stimato = "1000.00".into();
    let r = pb::VaryComunicazioneRequest {
        committente: Some(pb::Committente {
            denominazione: "Nome a piacere".into(),
            ..registrato.clone()
        }),
        ..r
    };
    let s = err(
        h.c().vary_comunicazione(sa.req(r)).await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_7_COMMITTENTE_BOUND");
    // A company the registry does not know cannot send through an azienda profile.
    let ignota = "12345678903";
    let s = err(
        h.c()
            .insert_comunicazione(h.azienda(ignota).req(preventiva("", lavoratore_n(3))))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason_of(&s), "LAO_1_COMMITTENTE_NOT_REGISTERED");
    h.stop().await;
    Ok(())
}
