//! ANA-7: whether an utilizzatore's new categoria or ATECO code would contradict its open CPO
//! prestazioni (PRE-4, PRE-6).

use super::prestazione::Prestazione;
use super::regole::Regole;
use super::stato::Stato;

/// A rule a prestazione would break under the new profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoerenza {
    pub prestazione_id: String,
    pub rule: &'static str,
    pub description: &'static str,
}

/// Still open: not refused, revoked or paid.
pub fn aperta(p: &Prestazione) -> bool {
    matches!(p.stato, Stato::Pending | Stato::Accepted | Stato::Contested)
}

/// What `p` (an open CPO, `regole` of its year) would break if the utilizzatore became
/// `categoria` (lowercase) with `ateco` (empty: unchanged).
pub fn incoerenze(p: &Prestazione, regole: &Regole, categoria: &str, ateco: &str) -> Vec<Incoerenza> {
    let finalita = p.dichiarazione.finalita_pa();
    let mut out = Vec::new();
    let mut add = |rule, description| {
        out.push(Incoerenza {
            prestazione_id: p.id.clone(),
            rule,
            description,
        })
    };
    let pa = categoria == "pubblica_amministrazione";
    if pa && !finalita {
        add(
            "PRE-6",
            "a public administration must state a purpose, this prestazione has none",
        );
    }
    if !pa && finalita {
        add("PRE-6", "only a public administration states a purpose");
    }
    if !ateco.is_empty() && regole.settore_escluso(ateco) {
        add("PRE-4", "the new ATECO code is excluded from the CPO");
    }
    if categoria == "impresa_agricola" && !regole.agricoltura_ammessa {
        add(
            "PRE-4",
            "agriculture is excluded from the CPO in the prestazione's year",
        );
    }
    out
}
