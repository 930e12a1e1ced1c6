//! SPEC §3 through the gateway with grpcurl: what-if, a refusal naming every rule, the
//! 60-minute notice, idempotent insertion charged once (PRE-18), headroom, revocation releasing
//! the wallet (PRE-11) and confirmation blocking it (PRE-12), sede operators kept to their sede
//! (PRE-19, GW-6).

use occasionali_e2e::Cluster;
use occasionali_runtime::identity::Profile;
use serde_json::{Value, json};

use crate::persona;

const ANA: &str = "occasionali.anagrafica.v1.AnagraficaService";
const POR: &str = "occasionali.portafoglio.v1.PortafoglioService";
const PRE: &str = "occasionali.prestazioni.v1.PrestazioniService";

fn m(rpc: &str) -> String {
    format!("{PRE}/{rpc}")
}

/// A CPO of the company for `prestatore`, between two instants, paid `compenso`.
fn cpo(prestatore: &str, inizio: &str, fine: &str, compenso: &str) -> Value {
    json!({"tipo": "TIPO_PRESTAZIONE_CPO", "utilizzatore_cf": "00743110157", "prestatore_cf": prestatore,
           "luogo": {"comune": "F205", "indirizzo": "Corso Como 1"},
           "cpo": {"descrizione": "servizio ai tavoli", "inizio": inizio, "fine": fine},
           "compenso": compenso, "dichiarazioni": {"appalto": false, "rapporto_lavoro_recente": false}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pre_insert_revoke_confirm_through_the_gateway() -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let azienda = c.token(Profile::Azienda, "00743110157", None)?;
    let anna = persona("Bianchi", "Anna", "1975-08-30", true, "F205");
    let mario = persona("Rossi", "Mario", "1999-04-12", false, "H501");
    let o = g
        .call(
            Some(&azienda),
            &format!("{ANA}/RegisterUtilizzatore"),
            &json!({"tipo": "TIPO_UTILIZZATORE_CPO",
                    "organizzazione": {"codice_fiscale": "00743110157", "denominazione": "Trattoria da Anna srl", "legale_rappresentante_cf": anna.cf},
                    "domicilio": {"comune": "F205", "indirizzo": "Corso Como 1", "cap": "20154"},
                    "categoria": "CATEGORIA_UTILIZZATORE_IMPRESA", "ateco": "56.10.11", "dipendenti_tempo_indeterminato": 3}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let t_mario = c.token(Profile::Prestatore, &mario.cf, None)?;
    let o = g
        .call(
            Some(&t_mario),
            &format!("{ANA}/RegisterPrestatore"),
            &json!({"persona": mario.json(), "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
                    "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let f24 = json!({"record": {"id_pagamento": "F24-PRE-1", "modello": "MODELLO_F24_ELIDE", "codice_fiscale_versante": "00743110157",
        "tipo": "I", "codice_tributo": "CODICE_TRIBUTO_CLOC", "anno": 2026, "importo": "500.00", "data_versamento": "2026-06-09"}});
    let flusso = c.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?;
    let o = g.call(Some(&flusso), &format!("{POR}/ImportF24"), &f24).await?;
    assert_eq!(o.code, 0, "{o:?}");
    let wallet = json!({"portafoglio": {"utilizzatore_cf": "00743110157", "tipo": "TIPO_PORTAFOGLIO_CPO"}, "anno": 2026});
    let disponibile = |o: &occasionali_e2e::Outcome| {
        o.json()
            .map(|v| v["riepilogo"]["disponibile"].clone())
            .unwrap_or_default()
    };

    // Friday 12 June, 09:00–13:00 Rome: four hours at the daily minimum (PRE-3).
    let buona = cpo(&mario.cf, "2026-06-12T07:00:00Z", "2026-06-12T11:00:00Z", "36.00");
    let o = g
        .call(
            Some(&azienda),
            &m("CheckPrestazione"),
            &json!({"prestazione": buona}),
        )
        .await?;
    let v = o.json()?;
    assert_eq!(v["ammissibile"], true, "{v}");
    assert_eq!(v["costo"]["totale"], "49.63", "{v}");

    // Below the minimum and with less than 60 minutes' notice: one refusal, both rules.
    let cattiva = cpo(&mario.cf, "2026-06-10T08:30:00Z", "2026-06-10T12:30:00Z", "20.00");
    let o = g
        .call(
            Some(&azienda),
            &m("InsertPrestazione"),
            &json!({"request_id": "r-0", "prestazione": cattiva}),
        )
        .await?;
    assert!(o.code == 3 || o.code == 9, "{o:?}");
    assert!(o.rules().contains("PRE-3"), "{o:?}");
    assert!(
        o.stderr.matches("[PRE-3]").count() >= 2,
        "every broken rule listed: {}",
        o.stderr
    );

    // PRE-18: the same request twice is one prestazione, charged once.
    let req = json!({"request_id": "r-1", "prestazione": buona});
    let o = g.call(Some(&azienda), &m("InsertPrestazione"), &req).await?;
    assert_eq!(o.code, 0, "{o:?}");
    let p1 = o.json()?["prestazione"].clone();
    assert_eq!(p1["stato"], "STATO_PRESTAZIONE_ACCEPTED", "{p1}");
    let o = g.call(Some(&azienda), &m("InsertPrestazione"), &req).await?;
    assert_eq!(o.json()?["prestazione"]["id"], p1["id"], "{o:?}");
    // GW-6/PRE-19: a Rome operator cannot charge the Milan company (nothing is reserved: the
    // balance below is unchanged), a Turin operator cannot read its prestazioni.
    let op_rm = c.token(Profile::OperatoreSede, "OPRRMA70A01H501Z", Some("RM"))?;
    let altra = cpo(&mario.cf, "2026-06-15T07:00:00Z", "2026-06-15T11:00:00Z", "36.00");
    let o = g
        .call(
            Some(&op_rm),
            &m("InsertPrestazione"),
            &json!({"request_id": "op-rm-1", "prestazione": altra}),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert!(o.rules().contains("PRE-19"), "{o:?}");
    let op_to = c.token(Profile::OperatoreSede, "OPRTOA70A01L219Z", Some("TO"))?;
    let o = g
        .call(
            Some(&op_to),
            &m("GetPrestazione"),
            &json!({"prestazione_id": p1["id"]}),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    let op_mi = c.token(Profile::OperatoreSede, "OPRMIA70A01F205Z", Some("MI"))?;
    let o = g
        .call(
            Some(&op_mi),
            &m("GetPrestazione"),
            &json!({"prestazione_id": p1["id"]}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = g
        .call(Some(&azienda), &format!("{POR}/GetRiepilogo"), &wallet)
        .await?;
    assert_eq!(disponibile(&o), "450.37", "{o:?}");

    // Headroom of the pair: 36.00 used of 2,500.00.
    let o = g
        .call(
            Some(&dg),
            &m("GetHeadroom"),
            &json!({"anno": 2026, "prestatore_cf": mario.cf, "utilizzatore_cf": "00743110157"}),
        )
        .await?;
    let limiti = o.json()?["limiti"].as_array().cloned().unwrap_or_default();
    let coppia = limiti
        .iter()
        .find(|l| l["tipo"] == "TIPO_LIMITE_COPPIA")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (coppia["utilizzato"].as_str(), coppia["residuo"].as_str()),
        (Some("36.00"), Some("2464.00")),
        "{limiti:?}"
    );

    // PRE-11: the utilizzatore revokes; the reservation goes back to the wallet.
    let id1 = p1["id"].as_str().unwrap_or_default().to_string();
    let o = g
        .call(
            Some(&azienda),
            &m("RevokePrestazione"),
            &json!({"prestazione_id": id1, "motivo": "pioggia"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(o.json()?["prestazione"]["stato"], "STATO_PRESTAZIONE_REVOKED");
    let o = g
        .call(Some(&azienda), &format!("{POR}/GetRiepilogo"), &wallet)
        .await?;
    assert_eq!(disponibile(&o), "500.00", "{o:?}");

    // PRE-12: once the prestatore confirms, the utilizzatore can no longer revoke.
    let o = g
        .call(
            Some(&azienda),
            &m("InsertPrestazione"),
            &json!({"request_id": "r-2", "prestazione":
            cpo(&mario.cf, "2026-06-13T07:00:00Z", "2026-06-13T11:00:00Z", "36.00")}),
        )
        .await?;
    let id2 = o.json()?["prestazione"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Not before the work is over (13:00 Rome on 13 June).
    let o = g
        .call(
            Some(&t_mario),
            &m("ConfirmPrestazione"),
            &json!({"prestazione_id": id2}),
        )
        .await?;
    assert_eq!(o.code, 9, "{o:?}");
    assert!(o.rules().contains("PRE-12"), "{o:?}");
    let o = g
        .call(
            Some(&dg),
            "occasionali.gateway.v1.DevClockService/SetClock",
            &json!({"now": "2026-06-13T12:00:00Z"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = g
        .call(
            Some(&t_mario),
            &m("ConfirmPrestazione"),
            &json!({"prestazione_id": id2}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = g
        .call(
            Some(&azienda),
            &m("RevokePrestazione"),
            &json!({"prestazione_id": id2, "motivo": "ripensamento"}),
        )
        .await?;
    assert_eq!(o.code, 9, "{o:?}");
    assert!(o.rules().contains("PRE-12"), "{o:?}");
    // The month's payout (POR-5) pays the confirmed prestazione: prestazioni learns it is paid.
    let o = g
        .call(
            Some(&dg),
            "occasionali.gateway.v1.DevClockService/SetClock",
            &json!({"now": "2026-07-15T08:00:00Z"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = g
        .call(
            Some(&dg),
            &format!("{POR}/RunPayout"),
            &json!({"anno": 2026, "mese": 6}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(o.json()?["run"]["numeroOrdini"], "1", "{o:?}");
    let o = g
        .call(
            Some(&t_mario),
            &m("GetPrestazione"),
            &json!({"prestazione_id": id2}),
        )
        .await?;
    let p2 = o.json()?["prestazione"].clone();
    assert_eq!(p2["statoPagamento"], "STATO_PAGAMENTO_PAID", "{p2}");
    // Nobody sees another's prestazioni (PRE-19).
    let altro = persona("Neri", "Sara", "1988-02-02", true, "H501");
    let t_altro = c.token(Profile::Prestatore, &altro.cf, None)?;
    let o = g
        .call(
            Some(&t_altro),
            &m("GetPrestazione"),
            &json!({"prestazione_id": id2}),
        )
        .await?;
    assert!(o.code == 7 || o.code == 5, "{o:?}");
    c.stop().await
}

/// PRE-20 through the gateway, as DG would from a terminal: read this year's table, publish
/// next year's with its law, see it in force from 1 January; nobody else may publish.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pre_20_dg_publishes_next_years_rules_through_the_gateway() -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00+01:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let persona = c.token(Profile::Prestatore, "RSSMRA99D12H501X", None)?;
    let o = g
        .call(Some(&dg), &m("GetRuleTable"), &json!({"anno": 2026}))
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let mut tabella = o.json()?["ruleTable"].clone();
    let oggetto = tabella.as_object_mut().expect("a table");
    oggetto.remove("variazioni");
    oggetto.remove("pubblicazione");
    oggetto.insert("anno".into(), json!(2027));
    oggetto.insert("compensoOrarioMinimo".into(), json!("9.50"));
    oggetto.insert("compensoGiornalieroMinimo".into(), json!("38.00"));
    let richiesta = json!({"request_id": "legge-bilancio-2027", "rule_table": tabella,
                           "motivo": "L. 199/2026, art. 1 c. 7"});
    let o = g.call(Some(&persona), &m("PublishRuleTable"), &richiesta).await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(o.rules(), "PRE-20");
    let o = g.call(Some(&dg), &m("PublishRuleTable"), &richiesta).await?;
    assert_eq!(o.code, 0, "{o:?}");
    let v = o.json()?;
    assert_eq!(v["ruleTable"]["pubblicazione"]["versione"], 1, "{v}");
    let campi: Vec<&str> = v["ruleTable"]["variazioni"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["campo"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        campi,
        vec!["compenso_orario_minimo", "compenso_giornaliero_minimo"]
    );
    // A retry after a lost answer publishes nothing new.
    let o = g.call(Some(&dg), &m("PublishRuleTable"), &richiesta).await?;
    assert_eq!(o.json()?["ruleTable"]["pubblicazione"]["versione"], 1);
    // Everyone reads it; 2026 is unchanged.
    let o = g
        .call(Some(&persona), &m("GetRuleTable"), &json!({"anno": 2027}))
        .await?;
    let v = o.json()?;
    assert_eq!(v["ruleTable"]["compensoOrarioMinimo"], "9.50", "{v}");
    assert_eq!(v["ruleTable"]["pubblicazione"].get("autoreCf"), None, "{v}");
    let o = g
        .call(Some(&persona), &m("GetRuleTable"), &json!({"anno": 2026}))
        .await?;
    assert_eq!(o.json()?["ruleTable"]["compensoOrarioMinimo"], "9.00");
    // This year's figures cannot be changed after the fact.
    let mut quest_anno = richiesta.clone();
    quest_anno["request_id"] = json!("ritocco-2026");
    quest_anno["rule_table"]["anno"] = json!(2026);
    let o = g.call(Some(&dg), &m("PublishRuleTable"), &quest_anno).await?;
    assert_eq!(o.code, 9, "{o:?}");
    c.stop().await
}
