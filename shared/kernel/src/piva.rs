//! An organisation's codice fiscale / partita IVA: 11 digits, the last a check digit computed
//! with the Luhn-style algorithm of D.M. 23 dicembre 1976 (ANA-2).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PivaError {
    #[error("length is {found}, expected 11 digits")]
    Length { found: usize },
    #[error("must contain only digits")]
    NotDigits,
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { expected: char, found: char },
}

impl PivaError {
    /// Stable code for `ErrorInfo.reason` (AIP-193).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Length { .. } => "PIVA_LENGTH",
            Self::NotDigits => "PIVA_NOT_DIGITS",
            Self::CheckDigit { .. } => "PIVA_CHECK_DIGIT",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitaIva(String);

impl PartitaIva {
    pub fn parse(s: &str) -> Result<Self, PivaError> {
        let s = s.trim();
        let found = s.chars().count();
        if found != 11 {
            return Err(PivaError::Length { found });
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PivaError::NotDigits);
        }
        let bytes = s.as_bytes();
        let expected = check_digit(&bytes[..10]);
        let found = char::from(bytes[10]);
        if expected != found {
            return Err(PivaError::CheckDigit { expected, found });
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form safe for logs: first 3 and last digit.
    pub fn masked(&self) -> String {
        crate::mask(&self.0, 3, 1)
    }
}

/// Check digit over the first 10 ASCII digits: odd positions (1-based) as they are, even
/// positions doubled with 9 subtracted above 9.
pub(crate) fn check_digit(first10: &[u8]) -> char {
    let sum: u32 = first10
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b.wrapping_sub(b'0') % 10);
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

impl std::str::FromStr for PartitaIva {
    type Err = PivaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for PartitaIva {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartitaIva {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masked, like every identifier of a subject (GW-5).
impl fmt::Debug for PartitaIva {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PartitaIva").field(&self.masked()).finish()
    }
}

crate::serde_via_str!(PartitaIva);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ana_2_known_partite_iva() {
        for ok in ["00743110157", "01114601006", "12345678903", " 00743110157"] {
            assert!(PartitaIva::parse(ok).is_ok(), "{ok}");
        }
        let p = PartitaIva::parse("00743110157").unwrap();
        assert_eq!(p.as_str(), "00743110157");
        assert_eq!(p.to_string(), "00743110157");
        assert_eq!(p.masked(), "007*******7");
        assert_eq!(format!("{p:?}"), "PartitaIva(\"007*******7\")");
    }

    #[test]
    fn ana_2_each_error() {
        let e = PartitaIva::parse("0074311015").unwrap_err();
        assert_eq!(e, PivaError::Length { found: 10 });
        assert_eq!(e.reason(), "PIVA_LENGTH");
        let e = PartitaIva::parse("0074311015A").unwrap_err();
        assert_eq!(e, PivaError::NotDigits);
        assert_eq!(e.reason(), "PIVA_NOT_DIGITS");
        let e = PartitaIva::parse("00743110158").unwrap_err();
        assert_eq!(
            e,
            PivaError::CheckDigit {
                expected: '7',
                found: '8'
            }
        );
        assert_eq!(e.reason(), "PIVA_CHECK_DIGIT");
        assert_eq!(e.to_string(), "check digit is 8, expected 7");
    }

    proptest! {
        #[test]
        fn ana_2_any_single_digit_change_is_refused(
            body in "[0-9]{10}",
            pos in 0usize..11,
            shift in 1u8..10,
        ) {
            let valid = format!("{body}{}", check_digit(body.as_bytes()));
            prop_assert!(PartitaIva::parse(&valid).is_ok());
            let from = valid.as_bytes()[pos] - b'0';
            let replacement = char::from(b'0' + (from + shift) % 10);
            let mut changed = valid.clone();
            changed.replace_range(pos..=pos, &replacement.to_string());
            prop_assert!(PartitaIva::parse(&changed).is_err(), "{}", changed);
        }
    }
}
