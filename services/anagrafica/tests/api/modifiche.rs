//! Corrections and their history (ANA-6), and the categoria of CPO utilizzatori (ANA-7).

use occasionali_kernel::Sesso;
use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::CategoriaUtilizzatore as Cat;
use occasionali_runtime::testing::TestDb;
use occasionali_runtime::{Principal, Profile};
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

both_engines!(
    ana_6_operator_corrects_a_surname_and_the_history_records_it,
    ana_6_operator_correction_without_a_note_is_refused,
    ana_6_correction_in_conflict_with_the_cf_is_refused,
    ana_6_owner_changes_contacts_without_a_note,
    ana_6_owner_cannot_correct_identity_data,
    ana_6_stale_expected_versione_is_aborted,
    ana_6_unknown_or_missing_mask_is_invalid,
    ana_6_history_is_paginated_newest_first,
    ana_6_field_of_a_role_the_subject_lacks_is_invalid,
    ana_6_unchanged_values_leave_no_trace,
    ana_7_sede_operator_changes_categoria_while_there_are_no_prestazioni,
    ana_7_with_prestazioni_only_dg_may_change_categoria,
    ana_7_dg_change_incoherent_with_prestazioni_is_refused_listing_them,
    ana_7_ateco_change_is_checked_too,
    ana_7_other_fields_do_not_ask_prestazioni,
    ana_7_change_is_refused_when_prestazioni_is_unavailable,
);

/// A prestatore "De Luca Anna" domiciled in Roma (sede RM).
async fn de_luca(h: &Harness) -> String {
    let p = persona("De Luca", "Anna", "1990-03-15", Sesso::F);
    let cf = p.codice_fiscale.clone();
    h.registra_prestatore(prestatore(p)).await;
    cf
}

// --- ANA-6 ---------------------------------------------------------------------------------

async fn ana_6_operator_corrects_a_surname_and_the_history_records_it(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let op = h.op("RM");
    h.clock.advance(chrono::Duration::days(1));
    let domani = ora() + chrono::Duration::days(1);
    // "Deluca" has the same surname code (DLC) as "De Luca".
    let mut r = update(
        &cf,
        con_cognome("Deluca"),
        &["persona.cognome"],
        "carta d'identità n. CA12345",
    );
    r.expected_versione = 1;
    let s = ok(h.c().update_soggetto(op.req(r)).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(persona_del(&s).cognome, "DELUCA");
    assert_eq!(persona_del(&s).nome, "ANNA", "fields outside the mask are kept");
    assert_eq!(s.versione, 2);
    assert_eq!(s.aggiornato_il, Some(istante(domani)));
    assert_eq!(persona_del(&h.leggi(&cf).await).cognome, "DELUCA");

    let storia = ok(h
        .c()
        .list_modifiche(op.req(pb::ListModificheRequest {
            codice_fiscale: cf.clone(),
            page_size: 10,
            page_token: String::new(),
        }))
        .await)
    .modifiche;
    assert_eq!(storia.len(), 2);
    let m = &storia[0];
    assert_eq!(m.azione, "correzione");
    assert_eq!(m.autore_cf, OP_RM);
    assert_eq!(m.autore_profilo, "operatore_sede");
    assert_eq!(m.nota, "carta d'identità n. CA12345");
    assert_eq!(
        m.eseguita_il,
        Some(istante(domani)),
        "the platform clock dates changes"
    );
    assert_eq!(
        m.campi,
        vec![pb::CampoModificato {
            campo: "persona.cognome".into(),
            prima: "DE LUCA".into(),
            dopo: "DELUCA".into(),
        }]
    );
    assert_eq!(storia[1].azione, "registrazione_prestatore");
    assert_eq!(storia[1].eseguita_il, Some(istante(ora())));

    // The subject sees the history too, the operator's CF masked (GW-5).
    let own = ok(h
        .c()
        .list_modifiche(h.prestatore(&cf).req(pb::ListModificheRequest {
            codice_fiscale: cf.clone(),
            page_size: 10,
            page_token: String::new(),
        }))
        .await)
    .modifiche;
    assert_eq!(own.len(), 2);
    assert_ne!(own[0].autore_cf, OP_RM);
    assert!(own[0].autore_cf.contains('*'), "{}", own[0].autore_cf);
    assert_eq!(own[1].autore_cf, cf, "own changes are shown in full");

    // Propagated to the other contexts.
    let eventi = h.eventi(&cf).await;
    assert_eq!(eventi.len(), 2);
    assert_eq!(eventi[0].0, "anagrafica.soggetto.registrato");
    assert_eq!(eventi[1].0, "anagrafica.soggetto.modificato");
    let e = &eventi[1].1;
    assert_eq!(e.codice_fiscale, cf);
    assert_eq!(e.azione, "correzione");
    assert_eq!(e.campi, vec!["persona.cognome".to_string()]);
    assert_eq!(e.versione, 2);
    assert_eq!(
        e.soggetto.as_ref().map(|s| persona_del(s).cognome.clone()),
        Some("DELUCA".into())
    );
    h.stop().await;
    Ok(())
}

async fn ana_6_operator_correction_without_a_note_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let before = h.stato(&cf).await;
    for (who, nota) in [(h.op("RM"), ""), (h.op("RM"), "   "), (h.dg(), "")] {
        let s = invalid(
            h.c()
                .update_soggetto(who.req(update(&cf, con_cognome("Deluca"), &["persona.cognome"], nota)))
                .await,
            &["nota"],
            "ANA-6",
        );
        assert_eq!(reason_of(&s), "ANA_6_NOTE_REQUIRED");
        // Even for fields the owner may change without one.
        invalid(
            h.c()
                .update_soggetto(who.req(update(&cf, con_email("x@example.it"), &["contatti.email"], nota)))
                .await,
            &["nota"],
            "ANA-6",
        );
    }
    assert_eq!(h.stato(&cf).await, before, "a refused change changes nothing");
    assert_eq!(persona_del(&h.leggi(&cf).await).cognome, "DE LUCA");
    h.stop().await;
    Ok(())
}

async fn ana_6_correction_in_conflict_with_the_cf_is_refused(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let before = h.stato(&cf).await;
    let op = h.op("RM");
    invalid(
        h.c()
            .update_soggetto(op.req(update(
                &cf,
                con_cognome("Bianchi"),
                &["persona.cognome"],
                "documento",
            )))
            .await,
        &["soggetto.persona.cognome"],
        "ANA-3",
    );
    let maschio = pb::Soggetto {
        identita: Some(pb::soggetto::Identita::Persona(pb::PersonaFisica {
            sesso: pb::Sesso::M as i32,
            data_nascita: "1990-03-16".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    invalid(
        h.c()
            .update_soggetto(op.req(update(
                &cf,
                maschio,
                &["persona.sesso", "persona.data_nascita"],
                "documento",
            )))
            .await,
        &["soggetto.persona.sesso", "soggetto.persona.data_nascita"],
        "ANA-3",
    );
    // Badly formed values are reported with the request path.
    invalid(
        h.c()
            .update_soggetto(op.req(update(
                &cf,
                con_cognome("D3 Luca"),
                &["persona.cognome"],
                "documento",
            )))
            .await,
        &["soggetto.persona.cognome"],
        "ANA-3",
    );
    assert_eq!(h.stato(&cf).await, before);
    h.stop().await;
    Ok(())
}

async fn ana_6_owner_changes_contacts_without_a_note(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let me = h.prestatore(&cf);
    let s = ok(h
        .c()
        .update_soggetto(me.req(update(
            &cf,
            con_email("anna@example.org"),
            &["contatti.email"],
            "",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    let c = s.contatti.expect("contatti");
    assert_eq!(c.email, "anna@example.org");
    assert_eq!(c.cellulare, "+393331234567", "only the masked path is read");
    assert_eq!(s.versione, 2);

    let storia = h.storia(&cf).await;
    assert_eq!(storia.len(), 2);
    assert_eq!(storia[0].azione, "modifica");
    assert_eq!(storia[0].autore_cf, cf);
    assert_eq!(storia[0].autore_profilo, "prestatore");
    assert_eq!(
        storia[0].campi,
        vec![pb::CampoModificato {
            campo: "contatti.email".into(),
            prima: "persona@example.it".into(),
            dopo: "anna@example.org".into(),
        }]
    );
    let eventi = h.eventi(&cf).await;
    assert_eq!(eventi.len(), 2);
    assert_eq!(eventi[1].0, "anagrafica.soggetto.modificato");
    assert_eq!(eventi[1].1.azione, "modifica");

    // The owner may change the payment method too; a bad IBAN is reported with its path.
    invalid(
        h.c()
            .update_soggetto(me.req(update(
                &cf,
                pb::Soggetto {
                    prestatore: Some(pb::Prestatore {
                        metodo_pagamento: Some(conto("IT61X0542811101000000123456")),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                &["prestatore.metodo_pagamento"],
                "",
            )))
            .await,
        &["soggetto.prestatore.metodo_pagamento.iban"],
        "ANA-4",
    );
    let s = ok(h
        .c()
        .update_soggetto(me.req(update(
            &cf,
            pb::Soggetto {
                prestatore: Some(pb::Prestatore {
                    metodo_pagamento: Some(pb::MetodoPagamento {
                        tipo: pb::TipoMetodoPagamento::BonificoDomiciliato as i32,
                        iban: String::new(),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["prestatore.metodo_pagamento"],
            "",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.versione, 3);
    assert_eq!(
        s.prestatore.and_then(|p| p.metodo_pagamento).map(|m| m.tipo),
        Some(pb::TipoMetodoPagamento::BonificoDomiciliato as i32)
    );
    h.stop().await;
    Ok(())
}

async fn ana_6_owner_cannot_correct_identity_data(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let before = h.stato(&cf).await;
    let me = h.prestatore(&cf);
    for (soggetto, mask) in [
        (con_cognome("Deluca"), "persona.cognome"),
        (
            pb::Soggetto {
                sede: "MI".into(),
                ..Default::default()
            },
            "sede",
        ),
    ] {
        let s = err(
            h.c()
                .update_soggetto(me.req(update(&cf, soggetto, &[mask], "ho cambiato idea")))
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(rule_of(&s), "ANA-6");
    }
    assert_eq!(h.stato(&cf).await, before);
    h.stop().await;
    Ok(())
}

async fn ana_6_stale_expected_versione_is_aborted(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let me = h.prestatore(&cf);
    let mut r = update(&cf, con_email("uno@example.it"), &["contatti.email"], "");
    r.expected_versione = 1;
    ok(h.c().update_soggetto(me.req(r)).await);
    let before = h.stato(&cf).await;
    assert_eq!(before.0, 2);
    // The same change retried (its first answer lost): it already took effect, so OK, and
    // nothing recorded twice.
    let mut r = update(&cf, con_email("uno@example.it"), &["contatti.email"], "");
    r.expected_versione = 1;
    ok(h.c().update_soggetto(me.req(r)).await);
    assert_eq!(h.stato(&cf).await, before);

    let mut r = update(&cf, con_email("due@example.it"), &["contatti.email"], "");
    r.expected_versione = 1;
    let s = err(h.c().update_soggetto(me.req(r)).await, Code::Aborted);
    assert_eq!(rule_of(&s), "ANA-6");
    assert_eq!(h.stato(&cf).await, before);
    assert_eq!(
        h.leggi(&cf).await.contatti.map(|c| c.email),
        Some("uno@example.it".into())
    );
    h.stop().await;
    Ok(())
}

async fn ana_6_unknown_or_missing_mask_is_invalid(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let before = h.stato(&cf).await;
    let op = h.op("RM");
    for mask in [
        vec!["codice_fiscale"],
        vec!["contatti.email", "persona.soprannome"],
        vec![],
    ] {
        invalid(
            h.c()
                .update_soggetto(op.req(update(&cf, con_email("x@example.it"), &mask, "nota")))
                .await,
            &["update_mask"],
            "ANA-6",
        );
    }
    let mut r = update(&cf, con_email("x@example.it"), &[], "nota");
    r.update_mask = None;
    invalid(h.c().update_soggetto(op.req(r)).await, &["update_mask"], "ANA-6");
    assert_eq!(h.stato(&cf).await, before);

    // camelCase paths (what grpcurl users type) are accepted.
    let s = ok(h
        .c()
        .update_soggetto(op.req(update(
            &cf,
            con_email("x@example.it"),
            &["contatti.email"],
            "nota",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.versione, 2);
    let r = update(
        &cf,
        pb::Soggetto {
            prestatore: Some(pb::Prestatore {
                metodo_pagamento: Some(pb::MetodoPagamento {
                    tipo: pb::TipoMetodoPagamento::BonificoDomiciliato as i32,
                    iban: String::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
        &["prestatore.metodoPagamento"],
        "richiesta allo sportello",
    );
    assert_eq!(
        ok(h.c().update_soggetto(op.req(r)).await)
            .soggetto
            .map(|s| s.versione),
        Some(3)
    );
    h.stop().await;
    Ok(())
}

async fn ana_6_history_is_paginated_newest_first(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let me = h.prestatore(&cf);
    for i in 1..=3 {
        ok(h.c()
            .update_soggetto(me.req(update(
                &cf,
                con_email(&format!("e{i}@example.it")),
                &["contatti.email"],
                "",
            )))
            .await);
    }
    for page_size in [1, 2, 3] {
        let mut token = String::new();
        let mut all: Vec<pb::Modifica> = Vec::new();
        for _ in 0..10 {
            let page = ok(h
                .c()
                .list_modifiche(me.req(pb::ListModificheRequest {
                    codice_fiscale: cf.clone(),
                    page_size,
                    page_token: token.clone(),
                }))
                .await);
            assert!(page.modifiche.len() <= page_size as usize);
            all.extend(page.modifiche);
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert!(token.is_empty(), "pagination ends");
        let dopo: Vec<String> = all
            .iter()
            .map(|m| {
                m.campi
                    .iter()
                    .find(|c| c.campo == "contatti.email")
                    .map(|c| c.dopo.clone())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            dopo,
            vec![
                "e3@example.it",
                "e2@example.it",
                "e1@example.it",
                "persona@example.it"
            ],
            "page size {page_size}"
        );
        let mut ids: Vec<&str> = all.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 4, "no entry twice");
    }
    invalid(
        h.c()
            .list_modifiche(me.req(pb::ListModificheRequest {
                codice_fiscale: cf.clone(),
                page_size: 1,
                page_token: "not-a-token".into(),
            }))
            .await,
        &["page_token"],
        "ANA-6",
    );
    // One paging rule (runtime::pagina): a negative size is refused, not read as the default.
    invalid(
        h.c()
            .list_modifiche(me.req(pb::ListModificheRequest {
                codice_fiscale: cf.clone(),
                page_size: -1,
                page_token: String::new(),
            }))
            .await,
        &["page_size"],
        "ANA-6",
    );
    h.stop().await;
    Ok(())
}

async fn ana_6_field_of_a_role_the_subject_lacks_is_invalid(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let before = h.stato(&cf).await;
    let s = err(
        h.c()
            .update_soggetto(h.op("RM").req(update(
                &cf,
                con_categoria_cpo(Cat::Impresa),
                &["utilizzatore_cpo.categoria"],
                "nota",
            )))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(rule_of(&s), "ANA-6");
    assert!(h.fake.checks().is_empty());
    assert_eq!(h.stato(&cf).await, before);
    h.stop().await;
    Ok(())
}

async fn ana_6_unchanged_values_leave_no_trace(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let before = h.stato(&cf).await;
    let s = ok(h
        .c()
        .update_soggetto(h.prestatore(&cf).req(update(
            &cf,
            con_email("persona@example.it"),
            &["contatti.email"],
            "",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.versione, 1);
    assert_eq!(h.stato(&cf).await, before);
    h.stop().await;
    Ok(())
}

// --- ANA-7 ---------------------------------------------------------------------------------

/// A CPO company in Roma (sede RM), categoria impresa, ATECO 56.10.11.
async fn azienda(h: &Harness) -> (String, String) {
    let legale = persona_di("Bianchi", "Carla", "1970-04-22", Sesso::F, "F205").codice_fiscale;
    h.registra_utilizzatore(
        &h.who(Profile::Azienda, PIVA, None),
        impresa(PIVA, &legale, roma()),
    )
    .await;
    (PIVA.to_string(), legale)
}

fn categoria_di(s: &pb::Soggetto) -> i32 {
    s.utilizzatore_cpo
        .as_ref()
        .map(|u| u.categoria)
        .unwrap_or_default()
}

#[track_caller]
fn assert_system_call_for(seen_identity: Option<&occasionali_runtime::Identity>, origin: &Principal) {
    let id = seen_identity.expect("prestazioni received a verifiable x-occasionali-identity");
    assert_eq!(id.caller.profile, Profile::Sistema);
    assert_eq!(id.caller.cf, "SISTEMA-ANAGRAFICA");
    assert_eq!(id.origin.as_ref().map(|o| &o.caller), Some(origin));
}

async fn ana_7_sede_operator_changes_categoria_while_there_are_no_prestazioni(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, _) = azienda(&h).await;
    h.fake.set_has_prestazioni(false);
    let op = h.op("RM");
    let s = ok(h
        .c()
        .update_soggetto(op.req(update(
            &cf,
            con_categoria_cpo(Cat::PubblicaAmministrazione),
            &["utilizzatore_cpo.categoria"],
            "visura camerale",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(categoria_di(&s), Cat::PubblicaAmministrazione as i32);
    assert_eq!(s.versione, 2);

    let checks = h.fake.checks();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].request.utilizzatore_cf, cf);
    assert_eq!(checks[0].request.categoria, "pubblica_amministrazione");
    assert_eq!(checks[0].request.ateco, ATECO);
    assert_system_call_for(checks[0].identity.as_ref(), &op.identity.caller);

    let storia = h.storia(&cf).await;
    assert_eq!(storia[0].azione, "correzione");
    assert_eq!(
        storia[0].campi,
        vec![pb::CampoModificato {
            campo: "utilizzatore_cpo.categoria".into(),
            prima: "impresa".into(),
            dopo: "pubblica_amministrazione".into(),
        }]
    );

    // Every categoria reaches prestazioni by the name its API documents.
    for (c, name) in [
        (Cat::Impresa, "impresa"),
        (Cat::Professionista, "professionista"),
        (Cat::ImpresaAgricola, "impresa_agricola"),
        (Cat::AssociazioneEnte, "associazione_ente"),
        (Cat::Altro, "altro"),
        (Cat::PubblicaAmministrazione, "pubblica_amministrazione"),
    ] {
        let s = ok(h
            .c()
            .update_soggetto(op.req(update(
                &cf,
                con_categoria_cpo(c),
                &["utilizzatore_cpo.categoria"],
                "nota",
            )))
            .await)
        .soggetto
        .expect("soggetto");
        assert_eq!(categoria_di(&s), c as i32);
        let last = h.fake.checks().pop().expect("a check");
        assert_eq!(last.request.categoria, name);
    }
    // An unspecified categoria is not a categoria.
    invalid(
        h.c()
            .update_soggetto(op.req(update(
                &cf,
                con_categoria_cpo(Cat::Unspecified),
                &["utilizzatore_cpo.categoria"],
                "nota",
            )))
            .await,
        &["soggetto.utilizzatore_cpo.categoria"],
        "ANA-5",
    );
    h.stop().await;
    Ok(())
}

async fn ana_7_with_prestazioni_only_dg_may_change_categoria(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, _) = azienda(&h).await;
    h.fake.set_has_prestazioni(true);
    let before = h.stato(&cf).await;
    let r = update(
        &cf,
        con_categoria_cpo(Cat::ImpresaAgricola),
        &["utilizzatore_cpo.categoria"],
        "visura camerale",
    );
    let s = err(
        h.c().update_soggetto(h.op("RM").req(r.clone())).await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-7");
    assert_eq!(h.stato(&cf).await, before);
    assert_eq!(categoria_di(&h.leggi(&cf).await), Cat::Impresa as i32);

    let dg = h.dg();
    let s = ok(h.c().update_soggetto(dg.req(r)).await)
        .soggetto
        .expect("soggetto");
    assert_eq!(categoria_di(&s), Cat::ImpresaAgricola as i32);
    assert_eq!(s.versione, before.0 + 1);
    let checks = h.fake.checks();
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1].request.categoria, "impresa_agricola");
    assert_system_call_for(checks[1].identity.as_ref(), &dg.identity.caller);
    assert_eq!(h.storia(&cf).await[0].autore_profilo, "operatore_dg");
    h.stop().await;
    Ok(())
}

async fn ana_7_dg_change_incoherent_with_prestazioni_is_refused_listing_them(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, _) = azienda(&h).await;
    h.fake.set_has_prestazioni(true);
    h.fake.set_incoerenti(&[
        (
            "pre_01",
            "PRE-6",
            "not an allowed purpose for a public administration",
        ),
        (
            "pre_02",
            "PRE-6",
            "not an allowed purpose for a public administration",
        ),
    ]);
    let before = h.stato(&cf).await;
    let s = err(
        h.c()
            .update_soggetto(h.dg().req(update(
                &cf,
                con_categoria_cpo(Cat::PubblicaAmministrazione),
                &["utilizzatore_cpo.categoria"],
                "delibera",
            )))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(rule_of(&s), "ANA-7");
    assert_eq!(reason_of(&s), "ANA_7_INCOHERENT_PRESTAZIONI");
    assert!(
        s.message().contains("pre_01") && s.message().contains("pre_02"),
        "{}",
        s.message()
    );
    let info = s.get_error_details().error_info().cloned().expect("error info");
    assert_eq!(
        info.metadata.get("prestazione.pre_01").map(String::as_str),
        Some("PRE-6")
    );
    assert_eq!(
        info.metadata.get("prestazione.pre_02").map(String::as_str),
        Some("PRE-6")
    );
    assert_eq!(h.stato(&cf).await, before);
    assert_eq!(categoria_di(&h.leggi(&cf).await), Cat::Impresa as i32);

    // Incoherent prestazioni imply prestazioni exist, even if the flag says otherwise: a sede
    // operator is refused.
    h.fake.set_has_prestazioni(false);
    let s = err(
        h.c()
            .update_soggetto(h.op("RM").req(update(
                &cf,
                con_categoria_cpo(Cat::PubblicaAmministrazione),
                &["utilizzatore_cpo.categoria"],
                "delibera",
            )))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-7");
    assert_eq!(h.stato(&cf).await, before);
    h.stop().await;
    Ok(())
}

async fn ana_7_ateco_change_is_checked_too(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, _) = azienda(&h).await;
    h.fake.set_has_prestazioni(true);
    let nuovo = pb::Soggetto {
        utilizzatore_cpo: Some(pb::Utilizzatore {
            ateco: "01.11.00".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let before = h.stato(&cf).await;
    let s = err(
        h.c()
            .update_soggetto(h.op("RM").req(update(
                &cf,
                nuovo.clone(),
                &["utilizzatore_cpo.ateco"],
                "visura",
            )))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-7");
    assert_eq!(h.stato(&cf).await, before);
    let s = ok(h
        .c()
        .update_soggetto(
            h.dg()
                .req(update(&cf, nuovo, &["utilizzatore_cpo.ateco"], "visura")),
        )
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.utilizzatore_cpo.map(|u| u.ateco), Some("01.11.00".into()));
    let last = h.fake.checks().pop().expect("a check");
    assert_eq!(last.request.ateco, "01.11.00");
    assert_eq!(last.request.categoria, "impresa");
    h.stop().await;
    Ok(())
}

async fn ana_7_other_fields_do_not_ask_prestazioni(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (cf, legale) = azienda(&h).await;
    h.fake.set_has_prestazioni(true);
    let s = ok(h
        .c()
        .update_soggetto(h.utilizzatore(&legale).req(update(
            &cf,
            pb::Soggetto {
                utilizzatore_cpo: Some(pb::Utilizzatore {
                    dipendenti_tempo_indeterminato: 12,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &["utilizzatore_cpo.dipendenti_tempo_indeterminato"],
            "",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(
        s.utilizzatore_cpo.map(|u| u.dipendenti_tempo_indeterminato),
        Some(12)
    );
    // The categoria is the operators' (ANA-6), whatever prestazioni says.
    let s = err(
        h.c()
            .update_soggetto(h.utilizzatore(&legale).req(update(
                &cf,
                con_categoria_cpo(Cat::Altro),
                &["utilizzatore_cpo.categoria"],
                "",
            )))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(rule_of(&s), "ANA-6");
    // Setting the same categoria again is no change and needs no question.
    let s = ok(h
        .c()
        .update_soggetto(h.op("RM").req(update(
            &cf,
            con_categoria_cpo(Cat::Impresa),
            &["utilizzatore_cpo.categoria"],
            "verifica",
        )))
        .await)
    .soggetto
    .expect("soggetto");
    assert_eq!(s.versione, 2);
    assert!(h.fake.checks().is_empty(), "{:?}", h.fake.checks());
    h.stop().await;
    Ok(())
}

async fn ana_7_change_is_refused_when_prestazioni_is_unavailable(t: &TestDb) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let (cf, _) = azienda(&h).await;
    h.stop_prestazioni().await;
    let before = h.stato(&cf).await;
    for who in [h.op("RM"), h.dg()] {
        err(
            h.c()
                .update_soggetto(who.req(update(
                    &cf,
                    con_categoria_cpo(Cat::Professionista),
                    &["utilizzatore_cpo.categoria"],
                    "visura",
                )))
                .await,
            Code::Unavailable,
        );
    }
    assert_eq!(h.stato(&cf).await, before, "never applied");
    assert_eq!(categoria_di(&h.leggi(&cf).await), Cat::Impresa as i32);
    h.stop().await;
    Ok(())
}

// --- Found by these tests, fixed since ---------------------------------------------------

both_engines!(ana_4_domicile_cannot_be_removed_by_a_change);

async fn ana_4_domicile_cannot_be_removed_by_a_change(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let cf = de_luca(&h).await;
    let before = h.stato(&cf).await;
    for who in [h.prestatore(&cf), h.op("RM")] {
        for domicilio in [None, Some(pb::Domicilio::default())] {
            let r = update(
                &cf,
                pb::Soggetto {
                    domicilio: domicilio.clone(),
                    ..Default::default()
                },
                &["domicilio"],
                "nota",
            );
            let s = err(h.c().update_soggetto(who.req(r)).await, Code::InvalidArgument);
            assert_eq!(rule_of(&s), "ANA-4");
        }
    }
    assert_eq!(h.stato(&cf).await, before);
    assert!(h.leggi(&cf).await.domicilio.is_some());
    h.stop().await;
    Ok(())
}
