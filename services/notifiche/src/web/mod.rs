//! The guide and dashboard web pages (NOT-4, NOT-5), served over HTTP on their own port.
//! The pages only render what the application answers; every rule lives behind [`Guide`].
//!
//! Routes (server-rendered HTML, Italian, no JavaScript, inline CSS only):
//! - `GET  /guida/{token}`: the personalised guide; 410 when expired, 404 when unknown.
//! - `POST /guida/{token}/voto` (form `voto=1..5`): 303 to `/guida/{token}?votato=1#valutazione`.
//! - `GET  /guida/{token}/link/{link}`: records the click and answers 303 to the service. `link`
//!   is the GuidaLink name without `GUIDA_LINK_` in lowercase (`payments_portal`,
//!   `cassetto_previdenziale`, `estratto_conto`, `domestic_services`, `inps_mobile_app`), as
//!   the page writes it; the enum number (`1`..`5`) is accepted too.
//! - `GET  /cruscotto?campagna=lavoro_domestico[&anno=2026][&trimestre=1][&live=1]`: the
//!   operators' dashboard; the bearer comes from `Authorization: Bearer …` or the
//!   `occasionali_token` cookie, else 401 with a login form.
//! - `POST /cruscotto/accesso` (form `token`): checks the token and sets the cookie
//!   (HttpOnly, SameSite=Strict, Path=/cruscotto); `POST /cruscotto/uscita` clears it.

mod cruscotto;
mod guida;
mod html;

mod operatori;
pub use operatori::TokenOperatore;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use occasionali_proto::notifiche as pb;
use occasionali_runtime::AppError;
use tonic::Code;

pub use cruscotto::{Filtro, render_accesso, render_cruscotto};
pub use guida::{Avviso, link_da_segmento, link_segmento, render_guida, render_guida_con, render_scaduta};
pub use html::esc;

/// What the pages need from the application.
#[tonic::async_trait]
pub trait Guide: Send + Sync + 'static {
    /// The guide behind a token, recording an opening (NOT-5); expired after six months
    /// (only token, scade_il and scaduta set, NOT-4). NOT_FOUND for an unknown token.
    async fn apri(&self, token: &str) -> Result<pb::Guida, AppError>;
    /// Rates a guide 1-5 (NOT-4); INVALID_ARGUMENT outside 1-5, FAILED_PRECONDITION when expired.
    async fn vota(&self, token: &str, voto: i32) -> Result<pb::Guida, AppError>;
    /// Records a followed link (NOT-5) and answers where to redirect.
    async fn segui(&self, token: &str, link: pb::GuidaLink) -> Result<String, AppError>;
    /// The dashboard rows (NOT-5), all quarters when `trimestre` is None.
    async fn cruscotto(
        &self,
        campagna: pb::TipoCampagna,
        trimestre: Option<pb::Trimestre>,
    ) -> Result<Vec<pb::CampagnaDashboard>, AppError>;
}

/// Who may see the dashboard (NOT-5): operators only.
#[tonic::async_trait]
pub trait VerificaOperatore: Send + Sync {
    /// The operator's display label (never a codice fiscale) for a valid operator bearer token;
    /// UNAUTHENTICATED for a bad or expired token, PERMISSION_DENIED for a non-operator.
    async fn verifica(&self, bearer: &str) -> Result<String, AppError>;
}

/// The dashboard's session cookie: the operator's bearer token, HttpOnly, SameSite=Strict.
pub const COOKIE_TOKEN: &str = "occasionali_token";

/// Prefix of every link the pages write; the router serves at the root.
const BASE: &str = "";

#[derive(Clone)]
struct Stato {
    guide: Arc<dyn Guide>,
    verifica: Arc<dyn VerificaOperatore>,
}

/// The pages' router.
pub fn router(guide: Arc<dyn Guide>, verifica: Arc<dyn VerificaOperatore>) -> Router {
    Router::new()
        .route("/guida/{token}", get(apri_guida))
        .route("/guida/{token}/voto", post(vota_guida))
        .route("/guida/{token}/link/{link}", get(segui_link))
        .route("/cruscotto", get(mostra_cruscotto))
        .route("/cruscotto/accesso", post(accedi))
        .route("/cruscotto/uscita", post(esci))
        .fallback(non_trovata)
        .layer(axum::middleware::map_response(intestazioni_sicurezza))
        .with_state(Stato { guide, verifica })
}

/// Serves the pages until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Personal pages: never cached, never indexed, never framed, no referrer to the services the
/// guide links to (the token is in the URL), nothing but inline styles.
async fn intestazioni_sicurezza(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

fn pagina(status: StatusCode, corpo: String) -> Response {
    (status, Html(corpo)).into_response()
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => errore(&AppError::internal("redirect location is not a header value"), ""),
    }
}

const INTESTAZIONE_GUIDA: &str = "Contributi lavoro domestico";

/// The one mapping from the port's errors to HTTP pages: INVALID_ARGUMENT 400 (with
/// `messaggio_400`, the Italian explanation of the route's input), NOT_FOUND 404,
/// FAILED_PRECONDITION 410 (the only precondition behind these pages is a guide's expiry,
/// NOT-4), UNAUTHENTICATED 401, PERMISSION_DENIED 403, UNAVAILABLE 503, anything else 500
/// without details (the cause goes to the log).
fn errore(e: &AppError, messaggio_400: &str) -> Response {
    let (status, titolo, testo): (StatusCode, &str, String) = match e.code() {
        Code::InvalidArgument => (
            StatusCode::BAD_REQUEST,
            "Richiesta non valida",
            if messaggio_400.is_empty() {
                "I dati inviati non sono validi.".into()
            } else {
                messaggio_400.into()
            },
        ),
        Code::NotFound => (
            StatusCode::NOT_FOUND,
            "Pagina non trovata",
            "La guida o la pagina richiesta non esiste. Controlla di aver copiato il link completo \
dal messaggio ricevuto."
                .into(),
        ),
        Code::FailedPrecondition => (
            StatusCode::GONE,
            "Questa guida è scaduta",
            "La guida è rimasta disponibile per sei mesi dall'invio e ora è scaduta.".into(),
        ),
        Code::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "Accesso richiesto",
            "Per vedere questa pagina devi accedere.".into(),
        ),
        Code::PermissionDenied => (
            StatusCode::FORBIDDEN,
            "Accesso non consentito",
            "Non hai i permessi per vedere questa pagina.".into(),
        ),
        Code::Unavailable => {
            tracing::warn!(error = %e, "web page: service unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Servizio momentaneamente non disponibile",
                "Il servizio non è disponibile in questo momento. Riprova tra qualche minuto.".into(),
            )
        }
        _ => {
            tracing::error!(error = %e, "web page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Si è verificato un errore",
                "Non è stato possibile mostrare la pagina. Riprova più tardi.".into(),
            )
        }
    };
    let mut r = pagina(
        status,
        html::pagina_messaggio(INTESTAZIONE_GUIDA, titolo, &format!("<p>{}</p>", esc(&testo))),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    r
}

async fn non_trovata() -> Response {
    errore(&AppError::NotFound("page".into()), "")
}

async fn apri_guida(
    State(s): State<Stato>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let g = match s.guide.apri(&token).await {
        Ok(g) => g,
        Err(e) => return errore(&e, ""),
    };
    // The page writes the guide's token into its links: it must be the one asked for.
    if g.token != token {
        return errore(&AppError::internal("the guide answered has another token"), "");
    }
    if g.scaduta {
        return pagina(StatusCode::GONE, render_scaduta(&g));
    }
    let avviso = if q.get("votato").is_some_and(|v| v == "1") {
        Avviso::Grazie
    } else {
        Avviso::Nessuno
    };
    pagina(StatusCode::OK, render_guida_con(&g, BASE, avviso))
}

const VOTO_NON_VALIDO: &str = "Per valutare la guida scegli un voto da 1 (per niente utile) a 5 (molto utile) e premi «Invia la valutazione».";

/// A rating as the form sends it: an integer 1-5 (NOT-4).
fn voto_dal_form(form: Result<Form<HashMap<String, String>>, FormRejection>) -> Option<i32> {
    let Form(campi) = form.ok()?;
    let v: i32 = campi.get("voto")?.trim().parse().ok()?;
    (1..=5).contains(&v).then_some(v)
}

fn pagina_voto_non_valido(token: &str) -> Response {
    pagina(
        StatusCode::BAD_REQUEST,
        html::pagina_messaggio(
            INTESTAZIONE_GUIDA,
            "Valutazione non valida",
            &format!(
                "<div class=\"errore\" role=\"alert\"><p>{}</p></div>\n<p><a href=\"{}#valutazione\">Torna \
alla guida</a></p>",
                esc(VOTO_NON_VALIDO),
                esc(&guida::url_guida(BASE, token))
            ),
        ),
    )
}

async fn vota_guida(
    State(s): State<Stato>,
    Path(token): Path<String>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Some(voto) = voto_dal_form(form) else {
        return pagina_voto_non_valido(&token);
    };
    match s.guide.vota(&token, voto).await {
        Ok(_) => redirect(&format!(
            "{}?votato=1#valutazione",
            guida::url_guida(BASE, &token)
        )),
        Err(e) if e.code() == Code::InvalidArgument => pagina_voto_non_valido(&token),
        Err(e) => errore(&e, VOTO_NON_VALIDO),
    }
}

async fn segui_link(State(s): State<Stato>, Path((token, link)): Path<(String, String)>) -> Response {
    let Some(link) = link_da_segmento(&link) else {
        return errore(&AppError::NotFound("link".into()), "");
    };
    match s.guide.segui(&token, link).await {
        // Only web addresses: a bad one from the application must not become a redirect
        // to a script or another scheme.
        Ok(url) if url.starts_with("https://") || url.starts_with("http://") => redirect(&url),
        Ok(_) => errore(&AppError::internal("link destination is not an http(s) url"), ""),
        Err(e) => errore(&e, ""),
    }
}

/// The dashboard's query; every field optional, parsed here into a [`Filtro`].
fn filtro_da_query(q: &HashMap<String, String>) -> Result<Filtro, &'static str> {
    let campagna = match q.get("campagna").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => pb::TipoCampagna::LavoroDomestico,
        Some(c) => cruscotto::campagna_da_segmento(c).ok_or("La campagna indicata non esiste.")?,
    };
    let anno = match q.get("anno").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(a) => Some(
            a.parse::<i32>()
                .ok()
                .filter(|a| (2000..=2100).contains(a))
                .ok_or("L'anno deve essere di quattro cifre, per esempio 2026.")?,
        ),
    };
    let trimestre = match q.get("trimestre").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(
            t.parse::<i32>()
                .ok()
                .filter(|t| (1..=4).contains(t))
                .ok_or("Il trimestre deve essere un numero da 1 a 4.")?,
        ),
    };
    if trimestre.is_some() && anno.is_none() {
        return Err("Per scegliere un trimestre indica anche l'anno.");
    }
    Ok(Filtro {
        campagna,
        anno,
        trimestre,
        live: q.get("live").is_some_and(|v| v == "1"),
    })
}

/// The bearer of a request: `Authorization: Bearer …` first, then the session cookie.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let da_header = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (schema, token) = v.trim().split_once(' ')?;
            schema
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    da_header.filter(|t| !t.is_empty()).or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                let (nome, valore) = c.trim().split_once('=')?;
                (nome == COOKIE_TOKEN && !valore.is_empty()).then(|| valore.to_string())
            })
    })
}

/// The login page with the status the refusal deserves.
fn accesso_negato(e: Option<&AppError>, filtro: &Filtro) -> Response {
    let (status, messaggio) = match e {
        None => (StatusCode::UNAUTHORIZED, None),
        Some(e) => match e.code() {
            Code::Unauthenticated | Code::InvalidArgument | Code::NotFound => (
                StatusCode::UNAUTHORIZED,
                Some("Il token non è valido o è scaduto. Inseriscine uno valido."),
            ),
            Code::PermissionDenied => (
                StatusCode::FORBIDDEN,
                Some("Il token non appartiene a un operatore INPS: il cruscotto è riservato agli operatori."),
            ),
            _ => return errore(e, ""),
        },
    };
    let mut r = pagina(status, render_accesso(messaggio, filtro));
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"occasionali-cruscotto\""),
    );
    r
}

async fn mostra_cruscotto(
    State(s): State<Stato>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let filtro = match filtro_da_query(&q) {
        Ok(f) => f,
        Err(m) => return errore(&AppError::invalid("query", "NOT-5", "BAD_FILTER", m), m),
    };
    let Some(token) = bearer(&headers) else {
        return accesso_negato(None, &filtro);
    };
    let operatore = match s.verifica.verifica(&token).await {
        Ok(o) => o,
        Err(e) => return accesso_negato(Some(&e), &filtro),
    };
    let trimestre = filtro
        .trimestre
        .zip(filtro.anno)
        .map(|(numero, anno)| pb::Trimestre { anno, numero });
    match s.guide.cruscotto(filtro.campagna, trimestre).await {
        Ok(mut righe) => {
            if let Some(anno) = filtro.anno {
                righe.retain(|r| r.trimestre.as_ref().is_some_and(|t| t.anno == anno));
            }
            pagina(StatusCode::OK, render_cruscotto(&righe, &filtro, &operatore))
        }
        Err(e) => errore(&e, "Campagna o trimestre non validi."),
    }
}

/// Cookie values may only hold RFC 6265 cookie-octets; a token with others cannot be stored.
fn valore_cookie_valido(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

async fn accedi(
    State(s): State<Stato>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let campi = form.map(|Form(c)| c).unwrap_or_default();
    let filtro = filtro_da_query(&campi).unwrap_or(Filtro {
        campagna: pb::TipoCampagna::LavoroDomestico,
        anno: None,
        trimestre: None,
        live: false,
    });
    let token = campi.get("token").map(|t| t.trim()).unwrap_or_default();
    if !valore_cookie_valido(token) {
        return accesso_negato(Some(&AppError::Unauthenticated("bad token".into())), &filtro);
    }
    if let Err(e) = s.verifica.verifica(token).await {
        return accesso_negato(Some(&e), &filtro);
    }
    let mut r = redirect(&format!("/cruscotto{}", filtro.query(false)));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE_TOKEN}={token}; Path=/cruscotto; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn esci() -> Response {
    let mut r = redirect("/cruscotto");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("occasionali_token=; Path=/cruscotto; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_comes_from_the_header_then_the_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; occasionali_token=tok.c; b=2"),
        );
        assert_eq!(bearer(&h).as_deref(), Some("tok.c"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok.h"));
        assert_eq!(bearer(&h).as_deref(), Some("tok.h"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic eDp5"));
        assert_eq!(bearer(&h).as_deref(), Some("tok.c"));
    }

    #[test]
    fn errors_map_to_http_statuses_without_details() {
        let cases = [
            (
                AppError::invalid("voto", "NOT-4", "NOT_4_VOTO", "x"),
                StatusCode::BAD_REQUEST,
            ),
            (AppError::NotFound("guida".into()), StatusCode::NOT_FOUND),
            (
                AppError::precondition("NOT-4", "NOT_4_GUIDA_SCADUTA", "expired"),
                StatusCode::GONE,
            ),
            (
                AppError::Unavailable("db".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                AppError::DatabaseUnavailable("db".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                AppError::internal("secret 10.0.0.1"),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                AppError::aborted("X", "X", "secret conflict"),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (e, status) in cases {
            let r = errore(&e, "");
            assert_eq!(r.status(), status, "{e}");
        }
    }

    #[test]
    fn the_dashboard_filter_is_parsed_once() {
        let q = |pairs: &[(&str, &str)]| {
            filtro_da_query(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(
            q(&[]),
            Ok(Filtro {
                campagna: pb::TipoCampagna::LavoroDomestico,
                anno: None,
                trimestre: None,
                live: false
            })
        );
        assert_eq!(
            q(&[
                ("campagna", "lavoro_domestico"),
                ("anno", "2026"),
                ("trimestre", "1"),
                ("live", "1")
            ])
            .map(|f| (f.anno, f.trimestre, f.live)),
            Ok((Some(2026), Some(1), true))
        );
        assert!(q(&[("campagna", "altro")]).is_err());
        assert!(q(&[("anno", "2026"), ("trimestre", "5")]).is_err());
        assert!(q(&[("trimestre", "1")]).is_err());
        assert!(q(&[("anno", "26")]).is_err());
    }

    #[test]
    fn only_cookie_safe_tokens_become_cookies() {
        assert!(valore_cookie_valido("eyJhbGciOi.eyJzdWIi.sig-_"));
        assert!(!valore_cookie_valido("a;b"));
        assert!(!valore_cookie_valido("a b"));
        assert!(!valore_cookie_valido(""));
    }
}
