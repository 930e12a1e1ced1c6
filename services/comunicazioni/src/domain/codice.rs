//! The codice comunicazione (LAO-5): unique, assigned by the system, not guessable, and
//! self-checking so that a mistyped code is told apart from an unknown one.
//!
//! Shape: 13 random characters and one check character, 14 in all, from the 32 characters of
//! Crockford's base 32 (digits and capitals without I, L, O and U, which are easily misread).
//! The random part carries 65 bits from a CSPRNG: a Soggetto Abilitato who does not know a
//! code cannot find one (LAO-1). The check character is Luhn mod 32, which catches every
//! single wrong character and every swap of two adjacent different characters.

use std::fmt;

use rand::Rng;

pub const ALFABETO: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const N: u32 = 32;
/// Random characters before the check character.
pub const CASUALI: usize = 13;
pub const LUNGHEZZA: usize = CASUALI + 1;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodiceError {
    #[error("is {found} characters long, a codice comunicazione has {LUNGHEZZA}")]
    Lunghezza { found: usize },
    #[error("character {position} is not allowed (digits and capital letters except I, L, O, U)")]
    Carattere { position: usize },
    #[error("the check character does not match: the code was mistyped")]
    Controllo,
}

impl CodiceError {
    /// Stable code for `ErrorInfo.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            CodiceError::Lunghezza { .. } => "LAO_5_CODICE_LENGTH",
            CodiceError::Carattere { .. } => "LAO_5_CODICE_CHARACTER",
            CodiceError::Controllo => "LAO_5_CODICE_CHECK_CHARACTER",
        }
    }
}

/// A well-formed codice comunicazione (whether it exists is the store's business).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceComunicazione(String);

fn valore(c: u8) -> Option<u32> {
    ALFABETO
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// Luhn mod N over `body` values: the character that makes the whole code check.
fn carattere_di_controllo(body: &[u32]) -> u8 {
    let mut fattore = 2;
    let mut somma = 0;
    for &v in body.iter().rev() {
        let addendo = fattore * v;
        somma += addendo / N + addendo % N;
        fattore = if fattore == 2 { 1 } else { 2 };
    }
    let check = (N - somma % N) % N;
    ALFABETO[check as usize]
}

fn verifica(values: &[u32]) -> bool {
    let mut fattore = 1;
    let mut somma = 0;
    for &v in values.iter().rev() {
        let addendo = fattore * v;
        somma += addendo / N + addendo % N;
        fattore = if fattore == 2 { 1 } else { 2 };
    }
    somma % N == 0
}

impl CodiceComunicazione {
    /// A fresh code from `rng` (the service passes the thread-local CSPRNG).
    pub fn genera<R: Rng + ?Sized>(rng: &mut R) -> CodiceComunicazione {
        let body: Vec<u32> = (0..CASUALI).map(|_| rng.random_range(0..N)).collect();
        let mut s: String = body.iter().map(|&v| char::from(ALFABETO[v as usize])).collect();
        s.push(char::from(carattere_di_controllo(&body)));
        CodiceComunicazione(s)
    }

    /// Parses what a person typed: case, spaces and hyphens do not matter.
    pub fn parse(s: &str) -> Result<CodiceComunicazione, CodiceError> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let n = compact.chars().count();
        if n != LUNGHEZZA {
            return Err(CodiceError::Lunghezza { found: n });
        }
        let mut values = Vec::with_capacity(LUNGHEZZA);
        for (i, b) in compact.bytes().enumerate() {
            values.push(valore(b).ok_or(CodiceError::Carattere { position: i + 1 })?);
        }
        if !verifica(&values) {
            return Err(CodiceError::Controllo);
        }
        Ok(CodiceComunicazione(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for CodiceComunicazione {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CodiceComunicazione {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodiceComunicazione({})", self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codice(seed: u64) -> CodiceComunicazione {
        use rand::SeedableRng;
        CodiceComunicazione::genera(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    #[test]
    fn lao_5_generated_codes_parse_and_are_distinct() {
        let mut rng = rand::rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let c = CodiceComunicazione::genera(&mut rng);
            assert_eq!(c.as_str().len(), LUNGHEZZA);
            assert_eq!(CodiceComunicazione::parse(c.as_str()), Ok(c.clone()));
            assert!(seen.insert(c));
        }
    }

    #[test]
    fn lao_5_typing_variants_are_accepted() {
        let c = codice(1);
        let s = c.as_str();
        let spaced = format!("{}-{} {}", &s[..4], &s[4..9], &s[9..]).to_lowercase();
        assert_eq!(CodiceComunicazione::parse(&spaced), Ok(c));
    }

    #[test]
    fn lao_5_malformed_codes_are_refused() {
        assert_eq!(
            CodiceComunicazione::parse("ABC"),
            Err(CodiceError::Lunghezza { found: 3 })
        );
        let c = codice(2).into_string();
        let with_o = format!("O{}", &c[1..]);
        assert_eq!(
            CodiceComunicazione::parse(&with_o),
            Err(CodiceError::Carattere { position: 1 })
        );
    }

    proptest! {
        #[test]
        fn lao_5_every_single_substitution_is_caught(seed in any::<u64>(), pos in 0..LUNGHEZZA, delta in 1..32u32) {
            let c = codice(seed).into_string();
            let mut b = c.into_bytes();
            let v = valore(b[pos]).unwrap();
            b[pos] = ALFABETO[((v + delta) % N) as usize];
            let typo = String::from_utf8(b).unwrap();
            prop_assert_eq!(CodiceComunicazione::parse(&typo), Err(CodiceError::Controllo));
        }

        #[test]
        fn lao_5_adjacent_swaps_are_caught(seed in any::<u64>(), pos in 0..LUNGHEZZA - 1) {
            let c = codice(seed).into_string();
            let mut b = c.into_bytes();
            prop_assume!(b[pos] != b[pos + 1]);
            // Luhn mod N misses one pair only: the two characters worth 0 and N-1 swapped.
            let (x, y) = (valore(b[pos]).unwrap(), valore(b[pos + 1]).unwrap());
            prop_assume!(!(x.min(y) == 0 && x.max(y) == N - 1));
            b.swap(pos, pos + 1);
            let typo = String::from_utf8(b).unwrap();
            prop_assert_eq!(CodiceComunicazione::parse(&typo), Err(CodiceError::Controllo));
        }
    }
}
