//! What the clients call: the operations of a mix, their weights, and the seeded choice of the
//! next one.

use std::fmt;
use std::str::FromStr;

/// One kind of client call, each through the gateway's public services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// `PrestazioniService/InsertPrestazione`: a CPO of a funded company (PRE-1..PRE-10), counted
    /// as successful only when ACCEPTED.
    Insert,
    /// `PrestazioniService/CheckPrestazione`: the what-if of a slot's CPO, nothing stored;
    /// successful when admissible.
    Check,
    /// `PrestazioniService/GetHeadroom`: a company's limits with one of its workers (PRE-8).
    Headroom,
    /// `AnagraficaService/GetSoggetto`: a company or a worker reads its own registry record.
    Soggetto,
    /// `ComunicazioniService/InsertComunicazione`: a company sends a LAO communication (P) for
    /// one of its workers (LAO-3..LAO-5).
    Lao,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::Insert,
        Operation::Check,
        Operation::Headroom,
        Operation::Soggetto,
        Operation::Lao,
    ];

    /// The name `--mix` takes.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Check => "check",
            Operation::Headroom => "headroom",
            Operation::Soggetto => "soggetto",
            Operation::Lao => "lao",
        }
    }

    /// The RPC it calls.
    pub fn rpc(self) -> &'static str {
        match self {
            Operation::Insert => "InsertPrestazione",
            Operation::Check => "CheckPrestazione",
            Operation::Headroom => "GetHeadroom",
            Operation::Soggetto => "GetSoggetto",
            Operation::Lao => "InsertComunicazione",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Operation::Insert => 0,
            Operation::Check => 1,
            Operation::Headroom => 2,
            Operation::Soggetto => 3,
            Operation::Lao => 4,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The weights of the operations: each call is `op` with probability weight(op) / sum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    weights: [u32; 5],
}

impl Mix {
    /// The mix of `occasionali bench` unless told: mostly insertions, as a working day is.
    pub const DEFAULT: &'static str = "insert=60,check=15,headroom=10,soggetto=10,lao=5";

    /// Only `op` (the cargo bench's insert-only load).
    pub fn only(op: Operation) -> Mix {
        let mut weights = [0; 5];
        weights[op.index()] = 1;
        Mix { weights }
    }

    /// Every operation with the same weight (the end-to-end test calls each one).
    pub fn even() -> Mix {
        Mix { weights: [1; 5] }
    }

    pub fn weight(&self, op: Operation) -> u32 {
        self.weights[op.index()]
    }

    /// The operations with a weight, in the order of [`Operation::ALL`].
    pub fn operations(&self) -> Vec<Operation> {
        Operation::ALL
            .into_iter()
            .filter(|op| self.weight(*op) > 0)
            .collect()
    }

    fn total(&self) -> u64 {
        self.weights.iter().map(|w| u64::from(*w)).sum()
    }

    /// The operation a draw of `dice` picks.
    pub fn pick(&self, dice: &mut Dice) -> Operation {
        let mut r = dice.below(self.total());
        for op in Operation::ALL {
            let w = u64::from(self.weight(op));
            if r < w {
                return op;
            }
            r -= w;
        }
        // Unreachable for a parsed mix (its total is positive); the first operation keeps the
        // function total without a panic.
        Operation::Insert
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .operations()
            .into_iter()
            .map(|op| format!("{op}={}", self.weight(op)))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `name=weight` pairs separated by commas, e.g. `insert=60,check=15,lao=5`: each name once,
    /// whole weights, at least one of them positive. Every mistake is named, with what is
    /// expected.
    fn from_str(s: &str) -> Result<Mix, String> {
        let names = || {
            Operation::ALL
                .iter()
                .map(|op| op.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut weights = [0u32; 5];
        let mut seen = [false; 5];
        for part in s.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!(
                    "empty entry in \"{s}\": write name=weight pairs separated by commas, e.g. {}",
                    Mix::DEFAULT
                ));
            }
            let Some((name, weight)) = part.split_once('=') else {
                return Err(format!(
                    "\"{part}\" has no weight: write {}=<weight>, e.g. {}",
                    part,
                    Mix::DEFAULT
                ));
            };
            let name = name.trim();
            let Some(op) = Operation::ALL.into_iter().find(|op| op.name() == name) else {
                return Err(format!("unknown operation \"{name}\": the mix takes {}", names()));
            };
            let weight: u32 = weight.trim().parse().map_err(|_| {
                format!(
                    "the weight of {name} must be a whole number from 0 to {}, not \"{}\"",
                    u32::MAX,
                    weight.trim()
                )
            })?;
            if std::mem::replace(&mut seen[op.index()], true) {
                return Err(format!("{name} is named twice"));
            }
            weights[op.index()] = weight;
        }
        let mix = Mix { weights };
        if mix.total() == 0 {
            return Err(format!(
                "every weight is 0: give at least one of {} a positive weight",
                names()
            ));
        }
        Ok(mix)
    }
}

/// SplitMix64: a small generator whose sequence is fixed by its seed on every platform and
/// version, so a seed names the same choices in every run (a library generator may change its
/// algorithm between releases).
#[derive(Clone, Debug)]
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed)
    }

    /// A seed made of several numbers (seed, step, client…), each one changing every draw.
    pub fn from_parts(parts: &[u64]) -> Dice {
        let mut d = Dice(0x6f63_6361_7369_6f6e);
        for p in parts {
            d = Dice(d.roll() ^ p);
        }
        Dice(d.roll())
    }

    pub fn roll(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0); the modulo's bias is below 2^-40 for the ranges
    /// used here.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.roll() % n }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mix_parses_and_prints_back() {
        let m: Mix = Mix::DEFAULT.parse().unwrap();
        assert_eq!(m.weight(Operation::Insert), 60);
        assert_eq!(m.weight(Operation::Lao), 5);
        assert_eq!(m.to_string(), Mix::DEFAULT);
    }

    #[test]
    fn a_zero_weight_leaves_the_operation_out() {
        let m: Mix = "insert=1, check=0".parse().unwrap();
        assert_eq!(m.operations(), vec![Operation::Insert]);
        assert_eq!(m.to_string(), "insert=1");
    }

    #[test]
    fn every_mistake_is_named() {
        for (bad, says) in [
            (
                "insert=60,foo=3",
                "unknown operation \"foo\": the mix takes insert, check",
            ),
            ("insert", "\"insert\" has no weight"),
            ("insert=x", "the weight of insert must be a whole number"),
            ("insert=-1", "the weight of insert must be a whole number"),
            ("insert=1,insert=2", "insert is named twice"),
            ("insert=0,lao=0", "every weight is 0"),
            ("insert=1,,lao=1", "empty entry"),
            ("", "empty entry"),
        ] {
            let e = bad.parse::<Mix>().unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_seed_picks_the_same_operations_in_its_proportions() {
        let m: Mix = "insert=3,lao=1".parse().unwrap();
        let draw = |seed| {
            let mut d = Dice::from_parts(&[seed, 8, 1]);
            (0..4000).map(|_| m.pick(&mut d)).collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        let inserts = a.iter().filter(|op| **op == Operation::Insert).count();
        assert!((2800..3200).contains(&inserts), "{inserts}");
        assert!(
            a.iter()
                .all(|op| matches!(op, Operation::Insert | Operation::Lao))
        );
    }
}
