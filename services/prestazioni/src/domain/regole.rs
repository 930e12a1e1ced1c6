//! PRE-20: every figure of a calendar year. A law change is a new row in the `regole` table
//! (seeded by a migration from [`semi`]), never a code change.

use occasionali_kernel::Euro;
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
    pub ateco_speciali: Vec<String>,
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

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Construction (F 41, 42, 43), mines and quarries (B 05–09), stone quarrying and processing
/// (08.11, 23.70): art. 54-bis c. 14 DL 50/2017.
const ESCLUSI_2017: [&str; 10] = ["41", "42", "43", "05", "06", "07", "08", "09", "08.11", "23.70"];
/// Event organisers, spas, amusement parks, discos (DL 48/2023).
const SPECIALI: [&str; 4] = ["82.30.00", "96.04.20", "93.21.01", "96.09.05"];

fn regole_2017(anno: i32) -> Regole {
    Regole {
        anno,
        titolo_compenso: 800,
        titolo_ivs: 165,
        titolo_inail: 25,
        titolo_oneri: 10,
        orario_minimo: 900,
        giornaliero_minimo: 3600,
        ore_soglia_giornaliero: 4,
        // Agriculture: the hourly minimum of the collective agreement (CCNL operai agricoli e
        // florovivaisti, area 3 as quoted by INPS circ. 107/2017).
        orario_minimo_agricolo: Some(661),
        aliquota_ivs: 3300,
        aliquota_inail: 350,
        aliquota_oneri: 100,
        limite_prestatore: 500_000,
        limite_utilizzatore: 500_000,
        limite_utilizzatore_speciali: 500_000,
        limite_coppia: 250_000,
        ore_coppia: 280,
        percentuale_categorie_speciali: 7500,
        dipendenti_max: 5,
        dipendenti_max_speciali: 5,
        ateco_speciali: Vec::new(),
        ateco_esclusi: strs(&ESCLUSI_2017),
        agricoltura_ammessa: true,
        giorni_finestra_agricola: 3,
        preavviso_cpo_minuti: 60,
        giorno_scadenza_lf: 3,
        giorni_revoca: 3,
        mesi_rapporto_recente: 6,
        giorno_pagamento: 15,
        commissione_bonifico: 260,
        riferimento: "art. 54-bis DL 50/2017 (L. 96/2017)".into(),
        variazioni: Vec::new(),
    }
}

fn v(campo: &str, precedente: &str, valore: &str, motivo: &str) -> Variazione {
    Variazione {
        campo: campo.into(),
        precedente: precedente.into(),
        valore: valore.into(),
        motivo: motivo.into(),
    }
}

/// The seeded rows: 2017–2022 with the original figures, 2023 (in force from then on) with the
/// changes of L. 197/2022 and DL 48/2023.
pub fn semi() -> Vec<Regole> {
    let mut out: Vec<Regole> = (2017..=2022).map(regole_2017).collect();
    let mut r = regole_2017(2023);
    r.limite_utilizzatore = 1_000_000;
    r.limite_utilizzatore_speciali = 1_500_000;
    r.dipendenti_max = 10;
    r.dipendenti_max_speciali = 25;
    r.ateco_speciali = strs(&SPECIALI);
    r.ateco_esclusi.push("01".into());
    r.agricoltura_ammessa = false;
    r.orario_minimo_agricolo = None;
    r.giorni_finestra_agricola = 0;
    r.riferimento = "art. 54-bis DL 50/2017, as amended by L. 197/2022 and DL 48/2023".into();
    r.variazioni = vec![
        v("limite_utilizzatore", "5000.00", "10000.00", "L. 197/2022"),
        v(
            "limite_utilizzatore_settori_speciali",
            "5000.00",
            "15000.00",
            "DL 48/2023",
        ),
        v("dipendenti_max", "5", "10", "L. 197/2022"),
        v("dipendenti_max_settori_speciali", "5", "25", "DL 48/2023"),
        v("ateco_settori_speciali", "", &SPECIALI.join(","), "DL 48/2023"),
        v("agricoltura_ammessa", "true", "false", "L. 197/2022"),
        v(
            "ateco_esclusi",
            &ESCLUSI_2017.join(","),
            &format!("{},01", ESCLUSI_2017.join(",")),
            "L. 197/2022",
        ),
    ];
    out.push(r);
    out
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
}
