//! PRE-8, PRE-9: the annual limits. Each is a counter per kind, year and subjects; a prestazione
//! asks each for a quota, taken within the limit in the inserting transaction and given back by
//! a rejection or a revoca.

use occasionali_kernel::Euro;
use rust_decimal::Decimal;

use super::dichiarazione::{Dichiarazione, Tipo};
use super::regole::{Costo, Regole, frazione};
use super::soggetti::Utilizzatore;
use super::verifiche::Violazione;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TipoLimite {
    Prestatore,
    Utilizzatore,
    Coppia,
    OreCoppia,
}

/// What a prestazione asks of one annual limit (PRE-8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    pub tipo: TipoLimite,
    /// Counter row id: kind, year and subjects.
    pub id: String,
    pub anno: i32,
    pub prestatore_cf: String,
    pub utilizzatore_cf: String,
    /// Cents (euro limits) or minutes (hours per pair).
    pub limite: i64,
    pub richiesto: i64,
}

impl Quota {
    pub fn nuova(
        tipo: TipoLimite,
        anno: i32,
        prestatore_cf: &str,
        utilizzatore_cf: &str,
        limite: i64,
    ) -> Quota {
        Quota {
            tipo,
            id: id_contatore(tipo, anno, prestatore_cf, utilizzatore_cf),
            anno,
            prestatore_cf: prestatore_cf.to_string(),
            utilizzatore_cf: utilizzatore_cf.to_string(),
            limite,
            richiesto: 0,
        }
    }

    fn richiede(self, richiesto: i64) -> Quota {
        Quota { richiesto, ..self }
    }
}

/// A quota taken from a counter, kept on the prestazione so that it can be given back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaPresa {
    pub id: String,
    pub valore: i64,
}

pub fn id_contatore(tipo: TipoLimite, anno: i32, prestatore_cf: &str, utilizzatore_cf: &str) -> String {
    match tipo {
        TipoLimite::Prestatore => format!("P:{anno}:{prestatore_cf}"),
        TipoLimite::Utilizzatore => format!("U:{anno}:{utilizzatore_cf}"),
        TipoLimite::Coppia => format!("C:{anno}:{prestatore_cf}:{utilizzatore_cf}"),
        TipoLimite::OreCoppia => format!("H:{anno}:{prestatore_cf}:{utilizzatore_cf}"),
    }
}

/// The prefix of every pair counter of an utilizzatore in a year (a `LIKE` pattern).
pub fn prefisso_coppie(anno: i32, utilizzatore_cf: &str) -> String {
    format!("C:{anno}:%:{utilizzatore_cf}")
}

/// The prestatore of a pair counter's id.
pub fn prestatore_della_coppia(id: &str) -> String {
    id.split(':').nth(2).unwrap_or_default().to_string()
}

/// The quotas a declaration asks (PRE-8): the prestatore's, the utilizzatore's (special
/// categories at the year's percentage), the pair's, and for a CPO the pair's hours.
pub fn quote(
    d: &Dichiarazione,
    r: &Regole,
    u: Option<&Utilizzatore>,
    anno: i32,
    minuti: i64,
    costo: &Costo,
    speciale: bool,
) -> Vec<Quota> {
    let ateco = u
        .and_then(|u| match d.tipo() {
            Tipo::Cpo => u.cpo.as_ref(),
            Tipo::Lf => u.lf.as_ref(),
        })
        .map(|p| p.ateco.clone())
        .unwrap_or_default();
    let compenso = costo.compenso.cents();
    let quota_u = if speciale {
        Euro::from_cents(compenso)
            .percent_half_up(frazione(r.percentuale_categorie_speciali))
            .cents()
    } else {
        compenso
    };
    let (pcf, ucf) = (d.prestatore_cf.as_str(), d.utilizzatore_cf.as_str());
    let q = |tipo, limite, richiesto| Quota::nuova(tipo, anno, pcf, ucf, limite).richiede(richiesto);
    let mut quote = vec![
        q(TipoLimite::Prestatore, r.limite_prestatore, compenso),
        q(
            TipoLimite::Utilizzatore,
            r.limite_utilizzatore_per(&ateco),
            quota_u,
        ),
        q(TipoLimite::Coppia, r.limite_coppia, compenso),
    ];
    if d.tipo() == Tipo::Cpo {
        quote.push(q(TipoLimite::OreCoppia, i64::from(r.ore_coppia) * 60, minuti));
    }
    quote
}

/// The limits a headroom question is about (PRE-8): a prestatore's own; an utilizzatore's own and
/// those of each pair it has (`coppie`: their prestatori); or the four of one pair.
pub fn da_consultare(
    r: &Regole,
    anno: i32,
    prestatore_cf: Option<&str>,
    utilizzatore_cf: Option<&str>,
    ateco: &str,
    coppie: &[String],
) -> Option<Vec<Quota>> {
    let q = |tipo, p: &str, u: &str, limite| Quota::nuova(tipo, anno, p, u, limite);
    let ore = i64::from(r.ore_coppia) * 60;
    let mut quote = Vec::new();
    match (prestatore_cf, utilizzatore_cf) {
        (Some(p), None) => quote.push(q(TipoLimite::Prestatore, p, "", r.limite_prestatore)),
        (None, Some(u)) => {
            quote.push(q(
                TipoLimite::Utilizzatore,
                "",
                u,
                r.limite_utilizzatore_per(ateco),
            ));
            for p in coppie {
                quote.push(q(TipoLimite::Coppia, p, u, r.limite_coppia));
                quote.push(q(TipoLimite::OreCoppia, p, u, ore));
            }
        }
        (Some(p), Some(u)) => {
            quote.push(q(TipoLimite::Prestatore, p, u, r.limite_prestatore));
            quote.push(q(
                TipoLimite::Utilizzatore,
                p,
                u,
                r.limite_utilizzatore_per(ateco),
            ));
            quote.push(q(TipoLimite::Coppia, p, u, r.limite_coppia));
            quote.push(q(TipoLimite::OreCoppia, p, u, ore));
        }
        (None, None) => return None,
    }
    Some(quote)
}

/// One limit as it stands: used, left, and (for a declaration) requested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatoLimite {
    pub quota: Quota,
    pub usato: i64,
    /// `None` for plain headroom.
    pub richiesto: Option<i64>,
    /// The request does not fit in what is left (or lost the race for it, PRE-9).
    pub superato: bool,
}

impl StatoLimite {
    pub fn nuovo(quota: &Quota, usato: i64, richiesto: Option<i64>) -> StatoLimite {
        let residuo = (quota.limite - usato).max(0);
        StatoLimite {
            quota: quota.clone(),
            usato,
            richiesto,
            superato: richiesto.is_some_and(|r| r > residuo),
        }
    }

    /// What a declaration asks of `quota`, `usato` being taken already.
    pub fn per_richiesta(quota: &Quota, usato: i64) -> StatoLimite {
        StatoLimite::nuovo(quota, usato, Some(quota.richiesto))
    }

    pub fn residuo(&self) -> i64 {
        (self.quota.limite - self.usato).max(0)
    }

    pub fn in_ore(&self) -> bool {
        self.quota.tipo == TipoLimite::OreCoppia
    }

    /// A figure of this limit as shown: euro with two decimals, or hours.
    pub fn cifra(&self, v: i64) -> String {
        if self.in_ore() { ore(v) } else { euro(v) }
    }

    /// PRE-8: the violation of a crossed limit, saying which, used, left and requested.
    pub fn violazione(&self) -> Violazione {
        let (reason, nome, field) = match self.quota.tipo {
            TipoLimite::Prestatore => (
                "PRE_8_LIMIT_PRESTATORE",
                "prestatore's limit (all utilizzatori)",
                "prestazione.compenso",
            ),
            TipoLimite::Utilizzatore => (
                "PRE_8_LIMIT_UTILIZZATORE",
                "utilizzatore's limit (all prestatori)",
                "prestazione.compenso",
            ),
            TipoLimite::Coppia => (
                "PRE_8_LIMIT_COPPIA",
                "prestatore–utilizzatore pair limit",
                "prestazione.compenso",
            ),
            TipoLimite::OreCoppia => (
                "PRE_8_LIMIT_ORE_COPPIA",
                "hours limit of the prestatore–utilizzatore pair",
                "prestazione.cpo",
            ),
        };
        let unita = if self.in_ore() { " hours" } else { " €" };
        let richiesto = self.richiesto.map(|r| self.cifra(r)).unwrap_or_default();
        Violazione {
            rule: "PRE-8",
            reason,
            field,
            description: format!(
                "the {nome} for {} is {}{unita}: used {}{unita}, left {}{unita}, requested {richiesto}{unita}",
                self.quota.anno,
                self.cifra(self.quota.limite),
                self.cifra(self.usato),
                self.cifra(self.residuo()),
            ),
        }
    }
}

pub fn euro(cents: i64) -> String {
    Euro::from_cents(cents).to_string()
}

/// Minutes as hours, at most two decimals and no trailing zeros ("12.5").
pub fn ore(minuti: i64) -> String {
    (Decimal::from(minuti) / Decimal::from(60))
        .round_dp(2)
        .normalize()
        .to_string()
}
