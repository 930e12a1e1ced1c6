//! Who the domestic-contributions campaign addresses (NOT-3) and what its guide lists.
//!
//! For the quarter T of a run: an employer under 76 on the day of the run, with at least one
//! working relationship in place (its latest known quarter up to T is not ENDED), for which a
//! quarter from Q1 2026 to T is unpaid (contributions paid less than due; when the amount due is
//! not known, an ACTIVE quarter with nothing paid). Each such worker is listed by first name with
//! each unpaid quarter; relationships that ended are not.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::trimestre::{PRIMO, Trimestre};

/// Employers are addressed only under this age (NOT-3).
pub const ETA_MASSIMA_ESCLUSA: u32 = 76;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatoRapporto {
    Attivo,
    Sospeso,
    Cessato,
}

impl StatoRapporto {
    pub fn as_str(self) -> &'static str {
        match self {
            StatoRapporto::Attivo => "active",
            StatoRapporto::Sospeso => "suspended",
            StatoRapporto::Cessato => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<StatoRapporto> {
        match s {
            "active" => Some(StatoRapporto::Attivo),
            "suspended" => Some(StatoRapporto::Sospeso),
            "ended" => Some(StatoRapporto::Cessato),
            _ => None,
        }
    }
}

/// A relationship's situation in one quarter (NOT-7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Situazione {
    pub trimestre: Trimestre,
    pub stato: StatoRapporto,
    pub dovuti: Option<Decimal>,
    pub pagati: Option<Decimal>,
}

impl Situazione {
    /// Unpaid: less paid than due; with no amount due known, an active quarter with nothing paid.
    pub fn non_pagata(&self) -> bool {
        if self.stato == StatoRapporto::Cessato {
            return false;
        }
        let pagati = self.pagati.unwrap_or_default();
        match self.dovuti {
            Some(d) => pagati < d,
            None => self.stato == StatoRapporto::Attivo && pagati.is_zero(),
        }
    }

    /// What is still due, where known.
    pub fn residuo(&self) -> Option<Decimal> {
        self.dovuti.map(|d| d - self.pagati.unwrap_or_default())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datore {
    pub codice_fiscale: String,
    pub nome: String,
    pub data_nascita: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rapporto {
    pub codice: String,
    pub lavoratore_nome: String,
    pub trimestri: Vec<Situazione>,
}

/// A worker as the guide lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LavoratoreInGuida {
    pub nome: String,
    pub non_pagati: Vec<Situazione>,
}

/// Completed years of age on `oggi`.
pub fn eta(nascita: NaiveDate, oggi: NaiveDate) -> u32 {
    let mut anni = oggi.year() - nascita.year();
    if (oggi.month(), oggi.day()) < (nascita.month(), nascita.day()) {
        anni -= 1;
    }
    anni.max(0) as u32
}

/// The workers to list in the employer's guide for quarter `t`, or None when the employer is not
/// addressed (too old, birth date unknown, nothing unpaid on a relationship in place).
pub fn seleziona(
    datore: &Datore,
    rapporti: &[Rapporto],
    t: Trimestre,
    oggi: NaiveDate,
) -> Option<Vec<LavoratoreInGuida>> {
    let nascita = datore.data_nascita?;
    if eta(nascita, oggi) >= ETA_MASSIMA_ESCLUSA {
        return None;
    }
    let mut lavoratori = Vec::new();
    for r in rapporti {
        let mut noti: Vec<&Situazione> = r.trimestri.iter().filter(|s| s.trimestre <= t).collect();
        noti.sort_by_key(|s| s.trimestre);
        let in_essere = noti.last().is_some_and(|s| s.stato != StatoRapporto::Cessato);
        if !in_essere {
            continue;
        }
        let non_pagati: Vec<Situazione> = noti
            .into_iter()
            .filter(|s| s.trimestre >= PRIMO && s.non_pagata())
            .cloned()
            .collect();
        if !non_pagati.is_empty() {
            lavoratori.push(LavoratoreInGuida {
                nome: r.lavoratore_nome.clone(),
                non_pagati,
            });
        }
    }
    (!lavoratori.is_empty()).then_some(lavoratori)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn q(a: i32, n: i32) -> Trimestre {
        Trimestre::new(a, n).unwrap_or(PRIMO)
    }
    fn d(y: i32, m: u32, g: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, g).unwrap_or_default()
    }
    fn s(t: Trimestre, stato: StatoRapporto, dovuti: &str, pagati: &str) -> Situazione {
        Situazione {
            trimestre: t,
            stato,
            dovuti: dovuti.parse().ok(),
            pagati: pagati.parse().ok(),
        }
    }
    fn datore(nascita: NaiveDate) -> Datore {
        Datore {
            codice_fiscale: "BNCLRA60A41H501X".into(),
            nome: "Laura".into(),
            data_nascita: Some(nascita),
        }
    }
    fn rapporto(nome: &str, trimestri: Vec<Situazione>) -> Rapporto {
        Rapporto {
            codice: format!("R-{nome}"),
            lavoratore_nome: nome.into(),
            trimestri,
        }
    }
    use StatoRapporto::*;

    #[test]
    fn not_3_age_is_under_76_on_the_day_of_the_run() {
        let r = [rapporto("Ana", vec![s(q(2026, 1), Attivo, "300", "0")])];
        let oggi = d(2026, 3, 1);
        assert!(
            seleziona(&datore(d(1950, 3, 2)), &r, q(2026, 1), oggi).is_some(),
            "75, 76 tomorrow"
        );
        assert!(
            seleziona(&datore(d(1950, 3, 1)), &r, q(2026, 1), oggi).is_none(),
            "76 today"
        );
        let ignoto = Datore {
            data_nascita: None,
            ..datore(d(1980, 1, 1))
        };
        assert!(seleziona(&ignoto, &r, q(2026, 1), oggi).is_none());
    }

    #[test]
    fn not_3_only_quarters_since_q1_2026_up_to_the_run_count() {
        let oggi = d(2026, 6, 1);
        let dt = datore(d(1970, 1, 1));
        let prima = [rapporto(
            "Ana",
            vec![
                s(q(2025, 4), Attivo, "300", "0"),
                s(q(2026, 1), Attivo, "300", "300"),
            ],
        )];
        assert!(
            seleziona(&dt, &prima, q(2026, 1), oggi).is_none(),
            "Q4 2025 is before Q1 2026"
        );
        let dopo = [rapporto(
            "Ana",
            vec![
                s(q(2026, 1), Attivo, "300", "300"),
                s(q(2026, 3), Attivo, "300", "0"),
            ],
        )];
        assert!(
            seleziona(&dt, &dopo, q(2026, 2), oggi).is_none(),
            "Q3 is after the run's quarter"
        );
        let l = seleziona(&dt, &dopo, q(2026, 3), oggi).unwrap_or_default();
        assert_eq!(l[0].non_pagati.len(), 1);
        assert_eq!(l[0].non_pagati[0].residuo(), Some(dec!(300)));
    }

    #[test]
    fn not_3_ended_relationships_are_not_addressed_suspended_ones_are() {
        let oggi = d(2026, 6, 1);
        let dt = datore(d(1970, 1, 1));
        let cessato = [rapporto(
            "Ana",
            vec![
                s(q(2026, 1), Attivo, "300", "0"),
                s(q(2026, 2), Cessato, "0", "0"),
            ],
        )];
        assert!(seleziona(&dt, &cessato, q(2026, 2), oggi).is_none());
        // Before it ended (a run for Q1), the same relationship was in place.
        assert!(seleziona(&dt, &cessato, q(2026, 1), oggi).is_some());
        let sospeso = [rapporto(
            "Ana",
            vec![
                s(q(2026, 1), Attivo, "300", "100"),
                s(q(2026, 2), Sospeso, "0", "0"),
            ],
        )];
        let l = seleziona(&dt, &sospeso, q(2026, 2), oggi).unwrap_or_default();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].non_pagati[0].residuo(), Some(dec!(200)));
    }

    #[test]
    fn not_3_paid_quarters_and_unknown_amounts() {
        let oggi = d(2026, 3, 1);
        let dt = datore(d(1970, 1, 1));
        let pagato = [rapporto("Ana", vec![s(q(2026, 1), Attivo, "300", "300")])];
        assert!(seleziona(&dt, &pagato, q(2026, 1), oggi).is_none());
        let ignoto = [rapporto("Ana", vec![s(q(2026, 1), Attivo, "", "")])];
        let l = seleziona(&dt, &ignoto, q(2026, 1), oggi).unwrap_or_default();
        assert_eq!(l[0].non_pagati[0].residuo(), None, "amount due unknown");
        let due = [
            rapporto("Ana", vec![s(q(2026, 1), Attivo, "300", "0")]),
            rapporto("Bogdan", vec![s(q(2026, 1), Attivo, "150", "150")]),
            rapporto("Chen", vec![s(q(2026, 1), Attivo, "90", "10")]),
        ];
        let nomi: Vec<String> = seleziona(&dt, &due, q(2026, 1), oggi)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.nome)
            .collect();
        assert_eq!(nomi, ["Ana", "Chen"]);
    }
}
