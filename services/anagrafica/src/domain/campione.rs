//! ANA-9: reproducible random samples of a list, drawn in one pass without loading the list.
//!
//! Each subject gets a score from a keyed hash of (seed, codice fiscale). A percentage keeps
//! the subjects whose score falls under the matching share of the score space; a size keeps the
//! n smallest scores. The same seed over the same list always draws the same subjects, whatever
//! order the list arrives in, and a different seed draws independently.

use std::collections::BinaryHeap;

/// The largest sample by size: it is held in memory until the list ends.
pub const MAX_CAMPIONE: usize = 100_000;

/// How large a sample is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dimensione {
    /// The `n` smallest scores ([`CampioneFisso`]).
    Numero(usize),
    /// The scores under `soglia` ([`soglia_percentuale`]); the percentage as the caller wrote
    /// it, for the audit.
    Percentuale { soglia: u64, come_chiesta: String },
}

impl Dimensione {
    /// The size, for the operators' audit (GW-5).
    pub fn misura(&self) -> String {
        match self {
            Dimensione::Numero(n) => format!("numero {n}"),
            Dimensione::Percentuale { come_chiesta, .. } => format!("percentuale {come_chiesta}"),
        }
    }
}

/// A stable 64-bit score: FNV-1a of the CF, mixed with the seed through SplitMix64.
pub fn punteggio(seed: u64, cf: &str) -> u64 {
    splitmix(occasionali_kernel::ids::fnv1a(cf.as_bytes()) ^ splitmix(seed))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// The share of the score space a percentage keeps: p in (0, 100], as basis points × 100
/// (two decimals of a percent are enough for sampling).
pub fn soglia_percentuale(centesimi_di_punto: u32) -> u64 {
    // score < threshold keeps ≈ p% of uniformly spread scores.
    let p = u128::from(centesimi_di_punto.min(10_000));
    ((u128::from(u64::MAX) + 1) * p / 10_000).min(u128::from(u64::MAX)) as u64
}

/// Keeps the `n` smallest-scoring items seen.
pub struct CampioneFisso<T> {
    n: usize,
    heap: BinaryHeap<(u64, String, Ordered<T>)>,
}

/// Wrapper so the payload does not take part in ordering.
pub struct Ordered<T>(pub T);

impl<T> PartialEq for Ordered<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Ordered<T> {}
impl<T> PartialOrd for Ordered<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Ordered<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T> CampioneFisso<T> {
    pub fn new(n: usize) -> Self {
        CampioneFisso {
            n,
            heap: BinaryHeap::with_capacity(n.min(100_000) + 1),
        }
    }

    pub fn offri(&mut self, seed: u64, cf: &str, item: T) {
        if self.n == 0 {
            return;
        }
        let score = punteggio(seed, cf);
        if self.heap.len() < self.n {
            self.heap.push((score, cf.to_string(), Ordered(item)));
        } else if let Some(top) = self.heap.peek() {
            // Ties broken by CF so the result does not depend on arrival order.
            if (score, cf) < (top.0, top.1.as_str()) {
                self.heap.pop();
                self.heap.push((score, cf.to_string(), Ordered(item)));
            }
        }
    }

    /// The sample, in score order.
    pub fn estrai(self) -> Vec<T> {
        let mut v = self.heap.into_vec();
        v.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        v.into_iter().map(|(_, _, Ordered(t))| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfs(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("CF{i:06}")).collect()
    }

    #[test]
    fn ana_9_same_seed_same_sample_whatever_the_order() {
        let list = cfs(1000);
        let mut a = CampioneFisso::new(25);
        for cf in &list {
            a.offri(42, cf, cf.clone());
        }
        let mut b = CampioneFisso::new(25);
        for cf in list.iter().rev() {
            b.offri(42, cf, cf.clone());
        }
        let (a, b) = (a.estrai(), b.estrai());
        assert_eq!(a.len(), 25);
        assert_eq!(a, b);
        let mut c = CampioneFisso::new(25);
        for cf in &list {
            c.offri(43, cf, cf.clone());
        }
        assert_ne!(a, c.estrai());
    }

    #[test]
    fn ana_9_percentage_is_roughly_right_and_reproducible() {
        let list = cfs(20_000);
        let t = soglia_percentuale(500); // 5%
        let picked: Vec<&String> = list.iter().filter(|cf| punteggio(7, cf) < t).collect();
        assert!((800..1200).contains(&picked.len()), "{}", picked.len());
        let again: Vec<&String> = list.iter().filter(|cf| punteggio(7, cf) < t).collect();
        assert_eq!(picked, again);
        assert_eq!(
            list.iter()
                .filter(|cf| punteggio(7, cf) < soglia_percentuale(10_000))
                .count(),
            list.len()
        );
    }

    #[test]
    fn ana_9_sample_larger_than_list_is_the_list() {
        let list = cfs(10);
        let mut s = CampioneFisso::new(50);
        for cf in &list {
            s.offri(1, cf, ());
        }
        assert_eq!(s.estrai().len(), 10);
    }
}
