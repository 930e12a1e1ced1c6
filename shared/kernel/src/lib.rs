//! Domain primitives shared by every context: codice fiscale and partita IVA (ANA-2, ANA-3),
//! IBAN (ANA-4), money, the Europe/Rome calendar, the injectable clock, Belfiore/ISTAT places and
//! prefixed ids.
//!
//! Everything here is pure: the only data read is compiled in (`data/`), and the only clock read
//! is [`SystemClock`].
#![forbid(unsafe_code)]

pub mod ateco;
pub mod calendar;
pub mod cf;
pub mod clock;
pub mod euro;
pub mod iban;
pub mod identita;
pub mod ids;
pub mod luoghi;
pub mod piva;
pub mod violazioni;

use std::fmt;

pub use cf::{CfConflict, CfError, CodiceFiscale, DatiAnagrafici, Sesso};
pub use clock::{Clock, OffsetClock, SharedClock, SystemClock};
pub use euro::{Euro, EuroError};
pub use iban::{Iban, IbanError};
pub use piva::{PartitaIva, PivaError};

/// Either kind of codice fiscale, chosen by length (16 → person, 11 → organisation).
///
/// Organisations' codici fiscali are 11 digits and share the partita IVA algorithm (ANA-2).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum CodiceFiscaleSoggetto {
    Persona(CodiceFiscale),
    Organizzazione(PartitaIva),
}

impl CodiceFiscaleSoggetto {
    /// Parses either form; errors of the 11-digit form are reported with the [`CfError`]
    /// variants so that a single field has a single error type.
    pub fn parse(s: &str) -> Result<Self, CfError> {
        let trimmed = s.trim();
        match trimmed.chars().count() {
            11 => PartitaIva::parse(trimmed)
                .map(Self::Organizzazione)
                .map_err(|e| piva_to_cf_error(trimmed, e)),
            16 => CodiceFiscale::parse(trimmed).map(Self::Persona),
            found => Err(CfError::Length { found }),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Persona(cf) => cf.as_str(),
            Self::Organizzazione(piva) => piva.as_str(),
        }
    }

    /// The form safe for logs (GW-5).
    pub fn masked(&self) -> String {
        match self {
            Self::Persona(cf) => cf.masked(),
            Self::Organizzazione(piva) => piva.masked(),
        }
    }

    pub fn is_persona(&self) -> bool {
        matches!(self, Self::Persona(_))
    }
}

fn piva_to_cf_error(s: &str, e: PivaError) -> CfError {
    match e {
        PivaError::Length { found } => CfError::Length { found },
        PivaError::NotDigits => CfError::Character {
            position: s.chars().position(|c| !c.is_ascii_digit()).map_or(1, |p| p + 1),
            expected: "a digit",
        },
        PivaError::CheckDigit { expected, found } => CfError::CheckCharacter { expected, found },
    }
}

impl std::str::FromStr for CodiceFiscaleSoggetto {
    type Err = CfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CodiceFiscaleSoggetto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Masked: personal data must never reach logs (GW-5).
impl fmt::Debug for CodiceFiscaleSoggetto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Persona(cf) => f.debug_tuple("Persona").field(cf).finish(),
            Self::Organizzazione(p) => f.debug_tuple("Organizzazione").field(p).finish(),
        }
    }
}

impl serde::Serialize for CodiceFiscaleSoggetto {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CodiceFiscaleSoggetto {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde support for string-backed newtypes: serialised as their string, deserialised through
/// their parser so that no invalid value can enter via JSON (STYLE: parse, don't validate).
macro_rules! serde_via_str {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                <$ty>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_via_str;

/// `first` leading and `last` trailing characters kept, the rest starred, same length (GW-5).
pub(crate) fn mask(s: &str, first: usize, last: usize) -> String {
    let n = s.chars().count();
    if n <= first + last {
        return "*".repeat(n);
    }
    s.chars()
        .enumerate()
        .map(|(i, c)| if i < first || i >= n - last { c } else { '*' })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ana_2_soggetto_is_chosen_by_length() {
        let p = CodiceFiscaleSoggetto::parse("RSSMRA85T10A562S").unwrap();
        assert!(p.is_persona());
        assert_eq!(p.as_str(), "RSSMRA85T10A562S");
        assert_eq!(p.masked(), "RSS************S");
        let o = CodiceFiscaleSoggetto::parse(" 00743110157 ").unwrap();
        assert!(!o.is_persona());
        assert_eq!(o.to_string(), "00743110157");
        assert_eq!(o.masked(), "007*******7");
        assert!(!format!("{o:?}").contains("00743110157"));
        assert!(!format!("{p:?}").contains("RSSMRA85T10A562S"));
    }

    #[test]
    fn ana_2_soggetto_errors_are_cf_errors() {
        assert_eq!(
            CodiceFiscaleSoggetto::parse("1234"),
            Err(CfError::Length { found: 4 })
        );
        assert_eq!(
            CodiceFiscaleSoggetto::parse("0074311015A"),
            Err(CfError::Character {
                position: 11,
                expected: "a digit"
            })
        );
        assert_eq!(
            CodiceFiscaleSoggetto::parse("00743110158"),
            Err(CfError::CheckCharacter {
                expected: '7',
                found: '8'
            })
        );
    }

    #[test]
    fn soggetto_serde_round_trip() {
        let o = CodiceFiscaleSoggetto::parse("00743110157").unwrap();
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(json, "\"00743110157\"");
        assert_eq!(serde_json::from_str::<CodiceFiscaleSoggetto>(&json).unwrap(), o);
        assert!(serde_json::from_str::<CodiceFiscaleSoggetto>("\"00743110158\"").is_err());
    }

    #[test]
    fn mask_keeps_length() {
        assert_eq!(mask("ABCDEFGH", 2, 2), "AB****GH");
        assert_eq!(mask("ABC", 2, 2), "***");
    }
}
