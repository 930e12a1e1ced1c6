//! PRE-20: every figure of a calendar year. A law change is data, never a code change: the
//! 2017–2023 rows are frozen in the first migration (`store/semi_2017_2023.jsonl`, inserted
//! verbatim, so a fresh database and an upgraded one hold the same bytes), and a later law is
//! published by DG for a year not yet begun ([`pubblicabile`], [`Regole::verifica`],
//! [`variazioni`]), each publication a new version kept with its author and reason.
//!
//! Rows are forward compatible: a field added to [`Regole`] must carry
//! `#[serde(default = "…")]` returning what the law said before the field existed, so every
//! stored row still reads (the test `pre_20_every_frozen_row_still_reads` fails otherwise), and
//! unknown fields are ignored, so a replica one release behind reads a newer row.

use chrono::{DateTime, Utc};
use occasionali_kernel::Euro;
use occasionali_kernel::identita::{Identity, Profile};
use occasionali_kernel::violazioni::Violations;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Rates are in hundredths of a percent (3300 = 33.00 %): integers, no float path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regole {
    pub anno: i32,
    pub titolo_compenso: i64,
    pub titolo_ivs: i64,
    pub titolo_inail: i64,
    pub titolo_oneri: i64,
    pub orario_minimo: i64,
    pub giornaliero_minimo: i64,
    pub ore_soglia_giornaliero: i32,
    #[serde(default)]
    pub orario_minimo_agricolo: Option<i64>,
    pub aliquota_ivs: i64,
    pub aliquota_inail: i64,
    pub aliquota_oneri: i64,
    pub limite_prestatore: i64,
    pub limite_utilizzatore: i64,
    pub limite_utilizzatore_speciali: i64,
    pub limite_coppia: i64,
    pub ore_coppia: i32,
    pub percentuale_categorie_speciali: i64,
    pub dipendenti_max: i32,
    pub dipendenti_max_speciali: i32,
    #[serde(default)]
    pub ateco_speciali: Vec<String>,
    #[serde(default)]
    pub ateco_esclusi: Vec<String>,
    pub agricoltura_ammessa: bool,
    pub giorni_finestra_agricola: i32,
    pub preavviso_cpo_minuti: i32,
    pub giorno_scadenza_lf: i32,
    pub giorni_revoca: i32,
    pub mesi_rapporto_recente: i32,
    pub giorno_pagamento: i32,
    pub commissione_bonifico: i64,
    pub riferimento: String,
    /// Changes from the previous year's row, with their legal reason.
    #[serde(default)]
    pub variazioni: Vec<Variazione>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variazione {
    pub campo: String,
    pub precedente: String,
    pub valore: String,
    pub motivo: String,
}

/// A rate in hundredths of a percent as a fraction (3300 → 0.33).
pub fn frazione(centesimi_di_punto: i64) -> Decimal {
    Decimal::new(centesimi_di_punto, 4)
}

/// A rate in hundredths of a percent as a percentage string (3300 → "33.00").
pub fn percento(centesimi_di_punto: i64) -> String {
    Decimal::new(centesimi_di_punto, 2).to_string()
}

/// The cost split of a prestazione (§3 table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costo {
    pub compenso: Euro,
    pub ivs: Euro,
    pub inail: Euro,
    pub oneri: Euro,
}

impl Costo {
    pub fn totale(&self) -> Euro {
        Euro::from_cents(self.compenso.cents() + self.ivs.cents() + self.inail.cents() + self.oneri.cents())
    }
}

impl Regole {
    /// LF: `titoli` titoli of the year's split.
    pub fn costo_lf(&self, titoli: i64) -> Costo {
        Costo {
            compenso: Euro::from_cents(self.titolo_compenso * titoli),
            ivs: Euro::from_cents(self.titolo_ivs * titoli),
            inail: Euro::from_cents(self.titolo_inail * titoli),
            oneri: Euro::from_cents(self.titolo_oneri * titoli),
        }
    }

    /// CPO: each component on the whole compensation, half-up to the cent (36.00 → 11.88 +
    /// 1.26 + 0.49 = 49.63).
    pub fn costo_cpo(&self, compenso: Euro) -> Costo {
        let ivs = compenso.percent_half_up(frazione(self.aliquota_ivs));
        let inail = compenso.percent_half_up(frazione(self.aliquota_inail));
        let base = Euro::from_cents(compenso.cents() + ivs.cents() + inail.cents());
        let oneri = base.percent_half_up(frazione(self.aliquota_oneri));
        Costo {
            compenso,
            ivs,
            inail,
            oneri,
        }
    }

    pub fn titolo_valore(&self) -> i64 {
        self.titolo_compenso + self.titolo_ivs + self.titolo_inail + self.titolo_oneri
    }

    /// Whether the ATECO code is in the event/spa/amusement sectors (higher limits, PRE-4/PRE-8).
    /// The law names ATECO 2007/2022 codes; a company registered under ATECO 2025 counts when its
    /// code continues one of them (82.30.01–09, 93.21.00, 96.23.10, 96.99.93).
    pub fn settore_speciale(&self, ateco: &str) -> bool {
        self.ateco_speciali
            .iter()
            .any(|p| occasionali_kernel::ateco::appartiene_in_ogni_edizione(ateco, p))
    }

    /// PRE-4: excluded sector, by ATECO code or prefix.
    pub fn settore_escluso(&self, ateco: &str) -> bool {
        self.ateco_esclusi
            .iter()
            .any(|p| occasionali_kernel::ateco::appartiene(ateco, p))
    }

    pub fn limite_utilizzatore_per(&self, ateco: &str) -> i64 {
        if self.settore_speciale(ateco) {
            self.limite_utilizzatore_speciali
        } else {
            self.limite_utilizzatore
        }
    }

    pub fn dipendenti_max_per(&self, ateco: &str) -> i32 {
        if self.settore_speciale(ateco) {
            self.dipendenti_max_speciali
        } else {
            self.dipendenti_max
        }
    }
}

/// How a row came to be (PRE-20): a migration's seed or a publication, audited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pubblicazione {
    pub versione: i32,
    pub origine: String,
    pub motivo: String,
    pub autore_cf: String,
    pub pubblicata_il: Option<DateTime<Utc>>,
}

/// What the origin of a published row is called.
pub const ORIGINE_PUBBLICAZIONE: &str = "pubblicazione";

/// How far ahead a table may be published: a law for the next years, not a typo for 2207.
pub const ANNI_PUBBLICABILI: i32 = 5;

/// Why a publication is refused, besides its fields.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RifiutoPubblicazione {
    /// The year has begun (or is past): its prestazioni were valued with the figures in force,
    /// and changing them would change accepted limits and costs after the fact.
    #[error("the figures of {anno} are in force since it began; publish a later year")]
    AnnoIniziato { anno: i32 },
    #[error("a table may be published for the next {ANNI_PUBBLICABILI} years only (up to {massimo})")]
    AnnoTroppoLontano { anno: i32, massimo: i32 },
    #[error("only the central direction (DG) publishes rule tables")]
    SoloDg,
    #[error("no rule table before {anno}")]
    SenzaRegolePrecedenti { anno: i32 },
    #[error("this request id was used for a different publication")]
    RichiestaRiusata,
    #[error("another table for {anno} was published meanwhile: read it and retry")]
    Concorrente { anno: i32 },
}

/// PRE-20: who publishes the figures of the law: the central direction (DG) and the platform.
pub fn puo_pubblicare(chi: &Identity) -> Result<(), RifiutoPubblicazione> {
    match chi.profile() {
        Profile::OperatoreDg | Profile::Sistema => Ok(()),
        _ => Err(RifiutoPubblicazione::SoloDg),
    }
}

/// PRE-20: a table may be published for a year that has not begun in Rome, up to
/// [`ANNI_PUBBLICABILI`] ahead.
pub fn pubblicabile(anno: i32, anno_in_corso: i32) -> Result<(), RifiutoPubblicazione> {
    if anno <= anno_in_corso {
        return Err(RifiutoPubblicazione::AnnoIniziato { anno });
    }
    let massimo = anno_in_corso + ANNI_PUBBLICABILI;
    if anno > massimo {
        return Err(RifiutoPubblicazione::AnnoTroppoLontano { anno, massimo });
    }
    Ok(())
}

fn euro_txt(cents: i64) -> String {
    Euro::from_cents(cents).to_string()
}

/// Every figure by its public name (the field of the rule table as clients read it), in the
/// form clients read it: the vocabulary of [`variazioni`] and of the field violations.
pub fn figure(r: &Regole) -> Vec<(&'static str, String)> {
    vec![
        ("titolo_compenso", euro_txt(r.titolo_compenso)),
        ("titolo_contributi_ivs", euro_txt(r.titolo_ivs)),
        ("titolo_premio_inail", euro_txt(r.titolo_inail)),
        ("titolo_oneri_gestione", euro_txt(r.titolo_oneri)),
        ("compenso_orario_minimo", euro_txt(r.orario_minimo)),
        ("compenso_giornaliero_minimo", euro_txt(r.giornaliero_minimo)),
        (
            "ore_soglia_minimo_giornaliero",
            r.ore_soglia_giornaliero.to_string(),
        ),
        (
            "compenso_orario_minimo_agricolo",
            r.orario_minimo_agricolo.map(euro_txt).unwrap_or_default(),
        ),
        ("aliquota_ivs", percento(r.aliquota_ivs)),
        ("aliquota_inail", percento(r.aliquota_inail)),
        ("aliquota_oneri_gestione", percento(r.aliquota_oneri)),
        ("limite_prestatore", euro_txt(r.limite_prestatore)),
        ("limite_utilizzatore", euro_txt(r.limite_utilizzatore)),
        (
            "limite_utilizzatore_settori_speciali",
            euro_txt(r.limite_utilizzatore_speciali),
        ),
        ("limite_coppia", euro_txt(r.limite_coppia)),
        ("ore_coppia", r.ore_coppia.to_string()),
        (
            "percentuale_categorie_speciali",
            percento(r.percentuale_categorie_speciali),
        ),
        ("dipendenti_max", r.dipendenti_max.to_string()),
        (
            "dipendenti_max_settori_speciali",
            r.dipendenti_max_speciali.to_string(),
        ),
        ("ateco_settori_speciali", r.ateco_speciali.join(",")),
        ("ateco_esclusi", r.ateco_esclusi.join(",")),
        ("agricoltura_ammessa", r.agricoltura_ammessa.to_string()),
        ("giorni_finestra_agricola", r.giorni_finestra_agricola.to_string()),
        ("preavviso_cpo_minuti", r.preavviso_cpo_minuti.to_string()),
        ("giorno_scadenza_lf", r.giorno_scadenza_lf.to_string()),
        ("giorni_revoca", r.giorni_revoca.to_string()),
        (
            "mesi_rapporto_lavoro_recente",
            r.mesi_rapporto_recente.to_string(),
        ),
        ("giorno_pagamento", r.giorno_pagamento.to_string()),
        (
            "commissione_bonifico_domiciliato",
            euro_txt(r.commissione_bonifico),
        ),
        ("riferimento_normativo", r.riferimento.clone()),
    ]
}

/// PRE-20: what changed from the row in force the year before, each change with the legal
/// reason of the publication.
pub fn variazioni(precedente: &Regole, nuova: &Regole, motivo: &str) -> Vec<Variazione> {
    figure(precedente)
        .into_iter()
        .zip(figure(nuova))
        .filter(|((_, prima), (_, dopo))| prima != dopo)
        .map(|((campo, prima), (_, dopo))| Variazione {
            campo: campo.to_string(),
            precedente: prima,
            valore: dopo,
            motivo: motivo.to_string(),
        })
        .collect()
}

impl Regole {
    /// PRE-20: the figures make sense together; every breach is a violation of the field
    /// (`prefisso` + public name), so DG learns them all at once.
    pub fn verifica(&self, prefisso: &str) -> Violations {
        let mut e = Esame {
            v: Violations::new(),
            prefisso,
        };
        self.verifica_importi(&mut e);
        self.verifica_limiti(&mut e);
        self.verifica_percentuali(&mut e);
        self.verifica_intervalli(&mut e);
        self.verifica_agricoltura(&mut e);
        self.verifica_ateco(&mut e);
        self.verifica_riferimento(&mut e);
        e.v
    }

    /// Amounts: the compensation, minima and limits above zero, the other parts not negative.
    fn verifica_importi(&self, e: &mut Esame<'_>) {
        for (campo, valore) in [
            ("titolo_compenso", self.titolo_compenso),
            ("compenso_orario_minimo", self.orario_minimo),
            ("compenso_giornaliero_minimo", self.giornaliero_minimo),
            ("limite_prestatore", self.limite_prestatore),
            ("limite_utilizzatore", self.limite_utilizzatore),
            (
                "limite_utilizzatore_settori_speciali",
                self.limite_utilizzatore_speciali,
            ),
            ("limite_coppia", self.limite_coppia),
        ] {
            if valore <= 0 {
                e.no(
                    campo,
                    "PRE_20_NOT_POSITIVE",
                    format!("{campo} must be more than zero"),
                );
            }
        }
        for (campo, valore) in [
            ("titolo_contributi_ivs", self.titolo_ivs),
            ("titolo_premio_inail", self.titolo_inail),
            ("titolo_oneri_gestione", self.titolo_oneri),
            ("commissione_bonifico_domiciliato", self.commissione_bonifico),
        ] {
            if valore < 0 {
                e.no(campo, "PRE_20_NEGATIVE", format!("{campo} cannot be negative"));
            }
        }
    }

    /// The limits and minima against each other (PRE-3, PRE-4, PRE-8).
    fn verifica_limiti(&self, e: &mut Esame<'_>) {
        if self.orario_minimo > 0
            && self.giornaliero_minimo > 0
            && self.giornaliero_minimo < self.orario_minimo
        {
            e.no(
                "compenso_giornaliero_minimo",
                "PRE_20_DAILY_BELOW_HOURLY",
                "the daily minimum cannot be lower than the hourly one".into(),
            );
        }
        if self.limite_coppia > self.limite_prestatore.min(self.limite_utilizzatore) {
            e.no(
                "limite_coppia",
                "PRE_20_PAIR_ABOVE_LIMITS",
                "the limit between one utilizzatore and one prestatore cannot exceed either party's limit"
                    .into(),
            );
        }
        if self.limite_utilizzatore_speciali < self.limite_utilizzatore {
            e.no(
                "limite_utilizzatore_settori_speciali",
                "PRE_20_SPECIAL_BELOW_ORDINARY",
                "the special sectors' limit cannot be lower than the ordinary one".into(),
            );
        }
        if self.dipendenti_max_speciali < self.dipendenti_max {
            e.no(
                "dipendenti_max_settori_speciali",
                "PRE_20_SPECIAL_BELOW_ORDINARY",
                "the special sectors' maximum cannot be lower than the ordinary one".into(),
            );
        }
    }

    /// Rates and shares between 0 and 100 %.
    fn verifica_percentuali(&self, e: &mut Esame<'_>) {
        for (campo, valore) in [
            ("aliquota_ivs", self.aliquota_ivs),
            ("aliquota_inail", self.aliquota_inail),
            ("aliquota_oneri_gestione", self.aliquota_oneri),
            (
                "percentuale_categorie_speciali",
                self.percentuale_categorie_speciali,
            ),
        ] {
            if !(0..=10_000).contains(&valore) {
                e.no(
                    campo,
                    "PRE_20_PERCENT_RANGE",
                    format!("{campo} must be between 0.00 and 100.00"),
                );
            }
        }
    }

    /// Hours, days and counts within what a calendar and a company allow.
    fn verifica_intervalli(&self, e: &mut Esame<'_>) {
        for (campo, valore, minimo, massimo) in [
            (
                "ore_soglia_minimo_giornaliero",
                self.ore_soglia_giornaliero,
                1,
                24,
            ),
            ("ore_coppia", self.ore_coppia, 1, 8_784),
            ("dipendenti_max", self.dipendenti_max, 0, 1_000_000),
            (
                "dipendenti_max_settori_speciali",
                self.dipendenti_max_speciali,
                0,
                1_000_000,
            ),
            ("giorni_finestra_agricola", self.giorni_finestra_agricola, 0, 31),
            ("preavviso_cpo_minuti", self.preavviso_cpo_minuti, 0, 7 * 24 * 60),
            // Days 29–31 do not exist in every month: a deadline or a payout day must.
            ("giorno_scadenza_lf", self.giorno_scadenza_lf, 1, 28),
            ("giorni_revoca", self.giorni_revoca, 0, 31),
            ("mesi_rapporto_lavoro_recente", self.mesi_rapporto_recente, 0, 120),
            ("giorno_pagamento", self.giorno_pagamento, 1, 28),
        ] {
            if !(minimo..=massimo).contains(&valore) {
                e.no(
                    campo,
                    "PRE_20_OUT_OF_RANGE",
                    format!("{campo} must be between {minimo} and {massimo}"),
                );
            }
        }
    }

    /// The agricultural minimum and window exist exactly when agriculture is allowed (PRE-3, PRE-7).
    fn verifica_agricoltura(&self, e: &mut Esame<'_>) {
        match (self.agricoltura_ammessa, self.orario_minimo_agricolo) {
            (true, None) => e.no(
                "compenso_orario_minimo_agricolo",
                "PRE_20_AGRICULTURAL_MINIMUM_REQUIRED",
                "agriculture is allowed: its hourly minimum (collective agreement) is required".into(),
            ),
            (false, Some(_)) => e.no(
                "compenso_orario_minimo_agricolo",
                "PRE_20_AGRICULTURAL_MINIMUM_WITHOUT_AGRICULTURE",
                "agriculture is excluded: leave its hourly minimum empty".into(),
            ),
            (true, Some(c)) if c <= 0 => e.no(
                "compenso_orario_minimo_agricolo",
                "PRE_20_NOT_POSITIVE",
                "compenso_orario_minimo_agricolo must be more than zero".into(),
            ),
            _ => {}
        }
        if !self.agricoltura_ammessa && self.giorni_finestra_agricola != 0 {
            e.no(
                "giorni_finestra_agricola",
                "PRE_20_AGRICULTURAL_WINDOW_WITHOUT_AGRICULTURE",
                "agriculture is excluded: its window must be 0".into(),
            );
        }
    }

    /// Sector codes well formed and listed once (PRE-4).
    fn verifica_ateco(&self, e: &mut Esame<'_>) {
        for (campo, codici) in [
            ("ateco_settori_speciali", &self.ateco_speciali),
            ("ateco_esclusi", &self.ateco_esclusi),
        ] {
            for (i, c) in codici.iter().enumerate() {
                if !codice_ateco(c) {
                    e.no(
                        &format!("{campo}[{i}]"),
                        "PRE_20_ATECO_FORMAT",
                        "an ATECO code or prefix: 2 digits, then groups of 1–2 digits after dots (\"43\", \"08.11\", \"82.30.00\")".into(),
                    );
                }
            }
            let mut visti = std::collections::BTreeSet::new();
            for (i, c) in codici.iter().enumerate() {
                if !visti.insert(c.as_str()) {
                    e.no(
                        &format!("{campo}[{i}]"),
                        "PRE_20_ATECO_DUPLICATE",
                        format!("{c} is listed twice"),
                    );
                }
            }
        }
    }

    /// The legal basis of the table as a whole.
    fn verifica_riferimento(&self, e: &mut Esame<'_>) {
        if self.riferimento.trim().is_empty() || self.riferimento.chars().count() > 500 {
            e.no(
                "riferimento_normativo",
                "PRE_20_REFERENCE_REQUIRED",
                "the legal basis of the table is required (at most 500 characters)".into(),
            );
        }
    }
}

/// The violations of a table being checked, named under the request's prefix.
struct Esame<'a> {
    v: Violations,
    prefisso: &'a str,
}

impl Esame<'_> {
    fn no(&mut self, campo: &str, motivo: &str, descrizione: String) {
        self.v
            .add(format!("{}{campo}", self.prefisso), "PRE-20", motivo, descrizione);
    }
}

/// "43", "08.11", "82.30.00", "96.09.5": two digits, then up to two groups of one or two.
fn codice_ateco(c: &str) -> bool {
    let mut parti = c.split('.');
    let primo = parti.next().unwrap_or_default();
    let cifre = |p: &str, min: usize| (min..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !cifre(primo, 2) {
        return false;
    }
    let resto: Vec<&str> = parti.collect();
    resto.len() <= 2 && resto.iter().all(|p| cifre(p, 1))
}

/// The frozen seeds, for the domain's own tests: the same file the first migration inserts.
#[cfg(test)]
#[allow(clippy::expect_used)]
pub fn semi() -> Vec<Regole> {
    include_str!("../store/semi_2017_2023.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("frozen seed"))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn r(anno: i32) -> Regole {
        semi().into_iter().rev().find(|r| r.anno <= anno).expect("seeded")
    }

    #[test]
    fn pre_20_cpo_cost_of_36_euro_is_49_63() {
        let c = r(2026).costo_cpo(Euro::from_cents(3600));
        assert_eq!((c.ivs.cents(), c.inail.cents(), c.oneri.cents()), (1188, 126, 49));
        assert_eq!(c.totale().cents(), 4963);
    }

    #[test]
    fn pre_20_cpo_hourly_minimum_costs_12_41() {
        let c = r(2026).costo_cpo(Euro::from_cents(900));
        assert_eq!((c.ivs.cents(), c.inail.cents(), c.oneri.cents()), (297, 32, 12));
        assert_eq!(c.totale().cents(), 1241);
    }

    #[test]
    fn pre_20_lf_titolo_is_ten_euro() {
        assert_eq!(r(2026).titolo_valore(), 1000);
        assert_eq!(r(2017).costo_lf(3).totale().cents(), 3000);
    }

    #[test]
    fn pre_20_limits_change_in_2023() {
        assert_eq!(r(2022).limite_utilizzatore, 500_000);
        assert_eq!(r(2023).limite_utilizzatore, 1_000_000);
        assert_eq!(r(2026).limite_utilizzatore_per("82.30.00"), 1_500_000);
        assert_eq!(r(2026).dipendenti_max_per("96.09.05"), 25);
        assert_eq!(r(2022).dipendenti_max_per("96.09.05"), 5);
        assert!(r(2022).agricoltura_ammessa && !r(2023).agricoltura_ammessa);
        assert!(r(2026).settore_escluso("43.21.01") && r(2026).settore_escluso("08.11.00"));
        assert!(!r(2026).settore_escluso("56.10.11"));
    }

    #[test]
    fn pre_4_ateco_2025_successors_of_the_special_sectors_get_the_higher_limits() {
        for code in [
            "82.30.01", "82.30.02", "82.30.03", "82.30.04", "82.30.09", "93.21.00", "96.23.10", "96.99.93",
        ] {
            assert_eq!(r(2026).dipendenti_max_per(code), 25, "{code}");
            assert_eq!(r(2026).limite_utilizzatore_per(code), 1_500_000, "{code}");
        }
        for code in ["93.29.91", "96.23.99", "96.99.99", "56.10.11"] {
            assert_eq!(r(2026).dipendenti_max_per(code), 10, "{code}");
        }
        assert_eq!(r(2022).dipendenti_max_per("82.30.09"), 5);
    }

    #[test]
    fn pre_20_every_frozen_row_still_reads() {
        // The rows the first migration inserted, read by today's type: a field added without a
        // default would make every stored row unreadable, and this test fails first.
        let semi = semi();
        assert_eq!(
            semi.iter().map(|r| r.anno).collect::<Vec<_>>(),
            (2017..=2023).collect::<Vec<_>>()
        );
        assert_eq!(semi[6].variazioni.len(), 7);
    }

    #[test]
    fn pre_20_rows_are_forward_and_backward_compatible() {
        // A row written before the optional parts existed reads with their defaults...
        let mut json: serde_json::Value = serde_json::to_value(r(2026)).unwrap();
        let o = json.as_object_mut().unwrap();
        for campo in ["variazioni", "ateco_speciali", "orario_minimo_agricolo"] {
            o.remove(campo);
        }
        // ...and a row written by a newer release (a field this one does not know) reads too.
        o.insert("campo_di_una_legge_futura".into(), serde_json::json!(42));
        let letta: Regole = serde_json::from_value(json).unwrap();
        assert!(letta.variazioni.is_empty() && letta.ateco_speciali.is_empty());
        assert_eq!(letta.limite_utilizzatore, 1_000_000);
    }

    #[test]
    fn pre_20_only_a_year_not_yet_begun_is_published() {
        assert_eq!(
            pubblicabile(2026, 2026),
            Err(RifiutoPubblicazione::AnnoIniziato { anno: 2026 })
        );
        assert_eq!(
            pubblicabile(2025, 2026),
            Err(RifiutoPubblicazione::AnnoIniziato { anno: 2025 })
        );
        assert_eq!(pubblicabile(2027, 2026), Ok(()));
        assert_eq!(pubblicabile(2031, 2026), Ok(()));
        assert_eq!(
            pubblicabile(2032, 2026),
            Err(RifiutoPubblicazione::AnnoTroppoLontano {
                anno: 2032,
                massimo: 2031
            })
        );
    }

    #[test]
    fn pre_20_changes_are_listed_with_the_publication_reason() {
        let prima = r(2026);
        let mut dopo = prima.clone();
        dopo.limite_utilizzatore = 1_200_000;
        dopo.aliquota_ivs = 3500;
        dopo.ateco_esclusi.push("02".into());
        let v = variazioni(&prima, &dopo, "L. 1/2027");
        let campi: Vec<(&str, &str, &str)> = v
            .iter()
            .map(|v| (v.campo.as_str(), v.precedente.as_str(), v.valore.as_str()))
            .collect();
        assert_eq!(
            campi,
            vec![
                ("aliquota_ivs", "33.00", "35.00"),
                ("limite_utilizzatore", "10000.00", "12000.00"),
                (
                    "ateco_esclusi",
                    "41,42,43,05,06,07,08,09,08.11,23.70,01",
                    "41,42,43,05,06,07,08,09,08.11,23.70,01,02"
                ),
            ]
        );
        assert!(v.iter().all(|v| v.motivo == "L. 1/2027"));
        assert!(variazioni(&prima, &prima, "x").is_empty());
    }

    #[test]
    fn pre_20_a_published_table_must_make_sense() {
        assert!(r(2026).verifica("t.").is_empty());
        assert!(r(2017).verifica("t.").is_empty());
        let mut t = r(2026);
        t.limite_coppia = 2_000_000;
        t.aliquota_ivs = 10_001;
        t.giorno_pagamento = 31;
        t.orario_minimo_agricolo = Some(700);
        t.ateco_esclusi.push("4".into());
        t.ateco_esclusi.push("43".into());
        t.giornaliero_minimo = 100;
        let v = t.verifica("t.");
        let campi: Vec<(&str, &str)> = v.iter().map(|v| (v.field.as_str(), v.reason.as_str())).collect();
        assert_eq!(
            campi,
            vec![
                ("t.compenso_giornaliero_minimo", "PRE_20_DAILY_BELOW_HOURLY"),
                ("t.limite_coppia", "PRE_20_PAIR_ABOVE_LIMITS"),
                ("t.aliquota_ivs", "PRE_20_PERCENT_RANGE"),
                ("t.giorno_pagamento", "PRE_20_OUT_OF_RANGE"),
                (
                    "t.compenso_orario_minimo_agricolo",
                    "PRE_20_AGRICULTURAL_MINIMUM_WITHOUT_AGRICULTURE"
                ),
                ("t.ateco_esclusi[11]", "PRE_20_ATECO_FORMAT"),
                ("t.ateco_esclusi[12]", "PRE_20_ATECO_DUPLICATE"),
            ]
        );
        assert!(v.iter().all(|v| v.rule == "PRE-20"));
        assert!(
            codice_ateco("96.09.5") && codice_ateco("01") && !codice_ateco("1") && !codice_ateco("01.2.3.4")
        );
    }
}
