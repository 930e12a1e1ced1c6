//! Escaping, Italian formatting and the page layout shared by the guide and the dashboard.
//! Every dynamic text goes through [`esc`]; every dynamic path segment through [`segmento`].

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use occasionali_kernel::calendar::rome_date;
use occasionali_kernel::euro::Euro;
use occasionali_proto::common::Periodo;
use occasionali_proto::notifiche as pb;

/// HTML-escapes text for element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes one URL path segment (only RFC 3986 unreserved characters stay as they are),
/// so an opaque token can never break out of the path it is put in.
pub fn segmento(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

const MESI: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

fn mese(d: NaiveDate) -> &'static str {
    MESI.get(d.month0() as usize).copied().unwrap_or("")
}

/// Italian ordinal day: "1°" for the first of the month, the plain number otherwise.
fn giorno(d: NaiveDate) -> String {
    if d.day() == 1 {
        "1°".into()
    } else {
        d.day().to_string()
    }
}

/// "2 ottobre 2026".
pub fn data(d: NaiveDate) -> String {
    format!("{} {} {}", giorno(d), mese(d), d.year())
}

/// The Rome civil date of a timestamp, "2 ottobre 2026"; None when absent or out of range.
pub fn data_di(ts: Option<&prost_types::Timestamp>) -> Option<String> {
    let ts = ts?;
    let nanos = u32::try_from(ts.nanos).unwrap_or(0);
    DateTime::<Utc>::from_timestamp(ts.seconds, nanos).map(|i| data(rome_date(i)))
}

/// Date and time in Rome, "2 ottobre 2026, 14:05".
pub fn data_ora_di(ts: Option<&prost_types::Timestamp>) -> Option<String> {
    let ts = ts?;
    let nanos = u32::try_from(ts.nanos).unwrap_or(0);
    DateTime::<Utc>::from_timestamp(ts.seconds, nanos).map(|i| {
        let rome = occasionali_kernel::calendar::rome_datetime(i);
        format!("{}, {}", data(rome.date_naive()), rome.format("%H:%M"))
    })
}

/// A payment window in words: "dal 1° al 10 aprile 2026", or with both months/years when they
/// differ; None when the start is not a date.
pub fn periodo(p: &Periodo) -> Option<String> {
    let dal = NaiveDate::parse_from_str(&p.dal, "%Y-%m-%d").ok()?;
    let Ok(al) = NaiveDate::parse_from_str(&p.al, "%Y-%m-%d") else {
        return Some(format!("dal {}", data(dal)));
    };
    Some(if dal.year() == al.year() && dal.month() == al.month() {
        format!("dal {} al {} {} {}", giorno(dal), giorno(al), mese(al), al.year())
    } else if dal.year() == al.year() {
        format!("dal {} {} al {}", giorno(dal), mese(dal), data(al))
    } else {
        format!("dal {} al {}", data(dal), data(al))
    })
}

/// "1° trimestre 2026".
pub fn trimestre(t: &pb::Trimestre) -> String {
    format!("{}° trimestre {}", t.numero, t.anno)
}

/// Italian money: "€ 1.234,50", "-€ 3,00".
pub fn euro(e: Euro) -> String {
    let cents = e.cents();
    let abs = cents.unsigned_abs();
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}€ {},{:02}", raggruppa(abs / 100), abs % 100)
}

/// Digits in groups of three with Italian dots: 1234567 → "1.234.567".
fn raggruppa(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A decimal string ("4.25") with an Italian comma ("4,25"); the input as it is otherwise.
pub fn decimale(s: &str) -> String {
    s.replace('.', ",")
}

/// Italian thousands separators for counts: 12345 → "12.345".
pub fn numero(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!("{sign}{}", raggruppa(n.unsigned_abs()))
}

/// The pages' one stylesheet, inline (no external resources). Text #1a1a1a on white (17:1),
/// links INPS blue #0059b3 (7:1), a focus ring on every focusable element (WCAG 2.4.7).
const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;\
font-size:1.0625rem;line-height:1.55;color:#1a1a1a;background:#fff}\
a{color:#0059b3;text-decoration:underline}\
a:hover{color:#003d7a}\
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible{\
outline:3px solid #b35900;outline-offset:2px}\
.salta{position:absolute;left:-10000px;top:0;background:#fff;color:#0059b3;padding:.5rem 1rem;z-index:10}\
.salta:focus{left:1rem;top:1rem}\
header.sito{background:#0059b3;color:#fff;padding:1rem 1.5rem}\
header.sito p{margin:0;font-weight:700;font-size:1.25rem}\
header.sito .operatore{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin-top:.5rem}\
header.sito .operatore p{font-weight:400;font-size:1rem}\
header.sito .operatore button{margin-top:0;padding:.25rem .75rem}\
main{max-width:52rem;margin:0 auto;padding:1.5rem}\
main.largo{max-width:72rem}\
h1{font-size:1.75rem;line-height:1.25;margin:.5rem 0 1rem}\
h2{font-size:1.375rem;margin:2rem 0 .75rem;border-bottom:2px solid #d0d7de;padding-bottom:.25rem}\
h3{font-size:1.125rem;margin:1.5rem 0 .5rem}\
.avviso{border-left:6px solid #1b6e2d;background:#eef7f0;padding:.75rem 1rem;margin:1rem 0}\
.errore{border-left:6px solid #b30000;background:#fdf0f0;padding:.75rem 1rem;margin:1rem 0}\
.importo{font-weight:700;white-space:nowrap}\
ul.lavoratori>li{margin-bottom:.75rem}\
ul.link li{margin:.35rem 0}\
fieldset{border:1px solid #6b6b6b;padding:1rem;margin:0 0 1rem}\
legend{font-weight:700;padding:0 .25rem}\
.voti{display:flex;gap:1.25rem;flex-wrap:wrap}\
.voti label{display:inline-flex;align-items:center;gap:.35rem;font-size:1.125rem}\
input[type=radio]{width:1.25rem;height:1.25rem}\
label.campo{display:block;font-weight:700;margin-bottom:.25rem}\
input[type=password],input[type=text]{font:inherit;padding:.5rem;border:2px solid #6b6b6b;border-radius:4px;\
width:100%;max-width:28rem;color:#1a1a1a;background:#fff}\
button{font:inherit;font-weight:700;color:#fff;background:#0059b3;border:2px solid #0059b3;border-radius:4px;\
padding:.5rem 1.25rem;margin-top:.75rem;cursor:pointer}\
button:hover{background:#003d7a}\
button.secondario{color:#0059b3;background:#fff}\
table{border-collapse:collapse;margin:.5rem 0 1rem;min-width:20rem}\
caption{text-align:left;font-weight:700;padding:.25rem 0}\
th,td{border:1px solid #8c8c8c;padding:.35rem .75rem;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
thead th{background:#eef3f8}\
.grafici{display:flex;flex-wrap:wrap;gap:2rem;align-items:flex-start}\
svg{max-width:100%;height:auto}\
form.filtri{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-end;margin-bottom:1rem}\
form.filtri label{display:block;font-weight:700}\
form.filtri input{width:7rem}\
select{font:inherit;padding:.45rem;border:2px solid #6b6b6b;border-radius:4px;color:#1a1a1a;background:#fff}\
select:focus-visible{outline:3px solid #b35900;outline-offset:2px}\
form.filtri button{margin-top:0}\
footer{border-top:1px solid #d0d7de;margin-top:3rem;padding:1rem 1.5rem;font-size:.9375rem;color:#3d3d3d}\
";

/// A whole page: skip link, header, one main with the content (which brings its one h1), footer.
/// `refresh`: seconds of a meta refresh, only when the reader turned it on.
pub struct Pagina<'a> {
    pub titolo: &'a str,
    pub intestazione: &'a str,
    /// Extra header line (e.g. the operator), already HTML.
    pub dettaglio: String,
    pub corpo: String,
    pub largo: bool,
    pub refresh: Option<u32>,
}

impl Pagina<'_> {
    pub fn html(&self) -> String {
        let refresh = self
            .refresh
            .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">\n"))
            .unwrap_or_default();
        let classe = if self.largo { " class=\"largo\"" } else { "" };
        format!(
            "<!DOCTYPE html>\n<html lang=\"it\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex, nofollow\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n{refresh}\
<link rel=\"icon\" href=\"data:,\">\n\
<title>{titolo} – INPS</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
<a class=\"salta\" href=\"#contenuto\">Vai al contenuto principale</a>\n\
<header class=\"sito\">\n<p>INPS – {intestazione}</p>\n{dettaglio}</header>\n\
<main id=\"contenuto\" tabindex=\"-1\"{classe}>\n{corpo}</main>\n\
<footer>\n<p>Istituto Nazionale della Previdenza Sociale – servizio Prestazioni occasionali \
e lavoro domestico. Questa pagina non usa cookie di profilazione.</p>\n</footer>\n\
</body>\n</html>\n",
            titolo = esc(self.titolo),
            intestazione = esc(self.intestazione),
            dettaglio = self.dettaglio,
            corpo = self.corpo,
        )
    }
}

/// A short page with a heading and a message (errors, expiry).
pub fn pagina_messaggio(intestazione: &str, titolo: &str, messaggio_html: &str) -> String {
    Pagina {
        titolo,
        intestazione,
        dettaglio: String::new(),
        corpo: format!("<h1>{}</h1>\n{messaggio_html}\n", esc(titolo)),
        largo: false,
        refresh: None,
    }
    .html()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_and_attribute_breakouts() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(esc("Niccolò"), "Niccolò");
    }

    #[test]
    fn a_path_segment_cannot_leave_its_segment() {
        assert_eq!(segmento("abc-DEF_1.2~"), "abc-DEF_1.2~");
        assert_eq!(segmento("a/b?c#d\"<"), "a%2Fb%3Fc%23d%22%3C");
        assert_eq!(segmento("è"), "%C3%A8");
    }

    #[test]
    fn euro_is_written_the_italian_way() {
        let e = |s: &str| Euro::parse(s).map(euro).unwrap_or_default();
        assert_eq!(e("412.50"), "€ 412,50");
        assert_eq!(e("1234.5"), "€ 1.234,50");
        assert_eq!(e("1234567.00"), "€ 1.234.567,00");
        assert_eq!(e("0"), "€ 0,00");
        assert_eq!(e("-3"), "-€ 3,00");
        assert_eq!(numero(12345), "12.345");
        assert_eq!(numero(7), "7");
    }

    #[test]
    fn dates_quarters_and_windows_in_italian() {
        let t = pb::Trimestre {
            anno: 2026,
            numero: 1,
        };
        assert_eq!(trimestre(&t), "1° trimestre 2026");
        let p = |dal: &str, al: &str| {
            periodo(&Periodo {
                dal: dal.into(),
                al: al.into(),
            })
        };
        assert_eq!(
            p("2026-04-01", "2026-04-10").as_deref(),
            Some("dal 1° al 10 aprile 2026")
        );
        assert_eq!(
            p("2026-12-28", "2027-01-10").as_deref(),
            Some("dal 28 dicembre 2026 al 10 gennaio 2027")
        );
        assert_eq!(p("bad", "").as_deref(), None);
        // 2026-10-01T22:30Z is already 2 October in Rome.
        let ts = prost_types::Timestamp {
            seconds: 1_790_893_800,
            nanos: 0,
        };
        assert_eq!(data_di(Some(&ts)).as_deref(), Some("2 ottobre 2026"));
    }
}
