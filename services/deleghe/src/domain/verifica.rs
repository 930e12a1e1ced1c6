//! DEL-2: is there a delega letting this delegato act for this delegante in this ruolo at this
//! instant, and if not, why.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::calendar;

use super::{Delega, Ruolo};

/// The outcome of a check (DEL-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Esito {
    Valid,
    Missing,
    Expired,
    Revoked,
    WrongRuolo,
    NotYetValid,
}

impl Esito {
    pub const ALL: [Esito; 6] = [
        Esito::Valid,
        Esito::Missing,
        Esito::Expired,
        Esito::Revoked,
        Esito::WrongRuolo,
        Esito::NotYetValid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Esito::Valid => "valid",
            Esito::Missing => "missing",
            Esito::Expired => "expired",
            Esito::Revoked => "revoked",
            Esito::WrongRuolo => "wrong_ruolo",
            Esito::NotYetValid => "not_yet_valid",
        }
    }

    pub fn parse(s: &str) -> Option<Esito> {
        Esito::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// What the platform asks before a call on behalf of a delegante (DEL-2), decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct RichiestaVerifica {
    pub delegato_cf: String,
    pub delegante_cf: String,
    pub ruolo: Ruolo,
    /// The instant checked; none means now.
    pub at: Option<DateTime<Utc>>,
    /// The method the delega is used for, recorded with the outcome (DEL-4).
    pub rpc_path: String,
}

/// The outcome and the delega that decided it (none when MISSING).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifica {
    pub esito: Esito,
    pub delega_id: Option<String>,
}

impl Verifica {
    fn di(esito: Esito, d: Option<&Delega>) -> Verifica {
        Verifica {
            esito,
            delega_id: d.map(|d| d.id.clone()),
        }
    }
}

/// Checks `deleghe` (all the deleghe between one delegato and one delegante, any ruolo) for
/// `ruolo` at the instant `at`, on its Rome date. A revocation counts from its instant.
///
/// The most telling outcome wins, in this order:
/// 1. VALID: a delega of the ruolo, not revoked, whose period contains the date;
/// 2. REVOKED: a revoked delega of the ruolo that would otherwise be valid on the date;
/// 3. EXPIRED: a delega of the ruolo whose period ended (the latest end);
/// 4. NOT_YET_VALID: a delega of the ruolo whose period starts later (the earliest start);
/// 5. WRONG_RUOLO: a delega valid on the date, but for another ruolo;
/// 6. REVOKED: a revoked delega of the ruolo outside its period (it exists, but was revoked);
/// 7. MISSING.
pub fn verifica(deleghe: &[Delega], ruolo: Ruolo, at: DateTime<Utc>) -> Verifica {
    let giorno: NaiveDate = calendar::rome_date(at);
    let (revocate, attive): (Vec<&Delega>, Vec<&Delega>) = deleghe
        .iter()
        .filter(|d| d.ruolo == ruolo)
        .partition(|d| d.revocata_a(at));

    if let Some(d) = attive.iter().find(|d| d.validita.contiene(giorno)) {
        return Verifica::di(Esito::Valid, Some(d));
    }
    let revocata_nel_periodo = revocate
        .iter()
        .filter(|d| d.validita.contiene(giorno))
        .max_by_key(|d| d.revoca.as_ref().map(|r| r.il));
    if let Some(d) = revocata_nel_periodo {
        return Verifica::di(Esito::Revoked, Some(d));
    }
    let scaduta = attive
        .iter()
        .filter(|d| d.validita.al.is_some_and(|al| al < giorno))
        .max_by_key(|d| d.validita.al);
    if let Some(d) = scaduta {
        return Verifica::di(Esito::Expired, Some(d));
    }
    let futura = attive
        .iter()
        .filter(|d| giorno < d.validita.dal)
        .min_by_key(|d| d.validita.dal);
    if let Some(d) = futura {
        return Verifica::di(Esito::NotYetValid, Some(d));
    }
    let altro_ruolo = deleghe
        .iter()
        .filter(|d| d.ruolo != ruolo && !d.revocata_a(at) && d.validita.contiene(giorno))
        .min_by_key(|d| d.ruolo.as_str());
    if let Some(d) = altro_ruolo {
        return Verifica::di(Esito::WrongRuolo, Some(d));
    }
    if let Some(d) = revocate.iter().max_by_key(|d| d.revoca.as_ref().map(|r| r.il)) {
        return Verifica::di(Esito::Revoked, Some(d));
    }
    Verifica::di(Esito::Missing, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Revoca, Validita};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_default()
    }

    /// A delega `id` of `ruolo` for [dal, al], revoked at `revocata` if given.
    fn delega(id: &str, ruolo: Ruolo, dal: &str, al: Option<&str>, revocata: Option<&str>) -> Delega {
        Delega {
            id: id.into(),
            delegante_cf: "DELEGANTE".into(),
            delegato_cf: "DELEGATO".into(),
            ruolo,
            validita: Validita {
                dal: d(dal),
                al: al.map(d),
            },
            creata_il: t("2026-01-01T09:00:00Z"),
            creata_da_cf: "DELEGANTE".into(),
            nota: String::new(),
            request_id: None,
            revoca: revocata.map(|r| Revoca {
                il: t(r),
                da_cf: "DELEGANTE".into(),
                motivo: String::new(),
            }),
        }
    }

    const CAF: Ruolo = Ruolo::Caf;
    const PAT: Ruolo = Ruolo::Patronato;

    #[test]
    fn del_2_check_outcomes() {
        // 2026-06-15 12:00 in Rome.
        let at = "2026-06-15T10:00:00Z";
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<Delega>, &str, Esito, Option<&str>)> = vec![
            ("no delega at all", vec![], at, Esito::Missing, None),
            (
                "open-ended, started today",
                vec![delega("a", CAF, "2026-06-15", None, None)],
                at,
                Esito::Valid,
                Some("a"),
            ),
            (
                "last day is still valid",
                vec![delega("a", CAF, "2026-01-01", Some("2026-06-15"), None)],
                at,
                Esito::Valid,
                Some("a"),
            ),
            (
                "the Rome date decides: 23:30 UTC on the 14th is the 15th in Rome",
                vec![delega("a", CAF, "2026-06-15", None, None)],
                "2026-06-14T23:30:00Z",
                Esito::Valid,
                Some("a"),
            ),
            (
                "ended yesterday",
                vec![delega("a", CAF, "2026-01-01", Some("2026-06-14"), None)],
                at,
                Esito::Expired,
                Some("a"),
            ),
            (
                "starts tomorrow",
                vec![delega("a", CAF, "2026-06-16", None, None)],
                at,
                Esito::NotYetValid,
                Some("a"),
            ),
            (
                "revoked within its period",
                vec![delega("a", CAF, "2026-01-01", None, Some("2026-06-01T08:00:00Z"))],
                at,
                Esito::Revoked,
                Some("a"),
            ),
            (
                "revoked later than the instant checked: still valid then",
                vec![delega("a", CAF, "2026-01-01", None, Some("2026-06-20T08:00:00Z"))],
                at,
                Esito::Valid,
                Some("a"),
            ),
            (
                "a valid one wins over a revoked one",
                vec![
                    delega(
                        "old",
                        CAF,
                        "2026-01-01",
                        Some("2026-06-30"),
                        Some("2026-03-01T08:00:00Z"),
                    ),
                    delega("new", CAF, "2026-03-01", None, None),
                ],
                at,
                Esito::Valid,
                Some("new"),
            ),
            (
                "revoked wins over expired and not yet valid",
                vec![
                    delega("exp", CAF, "2025-01-01", Some("2025-12-31"), None),
                    delega(
                        "rev",
                        CAF,
                        "2026-01-01",
                        Some("2026-12-31"),
                        Some("2026-02-01T08:00:00Z"),
                    ),
                    delega("fut", CAF, "2027-01-01", None, None),
                ],
                at,
                Esito::Revoked,
                Some("rev"),
            ),
            (
                "expired wins over not yet valid",
                vec![
                    delega("fut", CAF, "2027-01-01", None, None),
                    delega("exp", CAF, "2025-01-01", Some("2025-12-31"), None),
                ],
                at,
                Esito::Expired,
                Some("exp"),
            ),
            (
                "the latest expired one is reported",
                vec![
                    delega("exp1", CAF, "2024-01-01", Some("2024-12-31"), None),
                    delega("exp2", CAF, "2025-01-01", Some("2025-12-31"), None),
                ],
                at,
                Esito::Expired,
                Some("exp2"),
            ),
            (
                "valid for another ruolo only",
                vec![delega("p", PAT, "2026-01-01", None, None)],
                at,
                Esito::WrongRuolo,
                Some("p"),
            ),
            (
                "an expired one of the ruolo tells more than another ruolo",
                vec![
                    delega("p", PAT, "2026-01-01", None, None),
                    delega("exp", CAF, "2025-01-01", Some("2025-12-31"), None),
                ],
                at,
                Esito::Expired,
                Some("exp"),
            ),
            (
                "another ruolo that is itself revoked or expired is no WRONG_RUOLO",
                vec![
                    delega("p1", PAT, "2026-01-01", None, Some("2026-02-01T08:00:00Z")),
                    delega("p2", PAT, "2025-01-01", Some("2025-12-31"), None),
                ],
                at,
                Esito::Missing,
                None,
            ),
            (
                "revoked outside its period: it existed, and was revoked",
                vec![delega(
                    "a",
                    CAF,
                    "2025-01-01",
                    Some("2025-12-31"),
                    Some("2025-06-01T08:00:00Z"),
                )],
                at,
                Esito::Revoked,
                Some("a"),
            ),
            (
                "a valid other ruolo tells more than a revoked one outside its period",
                vec![
                    delega(
                        "a",
                        CAF,
                        "2025-01-01",
                        Some("2025-12-31"),
                        Some("2025-06-01T08:00:00Z"),
                    ),
                    delega("p", PAT, "2026-01-01", None, None),
                ],
                at,
                Esito::WrongRuolo,
                Some("p"),
            ),
        ];
        for (name, deleghe, at, esito, id) in cases {
            let v = verifica(&deleghe, CAF, t(at));
            assert_eq!(
                v,
                Verifica {
                    esito,
                    delega_id: id.map(str::to_string)
                },
                "{name}"
            );
        }
    }

    #[test]
    fn del_2_outcome_names_round_trip() {
        for e in Esito::ALL {
            assert_eq!(Esito::parse(e.as_str()), Some(e));
        }
    }
}
