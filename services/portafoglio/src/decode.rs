//! Decoding requests into domain values (parse, don't validate): every bad field becomes one
//! field violation with its rule, and all of them are reported together.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use occasionali_kernel::{CodiceFiscale, CodiceFiscaleSoggetto, Euro, Iban};
use occasionali_proto::common::Periodo;
use occasionali_proto::portafoglio as pb;
use occasionali_runtime::Violations;

use crate::domain::riserva::Costo;
use crate::domain::versamento::{Canale, CodiceTributo, DatiVersamento};
use crate::domain::{PortafoglioRef, TipoConto, TipoPortafoglio};

/// First year of the platform's payments (art. 54-bis DL 50/2017).
const PRIMO_ANNO: i32 = 2017;
/// Longest identifier accepted from clients (payment ids, request ids, prestazione ids).
const MAX_ID: usize = 128;
/// Longest operator note.
const MAX_NOTA: usize = 2000;

fn reason(rule: &str, what: &str) -> String {
    format!("{}_{what}", rule.replace('-', "_"))
}

/// A client-chosen identifier: non-empty, printable, at most 128 characters.
pub fn id(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let t = value.trim();
    if t.is_empty() {
        v.add(field, rule, reason(rule, "REQUIRED"), "is required");
        return None;
    }
    if t.chars().count() > MAX_ID || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
        v.add(
            field,
            rule,
            reason(rule, "ID_FORMAT"),
            format!("must be at most {MAX_ID} printable characters without spaces"),
        );
        return None;
    }
    Some(t.to_string())
}

/// A mandatory free-text note (operators' actions are audited with it).
pub fn nota(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let t = value.trim();
    if t.is_empty() {
        v.add(field, rule, reason(rule, "NOTE_REQUIRED"), "is required");
        return None;
    }
    if t.chars().count() > MAX_NOTA {
        v.add(
            field,
            rule,
            reason(rule, "NOTE_TOO_LONG"),
            format!("must be at most {MAX_NOTA} characters"),
        );
        return None;
    }
    Some(t.to_string())
}

/// A natural person's or an organisation's codice fiscale (ANA-2), upper case.
pub fn cf_soggetto(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        v.add(field, rule, reason(rule, "CF_REQUIRED"), "is required");
        return None;
    }
    match CodiceFiscaleSoggetto::parse(&value.trim().to_ascii_uppercase()) {
        Ok(cf) => Some(cf.as_str().to_string()),
        Err(e) => {
            v.add(field, rule, format!("ANA_2_{}", e.reason()), e.to_string());
            None
        }
    }
}

/// A natural person's codice fiscale (prestatori), upper case.
pub fn cf_persona(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        v.add(field, rule, reason(rule, "CF_REQUIRED"), "is required");
        return None;
    }
    match CodiceFiscale::parse(&value.trim().to_ascii_uppercase()) {
        Ok(cf) => Some(cf.as_str().to_string()),
        Err(e) => {
            v.add(field, rule, format!("ANA_2_{}", e.reason()), e.to_string());
            None
        }
    }
}

pub fn tipo_portafoglio(
    v: &mut Violations,
    field: &str,
    rule: &'static str,
    value: i32,
) -> Option<TipoPortafoglio> {
    match pb::TipoPortafoglio::try_from(value) {
        Ok(pb::TipoPortafoglio::LibrettoFamiglia) => Some(TipoPortafoglio::LibrettoFamiglia),
        Ok(pb::TipoPortafoglio::Cpo) => Some(TipoPortafoglio::Cpo),
        _ => {
            v.add(
                field,
                rule,
                reason(rule, "WALLET_TYPE_REQUIRED"),
                "is required (LIBRETTO_FAMIGLIA or CPO)",
            );
            None
        }
    }
}

/// A wallet reference: `prefix.utilizzatore_cf` and `prefix.tipo`.
pub fn portafoglio(
    v: &mut Violations,
    prefix: &str,
    rule: &'static str,
    p: Option<&pb::PortafoglioRef>,
) -> Option<PortafoglioRef> {
    let Some(p) = p else {
        v.add(prefix, rule, reason(rule, "WALLET_REQUIRED"), "is required");
        return None;
    };
    let cf = cf_soggetto(v, &format!("{prefix}.utilizzatore_cf"), rule, &p.utilizzatore_cf);
    let tipo = tipo_portafoglio(v, &format!("{prefix}.tipo"), rule, p.tipo);
    Some(PortafoglioRef::new(cf?, tipo?))
}

/// An amount with at most two decimals, `> 0`.
pub fn importo_positivo(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<Euro> {
    let e = importo(v, field, rule, value)?;
    if !e.is_positive() {
        v.add(
            field,
            rule,
            reason(rule, "AMOUNT_NOT_POSITIVE"),
            "must be more than 0",
        );
        return None;
    }
    Some(e)
}

/// An amount with at most two decimals, `>= 0`.
pub fn importo(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<Euro> {
    if value.trim().is_empty() {
        v.add(
            field,
            rule,
            reason(rule, "AMOUNT_REQUIRED"),
            "is required (e.g. 12.41)",
        );
        return None;
    }
    match Euro::parse_non_negative(value) {
        Ok(e) => Some(e),
        Err(e) => {
            v.add(
                field,
                rule,
                format!("{}_{}", rule.replace('-', "_"), e.reason()),
                e.to_string(),
            );
            None
        }
    }
}

pub fn data(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<NaiveDate> {
    let t = value.trim();
    if t.is_empty() {
        v.add(
            field,
            rule,
            reason(rule, "DATE_REQUIRED"),
            "is required (YYYY-MM-DD)",
        );
        return None;
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                rule,
                reason(rule, "DATE_FORMAT"),
                format!("{t:?} is not a date (YYYY-MM-DD)"),
            );
            None
        }
    }
}

/// A valid IBAN (ANA-4 rules), electronic form.
pub fn iban(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        v.add(field, rule, reason(rule, "IBAN_REQUIRED"), "is required");
        return None;
    }
    match Iban::parse(value) {
        Ok(i) => Some(i.as_str().to_string()),
        Err(e) => {
            v.add(
                field,
                rule,
                format!("{}_{}", rule.replace('-', "_"), e.reason()),
                e.to_string(),
            );
            None
        }
    }
}

/// The cost of a prestazione: every component `>= 0` with two decimals, the compensation
/// `> 0`, and the total equal to the sum of the components (POR-4).
pub fn costo(v: &mut Violations, prefix: &str, c: Option<&pb::CostoPrestazione>) -> Option<Costo> {
    let Some(c) = c else {
        v.add(prefix, "POR-4", "POR_4_COST_REQUIRED", "is required");
        return None;
    };
    let f = |s: &str| format!("{prefix}.{s}");
    let compenso = importo_positivo(v, &f("compenso"), "POR-4", &c.compenso);
    let ivs = importo(v, &f("contributi_ivs"), "POR-4", &c.contributi_ivs);
    let inail = importo(v, &f("premio_inail"), "POR-4", &c.premio_inail);
    let oneri = importo(v, &f("oneri_gestione"), "POR-4", &c.oneri_gestione);
    let totale = importo_positivo(v, &f("totale"), "POR-4", &c.totale);
    let (compenso, ivs, inail, oneri, totale) = (compenso?, ivs?, inail?, oneri?, totale?);
    match Costo::somma_componenti(compenso, ivs, inail, oneri) {
        Some(s) if s == totale => Some(Costo {
            compenso,
            contributi_ivs: ivs,
            premio_inail: inail,
            oneri_gestione: oneri,
            totale,
        }),
        Some(s) => {
            v.add(
                f("totale"),
                "POR-4",
                "POR_4_COST_TOTAL",
                format!("must be the sum of the components ({s})"),
            );
            None
        }
        None => {
            v.add(
                f("totale"),
                "POR-4",
                "POR_4_COST_TOTAL",
                "the components are too large",
            );
            None
        }
    }
}

/// A closed period of Rome dates (either end may be empty: open).
pub fn periodo(
    v: &mut Violations,
    field: &str,
    rule: &'static str,
    p: Option<&Periodo>,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let Some(p) = p else {
        return (None, None);
    };
    let dal = (!p.dal.trim().is_empty())
        .then(|| data(v, &format!("{field}.dal"), rule, &p.dal))
        .flatten();
    let al = (!p.al.trim().is_empty())
        .then(|| data(v, &format!("{field}.al"), rule, &p.al))
        .flatten();
    if let (Some(d), Some(a)) = (dal, al)
        && a < d
    {
        v.add(
            format!("{field}.al"),
            rule,
            reason(rule, "PERIOD_REVERSED"),
            "ends before it starts",
        );
    }
    (dal, al)
}

fn anno_plausibile(anno: i32, oggi: NaiveDate) -> bool {
    (PRIMO_ANNO..=oggi.year() + 1).contains(&anno)
}

/// POR-2: one record of the F24 feed, or why it is discarded ("field: reason; …").
///
/// ELIDE: payer CF, tipo "I", codice LIFA or CLOC, reference year, amount. EP (public
/// administrations): codice CLOC, riferimento A "00MM" (month), riferimento B "AAAA" (year);
/// its tipo, when given, must be "I" too. The payment date is required and not in the future.
pub fn record_f24(r: &pb::RecordF24, oggi: NaiveDate) -> Result<DatiVersamento, String> {
    let mut v = Violations::new();
    let rule = "POR-2";
    let id_pagamento = id(&mut v, "id_pagamento", rule, &r.id_pagamento);
    let modello = match pb::ModelloF24::try_from(r.modello) {
        Ok(pb::ModelloF24::Elide) => Some(Canale::F24Elide),
        Ok(pb::ModelloF24::Ep) => Some(Canale::F24Ep),
        _ => {
            v.add("modello", rule, "POR_2_F24_MODEL", "must be ELIDE or EP");
            None
        }
    };
    let cf = cf_soggetto(
        &mut v,
        "codice_fiscale_versante",
        rule,
        &r.codice_fiscale_versante,
    );
    let tipo = r.tipo.trim();
    let tipo_ok = tipo == "I" || (modello == Some(Canale::F24Ep) && tipo.is_empty());
    if !tipo_ok {
        v.add("tipo", rule, "POR_2_F24_TIPO", "must be \"I\"");
    }
    let codice = match pb::CodiceTributo::try_from(r.codice_tributo) {
        Ok(pb::CodiceTributo::Lifa) => Some(CodiceTributo::Lifa),
        Ok(pb::CodiceTributo::Cloc) => Some(CodiceTributo::Cloc),
        _ => {
            v.add("codice_tributo", rule, "POR_2_F24_CODICE", "must be LIFA or CLOC");
            None
        }
    };
    let importo = importo_positivo(&mut v, "importo", rule, &r.importo);
    let data_versamento = data(&mut v, "data_versamento", rule, &r.data_versamento);
    if let Some(d) = data_versamento
        && d > oggi
    {
        v.add(
            "data_versamento",
            rule,
            "POR_2_PAYMENT_DATE_FUTURE",
            "is in the future",
        );
    }
    let (anno, (rif_a, rif_b)) = match modello {
        Some(Canale::F24Elide) => (anno_elide(&mut v, r.anno, oggi), Default::default()),
        Some(Canale::F24Ep) => (None, riferimenti_ep(&mut v, r, codice, oggi)),
        _ => (None, Default::default()),
    };
    if !v.is_empty() {
        return Err(v
            .iter()
            .map(|f| format!("{}: {}", f.field, f.description))
            .collect::<Vec<_>>()
            .join("; "));
    }
    match (id_pagamento, modello, cf, codice, importo, data_versamento) {
        (Some(id_pagamento), Some(canale), Some(cf), Some(codice), Some(importo), Some(data_versamento)) => {
            Ok(DatiVersamento {
                id_pagamento,
                canale,
                cf_versante: cf,
                codice_tributo: Some(codice),
                tipo_portafoglio: codice.tipo_portafoglio(),
                anno,
                riferimento_a: rif_a,
                riferimento_b: rif_b,
                iuv: String::new(),
                importo,
                data_versamento,
            })
        }
        _ => Err("record could not be decoded".into()),
    }
}

/// An F24 ELIDE's reference year.
fn anno_elide(v: &mut Violations, anno: i32, oggi: NaiveDate) -> Option<i32> {
    if anno_plausibile(anno, oggi) {
        return Some(anno);
    }
    v.add(
        "anno",
        "POR-2",
        "POR_2_F24_YEAR",
        format!("must be a year from {PRIMO_ANNO} to next year"),
    );
    None
}

/// An F24 EP's references: riferimento A the month ("00MM"), riferimento B the year ("AAAA");
/// a public administration pays CPO wallets only.
fn riferimenti_ep(
    v: &mut Violations,
    r: &pb::RecordF24,
    codice: Option<CodiceTributo>,
    oggi: NaiveDate,
) -> (String, String) {
    let rule = "POR-2";
    if codice == Some(CodiceTributo::Lifa) {
        v.add(
            "codice_tributo",
            rule,
            "POR_2_F24_EP_CODICE",
            "an F24 EP pays CPO wallets only: codice CLOC",
        );
    }
    let (mut rif_a, mut rif_b) = (String::new(), String::new());
    let a = r.riferimento_a.trim();
    let mese_ok = a.len() == 4
        && a.starts_with("00")
        && a.bytes().all(|b| b.is_ascii_digit())
        && a[2..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    if mese_ok {
        rif_a = a.to_string();
    } else {
        v.add(
            "riferimento_a",
            rule,
            "POR_2_F24_EP_RIFERIMENTO_A",
            "must be \"00MM\" with MM a month 01-12",
        );
    }
    let b = r.riferimento_b.trim();
    let anno_ok = b.len() == 4
        && b.bytes().all(|c| c.is_ascii_digit())
        && b.parse::<i32>().is_ok_and(|y| anno_plausibile(y, oggi));
    if anno_ok {
        rif_b = b.to_string();
    } else {
        v.add(
            "riferimento_b",
            rule,
            "POR_2_F24_EP_RIFERIMENTO_B",
            format!("must be \"AAAA\", a year from {PRIMO_ANNO} to next year"),
        );
    }
    (rif_a, rif_b)
}

/// POR-2: a pagoPA receipt.
pub fn pagopa(
    r: &pb::NotifyPagoPaRequest,
    data_versamento: NaiveDate,
) -> Result<DatiVersamento, occasionali_runtime::AppError> {
    let mut v = Violations::new();
    let rule = "POR-2";
    let id_pagamento = id(&mut v, "id_pagamento", rule, &r.id_pagamento);
    let cf = cf_soggetto(
        &mut v,
        "codice_fiscale_versante",
        rule,
        &r.codice_fiscale_versante,
    );
    let tipo = tipo_portafoglio(&mut v, "tipo_portafoglio", rule, r.tipo_portafoglio);
    let importo = importo_positivo(&mut v, "importo", rule, &r.importo);
    let iuv = r.iuv.trim().to_string();
    if iuv.chars().count() > MAX_ID {
        v.add(
            "iuv",
            rule,
            "POR_2_IUV",
            format!("must be at most {MAX_ID} characters"),
        );
    }
    v.check()?;
    match (id_pagamento, cf, tipo, importo) {
        (Some(id_pagamento), Some(cf), Some(tipo), Some(importo)) => Ok(DatiVersamento {
            id_pagamento,
            canale: Canale::PagoPa,
            cf_versante: cf,
            codice_tributo: None,
            tipo_portafoglio: tipo,
            anno: None,
            riferimento_a: String::new(),
            riferimento_b: String::new(),
            iuv,
            importo,
            data_versamento,
        }),
        _ => Err(occasionali_runtime::AppError::internal(
            "decoding produced no value and no violation",
        )),
    }
}

/// A protobuf timestamp as an instant (None when out of range).
pub fn timestamp(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

/// A sede code as given (trimmed, upper case), or none.
pub fn sede(value: &str) -> Option<String> {
    let s = value.trim().to_ascii_uppercase();
    (!s.is_empty()).then_some(s)
}

pub fn codice_tributo(v: &mut Violations, value: i32) -> Option<CodiceTributo> {
    match pb::CodiceTributo::try_from(value) {
        Ok(pb::CodiceTributo::Unspecified) => None,
        Ok(pb::CodiceTributo::Lifa) => Some(CodiceTributo::Lifa),
        Ok(pb::CodiceTributo::Cloc) => Some(CodiceTributo::Cloc),
        Err(_) => {
            v.add(
                "codice_tributo",
                "POR-3",
                "POR_3_CODICE",
                "is not a codice tributo",
            );
            None
        }
    }
}

pub fn tipo_conto(v: &mut Violations, i: usize, value: i32) -> Option<TipoConto> {
    use pb::TipoConto as T;
    let t = match T::try_from(value) {
        Ok(T::Incassi) => TipoConto::Incassi,
        Ok(T::VersamentiNonAbbinati) => TipoConto::VersamentiNonAbbinati,
        Ok(T::PortafoglioDisponibile) => TipoConto::Disponibile,
        Ok(T::PortafoglioRiservato) => TipoConto::Riservato,
        Ok(T::PortafoglioDebito) => TipoConto::Debito,
        Ok(T::PortafoglioRimborsoRichiesto) => TipoConto::RimborsoRichiesto,
        Ok(T::CompensiPrestatori) => TipoConto::CompensiPrestatori,
        Ok(T::GestioneSeparata) => TipoConto::GestioneSeparata,
        Ok(T::Inail) => TipoConto::Inail,
        Ok(T::OneriGestione) => TipoConto::OneriGestione,
        Ok(T::CommissioniBonificoDomiciliato) => TipoConto::CommissioniBonificoDomiciliato,
        Ok(T::Rimborsi) => TipoConto::Rimborsi,
        Ok(T::Restituzioni) => TipoConto::Restituzioni,
        _ => {
            v.add(
                format!("tipi[{i}]"),
                "POR-1",
                "POR_1_ACCOUNT_KIND",
                "is not an account kind",
            );
            return None;
        }
    };
    Some(t)
}

pub fn anno_mese(v: &mut Violations, anno: i32, mese: i32, rule: &'static str) -> Option<(i32, u32)> {
    let prefix = rule.replace('-', "_");
    let a = (2017..=9999).contains(&anno);
    if !a {
        v.add("anno", rule, format!("{prefix}_YEAR"), "must be a year from 2017");
    }
    let m = (1..=12).contains(&mese);
    if !m {
        v.add(
            "mese",
            rule,
            format!("{prefix}_MONTH"),
            "must be between 1 and 12",
        );
    }
    (a && m).then(|| (anno, mese.unsigned_abs()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CF: &str = "RSSMRA85T10A562S";

    fn oggi() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
    }

    fn elide() -> pb::RecordF24 {
        pb::RecordF24 {
            id_pagamento: "F24-1".into(),
            modello: pb::ModelloF24::Elide as i32,
            codice_fiscale_versante: CF.into(),
            tipo: "I".into(),
            codice_tributo: pb::CodiceTributo::Lifa as i32,
            anno: 2026,
            importo: "100.00".into(),
            riferimento_a: String::new(),
            riferimento_b: String::new(),
            data_versamento: "2026-06-01".into(),
        }
    }

    fn ep() -> pb::RecordF24 {
        pb::RecordF24 {
            modello: pb::ModelloF24::Ep as i32,
            codice_fiscale_versante: "00743110157".into(),
            codice_tributo: pb::CodiceTributo::Cloc as i32,
            anno: 0,
            riferimento_a: "0006".into(),
            riferimento_b: "2026".into(),
            ..elide()
        }
    }

    #[test]
    fn por_2_valid_records() {
        let d = record_f24(&elide(), oggi()).unwrap();
        assert_eq!(d.tipo_portafoglio, TipoPortafoglio::LibrettoFamiglia);
        assert_eq!(d.anno, Some(2026));
        let d = record_f24(&ep(), oggi()).unwrap();
        assert_eq!(d.tipo_portafoglio, TipoPortafoglio::Cpo);
        assert_eq!(d.riferimento_a, "0006");
        assert_eq!(d.canale, Canale::F24Ep);
    }

    #[test]
    fn por_2_malformed_records_say_every_reason() {
        let mut r = elide();
        r.tipo = "X".into();
        r.importo = "0".into();
        r.codice_fiscale_versante = "RSSMRA85T10A562X".into();
        let why = record_f24(&r, oggi()).unwrap_err();
        assert!(why.contains("tipo"), "{why}");
        assert!(why.contains("importo"), "{why}");
        assert!(why.contains("codice_fiscale_versante"), "{why}");
        let mut r = ep();
        r.riferimento_a = "0013".into();
        r.riferimento_b = "26".into();
        r.codice_tributo = pb::CodiceTributo::Lifa as i32;
        let why = record_f24(&r, oggi()).unwrap_err();
        assert!(why.contains("riferimento_a"), "{why}");
        assert!(why.contains("riferimento_b"), "{why}");
        assert!(why.contains("codice_tributo"), "{why}");
        let mut r = elide();
        r.anno = 2016;
        r.data_versamento = "2026-06-16".into();
        let why = record_f24(&r, oggi()).unwrap_err();
        assert!(why.contains("anno") && why.contains("future"), "{why}");
    }

    #[test]
    fn por_4_cost_total_must_be_the_sum() {
        let mut v = Violations::new();
        let c = pb::CostoPrestazione {
            compenso: "36.00".into(),
            contributi_ivs: "11.88".into(),
            premio_inail: "1.26".into(),
            oneri_gestione: "0.49".into(),
            totale: "49.64".into(),
        };
        assert!(costo(&mut v, "costo", Some(&c)).is_none());
        assert_eq!(v.iter().next().map(|f| f.field.as_str()), Some("costo.totale"));
    }
}
