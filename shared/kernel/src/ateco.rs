//! ATECO, ISTAT's classification of economic activities: the 2025 edition in force since
//! 1 April 2025 and the 2022 one before it. Used for a CPO utilizzatore's sector (ANA-5) and the
//! sector exclusions and special sectors of the rule table (PRE-4, SPEC §3).

use std::collections::HashMap;
use std::sync::LazyLock;

const ATECO_2025: &str = include_str!("../data/ateco-2025.csv");
const ATECO_2022: &str = include_str!("../data/ateco-2022.csv");
/// `code_2022,code_2025,basis`: which ATECO 2025 subcategories continue an ATECO 2022 one. ISTAT's
/// correspondence table is not among our reference data: the rows are derived by code and
/// description from the two editions, for the codes the rule table names (the special sectors
/// of DL 48/2023); a 2022 code with no row here has no known successor.
const CORRISPONDENZE: &str = include_str!("../data/ateco-2022-2025.csv");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edizione {
    Ateco2022,
    Ateco2025,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voce {
    pub code: String,
    /// section, division, group, class, category, subcategory
    pub level: String,
    pub title: String,
    pub parent: String,
    pub edizione: Edizione,
}

/// Splits one CSV line of `code,level,title,parent` where only the title may be quoted.
fn parse_line(line: &str) -> Option<(String, String, String, String)> {
    let (code, rest) = line.split_once(',')?;
    let (level, rest) = rest.split_once(',')?;
    let (title, parent) = if let Some(quoted) = rest.strip_prefix('"') {
        let mut title = String::new();
        let mut chars = quoted.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().map(|(_, n)| *n) == Some('"') {
                    title.push('"');
                    chars.next();
                } else {
                    end = Some(i);
                    break;
                }
            } else {
                title.push(c);
            }
        }
        let after = &quoted[end? + 1..];
        (title, after.strip_prefix(',')?.to_string())
    } else {
        let (t, p) = rest.rsplit_once(',')?;
        (t.to_string(), p.to_string())
    };
    Some((
        code.to_string(),
        level.to_string(),
        title,
        parent.trim().to_string(),
    ))
}

fn load(text: &str, edizione: Edizione, into: &mut HashMap<(Edizione, String), Voce>) {
    for line in text.lines().skip(1) {
        if let Some((code, level, title, parent)) = parse_line(line.trim_end()) {
            into.insert(
                (edizione, code.clone()),
                Voce {
                    code,
                    level,
                    title,
                    parent,
                    edizione,
                },
            );
        }
    }
}

static VOCI: LazyLock<HashMap<(Edizione, String), Voce>> = LazyLock::new(|| {
    let mut m = HashMap::with_capacity(6500);
    load(ATECO_2025, Edizione::Ateco2025, &mut m);
    load(ATECO_2022, Edizione::Ateco2022, &mut m);
    m
});

/// `56.10.11` or `561011` as `56.10.11`.
fn con_punti(code: &str) -> Option<String> {
    let c = code.trim();
    if c.len() == 8 && c.as_bytes()[2] == b'.' && c.as_bytes()[5] == b'.' {
        return Some(c.to_string());
    }
    if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("{}.{}.{}", &c[0..2], &c[2..4], &c[4..6]));
    }
    None
}

/// (2022 code, 2025 code) pairs of [`CORRISPONDENZE`].
static CORRISPONDENZA: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    CORRISPONDENZE
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.splitn(3, ',');
            Some((parts.next()?.trim().to_string(), parts.next()?.trim().to_string()))
        })
        .collect()
});

/// The ATECO 2022 subcategories an ATECO 2025 subcategory continues (empty when unknown).
pub fn predecessori(code_2025: &str) -> Vec<&'static str> {
    let code = code_2025.trim();
    CORRISPONDENZA
        .iter()
        .filter(|(_, nuovo)| nuovo == code)
        .map(|(vecchio, _)| vecchio.as_str())
        .collect()
}

/// The ATECO 2025 subcategories continuing an ATECO 2022 subcategory (empty when unknown).
pub fn successori(code_2022: &str) -> Vec<&'static str> {
    let code = code_2022.trim();
    CORRISPONDENZA
        .iter()
        .filter(|(vecchio, _)| vecchio == code)
        .map(|(_, nuovo)| nuovo.as_str())
        .collect()
}

/// [`appartiene`] in either edition: `code` falls under `prefix` itself, or continues (ATECO
/// 2025) a 2022 subcategory that does. How a rule naming 2022 codes reaches the codes registered
/// since ATECO 2025.
pub fn appartiene_in_ogni_edizione(code: &str, prefix: &str) -> bool {
    appartiene(code, prefix) || predecessori(code).into_iter().any(|v| appartiene(v, prefix))
}

/// The entry of a code in one edition.
pub fn voce(edizione: Edizione, code: &str) -> Option<&'static Voce> {
    VOCI.get(&(edizione, code.trim().to_string()))
}

/// A subcategory code of ATECO 2025 or, failing that, 2022, in dotted form.
pub fn normalizza(code: &str) -> Option<String> {
    let c = con_punti(code)?;
    [Edizione::Ateco2025, Edizione::Ateco2022]
        .into_iter()
        .find_map(|e| voce(e, &c).filter(|v| v.level == "subcategory"))
        .map(|v| v.code.clone())
}

/// Whether `code` falls under `prefix` (a division "41", a group "43.1", a class "08.11", or a
/// full code): how the rule table lists excluded and special sectors.
pub fn appartiene(code: &str, prefix: &str) -> bool {
    let prefix = prefix.trim();
    // A group (NN.N) is the class (NN.NN) without its last digit; every other level is
    // followed by a dot in the codes below it.
    let is_group = prefix.len() == 4 && prefix.as_bytes()[2] == b'.';
    code == prefix
        || if is_group {
            code.starts_with(prefix)
        } else {
            code.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('.'))
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_both_editions() {
        assert_eq!(
            voce(Edizione::Ateco2025, "41.00.00").map(|v| v.level.as_str()),
            Some("subcategory")
        );
        assert_eq!(
            voce(Edizione::Ateco2025, "A").map(|v| v.title.as_str()),
            Some("AGRICOLTURA, SILVICOLTURA E PESCA")
        );
        assert!(VOCI.len() > 6000);
    }

    #[test]
    fn normalises_subcategories() {
        assert_eq!(normalizza("561011").as_deref(), Some("56.10.11"));
        assert_eq!(normalizza("82.30.01").as_deref(), Some("82.30.01"));
        // 82.30.00 exists in ATECO 2022 only: still accepted.
        assert_eq!(normalizza("82.30.00").as_deref(), Some("82.30.00"));
        assert_eq!(normalizza("41.00"), None);
        assert_eq!(normalizza("99.99.99"), None);
    }

    #[test]
    fn prefixes() {
        assert!(appartiene("41.00.00", "41"));
        assert!(appartiene("43.12.01", "43.1"));
        assert!(appartiene("43.12.01", "43.12"));
        assert!(!appartiene("43.12.01", "43.2"));
        assert!(!appartiene("410.00", "41"));
        assert!(appartiene("96.04.20", "96.04.20"));
    }

    #[test]
    fn correspondence_rows_name_subcategories_of_their_editions() {
        assert!(CORRISPONDENZA.len() >= 8);
        for (vecchio, nuovo) in CORRISPONDENZA.iter() {
            assert_eq!(
                voce(Edizione::Ateco2022, vecchio).map(|v| v.level.as_str()),
                Some("subcategory"),
                "{vecchio}"
            );
            assert_eq!(
                voce(Edizione::Ateco2025, nuovo).map(|v| v.level.as_str()),
                Some("subcategory"),
                "{nuovo}"
            );
        }
    }

    #[test]
    fn special_sectors_continue_in_ateco_2025() {
        assert_eq!(successori("82.30.00").len(), 5);
        assert_eq!(predecessori("93.21.00"), vec!["93.21.01"]);
        assert!(appartiene_in_ogni_edizione("82.30.09", "82.30.00"));
        assert!(appartiene_in_ogni_edizione("96.23.10", "96.04.20"));
        assert!(appartiene_in_ogni_edizione("96.99.93", "96.09.05"));
        assert!(appartiene_in_ogni_edizione("96.09.05", "96.09.05"));
        // Travelling shows (2022: 93.21.02) are not amusement parks; wellness centres are not spas.
        assert!(!appartiene_in_ogni_edizione("93.29.91", "93.21.01"));
        assert!(!appartiene_in_ogni_edizione("96.23.99", "96.04.20"));
    }
}
