//! Requests decoded once into domain types, collecting every field violation (STYLE habit 1).

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::calendar::{end_of_day_exclusive, start_of_day};
use occasionali_kernel::{CodiceFiscale, CodiceFiscaleSoggetto, Euro};
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::Violations;

use crate::domain::{Dichiarazione, Quando, Stato, Tipo};

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

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// DatiPrestazione → a declaration (PRE-1).
pub fn dichiarazione(d: Option<&pb::DatiPrestazione>) -> Result<Dichiarazione, Violations> {
    let mut v = Violations::new();
    let Some(d) = d else {
        v.add("prestazione", "PRE-1", "PRE_1_REQUIRED", "is required");
        return Err(v);
    };
    let u = cf_soggetto(&mut v, "prestazione.utilizzatore_cf", "PRE-1", &d.utilizzatore_cf);
    let p = cf_persona(&mut v, "prestazione.prestatore_cf", "PRE-1", &d.prestatore_cf);
    match d.luogo.as_ref().map(|l| l.comune.trim()) {
        None | Some("") => v.add(
            "prestazione.luogo.comune",
            "PRE-1",
            "PRE_1_REQUIRED",
            "the place of work is required",
        ),
        Some(c) if comune(c).is_none() => v.add(
            "prestazione.luogo.comune",
            "PRE-1",
            "PRE_1_COMUNE_UNKNOWN",
            "not an Italian comune (ISTAT or cadastral code)",
        ),
        Some(_) => {}
    }
    let compenso = if d.compenso.trim().is_empty() {
        None
    } else {
        match Euro::parse_non_negative(&d.compenso) {
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
    };
    let dich = d.dichiarazioni.unwrap_or_default();
    if dich.appalto.is_none() {
        v.add(
            "prestazione.dichiarazioni.appalto",
            "PRE-4",
            "PRE_4_DECLARATION_REQUIRED",
            "the appalto declaration is mandatory",
        );
    }
    if dich.rapporto_lavoro_recente.is_none() {
        v.add(
            "prestazione.dichiarazioni.rapporto_lavoro_recente",
            "PRE-5",
            "PRE_5_DECLARATION_REQUIRED",
            "the employment-relationship declaration is mandatory",
        );
    }
    let tipo = pb::TipoPrestazione::try_from(d.tipo).unwrap_or(pb::TipoPrestazione::Unspecified);
    let mut finalita_pa = false;
    let quando = match (tipo, &d.dettaglio) {
        (pb::TipoPrestazione::LibrettoFamiglia, Some(pb::dati_prestazione::Dettaglio::Lf(lf))) => {
            if !matches!(
                pb::AttivitaLf::try_from(lf.attivita),
                Ok(pb::AttivitaLf::LavoriDomestici
                    | pb::AttivitaLf::AssistenzaDomiciliare
                    | pb::AttivitaLf::InsegnamentoPrivato)
            ) {
                v.add(
                    "prestazione.lf.attivita",
                    "PRE-2",
                    "PRE_2_LF_ACTIVITY",
                    "one of the three LF activities is required",
                );
            }
            let data = data(&mut v, "prestazione.lf.data", "PRE-1", &lf.data);
            if lf.durata_minuti <= 0 || lf.durata_minuti > 24 * 60 {
                v.add(
                    "prestazione.lf.durata_minuti",
                    "PRE-1",
                    "PRE_1_DURATION",
                    "must be between 1 and 1440 minutes",
                );
            }
            let minuti = i64::from(lf.durata_minuti);
            // PRE-1: one titolo per hour or fraction; unset means exactly that many.
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
            data.map(|data| Quando::Lf { data, minuti, titoli })
        }
        (pb::TipoPrestazione::Cpo, Some(pb::dati_prestazione::Dettaglio::Cpo(c))) => {
            finalita_pa = c.finalita_pa != 0;
            if compenso.is_none() && d.compenso.trim().is_empty() {
                v.add(
                    "prestazione.compenso",
                    "PRE-3",
                    "PRE_3_REQUIRED",
                    "the compensation is required",
                );
            }
            if let Some(f) = &c.finestra_agricola {
                let per = f.periodo.clone().unwrap_or_default();
                let dal = data(
                    &mut v,
                    "prestazione.cpo.finestra_agricola.periodo.dal",
                    "PRE-3",
                    &per.dal,
                );
                let al = data(
                    &mut v,
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
                        // PRE-3: the hours declared lie within the window (Rome days, 23 or 25
                        // hours on the DST changes).
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
                        Some(Quando::Finestra {
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
            } else {
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
                        Some(Quando::Orario { inizio: i, fine: f })
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
    };
    match (u, p, quando) {
        (Some(u), Some(p), Some(q)) if v.is_empty() => Ok(Dichiarazione {
            tipo: if tipo == pb::TipoPrestazione::Cpo {
                Tipo::Cpo
            } else {
                Tipo::Lf
            },
            utilizzatore_cf: u,
            prestatore_cf: p,
            quando: q,
            compenso,
            finalita_pa,
            appalto: dich.appalto.unwrap_or(false),
            rapporto_recente: dich.rapporto_lavoro_recente.unwrap_or(false),
        }),
        _ => {
            if v.is_empty() {
                v.add("prestazione", "PRE-1", "PRE_1_INVALID", "invalid prestazione");
            }
            Err(v)
        }
    }
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

/// A day filter's bound, YYYY-MM-DD (the stored scheduled day compares as text).
pub fn giorno(v: &mut Violations, field: &str, s: &str) -> Option<String> {
    if s.trim().is_empty() {
        return None;
    }
    data(v, field, "PRE-16", s).map(|d| d.format("%Y-%m-%d").to_string())
}
