//! Decoding requests into domain values (parse, don't validate): every bad field becomes one
//! field violation with its rule, and all of them are reported together.

use chrono::NaiveDate;
use occasionali_kernel::{CodiceFiscale, Iban, PartitaIva, Sesso, luoghi};
use occasionali_proto::anagrafica as pb;
use occasionali_runtime::Violations;

use crate::domain::*;

pub fn date(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    if value.is_empty() {
        v.add(
            field,
            rule,
            format!("{}_DATE_REQUIRED", rule.replace('-', "_")),
            "is required (YYYY-MM-DD)",
        );
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                rule,
                format!("{}_DATE_FORMAT", rule.replace('-', "_")),
                format!("{value:?} is not a date (YYYY-MM-DD)"),
            );
            None
        }
    }
}

fn required(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let t = value.trim();
    if t.is_empty() {
        v.add(
            field,
            rule,
            format!("{}_REQUIRED", rule.replace('-', "_")),
            "is required",
        );
        None
    } else {
        Some(t.to_string())
    }
}

pub fn name(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let t = required(v, field, rule, value)?;
    let ok = t.chars().any(char::is_alphabetic)
        && t.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '-' | '.' | '’'));
    if !ok {
        v.add(
            field,
            rule,
            format!("{}_NAME_CHARACTERS", rule.replace('-', "_")),
            "may contain only letters, spaces, apostrophes, hyphens and dots",
        );
        return None;
    }
    Some(t.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase())
}

/// A natural person's codice fiscale (ANA-2).
pub fn cf_persona(v: &mut Violations, field: &str, value: &str) -> Option<CodiceFiscale> {
    if value.trim().is_empty() {
        v.add(field, "ANA-2", "ANA_2_CF_REQUIRED", "is required");
        return None;
    }
    match CodiceFiscale::parse(value) {
        Ok(cf) => Some(cf),
        Err(e) => {
            v.add(field, "ANA-2", format!("ANA_2_{}", e.reason()), e.to_string());
            None
        }
    }
}

/// An organisation's codice fiscale / partita IVA (ANA-2).
pub fn cf_organizzazione(v: &mut Violations, field: &str, value: &str) -> Option<PartitaIva> {
    if value.trim().is_empty() {
        v.add(field, "ANA-2", "ANA_2_CF_REQUIRED", "is required");
        return None;
    }
    match PartitaIva::parse(value) {
        Ok(p) => Some(p),
        Err(e) => {
            v.add(field, "ANA-2", format!("ANA_2_{}", e.reason()), e.to_string());
            None
        }
    }
}

pub fn sesso(v: &mut Violations, field: &str, value: i32) -> Option<Sesso> {
    match pb::Sesso::try_from(value) {
        Ok(pb::Sesso::M) => Some(Sesso::M),
        Ok(pb::Sesso::F) => Some(Sesso::F),
        _ => {
            v.add(
                field,
                "ANA-3",
                "ANA_3_SEX_REQUIRED",
                "is required (SESSO_M or SESSO_F)",
            );
            None
        }
    }
}

pub fn luogo_nascita(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let code = required(v, field, "ANA-3", value)?.to_uppercase();
    if !luoghi::belfiore_known(&code) {
        v.add(
            field,
            "ANA-3",
            "ANA_3_UNKNOWN_BIRTH_PLACE",
            format!("{code} is not a Belfiore code of a comune or a foreign state"),
        );
        return None;
    }
    Some(code)
}

/// A person with data consistent with the CF (ANA-2, ANA-3). `prefix` is the message path.
pub fn persona(
    v: &mut Violations,
    prefix: &str,
    p: Option<&pb::PersonaFisica>,
    oggi: NaiveDate,
) -> Option<(CodiceFiscale, Persona)> {
    let Some(p) = p else {
        v.add(prefix, "ANA-3", "ANA_3_PERSON_REQUIRED", "is required");
        return None;
    };
    let f = |s: &str| format!("{prefix}.{s}");
    let cf = cf_persona(v, &f("codice_fiscale"), &p.codice_fiscale);
    let cognome = name(v, &f("cognome"), "ANA-3", &p.cognome);
    let nome = name(v, &f("nome"), "ANA-3", &p.nome);
    let data = date(v, &f("data_nascita"), "ANA-3", &p.data_nascita);
    if let Some(d) = data
        && d > oggi
    {
        v.add(
            f("data_nascita"),
            "ANA-3",
            "ANA_3_BIRTH_DATE_FUTURE",
            "is in the future",
        );
    }
    let sesso = sesso(v, &f("sesso"), p.sesso);
    let luogo = luogo_nascita(v, &f("luogo_nascita"), &p.luogo_nascita);
    let (cf, cognome, nome, data_nascita, sesso, luogo_nascita) =
        (cf?, cognome?, nome?, data?, sesso?, luogo?);
    let persona = Persona {
        cognome,
        nome,
        data_nascita,
        sesso,
        luogo_nascita,
    };
    if !soggetto::coerente(v, prefix, &cf, &persona) {
        return None;
    }
    Some((cf, persona))
}

pub fn organizzazione(
    v: &mut Violations,
    prefix: &str,
    o: &pb::Organizzazione,
) -> Option<(PartitaIva, Organizzazione)> {
    let f = |s: &str| format!("{prefix}.{s}");
    let cf = cf_organizzazione(v, &f("codice_fiscale"), &o.codice_fiscale);
    let denominazione = required(v, &f("denominazione"), "ANA-5", &o.denominazione);
    let lr = cf_persona(v, &f("legale_rappresentante_cf"), &o.legale_rappresentante_cf);
    Some((
        cf?,
        Organizzazione {
            denominazione: denominazione?,
            legale_rappresentante_cf: lr?.as_str().to_string(),
        },
    ))
}

/// ANA-4: an Italian domicile (comune, address, CAP) or a foreign one (state, city, address).
/// `None` inside `Some` means "not given".
pub fn domicilio(v: &mut Violations, prefix: &str, d: Option<&pb::Domicilio>) -> Option<Option<Domicilio>> {
    let Some(d) = d else { return Some(None) };
    let f = |s: &str| format!("{prefix}.{s}");
    let (comune, stato) = (d.comune.trim(), d.stato_estero.trim().to_uppercase());
    let before = v.len();
    let result = match (comune.is_empty(), stato.is_empty()) {
        (true, true) => {
            if d.indirizzo.trim().is_empty() && d.cap.trim().is_empty() && d.citta_estera.trim().is_empty() {
                return Some(None);
            }
            v.add(
                f("comune"),
                "ANA-4",
                "ANA_4_DOMICILE_PLACE_REQUIRED",
                "an Italian comune or a foreign state is required",
            );
            None
        }
        (false, false) => {
            v.add(
                f("stato_estero"),
                "ANA-4",
                "ANA_4_DOMICILE_BOTH_PLACES",
                "give either an Italian comune or a foreign state, not both",
            );
            None
        }
        (false, true) => {
            let istat = comune_istat(v, &f("comune"), comune);
            let indirizzo = required(v, &f("indirizzo"), "ANA-4", &d.indirizzo);
            let cap = d.cap.trim();
            if cap.len() != 5 || !cap.bytes().all(|b| b.is_ascii_digit()) {
                v.add(f("cap"), "ANA-4", "ANA_4_CAP_FORMAT", "must be five digits");
            }
            if !d.citta_estera.trim().is_empty() {
                v.add(
                    f("citta_estera"),
                    "ANA-4",
                    "ANA_4_FOREIGN_CITY_IN_ITALY",
                    "must be empty for an Italian domicile",
                );
            }
            Some(Domicilio::Italia {
                comune_istat: istat?,
                indirizzo: indirizzo?,
                cap: cap.to_string(),
            })
        }
        (true, false) => {
            if luoghi::stato_estero(&stato).is_none() {
                v.add(
                    f("stato_estero"),
                    "ANA-4",
                    "ANA_4_STATE_UNKNOWN",
                    format!("{stato} is not the Z-code of a foreign state"),
                );
            }
            let citta = required(v, &f("citta_estera"), "ANA-4", &d.citta_estera);
            let indirizzo = required(v, &f("indirizzo"), "ANA-4", &d.indirizzo);
            if !d.cap.trim().is_empty() {
                v.add(
                    f("cap"),
                    "ANA-4",
                    "ANA_4_CAP_ABROAD",
                    "the CAP applies to Italian domiciles only: put a foreign postcode in the address",
                );
            }
            Some(Domicilio::Estero {
                stato,
                citta: citta?,
                indirizzo: indirizzo?,
            })
        }
    };
    if v.len() > before { None } else { result.map(Some) }
}

/// A comune by ISTAT code (6 digits) or cadastral code (e.g. H501), as its ISTAT code.
pub fn comune_istat(v: &mut Violations, field: &str, code: &str) -> Option<String> {
    let code = code.trim().to_uppercase();
    let found = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        luoghi::comune_by_istat(&code)
    } else {
        luoghi::comune_by_belfiore(&code)
    };
    match found {
        Some(c) => Some(c.istat.clone()),
        None => {
            v.add(
                field,
                "ANA-4",
                "ANA_4_COMUNE_UNKNOWN",
                format!("{code} is not a current Italian comune (ISTAT or cadastral code)"),
            );
            None
        }
    }
}

pub fn contatti(v: &mut Violations, prefix: &str, c: Option<&pb::Contatti>) -> Contatti {
    let Some(c) = c else { return Contatti::default() };
    Contatti {
        cellulare: cellulare(v, &format!("{prefix}.cellulare"), &c.cellulare),
        email: email(v, &format!("{prefix}.email"), &c.email),
    }
}

pub fn cellulare(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        v.add(
            field,
            "ANA-4",
            "ANA_4_PHONE_FORMAT",
            "must be a phone number of 8 to 15 digits, optionally starting with +",
        );
        return None;
    }
    Some(compact)
}

pub fn email(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let e = value.trim();
    if e.is_empty() {
        return None;
    }
    let ok = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !ok {
        v.add(field, "ANA-4", "ANA_4_EMAIL_FORMAT", "is not an e-mail address");
        return None;
    }
    Some(e.to_string())
}

/// ANA-4: the payment method, with a valid IBAN for every type but bonifico domiciliato.
pub fn metodo_pagamento(
    v: &mut Violations,
    prefix: &str,
    m: Option<&pb::MetodoPagamento>,
) -> Option<MetodoPagamento> {
    let Some(m) = m else {
        v.add(prefix, "ANA-4", "ANA_4_PAYMENT_METHOD_REQUIRED", "is required");
        return None;
    };
    let iban_field = format!("{prefix}.iban");
    let tipo = pb::TipoMetodoPagamento::try_from(m.tipo).unwrap_or(pb::TipoMetodoPagamento::Unspecified);
    if tipo == pb::TipoMetodoPagamento::BonificoDomiciliato {
        if !m.iban.trim().is_empty() {
            v.add(
                iban_field,
                "ANA-4",
                "ANA_4_IBAN_NOT_ALLOWED",
                "bonifico domiciliato is paid in cash at a post office: no IBAN",
            );
            return None;
        }
        return Some(MetodoPagamento::BonificoDomiciliato);
    }
    if tipo == pb::TipoMetodoPagamento::Unspecified {
        v.add(
            format!("{prefix}.tipo"),
            "ANA-4",
            "ANA_4_PAYMENT_METHOD_REQUIRED",
            "is required",
        );
        return None;
    }
    if m.iban.trim().is_empty() {
        v.add(
            iban_field,
            "ANA-4",
            "ANA_4_IBAN_REQUIRED",
            "is required for this payment method",
        );
        return None;
    }
    let iban = match Iban::parse(&m.iban) {
        Ok(i) => i.as_str().to_string(),
        Err(e) => {
            v.add(
                iban_field,
                "ANA-4",
                format!("ANA_4_{}", e.reason()),
                e.to_string(),
            );
            return None;
        }
    };
    Some(match tipo {
        pb::TipoMetodoPagamento::LibrettoPostale => MetodoPagamento::LibrettoPostale { iban },
        pb::TipoMetodoPagamento::CartaPagamento => MetodoPagamento::CartaPagamento { iban },
        _ => MetodoPagamento::ContoCorrente { iban },
    })
}

/// How many self-certified categories a prestatore may declare at once (ANA-4): ten validity
/// periods of each of the five categories, far beyond any real history (GW-3).
pub const MAX_CATEGORIE: usize = 50;

pub fn categorie(
    v: &mut Violations,
    prefix: &str,
    list: &[pb::CategoriaDichiarata],
) -> Vec<CategoriaDichiarata> {
    let mut out = Vec::new();
    let list = occasionali_runtime::decode::al_massimo(v, prefix, list, MAX_CATEGORIE);
    for (i, c) in list.iter().enumerate() {
        let f = |s: &str| format!("{prefix}[{i}].{s}");
        let tipo = match pb::TipoCategoria::try_from(c.tipo) {
            Ok(pb::TipoCategoria::Pensionato) => Some(TipoCategoria::Pensionato),
            Ok(pb::TipoCategoria::Studente) => Some(TipoCategoria::Studente),
            Ok(pb::TipoCategoria::Disoccupato) => Some(TipoCategoria::Disoccupato),
            Ok(pb::TipoCategoria::PercettoreSostegnoReddito) => {
                Some(TipoCategoria::PercettoreSostegnoReddito)
            }
            Ok(pb::TipoCategoria::IscrittoElenchiAgricoli) => Some(TipoCategoria::IscrittoElenchiAgricoli),
            _ => {
                v.add(f("tipo"), "ANA-4", "ANA_4_CATEGORY_REQUIRED", "is required");
                None
            }
        };
        let periodo = c.validita.clone().unwrap_or_default();
        let dal = date(v, &f("validita.dal"), "ANA-4", &periodo.dal);
        let al = if periodo.al.trim().is_empty() {
            Some(None)
        } else {
            date(v, &f("validita.al"), "ANA-4", &periodo.al).map(Some)
        };
        if let (Some(d), Some(Some(a))) = (dal, al)
            && a < d
        {
            v.add(
                f("validita.al"),
                "ANA-4",
                "ANA_4_PERIOD_REVERSED",
                "ends before it starts",
            );
            continue;
        }
        if let (Some(tipo), Some(dal), Some(al)) = (tipo, dal, al) {
            out.push(CategoriaDichiarata {
                tipo,
                dal,
                al,
                dettaglio: c.dettaglio.trim().to_string(),
            });
        }
    }
    out
}

/// ANA-5: a sede is a province abbreviation (docs/decisions.md). Empty → `Some(None)`.
pub fn sede(v: &mut Violations, field: &str, value: &str) -> Option<Option<String>> {
    let s = value.trim().to_uppercase();
    if s.is_empty() {
        return Some(None);
    }
    if !luoghi::is_province(&s) {
        v.add(
            field,
            "ANA-5",
            "ANA_5_SEDE_UNKNOWN",
            format!("{s} is not an INPS sede (a province abbreviation such as RM)"),
        );
        return None;
    }
    Some(Some(s))
}

pub fn categoria_utilizzatore(v: &mut Violations, field: &str, value: i32) -> Option<CategoriaUtilizzatore> {
    use pb::CategoriaUtilizzatore as C;
    match C::try_from(value) {
        Ok(C::Impresa) => Some(CategoriaUtilizzatore::Impresa),
        Ok(C::Professionista) => Some(CategoriaUtilizzatore::Professionista),
        Ok(C::ImpresaAgricola) => Some(CategoriaUtilizzatore::ImpresaAgricola),
        Ok(C::PubblicaAmministrazione) => Some(CategoriaUtilizzatore::PubblicaAmministrazione),
        Ok(C::AssociazioneEnte) => Some(CategoriaUtilizzatore::AssociazioneEnte),
        Ok(C::Altro) => Some(CategoriaUtilizzatore::Altro),
        _ => {
            v.add(
                field,
                "ANA-5",
                "ANA_5_CATEGORY_REQUIRED",
                "is required for a CPO utilizzatore",
            );
            None
        }
    }
}

/// ANA-5: an ATECO code of the classification in force (2025) or the previous one (2022).
pub fn ateco(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let code = value.trim();
    if code.is_empty() {
        v.add(
            field,
            "ANA-5",
            "ANA_5_ATECO_REQUIRED",
            "is required for a CPO utilizzatore",
        );
        return None;
    }
    match occasionali_kernel::ateco::normalizza(code) {
        Some(c) => Some(c),
        None => {
            v.add(
                field,
                "ANA-5",
                "ANA_5_ATECO_UNKNOWN",
                format!("{code} is not an ATECO 2025 or 2022 subcategory (e.g. 56.10.11)"),
            );
            None
        }
    }
}

pub fn dipendenti(v: &mut Violations, field: &str, value: i32) -> Option<u32> {
    match u32::try_from(value) {
        Ok(n) => Some(n),
        Err(_) => {
            v.add(field, "ANA-5", "ANA_5_EMPLOYEES_NEGATIVE", "cannot be negative");
            None
        }
    }
}

pub fn tipo_intermediario(v: &mut Violations, field: &str, value: i32) -> Option<TipoIntermediario> {
    use pb::TipoIntermediario as T;
    match T::try_from(value) {
        Ok(T::ConsulenteLavoro) => Some(TipoIntermediario::ConsulenteLavoro),
        Ok(T::Patronato) => Some(TipoIntermediario::Patronato),
        Ok(T::Caf) => Some(TipoIntermediario::Caf),
        Ok(T::AssociazioneCategoria) => Some(TipoIntermediario::AssociazioneCategoria),
        _ => {
            v.add(field, "ANA-1", "ANA_1_INTERMEDIARY_TYPE_REQUIRED", "is required");
            None
        }
    }
}
