//! The Gestione Separata warning: self-employed occasional income above 5,000 euro in a
//! calendar year must be registered with INPS's Gestione Separata (art. 44 c. 2 DL 269/2003).
//! It is a warning on the communication, never a refusal: the threshold is the worker's
//! business, not a limit on the committente.

use occasionali_kernel::Euro;

/// 5,000.00 euro, in cents.
pub const SOGLIA_GESTIONE_SEPARATA_CENTS: i64 = 500_000;
pub const CODICE_AVVISO: &str = "GESTIONE_SEPARATA_SOGLIA";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Avviso {
    pub codice: String,
    pub messaggio: String,
}

/// A worker's estimated compensations in one calendar year (year of the start date), over the
/// heads of chains that are not cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TotaleAnno {
    pub anno: i32,
    pub numero: i64,
    pub totale_cents: i64,
}

impl TotaleAnno {
    pub fn totale(&self) -> Euro {
        Euro::from_cents(self.totale_cents)
    }

    /// Strictly above 5,000.00 euro.
    pub fn supera_soglia(&self) -> bool {
        self.totale_cents > SOGLIA_GESTIONE_SEPARATA_CENTS
    }

    pub fn avviso(&self) -> Option<Avviso> {
        self.supera_soglia().then(|| Avviso {
            codice: CODICE_AVVISO.into(),
            messaggio: format!(
                "the worker's estimated compensations for {} total {} euro, above the 5000.00 euro threshold: registration with the INPS Gestione Separata is due",
                self.anno,
                self.totale()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_strictly_above_5000() {
        let t = |cents| TotaleAnno {
            anno: 2026,
            numero: 2,
            totale_cents: cents,
        };
        assert!(t(500_000).avviso().is_none());
        let a = t(500_001).avviso();
        assert_eq!(a.as_ref().map(|a| a.codice.as_str()), Some(CODICE_AVVISO));
        assert!(a.is_some_and(|a| a.messaggio.contains("5000.01")));
    }
}
