//! What another context's event means here (NOT-1, NOT-2): decoded at the edge, so the
//! application sees only its own facts.

use chrono::NaiveDate;
use occasionali_proto::common::Event;
use occasionali_proto::{anagrafica, deleghe, portafoglio, prestazioni};
use prost::Message;

use crate::domain::avvisi::Fatto;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingresso {
    /// Someone must be told.
    Avviso(Fatto),
    /// Anagrafica's contacts of a person at a version (NOT-1).
    Contatti {
        codice_fiscale: String,
        cellulare: Option<String>,
        email: Option<String>,
        versione: i64,
    },
    /// A delega ended early: its end is no longer announced.
    DelegaRevocata { delega_id: String },
    /// Nothing for notifiche in this event.
    Nessuno,
}

fn data(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn non_vuoto(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn corpo<M: Message + Default>(e: &Event) -> Result<M, String> {
    let p = e.payload.as_ref().ok_or("the event has no payload")?;
    M::decode(p.value.as_slice()).map_err(|err| format!("payload of {} undecodable: {err}", e.topic))
}

fn prestazione(p: Option<prestazioni::Prestazione>) -> Result<prestazioni::Prestazione, String> {
    p.filter(|p| !p.prestatore_cf.is_empty())
        .ok_or_else(|| "the event carries no prestazione".to_string())
}

pub fn evento(e: &Event) -> Result<Ingresso, String> {
    let libretto =
        |p: &prestazioni::Prestazione| p.tipo == prestazioni::TipoPrestazione::LibrettoFamiglia as i32;
    Ok(match e.topic.as_str() {
        "anagrafica.soggetto.registrato" | "anagrafica.soggetto.modificato" => {
            let m: anagrafica::SoggettoModificato = corpo(e)?;
            let c = m.soggetto.and_then(|s| s.contatti).unwrap_or_default();
            Ingresso::Contatti {
                codice_fiscale: m.codice_fiscale,
                cellulare: non_vuoto(&c.cellulare),
                email: non_vuoto(&c.email),
                versione: m.versione,
            }
        }
        "prestazioni.prestazione.revocata" => {
            let p = prestazione(corpo::<prestazioni::PrestazioneRevocata>(e)?.prestazione)?;
            Ingresso::Avviso(Fatto::PrestazioneRevocata {
                prestazione_id: p.id.clone(),
                data: data(&p.data_prestazione),
                libretto: libretto(&p),
                prestatore_cf: p.prestatore_cf,
            })
        }
        "prestazioni.prestazione.inserita" => {
            let p = prestazione(corpo::<prestazioni::PrestazioneInserita>(e)?.prestazione)?;
            Ingresso::Avviso(Fatto::PrestazioneInserita {
                prestazione_id: p.id.clone(),
                data: data(&p.data_prestazione),
                compenso: p.compenso.parse().ok(),
                libretto: libretto(&p),
                prestatore_cf: p.prestatore_cf,
            })
        }
        "portafoglio.pagamento.eseguito" => {
            let o = corpo::<portafoglio::PagamentoEseguito>(e)?
                .payout_order
                .filter(|o| !o.prestatore_cf.is_empty())
                .ok_or("the event carries no payout order")?;
            Ingresso::Avviso(Fatto::PagamentoEseguito {
                anno: o.anno,
                mese: o.mese.clamp(0, 12) as u32,
                importo_netto: o.importo_netto.parse().ok(),
                data_pagamento: data(&o.data_pagamento),
                prestatore_cf: o.prestatore_cf,
            })
        }
        "deleghe.delega.creata" => {
            let d = corpo::<deleghe::DelegaCreata>(e)?
                .delega
                .ok_or("the event carries no delega")?;
            Ingresso::Avviso(Fatto::DelegaCreata {
                fine: d.validita.as_ref().and_then(|v| data(&v.al)),
                delega_id: d.id,
                delegante_cf: d.delegante_cf,
                delegato_cf: d.delegato_cf,
            })
        }
        "deleghe.delega.revocata" => {
            let d = corpo::<deleghe::DelegaRevocata>(e)?
                .delega
                .ok_or("the event carries no delega")?;
            Ingresso::DelegaRevocata { delega_id: d.id }
        }
        _ => Ingresso::Nessuno,
    })
}
