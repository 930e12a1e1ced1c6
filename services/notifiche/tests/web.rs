//! The guide and dashboard pages (NOT-4, NOT-5) over real HTTP, and in a real browser.
//!
//! The pages are served by the production router on 127.0.0.1:0 in front of an in-memory
//! [`Guide`]: these tests are about the pages (routes, status codes, HTML, accessibility), not
//! the rules behind the port, which the application's own tests cover.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use occasionali_notifiche::web::{self, Guide, VerificaOperatore};
use occasionali_proto::common::Periodo;
use occasionali_proto::notifiche as pb;
use occasionali_runtime::AppError;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

const VALIDA: &str = "gd_valida_7Hq2";
const SCADUTA: &str = "gd_scaduta_K9x1";
const XSS: &str = "gd_xss_Zz00";
const GUASTA: &str = "gd_guasta_0000";
const INTERNA: &str = "gd_interna_0000";
const OPERATORE: &str = "op.token.valido";
const CITTADINO: &str = "cittadino.token";

fn ts(rfc3339: &str) -> Option<prost_types::Timestamp> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|d| prost_types::Timestamp {
            seconds: d.timestamp(),
            nanos: 0,
        })
}

fn situazione(anno: i32, numero: i32, dovuti: &str, pagati: &str) -> pb::SituazioneTrimestre {
    pb::SituazioneTrimestre {
        trimestre: Some(pb::Trimestre { anno, numero }),
        stato: pb::StatoRapportoDomestico::Active.into(),
        contributi_dovuti: dovuti.into(),
        contributi_pagati: pagati.into(),
    }
}

/// Where the fake's links lead (what `segui` answers).
fn destinazione(l: pb::GuidaLink) -> String {
    let path = match l {
        pb::GuidaLink::PaymentsPortal => "portale-pagamenti",
        pb::GuidaLink::CassettoPrevidenziale => "cassetto-previdenziale-domestici",
        pb::GuidaLink::EstrattoConto => "estratto-conto",
        pb::GuidaLink::DomesticServices => "lavoro-domestico",
        pb::GuidaLink::InpsMobileApp => "app-inps-mobile",
        pb::GuidaLink::Unspecified => "",
    };
    format!("https://servizi.inps.example/{path}")
}

fn guida(token: &str, datore: &str) -> pb::Guida {
    let links = [
        pb::GuidaLink::PaymentsPortal,
        pb::GuidaLink::CassettoPrevidenziale,
        pb::GuidaLink::EstrattoConto,
        pb::GuidaLink::DomesticServices,
        pb::GuidaLink::InpsMobileApp,
    ]
    .into_iter()
    .map(|l| pb::LinkGuida {
        link: l.into(),
        url: destinazione(l),
    })
    .collect();
    pb::Guida {
        token: token.into(),
        campagna: pb::TipoCampagna::LavoroDomestico.into(),
        trimestre: Some(pb::Trimestre {
            anno: 2026,
            numero: 2,
        }),
        emessa_il: ts("2026-06-01T08:00:00Z"),
        scade_il: ts("2026-12-01T08:00:00Z"),
        scaduta: false,
        datore_nome: datore.into(),
        lavoratori: vec![
            pb::GuidaLavoratore {
                nome: "Ana".into(),
                trimestri_non_pagati: vec![
                    situazione(2026, 1, "412.50", "0.00"),
                    situazione(2026, 2, "1300.00", "87.50"),
                ],
            },
            pb::GuidaLavoratore {
                nome: "Ion".into(),
                trimestri_non_pagati: vec![pb::SituazioneTrimestre {
                    stato: pb::StatoRapportoDomestico::Suspended.into(),
                    ..situazione(2026, 1, "", "")
                }],
            },
        ],
        finestra_pagamento: Some(Periodo {
            dal: "2026-07-01".into(),
            al: "2026-07-10".into(),
        }),
        istruzioni_rapporto_sospeso_cessato: "Se il rapporto è stato sospeso o è cessato senza \
comunicarlo, invia ora la comunicazione di variazione o di cessazione con i servizi per il lavoro \
domestico: per i periodi non lavorati i contributi non sono dovuti."
            .into(),
        sanzioni: "Chi paga in ritardo deve una sanzione civile pari al tasso ufficiale di \
riferimento maggiorato di 5,5 punti, in ragione d'anno, fino al 40% dei contributi."
            .into(),
        links,
        voto: 0,
    }
}

/// What the fake saw, for the tests to check the pages called the port as expected.
#[derive(Default)]
struct Registro {
    aperture: Vec<String>,
    voti: Vec<(String, i32)>,
    link: Vec<(String, pb::GuidaLink)>,
    cruscotti: Vec<Option<pb::Trimestre>>,
}

/// An in-memory [`Guide`]: only for the page tests (the real one is the application).
struct GuideInMemoria {
    guide: Mutex<HashMap<String, pb::Guida>>,
    registro: Mutex<Registro>,
}

impl GuideInMemoria {
    fn new() -> GuideInMemoria {
        let mut guide = HashMap::new();
        guide.insert(VALIDA.to_string(), guida(VALIDA, "Maria"));
        guide.insert(XSS.to_string(), guida(XSS, "<script>alert('x')</script>"));
        guide.insert(
            SCADUTA.to_string(),
            pb::Guida {
                token: SCADUTA.into(),
                scade_il: ts("2026-04-01T08:00:00Z"),
                scaduta: true,
                ..Default::default()
            },
        );
        GuideInMemoria {
            guide: Mutex::new(guide),
            registro: Mutex::default(),
        }
    }

    fn registro<T>(&self, f: impl FnOnce(&Registro) -> T) -> T {
        f(&self.registro.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn trova(&self, token: &str) -> Result<pb::Guida, AppError> {
        match token {
            GUASTA => {
                return Err(AppError::DatabaseUnavailable(
                    "connection refused 10.0.0.9".into(),
                ));
            }
            INTERNA => return Err(AppError::internal("secret detail 10.0.0.9")),
            _ => {}
        }
        self.guide
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
            .ok_or_else(|| AppError::NotFound("guida".into()))
    }
}

#[tonic::async_trait]
impl Guide for GuideInMemoria {
    async fn apri(&self, token: &str) -> Result<pb::Guida, AppError> {
        let g = self.trova(token)?;
        self.registro
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .aperture
            .push(token.into());
        Ok(g)
    }

    async fn vota(&self, token: &str, voto: i32) -> Result<pb::Guida, AppError> {
        let g = self.trova(token)?;
        if g.scaduta {
            return Err(AppError::precondition(
                "NOT-4",
                "NOT_4_GUIDA_SCADUTA",
                "guide expired",
            ));
        }
        if !(1..=5).contains(&voto) {
            return Err(AppError::invalid("voto", "NOT-4", "NOT_4_VOTO", "1-5"));
        }
        self.registro
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .voti
            .push((token.into(), voto));
        let mut guide = self.guide.lock().unwrap_or_else(|e| e.into_inner());
        let g = guide
            .get_mut(token)
            .ok_or_else(|| AppError::NotFound("guida".into()))?;
        g.voto = voto;
        Ok(g.clone())
    }

    async fn segui(&self, token: &str, link: pb::GuidaLink) -> Result<String, AppError> {
        let g = self.trova(token)?;
        if g.scaduta {
            return Err(AppError::precondition(
                "NOT-4",
                "NOT_4_GUIDA_SCADUTA",
                "guide expired",
            ));
        }
        let url = g
            .links
            .iter()
            .find(|l| l.link() == link)
            .map(|l| l.url.clone())
            .ok_or_else(|| AppError::NotFound("link".into()))?;
        self.registro
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .link
            .push((token.into(), link));
        Ok(url)
    }

    async fn cruscotto(
        &self,
        campagna: pb::TipoCampagna,
        trimestre: Option<pb::Trimestre>,
    ) -> Result<Vec<pb::CampagnaDashboard>, AppError> {
        self.registro
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .cruscotti
            .push(trimestre);
        let riga = |numero: i32, scala: i64| pb::CampagnaDashboard {
            campagna: campagna.into(),
            trimestre: Some(pb::Trimestre { anno: 2026, numero }),
            per_canale: vec![
                pb::ConteggioCanale {
                    channel: pb::Channel::Sms.into(),
                    inviati: 640 * scala,
                    falliti: 12 * scala,
                    saltati: 310 * scala,
                },
                pb::ConteggioCanale {
                    channel: pb::Channel::Email.into(),
                    inviati: 1180 * scala,
                    falliti: 9 * scala,
                    saltati: 95 * scala,
                },
                pb::ConteggioCanale {
                    channel: pb::Channel::AppIo.into(),
                    inviati: 870 * scala,
                    falliti: 0,
                    saltati: 42 * scala,
                },
                pb::ConteggioCanale {
                    channel: pb::Channel::MyinpsInbox.into(),
                    inviati: 1275 * scala,
                    falliti: 0,
                    saltati: 0,
                },
            ],
            guide_aperte: 812 * scala,
            link_seguiti: vec![
                pb::ConteggioLink {
                    link: pb::GuidaLink::PaymentsPortal.into(),
                    numero: 377 * scala,
                },
                pb::ConteggioLink {
                    link: pb::GuidaLink::CassettoPrevidenziale.into(),
                    numero: 121 * scala,
                },
                pb::ConteggioLink {
                    link: pb::GuidaLink::EstrattoConto.into(),
                    numero: 88 * scala,
                },
                pb::ConteggioLink {
                    link: pb::GuidaLink::DomesticServices.into(),
                    numero: 64 * scala,
                },
                pb::ConteggioLink {
                    link: pb::GuidaLink::InpsMobileApp.into(),
                    numero: 45 * scala,
                },
            ],
            valutazioni_numero: 96 * scala,
            valutazioni_media: "4.25".into(),
            aggiornato_il: ts("2026-02-10T09:30:00Z"),
        };
        let tutte = vec![riga(1, 1), riga(2, 2)];
        Ok(match trimestre {
            None => tutte,
            Some(t) => tutte
                .into_iter()
                .filter(|r| r.trimestre.as_ref() == Some(&t))
                .collect(),
        })
    }
}

struct Operatori;

#[tonic::async_trait]
impl VerificaOperatore for Operatori {
    async fn verifica(&self, bearer: &str) -> Result<String, AppError> {
        match bearer {
            OPERATORE => Ok("Operatore di prova (sede di Roma)".into()),
            CITTADINO => Err(AppError::denied(
                "NOT-5",
                "NOT_5_NOT_AN_OPERATOR",
                "not an operator",
            )),
            _ => Err(AppError::Unauthenticated("bad token".into())),
        }
    }
}

/// The router on 127.0.0.1:0, until the returned sender is dropped or fired.
struct Server {
    addr: SocketAddr,
    guide: Arc<GuideInMemoria>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn avvia() -> Result<Server> {
    let guide = Arc::new(GuideInMemoria::new());
    let router = web::router(guide.clone(), Arc::new(Operatori));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, fermo) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(web::serve(listener, router, async move {
        let _ = fermo.await;
    }));
    Ok(Server {
        addr,
        guide,
        _stop: stop,
    })
}

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?)
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn not_4_the_guide_page_is_personal_italian_and_accessible_in_structure() -> Result<()> {
    let s = avvia().await?;
    let c = client()?;
    let r = c.get(s.url(&format!("/guida/{VALIDA}"))).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_eq!(
        r.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert_eq!(
        r.headers().get("referrer-policy").and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    let body = r.text().await?;
    for atteso in [
        "<html lang=\"it\">",
        "Gentile Maria",
        "<strong>Ana</strong>",
        "1° trimestre 2026: da pagare <span class=\"importo\">€ 412,50</span>",
        "2° trimestre 2026: da pagare <span class=\"importo\">€ 1.212,50</span>",
        "<strong>Ion</strong>",
        "(rapporto sospeso)",
        "dal 1° al 10 luglio 2026",
        "comunicazione di variazione o di cessazione",
        "fino al 40% dei contributi",
        "<header class=\"sito\">",
        "<main id=\"contenuto\"",
        "<footer>",
        "href=\"#contenuto\"",
        "<legend>",
        &format!("action=\"/guida/{VALIDA}/voto\""),
        &format!("href=\"/guida/{VALIDA}/link/payments_portal\""),
        &format!("href=\"/guida/{VALIDA}/link/inps_mobile_app\""),
    ] {
        assert!(body.contains(atteso), "missing {atteso:?}");
    }
    assert_eq!(body.matches("<h1>").count(), 1);
    assert_eq!(body.matches("/link/").count(), 5);
    assert!(!body.contains("<script"), "no JavaScript");
    assert!(
        !body.contains("rel=\"stylesheet\"") && !body.contains("src=\""),
        "no external resources"
    );
    assert!(
        !body.contains("servizi.inps.example"),
        "destinations only behind the redirect"
    );
    assert!(
        !body.contains(SCADUTA) && !body.contains(XSS),
        "no other guide's token"
    );
    assert_eq!(s.guide.registro(|r| r.aperture.clone()), vec![VALIDA.to_string()]);
    Ok(())
}

#[tokio::test]
async fn dynamic_text_is_escaped_in_the_served_page() -> Result<()> {
    let s = avvia().await?;
    let body = client()?
        .get(s.url(&format!("/guida/{XSS}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(body.contains("Gentile &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(!body.contains("<script"));
    Ok(())
}

#[tokio::test]
async fn not_4_an_expired_guide_answers_410_with_its_date_and_an_unknown_one_404() -> Result<()> {
    let s = avvia().await?;
    let c = client()?;
    let r = c.get(s.url(&format!("/guida/{SCADUTA}"))).send().await?;
    assert_eq!(r.status(), StatusCode::GONE);
    let body = r.text().await?;
    assert!(body.contains("Questa guida è scaduta"));
    assert!(body.contains("scaduta il 1° aprile 2026"));
    assert!(!body.contains(SCADUTA));

    let r = c.get(s.url("/guida/gd_sconosciuta")).send().await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body = r.text().await?;
    assert!(body.contains("<html lang=\"it\">") && body.contains("Pagina non trovata"));
    assert!(!body.contains("gd_sconosciuta"), "the token is not echoed");

    let r = c.get(s.url("/non/esiste")).send().await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn port_failures_become_503_and_500_without_details() -> Result<()> {
    let s = avvia().await?;
    let c = client()?;
    let r = c.get(s.url(&format!("/guida/{GUASTA}"))).send().await?;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert!(!r.text().await?.contains("10.0.0.9"));
    let r = c.get(s.url(&format!("/guida/{INTERNA}"))).send().await?;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = r.text().await?;
    assert!(!body.contains("secret") && !body.contains("10.0.0.9"));
    assert!(body.contains("Si è verificato un errore"));
    Ok(())
}

#[tokio::test]
async fn not_4_a_rating_redirects_back_with_thanks_and_shows_on_the_guide() -> Result<()> {
    let s = avvia().await?;
    let c = client()?;
    let r = c
        .post(s.url(&format!("/guida/{VALIDA}/voto")))
        .form(&[("voto", "4")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let dove = location(&r);
    assert_eq!(dove, format!("/guida/{VALIDA}?votato=1#valutazione"));
    let body = c.get(s.url(&dove)).send().await?.text().await?;
    assert!(body.contains("Grazie per la tua valutazione"));
    assert!(body.contains("La tua valutazione: <strong>4 su 5</strong>"));
    assert!(body.contains("value=\"4\" required checked"));
    assert_eq!(
        s.guide.registro(|r| r.voti.clone()),
        vec![(VALIDA.to_string(), 4)]
    );
    Ok(())
}

#[tokio::test]
async fn not_4_a_rating_outside_1_to_5_or_missing_is_a_400_page() -> Result<()> {
    let s = avvia().await?;
    let c = client()?;
    let url = s.url(&format!("/guida/{VALIDA}/voto"));
    for form in [
        vec![("voto", "0")],
        vec![("voto", "6")],
        vec![("voto", "tre")],
        vec![],
    ] {
        let r = c.post(&url).form(&form).send().await?;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let body = r.text().await?;
        assert!(body.contains("scegli un voto da 1"), "{form:?}");
        assert!(body.contains("role=\"alert\""));
    }
    // Not even a form.
    let r = c.post(&url).body("voto=3").send().await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(s.guide.registro(|r| r.voti.is_empty()));
    // Expired: 410.
    let r = c
        .post(s.url(&format!("/guida/{SCADUTA}/voto")))
        .form(&[("voto", "5")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::GONE);
    // Unknown: 404.
    let r = c
        .post(s.url("/guida/gd_sconosciuta/voto"))
        .form(&[("voto", "5")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn not_5_a_followed_link_is_recorded_and_redirected_by_name_or_number() -> Result<()> {
    let s = avvia().await?;
    let c = client()?;
    let r = c
        .get(s.url(&format!("/guida/{VALIDA}/link/payments_portal")))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), destinazione(pb::GuidaLink::PaymentsPortal));
    let r = c.get(s.url(&format!("/guida/{VALIDA}/link/5"))).send().await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), destinazione(pb::GuidaLink::InpsMobileApp));
    assert_eq!(
        s.guide.registro(|r| r.link.clone()),
        vec![
            (VALIDA.to_string(), pb::GuidaLink::PaymentsPortal),
            (VALIDA.to_string(), pb::GuidaLink::InpsMobileApp)
        ]
    );
    for bad in ["unspecified", "0", "9", "altro"] {
        let r = c
            .get(s.url(&format!("/guida/{VALIDA}/link/{bad}")))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let r = c
        .get(s.url(&format!("/guida/{SCADUTA}/link/payments_portal")))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(s.guide.registro(|r| r.link.len()), 2);
    Ok(())
}

#[tokio::test]
async fn not_5_the_dashboard_is_for_operators_only() -> Result<()> {
    let s = avvia().await?;
    let c = client()?;
    let url = s.url("/cruscotto?campagna=lavoro_domestico&anno=2026&trimestre=1");

    // No token: 401 with an accessible login form.
    let r = c.get(&url).send().await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let body = r.text().await?;
    assert!(body.contains("<label class=\"campo\" for=\"token\">"));
    assert!(body.contains("<input type=\"password\" id=\"token\" name=\"token\""));
    assert!(body.contains("<button type=\"submit\">Accedi</button>"));
    assert!(!body.contains("Guide aperte"));

    // A bad token, and a valid one that is not an operator's.
    let r = c.get(&url).bearer_auth("sbagliato").send().await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await?.contains("non è valido"));
    let r = c.get(&url).bearer_auth(CITTADINO).send().await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        s.guide.registro(|r| r.cruscotti.is_empty()),
        "nothing read before access"
    );

    // Bearer header.
    let r = c.get(&url).bearer_auth(OPERATORE).send().await?;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await?;
    for atteso in [
        "Operatore di prova (sede di Roma)",
        "<h2 id=\"q0\">1° trimestre 2026</h2>",
        "<tr><th scope=\"row\">SMS</th><td class=\"n\">640</td><td class=\"n\">12</td><td class=\"n\">310</td></tr>",
        "<tr><th scope=\"row\">E-mail</th><td class=\"n\">1.180</td>",
        "<th scope=\"row\">Guide aperte</th><td class=\"n\">812</td>",
        "<th scope=\"row\">Portale dei pagamenti</th><td class=\"n\">377</td>",
        "<th scope=\"row\">Valutazioni ricevute</th><td class=\"n\">96</td>",
        "4,25 su 5",
        "role=\"img\"",
        "<title id=\"q0-canali-t\">",
    ] {
        assert!(body.contains(atteso), "missing {atteso:?}");
    }
    assert!(!body.contains("2° trimestre 2026"));
    assert_eq!(
        s.guide.registro(|r| r.cruscotti.clone()),
        vec![Some(pb::Trimestre {
            anno: 2026,
            numero: 1
        })]
    );

    // Login form → cookie → dashboard with every quarter.
    let r = c
        .post(s.url("/cruscotto/accesso"))
        .form(&[("token", OPERATORE), ("campagna", "lavoro_domestico")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/cruscotto?campagna=lavoro_domestico");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        cookie.starts_with(&format!("occasionali_token={OPERATORE};")),
        "{cookie}"
    );
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/cruscotto"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let r = c
        .get(s.url("/cruscotto?campagna=lavoro_domestico"))
        .header("cookie", format!("occasionali_token={OPERATORE}"))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await?;
    assert!(body.contains("1° trimestre 2026") && body.contains("2° trimestre 2026"));
    assert_eq!(body.matches("<svg ").count(), 4);

    // A wrong token in the login form: 401 and no cookie.
    let r = c
        .post(s.url("/cruscotto/accesso"))
        .form(&[("token", "sbagliato")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!r.headers().contains_key("set-cookie"));

    // Logout clears the cookie.
    let r = c.post(s.url("/cruscotto/uscita")).send().await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(cookie.contains("Max-Age=0"));

    // A bad filter is a 400 page; live mode refreshes.
    let r = c
        .get(s.url("/cruscotto?campagna=lavoro_domestico&anno=2026&trimestre=7"))
        .bearer_auth(OPERATORE)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await?.contains("da 1 a 4"));
    let r = c
        .get(s.url("/cruscotto?campagna=lavoro_domestico&live=1"))
        .bearer_auth(OPERATORE)
        .send()
        .await?;
    assert!(
        r.text()
            .await?
            .contains("<meta http-equiv=\"refresh\" content=\"30\">")
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Real browser: headless system Chromium driven by puppeteer-core, axe-core for WCAG 2.1 AA.

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The browser tools, or why they are missing and how to install them.
fn strumenti_browser() -> Result<()> {
    let chromium = std::env::var("OCCASIONALI_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    ensure!(
        Path::new(&chromium).exists(),
        "browser test: {chromium} is missing: install it with `apt-get install -y chromium` \
(tests/run does it), or set OCCASIONALI_SKIP_BROWSER=1 to skip this test"
    );
    let node = std::process::Command::new("node").arg("--version").output();
    ensure!(
        node.is_ok_and(|o| o.status.success()),
        "browser test: node is missing: install it with `apt-get install -y nodejs npm`, \
or set OCCASIONALI_SKIP_BROWSER=1 to skip this test"
    );
    let dir = browser_dir();
    for m in ["puppeteer-core", "axe-core"] {
        ensure!(
            dir.join("node_modules").join(m).exists(),
            "browser test: the node module {m} is missing: run `npm ci --prefix {}` \
(tests/run does it), or set OCCASIONALI_SKIP_BROWSER=1 to skip this test",
            dir.display()
        );
    }
    Ok(())
}

#[tokio::test]
async fn browser_guide_and_dashboard_work_in_chromium_and_pass_axe_wcag_21_aa() -> Result<()> {
    if std::env::var("OCCASIONALI_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("browser test skipped: OCCASIONALI_SKIP_BROWSER=1");
        return Ok(());
    }
    strumenti_browser()?;
    let s = avvia().await?;
    let screenshots = std::env::var("OCCASIONALI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"));
    std::fs::create_dir_all(&screenshots)?;
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(browser_dir())
        .arg("check.mjs")
        .arg("--guida")
        .arg(s.url(&format!("/guida/{VALIDA}")))
        .arg("--scaduta")
        .arg(s.url(&format!("/guida/{SCADUTA}")))
        .arg("--cruscotto")
        .arg(s.url("/cruscotto?campagna=lavoro_domestico"))
        .arg("--token")
        .arg(OPERATORE)
        .arg("--destinazione")
        .arg(destinazione(pb::GuidaLink::PaymentsPortal))
        .arg("--screenshots")
        .arg(&screenshots)
        .args(["--testo-guida", "Gentile Maria"])
        .args(["--testo-guida", "Ana"])
        .args(["--testo-guida", "1° trimestre 2026: da pagare € 412,50"])
        .args(["--testo-guida", "dal 1° al 10 luglio 2026"])
        .args(["--testo-cruscotto", "Operatore di prova"])
        .args(["--testo-cruscotto", "Guide aperte"])
        .args(["--testo-cruscotto", "1° trimestre 2026"])
        .env(
            "OCCASIONALI_CHROMIUM",
            std::env::var("OCCASIONALI_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into()),
        )
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .context("browser test: check.mjs ran over 90 s")?
        .context("browser test: cannot run node")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    if !out.status.success() {
        bail!("browser test failed ({}):\n{stdout}\n{stderr}", out.status);
    }
    // The browser went through the real routes: the click and the rating reached the port.
    assert!(
        s.guide
            .registro(|r| r.link.clone())
            .contains(&(VALIDA.to_string(), pb::GuidaLink::PaymentsPortal))
    );
    assert_eq!(
        s.guide.registro(|r| r.voti.clone()),
        vec![(VALIDA.to_string(), 4)]
    );
    for f in ["guida.png", "cruscotto.png"] {
        let len = std::fs::metadata(screenshots.join(f))?.len();
        assert!(len > 10_000, "{f}: {len} bytes");
    }
    Ok(())
}
