//! Who reaches which record (ANA-8), and calls without a verified identity.

use occasionali_kernel::Sesso;
use occasionali_proto::anagrafica as pb;
use occasionali_runtime::identity::IDENTITY_HEADER;
use occasionali_runtime::testing::TestDb;
use occasionali_runtime::{Identity, Principal, Profile};
use tonic::{Code, Request};

use crate::common::*;

both_engines!(
    ana_8_a_person_reaches_only_its_own_record,
    ana_8_operators_reach_records_within_their_scope,
    ana_8_legal_representative_reaches_the_company,
    ana_8_intermediary_reaches_only_clients_under_a_delega,
    ana_8_registration_only_for_oneself,
    ana_8_calls_without_a_verified_identity_are_unauthenticated,
    ana_8_organisations_listed_by_legal_representative_for_the_platform_only,
    ana_8_legal_representatives_of_organisations_registered_before_the_column,
    ana_8_parties_of_a_check_read_together_by_the_platform_only,
);

fn storia_req(cf: &str) -> pb::ListModificheRequest {
    pb::ListModificheRequest {
        codice_fiscale: cf.into(),
        page_size: 10,
        page_token: String::new(),
    }
}

async fn ana_8_a_person_reaches_only_its_own_record(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = persona_n(1).codice_fiscale;
    let b = persona_n(2).codice_fiscale;
    h.registra_prestatore(prestatore(persona_n(1))).await;
    h.registra_prestatore(prestatore(persona_n(2))).await;
    let me = h.prestatore(&a);

    let own = ok(h.c().get_soggetto(me.req(get(&a))).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(own.codice_fiscale, a);
    // Case and spaces do not matter.
    ok(h.c()
        .get_soggetto(me.req(get(&format!(" {} ", a.to_lowercase()))))
        .await);

    let other = err(h.c().get_soggetto(me.req(get(&b))).await, Code::PermissionDenied);
    assert_eq!(rule_of(&other), "ANA-8");
    // A CF that is not registered looks exactly the same: nothing leaks about who is registered.
    let missing = err(
        h.c().get_soggetto(me.req(get(&cf_sconosciuto()))).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&missing), "ANA-8");
    assert_eq!(reason_of(&missing), reason_of(&other));
    assert_eq!(missing.message(), other.message());

    // The same for history and changes.
    let s = err(
        h.c().list_modifiche(me.req(storia_req(&b))).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    let before = h.stato(&b).await;
    let s = err(
        h.c()
            .update_soggetto(me.req(update(&b, con_email("mia@example.it"), &["contatti.email"], "")))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    assert_eq!(h.stato(&b).await, before);
    ok(h.c().list_modifiche(me.req(storia_req(&a))).await);

    // Whatever the profile the person logged in with.
    for profile in [Profile::Utilizzatore, Profile::Intermediario, Profile::Azienda] {
        err(
            h.c().get_soggetto(h.who(profile, &a, None).req(get(&b))).await,
            Code::PermissionDenied,
        );
        ok(h.c().get_soggetto(h.who(profile, &a, None).req(get(&a))).await);
    }
    invalid(
        h.c().get_soggetto(me.req(get(""))).await,
        &["codice_fiscale"],
        "ANA-2",
    );
    h.stop().await;
    Ok(())
}

async fn ana_8_operators_reach_records_within_their_scope(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = persona_n(1).codice_fiscale;
    h.registra_prestatore(prestatore(persona_n(1))).await; // Roma: sede RM
    ok(h.c().get_soggetto(h.op("RM").req(get(&a))).await);
    ok(h.c().get_soggetto(h.dg().req(get(&a))).await);
    ok(h.c().list_modifiche(h.op("RM").req(storia_req(&a))).await);

    let mi = h.op("MI");
    let s = err(h.c().get_soggetto(mi.req(get(&a))).await, Code::PermissionDenied);
    assert_eq!(rule_of(&s), "ANA-8");
    err(
        h.c().list_modifiche(mi.req(storia_req(&a))).await,
        Code::PermissionDenied,
    );
    let before = h.stato(&a).await;
    let s = err(
        h.c()
            .update_soggetto(mi.req(update(&a, con_email("x@example.it"), &["contatti.email"], "nota")))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    assert_eq!(h.stato(&a).await, before);

    // Operators may learn that a CF is not registered.
    err(
        h.c().get_soggetto(h.dg().req(get(&cf_sconosciuto()))).await,
        Code::NotFound,
    );
    err(
        h.c().get_soggetto(h.op("RM").req(get(&cf_sconosciuto()))).await,
        Code::NotFound,
    );

    // Moving the record to another sede moves the scope with it.
    let s = ok(h
        .c()
        .update_soggetto(h.dg().req(update(
            &a,
            pb::Soggetto {
                sede: "MI".into(),
                ..Default::default()
            },
            &["sede"],
            "trasferimento di residenza",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.sede, "MI");
    ok(h.c().get_soggetto(mi.req(get(&a))).await);
    err(
        h.c().get_soggetto(h.op("RM").req(get(&a))).await,
        Code::PermissionDenied,
    );
    h.stop().await;
    Ok(())
}

async fn ana_8_legal_representative_reaches_the_company(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    let lr = h.utilizzatore(&legale);
    h.registra_utilizzatore(
        &h.who(Profile::Azienda, PIVA, None),
        impresa(PIVA, &legale, milano()),
    )
    .await;

    let s = ok(h.c().get_soggetto(lr.req(get(PIVA))).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(s.codice_fiscale, PIVA);
    ok(h.c().list_modifiche(lr.req(storia_req(PIVA))).await);
    let s = ok(h
        .c()
        .update_soggetto(lr.req(update(
            PIVA,
            con_email("amministrazione@example.it"),
            &["contatti.email"],
            "",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.versione, 2);

    let stranger = h.utilizzatore(&persona_n(3).codice_fiscale);
    let s = err(
        h.c().get_soggetto(stranger.req(get(PIVA))).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    // The company itself (its own credentials).
    ok(h.c()
        .get_soggetto(h.who(Profile::Azienda, PIVA, None).req(get(PIVA)))
        .await);

    // Which organisations a person represents (issue 13): herself, DG, the platform; nobody else.
    let rappresentate = |cf: &str| pb::ListRappresentateRequest {
        codice_fiscale: cf.into(),
    };
    let r = ok(h.c().list_rappresentate(lr.req(rappresentate(&legale))).await).rappresentate;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].codice_fiscale, PIVA);
    assert_eq!(r[0].sede, "MI");
    let s = err(
        h.c()
            .list_rappresentate(stranger.req(rappresentate(&legale)))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    let stranger_cf = persona_n(3).codice_fiscale;
    assert!(
        ok(h.c()
            .list_rappresentate(stranger.req(rappresentate(&stranger_cf)))
            .await)
        .rappresentate
        .is_empty()
    );
    // A new legal representative: the answer follows the record.
    let cambio = pb::Soggetto {
        identita: Some(pb::soggetto::Identita::Organizzazione(pb::Organizzazione {
            legale_rappresentante_cf: stranger_cf.clone(),
            ..Default::default()
        })),
        ..Default::default()
    };
    ok(h.c()
        .update_soggetto(h.dg().req(update(
            PIVA,
            cambio,
            &["organizzazione.legale_rappresentante_cf"],
            "nuovo amministratore",
        )))
        .await);
    assert!(
        ok(h.c().list_rappresentate(h.dg().req(rappresentate(&legale))).await)
            .rappresentate
            .is_empty()
    );
    let r = ok(h
        .c()
        .list_rappresentate(h.dg().req(rappresentate(&stranger_cf)))
        .await)
    .rappresentate;
    assert_eq!(r.len(), 1, "{r:?}");
    h.stop().await;
    Ok(())
}

async fn ana_8_intermediary_reaches_only_clients_under_a_delega(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cliente = persona_n(1).codice_fiscale;
    let altro = persona_n(2).codice_fiscale;
    h.registra_prestatore(prestatore(persona_n(1))).await;
    h.registra_prestatore(prestatore(persona_n(2))).await;
    let consulente = persona("Gialli", "Franca", "1966-09-30", Sesso::F).codice_fiscale;
    let senza_delega = h.who(Profile::Intermediario, &consulente, None);
    let s = err(
        h.c().get_soggetto(senza_delega.req(get(&cliente))).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");

    let con_delega = senza_delega
        .clone()
        .per_conto_di(&cliente, "intermediario_prestatore");
    ok(h.c().get_soggetto(con_delega.req(get(&cliente))).await);
    err(
        h.c().get_soggetto(con_delega.req(get(&altro))).await,
        Code::PermissionDenied,
    );
    // Acting for the client, it edits what the client could, and the history names it.
    ok(h.c()
        .update_soggetto(con_delega.req(update(
            &cliente,
            con_email("c@example.it"),
            &["contatti.email"],
            "",
        )))
        .await);
    let m = &h.storia(&cliente).await[0];
    assert_eq!(m.autore_cf, consulente);
    assert_eq!(m.autore_profilo, "intermediario");
    err(
        h.c()
            .update_soggetto(con_delega.req(update(&cliente, con_cognome("X"), &["persona.cognome"], "nota")))
            .await,
        Code::PermissionDenied,
    );
    h.stop().await;
    Ok(())
}

async fn ana_8_registration_only_for_oneself(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona_n(1);
    let cf = p.codice_fiscale.clone();
    let other = h.prestatore(&persona_n(2).codice_fiscale);
    let s = err(
        h.c().register_prestatore(other.req(prestatore(p.clone()))).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    // A sede operator registers subjects of its sede only.
    err(
        h.c()
            .register_prestatore(h.op("MI").req(prestatore(p.clone())))
            .await,
        Code::PermissionDenied,
    );
    err(h.c().get_soggetto(h.dg().req(get(&cf))).await, Code::NotFound);
    // An operator's registration needs a note (ANA-6), which the history keeps.
    invalid(
        h.c()
            .register_prestatore(h.op("RM").req(prestatore(p.clone())))
            .await,
        &["nota"],
        "ANA-6",
    );
    let mut r = prestatore(p);
    r.nota = "registrato allo sportello, documento verificato".into();
    let s = ok(h.c().register_prestatore(h.op("RM").req(r)).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(s.sede, "RM");
    let m = &h.storia(&cf).await[0];
    assert_eq!(
        (m.autore_cf.as_str(), m.autore_profilo.as_str()),
        (OP_RM, "operatore_sede")
    );
    assert_eq!(m.nota, "registrato allo sportello, documento verificato");
    h.stop().await;
    Ok(())
}

async fn ana_8_calls_without_a_verified_identity_are_unauthenticated(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = persona_n(1).codice_fiscale;
    h.registra_prestatore(prestatore(persona_n(1))).await;

    err(
        h.c().get_soggetto(Request::new(get(&a))).await,
        Code::Unauthenticated,
    );
    err(
        h.c()
            .register_prestatore(Request::new(prestatore(persona_n(2))))
            .await,
        Code::Unauthenticated,
    );
    let identity = Identity::new(Principal {
        cf: a.clone(),
        profile: Profile::Prestatore,
        sede: None,
    });
    // Signed with a gateway key anagrafica does not trust (e.g. a client forging the internal
    // header).
    let forged = occasionali_runtime::firme::Portachiavi::generated()
        .mint_for(&identity, occasionali_runtime::Context::Anagrafica)?;
    let mut r = Request::new(get(&a));
    r.metadata_mut().insert(IDENTITY_HEADER, forged.parse()?);
    err(h.c().get_soggetto(r).await, Code::Unauthenticated);
    let mut r = Request::new(get(&a));
    r.metadata_mut().insert(IDENTITY_HEADER, "not-a-token".parse()?);
    err(h.c().get_soggetto(r).await, Code::Unauthenticated);
    let mut r = Request::new(pb::StreamSoggettiAttiviRequest::default());
    r.metadata_mut().insert(IDENTITY_HEADER, "not-a-token".parse()?);
    let res = h.c().stream_soggetti_attivi(r).await;
    assert_eq!(res.err().map(|s| s.code()), Some(Code::Unauthenticated));
    assert_eq!(h.stato(&a).await.0, 1);
    h.stop().await;
    Ok(())
}

// --- Found by these tests, fixed since ---------------------------------------------------

both_engines!(ana_8_sede_operator_cannot_add_a_role_to_a_record_of_another_sede);

async fn ana_8_sede_operator_cannot_add_a_role_to_a_record_of_another_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let mi = h.op("MI");
    // A Milano domicile in the request makes the request's sede MI.
    let p = persona_n(1);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p.clone())).await; // sede RM
    let before = h.stato(&cf).await;
    let mut r = lf(p);
    r.domicilio = Some(milano());
    let s = err(
        h.c().register_utilizzatore(mi.req(r)).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    assert_eq!(h.stato(&cf).await, before);
    let s = h.leggi(&cf).await;
    assert!(s.utilizzatore_lf.is_none());
    assert_eq!(s.domicilio.map(|d| d.comune), Some("058091".into()));

    // An explicit sede MI would even move the record into the operator's scope.
    let q = persona_n(2);
    let cf = q.codice_fiscale.clone();
    h.registra_prestatore(prestatore(q.clone())).await; // sede RM
    let mut r = lf(q);
    r.sede = "MI".into();
    err(
        h.c().register_utilizzatore(mi.req(r)).await,
        Code::PermissionDenied,
    );
    assert_eq!(h.leggi(&cf).await.sede, "RM");
    h.stop().await;
    Ok(())
}

both_engines!(ana_8_only_the_stored_legal_representative_adds_roles_to_a_company);

async fn ana_8_only_the_stored_legal_representative_adds_roles_to_a_company(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    h.registra_utilizzatore(
        &h.who(Profile::Azienda, PIVA, None),
        impresa(PIVA, &legale, milano()),
    )
    .await;
    let before = h.stato(PIVA).await;
    let stranger = persona_n(3).codice_fiscale;
    let r = pb::RegisterIntermediarioRequest {
        nota: String::new(),
        persona: None,
        organizzazione: Some(pb::Organizzazione {
            codice_fiscale: PIVA.into(),
            denominazione: "Trattoria Da Mario S.r.l.".into(),
            legale_rappresentante_cf: stranger.clone(),
        }),
        tipo: pb::TipoIntermediario::AssociazioneCategoria as i32,
        numero_iscrizione: String::new(),
        domicilio: Some(milano()),
        contatti: None,
        sede: String::new(),
    };
    let s = err(
        h.c()
            .register_intermediario(h.who(Profile::Intermediario, &stranger, None).req(r))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-8");
    assert_eq!(h.stato(PIVA).await, before);
    h.stop().await;
    Ok(())
}

both_engines!(ana_6_a_second_role_cannot_move_the_record_to_another_sede);

/// The sede is an operator's field (ANA-6): registering another role must not change it.
async fn ana_6_a_second_role_cannot_move_the_record_to_another_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona_n(4);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p.clone())).await;
    let before = h.stato(&cf).await;
    let mut r = lf(p.clone());
    r.sede = "MI".into();
    let s = err(
        h.c()
            .register_utilizzatore(h.utilizzatore(&cf).req(r.clone()))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-6");
    assert_eq!(h.stato(&cf).await, before);
    assert_eq!(h.leggi(&cf).await.sede, "RM");
    // The same sede is fine, and so is no sede at all.
    r.sede = "RM".into();
    ok(h.c().register_utilizzatore(h.utilizzatore(&cf).req(r)).await);
    h.stop().await;
    Ok(())
}

both_engines!(gw_5_operators_reads_are_audited_for_dg);

/// GW-5: every operator action is audited — changes in the history, reads in the audit.
async fn gw_5_operators_reads_are_audited_for_dg(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let p = persona_n(5);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p)).await;
    let accessi = |autore: &str, cf: &str| pb::ListAccessiOperatoriRequest {
        autore_cf: autore.into(),
        codice_fiscale: cf.into(),
        page_size: 50,
        page_token: String::new(),
    };
    // The subject reading its own record is not an operator action.
    ok(h.c().get_soggetto(h.prestatore(&cf).req(get(&cf))).await);
    let a = ok(h.c().list_accessi_operatori(h.dg().req(accessi("", &cf))).await).accessi;
    assert!(a.is_empty(), "{a:?}");
    // An operator's reads are.
    ok(h.c().get_soggetto(h.op("RM").req(get(&cf))).await);
    ok(h.c().list_modifiche(h.op("RM").req(storia_req(&cf))).await);
    let a = ok(h.c().list_accessi_operatori(h.dg().req(accessi(OP_RM, ""))).await).accessi;
    let azioni: Vec<&str> = a.iter().map(|x| x.azione.as_str()).collect();
    assert_eq!(azioni, vec!["lettura_storia", "lettura_soggetto"]);
    assert!(
        a.iter()
            .all(|x| x.codice_fiscale == cf && x.autore_sede == "RM" && x.autore_profilo == "operatore_sede")
    );
    // Only DG reads the audit.
    let s = err(
        h.c()
            .list_accessi_operatori(h.op("RM").req(accessi("", "")))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "GW-5");
    h.stop().await;
    Ok(())
}

/// The internal query behind comunicazioni's "Scegli per chi intendi operare" (LAO-1): the
/// organisations a person legally represents, following changes of representative; only the
/// platform's `sistema` identity may ask.
async fn ana_8_organisations_listed_by_legal_representative_for_the_platform_only(
    t: &TestDb,
) -> anyhow::Result<()> {
    use occasionali_proto::anagrafica::anagrafica_internal_service_client::AnagraficaInternalServiceClient;
    let h = Harness::start(t).await?;
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    let altro = persona_n(4).codice_fiscale;
    let piva_b = piva(1_234_567_890);
    let piva_c = piva(1_111_111_111);
    for (cf, lr) in [
        (PIVA, &legale),
        (piva_b.as_str(), &legale),
        (piva_c.as_str(), &altro),
    ] {
        h.registra_utilizzatore(&h.who(Profile::Azienda, cf, None), impresa(cf, lr, milano()))
            .await;
    }
    let mut interno = AnagraficaInternalServiceClient::new(
        tonic::transport::Channel::from_shared(h.url.clone())?
            .connect()
            .await?,
    );
    let sistema = h.servizio("comunicazioni");
    let lista = |cf: &str| pb::ListOrganizzazioniRappresentateRequest {
        legale_rappresentante_cf: cf.into(),
    };
    let cfs = |r: pb::ListOrganizzazioniRappresentateResponse| -> Vec<String> {
        r.organizzazioni.into_iter().map(|o| o.codice_fiscale).collect()
    };
    let mut attese = vec![PIVA.to_string(), piva_b.clone()];
    attese.sort();
    assert_eq!(
        cfs(ok(interno
            .list_organizzazioni_rappresentate(sistema.req(lista(&legale)))
            .await)),
        attese
    );
    assert_eq!(
        cfs(ok(interno
            .list_organizzazioni_rappresentate(sistema.req(lista(&altro)))
            .await)),
        vec![piva_c.clone()]
    );
    // A new legal representative takes the company over.
    let s = pb::Soggetto {
        identita: Some(pb::soggetto::Identita::Organizzazione(pb::Organizzazione {
            codice_fiscale: piva_b.clone(),
            denominazione: String::new(),
            legale_rappresentante_cf: altro.clone(),
        })),
        ..Default::default()
    };
    ok(h.c()
        .update_soggetto(h.dg().req(update(
            &piva_b,
            s,
            &["organizzazione.legale_rappresentante_cf"],
            "nuovo legale rappresentante",
        )))
        .await);
    assert_eq!(
        cfs(ok(interno
            .list_organizzazioni_rappresentate(sistema.req(lista(&legale)))
            .await)),
        [PIVA.to_string()]
    );
    let mut attese = vec![piva_b.clone(), piva_c.clone()];
    attese.sort();
    assert_eq!(
        cfs(ok(interno
            .list_organizzazioni_rappresentate(sistema.req(lista(&altro)))
            .await)),
        attese
    );
    // A malformed CF is INVALID_ARGUMENT; a client, even the person itself, is refused.
    err(
        interno
            .list_organizzazioni_rappresentate(sistema.req(lista("XYZ")))
            .await,
        Code::InvalidArgument,
    );
    let s = err(
        interno
            .list_organizzazioni_rappresentate(h.utilizzatore(&legale).req(lista(&legale)))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "GW_6_INTERNAL_ONLY");
    h.stop().await;
    Ok(())
}

/// Migration m0003 fills the legal representative of organisations registered before it, from
/// their document: undone on a registered company, then run again.
async fn ana_8_legal_representatives_of_organisations_registered_before_the_column(
    t: &TestDb,
) -> anyhow::Result<()> {
    use occasionali_proto::anagrafica::anagrafica_internal_service_client::AnagraficaInternalServiceClient;
    use sea_orm::ConnectionTrait;
    use sea_orm_migration::MigratorTrait;
    let h = Harness::start(t).await?;
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    h.registra_utilizzatore(
        &h.who(Profile::Azienda, PIVA, None),
        impresa(PIVA, &legale, milano()),
    )
    .await;
    // The schema as before m0003.
    for sql in [
        "DROP INDEX soggetti_legale_rappresentante",
        "ALTER TABLE soggetti DROP COLUMN legale_rappresentante_cf",
        "DELETE FROM seaql_migrations WHERE version = 'm0003_add_legale_rappresentante'",
    ] {
        h.db.execute_unprepared(sql).await?;
    }
    occasionali_anagrafica::Migrator::up(&h.db, None).await?;
    let mut interno = AnagraficaInternalServiceClient::new(
        tonic::transport::Channel::from_shared(h.url.clone())?
            .connect()
            .await?,
    );
    let r = ok(interno
        .list_organizzazioni_rappresentate(h.servizio("comunicazioni").req(
            pb::ListOrganizzazioniRappresentateRequest {
                legale_rappresentante_cf: legale.clone(),
            },
        ))
        .await);
    assert_eq!(
        r.organizzazioni
            .into_iter()
            .map(|o| o.codice_fiscale)
            .collect::<Vec<_>>(),
        vec![PIVA.to_string()]
    );
    h.stop().await;
    Ok(())
}

/// GetSoggetti (internal, issue 11): the parties of a check in one call — the registered ones,
/// in the order asked, once each; an operator's reads through the platform recorded as
/// GetSoggetto's are; the list bounded (GW-3) and the service refused to anyone but `sistema`.
async fn ana_8_parties_of_a_check_read_together_by_the_platform_only(t: &TestDb) -> anyhow::Result<()> {
    use occasionali_proto::anagrafica::anagrafica_internal_service_client::AnagraficaInternalServiceClient;
    let h = Harness::start(t).await?;
    let legale = persona_n(3).codice_fiscale;
    h.registra_utilizzatore(
        &h.who(Profile::Azienda, PIVA, None),
        impresa(PIVA, &legale, milano()),
    )
    .await;
    let cf = persona_n(1).codice_fiscale;
    h.registra_prestatore(prestatore(persona_n(1))).await;
    let ignoto = persona_n(2).codice_fiscale;
    let mut interno = AnagraficaInternalServiceClient::new(
        tonic::transport::Channel::from_shared(h.url.clone())?
            .connect()
            .await?,
    );
    let chiedi = |cfs: &[&str]| pb::GetSoggettiRequest {
        codici_fiscali: cfs.iter().map(|c| c.to_string()).collect(),
    };
    let trovati = |r: pb::GetSoggettiResponse| -> Vec<String> {
        r.soggetti.into_iter().map(|s| s.codice_fiscale).collect()
    };
    let sistema = h.sistema();
    let minuscolo = cf.to_lowercase();
    assert_eq!(
        trovati(ok(interno
            .get_soggetti(sistema.req(chiedi(&[&cf, &ignoto, PIVA, &minuscolo])))
            .await)),
        vec![cf.clone(), PIVA.to_string()]
    );
    assert!(trovati(ok(interno.get_soggetti(sistema.req(chiedi(&[&ignoto]))).await)).is_empty());
    // The full record, as GetSoggetto shows it.
    let uno = ok(interno.get_soggetti(sistema.req(chiedi(&[PIVA]))).await).soggetti;
    let via_get = ok(h.c().get_soggetto(h.dg().req(get(PIVA))).await).soggetto;
    assert_eq!(uno.first(), via_get.as_ref());
    // An operator's insertion reads both parties through the platform: recorded for each.
    let op = h.op("MI");
    ok(interno
        .get_soggetti(h.sistema_per(&op).req(chiedi(&[PIVA, &cf])))
        .await);
    let accessi = pb::ListAccessiOperatoriRequest {
        autore_cf: op.identity.caller.cf.clone(),
        page_size: 50,
        ..Default::default()
    };
    let letti: Vec<(String, String)> = ok(h.c().list_accessi_operatori(h.dg().req(accessi)).await)
        .accessi
        .into_iter()
        .map(|a| (a.azione, a.codice_fiscale))
        .collect();
    assert_eq!(letti.len(), 2, "{letti:?}");
    assert!(letti.iter().all(|(azione, _)| azione == "lettura_soggetto"));
    // Bounded: none, a blank one, or more than 16 are the caller's mistake.
    let s = err(
        interno.get_soggetti(sistema.req(chiedi(&[]))).await,
        Code::InvalidArgument,
    );
    assert_eq!(reason_of(&s), "ANA_2_CF_REQUIRED");
    let s = err(
        interno.get_soggetti(sistema.req(chiedi(&[&cf, " "]))).await,
        Code::InvalidArgument,
    );
    assert_eq!(reason_of(&s), "ANA_2_CF_REQUIRED");
    let molti = vec![cf.as_str(); 17];
    let s = err(
        interno.get_soggetti(sistema.req(chiedi(&molti))).await,
        Code::InvalidArgument,
    );
    assert_eq!(reason_of(&s), "REQUEST_TOO_MANY_VALUES");
    // Only the platform.
    let s = err(
        interno.get_soggetti(h.prestatore(&cf).req(chiedi(&[&cf]))).await,
        Code::PermissionDenied,
    );
    assert_eq!(reason_of(&s), "GW_6_INTERNAL_ONLY");
    h.stop().await;
    Ok(())
}
