//! Who acts for an organisation (issue 13): a company's registered legal representative, with her
//! own identity, names the company and the ruolo `legale_rappresentante`; the gateway checks
//! with anagrafica and every context then treats her as acting for the company (ANA-8, POR-6,
//! PRE-8, PRE-19, DEL-3). Anyone else naming the company is refused.

use occasionali_e2e::{Cluster, Outcome};
use occasionali_runtime::identity::Profile;
use serde_json::{Value, json};

use crate::persona;

const AZIENDA: &str = "00743110157";

async fn come_legale(c: &Cluster, token: &str, method: &str, body: &Value) -> anyhow::Result<Outcome> {
    let data = body.to_string();
    let auth = format!("authorization: Bearer {token}");
    let obo = format!("x-occasionali-on-behalf-of: {AZIENDA}");
    let gw = c.gateway.to_string();
    c.grpcurl()
        .run(&[
            "-format-error",
            "-H",
            &auth,
            "-H",
            &obo,
            "-H",
            "x-occasionali-ruolo: legale_rappresentante",
            "-d",
            &data,
            &gw,
            method,
        ])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ana_8_legal_representative_acts_for_the_company_in_every_context() -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let anna = persona("Bianchi", "Anna", "1975-08-30", true, "F205");
    let mario = persona("Rossi", "Mario", "1999-04-12", false, "H501");
    let t_azienda = c.token(Profile::Azienda, AZIENDA, None)?;
    let body = json!({
        "tipo": "TIPO_UTILIZZATORE_CPO",
        "organizzazione": {"codice_fiscale": AZIENDA, "denominazione": "Trattoria da Anna srl", "legale_rappresentante_cf": anna.cf},
        "domicilio": {"comune": "015146", "indirizzo": "Corso Como 1", "cap": "20154"},
        "categoria": "CATEGORIA_UTILIZZATORE_IMPRESA",
        "ateco": "56.10.11",
        "dipendenti_tempo_indeterminato": 3
    });
    let o = c
        .grpcurl()
        .call(
            Some(&t_azienda),
            "occasionali.anagrafica.v1.AnagraficaService/RegisterUtilizzatore",
            &body,
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let riepilogo = json!({"portafoglio": {"utilizzatore_cf": AZIENDA, "tipo": "TIPO_PORTAFOGLIO_CPO"}});
    let calls = [
        (
            "occasionali.portafoglio.v1.PortafoglioService/GetRiepilogo",
            riepilogo.clone(),
        ),
        (
            "occasionali.portafoglio.v1.PortafoglioService/ListMovimenti",
            json!({"portafoglio": {"utilizzatore_cf": AZIENDA, "tipo": "TIPO_PORTAFOGLIO_CPO"}}),
        ),
        (
            "occasionali.prestazioni.v1.PrestazioniService/ListPrestazioni",
            json!({"utilizzatore_cf": AZIENDA}),
        ),
        (
            "occasionali.prestazioni.v1.PrestazioniService/GetHeadroom",
            json!({"utilizzatore_cf": AZIENDA, "anno": 2026}),
        ),
        (
            "occasionali.anagrafica.v1.AnagraficaService/GetSoggetto",
            json!({"codice_fiscale": AZIENDA}),
        ),
    ];

    // The legal representative, naming the company, reaches its wallet, prestazioni and limits.
    let t_anna = c.token(Profile::Utilizzatore, &anna.cf, None)?;
    for (method, body) in &calls {
        let o = come_legale(&c, &t_anna, method, body).await?;
        assert_eq!(o.code, 0, "{method}: {o:?}");
    }
    // She declares a prestazione for the company, charged to its wallet, and reads it back.
    let t_mario_p = c.token(Profile::Prestatore, &mario.cf, None)?;
    let o = c
        .grpcurl()
        .call(
            Some(&t_mario_p),
            "occasionali.anagrafica.v1.AnagraficaService/RegisterPrestatore",
            &json!({"persona": mario.json(), "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
                    "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let flusso = c.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?;
    let f24 = json!({"record": {"id_pagamento": "F24-LR-1", "modello": "MODELLO_F24_ELIDE", "codice_fiscale_versante": AZIENDA,
        "tipo": "I", "codice_tributo": "CODICE_TRIBUTO_CLOC", "anno": 2026, "importo": "500.00", "data_versamento": "2026-06-09"}});
    let o = c
        .grpcurl()
        .call(
            Some(&flusso),
            "occasionali.portafoglio.v1.PortafoglioService/ImportF24",
            &f24,
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let prestazione = json!({"request_id": "lr-1", "prestazione": {
        "tipo": "TIPO_PRESTAZIONE_CPO", "utilizzatore_cf": AZIENDA, "prestatore_cf": mario.cf,
        "luogo": {"comune": "F205", "indirizzo": "Corso Como 1"},
        "cpo": {"descrizione": "servizio ai tavoli", "inizio": "2026-06-12T07:00:00Z", "fine": "2026-06-12T11:00:00Z"},
        "compenso": "36.00", "dichiarazioni": {"appalto": false, "rapporto_lavoro_recente": false}}});
    let o = come_legale(
        &c,
        &t_anna,
        "occasionali.prestazioni.v1.PrestazioniService/InsertPrestazione",
        &prestazione,
    )
    .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let p = o.json()?["prestazione"].clone();
    assert_eq!(p["stato"], "STATO_PRESTAZIONE_ACCEPTED", "{p}");
    let o = come_legale(
        &c,
        &t_anna,
        "occasionali.prestazioni.v1.PrestazioniService/GetPrestazione",
        &json!({"prestazione_id": p["id"]}),
    )
    .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = come_legale(&c, &t_anna, calls[0].0, &calls[0].1).await?;
    assert_eq!(o.json()?["riepilogo"]["riservato"], "49.63", "{o:?}");

    // ... and the company's whole position, with no part missing.
    let o = come_legale(
        &c,
        &t_anna,
        "occasionali.gateway.v1.PosizioneService/GetPosizione",
        &json!({"codice_fiscale": AZIENDA}),
    )
    .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let v = o.json()?;
    assert!(v["mancanti"].as_array().is_none_or(|m| m.is_empty()), "{v}");
    assert!(v["portafoglioCpo"].is_object(), "{v}");

    // Someone else naming the company is refused at the gateway.
    let t_mario = c.token(Profile::Prestatore, &mario.cf, None)?;
    for (method, body) in &calls {
        let o = come_legale(&c, &t_mario, method, body).await?;
        assert_eq!(o.code, 7, "{method}: {o:?}");
        assert!(
            o.stdout.contains("ANA_8_NOT_LEGAL_REPRESENTATIVE")
                || o.stderr.contains("ANA_8_NOT_LEGAL_REPRESENTATIVE"),
            "{o:?}"
        );
    }
    // Without naming the company, the wallet stays the company's own (POR-6).
    let o = c
        .grpcurl()
        .call(
            Some(&t_mario),
            "occasionali.portafoglio.v1.PortafoglioService/GetRiepilogo",
            &riepilogo,
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    c.stop().await
}
