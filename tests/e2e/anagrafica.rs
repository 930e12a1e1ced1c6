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

/// A client's proto3 JSON, converted to the binary request as that client would (prost-reflect,
/// which follows the proto3 JSON mapping), sent through the gateway with `token`.
async fn update_from_proto3_json(
    c: &Cluster,
    token: &str,
    body: &Value,
) -> Result<occasionali_proto::anagrafica::UpdateSoggettoResponse, tonic::Status> {
    use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
    use prost::Message;
    let bad = |e: String| tonic::Status::internal(e);
    let pool = prost_reflect::DescriptorPool::decode(occasionali_proto::FILE_DESCRIPTOR_SET)
        .map_err(|e| bad(e.to_string()))?;
    let desc = pool
        .get_message_by_name("occasionali.anagrafica.v1.UpdateSoggettoRequest")
        .ok_or_else(|| bad("no UpdateSoggettoRequest".into()))?;
    let text = body.to_string();
    let mut json = serde_json::Deserializer::from_str(&text);
    let dynamic =
        prost_reflect::DynamicMessage::deserialize(desc, &mut json).map_err(|e| bad(e.to_string()))?;
    let request =
        occasionali_proto::anagrafica::UpdateSoggettoRequest::decode(dynamic.encode_to_vec().as_slice())
            .map_err(|e| bad(e.to_string()))?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", c.gateway))
        .map_err(|e| bad(e.to_string()))?
        .connect()
        .await
        .map_err(|e| bad(e.to_string()))?;
    let mut request = tonic::Request::new(request);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .map_err(|_| bad("token".into()))?,
    );
    Ok(AnagraficaServiceClient::new(channel)
        .update_soggetto(request)
        .await?
        .into_inner())
}

/// `update_mask` through the gateway in proto3's JSON form for a FieldMask, a comma-separated
/// string ("domicilio,contatti"), as proto3-JSON clients send it, and in the `{"paths": [...]}`
/// object grpcurl needs (grpcurl 1.8's JSON has no special FieldMask form and refuses the
/// string before anything is sent). Both change exactly the named fields: the gateway and the
/// services only ever see the binary FieldMask.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ana_update_mask_in_the_standard_json_form_and_the_paths_object() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let g = c.grpcurl();
    let p = persona("Greco", "Chiara", "1996-09-03", true, "H501");
    let t = c.token(Profile::Prestatore, &p.cf, None)?;
    let o = g
        .call(
            Some(&t),
            &m("RegisterPrestatore"),
            &prestatore_body(&p.json(), IBAN),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501G", None)?;

    // The standard form: one string, comma-separated paths.
    let r = update_from_proto3_json(
        &c,
        &dg,
        &json!({
                "codice_fiscale": p.cf,
                "soggetto": {
                    "domicilio": {"comune": "058091", "indirizzo": "Via Tuscolana 5", "cap": "00181"},
                    "contatti": {"cellulare": "+393339876543", "email": "chiara@example.it"},
                    "persona": {"cognome": "Altro"}
                },
                "update_mask": "domicilio,contatti",
                "nota": "aggiornamento allo sportello"
        }),
    )
    .await?;
    let s = r.soggetto.unwrap_or_default();
    assert_eq!(s.versione, 2, "{s:?}");
    assert_eq!(
        s.domicilio.clone().unwrap_or_default().indirizzo,
        "Via Tuscolana 5"
    );
    assert_eq!(s.contatti.clone().unwrap_or_default().email, "chiara@example.it");
    // Not in the mask: unchanged.
    let o = g
        .call(Some(&dg), &m("GetSoggetto"), &json!({"codice_fiscale": p.cf}))
        .await?;
    assert_eq!(o.json()?["soggetto"]["persona"]["cognome"], "GRECO", "{o:?}");

    // A single nested path, standard form (camelCase, as proto3 JSON writes paths) ...
    let r = update_from_proto3_json(
        &c,
        &dg,
        &json!({"codiceFiscale": p.cf, "soggetto": {"contatti": {"email": "c.greco@example.it"}},
                "updateMask": "contatti.email", "nota": "email corretta"}),
    )
    .await?;
    let contatti = r.soggetto.unwrap_or_default().contatti.unwrap_or_default();
    assert_eq!(contatti.email, "c.greco@example.it");
    assert_eq!(contatti.cellulare, "+393339876543");
    // ... and grpcurl's object form.
    let o = g
        .call(
            Some(&dg),
            &m("UpdateSoggetto"),
            &json!({"codice_fiscale": p.cf, "soggetto": {"contatti": {"email": "greco.c@example.it"}},
                    "update_mask": {"paths": ["contatti.email"]}, "nota": "email corretta"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let s = &o.json()?["soggetto"];
    assert_eq!(s["contatti"]["email"], "greco.c@example.it", "{s}");
    assert_eq!(s["versione"], "4", "{s}");
    c.stop().await
}
