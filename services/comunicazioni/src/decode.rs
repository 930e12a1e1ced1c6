//! Requests → domain values (parse, don't validate): every bad field becomes one field
//! violation with its rule and a path in the request (`lavoratore.cognome`,
//! `rapporto.luoghi_lavoro[1].cap`), and all of them are reported together (LAO-3).

use chrono::NaiveDate;
use occasionali_kernel::{CodiceFiscaleSoggetto, DatiAnagrafici, Euro, EuroError, Sesso, luoghi};
use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::pagina::{Pagina, impronta};
use occasionali_runtime::{Identity, Violations};
use prost::Message;

use crate::app::ricerche::Ricerca;
use crate::domain::accesso::{Apertura, ChiaviDate};
use crate::domain::catena::Fase;
use crate::domain::cittadinanza::Cittadinanza;
use crate::domain::*;
use crate::encode;
use crate::store::Richiesta;

/// Longest free text (names, addresses, issuing authority…).
const MAX_TESTO: usize = 200;
/// Longest description of the work.
const MAX_DESCRIZIONE: usize = 2000;
/// Most workplaces in one communication.
const MAX_LUOGHI: usize = 100;
/// Largest estimated compensation: 999,999,999.99 euro keeps every sum within i64 cents.
const MAX_COMPENSO_CENTS: i64 = 99_999_999_999;

fn reason(rule: &str, what: &str) -> String {
    format!("{}_{what}", rule.replace('-', "_"))
}

/// Required free text: trimmed, inner whitespace collapsed, no control characters.
fn testo(v: &mut Violations, field: &str, rule: &'static str, value: &str, max: usize) -> Option<String> {
    let t = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        v.add(field, rule, reason(rule, "REQUIRED"), "is required");
        return None;
    }
    if t.chars().any(char::is_control) {
        v.add(
            field,
            rule,
            reason(rule, "CONTROL_CHARACTERS"),
            "must not contain control characters",
        );
        return None;
    }
    if t.chars().count() > max {
        v.add(
            field,
            rule,
            reason(rule, "TOO_LONG"),
            format!("is longer than {max} characters"),
        );
        return None;
    }
    Some(t)
}

/// A person's name: letters, spaces, apostrophes, hyphens and dots, stored upper case.
fn nome(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let t = testo(v, field, "LAO-3", value, MAX_TESTO)?;
    let ok = t.chars().any(char::is_alphabetic)
        && t.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '-' | '.' | '’'));
    if !ok {
        v.add(
            field,
            "LAO-3",
            "LAO_3_NAME_CHARACTERS",
            "may contain only letters, spaces, apostrophes, hyphens and dots",
        );
        return None;
    }
    Some(t.to_uppercase())
}

pub fn data(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    if value.is_empty() {
        v.add(field, rule, reason(rule, "REQUIRED"), "is required (YYYY-MM-DD)");
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                rule,
                reason(rule, "DATE_FORMAT"),
                format!("{value:?} is not a date (YYYY-MM-DD)"),
            );
            None
        }
    }
}

/// A codice fiscale of either kind (ANA-2): 16 characters for a person, 11 digits for an
/// organisation (or a worker's provisional code).
pub fn cf(v: &mut Violations, field: &str, value: &str) -> Option<CodiceFiscaleSoggetto> {
    if value.trim().is_empty() {
        v.add(field, "ANA-2", "ANA_2_CF_REQUIRED", "is required");
        return None;
    }
    match CodiceFiscaleSoggetto::parse(value) {
        Ok(cf) => Some(cf),
        Err(e) => {
            v.add(field, "ANA-2", format!("ANA_2_{}", e.reason()), e.to_string());
            None
        }
    }
}

/// An optional CF key (search, detail): `None` when empty.
pub fn cf_chiave(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    cf(v, field, value).map(|c| c.as_str().to_string())
}

/// A codice comunicazione: a mistyped one is INVALID_ARGUMENT, never NOT_FOUND (LAO-5).
pub fn codice(v: &mut Violations, field: &str, value: &str) -> Option<CodiceComunicazione> {
    if value.trim().is_empty() {
        v.add(field, "LAO-5", "LAO_5_CODICE_REQUIRED", "is required");
        return None;
    }
    match CodiceComunicazione::parse(value) {
        Ok(c) => Some(c),
        Err(e) => {
            v.add(field, "LAO-5", e.reason(), e.to_string());
            None
        }
    }
}

/// An optional codice (search): `None` when empty.
pub fn codice_chiave(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    codice(v, field, value).map(CodiceComunicazione::into_string)
}

/// A current comune by ISTAT code (6 digits) or cadastral code (H501), as its ISTAT code.
fn comune(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let code = value.trim().to_uppercase();
    if code.is_empty() {
        v.add(field, rule, reason(rule, "REQUIRED"), "is required");
        return None;
    }
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
                rule,
                reason(rule, "COMUNE_UNKNOWN"),
                format!("{code:?} is not a current Italian comune (ISTAT or cadastral code)"),
            );
            None
        }
    }
}

fn cap(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let c = value.trim();
    if c.len() != 5 || !c.bytes().all(|b| b.is_ascii_digit()) {
        v.add(field, rule, reason(rule, "CAP_FORMAT"), "must be five digits");
        return None;
    }
    Some(c.to_string())
}

pub fn email(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let e = value.trim();
    if e.is_empty() {
        v.add(field, rule, reason(rule, "REQUIRED"), "is required");
        return None;
    }
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !ok {
        v.add(
            field,
            rule,
            reason(rule, "EMAIL_FORMAT"),
            "is not an e-mail address",
        );
        return None;
    }
    Some(e.to_string())
}

/// Section 1. `cf` is the committente CF already settled by the profile (LAO-1): the
/// request's own for a Soggetto Abilitato, the profile's for an Azienda.
pub fn committente(
    v: &mut Violations,
    c: Option<&pb::Committente>,
    cf_richiesto: &str,
) -> Option<Committente> {
    let empty = pb::Committente::default();
    let c = c.unwrap_or(&empty);
    let cf = self::cf(v, "committente.codice_fiscale", cf_richiesto);
    let denominazione = testo(
        v,
        "committente.denominazione",
        "LAO-3",
        &c.denominazione,
        MAX_TESTO,
    );
    let comune = comune(v, "committente.comune", "LAO-3", &c.comune);
    let indirizzo = testo(v, "committente.indirizzo", "LAO-3", &c.indirizzo, MAX_TESTO);
    let cap = cap(v, "committente.cap", "LAO-3", &c.cap);
    let email = email(v, "committente.email", "LAO-3", &c.email);
    Some(Committente {
        cf: cf?.as_str().to_string(),
        denominazione: denominazione?,
        comune_istat: comune?,
        indirizzo: indirizzo?,
        cap: cap?,
        email: email?,
    })
}

fn sesso(v: &mut Violations, field: &str, value: i32) -> Option<Sesso> {
    match pb::Sesso::try_from(value) {
        Ok(pb::Sesso::M) => Some(Sesso::M),
        Ok(pb::Sesso::F) => Some(Sesso::F),
        _ => {
            v.add(
                field,
                "LAO-3",
                "LAO_3_REQUIRED",
                "is required (SESSO_M or SESSO_F)",
            );
            None
        }
    }
}

fn luogo_nascita(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    let code = value.trim().to_uppercase();
    if code.is_empty() {
        v.add(field, "LAO-3", "LAO_3_REQUIRED", "is required");
        return None;
    }
    if !luoghi::belfiore_known(&code) {
        v.add(
            field,
            "ANA-3",
            "ANA_3_UNKNOWN_BIRTH_PLACE",
            format!("{code:?} is not the Belfiore code of a comune or of a foreign state"),
        );
        return None;
    }
    Some(code)
}

/// The issue and expiry dates of a document or permit: issued by today, expiring after issue.
fn date_documento(
    v: &mut Violations,
    prefix: &str,
    rilascio: &str,
    scadenza: &str,
    oggi: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let r = data(v, &format!("{prefix}.data_rilascio"), "LAO-4", rilascio);
    let s = data(v, &format!("{prefix}.data_scadenza"), "LAO-4", scadenza);
    let (r, s) = (r?, s?);
    let mut ok = true;
    if r > oggi {
        v.add(
            format!("{prefix}.data_rilascio"),
            "LAO-4",
            "LAO_4_ISSUED_IN_FUTURE",
            "is after today",
        );
        ok = false;
    }
    if s < r {
        v.add(
            format!("{prefix}.data_scadenza"),
            "LAO-4",
            "LAO_4_EXPIRES_BEFORE_ISSUE",
            "is before the issue date",
        );
        ok = false;
    }
    ok.then_some((r, s))
}

fn documento(v: &mut Violations, d: &pb::DocumentoIdentita, oggi: NaiveDate) -> Option<Documento> {
    let p = "lavoratore.documento";
    let tipo = match pb::TipoDocumento::try_from(d.tipo) {
        Ok(pb::TipoDocumento::CartaIdentita) => Some(TipoDocumento::CartaIdentita),
        Ok(pb::TipoDocumento::Passaporto) => Some(TipoDocumento::Passaporto),
        Ok(pb::TipoDocumento::Patente) => Some(TipoDocumento::Patente),
        Ok(pb::TipoDocumento::Altro) => Some(TipoDocumento::Altro),
        _ => {
            v.add(
                format!("{p}.tipo"),
                "LAO-4",
                "LAO_4_REQUIRED",
                "is required (CARTA_IDENTITA, PASSAPORTO, PATENTE or ALTRO)",
            );
            None
        }
    };
    let numero = testo(v, &format!("{p}.numero"), "LAO-4", &d.numero, MAX_TESTO);
    let da = testo(
        v,
        &format!("{p}.rilasciato_da"),
        "LAO-4",
        &d.rilasciato_da,
        MAX_TESTO,
    );
    let date = date_documento(v, p, &d.data_rilascio, &d.data_scadenza, oggi);
    let (data_rilascio, data_scadenza) = date?;
    Some(Documento {
        tipo: tipo?,
        numero: numero?,
        rilasciato_da: da?,
        data_rilascio,
        data_scadenza,
    })
}

fn permesso(v: &mut Violations, d: &pb::PermessoSoggiorno, oggi: NaiveDate) -> Option<Permesso> {
    let p = "lavoratore.permesso_soggiorno";
    let numero = testo(v, &format!("{p}.numero"), "LAO-4", &d.numero, MAX_TESTO);
    let motivo = testo(v, &format!("{p}.motivo"), "LAO-4", &d.motivo, MAX_TESTO);
    let questura = testo(v, &format!("{p}.questura"), "LAO-4", &d.questura, MAX_TESTO);
    let date = date_documento(v, p, &d.data_rilascio, &d.data_scadenza, oggi);
    let (data_rilascio, data_scadenza) = date?;
    Some(Permesso {
        numero: numero?,
        motivo: motivo?,
        questura: questura?,
        data_rilascio,
        data_scadenza,
    })
}

/// LAO-4: a non-EU worker identifies with a residence permit, every other with an identity
/// document. `ue` is `None` when the citizenship itself is invalid.
fn identificazione(
    v: &mut Violations,
    i: Option<&pb::lavoratore::Identificazione>,
    ue: Option<bool>,
    oggi: NaiveDate,
) -> Option<Identificazione> {
    use pb::lavoratore::Identificazione as I;
    match (i, ue) {
        (None, Some(false)) => {
            v.add(
                "lavoratore.permesso_soggiorno",
                "LAO-4",
                "LAO_4_PERMIT_REQUIRED",
                "a non-EU worker needs a residence permit (permesso di soggiorno)",
            );
            None
        }
        (None, _) => {
            v.add(
                "lavoratore.documento",
                "LAO-4",
                "LAO_4_DOCUMENT_REQUIRED",
                "an identity document is required (a residence permit for a non-EU worker)",
            );
            None
        }
        (Some(I::Documento(d)), ue) => {
            let doc = documento(v, d, oggi);
            if ue == Some(false) {
                v.add(
                    "lavoratore.permesso_soggiorno",
                    "LAO-4",
                    "LAO_4_PERMIT_REQUIRED",
                    "a non-EU worker needs a residence permit (permesso di soggiorno), not an identity document",
                );
                return None;
            }
            doc.map(Identificazione::Documento)
        }
        (Some(I::PermessoSoggiorno(p)), ue) => {
            let per = permesso(v, p, oggi);
            if ue == Some(true) {
                v.add(
                    "lavoratore.documento",
                    "LAO-4",
                    "LAO_4_DOCUMENT_REQUIRED",
                    "an Italian or EU worker gives an identity document, not a residence permit",
                );
                return None;
            }
            per.map(Identificazione::Permesso)
        }
    }
}

/// LAO-4: an Italian domicile (comune from the ISTAT list, address, CAP) or a foreign one
/// (state, city, address). The oneof keeps a comune and a foreign city from being given
/// together.
fn domicilio(v: &mut Violations, d: Option<&pb::Domicilio>) -> Option<Domicilio> {
    use pb::domicilio::Luogo;
    match d.and_then(|d| d.luogo.as_ref()) {
        None => {
            v.add(
                "lavoratore.domicilio",
                "LAO-4",
                "LAO_4_DOMICILE_REQUIRED",
                "is required: italia (comune, address, CAP) or estero (state, city, address)",
            );
            None
        }
        Some(Luogo::Italia(i)) => {
            let p = "lavoratore.domicilio.italia";
            let comune = comune(v, &format!("{p}.comune"), "LAO-4", &i.comune);
            let indirizzo = testo(v, &format!("{p}.indirizzo"), "LAO-4", &i.indirizzo, MAX_TESTO);
            let cap = cap(v, &format!("{p}.cap"), "LAO-4", &i.cap);
            Some(Domicilio::Italia {
                comune_istat: comune?,
                indirizzo: indirizzo?,
                cap: cap?,
            })
        }
        Some(Luogo::Estero(e)) => {
            let p = "lavoratore.domicilio.estero";
            let stato = e.stato.trim().to_uppercase();
            let stato = if stato.is_empty() {
                v.add(
                    format!("{p}.stato"),
                    "LAO-4",
                    "LAO_4_REQUIRED",
                    "is required (Z-code of the state)",
                );
                None
            } else if luoghi::stato_estero(&stato).is_none() {
                v.add(
                    format!("{p}.stato"),
                    "LAO-4",
                    "LAO_4_STATE_UNKNOWN",
                    format!("{stato:?} is not the Z-code of a foreign state"),
                );
                None
            } else {
                Some(stato)
            };
            let citta = testo(v, &format!("{p}.citta"), "LAO-4", &e.citta, MAX_TESTO);
            let indirizzo = testo(v, &format!("{p}.indirizzo"), "LAO-4", &e.indirizzo, MAX_TESTO);
            Some(Domicilio::Estero {
                stato: stato?,
                citta: citta?,
                indirizzo: indirizzo?,
            })
        }
    }
}

/// Section 2, with the personal data checked against a 16-character CF (ANA-3, one
/// violation per conflicting field).
pub fn lavoratore(v: &mut Violations, l: Option<&pb::Lavoratore>, oggi: NaiveDate) -> Option<Lavoratore> {
    let empty = pb::Lavoratore::default();
    let l = l.unwrap_or(&empty);
    let cf = cf(v, "lavoratore.codice_fiscale", &l.codice_fiscale);
    let cognome = nome(v, "lavoratore.cognome", &l.cognome);
    let nome_ = nome(v, "lavoratore.nome", &l.nome);
    let nascita = data(v, "lavoratore.data_nascita", "LAO-3", &l.data_nascita);
    if let Some(d) = nascita
        && d >= oggi
    {
        v.add(
            "lavoratore.data_nascita",
            "LAO-3",
            "LAO_3_BIRTH_DATE_NOT_PAST",
            "must be before today",
        );
    }
    let sesso = sesso(v, "lavoratore.sesso", l.sesso);
    let luogo = luogo_nascita(v, "lavoratore.luogo_nascita", &l.luogo_nascita);
    let cittadinanza = if l.cittadinanza.trim().is_empty() {
        v.add(
            "lavoratore.cittadinanza",
            "LAO-4",
            "LAO_4_REQUIRED",
            "is required (ISO 3166-1 alpha-2, e.g. IT, or the state's Z-code)",
        );
        None
    } else {
        match Cittadinanza::parse(&l.cittadinanza) {
            Ok(c) => Some(c),
            Err(_) => {
                v.add(
                    "lavoratore.cittadinanza",
                    "LAO-4",
                    "LAO_4_CITIZENSHIP_UNKNOWN",
                    "is not an ISO 3166-1 alpha-2 country code nor the Z-code of a state",
                );
                None
            }
        }
    };
    let identificazione = identificazione(
        v,
        l.identificazione.as_ref(),
        cittadinanza.as_ref().map(Cittadinanza::is_ue),
        oggi,
    );
    let domicilio = domicilio(v, l.domicilio.as_ref());
    // ANA-3 on every field that decoded, even when others did not: the missing ones are taken
    // from the CF itself (so they cannot conflict) and their conflicts are not reported.
    let mut coerente = true;
    if let Some(CodiceFiscaleSoggetto::Persona(p)) = &cf {
        let dati = DatiAnagrafici {
            cognome: cognome.clone().unwrap_or_default(),
            nome: nome_.clone().unwrap_or_default(),
            data_nascita: nascita.unwrap_or_else(|| p.data_nascita(oggi)),
            sesso: sesso.unwrap_or_else(|| p.sesso()),
            luogo_nascita: luogo.clone().unwrap_or_else(|| p.codice_belfiore()),
        };
        let presente = |field: &str| match field {
            "cognome" => cognome.is_some(),
            "nome" => nome_.is_some(),
            "data_nascita" => nascita.is_some(),
            "sesso" => sesso.is_some(),
            "luogo_nascita" => luogo.is_some(),
            _ => true,
        };
        for c in p.conflicts(&dati).iter().filter(|c| presente(c.field)) {
            v.add(
                format!("lavoratore.{}", c.field),
                "ANA-3",
                "ANA_3_CF_DATA_CONFLICT",
                c.description.clone(),
            );
            coerente = false;
        }
    }
    let (cf, cognome, nome_, data_nascita, sesso, luogo_nascita) =
        (cf?, cognome?, nome_?, nascita?, sesso?, luogo?);
    if !coerente {
        return None;
    }
    Some(Lavoratore {
        cf: cf.as_str().to_string(),
        cognome,
        nome: nome_,
        data_nascita,
        sesso,
        luogo_nascita,
        cittadinanza: cittadinanza?.into_string(),
        identificazione: identificazione?,
        domicilio: domicilio?,
    })
}

fn compenso(v: &mut Violations, field: &str, value: &str) -> Option<Euro> {
    if value.trim().is_empty() {
        v.add(
            field,
            "LAO-3",
            "LAO_3_REQUIRED",
            "is required (euro, e.g. 350.00)",
        );
        return None;
    }
    match Euro::parse_non_negative(value) {
        Ok(e) if e.cents() > MAX_COMPENSO_CENTS => {
            v.add(
                field,
                "LAO-3",
                "LAO_3_COMPENSATION_TOO_LARGE",
                "is above 999999999.99 euro",
            );
            None
        }
        Ok(e) => Some(e),
        Err(e) => {
            let (what, text) = match e {
                EuroError::Negative => ("COMPENSATION_NEGATIVE", "must not be negative"),
                EuroError::TooManyDecimals => ("COMPENSATION_DECIMALS", "has more than two decimals"),
                EuroError::Format => (
                    "COMPENSATION_FORMAT",
                    "is not a euro amount (digits, optionally a dot and up to two decimals)",
                ),
                EuroError::Overflow => ("COMPENSATION_TOO_LARGE", "is too large"),
            };
            v.add(field, "LAO-3", reason("LAO-3", what), text);
            None
        }
    }
}

/// Section 3, the start date not before `minimo` (LAO-3, LAO-7). `data_fine` is output only
/// and ignored.
pub fn rapporto(
    v: &mut Violations,
    r: Option<&pb::Rapporto>,
    minimo: Option<InizioMinimo>,
) -> Option<Rapporto> {
    let empty = pb::Rapporto::default();
    let r = r.unwrap_or(&empty);
    let data_inizio = data(v, "rapporto.data_inizio", "LAO-3", &r.data_inizio);
    if let (Some(d), Some(m)) = (data_inizio, minimo)
        && !m.ammette(d)
    {
        v.add(
            "rapporto.data_inizio",
            m.rule,
            m.reason,
            format!("cannot be before today ({})", m.oggi),
        );
    }
    let durata = match pb::DurataRapporto::try_from(r.durata) {
        Ok(pb::DurataRapporto::Giorni7) => Some(Durata::Giorni7),
        Ok(pb::DurataRapporto::Giorni15) => Some(Durata::Giorni15),
        Ok(pb::DurataRapporto::Giorni30) => Some(Durata::Giorni30),
        _ => {
            v.add(
                "rapporto.durata",
                "LAO-3",
                "LAO_3_DURATION",
                "is required: within 7, 15 or 30 days (DURATA_RAPPORTO_GIORNI_7, _15, _30)",
            );
            None
        }
    };
    let descrizione = testo(
        v,
        "rapporto.descrizione",
        "LAO-3",
        &r.descrizione,
        MAX_DESCRIZIONE,
    );
    let compenso = compenso(v, "rapporto.compenso_stimato", &r.compenso_stimato);
    let mut luoghi = Vec::new();
    let mut luoghi_ok = true;
    if r.luoghi_lavoro.is_empty() {
        v.add(
            "rapporto.luoghi_lavoro",
            "LAO-3",
            "LAO_3_WORKPLACE_REQUIRED",
            "at least one workplace (comune, address, CAP) is required",
        );
        luoghi_ok = false;
    } else if r.luoghi_lavoro.len() > MAX_LUOGHI {
        v.add(
            "rapporto.luoghi_lavoro",
            "LAO-3",
            "LAO_3_TOO_MANY_WORKPLACES",
            format!("at most {MAX_LUOGHI} workplaces"),
        );
        luoghi_ok = false;
    } else {
        for (i, l) in r.luoghi_lavoro.iter().enumerate() {
            let p = format!("rapporto.luoghi_lavoro[{i}]");
            let comune = comune(v, &format!("{p}.comune"), "LAO-3", &l.comune);
            let indirizzo = testo(v, &format!("{p}.indirizzo"), "LAO-3", &l.indirizzo, MAX_TESTO);
            let cap = cap(v, &format!("{p}.cap"), "LAO-3", &l.cap);
            match (comune, indirizzo, cap) {
                (Some(comune_istat), Some(indirizzo), Some(cap)) => luoghi.push(LuogoLavoro {
                    comune_istat,
                    indirizzo,
                    cap,
                }),
                _ => luoghi_ok = false,
            }
        }
    }
    if !luoghi_ok {
        return None;
    }
    Some(Rapporto {
        data_inizio: data_inizio?,
        durata: durata?,
        descrizione: descrizione?,
        compenso_stimato: compenso?,
        luoghi_lavoro: luoghi,
    })
}

/// Sections 1-3 of a send.
pub fn contenuto(
    v: &mut Violations,
    committente: Option<&pb::Committente>,
    committente_cf: &str,
    lavoratore: Option<&pb::Lavoratore>,
    rapporto: Option<&pb::Rapporto>,
    oggi: NaiveDate,
    minimo: Option<InizioMinimo>,
) -> Option<Contenuto> {
    let c = self::committente(v, committente, committente_cf);
    let l = self::lavoratore(v, lavoratore, oggi);
    let r = self::rapporto(v, rapporto, minimo);
    Some(Contenuto {
        committente: c?,
        lavoratore: l?,
        rapporto: r?,
    })
}

/// Every violation collected, or the decoded value. A `None` without a violation would be a
/// decoder bug: it is still the caller's request that is incomplete, never INTERNAL.
pub fn completo<T>(v: Violations, x: Option<T>) -> Result<T, Violations> {
    v.check()?;
    x.ok_or_else(|| {
        let mut v = Violations::new();
        v.add("", "LAO-3", "LAO_3_INCOMPLETE", "the request is incomplete");
        v
    })
}

/// Longest client request id.
const MAX_REQUEST_ID: usize = 128;

/// The caller-scoped key of an optional request id (AIP-155, LAO-5), with the fingerprint of
/// the request (`rpc` and its bytes) that tells a retry from a reuse.
pub fn richiesta(
    caller_cf: &str,
    rpc: &str,
    request_id: &str,
    request: &impl Message,
) -> Result<Option<Richiesta>, Violations> {
    let request_id = request_id.trim();
    if request_id.is_empty() {
        return Ok(None);
    }
    if request_id.chars().count() > MAX_REQUEST_ID || request_id.chars().any(char::is_control) {
        let mut v = Violations::new();
        v.add(
            "request_id",
            "LAO-5",
            "LAO_5_REQUEST_ID",
            format!("at most {MAX_REQUEST_ID} printable characters"),
        );
        return Err(v);
    }
    let mut bytes = rpc.as_bytes().to_vec();
    bytes.extend(request.encode_to_vec());
    Ok(Some(Richiesta {
        key: format!("{caller_cf}|{request_id}"),
        impronta: format!("{:016x}", occasionali_kernel::ids::fnv1a(&bytes)),
    }))
}

/// A P's sections 1-3, with section 1 as settled by the profile (`committente`, whose CF is
/// `committente_cf`), and the compilatore's e-mail (LAO-3, LAO-5).
pub fn preventiva(
    r: &pb::InsertComunicazioneRequest,
    committente: Option<&pb::Committente>,
    committente_cf: &str,
    oggi: NaiveDate,
) -> Result<(Contenuto, String), Violations> {
    let mut v = Violations::new();
    let contenuto = self::contenuto(
        &mut v,
        committente,
        committente_cf,
        r.lavoratore.as_ref(),
        r.rapporto.as_ref(),
        oggi,
        Some(InizioMinimo::preventiva(oggi)),
    );
    let email = self::email(&mut v, "compilatore_email", "LAO-5", &r.compilatore_email);
    completo(v, contenuto.zip(email))
}

/// The codice a V varies.
pub fn codice_variato(r: &pb::VaryComunicazioneRequest) -> Result<CodiceComunicazione, Violations> {
    let mut v = Violations::new();
    let codice = self::codice(&mut v, "codice_comunicazione", &r.codice_comunicazione);
    completo(v, codice)
}

/// The two CFs of a V (`committente_cf` as the profile settled it), which are also the other
/// two of the three keys of a soggetto abilitato (LAO-1).
pub fn chiavi_variazione(
    r: &pb::VaryComunicazioneRequest,
    committente_cf: &str,
) -> Result<ChiaviDate, Violations> {
    let mut v = Violations::new();
    let date = ChiaviDate {
        committente_cf: cf_chiave(&mut v, "committente.codice_fiscale", committente_cf),
        lavoratore_cf: cf_chiave(
            &mut v,
            "lavoratore.codice_fiscale",
            r.lavoratore
                .as_ref()
                .map(|l| l.codice_fiscale.as_str())
                .unwrap_or_default(),
        ),
    };
    v.check()?;
    Ok(date)
}

/// A V's sections 1-3 over the head's `attuale` in phase `fase`, and the compilatore's e-mail
/// (LAO-6..LAO-8). A section left out is the head's; section 1 is the registry's for an
/// Azienda (`dal_registro`), and given without its CF keeps the head's (it never changes).
pub fn variazione(
    r: &pb::VaryComunicazioneRequest,
    attuale: &Contenuto,
    dal_registro: Option<&pb::Committente>,
    committente_cf: &str,
    fase: Fase,
    oggi: NaiveDate,
) -> Result<(Contenuto, String), Violations> {
    let committente = match (dal_registro, &r.committente) {
        (Some(c), _) => c.clone(),
        (None, None) => encode::committente(&attuale.committente),
        (None, Some(c)) => c.clone(),
    };
    let lavoratore = match &r.lavoratore {
        None => encode::lavoratore(&attuale.lavoratore),
        Some(l) => l.clone(),
    };
    let rapporto = match &r.rapporto {
        None => encode::rapporto(&attuale.rapporto),
        Some(ra) => ra.clone(),
    };
    let committente_cf = if committente_cf.is_empty() {
        &attuale.committente.cf
    } else {
        committente_cf
    };
    let minimo = match fase {
        Fase::FinoAllInizio => Some(InizioMinimo::variazione(oggi, attuale.rapporto.data_inizio)),
        Fase::DopoLInizio => None,
    };
    let mut v = Violations::new();
    let nuovo = self::contenuto(
        &mut v,
        Some(&committente),
        committente_cf,
        Some(&lavoratore),
        Some(&rapporto),
        oggi,
        minimo,
    );
    let email = self::email(&mut v, "compilatore_email", "LAO-5", &r.compilatore_email);
    completo(v, nuovo.zip(email))
}

/// An A: the codice it cancels, the compilatore's e-mail, and the other two of the three keys,
/// as GetComunicazione and a search take them (LAO-1, LAO-9).
pub fn annullamento(
    r: &pb::CancelComunicazioneRequest,
) -> Result<(CodiceComunicazione, String, ChiaviDate), Violations> {
    let mut v = Violations::new();
    let codice = self::codice(&mut v, "codice_comunicazione", &r.codice_comunicazione);
    let email = self::email(&mut v, "compilatore_email", "LAO-5", &r.compilatore_email);
    let date = ChiaviDate {
        committente_cf: cf_chiave(&mut v, "committente_cf", &r.committente_cf),
        lavoratore_cf: cf_chiave(&mut v, "lavoratore_cf", &r.lavoratore_cf),
    };
    let (codice, email) = completo(v, codice.zip(email))?;
    Ok((codice, email, date))
}

/// The keys that open one communication (GetComunicazione, DownloadRicevuta; LAO-1).
pub fn apertura(codice: &str, committente_cf: &str, lavoratore_cf: &str) -> Result<Apertura, Violations> {
    let mut v = Violations::new();
    let codice = self::codice(&mut v, "codice_comunicazione", codice);
    let date = ChiaviDate {
        committente_cf: cf_chiave(&mut v, "committente_cf", committente_cf),
        lavoratore_cf: cf_chiave(&mut v, "lavoratore_cf", lavoratore_cf),
    };
    let codice = completo(v, codice)?;
    Ok(Apertura { codice, date })
}

/// A search (LAO-2): at least one key, and the page, whose token is bound to the keys and to
/// who asks.
pub fn ricerca(id: &Identity, r: &pb::SearchComunicazioniRequest) -> Result<Ricerca, Violations> {
    let mut v = Violations::new();
    let codice = codice_chiave(&mut v, "codice_comunicazione", &r.codice_comunicazione);
    let committente_cf = cf_chiave(&mut v, "committente_cf", &r.committente_cf);
    let lavoratore_cf = cf_chiave(&mut v, "lavoratore_cf", &r.lavoratore_cf);
    let given = [&r.codice_comunicazione, &r.committente_cf, &r.lavoratore_cf];
    if given.iter().all(|k| k.trim().is_empty()) {
        for field in ["codice_comunicazione", "committente_cf", "lavoratore_cf"] {
            v.add(
                field,
                "LAO-2",
                "LAO_2_KEY_REQUIRED",
                "give at least one of codice_comunicazione, committente_cf, lavoratore_cf",
            );
        }
    }
    let impronta = impronta(&[
        codice.as_deref().unwrap_or_default(),
        committente_cf.as_deref().unwrap_or_default(),
        lavoratore_cf.as_deref().unwrap_or_default(),
        &id.caller.cf,
        id.profile().as_str(),
    ]);
    let pagina = Pagina::decodifica(&mut v, "LAO-2", r.page_size, &r.page_token, impronta);
    v.check()?;
    Ok(Ricerca {
        codice,
        committente_cf,
        lavoratore_cf,
        pagina,
    })
}

/// A worker's summary: the worker's CF and the year (`None`: every year).
pub fn riepilogo(r: &pb::GetLavoratoreSummaryRequest) -> Result<(String, Option<i32>), Violations> {
    let mut v = Violations::new();
    let cf = self::cf(&mut v, "lavoratore_cf", &r.lavoratore_cf);
    let anno = match r.anno {
        0 => None,
        a if (1900..=9999).contains(&a) => Some(a),
        _ => {
            v.add(
                "anno",
                "LAO-3",
                "LAO_3_YEAR",
                "is a calendar year (0 for every year)",
            );
            None
        }
    };
    let cf = completo(v, cf)?.as_str().to_string();
    Ok((cf, anno))
}
