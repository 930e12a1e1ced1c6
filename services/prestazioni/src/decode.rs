//! Requests decoded once into domain types, collecting every field violation (STYLE habit 1).

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::calendar::{end_of_day_exclusive, start_of_day};
use occasionali_kernel::{CodiceFiscale, CodiceFiscaleSoggetto, Euro};
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::Violations;

use crate::domain::dichiarazione::{AttivitaLf, FinalitaPa, LavoroCpo, LavoroLf, Luogo, TempoCpo};
use crate::domain::{Dichiarazione, Lavoro, Pagamento, Stato, StatoPagamento, Tipo};

pub mod regole;

pub fn cf_soggetto(v: &mut Violations, field: &str, rule: &'static str, s: &str) -> Option<String> {
    match CodiceFiscaleSoggetto::parse(s) {
        Ok(c) => Some(c.as_str().to_string()),
        Err(e) => {
            v.add(field, rule, format!("PRE_1_CF_{}", e.reason()), e.to_string());
            None
        }
    }
}

pub fn cf_persona(v: &mut Violations, field: &str, rule: &'static str, s: &str) -> Option<String> {
    match CodiceFiscale::parse(s) {
        Ok(c) => Some(c.as_str().to_string()),
        Err(e) => {
            v.add(field, rule, format!("PRE_1_CF_{}", e.reason()), e.to_string());
            None
        }
    }
}

pub fn data(v: &mut Violations, field: &str, rule: &'static str, s: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(field, rule, "PRE_1_DATE_FORMAT", "must be a date YYYY-MM-DD");
            None
        }
    }
}

/// The comune's name from its ISTAT or cadastral code.
pub fn comune(code: &str) -> Option<String> {
    let c = code.trim().to_uppercase();
    occasionali_kernel::luoghi::comune_by_istat(&c)
        .or_else(|| occasionali_kernel::luoghi::comune_by_belfiore(&c))
        .map(|c| c.name.clone())
}

pub fn istante(t: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

/// A subject named by a request: trimmed and upper-cased, `None` when empty.
pub fn soggetto(s: &str) -> Option<String> {
    let t = s.trim().to_uppercase();
    (!t.is_empty()).then_some(t)
}

/// DatiPrestazione → a declaration (PRE-1), part by part, every bad field one violation, in the
/// order a refusal lists them.
pub fn dichiarazione(d: Option<&pb::DatiPrestazione>) -> Result<Dichiarazione, Violations> {
    let mut v = Violations::new();
    let Some(d) = d else {
        v.add("prestazione", "PRE-1", "PRE_1_REQUIRED", "is required");
        return Err(v);
    };
    let u = cf_soggetto(&mut v, "prestazione.utilizzatore_cf", "PRE-1", &d.utilizzatore_cf);
    let p = cf_persona(&mut v, "prestazione.prestatore_cf", "PRE-1", &d.prestatore_cf);
    let luogo = luogo(&mut v, d.luogo.as_ref());
    let compenso = compenso(&mut v, &d.compenso);
    let (appalto, rapporto_recente) = autodichiarazioni(&mut v, d.dichiarazioni.unwrap_or_default());
    let lavoro = lavoro(&mut v, d, compenso.is_some());
    match (u, p, luogo, lavoro) {
        (Some(u), Some(p), Some(luogo), Some(lavoro)) if v.is_empty() => Ok(Dichiarazione {
            utilizzatore_cf: u,
            prestatore_cf: p,
            luogo,
            lavoro,
            compenso,
            appalto: appalto.unwrap_or(false),
            rapporto_recente: rapporto_recente.unwrap_or(false),
        }),
        _ => {
            if v.is_empty() {
                v.add("prestazione", "PRE-1", "PRE_1_INVALID", "invalid prestazione");
            }
            Err(v)
        }
    }
}

/// PRE-1: an Italian comune, by ISTAT or cadastral code; the code and address kept as declared.
fn luogo(v: &mut Violations, l: Option<&pb::Luogo>) -> Option<Luogo> {
    const COMUNE: &str = "prestazione.luogo.comune";
    let Some(l) = l.filter(|l| !l.comune.trim().is_empty()) else {
        v.add(COMUNE, "PRE-1", "PRE_1_REQUIRED", "the place of work is required");
        return None;
    };
    let Some(nome_comune) = comune(l.comune.trim()) else {
        v.add(
            COMUNE,
            "PRE-1",
            "PRE_1_COMUNE_UNKNOWN",
            "not an Italian comune (ISTAT or cadastral code)",
        );
        return None;
    };
    Some(Luogo {
        comune: l.comune.clone(),
        nome_comune,
        indirizzo: l.indirizzo.clone(),
    })
}

/// The compensation, when stated: euro, not negative.
fn compenso(v: &mut Violations, s: &str) -> Option<Euro> {
    if s.trim().is_empty() {
        return None;
    }
    match Euro::parse_non_negative(s) {
        Ok(e) => Some(e),
        Err(e) => {
            v.add(
                "prestazione.compenso",
                "PRE-1",
                format!("PRE_1_{}", e.reason()),
                e.to_string(),
            );
            None
        }
    }
}

/// PRE-4, PRE-5: the appalto and employment-relationship declarations, both mandatory.
fn autodichiarazioni(v: &mut Violations, d: pb::Dichiarazioni) -> (Option<bool>, Option<bool>) {
    if d.appalto.is_none() {
        v.add(
            "prestazione.dichiarazioni.appalto",
            "PRE-4",
            "PRE_4_DECLARATION_REQUIRED",
            "the appalto declaration is mandatory",
        );
    }
    if d.rapporto_lavoro_recente.is_none() {
        v.add(
            "prestazione.dichiarazioni.rapporto_lavoro_recente",
            "PRE-5",
            "PRE_5_DECLARATION_REQUIRED",
            "the employment-relationship declaration is mandatory",
        );
    }
    (d.appalto, d.rapporto_lavoro_recente)
}

/// PRE-1: the kind and its detail, which must match.
fn lavoro(v: &mut Violations, d: &pb::DatiPrestazione, con_compenso: bool) -> Option<Lavoro> {
    let tipo = pb::TipoPrestazione::try_from(d.tipo).unwrap_or(pb::TipoPrestazione::Unspecified);
    match (tipo, &d.dettaglio) {
        (pb::TipoPrestazione::LibrettoFamiglia, Some(pb::dati_prestazione::Dettaglio::Lf(lf))) => {
            lavoro_lf(v, lf).map(Lavoro::Lf)
        }
        (pb::TipoPrestazione::Cpo, Some(pb::dati_prestazione::Dettaglio::Cpo(c))) => {
            if !con_compenso && d.compenso.trim().is_empty() {
                v.add(
                    "prestazione.compenso",
                    "PRE-3",
                    "PRE_3_REQUIRED",
                    "the compensation is required",
                );
            }
            lavoro_cpo(v, c).map(Lavoro::Cpo)
        }
        _ => {
            v.add(
                "prestazione.tipo",
                "PRE-1",
                "PRE_1_TIPO",
                "tipo must be LF or CPO and match the detail filled in",
            );
            None
        }
    }
}

/// PRE-1, PRE-2: one of the three LF activities, a day, a duration within a day, titoli (unset:
/// one per hour or fraction).
fn lavoro_lf(v: &mut Violations, lf: &pb::DettaglioLf) -> Option<LavoroLf> {
    let attivita = match pb::AttivitaLf::try_from(lf.attivita) {
        Ok(pb::AttivitaLf::LavoriDomestici) => Some(AttivitaLf::LavoriDomestici),
        Ok(pb::AttivitaLf::AssistenzaDomiciliare) => Some(AttivitaLf::AssistenzaDomiciliare),
        Ok(pb::AttivitaLf::InsegnamentoPrivato) => Some(AttivitaLf::InsegnamentoPrivato),
        _ => {
            v.add(
                "prestazione.lf.attivita",
                "PRE-2",
                "PRE_2_LF_ACTIVITY",
                "one of the three LF activities is required",
            );
            None
        }
    };
    let data = data(v, "prestazione.lf.data", "PRE-1", &lf.data);
    if lf.durata_minuti <= 0 || lf.durata_minuti > 24 * 60 {
        v.add(
            "prestazione.lf.durata_minuti",
            "PRE-1",
            "PRE_1_DURATION",
            "must be between 1 and 1440 minutes",
        );
    }
    let minuti = i64::from(lf.durata_minuti);
    let titoli = if lf.titoli == 0 {
        (minuti + 59) / 60
    } else {
        i64::from(lf.titoli)
    };
    if lf.titoli < 0 {
        v.add(
            "prestazione.lf.titoli",
            "PRE-1",
            "PRE_1_LF_TITOLI",
            "must be positive",
        );
    }
    Some(LavoroLf {
        attivita: attivita?,
        data: data?,
        minuti,
        titoli,
    })
}

/// PRE-3, PRE-6: a description, exact times or an agricultural window, a PA's purpose.
fn lavoro_cpo(v: &mut Violations, c: &pb::DettaglioCpo) -> Option<LavoroCpo> {
    let tempo = match &c.finestra_agricola {
        Some(f) => finestra_agricola(v, f),
        None => orario(v, c),
    }?;
    Some(LavoroCpo {
        descrizione: c.descrizione.clone(),
        tempo,
        finalita_pa: finalita_pa(c.finalita_pa),
    })
}

fn finalita_pa(n: i32) -> Option<FinalitaPa> {
    Some(match pb::FinalitaPa::try_from(n) {
        Ok(pb::FinalitaPa::Unspecified) => return None,
        Ok(pb::FinalitaPa::ProgettiSpeciali) => FinalitaPa::ProgettiSpeciali,
        Ok(pb::FinalitaPa::Emergenze) => FinalitaPa::Emergenze,
        Ok(pb::FinalitaPa::Solidarieta) => FinalitaPa::Solidarieta,
        Ok(pb::FinalitaPa::Manifestazioni) => FinalitaPa::Manifestazioni,
        Err(_) => FinalitaPa::NonPrevista(n),
    })
}

/// PRE-3: an agricultural window, its days in order and its hours within them (Rome days, 23 or
/// 25 hours on the DST changes).
fn finestra_agricola(v: &mut Violations, f: &pb::FinestraAgricola) -> Option<TempoCpo> {
    let per = f.periodo.clone().unwrap_or_default();
    let dal = data(
        v,
        "prestazione.cpo.finestra_agricola.periodo.dal",
        "PRE-3",
        &per.dal,
    );
    let al = data(
        v,
        "prestazione.cpo.finestra_agricola.periodo.al",
        "PRE-3",
        &per.al,
    );
    if f.durata_minuti <= 0 {
        v.add(
            "prestazione.cpo.finestra_agricola.durata_minuti",
            "PRE-3",
            "PRE_3_DURATION",
            "must be positive",
        );
    }
    match (dal, al) {
        (Some(dal), Some(al)) if al >= dal => {
            let contenuti = (end_of_day_exclusive(al) - start_of_day(dal)).num_minutes();
            if i64::from(f.durata_minuti) > contenuti {
                v.add(
                    "prestazione.cpo.finestra_agricola.durata_minuti",
                    "PRE-3",
                    "PRE_3_DURATION_BEYOND_WINDOW",
                    format!(
                        "{} minutes do not fit in a window of {} day(s) ({contenuti} minutes)",
                        f.durata_minuti,
                        (al - dal).num_days() + 1
                    ),
                );
            }
            Some(TempoCpo::Finestra {
                dal,
                al,
                minuti: i64::from(f.durata_minuti),
            })
        }
        (Some(_), Some(_)) => {
            v.add(
                "prestazione.cpo.finestra_agricola.periodo",
                "PRE-3",
                "PRE_3_PERIOD",
                "al must not be before dal",
            );
            None
        }
        _ => None,
    }
}

/// PRE-1: a start and an end after it, within 24 hours.
fn orario(v: &mut Violations, c: &pb::DettaglioCpo) -> Option<TempoCpo> {
    let inizio = c.inizio.as_ref().and_then(istante);
    let fine = c.fine.as_ref().and_then(istante);
    if inizio.is_none() {
        v.add(
            "prestazione.cpo.inizio",
            "PRE-1",
            "PRE_1_REQUIRED",
            "the start is required",
        );
    }
    if fine.is_none() {
        v.add(
            "prestazione.cpo.fine",
            "PRE-1",
            "PRE_1_REQUIRED",
            "the end is required",
        );
    }
    match (inizio, fine) {
        (Some(i), Some(f)) if f > i && (f - i).num_hours() < 24 => {
            Some(TempoCpo::Orario { inizio: i, fine: f })
        }
        (Some(_), Some(_)) => {
            v.add(
                "prestazione.cpo.fine",
                "PRE-1",
                "PRE_1_END",
                "the end must follow the start within 24 hours",
            );
            None
        }
        _ => None,
    }
}

/// PRE-18: the client's request id of an insertion, at most 128 characters, trimmed.
pub fn request_id(v: &mut Violations, s: &str) -> Option<String> {
    if s.trim().is_empty() || s.len() > 128 {
        v.add(
            "request_id",
            "PRE-18",
            "PRE_18_REQUEST_ID_REQUIRED",
            "a client request id (at most 128 characters) is required",
        );
        return None;
    }
    Some(s.trim().to_string())
}

/// The states a prestazione can be in: an enum filter never needs more values than this.
const STATI: usize = 6;

/// A filter on states (ListPrestazioni): known states only, at most one of each (GW-3 caps the
/// list, so a request cannot make the query grow with it).
pub fn stati(v: &mut Violations, field: &str, values: &[i32]) -> Vec<Stato> {
    occasionali_runtime::decode::filtro_enum(v, field, values, STATI, |v, i, n| {
        let stato = pb::StatoPrestazione::try_from(n)
            .ok()
            .and_then(|s| Stato::from_code(s.as_str_name().trim_start_matches("STATO_PRESTAZIONE_")));
        if stato.is_none() {
            v.add(
                format!("{field}[{i}]"),
                "PRE-16",
                "PRE_16_STATO_UNKNOWN",
                format!("{n} is not a state of a prestazione"),
            );
        }
        stato
    })
}

/// A filter on the kind (ListPrestazioni); unspecified: both.
pub fn tipo(v: &mut Violations, field: &str, n: i32) -> Option<Tipo> {
    match pb::TipoPrestazione::try_from(n) {
        Ok(pb::TipoPrestazione::Unspecified) => None,
        Ok(pb::TipoPrestazione::LibrettoFamiglia) => Some(Tipo::Lf),
        Ok(pb::TipoPrestazione::Cpo) => Some(Tipo::Cpo),
        Err(_) => {
            v.add(
                field,
                "PRE-16",
                "PRE_16_TIPO_UNKNOWN",
                "is not a kind of prestazione",
            );
            None
        }
    }
}

/// A filter on the payment state (ListPrestazioni); unspecified: any.
pub fn stato_pagamento(v: &mut Violations, field: &str, n: i32) -> Option<StatoPagamento> {
    match pb::StatoPagamento::try_from(n) {
        Ok(pb::StatoPagamento::Unspecified) => None,
        Ok(pb::StatoPagamento::NotDue) => Some(StatoPagamento::NonDovuto),
        Ok(pb::StatoPagamento::Due) => Some(StatoPagamento::Dovuto),
        Ok(pb::StatoPagamento::Paid) => Some(StatoPagamento::Pagato),
        Err(_) => {
            v.add(
                field,
                "PRE-16",
                "PRE_16_STATO_PAGAMENTO_UNKNOWN",
                "is not a payment state",
            );
            None
        }
    }
}

/// A day filter's bound, YYYY-MM-DD (the stored scheduled day compares as text).
pub fn giorno(v: &mut Violations, field: &str, s: &str) -> Option<String> {
    if s.trim().is_empty() {
        return None;
    }
    data(v, field, "PRE-16", s).map(|d| d.format("%Y-%m-%d").to_string())
}

/// POR-5: a payout's month.
pub fn mese(anno: i32, mese: i32) -> Result<(i32, u32), Violations> {
    if !(1..=12).contains(&mese) || !(2017..=9999).contains(&anno) {
        let mut v = Violations::new();
        v.add("mese", "POR-5", "POR_5_MONTH", "anno and mese 1-12 are required");
        return Err(v);
    }
    Ok((anno, mese as u32))
}

/// GW-3: one prestatore's month. PRE-8 (5,000 euro a year, at least 10 euro each) keeps it to a
/// few hundred prestazioni; 2,000 is a bound no real order reaches, and their answer stays under
/// the 4 MiB message limit.
const MAX_PRESTAZIONI_PAGATE: usize = 2_000;

/// POR-5: a payout order as the wallet tells it (MarkPaid).
pub fn pagamento(p: Option<pb::Pagamento>) -> Result<Pagamento, Violations> {
    let mut v = Violations::new();
    let Some(p) = p else {
        v.add("pagamento", "POR-5", "POR_5_REQUIRED", "is required");
        return Err(v);
    };
    if p.payout_order_id.trim().is_empty() {
        v.add(
            "pagamento.payout_order_id",
            "POR-5",
            "POR_5_REQUIRED",
            "is required",
        );
        return Err(v);
    }
    occasionali_runtime::decode::al_massimo(
        &mut v,
        "pagamento.prestazione_ids",
        &p.prestazione_ids,
        MAX_PRESTAZIONI_PAGATE,
    );
    v.check()?;
    Ok(Pagamento {
        payout_order_id: p.payout_order_id,
        prestatore_cf: p.prestatore_cf,
        anno: p.anno,
        mese: p.mese,
        data_pagamento: p.data_pagamento,
        importo_lordo: p.importo_lordo,
        commissione: p.commissione,
        importo_netto: p.importo_netto,
        prestazione_ids: p.prestazione_ids,
        pagato_il: p.pagato_il.as_ref().and_then(istante),
    })
}

/// ANA-9: which subjects StreamSoggettiAttivi lists: prestatori, or utilizzatori of one kind.
pub fn ruolo(n: i32) -> Result<(bool, Option<Tipo>), Violations> {
    match pb::RuoloSoggetto::try_from(n) {
        Ok(pb::RuoloSoggetto::UtilizzatoreLf) => Ok((false, Some(Tipo::Lf))),
        Ok(pb::RuoloSoggetto::UtilizzatoreCpo) => Ok((false, Some(Tipo::Cpo))),
        Ok(pb::RuoloSoggetto::Prestatore) => Ok((true, None)),
        _ => {
            let mut v = Violations::new();
            v.add("ruolo", "ANA-9", "ANA_9_RUOLO", "a role is required");
            Err(v)
        }
    }
}
