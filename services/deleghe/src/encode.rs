//! Domain → wire.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_proto::common::Periodo;
use occasionali_proto::deleghe as pb;
use occasionali_runtime::identity::mask;

use crate::domain::{Azione, Delega, Esito, Ruolo, Stato, VoceAudit};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn ruolo(r: Ruolo) -> pb::Ruolo {
    match r {
        Ruolo::IntermediarioPrestatore => pb::Ruolo::IntermediarioPrestatore,
        Ruolo::IntermediarioUtilizzatore => pb::Ruolo::IntermediarioUtilizzatore,
        Ruolo::ConsulenteLavoro => pb::Ruolo::ConsulenteLavoro,
        Ruolo::Patronato => pb::Ruolo::Patronato,
        Ruolo::Caf => pb::Ruolo::Caf,
    }
}

pub fn stato(s: Stato) -> pb::StatoDelega {
    match s {
        Stato::NonAncoraValida => pb::StatoDelega::NonAncoraValida,
        Stato::Valida => pb::StatoDelega::Valida,
        Stato::Scaduta => pb::StatoDelega::Scaduta,
        Stato::Revocata => pb::StatoDelega::Revocata,
    }
}

pub fn esito(e: Esito) -> pb::CheckDelegaOutcome {
    match e {
        Esito::Valid => pb::CheckDelegaOutcome::Valid,
        Esito::Missing => pb::CheckDelegaOutcome::Missing,
        Esito::Expired => pb::CheckDelegaOutcome::Expired,
        Esito::Revoked => pb::CheckDelegaOutcome::Revoked,
        Esito::WrongRuolo => pb::CheckDelegaOutcome::WrongRuolo,
        Esito::NotYetValid => pb::CheckDelegaOutcome::NotYetValid,
    }
}

pub fn azione(a: Azione) -> pb::AuditAction {
    match a {
        Azione::Creata => pb::AuditAction::Created,
        Azione::Revocata => pb::AuditAction::Revoked,
        Azione::Usata => pb::AuditAction::Used,
        Azione::Negata => pb::AuditAction::Denied,
    }
}

/// Who reads a delega: operators and the platform see every CF; its parties see operators'
/// CFs masked (GW-5, as anagrafica's history does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vista {
    Completa,
    Parte,
}

fn autore(d: &Delega, cf: &str, vista: Vista) -> String {
    if vista == Vista::Completa || cf.is_empty() || d.ha_parte(cf) {
        cf.to_string()
    } else {
        mask(cf)
    }
}

/// A delega with its state on the Rome date `oggi`.
pub fn delega(d: &Delega, oggi: NaiveDate, vista: Vista) -> pb::Delega {
    let revoca = d.revoca.as_ref();
    pb::Delega {
        id: d.id.clone(),
        delegante_cf: d.delegante_cf.clone(),
        delegato_cf: d.delegato_cf.clone(),
        ruolo: ruolo(d.ruolo) as i32,
        validita: Some(Periodo {
            dal: d.validita.dal.to_string(),
            al: d.validita.al.map(|a| a.to_string()).unwrap_or_default(),
        }),
        stato: stato(d.stato(oggi)) as i32,
        creata_il: Some(timestamp(d.creata_il)),
        creata_da_cf: autore(d, &d.creata_da_cf, vista),
        nota: d.nota.clone(),
        revocata_il: revoca.map(|r| timestamp(r.il)),
        revocata_da_cf: revoca.map(|r| autore(d, &r.da_cf, vista)).unwrap_or_default(),
        motivo_revoca: revoca.map(|r| r.motivo.clone()).unwrap_or_default(),
    }
}

pub fn voce(v: &VoceAudit) -> pb::VoceAudit {
    pb::VoceAudit {
        id: v.id.clone(),
        delega_id: v.delega_id.clone().unwrap_or_default(),
        action: azione(v.azione) as i32,
        autore_cf: v.autore_cf.clone(),
        eseguita_il: Some(timestamp(v.eseguita_il)),
        rpc_path: v.rpc_path.clone(),
        delegante_cf: v.delegante_cf.clone(),
        delegato_cf: v.delegato_cf.clone(),
        ruolo: ruolo(v.ruolo) as i32,
        outcome: v.esito.map(esito).unwrap_or(pb::CheckDelegaOutcome::Unspecified) as i32,
        nota: v.nota.clone(),
    }
}
