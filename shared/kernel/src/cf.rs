//! A natural person's codice fiscale (D.M. 23 dicembre 1976; D.P.R. 605/1973): validated in full
//! (ANA-2) and compared with the person's data (ANA-3).
//!
//! Layout (1-based): 1-3 surname code, 4-6 name code, 7-8 year, 9 month letter, 10-11 day
//! (+40 for women), 12-15 Belfiore code of the birth place, 16 check letter. When two people
//! would get the same code, the Agenzia delle Entrate replaces digits with letters from the right
//! (*omocodia*): positions 15, 14, 13, 11, 10, 8, 7.

use std::fmt::{self, Write as _};

use chrono::{Datelike, NaiveDate};

use crate::luoghi;

const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
/// Omocodia letters standing for the digits 0-9.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
/// Values of the characters in odd positions (1-based) for the check letter; digits share the
/// value of the letter with the same index (0 ↔ A …). Even positions use the index itself.
const ODD_VALUES: [u8; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];
/// 0-based indexes of the positions that hold digits, in the order omocodia replaces them
/// (right to left: 15, 14, 13, 11, 10, 8, 7).
const DIGIT_POSITIONS_RTL: [usize; 7] = [14, 13, 12, 10, 9, 7, 6];

const EXPECTED_LETTER: &str = "a letter";
const EXPECTED_DIGIT: &str = "a digit or an omocodia letter (L M N P Q R S T U V)";
const EXPECTED_MONTH: &str = "a month letter (A B C D E H L M P R S T)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CfError {
    #[error("length is {found}, expected 16 characters (11 digits for an organisation)")]
    Length { found: usize },
    #[error("character at position {position} must be {expected}")]
    Character { position: usize, expected: &'static str },
    #[error("month letter is not one of A B C D E H L M P R S T")]
    Month,
    #[error("day of birth is not valid for the month")]
    Day,
    #[error("check character is {found}, expected {expected}")]
    CheckCharacter { expected: char, found: char },
    #[error("birth place code {code} is not a known belfiore code")]
    UnknownBirthPlace { code: String },
}

impl CfError {
    /// Stable code for `ErrorInfo.reason` (AIP-193).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Length { .. } => "CF_LENGTH",
            Self::Character { .. } => "CF_CHARACTER",
            Self::Month => "CF_MONTH",
            Self::Day => "CF_DAY",
            Self::CheckCharacter { .. } => "CF_CHECK_CHARACTER",
            Self::UnknownBirthPlace { .. } => "CF_UNKNOWN_BIRTH_PLACE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sesso {
    M,
    F,
}

/// The personal data a CF is derived from (ANA-3).
#[derive(Clone, PartialEq, Eq)]
pub struct DatiAnagrafici {
    pub cognome: String,
    pub nome: String,
    pub data_nascita: NaiveDate,
    pub sesso: Sesso,
    /// Belfiore code of the birth comune, or the Z-code of the foreign state.
    pub luogo_nascita: String,
}

/// Only the birth place is shown: the rest is personal data (GW-5).
impl fmt::Debug for DatiAnagrafici {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatiAnagrafici")
            .field("luogo_nascita", &self.luogo_nascita)
            .finish_non_exhaustive()
    }
}

/// A field of [`DatiAnagrafici`] that disagrees with the CF (ANA-3). The description names the
/// mismatch but never the values, so it is safe to return and to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfConflict {
    /// `"cognome"`, `"nome"`, `"data_nascita"`, `"sesso"` or `"luogo_nascita"`.
    pub field: &'static str,
    pub description: String,
}

impl CfConflict {
    fn new(field: &'static str, description: &str) -> Self {
        Self {
            field,
            description: description.to_owned(),
        }
    }
}

/// A syntactically valid codice fiscale, uppercase, whose birth place code exists (ANA-2).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceFiscale(String);

impl CodiceFiscale {
    pub fn parse(s: &str) -> Result<Self, CfError> {
        let code = s.trim().to_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 16 {
            return Err(CfError::Length { found: chars.len() });
        }
        for (i, &c) in chars.iter().enumerate() {
            let position = i + 1;
            match position {
                7 | 8 | 10 | 11 | 13 | 14 | 15 => {
                    if !(c.is_ascii_digit() || is_omocodia(c)) {
                        return Err(CfError::Character {
                            position,
                            expected: EXPECTED_DIGIT,
                        });
                    }
                }
                9 => {
                    if !c.is_ascii_uppercase() {
                        return Err(CfError::Character {
                            position,
                            expected: EXPECTED_MONTH,
                        });
                    }
                }
                _ => {
                    if !c.is_ascii_uppercase() {
                        return Err(CfError::Character {
                            position,
                            expected: EXPECTED_LETTER,
                        });
                    }
                }
            }
        }
        // All characters are ASCII from here on.
        let cf = Self(code);
        let month = cf.mese_opt().ok_or(CfError::Month)?;
        let day = cf.giorno_nascita();
        let raw_day = cf.raw_day();
        if !(1..=31).contains(&raw_day) && !(41..=71).contains(&raw_day) {
            return Err(CfError::Day);
        }
        if day > max_day(month, cf.anno_due_cifre()) {
            return Err(CfError::Day);
        }
        let bytes = cf.0.as_bytes();
        let expected = check_char(bytes);
        let found = char::from(bytes[15]);
        if expected != found {
            return Err(CfError::CheckCharacter { expected, found });
        }
        let code = cf.codice_belfiore();
        if !luoghi::belfiore_known(&code) {
            return Err(CfError::UnknownBirthPlace { code });
        }
        Ok(cf)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form safe for logs (GW-5): first 3 and last character, 16 characters long.
    pub fn masked(&self) -> String {
        crate::mask(&self.0, 3, 1)
    }

    pub fn codice_cognome(&self) -> &str {
        &self.0[0..3]
    }

    pub fn codice_nome(&self) -> &str {
        &self.0[3..6]
    }

    pub fn anno_due_cifre(&self) -> u32 {
        self.digit(6) * 10 + self.digit(7)
    }

    pub fn mese_nascita(&self) -> u32 {
        self.mese_opt().unwrap_or(1)
    }

    /// The real day of birth (1-31), the +40 for women removed.
    pub fn giorno_nascita(&self) -> u32 {
        let raw = self.raw_day();
        if raw > 40 { raw - 40 } else { raw }
    }

    pub fn sesso(&self) -> Sesso {
        if self.raw_day() > 40 { Sesso::F } else { Sesso::M }
    }

    /// The birth date, with the century chosen as the latest one that does not put the birth
    /// after `oggi` (the CF carries only two digits of the year).
    pub fn data_nascita(&self, oggi: NaiveDate) -> NaiveDate {
        let yy = i32::try_from(self.anno_due_cifre()).unwrap_or(0);
        let (month, day) = (self.mese_nascita(), self.giorno_nascita());
        let base = oggi.year() - (oggi.year() - yy).rem_euclid(100);
        // A few centuries back at most: only 29 February of a "00" year can skip one (1900).
        (0..5)
            .filter_map(|k| NaiveDate::from_ymd_opt(base - 100 * k, month, day))
            .find(|d| *d <= oggi)
            .unwrap_or(oggi)
    }

    /// The birth place code with omocodia decoded (e.g. `A562`, `Z110`).
    pub fn codice_belfiore(&self) -> String {
        let b = self.0.as_bytes();
        let mut code = String::with_capacity(4);
        code.push(char::from(b[11]));
        for &digit in &b[12..15] {
            code.push(char::from(b'0' + decode_digit(digit)));
        }
        code
    }

    pub fn is_omocodico(&self) -> bool {
        let b = self.0.as_bytes();
        DIGIT_POSITIONS_RTL.iter().any(|&i| !b[i].is_ascii_digit())
    }

    /// Compares the person's data with what the CF encodes, omocodia decoded (ANA-3). The birth
    /// place must also have existed on the birth date: a comune suppressed before the birth
    /// cannot be the birth place.
    pub fn conflicts(&self, dati: &DatiAnagrafici) -> Vec<CfConflict> {
        let mut out = Vec::new();
        if codice_cognome(&dati.cognome) != self.codice_cognome() {
            out.push(CfConflict::new(
                "cognome",
                "surname does not match the codice fiscale",
            ));
        }
        if codice_nome(&dati.nome) != self.codice_nome() {
            out.push(CfConflict::new("nome", "name does not match the codice fiscale"));
        }
        let d = dati.data_nascita;
        let yy = u32::try_from(d.year().rem_euclid(100)).unwrap_or(0);
        if d.day() != self.giorno_nascita() || d.month() != self.mese_nascita() || yy != self.anno_due_cifre()
        {
            out.push(CfConflict::new(
                "data_nascita",
                "birth date does not match the codice fiscale",
            ));
        }
        if dati.sesso != self.sesso() {
            out.push(CfConflict::new("sesso", "sex does not match the codice fiscale"));
        }
        let luogo = dati.luogo_nascita.trim().to_ascii_uppercase();
        if luogo != self.codice_belfiore() {
            out.push(CfConflict::new(
                "luogo_nascita",
                "birth place code does not match the codice fiscale",
            ));
        } else if luoghi::belfiore_valid_on(&luogo, d).is_none() {
            out.push(CfConflict::new(
                "luogo_nascita",
                "birth place code was not valid on the birth date",
            ));
        }
        out
    }

    /// Test support: this code with its last `n` digit positions (15, 14, 13, 11, 10, 8, 7)
    /// replaced by omocodia letters and the check letter recomputed. `n` = 0 gives the code
    /// without omocodia; `n` > 7 is treated as 7.
    pub fn with_omocodia(&self, n: usize) -> CodiceFiscale {
        let mut b = self.0.as_bytes().to_vec();
        for &i in &DIGIT_POSITIONS_RTL {
            b[i] = b'0' + decode_digit(b[i]);
        }
        for &i in DIGIT_POSITIONS_RTL.iter().take(n) {
            b[i] = OMOCODIA[usize::from(b[i] - b'0')];
        }
        b[15] = check_char(&b) as u8;
        // Only ASCII bytes were written over ASCII bytes.
        Self(String::from_utf8_lossy(&b).into_owned())
    }

    /// The same person's code without omocodia.
    pub fn senza_omocodia(&self) -> CodiceFiscale {
        self.with_omocodia(0)
    }

    fn digit(&self, i: usize) -> u32 {
        u32::from(decode_digit(self.0.as_bytes()[i]))
    }

    fn raw_day(&self) -> u32 {
        self.digit(9) * 10 + self.digit(10)
    }

    fn mese_opt(&self) -> Option<u32> {
        let m = self.0.as_bytes()[8];
        MONTHS
            .iter()
            .position(|&x| x == m)
            .and_then(|p| u32::try_from(p + 1).ok())
    }
}

/// Test support (used by other crates' tests): the CF of `dati`, without omocodia, with the
/// correct check letter. The birth place code is used as given (uppercased, padded or cut to
/// 4 characters): an unknown code gives a code that [`CodiceFiscale::parse`] refuses.
pub fn genera(dati: &DatiAnagrafici) -> CodiceFiscale {
    let mut s = String::with_capacity(16);
    s.push_str(&codice_cognome(&dati.cognome));
    s.push_str(&codice_nome(&dati.nome));
    let d = dati.data_nascita;
    let month = MONTHS[usize::try_from(d.month0()).unwrap_or(0)];
    let day = d.day() + if dati.sesso == Sesso::F { 40 } else { 0 };
    let _ = write!(
        s,
        "{:02}{}{:02}",
        d.year().rem_euclid(100),
        char::from(month),
        day
    );
    let luogo: String = dati
        .luogo_nascita
        .trim()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .chain(std::iter::repeat('0'))
        .take(4)
        .collect();
    s.push_str(&luogo);
    s.push(check_char(s.as_bytes()));
    CodiceFiscale(s)
}

/// Surname code: consonants, then vowels, then X, three characters.
pub fn codice_cognome(cognome: &str) -> String {
    let (consonants, vowels) = split_letters(cognome);
    three(consonants.into_iter().chain(vowels))
}

/// Name code: like the surname, except that a name with four or more consonants takes the
/// first, third and fourth.
pub fn codice_nome(nome: &str) -> String {
    let (consonants, vowels) = split_letters(nome);
    if consonants.len() >= 4 {
        return [consonants[0], consonants[2], consonants[3]]
            .into_iter()
            .collect();
    }
    three(consonants.into_iter().chain(vowels))
}

fn three(letters: impl Iterator<Item = char>) -> String {
    letters.chain(std::iter::repeat('X')).take(3).collect()
}

fn split_letters(s: &str) -> (Vec<char>, Vec<char>) {
    let mut folded = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_uppercase) {
        fold(c, &mut folded);
    }
    folded
        .chars()
        .partition(|c| !matches!(c, 'A' | 'E' | 'I' | 'O' | 'U'))
}

/// Accented and other Latin letters folded to ASCII as the Agenzia delle Entrate does;
/// apostrophes, spaces, hyphens and anything else not a letter are dropped.
fn fold(c: char, out: &mut String) {
    let ascii = match c {
        'A'..='Z' => c,
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => 'A',
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => 'C',
        'Ď' | 'Đ' => 'D',
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => 'E',
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => 'G',
        'Ĥ' | 'Ħ' => 'H',
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => 'I',
        'Ĵ' => 'J',
        'Ķ' => 'K',
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => 'L',
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => 'N',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' => 'O',
        'Ŕ' | 'Ŗ' | 'Ř' => 'R',
        'Ś' | 'Ŝ' | 'Ş' | 'Š' => 'S',
        'Ţ' | 'Ť' | 'Ŧ' => 'T',
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => 'U',
        'Ŵ' => 'W',
        'Ý' | 'Ÿ' | 'Ŷ' => 'Y',
        'Ź' | 'Ż' | 'Ž' => 'Z',
        'Æ' => return out.push_str("AE"),
        'Œ' => return out.push_str("OE"),
        'ß' | 'ẞ' => return out.push_str("SS"),
        _ => return,
    };
    out.push(ascii);
}

fn is_omocodia(c: char) -> bool {
    c.is_ascii() && OMOCODIA.contains(&(c as u8))
}

/// A digit position's value, omocodia letters decoded. Only called on validated codes.
fn decode_digit(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        OMOCODIA
            .iter()
            .position(|&x| x == b)
            .and_then(|p| u8::try_from(p).ok())
            .unwrap_or(0)
    }
}

/// Check letter over the first 15 characters (uppercase ASCII letters and digits).
fn check_char(code: &[u8]) -> char {
    let sum: u32 = code
        .iter()
        .take(15)
        .enumerate()
        .map(|(i, &c)| {
            let index = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c.wrapping_sub(b'A')
            };
            let index = usize::from(index % 26);
            // i is 0-based: 1-based odd positions are even indexes.
            u32::from(if i % 2 == 0 {
                ODD_VALUES[index]
            } else {
                index as u8
            })
        })
        .sum();
    char::from(b'A' + (sum % 26) as u8)
}

/// The longest day of a month. February has 29 days when the two-digit year is a multiple of 4:
/// whatever the century, except 1900 (yy = 00), which cannot be told apart from 2000.
fn max_day(month: u32, yy: u32) -> u32 {
    match month {
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl std::str::FromStr for CodiceFiscale {
    type Err = CfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for CodiceFiscale {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The full code: responses need it.
impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masked: personal data must never reach logs (GW-5).
impl fmt::Debug for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CodiceFiscale").field(&self.masked()).finish()
    }
}

crate::serde_via_str!(CodiceFiscale);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn mario() -> DatiAnagrafici {
        DatiAnagrafici {
            cognome: "Rossi".into(),
            nome: "Mario".into(),
            data_nascita: d(1985, 12, 10),
            sesso: Sesso::M,
            luogo_nascita: "A562".into(),
        }
    }

    #[test]
    fn ana_2_well_known_code_is_valid() {
        let cf = CodiceFiscale::parse(" rssmra85t10a562s ").unwrap();
        assert_eq!(cf.as_str(), "RSSMRA85T10A562S");
        assert_eq!(cf.codice_cognome(), "RSS");
        assert_eq!(cf.codice_nome(), "MRA");
        assert_eq!(cf.anno_due_cifre(), 85);
        assert_eq!(cf.mese_nascita(), 12);
        assert_eq!(cf.giorno_nascita(), 10);
        assert_eq!(cf.sesso(), Sesso::M);
        assert_eq!(cf.codice_belfiore(), "A562");
        assert!(!cf.is_omocodico());
        assert_eq!(cf.data_nascita(d(2026, 1, 1)), d(1985, 12, 10));
        assert_eq!(genera(&mario()), cf);
        assert!(cf.conflicts(&mario()).is_empty());
    }

    #[test]
    fn gw_5_debug_is_masked_display_is_full() {
        let cf = CodiceFiscale::parse("RSSMRA85T10A562S").unwrap();
        assert_eq!(cf.masked(), "RSS************S");
        assert_eq!(format!("{cf:?}"), "CodiceFiscale(\"RSS************S\")");
        assert_eq!(cf.to_string(), "RSSMRA85T10A562S");
        assert!(!format!("{:?}", mario()).contains("Rossi"));
    }

    #[test]
    fn ana_2_omocodia_is_decoded() {
        // Check letters computed independently with the official tables.
        let one = CodiceFiscale::parse("RSSMRA85T10A56NH").unwrap();
        let two = CodiceFiscale::parse("RSSMRA85T10A5SNT").unwrap();
        let base = CodiceFiscale::parse("RSSMRA85T10A562S").unwrap();
        assert_eq!(base.with_omocodia(1), one);
        assert_eq!(base.with_omocodia(2), two);
        assert_eq!(two.senza_omocodia(), base);
        for cf in [&one, &two] {
            assert!(cf.is_omocodico());
            assert_eq!(cf.codice_belfiore(), "A562");
            assert!(cf.conflicts(&mario()).is_empty());
        }
        let all = base.with_omocodia(7);
        assert_eq!(all.as_str(), "RSSMRAURTMLARSNL");
        assert_eq!(all.anno_due_cifre(), 85);
        assert_eq!(all.giorno_nascita(), 10);
        assert!(CodiceFiscale::parse(all.as_str()).is_ok());
    }

    #[test]
    fn ana_2_women_have_day_plus_40() {
        let cf = CodiceFiscale::parse("BNCNNA90C45H501K").unwrap();
        assert_eq!(cf.sesso(), Sesso::F);
        assert_eq!(cf.giorno_nascita(), 5);
        assert_eq!(cf.mese_nascita(), 3);
        assert_eq!(cf.data_nascita(d(2026, 6, 1)), d(1990, 3, 5));
        let anna = DatiAnagrafici {
            cognome: "Bianchi".into(),
            nome: "Anna".into(),
            data_nascita: d(1990, 3, 5),
            sesso: Sesso::F,
            luogo_nascita: "H501".into(),
        };
        assert_eq!(genera(&anna), cf);
        assert!(cf.conflicts(&anna).is_empty());
    }

    #[test]
    fn ana_2_each_error() {
        let cases: [(&str, CfError, &str); 10] = [
            ("RSSMRA85T10A562", CfError::Length { found: 15 }, "CF_LENGTH"),
            (
                "R5SMRA85T10A562S",
                CfError::Character {
                    position: 2,
                    expected: EXPECTED_LETTER,
                },
                "CF_CHARACTER",
            ),
            (
                "RSSMRA8AT10A562S",
                CfError::Character {
                    position: 8,
                    expected: EXPECTED_DIGIT,
                },
                "CF_CHARACTER",
            ),
            (
                "RSSMRA85110A562S",
                CfError::Character {
                    position: 9,
                    expected: EXPECTED_MONTH,
                },
                "CF_CHARACTER",
            ),
            ("RSSMRA85F10A562S", CfError::Month, "CF_MONTH"),
            ("RSSMRA85T32A562S", CfError::Day, "CF_DAY"),
            ("RSSMRA85T00A562S", CfError::Day, "CF_DAY"),
            ("RSSMRA85D31A562S", CfError::Day, "CF_DAY"),
            (
                "RSSMRA85T10A562X",
                CfError::CheckCharacter {
                    expected: 'S',
                    found: 'X',
                },
                "CF_CHECK_CHARACTER",
            ),
            (
                "RSSMRA85T10A5620",
                CfError::Character {
                    position: 16,
                    expected: EXPECTED_LETTER,
                },
                "CF_CHARACTER",
            ),
        ];
        for (input, err, reason) in cases {
            let got = CodiceFiscale::parse(input).unwrap_err();
            assert_eq!(got, err, "{input}");
            assert_eq!(got.reason(), reason);
        }
        // A well-formed code with a correct check letter but no such birth place.
        let unknown = genera(&DatiAnagrafici {
            luogo_nascita: "Z999".into(),
            ..mario()
        });
        let err = CodiceFiscale::parse(unknown.as_str()).unwrap_err();
        assert_eq!(err, CfError::UnknownBirthPlace { code: "Z999".into() });
        assert_eq!(err.reason(), "CF_UNKNOWN_BIRTH_PLACE");
        assert_eq!(
            CfError::CheckCharacter {
                expected: 'S',
                found: 'X'
            }
            .to_string(),
            "check character is X, expected S"
        );
    }

    #[test]
    fn ana_2_day_must_exist_in_the_month() {
        let feb = |day: u32, yy: i32| {
            let mut dati = mario();
            dati.data_nascita = d(2000 + yy, 2, 1);
            let code = genera(&dati).as_str().to_owned();
            let with_day = format!("{}{:02}{}", &code[..9], day, &code[11..15]);
            format!("{with_day}{}", check_char(with_day.as_bytes()))
        };
        assert!(CodiceFiscale::parse(&feb(28, 1)).is_ok());
        assert_eq!(CodiceFiscale::parse(&feb(29, 1)), Err(CfError::Day));
        assert!(CodiceFiscale::parse(&feb(29, 4)).is_ok());
        // "00" may be 1900 (not leap) or 2000 (leap): accepted.
        let cf = CodiceFiscale::parse(&feb(29, 0)).unwrap();
        assert_eq!(cf.data_nascita(d(2026, 1, 1)), d(2000, 2, 29));
        assert_eq!(cf.data_nascita(d(1999, 1, 1)), d(1600, 2, 29));
        assert_eq!(CodiceFiscale::parse(&feb(30, 4)), Err(CfError::Day));
    }

    #[test]
    fn data_nascita_picks_the_latest_century_not_after_today() {
        let mut dati = mario();
        dati.data_nascita = d(2025, 12, 10);
        let cf = genera(&dati);
        assert_eq!(cf.data_nascita(d(2026, 1, 1)), d(2025, 12, 10));
        assert_eq!(cf.data_nascita(d(2025, 12, 10)), d(2025, 12, 10));
        assert_eq!(cf.data_nascita(d(2025, 12, 9)), d(1925, 12, 10));
    }

    #[test]
    fn ana_3_conflicts_for_each_field() {
        let cf = CodiceFiscale::parse("RSSMRA85T10A562S").unwrap();
        let fields = |dati: DatiAnagrafici| -> Vec<&'static str> {
            cf.conflicts(&dati).into_iter().map(|c| c.field).collect()
        };
        assert_eq!(
            fields(DatiAnagrafici {
                cognome: "Verdi".into(),
                ..mario()
            }),
            ["cognome"]
        );
        assert_eq!(
            fields(DatiAnagrafici {
                nome: "Maria".into(),
                sesso: Sesso::M,
                ..mario()
            }),
            Vec::<&str>::new(),
            "Maria and Mario share MRA"
        );
        assert_eq!(
            fields(DatiAnagrafici {
                nome: "Marco".into(),
                ..mario()
            }),
            ["nome"]
        );
        for date in [d(1985, 12, 11), d(1985, 11, 10), d(1986, 12, 10)] {
            assert_eq!(
                fields(DatiAnagrafici {
                    data_nascita: date,
                    ..mario()
                }),
                ["data_nascita"]
            );
        }
        // Same two-digit year in another century is indistinguishable.
        assert!(
            fields(DatiAnagrafici {
                data_nascita: d(1885, 12, 10),
                ..mario()
            })
            .iter()
            .all(|f| *f != "data_nascita")
        );
        assert_eq!(
            fields(DatiAnagrafici {
                sesso: Sesso::F,
                ..mario()
            }),
            ["sesso"]
        );
        assert_eq!(
            fields(DatiAnagrafici {
                luogo_nascita: "H501".into(),
                ..mario()
            }),
            ["luogo_nascita"]
        );
        assert_eq!(
            fields(DatiAnagrafici {
                luogo_nascita: " a562 ".into(),
                ..mario()
            }),
            Vec::<&str>::new()
        );
        let everything = DatiAnagrafici {
            cognome: "Verdi".into(),
            nome: "Luca".into(),
            data_nascita: d(1990, 1, 1),
            sesso: Sesso::F,
            luogo_nascita: "F205".into(),
        };
        assert_eq!(
            fields(everything),
            ["cognome", "nome", "data_nascita", "sesso", "luogo_nascita"]
        );
    }

    #[test]
    fn ana_3_suppressed_comune_only_before_its_end() {
        // Abetone (A012) existed from 1936-07-26 to 2016-12-31.
        let dati = |date| DatiAnagrafici {
            cognome: "Bianchi".into(),
            nome: "Luca".into(),
            data_nascita: date,
            sesso: Sesso::M,
            luogo_nascita: "A012".into(),
        };
        let before = dati(d(1980, 5, 1));
        let cf = CodiceFiscale::parse(genera(&before).as_str()).unwrap();
        assert!(cf.conflicts(&before).is_empty());
        let after = dati(d(2018, 5, 1));
        let cf = CodiceFiscale::parse(genera(&after).as_str()).unwrap();
        let conflicts = cf.conflicts(&after);
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, "luogo_nascita");
        assert_eq!(
            conflicts[0].description,
            "birth place code was not valid on the birth date"
        );
    }

    #[test]
    fn ana_3_surname_and_name_codes() {
        for (cognome, code) in [
            ("Rossi", "RSS"),
            ("Bianchi", "BNC"),
            ("Fo", "FOX"),
            ("Ai", "AIX"),
            ("De Sanctis", "DSN"),
            ("D'Amico", "DMC"),
            ("Città", "CTT"),
            ("Dell'Oro", "DLL"),
            ("Rè", "REX"),
            ("Öz", "ZOX"),
            ("", "XXX"),
        ] {
            assert_eq!(codice_cognome(cognome), code, "{cognome}");
        }
        for (nome, code) in [
            ("Mario", "MRA"),
            ("Gianfranco", "GFR"),
            ("Niccolò", "NCL"),
            ("Luca", "LCU"),
            ("Anna", "NNA"),
            ("Bo", "BOX"),
            ("Éva", "VEA"),
            ("Maria Teresa", "MTR"),
            ("Jean-Pierre", "JPR"),
        ] {
            assert_eq!(codice_nome(nome), code, "{nome}");
        }
    }

    #[test]
    fn every_single_substitution_of_a_valid_code_fails() {
        let base = "RSSMRA85T10A562S";
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        for i in 0..16 {
            for c in alphabet.chars() {
                if base.as_bytes()[i] == c as u8 {
                    continue;
                }
                let mut s = base.to_owned();
                s.replace_range(i..=i, &c.to_string());
                assert!(CodiceFiscale::parse(&s).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn serde_round_trip() {
        let cf = CodiceFiscale::parse("RSSMRA85T10A562S").unwrap();
        let json = serde_json::to_string(&cf).unwrap();
        assert_eq!(json, "\"RSSMRA85T10A562S\"");
        assert_eq!(serde_json::from_str::<CodiceFiscale>(&json).unwrap(), cf);
        assert!(serde_json::from_str::<CodiceFiscale>("\"RSSMRA85T10A562X\"").is_err());
    }

    /// Belfiore periods overlapping 1900-2025, for the generators.
    fn periods() -> &'static [(&'static str, NaiveDate, NaiveDate)] {
        static P: std::sync::LazyLock<Vec<(&'static str, NaiveDate, NaiveDate)>> =
            std::sync::LazyLock::new(|| {
                let (lo, hi) = (d(1900, 1, 1), d(2025, 12, 31));
                let mut v: Vec<_> = luoghi::all_periods()
                    .filter_map(|l| {
                        let from = l.valid_from.map_or(lo, |f| f.max(lo));
                        let to = l.valid_to.map_or(hi, |t| t.min(hi));
                        (from <= to).then_some((l.code.as_str(), from, to))
                    })
                    .collect();
                v.sort();
                v
            });
        &P
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[A-Za-zÀÈÉÌÒÙàèéìòù' -]{0,20}").unwrap()
    }

    prop_compose! {
        fn dati_strategy()(
            cognome in name_strategy(),
            nome in name_strategy(),
            female in any::<bool>(),
            idx in any::<proptest::sample::Index>(),
            frac in 0.0f64..=1.0,
        ) -> DatiAnagrafici {
            let (code, from, to) = *idx.get(periods());
            let span = (to - from).num_days();
            let data_nascita = from + chrono::Duration::days((span as f64 * frac) as i64);
            DatiAnagrafici {
                cognome,
                nome,
                data_nascita,
                sesso: if female { Sesso::F } else { Sesso::M },
                luogo_nascita: code.to_owned(),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn ana_3_generated_codes_parse_and_match_their_data(dati in dati_strategy()) {
            let cf = genera(&dati);
            for n in 0..=7 {
                let variant = cf.with_omocodia(n);
                let parsed = CodiceFiscale::parse(variant.as_str());
                prop_assert_eq!(parsed.as_ref(), Ok(&variant));
                prop_assert_eq!(variant.is_omocodico(), n > 0);
                prop_assert!(variant.conflicts(&dati).is_empty(), "{:?}", variant.conflicts(&dati));
                prop_assert_eq!(variant.data_nascita(d(2025, 12, 31)).format("%m-%d").to_string(),
                    dati.data_nascita.format("%m-%d").to_string());
            }
        }

        #[test]
        fn ana_2_any_single_character_change_is_refused(
            dati in dati_strategy(),
            n in 0usize..=7,
            pos in 0usize..16,
            shift in 1usize..36,
        ) {
            const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            let cf = genera(&dati).with_omocodia(n);
            let original = cf.as_str().as_bytes()[pos];
            let at = ALPHABET.iter().position(|&c| c == original).unwrap();
            let replacement = char::from(ALPHABET[(at + shift) % 36]);
            let mut s = cf.as_str().to_owned();
            s.replace_range(pos..=pos, &replacement.to_string());
            prop_assert!(CodiceFiscale::parse(&s).is_err(), "{}", s);
        }
    }
}
