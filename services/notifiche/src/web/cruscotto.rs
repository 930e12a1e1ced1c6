//! The operators' campaign dashboard (NOT-5): per campaign and quarter, notices per channel,
//! guides opened, links followed per service, ratings. Every chart is server-rendered SVG with
//! an accessible name, and its numbers are repeated in a table right after it.

use std::fmt::Write as _;

use occasionali_proto::notifiche as pb;

use super::html::{self, Pagina, esc};

const INTESTAZIONE: &str = "Cruscotto delle campagne";

/// The seconds between refreshes when the operator turns the live view on. Off by default:
/// a page that reloads by itself must be under the reader's control (WCAG 2.2.1).
pub const REFRESH_SECONDI: u32 = 30;

/// The query value of a campaign: its enum name without `TIPO_CAMPAGNA_`, lowercase
/// (`lavoro_domestico`).
pub fn campagna_segmento(c: pb::TipoCampagna) -> String {
    c.as_str_name()
        .strip_prefix("TIPO_CAMPAGNA_")
        .unwrap_or_default()
        .to_ascii_lowercase()
}

pub fn campagna_da_segmento(s: &str) -> Option<pb::TipoCampagna> {
    let c = pb::TipoCampagna::from_str_name(&format!("TIPO_CAMPAGNA_{}", s.to_ascii_uppercase()))?;
    (c != pb::TipoCampagna::Unspecified).then_some(c)
}

fn campagna_nome(c: pb::TipoCampagna) -> &'static str {
    match c {
        pb::TipoCampagna::LavoroDomestico => "Contributi lavoro domestico",
        pb::TipoCampagna::Unspecified => "Campagna",
    }
}

fn canale_nome(c: pb::Channel) -> &'static str {
    match c {
        pb::Channel::Sms => "SMS",
        pb::Channel::Email => "E-mail",
        pb::Channel::AppIo => "App IO",
        pb::Channel::MyinpsInbox => "Casella MyINPS",
        pb::Channel::Unspecified => "Altro",
    }
}

fn link_nome(l: pb::GuidaLink) -> &'static str {
    match l {
        pb::GuidaLink::PaymentsPortal => "Portale dei pagamenti",
        pb::GuidaLink::CassettoPrevidenziale => "Cassetto previdenziale",
        pb::GuidaLink::EstrattoConto => "Estratto conto",
        pb::GuidaLink::DomesticServices => "Servizi lavoro domestico",
        pb::GuidaLink::InpsMobileApp => "App INPS Mobile",
        pb::GuidaLink::Unspecified => "Altro",
    }
}

const CANALI: [pb::Channel; 4] = [
    pb::Channel::Sms,
    pb::Channel::Email,
    pb::Channel::AppIo,
    pb::Channel::MyinpsInbox,
];

const LINK: [pb::GuidaLink; 5] = [
    pb::GuidaLink::PaymentsPortal,
    pb::GuidaLink::CassettoPrevidenziale,
    pb::GuidaLink::EstrattoConto,
    pb::GuidaLink::DomesticServices,
    pb::GuidaLink::InpsMobileApp,
];

/// What the operator asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filtro {
    pub campagna: pb::TipoCampagna,
    pub anno: Option<i32>,
    pub trimestre: Option<i32>,
    pub live: bool,
}

impl Filtro {
    /// The query string of this filter ("?campagna=…"), `live` as asked.
    pub fn query(&self, live: bool) -> String {
        let mut q = format!("?campagna={}", campagna_segmento(self.campagna));
        if let Some(a) = self.anno {
            let _ = write!(q, "&anno={a}");
        }
        if let Some(t) = self.trimestre {
            let _ = write!(q, "&trimestre={t}");
        }
        if live {
            q.push_str("&live=1");
        }
        q
    }
}

/// One series of a bar chart.
struct Serie<'a> {
    nome: &'a str,
    /// Fill; each at least 3:1 against white (WCAG 1.4.11).
    colore: &'a str,
    valori: Vec<i64>,
}

/// A horizontal grouped bar chart as inline SVG, named by `titolo` (title + aria-label) and
/// described in words; `id` must be unique in the page.
fn grafico(id: &str, titolo: &str, categorie: &[&str], serie: &[Serie<'_>]) -> String {
    const ETICHETTE: i64 = 180;
    const AREA: i64 = 300;
    const BARRA: i64 = 16;
    const GRUPPO_SPAZIO: i64 = 12;
    let legenda_h: i64 = if serie.len() > 1 { 28 } else { 0 };
    let n_serie = i64::try_from(serie.len()).unwrap_or(1).max(1);
    let gruppo = n_serie * BARRA + GRUPPO_SPAZIO;
    let n_cat = i64::try_from(categorie.len()).unwrap_or(0);
    let altezza = legenda_h + n_cat * gruppo + 8;
    let larghezza = ETICHETTE + AREA + 70;
    let max = serie
        .iter()
        .flat_map(|s| s.valori.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);

    let descrizione: Vec<String> = categorie
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let valori: Vec<String> = serie
                .iter()
                .map(|s| format!("{} {}", s.nome, s.valori.get(i).copied().unwrap_or(0)))
                .collect();
            format!("{c}: {}", valori.join(", "))
        })
        .collect();
    let etichetta = format!("{titolo}. {}.", descrizione.join("; "));

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{larghezza}\" height=\"{altezza}\" \
viewBox=\"0 0 {larghezza} {altezza}\" aria-label=\"{}\" aria-labelledby=\"{id}-t\">\n\
<title id=\"{id}-t\">{}</title>\n",
        esc(&etichetta),
        esc(&etichetta)
    );
    if serie.len() > 1 {
        let mut x = ETICHETTE;
        for se in serie {
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"6\" width=\"14\" height=\"14\" fill=\"{}\"/>\
<text x=\"{}\" y=\"18\" font-size=\"13\" fill=\"#1a1a1a\">{}</text>",
                se.colore,
                x + 20,
                esc(se.nome)
            );
            x += 20 + 9 * i64::try_from(se.nome.chars().count()).unwrap_or(8) + 24;
        }
    }
    for (i, c) in categorie.iter().enumerate() {
        let y0 = legenda_h + i64::try_from(i).unwrap_or(0) * gruppo;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\" fill=\"#1a1a1a\">{}</text>",
            ETICHETTE - 8,
            y0 + (n_serie * BARRA) / 2 + 5,
            esc(c)
        );
        for (j, se) in serie.iter().enumerate() {
            let v = se.valori.get(i).copied().unwrap_or(0).max(0);
            let w = v * AREA / max;
            let y = y0 + i64::try_from(j).unwrap_or(0) * BARRA;
            let _ = writeln!(
                s,
                "<rect x=\"{ETICHETTE}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"/>\
<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#1a1a1a\">{}</text>",
                BARRA - 2,
                se.colore,
                ETICHETTE + w + 6,
                y + BARRA - 4,
                html::numero(v)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn conteggio_canale(r: &pb::CampagnaDashboard, c: pb::Channel) -> pb::ConteggioCanale {
    r.per_canale
        .iter()
        .filter(|x| x.channel() == c)
        .fold(pb::ConteggioCanale::default(), |acc, x| pb::ConteggioCanale {
            channel: c.into(),
            inviati: acc.inviati + x.inviati,
            falliti: acc.falliti + x.falliti,
            saltati: acc.saltati + x.saltati,
        })
}

fn conteggio_link(r: &pb::CampagnaDashboard, l: pb::GuidaLink) -> i64 {
    r.link_seguiti
        .iter()
        .filter(|x| x.link() == l)
        .map(|x| x.numero)
        .sum()
}

fn sezione(c: &mut String, i: usize, r: &pb::CampagnaDashboard) {
    let quando = r
        .trimestre
        .as_ref()
        .map(html::trimestre)
        .unwrap_or_else(|| "Trimestre non indicato".into());
    let quando_testo = quando;
    let quando = esc(&quando_testo);
    let id = format!("q{i}");
    let _ = writeln!(
        c,
        "<section aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">{quando}</h2>"
    );
    if let Some(agg) = html::data_ora_di(r.aggiornato_il.as_ref()) {
        let _ = writeln!(c, "<p>Dati aggiornati al {}.</p>", esc(&agg));
    }

    // Notices per channel.
    let canali: Vec<pb::ConteggioCanale> = CANALI.iter().map(|&k| conteggio_canale(r, k)).collect();
    let _ = writeln!(c, "<h3>Avvisi per canale</h3>");
    let nomi: Vec<&str> = CANALI.iter().map(|&k| canale_nome(k)).collect();
    c.push_str(&grafico(
        &format!("{id}-canali"),
        &format!("Avvisi per canale, {quando_testo}"),
        &nomi,
        &[
            Serie {
                nome: "inviati",
                colore: "#0059b3",
                valori: canali.iter().map(|k| k.inviati).collect(),
            },
            Serie {
                nome: "falliti",
                colore: "#b30000",
                valori: canali.iter().map(|k| k.falliti).collect(),
            },
            Serie {
                nome: "saltati",
                colore: "#5c5c5c",
                valori: canali.iter().map(|k| k.saltati).collect(),
            },
        ],
    ));
    let _ = writeln!(
        c,
        "<table>\n<caption>Avvisi per canale, {quando}</caption>\n<thead><tr><th scope=\"col\">Canale</th>\
<th scope=\"col\" class=\"n\">Inviati</th><th scope=\"col\" class=\"n\">Falliti</th>\
<th scope=\"col\" class=\"n\">Saltati (senza consenso o recapito)</th></tr></thead>\n<tbody>"
    );
    for (k, nome) in canali.iter().zip(&nomi) {
        let _ = writeln!(
            c,
            "<tr><th scope=\"row\">{nome}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            html::numero(k.inviati),
            html::numero(k.falliti),
            html::numero(k.saltati)
        );
    }
    let tot = |f: fn(&pb::ConteggioCanale) -> i64| html::numero(canali.iter().map(f).sum());
    let _ = writeln!(
        c,
        "</tbody>\n<tfoot><tr><th scope=\"row\">Totale</th><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td></tr></tfoot>\n</table>",
        tot(|k| k.inviati),
        tot(|k| k.falliti),
        tot(|k| k.saltati)
    );

    // Guides opened and ratings.
    let media = if r.valutazioni_numero > 0 && !r.valutazioni_media.is_empty() {
        format!("{} su 5", esc(&html::decimale(&r.valutazioni_media)))
    } else {
        "nessuna valutazione".into()
    };
    let _ = writeln!(
        c,
        "<h3>Guide aperte e valutazioni</h3>\n<table>\n<caption>Guide e valutazioni, {quando}</caption>\n\
<tbody>\n<tr><th scope=\"row\">Guide aperte</th><td class=\"n\">{}</td></tr>\n\
<tr><th scope=\"row\">Valutazioni ricevute</th><td class=\"n\">{}</td></tr>\n\
<tr><th scope=\"row\">Valutazione media</th><td class=\"n\">{media}</td></tr>\n</tbody>\n</table>",
        html::numero(r.guide_aperte),
        html::numero(r.valutazioni_numero)
    );

    // Links followed per service.
    let _ = writeln!(c, "<h3>Link seguiti per servizio</h3>");
    let nomi_link: Vec<&str> = LINK.iter().map(|&l| link_nome(l)).collect();
    let valori: Vec<i64> = LINK.iter().map(|&l| conteggio_link(r, l)).collect();
    c.push_str(&grafico(
        &format!("{id}-link"),
        &format!("Link seguiti per servizio, {quando_testo}"),
        &nomi_link,
        &[Serie {
            nome: "link seguiti",
            colore: "#0059b3",
            valori: valori.clone(),
        }],
    ));
    let _ = writeln!(
        c,
        "<table>\n<caption>Link seguiti per servizio, {quando}</caption>\n<thead><tr>\
<th scope=\"col\">Servizio</th><th scope=\"col\" class=\"n\">Link seguiti</th></tr></thead>\n<tbody>"
    );
    for (nome, v) in nomi_link.iter().zip(&valori) {
        let _ = writeln!(
            c,
            "<tr><th scope=\"row\">{nome}</th><td class=\"n\">{}</td></tr>",
            html::numero(*v)
        );
    }
    let _ = writeln!(c, "</tbody>\n</table>\n</section>");
}

/// The dashboard page for the rows the port answered; `operatore` is a label (never a CF).
pub fn render_cruscotto(righe: &[pb::CampagnaDashboard], filtro: &Filtro, operatore: &str) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "<h1>Campagna «{}»</h1>", esc(campagna_nome(filtro.campagna)));
    // Filters: a GET form, labelled fields.
    let trimestri: String = (1..=4)
        .map(|t| {
            let sel = if filtro.trimestre == Some(t) {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{t}\"{sel}>{t}° trimestre</option>")
        })
        .collect();
    let tutti = if filtro.trimestre.is_none() {
        " selected"
    } else {
        ""
    };
    let _ = writeln!(
        c,
        "<form class=\"filtri\" method=\"get\" action=\"/cruscotto\">\n\
<input type=\"hidden\" name=\"campagna\" value=\"{}\">\n\
<div><label for=\"anno\">Anno</label><input type=\"text\" inputmode=\"numeric\" id=\"anno\" name=\"anno\" \
value=\"{}\" pattern=\"[0-9]{{4}}\"></div>\n\
<div><label for=\"trimestre\">Trimestre</label><select id=\"trimestre\" name=\"trimestre\">\
<option value=\"\"{tutti}>Tutti</option>{trimestri}</select></div>\n\
<div><button type=\"submit\">Mostra</button></div>\n</form>",
        esc(&campagna_segmento(filtro.campagna)),
        filtro.anno.map(|a| a.to_string()).unwrap_or_default()
    );
    if filtro.live {
        let _ = writeln!(
            c,
            "<p>Aggiornamento automatico attivo: la pagina si ricarica ogni {REFRESH_SECONDI} secondi. \
<a href=\"/cruscotto{}\">Disattiva l'aggiornamento automatico</a></p>",
            esc(&filtro.query(false))
        );
    } else {
        let _ = writeln!(
            c,
            "<p>I dati sono calcolati dagli eventi registrati a ogni apertura della pagina. \
<a href=\"/cruscotto{}\">Attiva l'aggiornamento automatico ogni {REFRESH_SECONDI} secondi</a></p>",
            esc(&filtro.query(true))
        );
    }
    if righe.is_empty() {
        c.push_str("<p>Nessun dato per la campagna e il periodo scelti.</p>\n");
    }
    for (i, r) in righe.iter().enumerate() {
        sezione(&mut c, i, r);
    }
    Pagina {
        titolo: &format!("Cruscotto – {}", campagna_nome(filtro.campagna)),
        intestazione: INTESTAZIONE,
        dettaglio: dettaglio_operatore(operatore),
        corpo: c,
        largo: true,
        refresh: filtro.live.then_some(REFRESH_SECONDI),
    }
    .html()
}

fn dettaglio_operatore(operatore: &str) -> String {
    format!(
        "<div class=\"operatore\"><p>Operatore: {}</p>\
<form method=\"post\" action=\"/cruscotto/uscita\">\
<button type=\"submit\" class=\"secondario\">Esci</button></form></div>\n",
        esc(operatore)
    )
}

/// The login page (401/403): a labelled token field; `errore` says why access was refused.
pub fn render_accesso(errore: Option<&str>, filtro: &Filtro) -> String {
    let mut c = String::from("<h1>Accesso al cruscotto</h1>\n");
    if let Some(e) = errore {
        let _ = writeln!(c, "<div class=\"errore\" role=\"alert\"><p>{}</p></div>", esc(e));
    }
    c.push_str(
        "<p>Il cruscotto delle campagne è riservato agli operatori INPS. Inserisci il token di \
accesso che ti è stato rilasciato.</p>\n",
    );
    let mut nascosti = format!(
        "<input type=\"hidden\" name=\"campagna\" value=\"{}\">",
        esc(&campagna_segmento(filtro.campagna))
    );
    if let Some(a) = filtro.anno {
        let _ = write!(nascosti, "<input type=\"hidden\" name=\"anno\" value=\"{a}\">");
    }
    if let Some(t) = filtro.trimestre {
        let _ = write!(
            nascosti,
            "<input type=\"hidden\" name=\"trimestre\" value=\"{t}\">"
        );
    }
    let _ = writeln!(
        c,
        "<form method=\"post\" action=\"/cruscotto/accesso\">\n{nascosti}\n\
<label class=\"campo\" for=\"token\">Token di accesso dell'operatore</label>\n\
<input type=\"password\" id=\"token\" name=\"token\" required autocomplete=\"off\" spellcheck=\"false\">\n\
<div><button type=\"submit\">Accedi</button></div>\n</form>"
    );
    Pagina {
        titolo: "Accesso al cruscotto",
        intestazione: INTESTAZIONE,
        dettaglio: String::new(),
        corpo: c,
        largo: false,
        refresh: None,
    }
    .html()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtro() -> Filtro {
        Filtro {
            campagna: pb::TipoCampagna::LavoroDomestico,
            anno: Some(2026),
            trimestre: Some(1),
            live: false,
        }
    }

    fn riga() -> pb::CampagnaDashboard {
        pb::CampagnaDashboard {
            campagna: pb::TipoCampagna::LavoroDomestico.into(),
            trimestre: Some(pb::Trimestre {
                anno: 2026,
                numero: 1,
            }),
            per_canale: vec![
                pb::ConteggioCanale {
                    channel: pb::Channel::Email.into(),
                    inviati: 1200,
                    falliti: 3,
                    saltati: 40,
                },
                pb::ConteggioCanale {
                    channel: pb::Channel::Sms.into(),
                    inviati: 900,
                    falliti: 7,
                    saltati: 343,
                },
            ],
            guide_aperte: 812,
            link_seguiti: vec![pb::ConteggioLink {
                link: pb::GuidaLink::PaymentsPortal.into(),
                numero: 377,
            }],
            valutazioni_numero: 96,
            valutazioni_media: "4.25".into(),
            aggiornato_il: None,
        }
    }

    #[test]
    fn not_5_the_dashboard_shows_channels_guides_links_and_ratings() {
        let page = render_cruscotto(&[riga()], &filtro(), "Operatore Rossi");
        assert!(page.contains("<html lang=\"it\">"));
        assert_eq!(page.matches("<h1>").count(), 1);
        assert!(page.contains("<h2 id=\"q0\">1° trimestre 2026</h2>"));
        assert!(page.contains(
            "<tr><th scope=\"row\">E-mail</th><td class=\"n\">1.200</td><td class=\"n\">3</td><td class=\"n\">40</td></tr>"
        ));
        assert!(page.contains(
            "<tr><th scope=\"row\">SMS</th><td class=\"n\">900</td><td class=\"n\">7</td><td class=\"n\">343</td></tr>"
        ));
        assert!(page.contains("<td class=\"n\">2.100</td>"));
        assert!(page.contains("<th scope=\"row\">Guide aperte</th><td class=\"n\">812</td>"));
        assert!(page.contains("<th scope=\"row\">Portale dei pagamenti</th><td class=\"n\">377</td>"));
        assert!(page.contains("<th scope=\"row\">App INPS Mobile</th><td class=\"n\">0</td>"));
        assert!(page.contains("<td class=\"n\">96</td>"));
        assert!(page.contains("4,25 su 5"));
        assert!(page.contains("Operatore: Operatore Rossi"));
        assert!(!page.contains("http-equiv=\"refresh\""));
    }

    #[test]
    fn charts_are_svg_images_with_a_name() {
        let page = render_cruscotto(&[riga()], &filtro(), "op");
        assert_eq!(page.matches("<svg ").count(), 2);
        assert_eq!(page.matches("role=\"img\"").count(), 2);
        assert!(page.contains("<title id=\"q0-canali-t\">Avvisi per canale, 1° trimestre 2026."));
        assert!(page.contains("aria-label=\"Link seguiti per servizio, 1° trimestre 2026. Portale dei pagamenti: link seguiti 377;"));
        // The longest bar spans the whole area; the others in proportion.
        assert!(page.contains("width=\"300\" height=\"14\" fill=\"#0059b3\"/><text x=\"486\""));
    }

    #[test]
    fn live_refresh_is_the_operators_choice() {
        let live = Filtro {
            live: true,
            ..filtro()
        };
        let page = render_cruscotto(&[], &live, "op");
        assert!(page.contains("<meta http-equiv=\"refresh\" content=\"30\">"));
        assert!(page.contains("href=\"/cruscotto?campagna=lavoro_domestico&amp;anno=2026&amp;trimestre=1\""));
        assert!(page.contains("Nessun dato"));
    }

    #[test]
    fn the_operator_label_is_escaped_and_the_login_form_is_labelled() {
        let page = render_cruscotto(&[], &filtro(), "<script>x</script>");
        assert!(!page.contains("<script>"));
        let login = render_accesso(Some("Token <non> valido"), &filtro());
        assert!(login.contains("<label class=\"campo\" for=\"token\">"));
        assert!(login.contains("id=\"token\" name=\"token\""));
        assert!(login.contains("<button type=\"submit\">Accedi</button>"));
        assert!(login.contains("Token &lt;non&gt; valido"));
        assert!(login.contains("name=\"trimestre\" value=\"1\""));
    }

    #[test]
    fn campaign_names_round_trip() {
        assert_eq!(
            campagna_segmento(pb::TipoCampagna::LavoroDomestico),
            "lavoro_domestico"
        );
        assert_eq!(
            campagna_da_segmento("lavoro_domestico"),
            Some(pb::TipoCampagna::LavoroDomestico)
        );
        assert_eq!(campagna_da_segmento("unspecified"), None);
        assert_eq!(campagna_da_segmento("x"), None);
    }
}
