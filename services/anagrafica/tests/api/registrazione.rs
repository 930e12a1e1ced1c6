//! Registration: subjects and roles (ANA-1), codici fiscali (ANA-2), personal data against the
//! CF (ANA-3), prestatore data (ANA-4) and utilizzatore data (ANA-5).

use occasionali_kernel::Sesso;
use occasionali_proto::anagrafica as pb;
use occasionali_runtime::Profile;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    ana_1_one_cf_holds_several_roles,
    ana_1_same_role_twice_is_already_exists,
    ana_1_second_role_with_different_identity_data_is_refused,
    ana_1_organisation_registers_itself_as_cpo_naming_its_legal_representative,
    ana_1_lf_utilizzatore_cannot_be_an_organisation,
    ana_1_intermediario_is_registered,
    ana_1_registration_history_and_event,
    ana_2_invalid_codice_fiscale_is_refused_with_field_and_reason,
    ana_2_omocodic_codice_fiscale_is_accepted,
    ana_2_invalid_organisation_codice_fiscale_is_refused,
    ana_3_each_field_in_conflict_with_the_cf_is_one_violation,
    ana_3_every_conflict_is_reported_at_once,
    ana_3_birth_place_of_a_suppressed_comune_on_the_birth_date,
    ana_3_accents_and_apostrophes_are_folded_as_in_the_cf,
    ana_4_iban_with_bad_checksum_is_refused,
    ana_4_payment_methods,
    ana_4_domicile_is_validated,
    ana_4_foreign_domicile_needs_an_explicit_sede,
    ana_4_declared_categories,
    ana_4_every_bad_field_is_reported_at_once,
    ana_5_cpo_needs_categoria_and_known_ateco,
    ana_5_unknown_sede_is_refused,
    ana_5_lf_with_business_data_is_refused,
    ana_5_sede_defaults_to_the_province_of_the_domicile,
);

// --- ANA-1 ---------------------------------------------------------------------------------

async fn ana_1_one_cf_holds_several_roles(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();

    let s = h.registra_prestatore(prestatore(p.clone())).await;
    assert_eq!(s.codice_fiscale, cf);
    assert!(s.prestatore.is_some());
    assert!(s.utilizzatore_lf.is_none());
    assert_eq!(s.versione, 1);

    let s = h.registra_utilizzatore(&h.utilizzatore(&cf), lf(p.clone())).await;
    assert!(s.prestatore.is_some(), "the prestatore role is kept");
    let lf_role = s.utilizzatore_lf.clone().expect("LF role");
    assert_eq!(lf_role.tipo, pb::TipoUtilizzatore::LibrettoFamiglia as i32);
    assert_eq!(s.versione, 2);

    let got = ok(h.c().get_soggetto(h.prestatore(&cf).req(get(&cf))).await)
        .soggetto
        .expect("soggetto");
    assert!(got.prestatore.is_some() && got.utilizzatore_lf.is_some());
    assert!(got.utilizzatore_cpo.is_none() && got.intermediario.is_none());
    assert_eq!(persona_del(&got).cognome, "ROSSI");
    assert_eq!(persona_del(&got).luogo_nascita_nome, "Roma");
    assert_eq!(got.versione, 2);
    h.stop().await;
    Ok(())
}

async fn ana_1_same_role_twice_is_already_exists(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p.clone())).await;
    let before = h.stato(&cf).await;

    let s = err(
        h.c()
            .register_prestatore(h.prestatore(&cf).req(prestatore(p.clone())))
            .await,
        Code::AlreadyExists,
    );
    assert_eq!(rule_of(&s), "ANA-1");
    assert_eq!(
        h.stato(&cf).await,
        before,
        "a refused registration changes nothing"
    );

    // The same for an utilizzatore role.
    h.registra_utilizzatore(&h.utilizzatore(&cf), lf(p.clone())).await;
    let s = err(
        h.c().register_utilizzatore(h.utilizzatore(&cf).req(lf(p))).await,
        Code::AlreadyExists,
    );
    assert_eq!(rule_of(&s), "ANA-1");
    h.stop().await;
    Ok(())
}

async fn ana_1_second_role_with_different_identity_data_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p.clone())).await;
    let before = h.stato(&cf).await;

    // "Maria" has the same name code as "Mario" (MRA): consistent with the CF, but not the
    // identity on record.
    let mut other = p.clone();
    other.nome = "Maria".into();
    let s = err(
        h.c()
            .register_utilizzatore(h.utilizzatore(&cf).req(lf(other)))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(rule_of(&s), "ANA-1");
    assert!(s.message().contains("persona.nome"), "{}", s.message());
    assert_eq!(h.stato(&cf).await, before);
    assert!(h.leggi(&cf).await.utilizzatore_lf.is_none());
    h.stop().await;
    Ok(())
}

async fn ana_1_organisation_registers_itself_as_cpo_naming_its_legal_representative(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    let s = h
        .registra_utilizzatore(
            &h.who(Profile::Azienda, PIVA, None),
            impresa(PIVA, &legale, milano()),
        )
        .await;
    assert_eq!(s.codice_fiscale, PIVA);
    match &s.identita {
        Some(pb::soggetto::Identita::Organizzazione(o)) => {
            assert_eq!(o.codice_fiscale, PIVA);
            assert_eq!(o.denominazione, "Trattoria Da Mario S.r.l.");
            assert_eq!(o.legale_rappresentante_cf, legale);
        }
        other => panic!("not an organisation: {other:?}"),
    }
    let cpo = s.utilizzatore_cpo.clone().expect("CPO role");
    assert_eq!(cpo.tipo, pb::TipoUtilizzatore::Cpo as i32);
    assert_eq!(cpo.categoria, pb::CategoriaUtilizzatore::Impresa as i32);
    assert_eq!(cpo.ateco, ATECO);
    assert_eq!(cpo.dipendenti_tempo_indeterminato, 3);
    assert_eq!(s.sede, "MI");
    let d = s.domicilio.clone().expect("domicilio");
    assert_eq!((d.comune.as_str(), d.comune_nome.as_str()), ("015146", "Milano"));
    assert_eq!(d.provincia, "MI");

    // Naming yourself legal representative does not let you register a company (ANA-8): the
    // company itself (profile azienda) or an operator does.
    let s = err(
        h.c()
            .register_utilizzatore(
                h.utilizzatore(&legale)
                    .req(impresa(&piva(7654321), &legale, milano())),
            )
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    // Someone else cannot register a company naming another legal representative.
    let other = persona("Neri", "Paolo", "1960-01-01", Sesso::M).codice_fiscale;
    let s = err(
        h.c()
            .register_utilizzatore(
                h.utilizzatore(&other)
                    .req(impresa(&piva(1234567), &legale, milano())),
            )
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    h.stop().await;
    Ok(())
}

async fn ana_1_lf_utilizzatore_cannot_be_an_organisation(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    let mut r = impresa(PIVA, &legale, roma());
    r.tipo = pb::TipoUtilizzatore::LibrettoFamiglia as i32;
    r.categoria = 0;
    r.ateco.clear();
    r.dipendenti_tempo_indeterminato = 0;
    invalid(
        h.c().register_utilizzatore(h.utilizzatore(&legale).req(r)).await,
        &["organizzazione"],
        "ANA-1",
    );
    // Not both a person and an organisation either.
    let mut r = impresa(PIVA, &legale, roma());
    r.persona = Some(persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205"));
    invalid(
        h.c().register_utilizzatore(h.utilizzatore(&legale).req(r)).await,
        &["organizzazione"],
        "ANA-1",
    );
    // A type is required.
    let mut r = lf(persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205"));
    r.tipo = 0;
    invalid(
        h.c().register_utilizzatore(h.utilizzatore(&legale).req(r)).await,
        &["tipo"],
        "ANA-5",
    );
    err(h.c().get_soggetto(h.dg().req(get(PIVA))).await, Code::NotFound);
    h.stop().await;
    Ok(())
}

async fn ana_1_intermediario_is_registered(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Gialli", "Franca", "1966-09-30", Sesso::F);
    let cf = p.codice_fiscale.clone();
    let me = h.who(Profile::Intermediario, &cf, None);
    let r = pb::RegisterIntermediarioRequest {
        nota: String::new(),
        persona: Some(p.clone()),
        organizzazione: None,
        tipo: pb::TipoIntermediario::ConsulenteLavoro as i32,
        numero_iscrizione: " RM-1234 ".into(),
        domicilio: Some(roma()),
        contatti: Some(contatti()),
        sede: String::new(),
    };
    let s = ok(h.c().register_intermediario(me.req(r.clone())).await)
        .soggetto
        .expect("soggetto");
    let i = s.intermediario.expect("intermediario role");
    assert_eq!(i.tipo, pb::TipoIntermediario::ConsulenteLavoro as i32);
    assert_eq!(i.numero_iscrizione, "RM-1234");
    assert_eq!(s.sede, "RM");
    let s = err(
        h.c().register_intermediario(me.req(r.clone())).await,
        Code::AlreadyExists,
    );
    assert_eq!(rule_of(&s), "ANA-1");

    // A patronato is an organisation; the type is required.
    let legale = persona("Viola", "Ugo", "1959-02-02", Sesso::M).codice_fiscale;
    let mut r = pb::RegisterIntermediarioRequest {
        nota: String::new(),
        persona: None,
        organizzazione: Some(pb::Organizzazione {
            codice_fiscale: piva(8070000),
            denominazione: "Patronato Esempio".into(),
            legale_rappresentante_cf: legale.clone(),
        }),
        tipo: 0,
        numero_iscrizione: String::new(),
        domicilio: Some(milano()),
        contatti: None,
        sede: String::new(),
    };
    // The patronato registers itself (its own CF), not its representative.
    let lr = h.who(Profile::Intermediario, &piva(8070000), None);
    invalid(
        h.c().register_intermediario(lr.req(r.clone())).await,
        &["tipo"],
        "ANA-1",
    );
    r.tipo = pb::TipoIntermediario::Patronato as i32;
    let s = ok(h.c().register_intermediario(lr.req(r)).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(
        s.intermediario.map(|i| i.tipo),
        Some(pb::TipoIntermediario::Patronato as i32)
    );
    assert_eq!(s.sede, "MI");
    h.stop().await;
    Ok(())
}

async fn ana_1_registration_history_and_event(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p.clone())).await;

    let storia = h.storia(&cf).await;
    assert_eq!(storia.len(), 1);
    let m = &storia[0];
    assert_eq!(m.azione, "registrazione_prestatore");
    assert_eq!(m.autore_cf, cf);
    assert_eq!(m.autore_profilo, "prestatore");
    assert_eq!(m.eseguita_il, Some(istante(ora())));
    let campi: Vec<&str> = m.campi.iter().map(|c| c.campo.as_str()).collect();
    for c in [
        "persona.cognome",
        "persona.nome",
        "domicilio",
        "contatti.email",
        "sede",
        "prestatore.metodo_pagamento",
    ] {
        assert!(campi.contains(&c), "{c} missing from {campi:?}");
    }
    assert!(m.campi.iter().all(|c| c.prima.is_empty()));

    let eventi = h.eventi(&cf).await;
    assert_eq!(eventi.len(), 1);
    assert_eq!(eventi[0].0, "anagrafica.soggetto.registrato");
    assert_eq!(eventi[0].1.azione, "registrazione_prestatore");
    assert_eq!(eventi[0].1.versione, 1);
    assert_eq!(eventi[0].1.codice_fiscale, cf);

    h.registra_utilizzatore(&h.utilizzatore(&cf), lf(p)).await;
    let eventi = h.eventi(&cf).await;
    assert_eq!(eventi.len(), 2);
    assert_eq!(eventi[1].0, "anagrafica.soggetto.registrato");
    assert_eq!(eventi[1].1.azione, "registrazione_utilizzatore_lf");
    assert_eq!(eventi[1].1.versione, 2);
    assert!(
        eventi[1]
            .1
            .soggetto
            .as_ref()
            .is_some_and(|s| s.utilizzatore_lf.is_some())
    );
    assert_eq!(h.storia(&cf).await[0].azione, "registrazione_utilizzatore_lf");
    h.stop().await;
    Ok(())
}

// --- ANA-2 ---------------------------------------------------------------------------------

async fn ana_2_invalid_codice_fiscale_is_refused_with_field_and_reason(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let good = p.codice_fiscale.clone();
    let mut wrong_check = good.clone();
    let last = wrong_check.pop().expect("16 chars");
    wrong_check.push(if last == 'A' { 'B' } else { 'A' });
    let short = good[..15].to_string();
    let bad_month = format!("{}F{}", &good[..8], &good[9..]);
    let bad_day = format!("{}32{}", &good[..9], &good[11..]);
    let digit_in_name = format!("R1{}", &good[2..]);
    for (cf, reason) in [
        (wrong_check, "ANA_2_CF_CHECK_CHARACTER"),
        (short, "ANA_2_CF_LENGTH"),
        (bad_month, "ANA_2_CF_MONTH"),
        (bad_day, "ANA_2_CF_DAY"),
        (digit_in_name, "ANA_2_CF_CHARACTER"),
        (String::new(), "ANA_2_CF_REQUIRED"),
    ] {
        let mut bad = p.clone();
        bad.codice_fiscale = cf.clone();
        let s = invalid(
            h.c()
                .register_prestatore(h.prestatore(&good).req(prestatore(bad)))
                .await,
            &["persona.codice_fiscale"],
            "ANA-2",
        );
        assert_eq!(
            reason_of_field(&s, "persona.codice_fiscale"),
            reason,
            "{cf}: {}",
            s.message()
        );
    }
    err(h.c().get_soggetto(h.dg().req(get(&good))).await, Code::NotFound);
    h.stop().await;
    Ok(())
}

async fn ana_2_omocodic_codice_fiscale_is_accepted(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let mut p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let omo = omocodico(&p.codice_fiscale, 3);
    assert_ne!(omo, p.codice_fiscale);
    p.codice_fiscale = omo.clone();
    let s = h.registra_prestatore(prestatore(p.clone())).await;
    assert_eq!(s.codice_fiscale, omo);
    let got = ok(h.c().get_soggetto(h.prestatore(&omo).req(get(&omo))).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(persona_del(&got).codice_fiscale, omo);

    // Fully omocodic, lower case: parsed, decoded and normalised.
    let mut q = persona_di("Verdi", "Anna", "1992-02-29", Sesso::F, "Z110");
    let omo7 = omocodico(&q.codice_fiscale, 7);
    q.codice_fiscale = omo7.to_lowercase();
    let s = ok(h
        .c()
        .register_prestatore(h.prestatore(&omo7).req(prestatore(q)))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.codice_fiscale, omo7);
    assert_eq!(persona_del(&s).luogo_nascita_nome, "Francia");
    h.stop().await;
    Ok(())
}

async fn ana_2_invalid_organisation_codice_fiscale_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    let lr = h.utilizzatore(&legale);
    for (cf, reason) in [
        ("00743110158", "ANA_2_PIVA_CHECK_DIGIT"),
        ("0074311015", "ANA_2_PIVA_LENGTH"),
        ("0074311015A", "ANA_2_PIVA_NOT_DIGITS"),
    ] {
        let s = invalid(
            h.c()
                .register_utilizzatore(lr.req(impresa(cf, &legale, roma())))
                .await,
            &["organizzazione.codice_fiscale"],
            "ANA-2",
        );
        assert_eq!(
            reason_of_field(&s, "organizzazione.codice_fiscale"),
            reason,
            "{cf}"
        );
    }
    // The legal representative's CF is a natural person's.
    invalid(
        h.c()
            .register_utilizzatore(lr.req(impresa(PIVA, PIVA, roma())))
            .await,
        &["organizzazione.legale_rappresentante_cf"],
        "ANA-2",
    );
    h.stop().await;
    Ok(())
}

// --- ANA-3 ---------------------------------------------------------------------------------

async fn ana_3_each_field_in_conflict_with_the_cf_is_one_violation(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    type Change = Box<dyn Fn(&mut pb::PersonaFisica)>;
    let cases: Vec<(&str, Change)> = vec![
        ("persona.cognome", Box::new(|p| p.cognome = "Bianchi".into())),
        ("persona.nome", Box::new(|p| p.nome = "Luca".into())),
        (
            "persona.data_nascita",
            Box::new(|p| p.data_nascita = "1985-12-11".into()),
        ),
        ("persona.sesso", Box::new(|p| p.sesso = pb::Sesso::F as i32)),
        (
            "persona.luogo_nascita",
            Box::new(|p| p.luogo_nascita = "F205".into()),
        ),
    ];
    for (field, change) in cases {
        let mut bad = p.clone();
        change(&mut bad);
        let s = invalid(
            h.c()
                .register_prestatore(h.prestatore(&cf).req(prestatore(bad)))
                .await,
            &[field],
            "ANA-3",
        );
        assert_eq!(reason_of_field(&s, field), "ANA_3_CF_DATA_CONFLICT", "{field}");
    }
    err(h.c().get_soggetto(h.dg().req(get(&cf))).await, Code::NotFound);
    h.stop().await;
    Ok(())
}

async fn ana_3_every_conflict_is_reported_at_once(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let bad = pb::PersonaFisica {
        codice_fiscale: cf.clone(),
        cognome: "Verdi".into(),
        nome: "Luca".into(),
        data_nascita: "1990-01-01".into(),
        sesso: pb::Sesso::F as i32,
        luogo_nascita: "F205".into(),
        luogo_nascita_nome: String::new(),
    };
    invalid(
        h.c()
            .register_prestatore(h.prestatore(&cf).req(prestatore(bad)))
            .await,
        &[
            "persona.cognome",
            "persona.nome",
            "persona.data_nascita",
            "persona.sesso",
            "persona.luogo_nascita",
        ],
        "ANA-3",
    );
    // Missing data are reported field by field too.
    let empty = pb::PersonaFisica {
        codice_fiscale: cf.clone(),
        ..Default::default()
    };
    invalid(
        h.c()
            .register_prestatore(h.prestatore(&cf).req(prestatore(empty)))
            .await,
        &[
            "persona.cognome",
            "persona.nome",
            "persona.data_nascita",
            "persona.sesso",
            "persona.luogo_nascita",
        ],
        "ANA-3",
    );
    h.stop().await;
    Ok(())
}

async fn ana_3_birth_place_of_a_suppressed_comune_on_the_birth_date(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    // Abetone (A012) existed from 1936 to 2016.
    let p = persona_di("Bianchi", "Luca", "1980-05-01", Sesso::M, "A012");
    let s = h.registra_prestatore(prestatore(p.clone())).await;
    assert_eq!(persona_del(&s).luogo_nascita, "A012");
    assert_eq!(persona_del(&s).luogo_nascita_nome, "Abetone");

    let late = persona_di("Bianchi", "Luca", "2018-05-01", Sesso::M, "A012");
    let s = invalid(
        h.c()
            .register_prestatore(h.prestatore(&late.codice_fiscale).req(prestatore(late.clone())))
            .await,
        &["persona.luogo_nascita"],
        "ANA-3",
    );
    assert_eq!(
        reason_of_field(&s, "persona.luogo_nascita"),
        "ANA_3_CF_DATA_CONFLICT"
    );
    h.stop().await;
    Ok(())
}

async fn ana_3_accents_and_apostrophes_are_folded_as_in_the_cf(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("D'Amico", "Niccolò", "1975-08-31", Sesso::M);
    let s = h.registra_prestatore(prestatore(p)).await;
    assert_eq!(persona_del(&s).cognome, "D'AMICO");
    assert_eq!(persona_del(&s).nome, "NICCOLÒ");
    let q = persona_di("Città", "Zoë", "2001-01-09", Sesso::F, "Z404");
    let s = h.registra_prestatore(prestatore(q)).await;
    assert_eq!(persona_del(&s).cognome, "CITTÀ");
    h.stop().await;
    Ok(())
}

// --- ANA-4 ---------------------------------------------------------------------------------

async fn ana_4_iban_with_bad_checksum_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let mut r = prestatore(p.clone());
    r.metodo_pagamento = Some(conto("IT61X0542811101000000123456"));
    let s = invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r)).await,
        &["metodo_pagamento.iban"],
        "ANA-4",
    );
    assert_eq!(
        reason_of_field(&s, "metodo_pagamento.iban"),
        "ANA_4_IBAN_CHECKSUM"
    );
    // Wrong length for the country.
    let mut r = prestatore(p.clone());
    r.metodo_pagamento = Some(conto("IT60X054281110100000012345"));
    invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r)).await,
        &["metodo_pagamento.iban"],
        "ANA-4",
    );
    // The printed form, with spaces, is accepted and stored in electronic form.
    let mut r = prestatore(p);
    r.metodo_pagamento = Some(conto("IT60 X054 2811 1010 0000 0123 456"));
    let s = ok(h.c().register_prestatore(h.prestatore(&cf).req(r)).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(
        s.prestatore.and_then(|p| p.metodo_pagamento).map(|m| m.iban),
        Some(IBAN.to_string())
    );
    h.stop().await;
    Ok(())
}

async fn ana_4_payment_methods(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    use pb::TipoMetodoPagamento as T;
    let p = persona_n(1);
    let cf = p.codice_fiscale.clone();
    // Bonifico domiciliato: no IBAN.
    let mut r = prestatore(p.clone());
    r.metodo_pagamento = Some(pb::MetodoPagamento {
        tipo: T::BonificoDomiciliato as i32,
        iban: IBAN.into(),
    });
    let s = invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r)).await,
        &["metodo_pagamento.iban"],
        "ANA-4",
    );
    assert_eq!(
        reason_of_field(&s, "metodo_pagamento.iban"),
        "ANA_4_IBAN_NOT_ALLOWED"
    );
    // Every other type needs one.
    let mut r = prestatore(p.clone());
    r.metodo_pagamento = Some(pb::MetodoPagamento {
        tipo: T::LibrettoPostale as i32,
        iban: String::new(),
    });
    invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r)).await,
        &["metodo_pagamento.iban"],
        "ANA-4",
    );
    // A method is required.
    let mut r = prestatore(p.clone());
    r.metodo_pagamento = None;
    invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r)).await,
        &["metodo_pagamento"],
        "ANA-4",
    );
    let mut r = prestatore(p.clone());
    r.metodo_pagamento = Some(pb::MetodoPagamento {
        tipo: 0,
        iban: IBAN.into(),
    });
    invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r)).await,
        &["metodo_pagamento.tipo"],
        "ANA-4",
    );

    for (i, (tipo, iban)) in [
        (T::BonificoDomiciliato, ""),
        (T::ContoCorrente, IBAN),
        (T::LibrettoPostale, IBAN),
        (T::CartaPagamento, IBAN),
    ]
    .into_iter()
    .enumerate()
    {
        let p = persona_n(10 + i);
        let mut r = prestatore(p.clone());
        r.metodo_pagamento = Some(pb::MetodoPagamento {
            tipo: tipo as i32,
            iban: iban.into(),
        });
        let s = ok(h
            .c()
            .register_prestatore(h.prestatore(&p.codice_fiscale).req(r))
            .await)
        .soggetto
        .expect("soggetto");
        let m = s.prestatore.and_then(|p| p.metodo_pagamento).expect("metodo");
        assert_eq!((m.tipo, m.iban.as_str()), (tipo as i32, iban));
    }
    h.stop().await;
    Ok(())
}

async fn ana_4_domicile_is_validated(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let me = h.prestatore(&cf);
    let with = |d: pb::Domicilio| {
        let mut r = prestatore(p.clone());
        r.domicilio = Some(d);
        r
    };
    invalid(
        h.c()
            .register_prestatore(me.req(with(domicilio("X999", "00100"))))
            .await,
        &["domicilio.comune"],
        "ANA-4",
    );
    invalid(
        h.c()
            .register_prestatore(me.req(with(domicilio("999999", "00100"))))
            .await,
        &["domicilio.comune"],
        "ANA-4",
    );
    for cap in ["0018", "001845", "00I84", ""] {
        let s = invalid(
            h.c()
                .register_prestatore(me.req(with(domicilio("H501", cap))))
                .await,
            &["domicilio.cap"],
            "ANA-4",
        );
        assert_eq!(reason_of_field(&s, "domicilio.cap"), "ANA_4_CAP_FORMAT");
    }
    let mut both = estero();
    both.comune = "H501".into();
    invalid(
        h.c().register_prestatore(me.req(with(both))).await,
        &["domicilio.stato_estero"],
        "ANA-4",
    );
    let mut unknown_state = estero();
    unknown_state.stato_estero = "Z999".into();
    let mut r = with(unknown_state);
    r.sede = "RM".into();
    invalid(
        h.c().register_prestatore(me.req(r)).await,
        &["domicilio.stato_estero"],
        "ANA-4",
    );
    let mut cap_abroad = estero();
    cap_abroad.cap = "10001".into();
    let mut r = with(cap_abroad);
    r.sede = "RM".into();
    invalid(
        h.c().register_prestatore(me.req(r)).await,
        &["domicilio.cap"],
        "ANA-4",
    );
    // A new subject needs a domicile.
    let mut r = prestatore(p.clone());
    r.domicilio = None;
    r.sede = "RM".into();
    invalid(
        h.c().register_prestatore(me.req(r)).await,
        &["domicilio"],
        "ANA-4",
    );
    err(h.c().get_soggetto(h.dg().req(get(&cf))).await, Code::NotFound);

    // By cadastral code, resolved to the ISTAT code.
    let s = ok(h
        .c()
        .register_prestatore(me.req(with(domicilio("h501", "00184"))))
        .await)
    .soggetto
    .expect("soggetto");
    let d = s.domicilio.expect("domicilio");
    assert_eq!(d.comune, "058091");
    assert_eq!(d.comune_nome, "Roma");
    assert_eq!(d.cap, "00184");
    h.stop().await;
    Ok(())
}

async fn ana_4_foreign_domicile_needs_an_explicit_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let mut r = prestatore(p);
    r.domicilio = Some(estero());
    invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r.clone())).await,
        &["sede"],
        "ANA-5",
    );
    r.sede = "rm".into();
    let s = ok(h.c().register_prestatore(h.prestatore(&cf).req(r)).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(s.sede, "RM");
    let d = s.domicilio.expect("domicilio");
    assert_eq!(d.stato_estero, "Z404");
    assert_eq!(d.citta_estera, "New York");
    assert!(d.comune.is_empty() && d.cap.is_empty());
    h.stop().await;
    Ok(())
}

async fn ana_4_declared_categories(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    use pb::TipoCategoria as C;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let mut r = prestatore(p.clone());
    r.categorie = vec![
        categoria(C::Studente, "2025-09-01", "2025-06-30"),
        categoria(C::Pensionato, "2025-01-01", ""),
    ];
    let s = invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r.clone())).await,
        &["categorie[0].validita.al"],
        "ANA-4",
    );
    assert_eq!(
        reason_of_field(&s, "categorie[0].validita.al"),
        "ANA_4_PERIOD_REVERSED"
    );
    r.categorie = vec![
        categoria(C::Pensionato, "2025-01-01", ""),
        categoria(C::Unspecified, "2025-01-01", ""),
        categoria(C::Disoccupato, "2025-13-01", ""),
    ];
    invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r.clone())).await,
        &["categorie[1].tipo", "categorie[2].validita.dal"],
        "ANA-4",
    );
    r.categorie = vec![
        categoria(C::Studente, "2025-09-01", "2026-06-30"),
        categoria(C::IscrittoElenchiAgricoli, "2025-01-01", "2025-12-31"),
        categoria(C::Pensionato, "2020-01-01", ""),
    ];
    let s = ok(h.c().register_prestatore(h.prestatore(&cf).req(r)).await)
        .soggetto
        .expect("soggetto");
    let got: Vec<(i32, String, String)> = s
        .prestatore
        .expect("prestatore")
        .categorie
        .into_iter()
        .map(|c| {
            let v = c.validita.unwrap_or_default();
            (c.tipo, v.dal, v.al)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (C::Studente as i32, "2025-09-01".into(), "2026-06-30".into()),
            (
                C::IscrittoElenchiAgricoli as i32,
                "2025-01-01".into(),
                "2025-12-31".into()
            ),
            (C::Pensionato as i32, "2020-01-01".into(), String::new()),
        ]
    );
    h.stop().await;
    Ok(())
}

async fn ana_4_every_bad_field_is_reported_at_once(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let mut p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    p.cognome = "Bianchi".into();
    let mut r = prestatore(p);
    r.metodo_pagamento = Some(conto("IT61X0542811101000000123456"));
    r.domicilio = Some(domicilio("H501", "123"));
    r.contatti = Some(pb::Contatti {
        cellulare: "12ab".into(),
        email: "not-an-email".into(),
    });
    r.sede = "XX".into();
    invalid(
        h.c().register_prestatore(h.prestatore(&cf).req(r)).await,
        &[
            "persona.cognome",
            "metodo_pagamento.iban",
            "domicilio.cap",
            "contatti.cellulare",
            "contatti.email",
            "sede",
        ],
        "ANA-4",
    );
    h.stop().await;
    Ok(())
}

// --- ANA-5 ---------------------------------------------------------------------------------

async fn ana_5_cpo_needs_categoria_and_known_ateco(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let me = h.utilizzatore(&cf);
    let mut r = cpo_persona(p.clone());
    r.categoria = 0;
    r.ateco.clear();
    invalid(
        h.c().register_utilizzatore(me.req(r)).await,
        &["categoria", "ateco"],
        "ANA-5",
    );
    let mut r = cpo_persona(p.clone());
    r.ateco = "99.99.99".into();
    let s = invalid(h.c().register_utilizzatore(me.req(r)).await, &["ateco"], "ANA-5");
    assert_eq!(reason_of_field(&s, "ateco"), "ANA_5_ATECO_UNKNOWN");
    let mut r = cpo_persona(p.clone());
    r.ateco = "56.10".into();
    invalid(h.c().register_utilizzatore(me.req(r)).await, &["ateco"], "ANA-5");
    let mut r = cpo_persona(p.clone());
    r.dipendenti_tempo_indeterminato = -1;
    invalid(
        h.c().register_utilizzatore(me.req(r)).await,
        &["dipendenti_tempo_indeterminato"],
        "ANA-5",
    );
    err(h.c().get_soggetto(h.dg().req(get(&cf))).await, Code::NotFound);

    // Undotted codes are normalised.
    let mut r = cpo_persona(p);
    r.ateco = "561011".into();
    let s = h.registra_utilizzatore(&me, r).await;
    let cpo = s.utilizzatore_cpo.expect("CPO role");
    assert_eq!(cpo.ateco, ATECO);
    assert_eq!(cpo.categoria, pb::CategoriaUtilizzatore::Professionista as i32);
    h.stop().await;
    Ok(())
}

async fn ana_5_unknown_sede_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let mut r = cpo_persona(p);
    r.sede = "XX".into();
    let s = invalid(
        h.c().register_utilizzatore(h.utilizzatore(&cf).req(r)).await,
        &["sede"],
        "ANA-5",
    );
    assert_eq!(reason_of_field(&s, "sede"), "ANA_5_SEDE_UNKNOWN");
    h.stop().await;
    Ok(())
}

async fn ana_5_lf_with_business_data_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let cf = p.codice_fiscale.clone();
    let me = h.utilizzatore(&cf);
    let mut r = lf(p.clone());
    r.ateco = ATECO.into();
    let s = err(
        h.c().register_utilizzatore(me.req(r)).await,
        Code::InvalidArgument,
    );
    assert_eq!(rule_of(&s), "ANA-5");
    let mut r = lf(p.clone());
    r.categoria = pb::CategoriaUtilizzatore::Impresa as i32;
    invalid(
        h.c().register_utilizzatore(me.req(r)).await,
        &["categoria"],
        "ANA-5",
    );
    let mut r = lf(p);
    r.dipendenti_tempo_indeterminato = 2;
    let s = err(
        h.c().register_utilizzatore(me.req(r)).await,
        Code::InvalidArgument,
    );
    assert_eq!(rule_of(&s), "ANA-5");
    err(h.c().get_soggetto(h.dg().req(get(&cf))).await, Code::NotFound);
    h.stop().await;
    Ok(())
}

async fn ana_5_sede_defaults_to_the_province_of_the_domicile(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona_n(1);
    let mut r = lf(p.clone());
    r.domicilio = Some(milano());
    let s = h
        .registra_utilizzatore(&h.utilizzatore(&p.codice_fiscale), r)
        .await;
    assert_eq!(s.sede, "MI");

    let q = persona_n(2);
    let mut r = cpo_persona(q.clone());
    r.domicilio = Some(roma());
    let s = h
        .registra_utilizzatore(&h.utilizzatore(&q.codice_fiscale), r)
        .await;
    assert_eq!(s.sede, "RM");

    // An explicit sede wins over the domicile's.
    let z = persona_n(3);
    let mut r = cpo_persona(z.clone());
    r.domicilio = Some(roma());
    r.sede = "MI".into();
    let s = h
        .registra_utilizzatore(&h.utilizzatore(&z.codice_fiscale), r)
        .await;
    assert_eq!(s.sede, "MI");
    h.stop().await;
    Ok(())
}

// --- Found by these tests, fixed since ---------------------------------------------------

both_engines!(ana_1_second_role_without_domicile_keeps_the_stored_one);

async fn ana_1_second_role_without_domicile_keeps_the_stored_one(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona_n(1);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p.clone())).await;
    let mut r = lf(p.clone());
    r.domicilio = None;
    r.contatti = None;
    let s = ok(h.c().register_utilizzatore(h.utilizzatore(&cf).req(r)).await)
        .soggetto
        .expect("soggetto");
    assert!(s.prestatore.is_some() && s.utilizzatore_lf.is_some());
    assert_eq!(s.sede, "RM");
    assert_eq!(s.domicilio.map(|d| d.comune), Some("058091".into()));
    assert_eq!(s.contatti.map(|c| c.email), Some("persona@example.it".into()));

    // Domiciled abroad with an explicit sede: the second role keeps that sede.
    let q = persona_n(2);
    let mut r = prestatore(q.clone());
    r.domicilio = Some(estero());
    r.sede = "MI".into();
    h.registra_prestatore(r).await;
    let mut r = lf(q.clone());
    r.domicilio = Some(estero());
    let s = ok(h
        .c()
        .register_utilizzatore(h.utilizzatore(&q.codice_fiscale).req(r))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.sede, "MI");
    h.stop().await;
    Ok(())
}

both_engines!(ana_5_lf_business_data_violation_names_the_field_given);

async fn ana_5_lf_business_data_violation_names_the_field_given(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona("Rossi", "Mario", "1985-12-10", Sesso::M);
    let me = h.utilizzatore(&p.codice_fiscale);
    let mut r = lf(p.clone());
    r.ateco = ATECO.into();
    invalid(h.c().register_utilizzatore(me.req(r)).await, &["ateco"], "ANA-5");
    let mut r = lf(p);
    r.dipendenti_tempo_indeterminato = 2;
    invalid(
        h.c().register_utilizzatore(me.req(r)).await,
        &["dipendenti_tempo_indeterminato"],
        "ANA-5",
    );
    h.stop().await;
    Ok(())
}
