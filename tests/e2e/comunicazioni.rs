//! SPEC §4 through the gateway with grpcurl, as the Ministry's portal uses it: insert P, search,
//! vary the head, a second variation of the old head refused (LAO-6/11), cancel, and the PDF
//! receipt streamed in chunks (LAO-10).

use occasionali_e2e::Cluster;
use occasionali_runtime::identity::Profile;
use serde_json::json;

use crate::persona;

const LAO: &str = "occasionali.comunicazioni.v1.ComunicazioniService";

fn m(rpc: &str) -> String {
    format!("{LAO}/{rpc}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lao_chain_through_the_gateway() -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let azienda = c.token(Profile::Azienda, "00743110157", None)?;
    let w = persona("Conti", "Sara", "1995-05-05", true, "H501");
    let lavoratore = json!({"codice_fiscale": w.cf, "cognome": w.cognome, "nome": w.nome, "data_nascita": w.nascita,
        "sesso": "SESSO_F", "luogo_nascita": "H501", "cittadinanza": "IT",
        "documento": {"tipo": "TIPO_DOCUMENTO_CARTA_IDENTITA", "numero": "CA12345AB", "rilasciato_da": "Comune di Roma",
                      "data_rilascio": "2020-01-10", "data_scadenza": "2030-01-10"},
        "domicilio": {"italia": {"comune": "H501", "indirizzo": "Via Appia 1", "cap": "00179"}}});
    let committente = json!({"codice_fiscale": "00743110157", "denominazione": "Trattoria da Anna srl", "comune": "F205",
        "indirizzo": "Corso Como 1", "cap": "20154", "email": "amministrazione@example.it"});
    let rapporto = |descrizione: &str| {
        json!({"data_inizio": "2026-06-20", "durata": "DURATA_RAPPORTO_GIORNI_7",
        "descrizione": descrizione, "compenso_stimato": "800.00",
        "luoghi_lavoro": [{"comune": "F205", "indirizzo": "Corso Como 1", "cap": "20154"}]})
    };

    // The company is in the registry: an azienda profile's committente data come from there
    // (LAO-1), and its legal representative may act for it (ListProfiliOperativi).
    let anna = persona("Bianchi", "Anna", "1975-08-30", true, "F205");
    let o = g
        .call(
            Some(&azienda),
            "occasionali.anagrafica.v1.AnagraficaService/RegisterUtilizzatore",
            &json!({"tipo": "TIPO_UTILIZZATORE_CPO",
                "organizzazione": {"codice_fiscale": "00743110157", "denominazione": "Trattoria da Anna srl", "legale_rappresentante_cf": anna.cf},
                "domicilio": {"comune": "F205", "indirizzo": "Corso Como 1", "cap": "20154"},
                "contatti": {"email": "amministrazione@example.it"},
                "categoria": "CATEGORIA_UTILIZZATORE_IMPRESA", "ateco": "56.10.11", "dipendenti_tempo_indeterminato": 3}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let t_anna = c.token(Profile::Utilizzatore, &anna.cf, None)?;
    let o = g
        .call(Some(&t_anna), &m("ListProfiliOperativi"), &json!({}))
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let profili = o.json()?["profili"].as_array().cloned().unwrap_or_default();
    assert!(
        profili
            .iter()
            .any(|p| p["codiceFiscale"] == "00743110157" && p["tipo"] == "TIPO_PROFILO_OPERATIVO_AZIENDA"),
        "{profili:?}"
    );

    // The manual's "Scegli per chi intendi operare" for a consultant: the company it acts for
    // under a valid delega, with the ruolo to name in the on-behalf-of headers (DEL-2).
    let consulente = persona("Galli", "Marco", "1980-02-02", false, "H501");
    let o = g
        .call(
            Some(&azienda),
            "occasionali.deleghe.v1.DelegheService/CreateDelega",
            &json!({"delegante_cf": "00743110157", "delegato_cf": consulente.cf, "ruolo": "RUOLO_CONSULENTE_LAVORO",
                    "validita": {"dal": "2026-06-10", "al": "2026-12-31"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let t_consulente = c.token(Profile::SoggettoAbilitato, &consulente.cf, None)?;
    let o = g
        .call(Some(&t_consulente), &m("ListProfiliOperativi"), &json!({}))
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let profili = o.json()?["profili"].as_array().cloned().unwrap_or_default();
    let cliente = profili
        .iter()
        .find(|p| p["tipo"] == "TIPO_PROFILO_OPERATIVO_DELEGA")
        .cloned()
        .unwrap_or_default();
    assert_eq!(cliente["codiceFiscale"], "00743110157", "{profili:?}");
    assert_eq!(cliente["denominazione"], "Trattoria da Anna srl", "{profili:?}");
    assert_eq!(cliente["ruolo"], "consulente_lavoro", "{profili:?}");
    // Someone with no delega lists none.
    let o = g
        .call(Some(&t_anna), &m("ListProfiliOperativi"), &json!({}))
        .await?;
    assert!(!o.stdout.contains("TIPO_PROFILO_OPERATIVO_DELEGA"), "{o:?}");

    // LAO-3: a bad insert reports every violation at once.
    let o = g
        .call(Some(&azienda), &m("InsertComunicazione"), &json!({"compilatore_email": "ufficio.personale@example.it", "committente": committente, "lavoratore": lavoratore,
            "rapporto": {"data_inizio": "2026-06-01", "durata": "DURATA_RAPPORTO_GIORNI_7", "descrizione": "",
                         "compenso_stimato": "-1", "luoghi_lavoro": []}}))
        .await?;
    assert_eq!(o.code, 3, "{o:?}");
    let v = o.violations();
    for f in [
        "rapporto.data_inizio",
        "rapporto.descrizione",
        "rapporto.compenso_stimato",
        "rapporto.luoghi_lavoro",
    ] {
        assert!(v.iter().any(|x| x.starts_with(f)), "{f} missing in {v:?}");
    }

    // P: the system assigns codice, type and send date (LAO-5).
    let o = g
        .call(Some(&azienda), &m("InsertComunicazione"), &json!({"compilatore_email": "ufficio.personale@example.it", "committente": committente, "lavoratore": lavoratore,
            "rapporto": rapporto("Servizio ai tavoli per un evento")}))
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let p = o.json()?["comunicazione"].clone();
    assert_eq!(p["datiInvio"]["tipo"], "TIPO_COMUNICAZIONE_PREVENTIVA", "{p}");
    let codice_p = p["datiInvio"]["codiceComunicazione"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(codice_p.len() >= 12, "{p}");

    // V on the head, then a second V on the old head is refused (the chain never forks).
    let o = g
        .call(Some(&azienda), &m("VaryComunicazione"), &json!({"compilatore_email": "ufficio.personale@example.it", "codice_comunicazione": codice_p, "committente": committente,
            "lavoratore": lavoratore, "rapporto": rapporto("Servizio ai tavoli e in cucina")}))
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let codice_v = o.json()?["comunicazione"]["datiInvio"]["codiceComunicazione"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let o = g
        .call(Some(&azienda), &m("VaryComunicazione"), &json!({"compilatore_email": "ufficio.personale@example.it", "codice_comunicazione": codice_p, "committente": committente,
            "lavoratore": lavoratore, "rapporto": rapporto("Altro")}))
        .await?;
    assert!(o.code == 9 || o.code == 10, "{o:?}");

    // LAO-2: search by worker returns the whole chain with types and head flags.
    let o = g
        .call(
            Some(&azienda),
            &m("SearchComunicazioni"),
            &json!({"lavoratore_cf": w.cf}),
        )
        .await?;
    let list = o.json()?["comunicazioni"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(
        list.iter()
            .any(|s| s["codiceComunicazione"] == codice_v.as_str() && s["isHead"] == true)
    );
    assert!(
        list.iter()
            .any(|s| s["codiceComunicazione"] == codice_p.as_str() && s["isHead"] != true)
    );

    // A cancels the head before the start date (LAO-9).
    let o = g
        .call(
            Some(&azienda),
            &m("CancelComunicazione"),
            &json!({"compilatore_email": "ufficio.personale@example.it", "codice_comunicazione": codice_v}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let codice_a = o.json()?["comunicazione"]["datiInvio"]["codiceComunicazione"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    // LAO-10: the receipt of the A, streamed in chunks: a PDF.
    let o = g
        .call(
            Some(&azienda),
            &m("DownloadRicevuta"),
            &json!({"codice_comunicazione": codice_a, "committente_cf": "00743110157",
                                                             "lavoratore_cf": w.cf}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stdout.contains("application/pdf"),
        "{}",
        &o.stdout[..o.stdout.len().min(300)]
    );
    // "JVBERi0" is "%PDF-" in base64: the first chunk starts the document.
    assert!(o.stdout.contains("JVBERi0"), "no PDF header in the stream");
    c.stop().await
}
