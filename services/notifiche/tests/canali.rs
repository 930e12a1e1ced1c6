//! NOT-6: the real delivery channels against real protocol peers on loopback: an SMTP server
//! (Python aiosmtpd, `tests/support/smtp_sink.py`), and HTTP servers that follow the SMS
//! gateway contract and the IO services API (validating what the real ones validate). Each
//! outcome is checked for its mapping to `Esito`/`ErroreCanale`, and no error may carry the
//! recipient's address, number or codice fiscale.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use occasionali_notifiche::canali::{AppIo, Canale, Canali, Email, ErroreCanale, Esito, Messaggio, Sms};
use occasionali_runtime::config::{AppIoConfig, NotificheConfig, SmsConfig, SmtpConfig, SmtpTls};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CHIAVE_SMS: &str = "chiave-sms-di-prova";
const CHIAVE_IO: &str = "0123456789abcdef0123456789abcdef";
const CF: &str = "RSSMRA80A01H501U";
const CF_NON_SU_IO: &str = "VRDGPP70B02F205X";
const CF_HA_RIFIUTATO: &str = "BNCLCU85C03L219Y";
const NUMERO: &str = "+393331234567";

/// A scratch directory removed when dropped.
struct Cartella(PathBuf);

impl Cartella {
    fn nuova(nome: &str) -> anyhow::Result<Cartella> {
        let p = std::env::temp_dir().join(format!("occasionali-{nome}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p)?;
        Ok(Cartella(p))
    }
    fn file(&self, nome: &str, contenuto: &str) -> anyhow::Result<PathBuf> {
        let p = self.0.join(nome);
        std::fs::write(&p, contenuto)?;
        Ok(p)
    }
}

impl Drop for Cartella {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn messaggio(chiave: &str, indirizzo: &str, oggetto: &str, testo: &str) -> Messaggio {
    Messaggio {
        chiave: chiave.into(),
        codice_fiscale: CF.into(),
        indirizzo: indirizzo.into(),
        oggetto: oggetto.into(),
        testo: testo.into(),
    }
}

fn temporaneo(r: &Result<Esito, ErroreCanale>) -> bool {
    matches!(r, Err(ErroreCanale::Temporaneo(_)))
}

fn definitivo(r: &Result<Esito, ErroreCanale>) -> bool {
    matches!(r, Err(ErroreCanale::Definitivo(_)))
}

// ---------------------------------------------------------------------------------------------
// E-mail: a real SMTP server

/// `tests/support/smtp_sink.py` running on a free loopback port; stops with the test.
struct SmtpSink {
    _child: Child,
    porta: u16,
    out: Cartella,
}

impl SmtpSink {
    async fn avvia() -> anyhow::Result<SmtpSink> {
        SmtpSink::avvia_con(None).await
    }

    /// With `Some("user:password")` the server requires those credentials.
    async fn avvia_con(credenziali: Option<&str>) -> anyhow::Result<SmtpSink> {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .await
            .context("python3 is needed for the e-mail channel tests")?;
        ensure!(
            ok.success(),
            "python3 lacks aiosmtpd: run tests/run, or `python3 -m pip install aiosmtpd`"
        );
        let out = Cartella::nuova("smtp-sink")?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&out.0)
            .args(credenziali)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("sink stdout"))?;
        let mut riga = String::new();
        tokio::time::timeout(
            Duration::from_secs(20),
            BufReader::new(stdout).read_line(&mut riga),
        )
        .await
        .context("the SMTP sink did not start")??;
        let porta = riga
            .trim()
            .parse()
            .with_context(|| format!("sink port {riga:?}"))?;
        Ok(SmtpSink {
            _child: child,
            porta,
            out,
        })
    }

    fn config(&self) -> SmtpConfig {
        smtp_config(self.porta)
    }

    /// The `n`-th message the server accepted, as it parsed it.
    fn ricevuto(&self, n: usize) -> anyhow::Result<Value> {
        let testo = std::fs::read_to_string(self.out.0.join(format!("{n}.json")))
            .with_context(|| format!("message {n} was not delivered"))?;
        Ok(serde_json::from_str(&testo)?)
    }

    fn quanti(&self) -> anyhow::Result<usize> {
        Ok(std::fs::read_dir(&self.out.0)?
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count())
    }
}

fn smtp_config(porta: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: porta,
        tls: SmtpTls::None,
        username: None,
        password_file: None,
        from: "INPS <noreply@inps.it>".into(),
    }
}

#[tokio::test]
async fn email_is_delivered_as_utf8_plain_text_with_a_message_id_from_the_key() -> anyhow::Result<()> {
    let sink = SmtpSink::avvia().await?;
    let email = Email::new(&sink.config())?;
    let testo = "Gentile Maria,\nè disponibile la guida sui contributi del lavoro domestico: perché, quando e così via.";
    let m = messaggio(
        "01JZ8Q4T7K3M5N6P7Q8R9S0T1V",
        "maria.rossi@example.it",
        "Contributi: cosa c'è da sapere",
        testo,
    );
    let esito = email.invia(&m).await?;
    assert_eq!(
        esito,
        Esito::Inviato {
            riferimento: Some("SINK1".into())
        }
    );
    let r = sink.ricevuto(1)?;
    assert_eq!(r["rcpt_tos"], json!(["maria.rossi@example.it"]));
    assert_eq!(r["mail_from"], "noreply@inps.it");
    assert_eq!(r["to"], "maria.rossi@example.it");
    assert_eq!(r["from"], "INPS <noreply@inps.it>");
    assert_eq!(r["subject"], "Contributi: cosa c'è da sapere");
    assert_eq!(r["content_type"], "text/plain");
    assert_eq!(r["charset"], "utf-8");
    assert_eq!(
        r["body"]
            .as_str()
            .map(|b| b.replace("\r\n", "\n").trim_end().to_owned()),
        Some(testo.to_owned())
    );
    assert_eq!(
        r["message_id"],
        "<01JZ8Q4T7K3M5N6P7Q8R9S0T1V@occasionali.inps.it>"
    );
    Ok(())
}

#[tokio::test]
async fn email_redelivery_carries_the_same_message_id() -> anyhow::Result<()> {
    let sink = SmtpSink::avvia().await?;
    let email = Email::new(&sink.config())?;
    let m = messaggio(
        "consegna-42",
        "anna@example.it",
        "Avviso di revoca",
        "La prestazione è stata revocata.",
    );
    email.invia(&m).await?;
    email.invia(&m).await?;
    assert_eq!(sink.quanti()?, 2);
    assert_eq!(sink.ricevuto(1)?["message_id"], sink.ricevuto(2)?["message_id"]);
    assert_eq!(
        sink.ricevuto(2)?["message_id"],
        "<consegna-42@occasionali.inps.it>"
    );
    Ok(())
}

#[tokio::test]
async fn email_authenticates_with_the_password_file() -> anyhow::Result<()> {
    let sink = SmtpSink::avvia_con(Some("inps-notifiche:pà55word")).await?;
    let cartella = Cartella::nuova("smtp")?;
    let mut config = sink.config();
    config.username = Some("inps-notifiche".into());
    config.password_file = Some(cartella.file("smtp.pwd", "pà55word\n")?);
    let m = messaggio(
        "k1",
        "anna@example.it",
        "Avviso di revoca",
        "La prestazione è stata revocata.",
    );
    assert!(matches!(
        Email::new(&config)?.invia(&m).await?,
        Esito::Inviato { .. }
    ));
    assert_eq!(sink.quanti()?, 1);
    // A password the relay rejects is about this environment, not the message: temporary.
    config.password_file = Some(cartella.file("altra.pwd", "sbagliata")?);
    let r = Email::new(&config)?.invia(&m).await;
    assert_eq!(
        r,
        Err(ErroreCanale::Temporaneo(
            "smtp relay rejected the credentials (535)".into()
        ))
    );
    // Without credentials the relay refuses the message (530): temporary as well.
    let r = Email::new(&sink.config())?.invia(&m).await;
    assert!(temporaneo(&r), "{r:?}");
    assert_eq!(sink.quanti()?, 1);
    Ok(())
}

#[tokio::test]
async fn email_to_a_relay_that_is_down_is_temporary() -> anyhow::Result<()> {
    // A port just freed: nothing listens there.
    let porta = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let email = Email::new(&smtp_config(porta))?;
    let r = email
        .invia(&messaggio("k", "a@example.it", "Oggetto", "Testo"))
        .await;
    assert!(temporaneo(&r), "{r:?}");
    Ok(())
}

#[tokio::test]
async fn email_to_a_relay_that_never_answers_times_out_as_temporary() -> anyhow::Result<()> {
    // The kernel accepts the connection, nobody ever sends the greeting.
    let muto = std::net::TcpListener::bind("127.0.0.1:0")?;
    let email = Email::new(&smtp_config(muto.local_addr()?.port()))?.con_timeout(Duration::from_millis(300));
    let inizio = std::time::Instant::now();
    let r = email
        .invia(&messaggio("k", "a@example.it", "Oggetto", "Testo"))
        .await;
    assert!(temporaneo(&r), "{r:?}");
    assert!(inizio.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[tokio::test]
async fn email_refused_with_550_is_permanent_and_451_temporary() -> anyhow::Result<()> {
    let sink = SmtpSink::avvia().await?;
    let email = Email::new(&sink.config())?;
    let r = email
        .invia(&messaggio("k1", "rifiuta.mario@example.it", "Oggetto", "Testo"))
        .await;
    assert_eq!(
        r,
        Err(ErroreCanale::Definitivo(
            "smtp relay refused the message (550)".into()
        ))
    );
    let r = email
        .invia(&messaggio("k2", "occupato.mario@example.it", "Oggetto", "Testo"))
        .await;
    assert_eq!(
        r,
        Err(ErroreCanale::Temporaneo(
            "smtp relay deferred the message (451)".into()
        ))
    );
    assert_eq!(sink.quanti()?, 0);
    Ok(())
}

#[tokio::test]
async fn email_to_an_invalid_address_is_permanent() -> anyhow::Result<()> {
    let porta = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let email = Email::new(&smtp_config(porta))?;
    for indirizzo in ["", "non-un-indirizzo", "a@b@c"] {
        let r = email.invia(&messaggio("k", indirizzo, "Oggetto", "Testo")).await;
        assert!(definitivo(&r), "{indirizzo:?}: {r:?}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SMS gateway and App IO: HTTP servers that follow their contracts

#[derive(Clone, Debug)]
struct Richiesta {
    uri: String,
    headers: HeaderMap,
    corpo: Value,
}

/// One loopback HTTP server playing both providers; every request is recorded, and a status
/// can be forced per path (its body then echoes the recipient, as providers' errors do).
#[derive(Default)]
struct Finto {
    richieste: Mutex<Vec<Richiesta>>,
    forzati: Mutex<HashMap<String, u16>>,
    ritardo: Mutex<Option<Duration>>,
    /// Codice fiscale → `sender_allowed`; absent: not on IO.
    profili: Mutex<HashMap<String, bool>>,
    contatore: AtomicU64,
}

type Stato = Arc<Finto>;

impl Finto {
    async fn avvia() -> anyhow::Result<(Stato, String)> {
        let finto = Arc::new(Finto::default());
        if let Ok(mut p) = finto.profili.lock() {
            p.insert(CF.into(), true);
            p.insert(CF_HA_RIFIUTATO.into(), false);
        }
        let app = Router::new()
            .route("/v1/messages", post(sms))
            .route("/api/v1/profiles", post(io_profilo))
            .route("/api/v1/messages", post(io_messaggio))
            .with_state(finto.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((finto, url))
    }

    fn forza(&self, percorso: &str, status: u16) {
        if let Ok(mut f) = self.forzati.lock() {
            f.insert(percorso.into(), status);
        }
    }

    fn richieste(&self) -> Vec<Richiesta> {
        self.richieste.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Records the request; the forced answer or the delay, if any.
    async fn ricevi(&self, uri: &Uri, headers: &HeaderMap, corpo: &Bytes) -> Result<Value, Response> {
        let corpo: Value = serde_json::from_slice(corpo).unwrap_or(Value::Null);
        if let Ok(mut r) = self.richieste.lock() {
            r.push(Richiesta {
                uri: uri.to_string(),
                headers: headers.clone(),
                corpo: corpo.clone(),
            });
        }
        let ritardo = self.ritardo.lock().ok().and_then(|r| *r);
        if let Some(d) = ritardo {
            tokio::time::sleep(d).await;
        }
        let forzato = self.forzati.lock().ok().and_then(|f| f.get(uri.path()).copied());
        if let Some(s) = forzato {
            let eco = json!({ "title": "forced", "detail": format!("cannot deliver to {corpo}") });
            return Err(risposta(
                StatusCode::from_u16(s).unwrap_or(StatusCode::IM_A_TEAPOT),
                eco,
            ));
        }
        Ok(corpo)
    }

    fn id(&self, prefisso: &str) -> String {
        format!(
            "{prefisso}{:06}",
            self.contatore.fetch_add(1, Ordering::SeqCst) + 1
        )
    }
}

fn risposta(status: StatusCode, corpo: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        corpo.to_string(),
    )
        .into_response()
}

/// The IO spec's `ProblemJson`.
fn problema(status: StatusCode, detail: &str) -> Response {
    risposta(
        status,
        json!({ "type": "about:blank", "title": "problem", "status": status.as_u16(), "detail": detail }),
    )
}

fn stringa<'a>(v: &'a Value, campo: &str) -> Option<&'a str> {
    v.get(campo).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The SMS gateway contract of `canali::sms`.
async fn sms(State(f): State<Stato>, uri: Uri, headers: HeaderMap, corpo: Bytes) -> Response {
    let corpo = match f.ricevi(&uri, &headers, &corpo).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {CHIAVE_SMS}"))
    {
        return risposta(StatusCode::UNAUTHORIZED, json!({ "error": "bad key" }));
    }
    if ["to", "from", "text", "reference"]
        .iter()
        .any(|c| stringa(&corpo, c).is_none())
    {
        return risposta(StatusCode::BAD_REQUEST, json!({ "error": "missing field" }));
    }
    risposta(
        StatusCode::OK,
        json!({ "id": f.id("sms-"), "status": "accepted" }),
    )
}

fn chiave_io_valida(headers: &HeaderMap) -> bool {
    headers
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok())
        == Some(CHIAVE_IO)
}

/// The spec's `FiscalCode` pattern.
fn codice_fiscale_valido(cf: &str) -> bool {
    let b = cf.as_bytes();
    let cifra = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUV".contains(&c);
    b.len() == 16
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..8].iter().all(|&c| cifra(c))
        && b"ABCDEHLMPRST".contains(&b[8])
        && b[9..11].iter().all(|&c| cifra(c))
        && b[11].is_ascii_uppercase()
        && b[12..15].iter().all(|&c| cifra(c))
        && b[15].is_ascii_uppercase()
}

/// `POST /api/v1/profiles` (getProfileByPOST).
async fn io_profilo(State(f): State<Stato>, uri: Uri, headers: HeaderMap, corpo: Bytes) -> Response {
    let corpo = match f.ricevi(&uri, &headers, &corpo).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !chiave_io_valida(&headers) {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    let Some(cf) = stringa(&corpo, "fiscal_code").filter(|cf| codice_fiscale_valido(cf)) else {
        return problema(StatusCode::BAD_REQUEST, "invalid fiscal_code");
    };
    let allowed = f.profili.lock().ok().and_then(|p| p.get(cf).copied());
    match allowed {
        Some(a) => risposta(
            StatusCode::OK,
            json!({ "sender_allowed": a, "preferred_languages": ["it_IT"] }),
        ),
        None => problema(
            StatusCode::NOT_FOUND,
            "No user found for the provided fiscal code",
        ),
    }
}

/// `POST /api/v1/messages` (submitMessageforUserWithFiscalCodeInBody), with the spec's bounds.
async fn io_messaggio(State(f): State<Stato>, uri: Uri, headers: HeaderMap, corpo: Bytes) -> Response {
    let corpo = match f.ricevi(&uri, &headers, &corpo).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !chiave_io_valida(&headers) {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    if stringa(&corpo, "fiscal_code")
        .filter(|cf| codice_fiscale_valido(cf))
        .is_none()
    {
        return problema(StatusCode::BAD_REQUEST, "invalid fiscal_code");
    }
    let lunghezza = |campo: &str| corpo["content"][campo].as_str().map(|s| s.encode_utf16().count());
    if !lunghezza("subject").is_some_and(|n| (10..=120).contains(&n)) {
        return problema(
            StatusCode::BAD_REQUEST,
            "subject: string of length >= 10 and < 121",
        );
    }
    if !lunghezza("markdown").is_some_and(|n| (80..=10000).contains(&n)) {
        return problema(
            StatusCode::BAD_REQUEST,
            "markdown: string of length >= 80 and < 10001",
        );
    }
    let id = f.id("01MSG");
    (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::LOCATION, format!("/api/v1/messages/{id}")),
        ],
        json!({ "id": id }).to_string(),
    )
        .into_response()
}

fn sms_config(url: &str, cartella: &Cartella) -> anyhow::Result<SmsConfig> {
    Ok(SmsConfig {
        url: format!("{url}/v1/messages"),
        // The trailing newline an editor leaves is not part of the key.
        api_key_file: cartella.file("sms.key", &format!("{CHIAVE_SMS}\n"))?,
        sender: "INPS".into(),
    })
}

fn app_io_config(url: &str, cartella: &Cartella) -> anyhow::Result<AppIoConfig> {
    Ok(AppIoConfig {
        base_url: format!("{url}/"),
        api_key_file: cartella.file("io.key", &format!("  {CHIAVE_IO}\r\n"))?,
    })
}

fn header<'a>(r: &'a Richiesta, nome: &str) -> Option<&'a str> {
    r.headers.get(nome).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn sms_posts_the_gateway_contract_with_the_bearer_key() -> anyhow::Result<()> {
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("sms")?;
    let sms = Sms::new(&sms_config(&url, &cartella)?)?;
    let testo = "INPS: la prestazione del 3 giugno è stata revocata. Dettagli su MyINPS.";
    let esito = sms
        .invia(&messaggio("consegna-7", NUMERO, "ignorato", testo))
        .await?;
    assert_eq!(
        esito,
        Esito::Inviato {
            riferimento: Some("sms-000001".into())
        }
    );
    let richieste = finto.richieste();
    let [r] = richieste.as_slice() else {
        bail!("one request expected: {richieste:?}")
    };
    assert_eq!(r.uri, "/v1/messages");
    assert_eq!(header(r, "authorization"), Some("Bearer chiave-sms-di-prova"));
    assert_eq!(header(r, "content-type"), Some("application/json"));
    assert_eq!(
        r.corpo,
        json!({ "to": NUMERO, "from": "INPS", "text": testo, "reference": "consegna-7" })
    );
    Ok(())
}

#[tokio::test]
async fn sms_answers_map_to_temporary_or_permanent() -> anyhow::Result<()> {
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("sms")?;
    let sms = Sms::new(&sms_config(&url, &cartella)?)?;
    let m = messaggio("k", NUMERO, "", "Testo");
    for (status, atteso) in [
        (
            500,
            ErroreCanale::Temporaneo("sms gateway answered http 500".into()),
        ),
        (
            503,
            ErroreCanale::Temporaneo("sms gateway answered http 503".into()),
        ),
        (
            429,
            ErroreCanale::Temporaneo("sms gateway answered http 429".into()),
        ),
        (
            401,
            ErroreCanale::Temporaneo("sms gateway answered http 401".into()),
        ),
        (
            400,
            ErroreCanale::Definitivo("sms gateway refused the request (http 400)".into()),
        ),
        (
            422,
            ErroreCanale::Definitivo("sms gateway refused the request (http 422)".into()),
        ),
    ] {
        finto.forza("/v1/messages", status);
        assert_eq!(sms.invia(&m).await, Err(atteso), "http {status}");
    }
    // The key the gateway checks for real: a wrong one is a 401 from the gateway itself.
    let mut sbagliata = sms_config(&url, &cartella)?;
    sbagliata.api_key_file = cartella.file("altra.key", "un-altra-chiave")?;
    finto.forzati.lock().map_err(|_| anyhow!("lock"))?.clear();
    let r = Sms::new(&sbagliata)?.invia(&m).await;
    assert_eq!(
        r,
        Err(ErroreCanale::Temporaneo("sms gateway answered http 401".into()))
    );
    // No number at all never reaches the gateway.
    let prima = finto.richieste().len();
    assert!(definitivo(&sms.invia(&messaggio("k", " ", "", "Testo")).await));
    assert_eq!(finto.richieste().len(), prima);
    Ok(())
}

#[tokio::test]
async fn sms_gateway_slower_than_the_timeout_is_temporary() -> anyhow::Result<()> {
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("sms")?;
    *finto.ritardo.lock().map_err(|_| anyhow!("lock"))? = Some(Duration::from_secs(3));
    let sms = Sms::new(&sms_config(&url, &cartella)?)?.con_timeout(Duration::from_millis(300));
    let r = sms.invia(&messaggio("k", NUMERO, "", "Testo")).await;
    assert_eq!(r, Err(ErroreCanale::Temporaneo("sms gateway timed out".into())));
    // Nothing listening: unreachable, temporary.
    let porta = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let giu = Sms::new(&sms_config(&format!("http://127.0.0.1:{porta}"), &cartella)?)?;
    let r = giu.invia(&messaggio("k", NUMERO, "", "Testo")).await;
    assert_eq!(
        r,
        Err(ErroreCanale::Temporaneo("sms gateway is unreachable".into()))
    );
    Ok(())
}

const GUIDA: &str = "Gentile Maria,\n\nrisultano **non pagati** i contributi del primo trimestre 2026 per \
                     Giulia. Puoi pagarli dal [portale dei pagamenti](https://www.inps.it/pagamenti) entro \
                     il 10 aprile.";

#[tokio::test]
async fn app_io_checks_the_profile_then_submits_the_message_with_the_subscription_key() -> anyhow::Result<()>
{
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("io")?;
    let io = AppIo::new(&app_io_config(&url, &cartella)?)?;
    let mut m = messaggio(
        "consegna-9",
        "",
        "Contributi lavoro domestico: cosa c'è da fare",
        GUIDA,
    );
    m.codice_fiscale = CF.to_ascii_lowercase();
    let esito = io.invia(&m).await?;
    assert_eq!(
        esito,
        Esito::Inviato {
            riferimento: Some("01MSG000001".into())
        }
    );
    let richieste = finto.richieste();
    let [profilo, inviato] = richieste.as_slice() else {
        bail!("two requests expected: {richieste:?}")
    };
    assert_eq!(profilo.uri, "/api/v1/profiles");
    assert_eq!(profilo.corpo, json!({ "fiscal_code": CF }));
    assert_eq!(inviato.uri, "/api/v1/messages");
    assert_eq!(
        inviato.corpo,
        json!({
            "fiscal_code": CF,
            "content": { "subject": "Contributi lavoro domestico: cosa c'è da fare", "markdown": GUIDA },
        })
    );
    for r in [profilo, inviato] {
        assert_eq!(header(r, "ocp-apim-subscription-key"), Some(CHIAVE_IO));
        assert!(!r.uri.contains(CF), "the codice fiscale stays out of URLs");
    }
    Ok(())
}

#[tokio::test]
async fn app_io_citizen_not_on_io_or_not_allowing_the_service_is_unreachable() -> anyhow::Result<()> {
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("io")?;
    let io = AppIo::new(&app_io_config(&url, &cartella)?)?;
    let mut m = messaggio("k", "", "Avviso di revoca", GUIDA);
    m.codice_fiscale = CF_NON_SU_IO.into();
    assert_eq!(
        io.invia(&m).await?,
        Esito::NonRaggiungibile("not registered on app io".into())
    );
    m.codice_fiscale = CF_HA_RIFIUTATO.into();
    assert_eq!(
        io.invia(&m).await?,
        Esito::NonRaggiungibile("the citizen has not allowed this service on app io".into())
    );
    assert!(
        finto.richieste().iter().all(|r| r.uri == "/api/v1/profiles"),
        "no message submitted"
    );
    Ok(())
}

#[tokio::test]
async fn app_io_answers_map_to_temporary_or_permanent() -> anyhow::Result<()> {
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("io")?;
    let io = AppIo::new(&app_io_config(&url, &cartella)?)?;
    let m = messaggio("k", "", "Avviso di revoca", GUIDA);
    for (percorso, status, temporaneo_atteso) in [
        ("/api/v1/profiles", 429, true),
        ("/api/v1/profiles", 500, true),
        ("/api/v1/profiles", 403, true),
        ("/api/v1/profiles", 400, false),
        ("/api/v1/messages", 429, true),
        ("/api/v1/messages", 500, true),
        ("/api/v1/messages", 400, false),
    ] {
        finto.forzati.lock().map_err(|_| anyhow!("lock"))?.clear();
        finto.forza(percorso, status);
        let r = io.invia(&m).await;
        let ok = if temporaneo_atteso {
            temporaneo(&r)
        } else {
            definitivo(&r)
        };
        assert!(ok, "{percorso} http {status}: {r:?}");
    }
    // A key the service does not know: 401 from the server's own check.
    finto.forzati.lock().map_err(|_| anyhow!("lock"))?.clear();
    let mut sbagliata = app_io_config(&url, &cartella)?;
    sbagliata.api_key_file = cartella.file("altra.key", "fedcba9876543210")?;
    let r = AppIo::new(&sbagliata)?.invia(&m).await;
    assert_eq!(
        r,
        Err(ErroreCanale::Temporaneo("app io answered http 401".into()))
    );
    // A slow service: temporary.
    *finto.ritardo.lock().map_err(|_| anyhow!("lock"))? = Some(Duration::from_secs(3));
    let lento = AppIo::new(&app_io_config(&url, &cartella)?)?.con_timeout(Duration::from_millis(300));
    assert_eq!(
        lento.invia(&m).await,
        Err(ErroreCanale::Temporaneo("app io timed out".into()))
    );
    Ok(())
}

#[tokio::test]
async fn app_io_content_is_fitted_into_the_spec_bounds_or_refused() -> anyhow::Result<()> {
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("io")?;
    let io = AppIo::new(&app_io_config(&url, &cartella)?)?;
    // Subject under 10 and body under 80: the server, which validates the spec's bounds, accepts.
    let esito = io
        .invia(&messaggio("k", "", "Revoca", "Prestazione revocata."))
        .await?;
    assert!(matches!(esito, Esito::Inviato { .. }), "{esito:?}");
    let ultimo = finto.richieste().pop().ok_or_else(|| anyhow!("no request"))?;
    assert_eq!(ultimo.corpo["content"]["subject"], "Avviso INPS: Revoca");
    let md = ultimo.corpo["content"]["markdown"].as_str().unwrap_or_default();
    assert!(md.starts_with("Prestazione revocata.\n\n---\n\n"), "{md}");
    // Subject over 120: cut, accepted.
    let lungo = "Contributi non pagati ".repeat(10);
    let esito = io.invia(&messaggio("k", "", &lungo, GUIDA)).await?;
    assert!(matches!(esito, Esito::Inviato { .. }), "{esito:?}");
    let ultimo = finto.richieste().pop().ok_or_else(|| anyhow!("no request"))?;
    let s = ultimo.corpo["content"]["subject"].as_str().unwrap_or_default();
    assert!(s.ends_with('…') && s.encode_utf16().count() <= 120, "{s}");
    // Body over 10000: permanent, and no call made.
    let prima = finto.richieste().len();
    let r = io
        .invia(&messaggio("k", "", "Avviso di revoca", &"è".repeat(10_001)))
        .await;
    assert!(definitivo(&r), "{r:?}");
    assert_eq!(finto.richieste().len(), prima);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// No personal data in errors; configuration

#[tokio::test]
async fn no_error_carries_the_recipient() -> anyhow::Result<()> {
    let sink = SmtpSink::avvia().await?;
    let (finto, url) = Finto::avvia().await?;
    let cartella = Cartella::nuova("pii")?;
    let email = Email::new(&sink.config())?;
    let sms = Sms::new(&sms_config(&url, &cartella)?)?;
    let io = AppIo::new(&app_io_config(&url, &cartella)?)?;
    let mut errori = Vec::new();
    for indirizzo in [
        "rifiuta.mario@example.it",
        "occupato.mario@example.it",
        "mario@@example.it",
    ] {
        errori.push((
            indirizzo.to_owned(),
            email.invia(&messaggio("k", indirizzo, "Oggetto", "Testo")).await,
        ));
    }
    for status in [400, 429, 500] {
        finto.forza("/v1/messages", status);
        errori.push((
            NUMERO.to_owned(),
            sms.invia(&messaggio("k", NUMERO, "", "Testo")).await,
        ));
        finto.forza("/api/v1/messages", status);
        errori.push((
            CF.to_owned(),
            io.invia(&messaggio("k", "", "Avviso di revoca", GUIDA)).await,
        ));
    }
    let mut non_valido = messaggio("k", "", "Avviso di revoca", GUIDA);
    non_valido.codice_fiscale = "RSSMRA80A01H501".into();
    errori.push((non_valido.codice_fiscale.clone(), io.invia(&non_valido).await));
    for (chi, r) in errori {
        let e = r.err().ok_or_else(|| anyhow!("{chi}: an error expected"))?;
        let testo = format!("{e} {e:?}");
        for pezzo in [chi.as_str(), "mario", "3331234567", "RSSMRA"] {
            assert!(!testo.contains(pezzo), "{testo:?} carries {pezzo:?}");
        }
    }
    Ok(())
}

#[test]
fn da_config_builds_each_configured_channel_and_names_a_missing_key_file() -> anyhow::Result<()> {
    let cartella = Cartella::nuova("config")?;
    let vuota = Canali::da_config(&NotificheConfig::default())?;
    assert!(vuota.email.is_none() && vuota.sms.is_none() && vuota.app_io.is_none());

    let mut smtp = smtp_config(2525);
    smtp.username = Some("inps".into());
    smtp.password_file = Some(cartella.file("smtp.pwd", "segreta\n")?);
    let mut config = NotificheConfig {
        smtp: Some(smtp),
        sms: Some(sms_config("http://127.0.0.1:1", &cartella)?),
        app_io: Some(app_io_config("http://127.0.0.1:1", &cartella)?),
        ..NotificheConfig::default()
    };
    let tutti = Canali::da_config(&config)?;
    assert!(tutti.email.is_some() && tutti.sms.is_some() && tutti.app_io.is_some());

    let manca = cartella.0.join("non-esiste.key");
    let errore = |config: &NotificheConfig| match Canali::da_config(config) {
        Ok(_) => String::from("no error"),
        Err(e) => format!("{e:#}"),
    };
    if let Some(s) = config.smtp.as_mut() {
        s.password_file = Some(manca.clone());
    }
    assert!(
        errore(&config).contains("notifiche.smtp.password_file"),
        "{}",
        errore(&config)
    );
    if let Some(s) = config.smtp.as_mut() {
        s.password_file = None;
    }
    assert!(errore(&config).contains("notifiche.smtp.password_file is required"));
    config.smtp = None;
    if let Some(s) = config.sms.as_mut() {
        s.api_key_file = manca.clone();
    }
    assert!(
        errore(&config).contains("notifiche.sms.api_key_file"),
        "{}",
        errore(&config)
    );
    config.sms = None;
    if let Some(a) = config.app_io.as_mut() {
        a.api_key_file = cartella.file("vuota.key", "\n")?;
    }
    assert!(
        errore(&config).contains("notifiche.app_io.api_key_file"),
        "{}",
        errore(&config)
    );
    Ok(())
}
