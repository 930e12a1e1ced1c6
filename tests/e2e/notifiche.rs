//! SPEC §6 through the gateway with grpcurl, on the real cluster: contacts arrive from
//! anagrafica by the relay, the person consents, a revocation made through prestazioni reaches
//! the prestatore once by SMS (a real HTTP SMS gateway on loopback) and in the inbox (PRE-13,
//! NOT-1, NOT-2, NOT-6); the domestic-work import streams through the gateway, the campaign runs,
//! and the guide and dashboard pages answer over HTTP (NOT-3..5, NOT-7).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use occasionali_e2e::{Cluster, Outcome};
use occasionali_runtime::config::SmsConfig;
use occasionali_runtime::identity::Profile;
use serde_json::{Value, json};

use crate::persona;

const ANA: &str = "occasionali.anagrafica.v1.AnagraficaService";
const POR: &str = "occasionali.portafoglio.v1.PortafoglioService";
const PRE: &str = "occasionali.prestazioni.v1.PrestazioniService";
const NOT: &str = "occasionali.notifiche.v1.NotificheService";

fn n(rpc: &str) -> String {
    format!("{NOT}/{rpc}")
}

type Ricevuti = Arc<Mutex<Vec<Value>>>;

async fn sms(State(r): State<Ricevuti>, body: axum::body::Bytes) -> String {
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut r = r.lock().unwrap();
    r.push(v);
    format!("{{\"id\": \"sms-{}\"}}", r.len())
}

/// Polls `f` until it answers Some, for up to 20 s (the relay and the worker are asynchronous).
async fn attendi<T, F, Fut>(mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let inizio = Instant::now();
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        anyhow::ensure!(
            inizio.elapsed() < Duration::from_secs(20),
            "not reached within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn not_pre_13_a_revocation_reaches_the_prestatore_by_sms_and_inbox_through_the_platform()
-> anyhow::Result<()> {
    // The SMS gateway the notifiche process is configured with.
    let ricevuti: Ricevuti = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/messages", listener.local_addr()?);
    let app = Router::new()
        .route("/v1/messages", post(sms))
        .with_state(ricevuti.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = std::env::temp_dir().join(format!("e2e-sms-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("sms.key"), "chiave")?;
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")?.to_utc();
    let key = dir.join("sms.key");
    let c = Cluster::start_with(Some(start), |config| {
        config.notifiche.sms = Some(SmsConfig {
            url: url.clone(),
            api_key_file: key.clone(),
            sender: "INPS".into(),
        });
    })
    .await?;
    let g = c.grpcurl();
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
                    "contatti": {"cellulare": "+393331234567", "email": "mario.rossi@example.it"},
                    "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    // NOT-1: the contacts reach notifiche from anagrafica's events, through the relay.
    let contatti = attendi(|| async {
        let o = g
            .call(
                Some(&t_mario),
                &n("GetContatti"),
                &json!({"codice_fiscale": mario.cf}),
            )
            .await?;
        anyhow::ensure!(o.code == 0, "{o:?}");
        let v = o.json()?;
        Ok((v["contatti"]["cellulare"] == "+393331234567").then_some(v))
    })
    .await?;
    assert_eq!(contatti["contatti"]["email"], "mario.rossi@example.it");
    let o = g
        .call(
            Some(&t_mario),
            &n("UpdateConsensi"),
            &json!({"codice_fiscale": mario.cf, "consensi": [{"channel": "CHANNEL_SMS", "concesso": true}]}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");

    // A prestazione for Mario, revoked by the company (PRE-11), is told to him (PRE-13).
    let flusso = c.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?;
    let f24 = json!({"record": {"id_pagamento": "F24-NOT-1", "modello": "MODELLO_F24_ELIDE", "codice_fiscale_versante": "00743110157",
        "tipo": "I", "codice_tributo": "CODICE_TRIBUTO_CLOC", "anno": 2026, "importo": "500.00", "data_versamento": "2026-06-09"}});
    assert_eq!(
        g.call(Some(&flusso), &format!("{POR}/ImportF24"), &f24)
            .await?
            .code,
        0
    );
    let prestazione = json!({"tipo": "TIPO_PRESTAZIONE_CPO", "utilizzatore_cf": "00743110157", "prestatore_cf": mario.cf,
           "luogo": {"comune": "F205", "indirizzo": "Corso Como 1"},
           "cpo": {"descrizione": "servizio ai tavoli", "inizio": "2026-06-12T07:00:00Z", "fine": "2026-06-12T11:00:00Z"},
           "compenso": "36.00", "dichiarazioni": {"appalto": false, "rapporto_lavoro_recente": false}});
    let o = g
        .call(
            Some(&azienda),
            &format!("{PRE}/InsertPrestazione"),
            &json!({"request_id": "not-1", "prestazione": prestazione}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let id = o.json()?["prestazione"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let o = g
        .call(
            Some(&azienda),
            &format!("{PRE}/RevokePrestazione"),
            &json!({"prestazione_id": id, "motivo": "pioggia"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let revoca = attendi(|| async {
        let o = g
            .call(
                Some(&t_mario),
                &n("ListInbox"),
                &json!({"codice_fiscale": mario.cf, "tipo": "TIPO_NOTIFICA_PRESTAZIONE_REVOCATA"}),
            )
            .await?;
        anyhow::ensure!(o.code == 0, "{o:?}");
        let v = o.json()?;
        Ok(v["messaggi"]
            .as_array()
            .filter(|m| !m.is_empty())
            .map(|m| m[0].clone()))
    })
    .await?;
    assert!(
        revoca["testo"]
            .as_str()
            .unwrap_or_default()
            .contains("12/06/2026"),
        "{revoca}"
    );
    let sms = attendi(|| async {
        let r = ricevuti.lock().unwrap().clone();
        Ok(r.iter()
            .any(|m| m["text"].as_str().unwrap_or_default().contains("revocata"))
            .then_some(r))
    })
    .await?;
    let revoche: Vec<&Value> = sms
        .iter()
        .filter(|m| m["text"].as_str().unwrap_or_default().contains("revocata"))
        .collect();
    assert_eq!(revoche.len(), 1, "{sms:?}");
    assert_eq!(revoche[0]["to"], "+393331234567");
    // The deliveries, as an operator sees them; the e-mail was not consented.
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501G", None)?;
    let o = g
        .call(
            Some(&dg),
            &n("ListDeliveries"),
            &json!({"event_id": revoca["eventId"]}),
        )
        .await?;
    let stati: Vec<(String, String)> = o.json()?["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap_or_default().into(),
                d["state"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert!(
        stati.contains(&("CHANNEL_SMS".into(), "DELIVERY_STATE_SENT".into())),
        "{stati:?}"
    );
    assert!(
        stati.contains(&("CHANNEL_EMAIL".into(), "DELIVERY_STATE_SKIPPED".into())),
        "{stati:?}"
    );
    assert!(
        stati.contains(&("CHANNEL_MYINPS_INBOX".into(), "DELIVERY_STATE_SENT".into())),
        "{stati:?}"
    );
    // Another person's inbox is not Mario's to read.
    let o = g
        .call(
            Some(&azienda),
            &n("ListInbox"),
            &json!({"codice_fiscale": mario.cf}),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    c.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One archive record: an employer with one relationship, ACTIVE in Q1 2026.
fn record(
    id: &str,
    cf: &str,
    nome: &str,
    nascita: &str,
    lavoratore: &str,
    dovuti: &str,
    pagati: &str,
) -> Value {
    json!({"record": {"record_id": id,
        "datore": {"codice_fiscale": cf, "nome": nome, "cognome": "Bianchi", "data_nascita": nascita},
        "rapporti": [{"codice_rapporto": format!("R-{id}"), "lavoratore_cf": "RSSMRA85T10A562S", "lavoratore_nome": lavoratore,
            "trimestri": [{"trimestre": {"anno": 2026, "numero": 1}, "stato": "STATO_RAPPORTO_DOMESTICO_ACTIVE",
                           "contributi_dovuti": dovuti, "contributi_pagati": pagati}]}]}})
}

fn ok(o: &Outcome) -> anyhow::Result<Value> {
    anyhow::ensure!(o.code == 0, "{o:?}");
    o.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn not_3_to_not_7_import_stream_campaign_and_the_guide_pages_through_the_platform() -> anyhow::Result<()>
{
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00+01:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501G", None)?;
    let laura = persona("Bianchi", "Laura", "1960-01-01", true, "H501");
    let nonno = persona("Verdi", "Giovanni", "1950-03-01", false, "H501");
    let records = [
        record("r1", &laura.cf, "Laura", "1960-01-01", "Ana", "412.50", "0"),
        record("r2", "NONVALIDO", "X", "1960-01-01", "Y", "1", "0"),
        record("r3", &nonno.cf, "Giovanni", "1950-03-01", "Chen", "100", "0"),
        record("r1", &laura.cf, "Laura", "1960-01-01", "Ana", "412.50", "0"),
    ];
    // NOT-7: a client stream through the gateway.
    let v = ok(&g
        .call_stream(Some(&dg), &n("ImportLavoroDomestico"), &records)
        .await?)?;
    assert_eq!(v["numeroRicevuti"], "4", "{v}");
    assert_eq!(v["numeroImportati"], "2", "{v}");
    assert_eq!(v["numeroDuplicati"], "1", "{v}");
    assert_eq!(v["scartati"][0]["posizione"], "1", "{v}");
    // NOT-3: Laura (66) is addressed, Giovanni (76 today) is not; once.
    let run = json!({"campagna": "TIPO_CAMPAGNA_LAVORO_DOMESTICO", "trimestre": {"anno": 2026, "numero": 1}});
    let v = ok(&g.call(Some(&dg), &n("RunCampagna"), &run).await?)?;
    assert_eq!(
        (
            v["run"]["numeroDestinatari"].clone(),
            v["run"]["numeroNotifiche"].clone()
        ),
        (json!("1"), json!("1")),
        "{v}"
    );
    let v = ok(&g.call(Some(&dg), &n("RunCampagna"), &run).await?)?;
    assert_eq!(
        v["run"]["numeroNotifiche"].as_str().unwrap_or("0"),
        "0",
        "nobody twice: {v}"
    );
    let t_laura = c.token(Profile::Utilizzatore, &laura.cf, None)?;
    let v = ok(&g
        .call(
            Some(&t_laura),
            &n("ListInbox"),
            &json!({"codice_fiscale": laura.cf}),
        )
        .await?)?;
    let token = v["messaggi"][0]["guidaToken"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(token.len() >= 64, "{v}");
    assert!(
        v["messaggi"][0]["testo"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("/guida/{token}")),
        "{v}"
    );

    // NOT-4: the guide page, personalised; a rating; a followed link (NOT-5).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let pagina = http.get(format!("{}/guida/{token}", c.web_url())).send().await?;
    assert_eq!(pagina.status(), 200);
    let html = pagina.text().await?;
    assert!(html.contains("Laura") && html.contains("Ana"), "{html}");
    assert!(html.contains("lang=\"it\""));
    assert!(!html.contains(&laura.cf), "no codice fiscale on the page");
    let r = http
        .post(format!("{}/guida/{token}/voto", c.web_url()))
        .form(&[("voto", "4")])
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    let r = http
        .post(format!("{}/guida/{token}/voto", c.web_url()))
        .form(&[("voto", "9")])
        .send()
        .await?;
    assert_eq!(r.status(), 400);
    let r = http
        .get(format!("{}/guida/{token}/link/estratto_conto", c.web_url()))
        .send()
        .await?;
    assert!(r.status().is_redirection());
    assert!(
        r.headers()["location"]
            .to_str()?
            .starts_with("https://www.inps.it/")
    );
    let r = http
        .get(format!("{}/guida/{}", c.web_url(), "0".repeat(64)))
        .send()
        .await?;
    assert_eq!(r.status(), 404);

    // NOT-5: the dashboard over gRPC and as the operators' page.
    let v = ok(&g
        .call(
            Some(&dg),
            &n("GetCampagnaDashboard"),
            &json!({"campagna": "TIPO_CAMPAGNA_LAVORO_DOMESTICO", "trimestre": {"anno": 2026, "numero": 1}}),
        )
        .await?)?;
    let riga = &v["righe"][0];
    assert_eq!(riga["guideAperte"], "1", "{v}");
    assert_eq!(riga["valutazioniNumero"], "1", "{v}");
    assert_eq!(riga["valutazioniMedia"], "4.00", "{v}");
    let r = http
        .get(format!("{}/cruscotto?campagna=lavoro_domestico", c.web_url()))
        .send()
        .await?;
    assert_eq!(r.status(), 401, "operators only");
    let r = http
        .get(format!("{}/cruscotto?campagna=lavoro_domestico", c.web_url()))
        .bearer_auth(&t_laura)
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    let r = http
        .get(format!("{}/cruscotto?campagna=lavoro_domestico", c.web_url()))
        .bearer_auth(&dg)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert!(r.text().await?.contains("<svg"));

    // NOT-4: six months on, the link says the guide has expired.
    let o = g
        .call(
            Some(&dg),
            "occasionali.gateway.v1.DevClockService/AdvanceClock",
            &json!({"seconds": 185 * 86400}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let r = http.get(format!("{}/guida/{token}", c.web_url())).send().await?;
    assert_eq!(r.status(), 410);
    c.stop().await
}

/// The pages of the real cluster in a real browser (NOT-4, NOT-5): the same check as notifiche's
/// page tests (services/notifiche/tests/browser/check.mjs: rendered text, a followed link, the
/// rating form, the operators' login, axe-core WCAG 2.1 AA), on guides issued by a campaign run
/// through the gateway — one current, one issued six months earlier and expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn not_4_not_5_the_real_pages_in_chromium_pass_axe() -> anyhow::Result<()> {
    if std::env::var("OCCASIONALI_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("browser test skipped: OCCASIONALI_SKIP_BROWSER=1");
        return Ok(());
    }
    let browser =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/notifiche/tests/browser");
    anyhow::ensure!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && browser.join("node_modules/puppeteer-core").exists(),
        "chromium and the browser test's node modules are needed: run tests/run (it installs them), \
         or set OCCASIONALI_SKIP_BROWSER=1"
    );
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00+01:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501G", None)?;
    let laura = persona("Bianchi", "Laura", "1960-01-01", true, "H501");
    let paolo = persona("Neri", "Paolo", "1970-05-05", false, "F205");
    let importa = |r: Value| {
        let g = c.grpcurl();
        let dg = dg.clone();
        async move {
            ok(&g
                .call_stream(Some(&dg), &n("ImportLavoroDomestico"), &[r])
                .await?)
        }
    };
    let campagna = |numero: i32| {
        let g = c.grpcurl();
        let dg = dg.clone();
        async move {
            ok(&g
                .call(
                    Some(&dg),
                    &n("RunCampagna"),
                    &json!({"campagna": "TIPO_CAMPAGNA_LAVORO_DOMESTICO", "trimestre": {"anno": 2026, "numero": numero}}),
                )
                .await?)
        }
    };
    let token_di = |cf: String| {
        let g = c.grpcurl();
        let t = c.token(Profile::Utilizzatore, &cf, None);
        async move {
            let v = ok(&g
                .call(Some(&t?), &n("ListInbox"), &json!({"codice_fiscale": cf}))
                .await?)?;
            Ok::<String, anyhow::Error>(
                v["messaggi"][0]["guidaToken"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        }
    };
    // Paolo's guide, issued now, will have expired when Laura's is issued six months later.
    importa(record(
        "p1",
        &paolo.cf,
        "Paolo",
        "1970-05-05",
        "Bogdan",
        "150.00",
        "0",
    ))
    .await?;
    campagna(1).await?;
    let scaduta = token_di(paolo.cf.clone()).await?;
    let o = g
        .call(
            Some(&dg),
            "occasionali.gateway.v1.DevClockService/AdvanceClock",
            &json!({"seconds": 185 * 86400}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    importa(record(
        "l1",
        &laura.cf,
        "Laura",
        "1960-01-01",
        "Ana",
        "412.50",
        "0",
    ))
    .await?;
    campagna(3).await?;
    let valida = token_di(laura.cf.clone()).await?;
    anyhow::ensure!(!valida.is_empty() && !scaduta.is_empty(), "two guides issued");

    let shots = std::env::temp_dir().join(format!("e2e-screenshots-{}", std::process::id()));
    std::fs::create_dir_all(&shots)?;
    let out = tokio::process::Command::new("node")
        .current_dir(&browser)
        .arg("check.mjs")
        .args(["--guida", &format!("{}/guida/{valida}", c.web_url())])
        .args(["--scaduta", &format!("{}/guida/{scaduta}", c.web_url())])
        .args([
            "--cruscotto",
            &format!("{}/cruscotto?campagna=lavoro_domestico", c.web_url()),
        ])
        .args(["--token", &dg])
        .args([
            "--destinazione",
            occasionali_notifiche::domain::guida::Link::PortalePagamenti.url(),
        ])
        .arg("--screenshots")
        .arg(&shots)
        .args(["--testo-guida", "Gentile Laura"])
        .args(["--testo-guida", "Ana"])
        .args(["--testo-guida", "1° trimestre 2026"])
        .args(["--testo-cruscotto", "Guide aperte"])
        .kill_on_drop(true)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    let _ = std::fs::remove_dir_all(&shots);
    anyhow::ensure!(out.status.success(), "browser check failed:\n{stdout}\n{stderr}");
    // What the browser did is on the dashboard: Laura's guide opened, rated 4, a link followed.
    let v = ok(&g
        .call(
            Some(&dg),
            &n("GetCampagnaDashboard"),
            &json!({"campagna": "TIPO_CAMPAGNA_LAVORO_DOMESTICO", "trimestre": {"anno": 2026, "numero": 3}}),
        )
        .await?)?;
    let riga = &v["righe"][0];
    assert_eq!(riga["valutazioniNumero"], "1", "{v}");
    assert_eq!(riga["valutazioniMedia"], "4.00", "{v}");
    let seguiti = riga["linkSeguiti"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l["numero"].as_str().and_then(|n| n.parse::<i64>().ok()))
        .sum::<i64>();
    assert!(seguiti >= 1, "{v}");
    c.stop().await
}
