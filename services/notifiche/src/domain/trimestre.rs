//! Calendar quarters and the domestic-work payment windows (NOT-7).

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// The first quarter the campaign looks at (NOT-3: "a quarter since Q1 2026").
pub const PRIMO: Trimestre = Trimestre {
    anno: 2026,
    numero: 1,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Trimestre {
    pub anno: i32,
    /// 1-4.
    pub numero: u8,
}

impl Trimestre {
    pub fn new(anno: i32, numero: i32) -> Option<Trimestre> {
        ((1..=4).contains(&numero) && (1900..=9999).contains(&anno)).then_some(Trimestre {
            anno,
            numero: numero as u8,
        })
    }

    pub fn di(data: NaiveDate) -> Trimestre {
        Trimestre {
            anno: data.year(),
            numero: ((data.month() - 1) / 3 + 1) as u8,
        }
    }

    pub fn successivo(self) -> Trimestre {
        if self.numero == 4 {
            Trimestre {
                anno: self.anno + 1,
                numero: 1,
            }
        } else {
            Trimestre {
                anno: self.anno,
                numero: self.numero + 1,
            }
        }
    }

    /// The payment window of this quarter's contributions: the 1st to the 10th of the month
    /// after the quarter (April, July, October, January; NOT-7).
    pub fn finestra_pagamento(self) -> (NaiveDate, NaiveDate) {
        let s = self.successivo();
        let mese = (u32::from(s.numero) - 1) * 3 + 1;
        let inizio = NaiveDate::from_ymd_opt(s.anno, mese, 1).unwrap_or(NaiveDate::MIN);
        let fine = NaiveDate::from_ymd_opt(s.anno, mese, 10).unwrap_or(NaiveDate::MIN);
        (inizio, fine)
    }

    /// "1° trimestre 2026".
    pub fn etichetta(self) -> String {
        format!("{}° trimestre {}", self.numero, self.anno)
    }
}

impl fmt::Display for Trimestre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.anno, self.numero)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, g: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, g).unwrap_or_default()
    }

    #[test]
    fn not_7_payment_windows_are_the_first_ten_days_after_each_quarter() {
        let q = |a, n| Trimestre::new(a, n).unwrap_or(PRIMO);
        assert_eq!(q(2026, 1).finestra_pagamento(), (d(2026, 4, 1), d(2026, 4, 10)));
        assert_eq!(q(2026, 2).finestra_pagamento(), (d(2026, 7, 1), d(2026, 7, 10)));
        assert_eq!(q(2026, 3).finestra_pagamento(), (d(2026, 10, 1), d(2026, 10, 10)));
        assert_eq!(q(2026, 4).finestra_pagamento(), (d(2027, 1, 1), d(2027, 1, 10)));
    }

    #[test]
    fn quarters_of_dates_and_their_order() {
        assert_eq!(
            Trimestre::di(d(2026, 3, 31)),
            Trimestre {
                anno: 2026,
                numero: 1
            }
        );
        assert_eq!(
            Trimestre::di(d(2026, 4, 1)),
            Trimestre {
                anno: 2026,
                numero: 2
            }
        );
        assert!(
            Trimestre {
                anno: 2025,
                numero: 4
            } < PRIMO
        );
        assert_eq!(Trimestre::new(2026, 5), None);
        assert_eq!(Trimestre::new(2026, 0), None);
    }
}
