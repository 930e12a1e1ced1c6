//! Sending a P (LAO-3, LAO-4, LAO-5): the system-assigned data, every violation at once, each
//! rule at its edge.

use occasionali_kernel::Sesso;
use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    lao_5_a_p_gets_its_dati_invio_from_the_system,
    lao_3_every_violation_is_reported_at_once,
    lao_3_start_date_edge_is_the_rome_save_date,
    lao_3_durations_compensation_and_workplaces_at_their_edges,
    ana_3_worker_data_must_match_the_cf_field_by_field,
    lao_4_domicile_italian_or_foreign,
    lao_4_non_eu_workers_need_a_residence_permit,
    lao_5_a_mistyped_codice_is_invalid_not_unknown,
    lao_5_request_id_makes_a_send_idempotent,
);

async fn lao_5_a_p_gets_its_dati_invio_from_the_system(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    // Committente CF left empty: prefilled from the azienda profile (LAO-1). data_fine is
    // output only: whatever the client puts there is ignored.
    let mut r = preventiva("", lavoratore_n(1));
    if let Some(ra) = r.rapporto.as_mut() {
        ra.data_fine = "1999-01-01".into();
        ra.durata = pb::DurataRapporto::Giorni30 as i32;
        ra.compenso_stimato = "1500".into();
    }
    let c = h.inserisci(&az, r).await;
    let d = invio(&c);
    assert_eq!(d.tipo, pb::TipoComunicazione::Preventiva as i32);
    assert_eq!(d.data_invio, OGGI);
    assert_eq!(d.inviata_il.map(|t| t.seconds), Some(ora().timestamp()));
    assert_eq!(d.compilatore_cf, PIVA);
    assert_eq!(d.compilatore_email, "compilatore@example.it");
    assert!(d.codice_comunicazione_precedente.is_empty());
    assert_eq!(d.codice_comunicazione.len(), 14);
    assert!(
        d.codice_comunicazione
            .bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
    );
    assert!(c.is_head && c.codice_comunicazione_successiva.is_empty());
    let co = c.committente.clone().unwrap();
    assert_eq!(co.codice_fiscale, PIVA);
    assert_eq!(co.comune, "015146", "Milano by cadastral code, stored as ISTAT");
    let ra = c.rapporto.clone().unwrap();
    assert_eq!(ra.data_fine, "2026-07-20", "start + 30 days");
    assert_eq!(ra.compenso_stimato, "1500.00");
    assert!(c.avvisi.is_empty());

    // Two sends, two different codici.
    let c2 = h.inserisci(&az, preventiva("", lavoratore_n(1))).await;
    assert_ne!(codice(&c), codice(&c2));
    // What Get returns is what was sent.
    let letta = h.leggi(&codice(&c)).await;
    assert_eq!(letta.comunicazione, Some(c.clone()));
    h.stop().await;
    Ok(())
}

async fn lao_3_every_violation_is_reported_at_once(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let sa = h.soggetto_abilitato(OP_RM);
    let mut l = lavoratore_n(2);
    l.cognome = "Gialli".into();
    l.sesso = pb::Sesso::Unspecified as i32;
    l.domicilio = Some(domicilio_italia("999999", "00100"));
    let r = pb::InsertComunicazioneRequest {
        request_id: String::new(),
        committente: Some(pb::Committente {
            codice_fiscale: "00743110158".into(),
            denominazione: " ".into(),
            ..committente(PIVA)
        }),
        lavoratore: Some(l),
        rapporto: Some(pb::Rapporto {
            data_inizio: "2026-06-14".into(),
            durata: pb::DurataRapporto::Unspecified as i32,
            data_fine: String::new(),
            descrizione: "   ".into(),
            compenso_stimato: "-1.00".into(),
            luoghi_lavoro: vec![luogo("X999", "Via Roma 1", "0018"), luogo("H501", "", "00186")],
        }),
        compilatore_email: "non-una-mail".into(),
    };
    let s = invalid_motivi(
        h.c().insert_comunicazione(sa.req(r)).await,
        &[
            ("committente.codice_fiscale", "ANA_2_CF_CHECK_CHARACTER"),
            ("committente.denominazione", "LAO_3_REQUIRED"),
            ("lavoratore.cognome", "ANA_3_CF_DATA_CONFLICT"),
            ("lavoratore.sesso", "LAO_3_REQUIRED"),
            ("lavoratore.domicilio.italia.comune", "LAO_4_COMUNE_UNKNOWN"),
            ("rapporto.data_inizio", "LAO_3_START_BEFORE_SAVE_DATE"),
            ("rapporto.durata", "LAO_3_DURATION"),
            ("rapporto.descrizione", "LAO_3_REQUIRED"),
            ("rapporto.compenso_stimato", "LAO_3_COMPENSATION_NEGATIVE"),
            ("rapporto.luoghi_lavoro[0].comune", "LAO_3_COMUNE_UNKNOWN"),
            ("rapporto.luoghi_lavoro[0].cap", "LAO_3_CAP_FORMAT"),
            ("rapporto.luoghi_lavoro[1].indirizzo", "LAO_3_REQUIRED"),
            ("compilatore_email", "LAO_5_EMAIL_FORMAT"),
        ],
    );
    // Every description names its rule; the ErrorInfo lists them all.
    for (field, d) in descrizioni(&s) {
        assert!(d.starts_with("[LAO-") || d.starts_with("[ANA-"), "{field}: {d}");
    }
    let rules = rule_of(&s);
    for rule in ["ANA-2", "ANA-3", "LAO-3", "LAO-4", "LAO-5"] {
        assert!(rules.split(',').any(|r| r == rule), "{rules}");
    }
    // Nothing was written.
    assert!(h.eventi().await.is_empty());

    // An empty request: each section's required fields, still all at once.
    let s = err(
        h.c()
            .insert_comunicazione(sa.req(pb::InsertComunicazioneRequest::default()))
            .await,
        Code::InvalidArgument,
    );
    let fields: Vec<String> = violazioni(&s).into_iter().map(|(f, _)| f).collect();
    for f in [
        "committente.codice_fiscale",
        "lavoratore.codice_fiscale",
        "lavoratore.cittadinanza",
        "lavoratore.documento",
        "lavoratore.domicilio",
        "rapporto.data_inizio",
        "rapporto.compenso_stimato",
        "rapporto.luoghi_lavoro",
        "compilatore_email",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
    }
    h.stop().await;
    Ok(())
}

async fn lao_3_start_date_edge_is_the_rome_save_date(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    let con_inizio = |d: &str| {
        let mut r = preventiva("", lavoratore_n(3));
        r.rapporto = Some(rapporto(d, "100.00"));
        r
    };
    // 00:30 in Rome on 16 June is still 15 June in UTC: the save date is the Rome one.
    h.alle("2026-06-16 00:30");
    invalid_motivi(
        h.c().insert_comunicazione(az.req(con_inizio("2026-06-15"))).await,
        &[("rapporto.data_inizio", "LAO_3_START_BEFORE_SAVE_DATE")],
    );
    let c = h.inserisci(&az, con_inizio("2026-06-16")).await;
    assert_eq!(invio(&c).data_invio, "2026-06-16");
    // 23:30 in Rome on 16 June is already 16 June... and still 16 June: today is allowed.
    h.alle("2026-06-16 23:30");
    h.inserisci(&az, con_inizio("2026-06-16")).await;
    invalid_motivi(
        h.c().insert_comunicazione(az.req(con_inizio("16/06/2026"))).await,
        &[("rapporto.data_inizio", "LAO_3_DATE_FORMAT")],
    );
    h.stop().await;
    Ok(())
}

async fn lao_3_durations_compensation_and_workplaces_at_their_edges(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    let con = |f: &dyn Fn(&mut pb::Rapporto)| {
        let mut r = preventiva("", lavoratore_n(4));
        if let Some(ra) = r.rapporto.as_mut() {
            f(ra);
        }
        r
    };
    for (durata, fine) in [
        (pb::DurataRapporto::Giorni7, "2026-06-27"),
        (pb::DurataRapporto::Giorni15, "2026-07-05"),
        (pb::DurataRapporto::Giorni30, "2026-07-20"),
    ] {
        let c = h.inserisci(&az, con(&|r| r.durata = durata as i32)).await;
        assert_eq!(c.rapporto.unwrap().data_fine, fine);
    }
    invalid_motivi(
        h.c().insert_comunicazione(az.req(con(&|r| r.durata = 9))).await,
        &[("rapporto.durata", "LAO_3_DURATION")],
    );
    // Compensation: zero is fine, two decimals at most, never negative, a decimal string.
    for ok_value in ["0", "0.00", "0.5", "4999.99", "12"] {
        h.inserisci(&az, con(&|r| r.compenso_stimato = ok_value.into()))
            .await;
    }
    for (bad, reason) in [
        ("-0.01", "LAO_3_COMPENSATION_NEGATIVE"),
        ("1.234", "LAO_3_COMPENSATION_DECIMALS"),
        ("1,50", "LAO_3_COMPENSATION_FORMAT"),
        ("", "LAO_3_REQUIRED"),
        ("1e3", "LAO_3_COMPENSATION_FORMAT"),
        ("1000000000.00", "LAO_3_COMPENSATION_TOO_LARGE"),
    ] {
        invalid_motivi(
            h.c()
                .insert_comunicazione(az.req(con(&|r| r.compenso_stimato = bad.into())))
                .await,
            &[("rapporto.compenso_stimato", reason)],
        );
    }
    // Workplaces: at least one; comune by ISTAT or cadastral code; CAP of five digits.
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(&|r| r.luoghi_lavoro.clear())))
            .await,
        &[("rapporto.luoghi_lavoro", "LAO_3_WORKPLACE_REQUIRED")],
    );
    let c = h
        .inserisci(
            &az,
            con(&|r| {
                r.luoghi_lavoro = vec![
                    luogo("H501", "Via Appia 1", "00179"),
                    luogo("015146", "Via Dante 2", "20121"),
                    luogo("l219", "Corso Francia 3", "10138"),
                ]
            }),
        )
        .await;
    let comuni: Vec<String> = c
        .rapporto
        .unwrap()
        .luoghi_lavoro
        .into_iter()
        .map(|l| l.comune)
        .collect();
    assert_eq!(comuni, ["058091", "015146", "001272"]);
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(&|r| {
                r.luoghi_lavoro = vec![
                    luogo("Z110", "Rue 1", "75001"),
                    luogo("058091", "Via 1", "001866"),
                    luogo("058091", "Via 1", "OO186"),
                ]
            })))
            .await,
        &[
            ("rapporto.luoghi_lavoro[0].comune", "LAO_3_COMUNE_UNKNOWN"),
            ("rapporto.luoghi_lavoro[1].cap", "LAO_3_CAP_FORMAT"),
            ("rapporto.luoghi_lavoro[2].cap", "LAO_3_CAP_FORMAT"),
        ],
    );
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(&|r| r.descrizione = "x".repeat(2001))))
            .await,
        &[("rapporto.descrizione", "LAO_3_TOO_LONG")],
    );
    h.inserisci(&az, con(&|r| r.descrizione = "x".repeat(2000))).await;
    h.stop().await;
    Ok(())
}

async fn ana_3_worker_data_must_match_the_cf_field_by_field(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    let base = lavoratore("Rossi", "Maria", "1985-12-10", Sesso::F, "A562");
    for (field, change) in [
        (
            "lavoratore.cognome",
            &(|l: &mut pb::Lavoratore| l.cognome = "Bianchi".into()) as &dyn Fn(&mut pb::Lavoratore),
        ),
        ("lavoratore.nome", &|l: &mut pb::Lavoratore| {
            l.nome = "Anna".into()
        }),
        ("lavoratore.data_nascita", &|l: &mut pb::Lavoratore| {
            l.data_nascita = "1985-12-11".into()
        }),
        ("lavoratore.sesso", &|l: &mut pb::Lavoratore| {
            l.sesso = pb::Sesso::M as i32
        }),
        ("lavoratore.luogo_nascita", &|l: &mut pb::Lavoratore| {
            l.luogo_nascita = "H501".into()
        }),
    ] {
        let mut l = base.clone();
        change(&mut l);
        invalid_motivi(
            h.c().insert_comunicazione(az.req(preventiva("", l))).await,
            &[(field, "ANA_3_CF_DATA_CONFLICT")],
        );
    }
    // All five at once: five violations.
    let mut l = base.clone();
    l.cognome = "Verdi".into();
    l.nome = "Anna".into();
    l.data_nascita = "1990-01-01".into();
    l.sesso = pb::Sesso::M as i32;
    l.luogo_nascita = "H501".into();
    let s = err(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        Code::InvalidArgument,
    );
    assert_eq!(violazioni(&s).len(), 5, "{:?}", violazioni(&s));
    // Case and spacing do not matter; an invalid CF is ANA-2.
    let mut l = base.clone();
    l.cognome = "  rossi ".into();
    l.codice_fiscale = l.codice_fiscale.to_lowercase();
    let c = h.inserisci(&az, preventiva("", l)).await;
    assert_eq!(c.lavoratore.unwrap().cognome, "ROSSI");
    let mut l = base.clone();
    let wrong = if l.codice_fiscale.ends_with('A') { "B" } else { "A" };
    l.codice_fiscale.replace_range(15..16, wrong);
    let s = err(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        Code::InvalidArgument,
    );
    assert_eq!(violazioni(&s)[0].0, "lavoratore.codice_fiscale");
    h.stop().await;
    Ok(())
}

async fn lao_4_domicile_italian_or_foreign(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    let con = |d: Option<pb::Domicilio>| {
        let mut l = lavoratore_n(5);
        l.domicilio = d;
        preventiva("", l)
    };
    let c = h
        .inserisci(&az, con(Some(domicilio_estero("z110", "Paris"))))
        .await;
    match c.lavoratore.unwrap().domicilio.unwrap().luogo {
        Some(pb::domicilio::Luogo::Estero(e)) => {
            assert_eq!((e.stato.as_str(), e.citta.as_str()), ("Z110", "Paris"))
        }
        other => panic!("{other:?}"),
    }
    h.inserisci(&az, con(Some(domicilio_italia("H501", "00184"))))
        .await;
    invalid_motivi(
        h.c().insert_comunicazione(az.req(con(None))).await,
        &[("lavoratore.domicilio", "LAO_4_DOMICILE_REQUIRED")],
    );
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(Some(pb::Domicilio { luogo: None }))))
            .await,
        &[("lavoratore.domicilio", "LAO_4_DOMICILE_REQUIRED")],
    );
    // A foreign domicile needs a state (a foreign one: a comune's code is not a state) and a city.
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(Some(domicilio_estero("H501", "")))))
            .await,
        &[
            ("lavoratore.domicilio.estero.stato", "LAO_4_STATE_UNKNOWN"),
            ("lavoratore.domicilio.estero.citta", "LAO_4_REQUIRED"),
        ],
    );
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(Some(domicilio_estero("", "Paris")))))
            .await,
        &[("lavoratore.domicilio.estero.stato", "LAO_4_REQUIRED")],
    );
    // An Italian domicile needs a comune of the ISTAT list (a foreign state is not one).
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(Some(domicilio_italia("Z110", "00184")))))
            .await,
        &[("lavoratore.domicilio.italia.comune", "LAO_4_COMUNE_UNKNOWN")],
    );
    invalid_motivi(
        h.c()
            .insert_comunicazione(az.req(con(Some(domicilio_italia("", "1")))))
            .await,
        &[
            ("lavoratore.domicilio.italia.comune", "LAO_4_REQUIRED"),
            ("lavoratore.domicilio.italia.cap", "LAO_4_CAP_FORMAT"),
        ],
    );
    h.stop().await;
    Ok(())
}

async fn lao_4_non_eu_workers_need_a_residence_permit(t: &TestDb) -> anyhow::Result<()> {
    use pb::lavoratore::Identificazione as I;
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    // Moroccan with a permit: fine, by ISO code or by Z-code.
    let c = h.inserisci(&az, preventiva("", lavoratore_extra_ue())).await;
    assert!(matches!(
        c.lavoratore.unwrap().identificazione,
        Some(I::PermessoSoggiorno(_))
    ));
    let mut l = lavoratore_extra_ue();
    l.cittadinanza = "Z330".into();
    h.inserisci(&az, preventiva("", l)).await;
    // Moroccan with an identity card: a permit is required.
    let mut l = lavoratore_extra_ue();
    l.identificazione = Some(I::Documento(carta_identita()));
    invalid_motivi(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        &[("lavoratore.permesso_soggiorno", "LAO_4_PERMIT_REQUIRED")],
    );
    let mut l = lavoratore_extra_ue();
    l.identificazione = None;
    invalid_motivi(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        &[("lavoratore.permesso_soggiorno", "LAO_4_PERMIT_REQUIRED")],
    );
    // A French (EU) citizen identifies with a document, not a permit; an Italian as well.
    let mut l = lavoratore("Dupont", "Jean", "1988-05-06", Sesso::M, "Z110");
    l.cittadinanza = "FR".into();
    h.inserisci(&az, preventiva("", l.clone())).await;
    l.identificazione = Some(I::PermessoSoggiorno(permesso()));
    invalid_motivi(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        &[("lavoratore.documento", "LAO_4_DOCUMENT_REQUIRED")],
    );
    let mut l = lavoratore_n(6);
    l.identificazione = None;
    invalid_motivi(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        &[("lavoratore.documento", "LAO_4_DOCUMENT_REQUIRED")],
    );
    // Unknown citizenship; a document issued in the future or expiring before its issue.
    let mut l = lavoratore_n(6);
    l.cittadinanza = "XX".into();
    l.identificazione = Some(I::Documento(pb::DocumentoIdentita {
        data_rilascio: "2026-06-16".into(),
        data_scadenza: "2026-06-01".into(),
        ..carta_identita()
    }));
    invalid_motivi(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        &[
            ("lavoratore.cittadinanza", "LAO_4_CITIZENSHIP_UNKNOWN"),
            ("lavoratore.documento.data_rilascio", "LAO_4_ISSUED_IN_FUTURE"),
            ("lavoratore.documento.data_scadenza", "LAO_4_EXPIRES_BEFORE_ISSUE"),
        ],
    );
    let mut l = lavoratore_extra_ue();
    l.identificazione = Some(I::PermessoSoggiorno(pb::PermessoSoggiorno {
        questura: String::new(),
        ..permesso()
    }));
    invalid_motivi(
        h.c().insert_comunicazione(az.req(preventiva("", l))).await,
        &[("lavoratore.permesso_soggiorno.questura", "LAO_4_REQUIRED")],
    );
    h.stop().await;
    Ok(())
}

async fn lao_5_a_mistyped_codice_is_invalid_not_unknown(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    let c = h.inserisci(&az, preventiva("", lavoratore_n(7))).await;
    let giusto = codice(&c);
    let sbagliato = refuso(&giusto);
    let s = invalid_motivi(
        h.c().get_comunicazione(az.req(get(&sbagliato))).await,
        &[("codice_comunicazione", "LAO_5_CODICE_CHECK_CHARACTER")],
    );
    assert!(s.message().contains("mistyped"), "{}", s.message());
    invalid_motivi(
        h.c().vary_comunicazione(az.req(variazione(&sbagliato, &c))).await,
        &[("codice_comunicazione", "LAO_5_CODICE_CHECK_CHARACTER")],
    );
    invalid_motivi(
        h.c().cancel_comunicazione(az.req(annullamento(&sbagliato))).await,
        &[("codice_comunicazione", "LAO_5_CODICE_CHECK_CHARACTER")],
    );
    invalid_motivi(
        h.ricevuta(&az, ricevuta_di(&sbagliato))
            .await
            .map(tonic::Response::new),
        &[("codice_comunicazione", "LAO_5_CODICE_CHECK_CHARACTER")],
    );
    invalid_motivi(
        h.c().search_comunicazioni(az.req(per_codice(&sbagliato))).await,
        &[("codice_comunicazione", "LAO_5_CODICE_CHECK_CHARACTER")],
    );
    invalid_motivi(
        h.c().get_comunicazione(az.req(get("ABC"))).await,
        &[("codice_comunicazione", "LAO_5_CODICE_LENGTH")],
    );
    // Typed in lower case with separators: the same communication.
    let spaziato = format!("{}-{}", &giusto[..7], &giusto[7..]).to_lowercase();
    ok(h.c().get_comunicazione(az.req(get(&spaziato))).await);
    // A well-formed code nobody was given: NOT_FOUND.
    let mai = loop {
        let c = occasionali_comunicazioni::domain::CodiceComunicazione::genera(&mut rand::rng());
        if c.as_str() != giusto {
            break c.into_string();
        }
    };
    err(h.c().get_comunicazione(az.req(get(&mai))).await, Code::NotFound);
    err(
        h.c().vary_comunicazione(az.req(variazione(&mai, &c))).await,
        Code::NotFound,
    );
    h.stop().await;
    Ok(())
}

async fn lao_5_request_id_makes_a_send_idempotent(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let az = h.azienda(PIVA);
    let mut r = preventiva("", lavoratore_n(8));
    r.request_id = "req-1".into();
    let a = h.inserisci(&az, r.clone()).await;
    let b = h.inserisci(&az, r.clone()).await;
    assert_eq!(codice(&a), codice(&b));
    assert_eq!(h.eventi().await.len(), 1, "one P, one event");
    // The same id with another content is refused.
    let mut altro = r.clone();
    altro.compilatore_email = "altro@example.it".into();
    let s = err(
        h.c().insert_comunicazione(az.req(altro)).await,
        Code::AlreadyExists,
    );
    assert_eq!(reason_of(&s), "LAO_5_REQUEST_ID_REUSED");
    // Another caller's id is another key.
    let b2 = h
        .inserisci(&h.azienda(PIVA_B), {
            let mut x = r.clone();
            x.committente = Some(committente(""));
            x
        })
        .await;
    assert_ne!(codice(&b2), codice(&a));
    // A retried V returns the same V even though the P is no longer the head.
    let mut v = variazione(&codice(&a), &a);
    v.request_id = "req-v".into();
    if let Some(ra) = v.rapporto.as_mut() {
        ra.descrizione = "Nuova descrizione".into();
    }
    let v1 = h.varia(&az, v.clone()).await;
    let v2 = h.varia(&az, v).await;
    assert_eq!(codice(&v1), codice(&v2));
    // Concurrent retries of the same P: one communication.
    let mut r = preventiva("", lavoratore_n(9));
    r.request_id = "req-conc".into();
    let mut calls = Vec::new();
    for _ in 0..6 {
        let mut c = h.nuovo_client().await;
        let req = az.req(r.clone());
        calls.push(tokio::spawn(async move { c.insert_comunicazione(req).await }));
    }
    let mut codici = Vec::new();
    for call in calls {
        codici.push(codice(&ok(call.await?).comunicazione.unwrap()));
    }
    codici.dedup();
    assert_eq!(codici.len(), 1, "{codici:?}");
    h.stop().await;
    Ok(())
}
