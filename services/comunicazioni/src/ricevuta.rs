//! The PDF receipt of a P, V or A (LAO-10): every field of the four sections, the codes and
//! the send date, rendered on demand from the stored communication. The same communication
//! always gives the same bytes (no creation date, no random ids), so a receipt downloaded
//! twice is identical.
//!
//! Text is set in Noto Sans (SIL Open Font License), embedded and subset by krilla with a
//! ToUnicode map, so the receipt's text can be searched, copied and extracted.

use std::sync::LazyLock;

use chrono::NaiveDate;
use krilla::Document;
use krilla::geom::{PathBuilder, Point};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::text::{Font, TextDirection};
use occasionali_kernel::{Sesso, calendar, luoghi};

use crate::domain::*;

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 50.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = 790.0;
const FOOTER_Y: f32 = 815.0;
const BODY_SIZE: f32 = 9.5;
const LINE: f32 = 14.0;
/// Characters per line at BODY_SIZE: Noto Sans capitals average ~0.65 em, so 78 of them fit
/// the 495 pt between the margins.
const WRAP: usize = 78;

struct Fonts {
    regular: Font,
    bold: Font,
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Font::new(notosans::REGULAR_TTF.into(), 0)?,
        bold: Font::new(notosans::BOLD_TTF.into(), 0)?,
    })
});

#[derive(Debug, thiserror::Error)]
pub enum RicevutaError {
    #[error("the embedded font cannot be read")]
    Font,
    #[error("pdf: {0}")]
    Pdf(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stile {
    Titolo,
    Sezione,
    Testo,
}

struct Riga {
    testo: String,
    stile: Stile,
    indent: f32,
    /// Extra space above the line.
    spazio: f32,
}

fn data(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn comune(istat: &str) -> String {
    match luoghi::comune_by_istat(istat) {
        Some(c) => format!("{} ({}) - ISTAT {}", c.name, c.province, c.istat),
        None => format!("ISTAT {istat}"),
    }
}

fn luogo_nascita(code: &str, nascita: NaiveDate) -> String {
    match luoghi::belfiore_valid_on(code, nascita).or_else(|| luoghi::belfiore_latest(code)) {
        Some(l) if l.kind == luoghi::LuogoKind::StatoEstero => format!("{} ({code})", l.name),
        Some(l) => format!("{} ({}) ({code})", l.name, l.province),
        None => code.to_string(),
    }
}

fn stato(z: &str) -> String {
    match luoghi::stato_estero(z) {
        Some(l) => format!("{} ({z})", l.name),
        None => z.to_string(),
    }
}

/// Splits `text` into lines of at most `width` characters, on spaces where possible.
fn a_capo(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        let needed = cur.chars().count() + usize::from(!cur.is_empty()) + word.chars().count();
        if needed > width && !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

struct Righe(Vec<Riga>);

impl Righe {
    fn titolo(&mut self, t: &str) {
        self.0.push(Riga {
            testo: t.into(),
            stile: Stile::Titolo,
            indent: 0.0,
            spazio: 0.0,
        });
    }

    fn sezione(&mut self, t: &str) {
        self.0.push(Riga {
            testo: t.into(),
            stile: Stile::Sezione,
            indent: 0.0,
            spazio: 10.0,
        });
    }

    /// "Label: value", wrapped; continuation lines indented.
    fn campo(&mut self, label: &str, value: &str) {
        self.campo_indent(0.0, label, value);
    }

    fn campo_indent(&mut self, indent: f32, label: &str, value: &str) {
        let value = if value.is_empty() { "-" } else { value };
        for (i, line) in a_capo(&format!("{label}: {value}"), WRAP).into_iter().enumerate() {
            self.0.push(Riga {
                testo: line,
                stile: Stile::Testo,
                indent: if i == 0 { indent } else { indent + 12.0 },
                spazio: 0.0,
            });
        }
    }
}

/// The receipt's lines: the title, then the send data and sections 1-3 as sent.
fn righe(c: &Comunicazione) -> Vec<Riga> {
    let mut r = Righe(Vec::new());
    r.titolo("Ricevuta di comunicazione preventiva di lavoro autonomo occasionale");
    r.campo(
        "Riferimento normativo",
        "art. 14 D.Lgs. 81/2008, come modificato dall'art. 13 DL 146/2021",
    );
    r.dati_invio(&c.invio);
    r.committente(&c.contenuto.committente);
    r.lavoratore(&c.contenuto.lavoratore);
    r.rapporto(&c.contenuto.rapporto);
    r.0
}

impl Righe {
    /// Section 4, assigned by the system (LAO-5).
    fn dati_invio(&mut self, i: &DatiInvio) {
        self.sezione("Dati invio");
        self.campo(
            "Tipo comunicazione",
            &format!("{} - {}", i.tipo.as_str(), i.tipo.nome()),
        );
        self.campo("Codice comunicazione", &i.codice);
        self.campo(
            "Codice comunicazione precedente",
            i.codice_precedente.as_deref().unwrap_or(""),
        );
        self.campo("Data invio", &data(i.data_invio));
        self.campo(
            "Inviata il",
            &format!(
                "{} (ora di Roma)",
                calendar::rome_datetime(i.inviata_il).format("%d/%m/%Y %H:%M:%S")
            ),
        );
        self.campo("Codice fiscale compilatore", &i.compilatore_cf);
        self.campo("E-mail compilatore", &i.compilatore_email);
    }

    fn committente(&mut self, co: &Committente) {
        self.sezione("1. Committente");
        self.campo("Codice fiscale", &co.cf);
        self.campo("Denominazione", &co.denominazione);
        self.campo(
            "Sede",
            &format!("{}, {} {}", co.indirizzo, co.cap, comune(&co.comune_istat)),
        );
        self.campo("E-mail", &co.email);
    }

    fn lavoratore(&mut self, l: &Lavoratore) {
        self.sezione("2. Lavoratore");
        self.campo("Codice fiscale", &l.cf);
        self.campo("Cognome", &l.cognome);
        self.campo("Nome", &l.nome);
        self.campo("Data di nascita", &data(l.data_nascita));
        self.campo(
            "Sesso",
            match l.sesso {
                Sesso::M => "M",
                Sesso::F => "F",
            },
        );
        self.campo(
            "Luogo di nascita",
            &luogo_nascita(&l.luogo_nascita, l.data_nascita),
        );
        self.campo("Cittadinanza", &l.cittadinanza);
        match &l.identificazione {
            Identificazione::Documento(d) => self.campo(
                "Documento di identità",
                &format!(
                    "{} n. {}, rilasciato da {} il {}, scadenza {}",
                    d.tipo.nome(),
                    d.numero,
                    d.rilasciato_da,
                    data(d.data_rilascio),
                    data(d.data_scadenza)
                ),
            ),
            Identificazione::Permesso(p) => self.campo(
                "Permesso di soggiorno",
                &format!(
                    "n. {}, motivo {}, questura di {}, rilasciato il {}, scadenza {}",
                    p.numero,
                    p.motivo,
                    p.questura,
                    data(p.data_rilascio),
                    data(p.data_scadenza)
                ),
            ),
        }
        match &l.domicilio {
            Domicilio::Italia {
                comune_istat,
                indirizzo,
                cap,
            } => self.campo(
                "Domicilio",
                &format!("{indirizzo}, {cap} {}", comune(comune_istat)),
            ),
            Domicilio::Estero {
                stato: z,
                citta,
                indirizzo,
            } => self.campo("Domicilio estero", &format!("{indirizzo}, {citta}, {}", stato(z))),
        }
    }

    fn rapporto(&mut self, ra: &Rapporto) {
        self.sezione("3. Rapporto");
        self.campo("Data inizio", &data(ra.data_inizio));
        self.campo(
            "Durata",
            &format!(
                "entro {} giorni (fino al {})",
                ra.durata.giorni(),
                data(ra.data_fine())
            ),
        );
        self.campo("Compenso stimato", &format!("{} euro", ra.compenso_stimato));
        self.campo("Descrizione", &ra.descrizione);
        self.campo("Luoghi di lavoro", &ra.luoghi_lavoro.len().to_string());
        for (n, luogo) in ra.luoghi_lavoro.iter().enumerate() {
            self.campo_indent(
                12.0,
                &format!("{}", n + 1),
                &format!(
                    "{}, {} {}",
                    luogo.indirizzo,
                    luogo.cap,
                    comune(&luogo.comune_istat)
                ),
            );
        }
    }
}

/// Lays the lines out on pages (top-down coordinates).
fn impagina(righe: Vec<Riga>) -> Vec<Vec<(f32, Riga)>> {
    let mut pages = vec![Vec::new()];
    let mut y = TOP;
    for riga in righe {
        let h = match riga.stile {
            Stile::Titolo => 22.0,
            Stile::Sezione => LINE + 4.0,
            Stile::Testo => LINE,
        };
        let mut top = y + riga.spazio;
        if top + h > BOTTOM {
            pages.push(Vec::new());
            top = TOP;
        }
        y = top + h;
        if let Some(p) = pages.last_mut() {
            p.push((top, riga));
        }
    }
    pages
}

/// The receipt of `c`, as PDF bytes.
pub fn genera(c: &Comunicazione) -> Result<Vec<u8>, RicevutaError> {
    let fonts = FONTS.as_ref().ok_or(RicevutaError::Font)?;
    let pages = impagina(righe(c));
    let totale = pages.len();
    let mut document = Document::new();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(RicevutaError::Pdf("page size".into()))?;
    for (n, righe) in pages.into_iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for (top, riga) in righe {
            let (font, size) = match riga.stile {
                Stile::Titolo => (&fonts.bold, 13.0),
                Stile::Sezione => (&fonts.bold, 11.0),
                Stile::Testo => (&fonts.regular, BODY_SIZE),
            };
            // Text is placed by its baseline.
            let baseline = top + size;
            surface.draw_text(
                Point::from_xy(MARGIN + riga.indent, baseline),
                font.clone(),
                size,
                &riga.testo,
                false,
                TextDirection::Auto,
            );
            if riga.stile == Stile::Sezione {
                let mut pb = PathBuilder::new();
                pb.move_to(MARGIN, baseline + 3.0);
                pb.line_to(PAGE_W - MARGIN, baseline + 3.0);
                if let Some(path) = pb.finish() {
                    surface.set_stroke(Some(Stroke {
                        width: 0.5,
                        ..Default::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                }
            }
        }
        surface.draw_text(
            Point::from_xy(MARGIN, FOOTER_Y),
            fonts.regular.clone(),
            8.0,
            &format!(
                "Comunicazione {} - pagina {} di {}",
                c.invio.codice,
                n + 1,
                totale
            ),
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| RicevutaError::Pdf(format!("{e:?}")))
}

/// The receipt's file name.
pub fn nome_file(c: &Comunicazione) -> String {
    format!("ricevuta_{}.pdf", c.invio.codice)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::variazione::tests::contenuto;

    fn comunicazione() -> Comunicazione {
        Comunicazione {
            invio: DatiInvio {
                compilatore_cf: "RSSMRA85T10A562S".into(),
                compilatore_email: "studio@example.it".into(),
                data_invio: "2026-06-15".parse().unwrap(),
                inviata_il: "2026-06-15T10:00:00Z".parse().unwrap(),
                tipo: Tipo::V,
                codice: "ABCDEFGHJKMNP0".into(),
                codice_precedente: Some("0123456789ABCD".into()),
            },
            contenuto: contenuto(),
        }
    }

    #[test]
    fn lao_10_receipt_is_a_deterministic_pdf() {
        let c = comunicazione();
        let a = genera(&c).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, genera(&c).unwrap(), "same communication, same bytes");
        assert_eq!(nome_file(&c), "ricevuta_ABCDEFGHJKMNP0.pdf");
    }

    #[test]
    fn lao_10_many_workplaces_flow_onto_more_pages() {
        let mut c = comunicazione();
        let l = c.contenuto.rapporto.luoghi_lavoro[0].clone();
        c.contenuto.rapporto.luoghi_lavoro = vec![l; 100];
        c.contenuto.rapporto.descrizione = "lavoro ".repeat(250);
        let pages = impagina(righe(&c));
        assert!(pages.len() >= 3);
        assert!(genera(&c).is_ok());
    }

    #[test]
    fn lao_10_text_outside_the_font_still_renders() {
        let mut c = comunicazione();
        c.contenuto.rapporto.descrizione = "Perizia \u{1F600} 漢字 Ελληνικά àèéìòù ß".into();
        let pdf = genera(&c).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }

    #[test]
    fn wrapping_keeps_every_word() {
        let t = "uno due tre quattro cinque sei sette otto nove dieci";
        let lines = a_capo(t, 12);
        assert!(lines.iter().all(|l| l.chars().count() <= 12));
        assert_eq!(lines.join(" "), t);
        let long = "x".repeat(30);
        assert_eq!(a_capo(&long, 12).concat(), long);
    }
}
