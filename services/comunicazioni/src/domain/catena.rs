//! The P → V → … → A chain as a state machine (LAO-6, LAO-8, LAO-9, LAO-11).
//!
//! A communication is the head of its chain while nothing replaced it. A V or an A may only
//! replace a head that is a P or a V; an A ends the chain. Whether the replacement wins a race
//! is the store's business (a conditional update in the same transaction, LAO-11).

use chrono::NaiveDate;

use super::{Errore, Tipo};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Azione {
    Variazione,
    Annullamento,
}

impl Azione {
    /// The rule of what the action may replace: LAO-6 for a V, LAO-9 for an A.
    pub fn rule(self) -> &'static str {
        match self {
            Azione::Variazione => "LAO-6",
            Azione::Annullamento => "LAO-9",
        }
    }
}

/// When a variation is sent, relative to the start date of the head it varies (Rome dates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fase {
    /// Up to the start date, inclusive: everything but the two CFs may change (LAO-7).
    FinoAllInizio,
    /// From the day after: only document, permit and domicile may change (LAO-8).
    DopoLInizio,
}

/// The state of the communication a V or A targets.
#[derive(Clone, Copy, Debug)]
pub struct Bersaglio<'a> {
    pub tipo: Tipo,
    /// The communication that already replaced it, if any.
    pub successiva: Option<&'a str>,
    /// The current head of its chain (itself when it is the head).
    pub testa_attuale: &'a str,
    pub data_inizio: NaiveDate,
}

/// Whether `azione` may replace `b` today, and in which phase (LAO-6, LAO-8, LAO-9).
pub fn transizione(azione: Azione, b: &Bersaglio<'_>, oggi: NaiveDate) -> Result<Fase, Errore> {
    if b.successiva.is_some() {
        return Err(Errore::NonInTesta {
            azione,
            testa: b.testa_attuale.to_string(),
        });
    }
    if b.tipo == Tipo::A {
        return Err(Errore::CatenaAnnullata { azione });
    }
    let fase = if oggi <= b.data_inizio {
        Fase::FinoAllInizio
    } else {
        Fase::DopoLInizio
    };
    if azione == Azione::Annullamento && fase == Fase::DopoLInizio {
        return Err(Errore::AnnullamentoDopoLInizio {
            data_inizio: b.data_inizio,
        });
    }
    Ok(fase)
}

/// The actions a communication allows today, from its chain state only (the caller's right to
/// act is LAO-1's business): the same answer [`transizione`] would give.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consentite {
    pub variabile: bool,
    pub annullabile: bool,
}

/// What a V or an A on a communication of type `tipo`, replaced by `successiva` (if any), with
/// start date `data_inizio`, would meet today (LAO-6, LAO-9). An A is never either.
pub fn consentite(
    tipo: Tipo,
    successiva: Option<&str>,
    data_inizio: NaiveDate,
    oggi: NaiveDate,
) -> Consentite {
    let b = Bersaglio {
        tipo,
        successiva,
        testa_attuale: "",
        data_inizio,
    };
    Consentite {
        variabile: transizione(Azione::Variazione, &b, oggi).is_ok(),
        annullabile: transizione(Azione::Annullamento, &b, oggi).is_ok(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn reason(e: &Errore) -> String {
        e.reason().to_string()
    }

    #[test]
    fn lao_6_9_transitions() {
        let start = d("2026-06-20");
        let head = |tipo, successiva| Bersaglio {
            tipo,
            successiva,
            testa_attuale: "HEAD",
            data_inizio: start,
        };
        use Azione::*;
        let ok = |f| Ok::<Fase, String>(f);
        let cases: Vec<(Azione, Bersaglio<'_>, &str, Result<Fase, String>)> = vec![
            (
                Variazione,
                head(Tipo::P, None),
                "2026-06-19",
                ok(Fase::FinoAllInizio),
            ),
            (
                Variazione,
                head(Tipo::V, None),
                "2026-06-20",
                ok(Fase::FinoAllInizio),
            ),
            (
                Variazione,
                head(Tipo::P, None),
                "2026-06-21",
                ok(Fase::DopoLInizio),
            ),
            (
                Variazione,
                head(Tipo::V, None),
                "2027-01-01",
                ok(Fase::DopoLInizio),
            ),
            (
                Annullamento,
                head(Tipo::P, None),
                "2026-06-20",
                ok(Fase::FinoAllInizio),
            ),
            (
                Annullamento,
                head(Tipo::V, None),
                "2026-06-21",
                Err("LAO_9_AFTER_START".into()),
            ),
            (
                Variazione,
                head(Tipo::P, Some("NEXT")),
                "2026-06-19",
                Err("LAO_6_NOT_HEAD".into()),
            ),
            (
                Annullamento,
                head(Tipo::V, Some("NEXT")),
                "2026-06-19",
                Err("LAO_9_NOT_HEAD".into()),
            ),
            (
                Variazione,
                head(Tipo::A, None),
                "2026-06-19",
                Err("LAO_6_CHAIN_CANCELLED".into()),
            ),
            (
                Annullamento,
                head(Tipo::A, None),
                "2026-06-19",
                Err("LAO_9_CHAIN_CANCELLED".into()),
            ),
        ];
        for (azione, b, oggi, expected) in cases {
            let got = transizione(azione, &b, d(oggi)).map_err(|e| reason(&e));
            assert_eq!(got, expected, "{azione:?} on {b:?} at {oggi}");
        }
    }

    #[test]
    fn lao_2_azioni_consentite() {
        let start = d("2026-06-20");
        let both = Consentite {
            variabile: true,
            annullabile: true,
        };
        let none = Consentite::default();
        let cases = [
            (Tipo::P, None, "2026-06-20", both),
            (Tipo::V, None, "2026-06-19", both),
            (
                Tipo::V,
                None,
                "2026-06-21",
                Consentite {
                    variabile: true,
                    annullabile: false,
                },
            ),
            (Tipo::P, Some("NEXT"), "2026-06-19", none),
            // An A is the head of the chain it ends, yet allows nothing.
            (Tipo::A, None, "2026-06-19", none),
        ];
        for (tipo, successiva, oggi, expected) in cases {
            assert_eq!(
                consentite(tipo, successiva, start, d(oggi)),
                expected,
                "{tipo:?} {successiva:?} {oggi}"
            );
        }
    }
}
