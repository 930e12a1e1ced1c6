//! Decoding requests into domain values (parse, don't validate): every bad field becomes one
//! field violation with its rule, and all of them are reported together.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_proto::deleghe as pb;
use occasionali_runtime::pagina::Pagina;
use occasionali_runtime::{AppError, Violations};

use crate::domain::{Azione, NuovaDelega, RichiestaVerifica, Ruolo, Stato, Validita};
use crate::store::{FiltroAudit, FiltroDeleghe};

/// Longest note or reason accepted.
const MAX_NOTA: usize = 2000;
/// Longest client request id accepted (a UUID is 36).
const MAX_REQUEST_ID: usize = 128;

fn prefix(rule: &'static str) -> String {
    rule.replace('-', "_")
}

pub use occasionali_runtime::decode::{cf, cf_opzionale};

pub fn ruolo_di(r: pb::Ruolo) -> Option<Ruolo> {
    match r {
        pb::Ruolo::Unspecified => None,
        pb::Ruolo::IntermediarioPrestatore => Some(Ruolo::IntermediarioPrestatore),
        pb::Ruolo::IntermediarioUtilizzatore => Some(Ruolo::IntermediarioUtilizzatore),
        pb::Ruolo::ConsulenteLavoro => Some(Ruolo::ConsulenteLavoro),
        pb::Ruolo::Patronato => Some(Ruolo::Patronato),
        pb::Ruolo::Caf => Some(Ruolo::Caf),
    }
}

/// A required ruolo.
pub fn ruolo(v: &mut Violations, field: &str, rule: &'static str, value: i32) -> Option<Ruolo> {
    match pb::Ruolo::try_from(value).ok().and_then(ruolo_di) {
        Some(r) => Some(r),
        None => {
            v.add(
                field,
                rule,
                format!("{}_RUOLO_REQUIRED", prefix(rule)),
                "is required (one of the RUOLO_* values)",
            );
            None
        }
    }
}

/// An optional ruolo (a filter): UNSPECIFIED is None, an unknown number a violation.
pub fn ruolo_opzionale(v: &mut Violations, field: &str, rule: &'static str, value: i32) -> Option<Ruolo> {
    if value == 0 {
        return None;
    }
    let r = pb::Ruolo::try_from(value).ok().and_then(ruolo_di);
    if r.is_none() {
        v.add(
            field,
            rule,
            format!("{}_RUOLO_UNKNOWN", prefix(rule)),
            format!("{value} is not a ruolo"),
        );
    }
    r
}

/// A Rome date, YYYY-MM-DD; `required` says whether empty is a violation.
pub fn data(
    v: &mut Violations,
    field: &str,
    rule: &'static str,
    value: &str,
    required: bool,
) -> Option<NaiveDate> {
    let value = value.trim();
    if value.is_empty() {
        if required {
            v.add(
                field,
                rule,
                format!("{}_DATE_REQUIRED", prefix(rule)),
                "is required (YYYY-MM-DD)",
            );
        }
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            v.add(
                field,
                rule,
                format!("{}_DATE_FORMAT", prefix(rule)),
                format!("{value:?} is not a date (YYYY-MM-DD)"),
            );
            None
        }
    }
}

/// Free text, trimmed, at most [`MAX_NOTA`] characters.
pub fn testo(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> String {
    let t = value.trim();
    if t.chars().count() > MAX_NOTA {
        v.add(
            field,
            rule,
            format!("{}_TEXT_TOO_LONG", prefix(rule)),
            format!("is longer than {MAX_NOTA} characters"),
        );
    }
    t.to_string()
}

/// DEL-1: a creation request, with every violation at once. `oggi` is today's Rome date;
/// operators must give a note.
pub fn nuova_delega(
    r: &pb::CreateDelegaRequest,
    oggi: NaiveDate,
    nota_obbligatoria: bool,
) -> Result<NuovaDelega, AppError> {
    let mut v = Violations::new();
    let request_id = r.request_id.trim();
    if request_id.chars().count() > MAX_REQUEST_ID {
        v.add(
            "request_id",
            "DEL-1",
            "DEL_1_REQUEST_ID_TOO_LONG",
            format!("is longer than {MAX_REQUEST_ID} characters"),
        );
    }
    let delegante = cf(&mut v, "delegante_cf", "DEL-1", &r.delegante_cf);
    let delegato = cf(&mut v, "delegato_cf", "DEL-1", &r.delegato_cf);
    if let (Some(a), Some(b)) = (&delegante, &delegato)
        && a == b
    {
        v.add(
            "delegato_cf",
            "DEL-1",
            "DEL_1_SAME_PARTY",
            "the delegato must differ from the delegante",
        );
    }
    let ruolo = ruolo(&mut v, "ruolo", "DEL-1", r.ruolo);
    let periodo = r.validita.clone().unwrap_or_default();
    let dal = data(&mut v, "validita.dal", "DEL-1", &periodo.dal, true);
    if let Some(d) = dal
        && d < oggi
    {
        v.add(
            "validita.dal",
            "DEL-1",
            "DEL_1_START_IN_THE_PAST",
            format!("must not be before today ({oggi})"),
        );
    }
    let al = data(&mut v, "validita.al", "DEL-1", &periodo.al, false);
    if let (Some(dal), Some(al)) = (dal, al)
        && al < dal
    {
        v.add(
            "validita.al",
            "DEL-1",
            "DEL_1_END_BEFORE_START",
            "must not be before validita.dal (empty means open-ended)",
        );
    }
    let nota = testo(&mut v, "nota", "DEL-1", &r.nota);
    if nota_obbligatoria && nota.is_empty() {
        v.add(
            "nota",
            "DEL-1",
            "DEL_1_NOTE_REQUIRED",
            "an operator creating a delega must say why",
        );
    }
    v.check()?;
    let (Some(delegante_cf), Some(delegato_cf), Some(ruolo), Some(dal)) = (delegante, delegato, ruolo, dal)
    else {
        return Err(AppError::internal("decoding produced no value and no violation"));
    };
    Ok(NuovaDelega {
        delegante_cf,
        delegato_cf,
        ruolo,
        validita: Validita { dal, al },
        nota,
        request_id: (!request_id.is_empty()).then(|| request_id.to_string()),
    })
}

/// A required platform id.
pub fn id(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    let t = value.trim();
    if t.is_empty() {
        v.add(
            field,
            rule,
            format!("{}_ID_REQUIRED", prefix(rule)),
            "is required",
        );
        None
    } else {
        Some(t.to_string())
    }
}

/// DEL-1: the id of the delega asked for.
pub fn delega_id(value: &str) -> Result<String, AppError> {
    let mut v = Violations::new();
    let delega_id = id(&mut v, "delega_id", "DEL-1", value);
    v.check()?;
    delega_id.ok_or_else(|| AppError::internal("delega_id decoded without value"))
}

/// DEL-1: a revocation, the delega and why, with every violation at once; operators must say
/// why.
pub fn revoca(r: &pb::RevokeDelegaRequest, motivo_obbligatorio: bool) -> Result<(String, String), AppError> {
    let mut v = Violations::new();
    let delega_id = id(&mut v, "delega_id", "DEL-1", &r.delega_id);
    let motivo = testo(&mut v, "motivo", "DEL-1", &r.motivo);
    if motivo_obbligatorio && motivo.is_empty() {
        v.add(
            "motivo",
            "DEL-1",
            "DEL_1_NOTE_REQUIRED",
            "an operator revoking a delega must say why",
        );
    }
    v.check()?;
    let delega_id = delega_id.ok_or_else(|| AppError::internal("delega_id decoded without value"))?;
    Ok((delega_id, motivo))
}

/// DEL-2: what the platform asks before a call on behalf of a delegante; the method is required
/// because every use is recorded (DEL-4).
pub fn verifica(r: &pb::CheckDelegaRequest) -> Result<RichiestaVerifica, AppError> {
    let mut v = Violations::new();
    let delegato = cf(&mut v, "delegato_cf", "DEL-2", &r.delegato_cf);
    let delegante = cf(&mut v, "delegante_cf", "DEL-2", &r.delegante_cf);
    let ruolo = ruolo(&mut v, "ruolo", "DEL-2", r.ruolo);
    let at = istante(&mut v, "at", "DEL-2", r.at.as_ref());
    let rpc_path = r.rpc_path.trim().to_string();
    if rpc_path.is_empty() {
        v.add(
            "rpc_path",
            "DEL-4",
            "DEL_4_RPC_PATH_REQUIRED",
            "name the method the delega is used for: every use is recorded",
        );
    }
    v.check()?;
    let (Some(delegato_cf), Some(delegante_cf), Some(ruolo)) = (delegato, delegante, ruolo) else {
        return Err(AppError::internal("check decoded without value"));
    };
    Ok(RichiestaVerifica {
        delegato_cf,
        delegante_cf,
        ruolo,
        at,
        rpc_path,
    })
}

/// DEL-1: the filters of ListDeleghe and its page. `visibili_a` is the caller's own scope
/// (non-operators see only the deleghe they, or the subject they act for, are party to); the
/// filters narrow it further.
pub fn lista(
    r: &pb::ListDelegheRequest,
    visibili_a: Option<String>,
) -> Result<(FiltroDeleghe, Pagina), AppError> {
    let mut v = Violations::new();
    let filtro = FiltroDeleghe {
        visibili_a,
        delegante_cf: cf_opzionale(&mut v, "delegante_cf", "DEL-1", &r.delegante_cf),
        delegato_cf: cf_opzionale(&mut v, "delegato_cf", "DEL-1", &r.delegato_cf),
        ruolo: ruolo_opzionale(&mut v, "ruolo", "DEL-1", r.ruolo),
        stati: stati(&mut v, "stati", &r.stati),
    };
    let impronta = filtro.impronta();
    let pagina = Pagina::decodifica(&mut v, "DEL-1", r.page_size, &r.page_token, impronta);
    v.check()?;
    Ok((filtro, pagina))
}

/// DEL-4: the filters of ListAuditDelega (at least one of delega, delegante, delegato) and its
/// page.
pub fn audit(r: &pb::ListAuditDelegaRequest) -> Result<(FiltroAudit, Pagina), AppError> {
    let mut v = Violations::new();
    let delega_id = r.delega_id.trim();
    if delega_id.is_empty() && r.delegante_cf.trim().is_empty() && r.delegato_cf.trim().is_empty() {
        v.add(
            "delega_id",
            "DEL-4",
            "DEL_4_FILTER_REQUIRED",
            "give at least one of delega_id, delegante_cf, delegato_cf",
        );
    }
    let periodo = r.periodo.clone().unwrap_or_default();
    let dal = data(&mut v, "periodo.dal", "DEL-4", &periodo.dal, false);
    let al = data(&mut v, "periodo.al", "DEL-4", &periodo.al, false);
    if let (Some(dal), Some(al)) = (dal, al)
        && al < dal
    {
        v.add(
            "periodo.al",
            "DEL-4",
            "DEL_4_END_BEFORE_START",
            "must not be before periodo.dal",
        );
    }
    let filtro = FiltroAudit {
        delega_id: (!delega_id.is_empty()).then(|| delega_id.to_string()),
        delegante_cf: cf_opzionale(&mut v, "delegante_cf", "DEL-4", &r.delegante_cf),
        delegato_cf: cf_opzionale(&mut v, "delegato_cf", "DEL-4", &r.delegato_cf),
        azione: azione(&mut v, "action", r.action),
        dal,
        al,
    };
    let impronta = filtro.impronta();
    let pagina = Pagina::decodifica(&mut v, "DEL-4", r.page_size, &r.page_token, impronta);
    v.check()?;
    Ok((filtro, pagina))
}

/// An instant; None when absent.
pub fn istante(
    v: &mut Violations,
    field: &str,
    rule: &'static str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let ts = ts?;
    let t = u32::try_from(ts.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(ts.seconds, n));
    if t.is_none() {
        v.add(
            field,
            rule,
            format!("{}_TIMESTAMP", prefix(rule)),
            "is not a valid instant",
        );
    }
    t
}

/// A filter on states: known states only, at most one of each (GW-3 caps the list at the four
/// states there are, so a request cannot make the query grow with it).
pub fn stati(v: &mut Violations, field: &str, values: &[i32]) -> Vec<Stato> {
    const STATI: usize = 4;
    occasionali_runtime::decode::filtro_enum(v, field, values, STATI, |v, _, n| {
        let s = match pb::StatoDelega::try_from(n) {
            Ok(pb::StatoDelega::NonAncoraValida) => Some(Stato::NonAncoraValida),
            Ok(pb::StatoDelega::Valida) => Some(Stato::Valida),
            Ok(pb::StatoDelega::Scaduta) => Some(Stato::Scaduta),
            Ok(pb::StatoDelega::Revocata) => Some(Stato::Revocata),
            Ok(pb::StatoDelega::Unspecified) | Err(_) => None,
        };
        if s.is_none() {
            v.add(
                field,
                "DEL-1",
                "DEL_1_STATO_UNKNOWN",
                format!("{n} is not a state of a delega"),
            );
        }
        s
    })
}

/// An optional audit action (a filter).
pub fn azione(v: &mut Violations, field: &str, value: i32) -> Option<Azione> {
    match pb::AuditAction::try_from(value) {
        Ok(pb::AuditAction::Unspecified) => None,
        Ok(pb::AuditAction::Created) => Some(Azione::Creata),
        Ok(pb::AuditAction::Revoked) => Some(Azione::Revocata),
        Ok(pb::AuditAction::Used) => Some(Azione::Usata),
        Ok(pb::AuditAction::Denied) => Some(Azione::Negata),
        Err(_) => {
            v.add(
                field,
                "DEL-4",
                "DEL_4_ACTION_UNKNOWN",
                format!("{value} is not an audit action"),
            );
            None
        }
    }
}
