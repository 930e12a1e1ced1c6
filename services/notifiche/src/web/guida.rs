//! The personalised guide page (NOT-3, NOT-4): what is unpaid, when and how to pay, what to do
//! when a relationship was suspended or ended, the sanctions, the five services, the rating.
//! Pure rendering: the handlers in `mod.rs` fetch the [`pb::Guida`] through the port.

use std::fmt::Write as _;

use occasionali_kernel::euro::Euro;
use occasionali_proto::notifiche as pb;

use super::html::{self, Pagina, esc, segmento};

const INTESTAZIONE: &str = "Contributi lavoro domestico";

/// The path segment of a link in `/guida/{token}/link/{segmento}`: the GuidaLink enum name
/// without its `GUIDA_LINK_` prefix, in lowercase (`payments_portal`, `cassetto_previdenziale`,
/// `estratto_conto`, `domestic_services`, `inps_mobile_app`). None for UNSPECIFIED.
pub fn link_segmento(l: pb::GuidaLink) -> Option<String> {
    if l == pb::GuidaLink::Unspecified {
        return None;
    }
    l.as_str_name()
        .strip_prefix("GUIDA_LINK_")
        .map(str::to_ascii_lowercase)
}

/// The inverse of [`link_segmento`]; the enum number (`1`..`5`) is accepted too.
pub fn link_da_segmento(s: &str) -> Option<pb::GuidaLink> {
    let l = match s.parse::<i32>() {
        Ok(n) => pb::GuidaLink::try_from(n).ok()?,
        Err(_) => pb::GuidaLink::from_str_name(&format!("GUIDA_LINK_{}", s.to_ascii_uppercase()))?,
    };
    (l != pb::GuidaLink::Unspecified).then_some(l)
}

/// What the reader sees of each service.
fn link_testo(l: pb::GuidaLink) -> (&'static str, &'static str) {
    match l {
        pb::GuidaLink::PaymentsPortal => (
            "Portale dei pagamenti",
            "per pagare i contributi con pagoPA, anche con l'avviso precompilato",
        ),
        pb::GuidaLink::CassettoPrevidenziale => (
            "Cassetto previdenziale dei datori di lavoro domestico",
            "per vedere rapporti, trimestri e versamenti registrati",
        ),
        pb::GuidaLink::EstrattoConto => (
            "Il tuo estratto conto",
            "per controllare i contributi già versati",
        ),
        pb::GuidaLink::DomesticServices => (
            "Servizi per il lavoro domestico",
            "per comunicare variazioni, sospensioni e cessazioni del rapporto",
        ),
        pb::GuidaLink::InpsMobileApp => (
            "App INPS Mobile",
            "per pagare e consultare la tua posizione dallo smartphone",
        ),
        pb::GuidaLink::Unspecified => ("", ""),
    }
}

/// `/guida/{token}` under `base` (the path prefix the pages are served at, "" at the root).
pub fn url_guida(base: &str, token: &str) -> String {
    format!("{base}/guida/{}", segmento(token))
}

/// The amount still due for a quarter, when both figures are known (a missing "paid" is 0).
fn da_pagare(s: &pb::SituazioneTrimestre) -> Option<Euro> {
    let dovuti = Euro::parse(&s.contributi_dovuti).ok()?;
    let pagati = if s.contributi_pagati.trim().is_empty() {
        Euro::ZERO
    } else {
        Euro::parse(&s.contributi_pagati).ok()?
    };
    dovuti.checked_sub(pagati).filter(|e| e.is_positive())
}

fn stato_rapporto(s: pb::StatoRapportoDomestico) -> Option<&'static str> {
    match s {
        pb::StatoRapportoDomestico::Suspended => Some("rapporto sospeso"),
        pb::StatoRapportoDomestico::Ended => Some("rapporto cessato"),
        _ => None,
    }
}

/// Paragraphs of a free text from the application, escaped; blank lines separate paragraphs.
fn paragrafi(testo: &str) -> String {
    testo
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>\n", esc(p).replace('\n', "<br>")))
        .collect()
}

/// A notice shown above the guide after an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Avviso {
    Nessuno,
    /// After a rating (POST /guida/{token}/voto → 303 here).
    Grazie,
}

/// The guide page. An expired guide renders as [`render_scaduta`].
pub fn render_guida(g: &pb::Guida, base: &str) -> String {
    render_guida_con(g, base, Avviso::Nessuno)
}

pub fn render_guida_con(g: &pb::Guida, base: &str, avviso: Avviso) -> String {
    if g.scaduta {
        return render_scaduta(g);
    }
    let url = url_guida(base, &g.token);
    let mut c = String::new();
    let saluto = if g.datore_nome.trim().is_empty() {
        "Gentile datore di lavoro".to_string()
    } else {
        format!("Gentile {}", esc(g.datore_nome.trim()))
    };
    let quando = g
        .trimestre
        .as_ref()
        .map(|t| format!(" – {}", esc(&html::trimestre(t))))
        .unwrap_or_default();
    let _ = write!(
        c,
        "<h1>Contributi del lavoro domestico da pagare{quando}</h1>\n<p><strong>{saluto},</strong></p>\n\
<p>dai nostri archivi risultano contributi non ancora pagati per il lavoro domestico. \
Qui trovi, per ogni lavoratore, i trimestri da regolarizzare, come e quando pagare e i servizi \
che ti servono.</p>\n"
    );
    if avviso == Avviso::Grazie {
        c.push_str(
            "<div class=\"avviso\" role=\"status\"><p>Grazie per la tua valutazione: ci aiuta a \
migliorare le nostre comunicazioni.</p></div>\n",
        );
    }

    // Workers and quarters (NOT-3).
    c.push_str("<h2 id=\"trimestri\">I trimestri da pagare</h2>\n");
    if g.lavoratori.is_empty() {
        c.push_str("<p>Non risultano trimestri da pagare.</p>\n");
    } else {
        c.push_str("<ul class=\"lavoratori\">\n");
        for l in &g.lavoratori {
            let nome = if l.nome.trim().is_empty() {
                "Lavoratore".to_string()
            } else {
                esc(l.nome.trim())
            };
            let _ = write!(c, "<li><strong>{nome}</strong>");
            if !l.trimestri_non_pagati.is_empty() {
                c.push_str("\n<ul>\n");
                for s in &l.trimestri_non_pagati {
                    let quale = s
                        .trimestre
                        .as_ref()
                        .map(html::trimestre)
                        .unwrap_or_else(|| "trimestre".into());
                    let _ = write!(c, "<li>{}", esc(&quale));
                    if let Some(e) = da_pagare(s) {
                        let _ = write!(
                            c,
                            ": da pagare <span class=\"importo\">{}</span>",
                            esc(&html::euro(e))
                        );
                    }
                    if let Some(stato) = stato_rapporto(s.stato()) {
                        let _ = write!(c, " ({stato})");
                    }
                    c.push_str("</li>\n");
                }
                c.push_str("</ul>\n");
            }
            c.push_str("</li>\n");
        }
        c.push_str("</ul>\n");
    }

    // When to pay (NOT-7 windows).
    c.push_str("<h2 id=\"quando\">Quando pagare</h2>\n");
    match g.finestra_pagamento.as_ref().and_then(html::periodo) {
        Some(p) => {
            let _ = writeln!(
                c,
                "<p>Puoi pagare <strong>{}</strong>. Dopo questa data al pagamento si aggiungono le \
sanzioni indicate più avanti.</p>",
                esc(&p)
            );
        }
        None => c.push_str(
            "<p>I contributi si pagano dal 1° al 10 di aprile, luglio, ottobre e gennaio per il \
trimestre precedente.</p>\n",
        ),
    }

    c.push_str("<h2 id=\"sospeso-cessato\">Se il rapporto è stato sospeso o è cessato</h2>\n");
    if g.istruzioni_rapporto_sospeso_cessato.trim().is_empty() {
        c.push_str(
            "<p>Se il rapporto di lavoro è stato sospeso o è cessato e non lo hai comunicato \
all'INPS, comunicalo con i servizi per il lavoro domestico: i contributi dei periodi non \
lavorati non sono dovuti.</p>\n",
        );
    } else {
        c.push_str(&paragrafi(&g.istruzioni_rapporto_sospeso_cessato));
    }

    c.push_str("<h2 id=\"sanzioni\">Le sanzioni per il pagamento in ritardo</h2>\n");
    if g.sanzioni.trim().is_empty() {
        c.push_str("<p>Il pagamento oltre la scadenza comporta sanzioni civili.</p>\n");
    } else {
        c.push_str(&paragrafi(&g.sanzioni));
    }

    // The services, each through /link/{segmento} so the click is counted (NOT-5).
    c.push_str("<h2 id=\"servizi\">I servizi che ti servono</h2>\n<ul class=\"link\">\n");
    for l in &g.links {
        let Some(seg) = link_segmento(l.link()) else {
            continue;
        };
        let (titolo, descrizione) = link_testo(l.link());
        let _ = writeln!(
            c,
            "<li><a href=\"{}/link/{seg}\">{titolo}</a>: {descrizione}</li>",
            esc(&url)
        );
    }
    c.push_str("</ul>\n");

    // The rating (NOT-4).
    c.push_str("<h2 id=\"valutazione\">Valuta questa guida</h2>\n");
    if (1..=5).contains(&g.voto) {
        let _ = writeln!(
            c,
            "<p>La tua valutazione: <strong>{} su 5</strong>. Puoi cambiarla quando vuoi.</p>",
            g.voto
        );
    }
    let _ = write!(
        c,
        "<form method=\"post\" action=\"{}/voto\">\n<fieldset>\n\
<legend>Quanto ti è stata utile questa guida? (1 = per niente, 5 = moltissimo)</legend>\n\
<div class=\"voti\">\n",
        esc(&url)
    );
    for v in 1..=5 {
        let checked = if g.voto == v { " checked" } else { "" };
        let _ = writeln!(
            c,
            "<label><input type=\"radio\" name=\"voto\" value=\"{v}\" required{checked}> {v}</label>"
        );
    }
    c.push_str("</div>\n</fieldset>\n<button type=\"submit\">Invia la valutazione</button>\n</form>\n");
    if let Some(scade) = html::data_di(g.scade_il.as_ref()) {
        let _ = writeln!(
            c,
            "<p>Questa guida resta disponibile fino al {}.</p>",
            esc(&scade)
        );
    }

    Pagina {
        titolo: "Contributi del lavoro domestico da pagare",
        intestazione: INTESTAZIONE,
        dettaglio: String::new(),
        corpo: c,
        largo: false,
        refresh: None,
    }
    .html()
}

/// The page of an expired guide (NOT-4), answered with 410 Gone.
pub fn render_scaduta(g: &pb::Guida) -> String {
    let quando = html::data_di(g.scade_il.as_ref())
        .map(|d| format!(" il {}", esc(&d)))
        .unwrap_or_default();
    html::pagina_messaggio(
        INTESTAZIONE,
        "Questa guida è scaduta",
        &format!(
            "<p>La guida è rimasta disponibile per sei mesi dall'invio ed è scaduta{quando}.</p>\n\
<p>Per controllare la tua posizione e pagare i contributi del lavoro domestico accedi ai servizi \
INPS con SPID, CIE o CNS.</p>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn guida() -> pb::Guida {
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
            url: "https://www.inps.it/x".into(),
        })
        .collect();
        pb::Guida {
            token: "tok_abc".into(),
            campagna: pb::TipoCampagna::LavoroDomestico.into(),
            trimestre: Some(pb::Trimestre {
                anno: 2026,
                numero: 2,
            }),
            emessa_il: ts("2026-06-01T08:00:00Z"),
            scade_il: ts("2026-12-01T08:00:00Z"),
            scaduta: false,
            datore_nome: "Maria".into(),
            lavoratori: vec![
                pb::GuidaLavoratore {
                    nome: "Ana".into(),
                    trimestri_non_pagati: vec![
                        situazione(2026, 1, "412.50", "0.00"),
                        situazione(2026, 2, "500.00", "87.50"),
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
            finestra_pagamento: Some(occasionali_proto::common::Periodo {
                dal: "2026-07-01".into(),
                al: "2026-07-10".into(),
            }),
            istruzioni_rapporto_sospeso_cessato: "Comunica la cessazione entro 5 giorni.".into(),
            sanzioni: "Sanzione civile del 10% annuo.".into(),
            links,
            voto: 0,
        }
    }

    #[test]
    fn not_3_the_guide_addresses_the_employer_and_lists_workers_quarters_and_amounts() {
        let page = render_guida(&guida(), "");
        assert!(page.contains("<html lang=\"it\">"));
        assert!(page.contains("Gentile Maria"));
        assert!(page.contains("<strong>Ana</strong>"));
        assert!(page.contains("1° trimestre 2026: da pagare <span class=\"importo\">€ 412,50</span>"));
        assert!(page.contains("2° trimestre 2026: da pagare <span class=\"importo\">€ 412,50</span>"));
        // Amount unknown: the quarter alone, with the relationship's state.
        assert!(page.contains("<li>1° trimestre 2026 (rapporto sospeso)</li>"));
        assert!(page.contains("dal 1° al 10 luglio 2026"));
        assert!(page.contains("Comunica la cessazione entro 5 giorni."));
        assert!(page.contains("Sanzione civile del 10% annuo."));
        assert!(page.contains("fino al 1° dicembre 2026"));
        assert_eq!(page.matches("<h1>").count(), 1);
        assert!(!page.contains("<script"));
    }

    #[test]
    fn not_5_every_link_goes_through_the_counting_route() {
        let page = render_guida(&guida(), "/notifiche");
        for seg in [
            "payments_portal",
            "cassetto_previdenziale",
            "estratto_conto",
            "domestic_services",
            "inps_mobile_app",
        ] {
            assert!(
                page.contains(&format!("href=\"/notifiche/guida/tok_abc/link/{seg}\"")),
                "{seg}"
            );
        }
        // The destination is only known to the redirect.
        assert!(!page.contains("https://www.inps.it/x"));
    }

    #[test]
    fn link_segments_round_trip_and_numbers_are_accepted() {
        for n in 1..=5 {
            let l = pb::GuidaLink::try_from(n).unwrap_or(pb::GuidaLink::Unspecified);
            let seg = link_segmento(l).unwrap_or_default();
            assert_eq!(link_da_segmento(&seg), Some(l));
            assert_eq!(link_da_segmento(&n.to_string()), Some(l));
        }
        assert_eq!(link_da_segmento("unspecified"), None);
        assert_eq!(link_da_segmento("0"), None);
        assert_eq!(link_da_segmento("9"), None);
        assert_eq!(link_da_segmento("../x"), None);
    }

    #[test]
    fn not_4_the_rating_form_has_five_labelled_choices_and_shows_the_current_rating() {
        let page = render_guida(&guida(), "");
        assert!(page.contains("<form method=\"post\" action=\"/guida/tok_abc/voto\">"));
        assert!(page.contains("<fieldset>") && page.contains("<legend>"));
        assert_eq!(page.matches("type=\"radio\" name=\"voto\"").count(), 5);
        assert!(!page.contains(" checked"));
        let votata = render_guida(&pb::Guida { voto: 4, ..guida() }, "");
        assert!(votata.contains("La tua valutazione: <strong>4 su 5</strong>"));
        assert!(votata.contains("value=\"4\" required checked"));
        assert_eq!(votata.matches(" checked").count(), 1);
        let grazie = render_guida_con(&guida(), "", Avviso::Grazie);
        assert!(grazie.contains("Grazie per la tua valutazione"));
    }

    #[test]
    fn dynamic_text_is_escaped() {
        let mut g = guida();
        g.datore_nome = "<script>alert(1)</script>".into();
        g.lavoratori[0].nome = "Ana\"><img src=x onerror=alert(1)>".into();
        g.sanzioni = "<b>10%</b>".into();
        g.token = "a\"b/c".into();
        let page = render_guida(&g, "");
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("Gentile &lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;b&gt;10%&lt;/b&gt;"));
        assert!(page.contains("/guida/a%22b%2Fc/voto"));
    }

    #[test]
    fn not_4_an_expired_guide_says_so_with_the_date() {
        let g = pb::Guida {
            token: "tok_abc".into(),
            scade_il: ts("2026-12-01T08:00:00Z"),
            scaduta: true,
            ..Default::default()
        };
        let page = render_guida(&g, "");
        assert!(page.contains("Questa guida è scaduta"));
        assert!(page.contains("è scaduta il 1° dicembre 2026"));
        assert!(!page.contains("tok_abc"));
        assert!(!page.contains("<form"));
    }
}
