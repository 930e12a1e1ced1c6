//! Places: Belfiore (cadastral) codes with their validity periods, for the birth place inside a
//! codice fiscale (ANA-2, ANA-3), and the current ISTAT list of comuni, for domiciles and
//! workplaces (ANA-4). Data and attribution: `data/README.md` (ISTAT, CC-BY 4.0).

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use chrono::NaiveDate;

const BELFIORE_CSV: &str = include_str!("../data/belfiore.csv");
const COMUNI_CSV: &str = include_str!("../data/comuni-istat.csv");

/// The Z-codes of the 26 EU member states other than Italy (EU-27 since 1 February 2020),
/// checked against the names in `belfiore.csv` by a test. Italy has no Z-code: a person born in
/// Italy carries the comune's code.
pub const EU_STATES: [&str; 26] = [
    "Z102", // Austria
    "Z103", // Belgio
    "Z104", // Bulgaria
    "Z107", // Danimarca
    "Z109", // Finlandia
    "Z110", // Francia
    "Z112", // Germania
    "Z115", // Grecia
    "Z116", // Irlanda
    "Z120", // Lussemburgo
    "Z121", // Malta
    "Z126", // Paesi Bassi
    "Z127", // Polonia
    "Z128", // Portogallo
    "Z129", // Romania
    "Z131", // Spagna
    "Z132", // Svezia
    "Z134", // Ungheria
    "Z144", // Estonia
    "Z145", // Lettonia
    "Z146", // Lituania
    "Z149", // Croazia
    "Z150", // Slovenia
    "Z155", // Slovacchia
    "Z156", // Repubblica Ceca
    "Z211", // Cipro
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LuogoKind {
    Comune,
    StatoEstero,
}

/// One validity period of a Belfiore code. A code may have several periods (renamed comuni,
/// province changes, suppressions and re-establishments); the dates are inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luogo {
    pub code: String,
    pub name: String,
    /// Province abbreviation at that time; `EE` for foreign states.
    pub province: String,
    pub kind: LuogoKind,
    /// `None`: valid since before any record.
    pub valid_from: Option<NaiveDate>,
    /// `None`: still valid.
    pub valid_to: Option<NaiveDate>,
}

impl Luogo {
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| from <= date) && self.valid_to.is_none_or(|to| date <= to)
    }
}

/// A comune of the current ISTAT list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comune {
    pub istat: String,
    pub name: String,
    pub province: String,
    pub belfiore: String,
    pub region: String,
}

struct ComuniIndex {
    comuni: Vec<Comune>,
    by_istat: HashMap<String, usize>,
    by_belfiore: HashMap<String, usize>,
    provinces: BTreeSet<String>,
}

/// Rows with the wrong number of fields or malformed dates are skipped rather than panicking;
/// the tests assert that every row of the embedded files was indexed, so a bad refresh fails CI.
fn parse_date(s: &str) -> Result<Option<NaiveDate>, ()> {
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some).map_err(|_| ())
}

fn data_rows(csv: &'static str, fields: usize) -> impl Iterator<Item = Vec<&'static str>> {
    // `lines()` also strips the CRLF endings of the source files.
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect::<Vec<_>>())
        .filter(move |f| f.len() == fields)
}

/// A Belfiore code: a letter and three digits.
fn is_belfiore_shape(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 4 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
}

fn parse_luogo(f: &[&str]) -> Option<Luogo> {
    let [code, name, province, kind, from, to] = f else {
        return None;
    };
    // Some suppressed comuni have "ND" (not available) instead of a code: they cannot appear
    // in any CF, so they are left out.
    if !is_belfiore_shape(code) {
        return None;
    }
    let kind = if *kind == "stato" || *province == "EE" {
        LuogoKind::StatoEstero
    } else {
        LuogoKind::Comune
    };
    Some(Luogo {
        code: (*code).to_owned(),
        name: (*name).to_owned(),
        province: (*province).to_owned(),
        kind,
        valid_from: parse_date(from).ok()?,
        valid_to: parse_date(to).ok()?,
    })
}

static BELFIORE: LazyLock<HashMap<String, Vec<Luogo>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Vec<Luogo>> = HashMap::new();
    for luogo in data_rows(BELFIORE_CSV, 6).filter_map(|f| parse_luogo(&f)) {
        map.entry(luogo.code.clone()).or_default().push(luogo);
    }
    for periods in map.values_mut() {
        periods.sort_by_key(|l| l.valid_from);
    }
    map
});

static COMUNI: LazyLock<ComuniIndex> = LazyLock::new(|| {
    let comuni: Vec<Comune> = data_rows(COMUNI_CSV, 5)
        .map(|f| Comune {
            istat: f[0].to_owned(),
            name: f[1].to_owned(),
            province: f[2].to_owned(),
            belfiore: f[3].to_owned(),
            region: f[4].to_owned(),
        })
        .collect();
    let by_istat = comuni
        .iter()
        .enumerate()
        .map(|(i, c)| (c.istat.clone(), i))
        .collect();
    let by_belfiore = comuni
        .iter()
        .enumerate()
        .map(|(i, c)| (c.belfiore.clone(), i))
        .collect();
    let provinces = comuni.iter().map(|c| c.province.clone()).collect();
    ComuniIndex {
        comuni,
        by_istat,
        by_belfiore,
        provinces,
    }
});

fn normalise(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// Every validity period of a Belfiore code, oldest first; empty if unknown.
pub fn belfiore_periods(code: &str) -> &'static [Luogo] {
    BELFIORE.get(&normalise(code)).map_or(&[][..], Vec::as_slice)
}

/// Whether the code ever existed (any period): enough for a CF to be well-formed (ANA-2).
pub fn belfiore_known(code: &str) -> bool {
    !belfiore_periods(code).is_empty()
}

/// The period in which `code` was valid on `date`, if any: a CF issued for a birth in a comune
/// that no longer exists stays valid if the comune existed on the birth date (ANA-3).
pub fn belfiore_valid_on(code: &str, date: NaiveDate) -> Option<&'static Luogo> {
    belfiore_periods(code).iter().find(|l| l.valid_on(date))
}

/// The most recent period of a code (the current one if the code is still valid).
pub fn belfiore_latest(code: &str) -> Option<&'static Luogo> {
    belfiore_periods(code).last()
}

/// A foreign state's Z-code that is still valid (no end date in the data).
pub fn stato_estero(z_code: &str) -> Option<&'static Luogo> {
    belfiore_periods(z_code)
        .iter()
        .find(|l| l.kind == LuogoKind::StatoEstero && l.valid_to.is_none())
}

/// Whether the Z-code is one of the 26 other EU member states ([`EU_STATES`]).
pub fn is_eu_state(z_code: &str) -> bool {
    EU_STATES.contains(&normalise(z_code).as_str())
}

pub fn comune_by_istat(code: &str) -> Option<&'static Comune> {
    let index = &*COMUNI;
    index.by_istat.get(code.trim()).map(|&i| &index.comuni[i])
}

/// The current comune with this Belfiore code.
pub fn comune_by_belfiore(code: &str) -> Option<&'static Comune> {
    let index = &*COMUNI;
    index.by_belfiore.get(&normalise(code)).map(|&i| &index.comuni[i])
}

/// All current comuni, in ISTAT order.
pub fn comuni() -> impl Iterator<Item = &'static Comune> {
    COMUNI.comuni.iter()
}

/// Whether `sigla` is the abbreviation of a current province (or metropolitan city).
pub fn is_province(sigla: &str) -> bool {
    COMUNI.provinces.contains(sigla.trim())
}

/// The current provinces' abbreviations, distinct and sorted.
pub fn provinces() -> impl Iterator<Item = &'static str> {
    COMUNI.provinces.iter().map(String::as_str)
}

/// Every Belfiore period (test support for generators).
#[cfg(test)]
pub(crate) fn all_periods() -> impl Iterator<Item = &'static Luogo> {
    BELFIORE.values().flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn row_count(csv: &str) -> usize {
        csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count()
    }

    #[test]
    fn every_embedded_row_is_indexed() {
        let not_available = BELFIORE_CSV.lines().filter(|l| l.starts_with("ND,")).count();
        assert_eq!(all_periods().count() + not_available, row_count(BELFIORE_CSV));
        assert!(!belfiore_known("ND"));
        assert_eq!(COMUNI.comuni.len(), row_count(COMUNI_CSV));
        assert_eq!(
            COMUNI.by_istat.len(),
            COMUNI.comuni.len(),
            "istat codes are unique"
        );
        assert_eq!(COMUNI.by_belfiore.len(), COMUNI.comuni.len());
    }

    #[test]
    fn known_codes() {
        assert!(belfiore_known("H501"));
        assert!(belfiore_known("h501 "));
        assert!(!belfiore_known("Z999"));
        assert_eq!(belfiore_valid_on("H501", d(1985, 12, 10)).unwrap().name, "Roma");
        let z = stato_estero("Z110").unwrap();
        assert_eq!(z.name, "Francia");
        assert_eq!(z.kind, LuogoKind::StatoEstero);
        assert_eq!(z.province, "EE");
        assert!(stato_estero("H501").is_none());
        // Tanganica ended in 1964.
        assert!(stato_estero("Z350").is_none());
        assert!(belfiore_valid_on("Z350", d(1960, 1, 1)).is_some());
    }

    #[test]
    fn ana_3_suppressed_comune_is_valid_only_while_it_existed() {
        // Abetone (PT) was merged into Abetone Cutigliano on 1 January 2017.
        assert!(belfiore_known("A012"));
        assert!(belfiore_valid_on("A012", d(1980, 5, 1)).is_some());
        assert!(belfiore_valid_on("A012", d(2016, 12, 31)).is_some());
        assert!(belfiore_valid_on("A012", d(2017, 1, 1)).is_none());
        assert!(belfiore_valid_on("A012", d(1936, 7, 25)).is_none());
        assert!(comune_by_belfiore("A012").is_none());
    }

    #[test]
    fn validity_periods_are_inclusive_and_contiguous() {
        // Abano became Abano Terme on 1924-11-14.
        assert_eq!(belfiore_valid_on("A001", d(1924, 11, 13)).unwrap().name, "Abano");
        assert_eq!(
            belfiore_valid_on("A001", d(1924, 11, 14)).unwrap().name,
            "Abano Terme"
        );
    }

    #[test]
    fn eu_states_match_the_data() {
        let names: Vec<&str> = EU_STATES
            .iter()
            .map(|z| stato_estero(z).unwrap().name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Austria",
                "Belgio",
                "Bulgaria",
                "Danimarca",
                "Finlandia",
                "Francia",
                "Germania",
                "Grecia",
                "Irlanda",
                "Lussemburgo",
                "Malta",
                "Paesi Bassi",
                "Polonia",
                "Portogallo",
                "Romania",
                "Spagna",
                "Svezia",
                "Ungheria",
                "Estonia",
                "Lettonia",
                "Lituania",
                "Croazia",
                "Slovenia",
                "Slovacchia",
                "Repubblica Ceca",
                "Cipro",
            ]
        );
        assert!(is_eu_state("Z110"));
        assert!(!is_eu_state("Z114"), "the United Kingdom left in 2020");
        assert!(!is_eu_state("Z133"));
        assert!(!is_eu_state("H501"));
    }

    #[test]
    fn comuni_lookups() {
        let roma = comune_by_belfiore("H501").unwrap();
        assert_eq!(roma.istat, "058091");
        assert_eq!(roma.province, "RM");
        assert_eq!(roma.region, "Lazio");
        assert_eq!(comune_by_istat("058091").unwrap().belfiore, "H501");
        assert_eq!(comune_by_istat("001001").unwrap().name, "Agliè");
        assert!(comune_by_istat("999999").is_none());
    }

    #[test]
    fn provinces_are_distinct_sorted_current() {
        let all: Vec<&str> = provinces().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(all.len(), 107);
        assert!(is_province("RM"));
        assert!(is_province("SU"));
        assert!(!is_province("EE"));
        assert!(!is_province("OG"), "Ogliastra was abolished in 2016");
    }
}
