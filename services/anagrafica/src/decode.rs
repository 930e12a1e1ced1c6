//! Decoding requests into domain values (parse, don't validate): every bad field becomes one
//! field violation with its rule, and all of them are reported together.

use chrono::NaiveDate;
use occasionali_kernel::{CodiceFiscale, Iban, PartitaIva, Sesso, luoghi};
use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::sample_soggetti_attivi_request::Dimensione as DimensioneRichiesta;
use occasionali_proto::common::Periodo;
use occasionali_runtime::{AppError, Violations};
use rust_decimal::Decimal;

use crate::domain::campione::{Dimensione, MAX_CAMPIONE, soglia_percentuale};
use crate::domain::modifica::{Campo, Valore};
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

/// The codice fiscale a read or a change names (ANA-2): trimmed and in upper case; its
/// checksum is not looked at (an unknown CF is refused as unknown).
pub fn cf_richiesto(value: &str) -> Result<String, AppError> {
    let cf = value.trim().to_uppercase();
    let mut v = Violations::new();
    if cf.is_empty() {
        v.add("codice_fiscale", "ANA-2", "ANA_2_CF_REQUIRED", "is required");
    }
    v.into_result(cf).map_err(AppError::from)
}

/// GetSoggetti's subjects: 1 to [`MAX_SOGGETTI`], each as [`cf_richiesto`], repeats once.
pub fn cf_elenco(values: &[String]) -> Result<Vec<String>, AppError> {
    let mut v = Violations::new();
    if values.is_empty() {
        v.add(
            "codici_fiscali",
            "ANA-2",
            "ANA_2_CF_REQUIRED",
            "at least one is required",
        );
    }
    let mut out: Vec<String> = Vec::new();
    for (i, value) in occasionali_runtime::decode::al_massimo(&mut v, "codici_fiscali", values, MAX_SOGGETTI)
        .iter()
        .enumerate()
    {
        let cf = value.trim().to_uppercase();
        if cf.is_empty() {
            v.add(
                format!("codici_fiscali[{i}]"),
                "ANA-2",
                "ANA_2_CF_REQUIRED",
                "is required",
            );
        } else if !out.contains(&cf) {
            out.push(cf);
        }
    }
    v.into_result(out).map_err(AppError::from)
}

/// How many subjects one GetSoggetti may ask for: a check is about a handful of parties.
pub const MAX_SOGGETTI: usize = 16;

/// A person or an organisation, never both (ANA-1), with its codice fiscale.
fn persona_o_organizzazione(
    v: &mut Violations,
    p: Option<&pb::PersonaFisica>,
    o: Option<&pb::Organizzazione>,
    oggi: NaiveDate,
) -> Option<(String, Identita)> {
    match (p, o) {
        (Some(_), Some(_)) => {
            v.add(
                "organizzazione",
                "ANA-1",
                "ANA_1_PERSON_OR_ORGANISATION",
                "give either persona or organizzazione, not both",
            );
            None
        }
        (None, Some(o)) => organizzazione(v, "organizzazione", o)
            .map(|(cf, o)| (cf.as_str().to_string(), Identita::Organizzazione(o))),
        (p, None) => persona_fisica(v, p, oggi),
    }
}

fn persona_fisica(
    v: &mut Violations,
    p: Option<&pb::PersonaFisica>,
    oggi: NaiveDate,
) -> Option<(String, Identita)> {
    persona(v, "persona", p, oggi).map(|(cf, p)| (cf.as_str().to_string(), Identita::Persona(p)))
}

/// ANA-1, ANA-4: a prestatore's registration.
pub fn registrazione_prestatore(
    r: &pb::RegisterPrestatoreRequest,
    oggi: NaiveDate,
) -> Result<Registrazione, AppError> {
    let mut v = Violations::new();
    let persona = persona_fisica(&mut v, r.persona.as_ref(), oggi);
    let domicilio = domicilio(&mut v, "domicilio", r.domicilio.as_ref());
    let contatti = contatti(&mut v, "contatti", r.contatti.as_ref());
    let metodo = metodo_pagamento(&mut v, "metodo_pagamento", r.metodo_pagamento.as_ref());
    let categorie = categorie(&mut v, "categorie", &r.categorie);
    let sede = sede(&mut v, "sede", &r.sede);
    let dati = metodo.map(|m| DatiRuolo::Prestatore {
        metodo_pagamento: m,
        categorie,
    });
    registrazione(v, persona, domicilio, contatti, sede, dati)
}

/// ANA-1, ANA-5: an utilizzatore's registration: a family (Libretto Famiglia, a natural person
/// without business data) or a CPO with its categoria, ATECO code and employees.
pub fn registrazione_utilizzatore(
    r: &pb::RegisterUtilizzatoreRequest,
    oggi: NaiveDate,
) -> Result<Registrazione, AppError> {
    let mut v = Violations::new();
    let tipo = match pb::TipoUtilizzatore::try_from(r.tipo) {
        Ok(pb::TipoUtilizzatore::LibrettoFamiglia) => Some(TipoUtilizzatore::LibrettoFamiglia),
        Ok(pb::TipoUtilizzatore::Cpo) => Some(TipoUtilizzatore::Cpo),
        _ => {
            v.add(
                "tipo",
                "ANA-5",
                "ANA_5_TYPE_REQUIRED",
                "is required (LIBRETTO_FAMIGLIA or CPO)",
            );
            None
        }
    };
    let solo_organizzazione = r.persona.is_none() && r.organizzazione.is_some();
    let identita = if solo_organizzazione && tipo == Some(TipoUtilizzatore::LibrettoFamiglia) {
        v.add(
            "organizzazione",
            "ANA-1",
            "ANA_1_LF_NATURAL_PERSON",
            "a Libretto Famiglia utilizzatore is a natural person",
        );
        None
    } else {
        persona_o_organizzazione(&mut v, r.persona.as_ref(), r.organizzazione.as_ref(), oggi)
    };
    let domicilio = domicilio(&mut v, "domicilio", r.domicilio.as_ref());
    let contatti = contatti(&mut v, "contatti", r.contatti.as_ref());
    let sede = sede(&mut v, "sede", &r.sede);
    let dati = match tipo {
        Some(TipoUtilizzatore::LibrettoFamiglia) => Some(famiglia(&mut v, r)),
        Some(TipoUtilizzatore::Cpo) => cpo(&mut v, r),
        None => None,
    };
    registrazione(v, identita, domicilio, contatti, sede, dati)
}

/// ANA-5: a Libretto Famiglia utilizzatore is a family: each business field given is refused.
fn famiglia(v: &mut Violations, r: &pb::RegisterUtilizzatoreRequest) -> DatiRuolo {
    let given = [
        ("categoria", r.categoria != 0),
        ("ateco", !r.ateco.trim().is_empty()),
        (
            "dipendenti_tempo_indeterminato",
            r.dipendenti_tempo_indeterminato != 0,
        ),
    ];
    for (field, _) in given.iter().filter(|(_, set)| *set) {
        v.add(
            *field,
            "ANA-5",
            "ANA_5_LF_NO_BUSINESS_DATA",
            "applies to CPO utilizzatori only: a Libretto Famiglia utilizzatore is a family",
        );
    }
    DatiRuolo::Utilizzatore(TipoUtilizzatore::LibrettoFamiglia, None, None, 0)
}

/// ANA-5: a CPO utilizzatore's categoria, ATECO code and employees on open-ended contracts.
fn cpo(v: &mut Violations, r: &pb::RegisterUtilizzatoreRequest) -> Option<DatiRuolo> {
    let categoria = categoria_utilizzatore(v, "categoria", r.categoria);
    let ateco = ateco(v, "ateco", &r.ateco);
    let dip = dipendenti(
        v,
        "dipendenti_tempo_indeterminato",
        r.dipendenti_tempo_indeterminato,
    );
    match (categoria, ateco, dip) {
        (Some(c), Some(a), Some(d)) => Some(DatiRuolo::Utilizzatore(
            TipoUtilizzatore::Cpo,
            Some(c),
            Some(a),
            d,
        )),
        _ => None,
    }
}

/// ANA-1: an intermediario's registration (a person or an organisation).
pub fn registrazione_intermediario(
    r: &pb::RegisterIntermediarioRequest,
    oggi: NaiveDate,
) -> Result<Registrazione, AppError> {
    let mut v = Violations::new();
    let identita = persona_o_organizzazione(&mut v, r.persona.as_ref(), r.organizzazione.as_ref(), oggi);
    let tipo = tipo_intermediario(&mut v, "tipo", r.tipo);
    let domicilio = domicilio(&mut v, "domicilio", r.domicilio.as_ref());
    let contatti = contatti(&mut v, "contatti", r.contatti.as_ref());
    let sede = sede(&mut v, "sede", &r.sede);
    let dati = tipo.map(|t| DatiRuolo::Intermediario(t, r.numero_iscrizione.trim().to_string()));
    registrazione(v, identita, domicilio, contatti, sede, dati)
}

/// Assembles a registration once every part decoded.
fn registrazione(
    v: Violations,
    identita: Option<(String, Identita)>,
    domicilio: Option<Option<Domicilio>>,
    contatti: Contatti,
    sede: Option<Option<String>>,
    dati: Option<DatiRuolo>,
) -> Result<Registrazione, AppError> {
    v.check()?;
    let (Some((cf, identita)), Some(domicilio), Some(sede), Some(ruolo)) = (identita, domicilio, sede, dati)
    else {
        return Err(AppError::internal("decoding produced no value and no violation"));
    };
    Ok(Registrazione {
        cf,
        identita,
        domicilio,
        contatti,
        sede,
        ruolo,
    })
}

/// GW-3: a mask names each changeable field at most once (about fifteen, also written in
/// camelCase); a longer list is refused before any path is looked at.
const MAX_PATHS: usize = 32;

/// ANA-6: the new values of the fields named in the mask, every bad one reported.
pub fn valori(r: &pb::UpdateSoggettoRequest, oggi: NaiveDate) -> Result<Vec<(Campo, Valore)>, AppError> {
    let mut v = Violations::new();
    let Some(campi) = campi(&mut v, r.update_mask.as_ref()) else {
        return v.into_result(Vec::new()).map_err(AppError::from);
    };
    let nuovo = Nuovo::da(r.soggetto.clone().unwrap_or_default());
    let mut out = Vec::new();
    for c in campi {
        if let Some(valore) = nuovo.valore(&mut v, c, oggi) {
            out.push((c, valore));
        }
    }
    v.into_result(out).map_err(AppError::from)
}

/// The fields the mask names; `None` when the mask itself is refused (too long, repeated paths,
/// empty), and then nothing else is looked at. Unknown paths are violations too, but the known
/// ones are still decoded so that every bad field is reported at once.
fn campi(v: &mut Violations, mask: Option<&prost_types::FieldMask>) -> Option<Vec<Campo>> {
    let before = v.len();
    let paths = mask
        .map(|m| occasionali_runtime::decode::distinti(v, "update_mask.paths", &m.paths, MAX_PATHS))
        .unwrap_or_default();
    if v.len() > before {
        return None;
    }
    if paths.is_empty() {
        v.add(
            "update_mask",
            "ANA-6",
            "ANA_6_MASK_REQUIRED",
            "name the fields to change",
        );
        return None;
    }
    let mut campi = Vec::new();
    for p in &paths {
        match Campo::from_path(p) {
            Some(cs) => campi.extend(cs),
            None => v.add(
                "update_mask",
                "ANA-6",
                "ANA_6_UNKNOWN_FIELD",
                format!("{p:?} is not a changeable field"),
            ),
        }
    }
    Some(campi)
}

/// The record of an update request, its absent parts read as empty.
struct Nuovo {
    s: pb::Soggetto,
    persona: pb::PersonaFisica,
    org: pb::Organizzazione,
    contatti: pb::Contatti,
    prestatore: pb::Prestatore,
    cpo: pb::Utilizzatore,
    inter: pb::Intermediario,
}

impl Nuovo {
    fn da(s: pb::Soggetto) -> Nuovo {
        let persona = match &s.identita {
            Some(pb::soggetto::Identita::Persona(p)) => p.clone(),
            _ => pb::PersonaFisica::default(),
        };
        let org = match &s.identita {
            Some(pb::soggetto::Identita::Organizzazione(o)) => o.clone(),
            _ => pb::Organizzazione::default(),
        };
        Nuovo {
            persona,
            org,
            contatti: s.contatti.clone().unwrap_or_default(),
            prestatore: s.prestatore.clone().unwrap_or_default(),
            cpo: s.utilizzatore_cpo.clone().unwrap_or_default(),
            inter: s.intermediario.clone().unwrap_or_default(),
            s,
        }
    }

    /// The new value of one field, or its violations.
    fn valore(&self, v: &mut Violations, c: Campo, oggi: NaiveDate) -> Option<Valore> {
        let f = format!("soggetto.{}", c.path());
        let (persona, org, cpo) = (&self.persona, &self.org, &self.cpo);
        match c {
            Campo::PersonaCognome => name(v, &f, "ANA-3", &persona.cognome).map(Valore::Cognome),
            Campo::PersonaNome => name(v, &f, "ANA-3", &persona.nome).map(Valore::Nome),
            Campo::PersonaDataNascita => date(v, &f, "ANA-3", &persona.data_nascita)
                .filter(|d| {
                    let ok = *d <= oggi;
                    if !ok {
                        v.add(&f, "ANA-3", "ANA_3_BIRTH_DATE_FUTURE", "is in the future");
                    }
                    ok
                })
                .map(Valore::DataNascita),
            Campo::PersonaSesso => sesso(v, &f, persona.sesso).map(Valore::Sesso),
            Campo::PersonaLuogoNascita => {
                luogo_nascita(v, &f, &persona.luogo_nascita).map(Valore::LuogoNascita)
            }
            Campo::OrganizzazioneDenominazione => {
                let d = org.denominazione.trim().to_string();
                if d.is_empty() {
                    v.add(&f, "ANA-5", "ANA_5_REQUIRED", "is required");
                    None
                } else {
                    Some(Valore::Denominazione(d))
                }
            }
            Campo::OrganizzazioneLegaleRappresentante => cf_persona(v, &f, &org.legale_rappresentante_cf)
                .map(|cf| Valore::LegaleRappresentante(cf.as_str().to_string())),
            Campo::Domicilio => match domicilio(v, &f, self.s.domicilio.as_ref()) {
                // A registered subject always has a domicile (ANA-4): it can change, not vanish.
                Some(None) => {
                    v.add(
                        &f,
                        "ANA-4",
                        "ANA_4_DOMICILE_REQUIRED",
                        "is required: give the new domicile",
                    );
                    None
                }
                other => other.map(Valore::Domicilio),
            },
            Campo::ContattiCellulare => {
                let before = v.len();
                let c = cellulare(v, &f, &self.contatti.cellulare);
                (v.len() == before).then_some(Valore::Cellulare(c))
            }
            Campo::ContattiEmail => {
                let before = v.len();
                let e = email(v, &f, &self.contatti.email);
                (v.len() == before).then_some(Valore::Email(e))
            }
            Campo::Sede => match sede(v, &f, &self.s.sede) {
                Some(Some(sede)) => Some(Valore::Sede(sede)),
                Some(None) => {
                    v.add(&f, "ANA-5", "ANA_5_SEDE_REQUIRED", "is required");
                    None
                }
                None => None,
            },
            Campo::PrestatoreMetodoPagamento => {
                metodo_pagamento(v, &f, self.prestatore.metodo_pagamento.as_ref())
                    .map(Valore::MetodoPagamento)
            }
            Campo::PrestatoreCategorie => {
                let before = v.len();
                let c = categorie(v, &f, &self.prestatore.categorie);
                (v.len() == before).then_some(Valore::Categorie(c))
            }
            Campo::CpoCategoria => categoria_utilizzatore(v, &f, cpo.categoria).map(Valore::CategoriaCpo),
            Campo::CpoAteco => ateco(v, &f, &cpo.ateco).map(Valore::Ateco),
            Campo::CpoDipendenti => {
                dipendenti(v, &f, cpo.dipendenti_tempo_indeterminato).map(Valore::Dipendenti)
            }
            Campo::IntermediarioTipo => {
                tipo_intermediario(v, &f, self.inter.tipo).map(Valore::TipoIntermediario)
            }
            Campo::IntermediarioNumeroIscrizione => Some(Valore::NumeroIscrizione(
                self.inter.numero_iscrizione.trim().to_string(),
            )),
        }
    }
}

/// ANA-9: the role and period of an extraction (the sede is the domain's call, see
/// `domain::estrazione::sede_estraibile`).
pub fn ruolo_e_periodo(
    v: &mut Violations,
    ruolo: i32,
    periodo: Option<&Periodo>,
) -> Option<(Ruolo, NaiveDate, NaiveDate)> {
    let ruolo = ruolo_attivo(v, ruolo);
    let p = periodo.cloned().unwrap_or_default();
    let dal = date(v, "periodo.dal", "ANA-9", &p.dal);
    let al = date(v, "periodo.al", "ANA-9", &p.al);
    if let (Some(d), Some(a)) = (dal, al)
        && a < d
    {
        v.add(
            "periodo.al",
            "ANA-9",
            "ANA_9_PERIOD_REVERSED",
            "ends before it starts",
        );
    }
    Some((ruolo?, dal?, al?))
}

fn ruolo_attivo(v: &mut Violations, value: i32) -> Option<Ruolo> {
    match pb::RuoloAttivo::try_from(value) {
        Ok(pb::RuoloAttivo::UtilizzatoreLf) => Some(Ruolo::UtilizzatoreLf),
        Ok(pb::RuoloAttivo::UtilizzatoreCpo) => Some(Ruolo::UtilizzatoreCpo),
        Ok(pb::RuoloAttivo::Prestatore) => Some(Ruolo::Prestatore),
        _ => {
            v.add("ruolo", "ANA-9", "ANA_9_ROLE_REQUIRED", "is required");
            None
        }
    }
}

/// ANA-9: a sample's size, by number (at most [`MAX_CAMPIONE`]) or by percentage.
pub fn dimensione(v: &mut Violations, d: Option<&DimensioneRichiesta>) -> Option<Dimensione> {
    match d {
        Some(DimensioneRichiesta::Numero(n)) => match usize::try_from(*n) {
            Ok(n) if (1..=MAX_CAMPIONE).contains(&n) => Some(Dimensione::Numero(n)),
            _ => {
                v.add(
                    "numero",
                    "ANA-9",
                    "ANA_9_SAMPLE_SIZE",
                    "must be between 1 and 100,000 (use percentuale for larger samples)",
                );
                None
            }
        },
        Some(DimensioneRichiesta::Percentuale(p)) => percentuale(v, p).map(|c| Dimensione::Percentuale {
            soglia: soglia_percentuale(c),
            come_chiesta: p.clone(),
        }),
        None => {
            v.add(
                "numero",
                "ANA-9",
                "ANA_9_SAMPLE_SIZE_REQUIRED",
                "give numero or percentuale",
            );
            None
        }
    }
}

/// "2.5" → 250 hundredths of a point, in (0, 100].
fn percentuale(v: &mut Violations, value: &str) -> Option<u32> {
    let d: Decimal = match value.trim().parse() {
        Ok(d) => d,
        Err(_) => {
            v.add(
                "percentuale",
                "ANA-9",
                "ANA_9_PERCENT_FORMAT",
                "is not a decimal number",
            );
            return None;
        }
    };
    let hundredths = d * Decimal::from(100);
    if d <= Decimal::ZERO || d > Decimal::from(100) || hundredths.fract() != Decimal::ZERO {
        v.add(
            "percentuale",
            "ANA-9",
            "ANA_9_PERCENT_RANGE",
            "must be more than 0 and at most 100, with at most two decimals",
        );
        return None;
    }
    u32::try_from(hundredths.trunc().mantissa() / 10i128.pow(hundredths.trunc().scale())).ok()
}
