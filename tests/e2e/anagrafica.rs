//! SPEC §1 through the gateway: registration, correction with history, and the bad inputs a
//! support engineer meets, each refused with the right code, field and rule.

use occasionali_e2e::Cluster;
use occasionali_runtime::identity::Profile;
use serde_json::{Value, json};

use crate::persona;

const SVC: &str = "occasionali.anagrafica.v1.AnagraficaService";
const IBAN: &str = "IT60X0542811101000000123456";

fn m(rpc: &str) -> String {
    format!("{SVC}/{rpc}")
}

fn prestatore_body(p: &Value, iban: &str) -> Value {
    json!({
        "persona": p,
        "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
        "contatti": {"cellulare": "+393331234567", "email": "prestatore@example.it"},
        "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": iban},
        "categorie": [{"tipo": "TIPO_CATEGORIA_STUDENTE", "validita": {"dal": "2026-01-01", "al": "2026-12-31"}}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ana_walkthrough_register_correct_and_read_history() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let g = c.grpcurl();
    let mario = persona("Rossi", "Mario", "1999-04-12", false, "H501");
    let anna = persona("Bianchi", "Anna", "1975-08-30", true, "F205");

    // A prestatore registers itself.
    let t_mario = c.token(Profile::Prestatore, &mario.cf, None)?;
    let o = g
        .call(
            Some(&t_mario),
            &m("RegisterPrestatore"),
            &prestatore_body(&mario.json(), IBAN),
        )
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let s = o.json()?;
    assert_eq!(s["soggetto"]["sede"], "RM");
    assert_eq!(s["soggetto"]["domicilio"]["comuneNome"], "Roma");

    // A company registers itself as CPO utilizzatore, naming its legal representative.
    let t_azienda = c.token(Profile::Azienda, "00743110157", None)?;
    let t_anna = c.token(Profile::Utilizzatore, &anna.cf, None)?;
    let body = json!({
        "tipo": "TIPO_UTILIZZATORE_CPO",
        "organizzazione": {"codice_fiscale": "00743110157", "denominazione": "Trattoria da Anna srl", "legale_rappresentante_cf": anna.cf},
        "domicilio": {"comune": "015146", "indirizzo": "Corso Como 1", "cap": "20154"},
        "categoria": "CATEGORIA_UTILIZZATORE_IMPRESA",
        "ateco": "56.10.11",
        "dipendenti_tempo_indeterminato": 3
    });
    // Naming yourself legal representative of a company does not let you register it.
    let o = g.call(Some(&t_anna), &m("RegisterUtilizzatore"), &body).await?;
    assert_eq!(o.code, 7, "{o:?}");
    let o = g
        .call(Some(&t_azienda), &m("RegisterUtilizzatore"), &body)
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.json()?["soggetto"]["sede"], "MI");
    // ... and the legal representative reads it.
    let o = g
        .call(
            Some(&t_anna),
            &m("GetSoggetto"),
            &json!({"codice_fiscale": "00743110157"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");

    // A sede operator of Rome corrects the prestatore's domicile, with a note (ANA-6).
    let t_op = c.token(Profile::OperatoreSede, "OPRRMA70A01H501Z", Some("RM"))?;
    let o = g
        .call(
            Some(&t_op),
            &m("UpdateSoggetto"),
            &json!({
                "codice_fiscale": mario.cf,
                "soggetto": {"domicilio": {"comune": "058091", "indirizzo": "Via Tuscolana 5", "cap": "00181"}},
                "update_mask": {"paths": ["domicilio"]},
                "nota": "residenza aggiornata su richiesta allo sportello",
                "expected_versione": 1
            }),
        )
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.json()?["soggetto"]["versione"], "2");

    // The history shows who, what (old → new) and why; newest first.
    let o = g
        .call(
            Some(&t_mario),
            &m("ListModifiche"),
            &json!({"codice_fiscale": mario.cf}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let h = o.json()?;
    let last = &h["modifiche"][0];
    assert_eq!(last["azione"], "correzione");
    assert_eq!(last["autoreProfilo"], "operatore_sede");
    assert_eq!(last["nota"], "residenza aggiornata su richiesta allo sportello");
    assert_eq!(last["campi"][0]["campo"], "domicilio");
    assert!(
        last["campi"][0]["prima"]
            .as_str()
            .unwrap()
            .contains("Via Appia 10")
    );
    assert!(
        last["campi"][0]["dopo"]
            .as_str()
            .unwrap()
            .contains("Via Tuscolana 5")
    );
    assert_eq!(h["modifiche"][1]["azione"], "registrazione_prestatore");

    // A Milan operator cannot reach a Rome record (ANA-8).
    let t_mi = c.token(Profile::OperatoreSede, "OPRMLN70A01F205Z", Some("MI"))?;
    let o = g
        .call(
            Some(&t_mi),
            &m("GetSoggetto"),
            &json!({"codice_fiscale": mario.cf}),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ana_bad_inputs_are_refused_precisely_and_change_nothing() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let g = c.grpcurl();
    let luca = persona("Verdi", "Luca", "1990-01-15", false, "H501");
    let t = c.token(Profile::Prestatore, &luca.cf, None)?;

    // ANA-2: a CF with the wrong check character.
    let mut bad = luca.json();
    let wrong = {
        let mut s = luca.cf.clone();
        let last = s.pop().unwrap();
        s.push(if last == 'A' { 'B' } else { 'A' });
        s
    };
    bad["codice_fiscale"] = json!(wrong);
    let o = g
        .call(Some(&t), &m("RegisterPrestatore"), &prestatore_body(&bad, IBAN))
        .await?;
    assert_eq!(o.code, 3, "{o:?}");
    assert!(
        o.violations().contains(&"persona.codice_fiscale".to_string()),
        "{o:?}"
    );
    assert!(o.rules().contains("ANA-2"), "{o:?}");

    // ANA-3: personal data in conflict with the CF — one violation per field.
    let mut conflict = luca.json();
    conflict["nome"] = json!("Marco");
    conflict["data_nascita"] = json!("1990-01-16");
    let o = g
        .call(
            Some(&t),
            &m("RegisterPrestatore"),
            &prestatore_body(&conflict, IBAN),
        )
        .await?;
    assert_eq!(o.code, 3, "{o:?}");
    let v = o.violations();
    assert!(
        v.contains(&"persona.nome".to_string()) && v.contains(&"persona.data_nascita".to_string()),
        "{v:?}"
    );
    assert!(o.rules().contains("ANA-3"), "{o:?}");

    // ANA-4: an IBAN failing mod-97.
    let o = g
        .call(
            Some(&t),
            &m("RegisterPrestatore"),
            &prestatore_body(&luca.json(), "IT60X0542811101000000123457"),
        )
        .await?;
    assert_eq!(o.code, 3, "{o:?}");
    assert_eq!(o.violations(), vec!["metodo_pagamento.iban".to_string()]);
    assert!(o.rules().contains("ANA-4"), "{o:?}");

    // Nothing was stored by the refusals.
    let o = g
        .call(Some(&t), &m("GetSoggetto"), &json!({"codice_fiscale": luca.cf}))
        .await?;
    assert_eq!(o.code, 5, "{o:?}");

    // Now a good registration; then another person's record is out of reach (ANA-8).
    let o = g
        .call(
            Some(&t),
            &m("RegisterPrestatore"),
            &prestatore_body(&luca.json(), IBAN),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let other = persona("Neri", "Sara", "1988-02-02", true, "H501");
    let t_other = c.token(Profile::Prestatore, &other.cf, None)?;
    let o = g
        .call(
            Some(&t_other),
            &m("GetSoggetto"),
            &json!({"codice_fiscale": luca.cf}),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert!(o.rules().contains("ANA-8"), "{o:?}");
    // ... and registering someone else as yourself is refused too.
    let o = g
        .call(
            Some(&t_other),
            &m("RegisterPrestatore"),
            &prestatore_body(&luca.json(), IBAN),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");

    // ANA-6: an operator's correction without a note.
    let t_op = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let o = g
        .call(
            Some(&t_op),
            &m("UpdateSoggetto"),
            &json!({"codice_fiscale": luca.cf, "soggetto": {"contatti": {"email": "nuova@example.it"}}, "update_mask": {"paths": ["contatti.email"]}}),
        )
        .await?;
    assert_eq!(o.code, 3, "{o:?}");
    assert_eq!(o.violations(), vec!["nota".to_string()]);
    // The owner may not correct its own identity data.
    let o = g
        .call(
            Some(&t),
            &m("UpdateSoggetto"),
            &json!({"codice_fiscale": luca.cf, "soggetto": {"persona": {"cognome": "Verdini"}}, "update_mask": {"paths": ["persona.cognome"]}}),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    // The record is still at its first version: refusals changed nothing.
    let o = g
        .call(Some(&t), &m("GetSoggetto"), &json!({"codice_fiscale": luca.cf}))
        .await?;
    assert_eq!(o.json()?["soggetto"]["versione"], "1");
    c.stop().await
}
