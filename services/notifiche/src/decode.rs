//! Requests and other contexts' events into domain values, at the edge, so the application sees
//! only its own facts: every bad field of a request is one violation with its rule, all reported
//! together; an event is what it means here (NOT-1, NOT-2).

use chrono::NaiveDate;
use occasionali_proto::common::Event;
use occasionali_proto::notifiche as pb;
use occasionali_proto::{anagrafica, deleghe, portafoglio, prestazioni};
use occasionali_runtime::decode::{al_massimo, cf, cf_opzionale};
use occasionali_runtime::pagina::{Pagina, impronta};
use occasionali_runtime::{AppError, Violations};
use prost::Message;
use rust_decimal::Decimal;

use crate::app::consegne::{Filtri, Stato};
use crate::app::contatti::Consensi;
use crate::app::importa::{Record, Scartato};
use crate::app::inbox::FiltroInbox;
use crate::domain::avvisi::Fatto;
use crate::domain::campagna::{Datore, Rapporto, Situazione, StatoRapporto};
use crate::domain::canali::Canale;
use crate::domain::guida::Link;
use crate::domain::trimestre::{PRIMO, Trimestre};
use crate::domain::{Campagna, Tipo};
use crate::encode;

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

/// What another context's event means here; why not, when it cannot be read.
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

/// IngestEvent: the event as sent and what it means here (NOT-2).
pub fn evento_ricevuto(r: pb::IngestEventRequest) -> Result<(Event, Ingresso), AppError> {
    let Some(event) = r.event else {
        return Err(AppError::invalid(
            "event",
            "NOT-2",
            "NOT_2_EVENT_REQUIRED",
            "the event is required",
        ));
    };
    if event.event_id.trim().is_empty() {
        return Err(AppError::invalid(
            "event.event_id",
            "NOT-2",
            "NOT_2_EVENT_ID_REQUIRED",
            "the event id is required",
        ));
    }
    let ingresso =
        evento(&event).map_err(|e| AppError::invalid("event.payload", "NOT-2", "NOT_2_PAYLOAD", e))?;
    Ok((event, ingresso))
}

/// The codice fiscale a request is about (NOT-1), alone or with the request's other faults.
fn di_chi(v: Violations, c: Option<String>) -> Result<String, AppError> {
    Ok(v.into_result(c).map_err(AppError::from)?.unwrap_or_default())
}

/// GetContatti: whose.
pub fn contatti(r: &pb::GetContattiRequest) -> Result<String, AppError> {
    let mut v = Violations::new();
    let c = cf(&mut v, "codice_fiscale", "NOT-1", &r.codice_fiscale);
    di_chi(v, c)
}

fn tipo(t: i32) -> Option<Tipo> {
    Tipo::ALL.into_iter().find(|x| encode::tipo(*x) as i32 == t)
}

fn canale(c: i32) -> Option<Canale> {
    Canale::ALL.into_iter().find(|x| encode::canale(*x) as i32 == c)
}

/// UpdateConsensi: whose, and which consents (NOT-1): SMS and e-mail only, each at most once.
pub fn consensi(r: &pb::UpdateConsensiRequest) -> Result<(String, Consensi), AppError> {
    let mut v = Violations::new();
    let c = cf(&mut v, "codice_fiscale", "NOT-1", &r.codice_fiscale);
    let mut consensi = Consensi::default();
    if r.consensi.is_empty() {
        v.add(
            "consensi",
            "NOT-1",
            "NOT_1_CONSENSI_REQUIRED",
            "name at least one channel",
        );
    }
    // GW-3: one entry per channel there is.
    const CANALI: usize = 4;
    for (i, k) in al_massimo(&mut v, "consensi", &r.consensi, CANALI)
        .iter()
        .enumerate()
    {
        let campo = format!("consensi[{i}].channel");
        let slot = match canale(k.channel) {
            Some(Canale::Sms) => &mut consensi.sms,
            Some(Canale::Email) => &mut consensi.email,
            Some(_) => {
                v.add(
                    campo,
                    "NOT-1",
                    "NOT_1_NO_CONSENT_CHANNEL",
                    "App IO and the MyINPS inbox take no consent: only SMS and EMAIL",
                );
                continue;
            }
            None => {
                v.add(campo, "NOT-1", "NOT_1_CHANNEL", "SMS or EMAIL");
                continue;
            }
        };
        if slot.replace(k.concesso).is_some() {
            v.add(
                campo,
                "NOT-1",
                "NOT_1_CHANNEL_REPEATED",
                "each channel at most once",
            );
        }
    }
    Ok((di_chi(v, c)?, consensi))
}

/// ListInbox: whose, which messages, which page.
pub fn inbox(r: &pb::ListInboxRequest) -> Result<(String, FiltroInbox, Pagina), AppError> {
    let mut v = Violations::new();
    let c = cf(&mut v, "codice_fiscale", "NOT-1", &r.codice_fiscale);
    let tipo = match r.tipo {
        0 => None,
        t => {
            let x = tipo(t);
            if x.is_none() {
                v.add("tipo", "NOT-1", "NOT_1_TIPO", "unknown TipoNotifica");
            }
            x
        }
    };
    let filtri = impronta(&[
        &r.codice_fiscale.trim().to_uppercase(),
        &r.tipo.to_string(),
        &r.solo_non_letti.to_string(),
    ]);
    let pagina = Pagina::decodifica(&mut v, "NOT-1", r.page_size, &r.page_token, filtri);
    let filtro = FiltroInbox {
        tipo,
        solo_non_letti: r.solo_non_letti,
    };
    Ok((di_chi(v, c)?, filtro, pagina))
}

/// MarkInboxRead: whose, which message.
pub fn letto(r: &pb::MarkInboxReadRequest) -> Result<(String, String), AppError> {
    let mut v = Violations::new();
    let c = cf(&mut v, "codice_fiscale", "NOT-1", &r.codice_fiscale);
    if r.id.trim().is_empty() {
        v.add("id", "NOT-1", "NOT_1_ID_REQUIRED", "is required");
    }
    Ok((di_chi(v, c)?, r.id.trim().to_string()))
}

/// A quarter named by a request under `rule`.
fn trimestre(
    v: &mut Violations,
    field: &str,
    rule: &'static str,
    t: Option<&pb::Trimestre>,
) -> Option<Trimestre> {
    let r = rule.replace('-', "_");
    let Some(t) = t else {
        v.add(field, rule, format!("{r}_TRIMESTRE_REQUIRED"), "is required");
        return None;
    };
    let q = Trimestre::new(t.anno, t.numero);
    if q.is_none() {
        v.add(
            format!("{field}.numero"),
            rule,
            format!("{r}_TRIMESTRE"),
            "a quarter is numbered 1 to 4, in a year from 1900",
        );
    }
    q
}

fn importo(v: &mut Violations, field: String, s: &str) -> Option<Decimal> {
    if s.trim().is_empty() {
        return None;
    }
    match s.trim().parse::<Decimal>() {
        Ok(d) if d >= Decimal::ZERO && d.scale() <= 2 => Some(d),
        _ => {
            v.add(
                field,
                "NOT-7",
                "NOT_7_IMPORTO",
                "an amount in euro with at most two decimals, not negative (\"412.50\")",
            );
            None
        }
    }
}

// GW-3: a household with more than a hundred domestic workers, or a rapporto with more than
// a century of quarters, is not a record of this archive.
const MAX_RAPPORTI: usize = 100;
const MAX_TRIMESTRI: usize = 400;

/// One archive record of ImportLavoroDomestico, checked whole (NOT-7): the first problem is the
/// reason it is discarded.
pub fn record(r: Option<pb::RecordLavoroDomestico>) -> Result<Record, Scartato> {
    let r = r.ok_or_else(|| Scartato {
        record_id: String::new(),
        motivo: "record: is required".to_string(),
    })?;
    let id = r.record_id.trim().to_string();
    let mut v = Violations::new();
    if id.is_empty() || id.len() > 128 {
        v.add(
            "record.record_id",
            "NOT-7",
            "NOT_7_RECORD_ID",
            "is required (at most 128 characters)",
        );
    }
    let d = r.datore.unwrap_or_default();
    let datore_cf = cf(&mut v, "record.datore.codice_fiscale", "NOT-7", &d.codice_fiscale);
    if d.nome.trim().is_empty() {
        v.add(
            "record.datore.nome",
            "NOT-7",
            "NOT_7_NOME",
            "is required: the guide addresses the employer by it",
        );
    }
    let nascita = data_di_nascita(&mut v, &d.data_nascita);
    let elenco = al_massimo(&mut v, "record.rapporti", &r.rapporti, MAX_RAPPORTI);
    let rapporti = elenco
        .iter()
        .enumerate()
        .filter_map(|(i, rp)| rapporto(&mut v, i, rp))
        .collect();
    if let Some(f) = v.iter().next() {
        return Err(Scartato {
            record_id: id,
            motivo: format!("{}: {} ({})", f.field, f.description, f.reason),
        });
    }
    Ok(Record {
        record_id: id,
        datore: Datore {
            codice_fiscale: datore_cf.unwrap_or_default(),
            nome: d.nome.trim().to_string(),
            data_nascita: nascita,
        },
        cognome: d.cognome.trim().to_string(),
        rapporti,
    })
}

fn data_di_nascita(v: &mut Violations, s: &str) -> Option<NaiveDate> {
    if s.trim().is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(x) => Some(x),
        Err(_) => {
            v.add(
                "record.datore.data_nascita",
                "NOT-7",
                "NOT_7_DATA",
                "a date YYYY-MM-DD",
            );
            None
        }
    }
}

/// The `i`-th rapporto of a record: its worker's codice fiscale and what it says.
fn rapporto(v: &mut Violations, i: usize, rp: &pb::RapportoLavoroDomestico) -> Option<(String, Rapporto)> {
    let f = |x: &str| format!("record.rapporti[{i}].{x}");
    if rp.codice_rapporto.trim().is_empty() {
        v.add(
            f("codice_rapporto"),
            "NOT-7",
            "NOT_7_CODICE_RAPPORTO",
            "is required",
        );
    }
    let lavoratore = cf(v, &f("lavoratore_cf"), "NOT-7", &rp.lavoratore_cf);
    if rp.lavoratore_nome.trim().is_empty() {
        v.add(
            f("lavoratore_nome"),
            "NOT-7",
            "NOT_7_NOME",
            "is required: the guide lists workers by it",
        );
    }
    let elenco = al_massimo(v, &f("trimestri"), &rp.trimestri, MAX_TRIMESTRI);
    let trimestri = elenco
        .iter()
        .enumerate()
        .filter_map(|(j, s)| situazione(v, i, j, s))
        .collect();
    Some((
        lavoratore?,
        Rapporto {
            codice: rp.codice_rapporto.trim().to_string(),
            lavoratore_nome: rp.lavoratore_nome.trim().to_string(),
            trimestri,
        },
    ))
}

/// The `j`-th quarter of the `i`-th rapporto of a record.
fn situazione(v: &mut Violations, i: usize, j: usize, s: &pb::SituazioneTrimestre) -> Option<Situazione> {
    let g = |x: &str| format!("record.rapporti[{i}].trimestri[{j}].{x}");
    let t = trimestre(v, &g("trimestre"), "NOT-7", s.trimestre.as_ref());
    let stato = match pb::StatoRapportoDomestico::try_from(s.stato) {
        Ok(pb::StatoRapportoDomestico::Active) => Some(StatoRapporto::Attivo),
        Ok(pb::StatoRapportoDomestico::Suspended) => Some(StatoRapporto::Sospeso),
        Ok(pb::StatoRapportoDomestico::Ended) => Some(StatoRapporto::Cessato),
        _ => {
            v.add(g("stato"), "NOT-7", "NOT_7_STATO", "ACTIVE, SUSPENDED or ENDED");
            None
        }
    };
    let dovuti = importo(v, g("contributi_dovuti"), &s.contributi_dovuti);
    let pagati = importo(v, g("contributi_pagati"), &s.contributi_pagati);
    Some(Situazione {
        trimestre: t?,
        stato: stato?,
        dovuti,
        pagati,
    })
}

/// ListScartiImportLavoroDomestico: which import, which page (NOT-7).
pub fn scarti(r: &pb::ListScartiImportLavoroDomesticoRequest) -> Result<(String, Pagina), AppError> {
    let mut v = Violations::new();
    let id_import = r.id_import.trim();
    if id_import.is_empty() {
        v.add("id_import", "NOT-7", "NOT_7_REQUIRED", "is required");
    } else if id_import.chars().count() > 64 || id_import.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        v.add(
            "id_import",
            "NOT-7",
            "NOT_7_ID_FORMAT",
            "must be at most 64 printable characters without spaces",
        );
    }
    let pagina = Pagina::decodifica(
        &mut v,
        "NOT-7",
        r.page_size,
        &r.page_token,
        impronta(&[id_import]),
    );
    v.check().map_err(AppError::from)?;
    Ok((id_import.to_string(), pagina))
}

/// RunCampagna: which campaign and quarter (NOT-3), from the first quarter of 2026.
pub fn campagna(r: &pb::RunCampagnaRequest) -> Result<(Campagna, Trimestre), AppError> {
    let mut v = Violations::new();
    if r.campagna != pb::TipoCampagna::LavoroDomestico as i32 {
        v.add(
            "campagna",
            "NOT-3",
            "NOT_3_CAMPAGNA",
            "the campaign: TIPO_CAMPAGNA_LAVORO_DOMESTICO",
        );
    }
    let t = trimestre(&mut v, "trimestre", "NOT-3", r.trimestre.as_ref());
    if let Some(t) = t
        && t < PRIMO
    {
        v.add(
            "trimestre",
            "NOT-3",
            "NOT_3_TRIMESTRE_PRIMA_DEL_2026",
            "the campaign covers quarters from Q1 2026",
        );
    }
    let t = v.into_result(t).map_err(AppError::from)?.unwrap_or(PRIMO);
    Ok((Campagna::LavoroDomestico, t))
}

/// The dashboard's campaign and quarter (NOT-5; all its quarters when none is named).
pub fn cruscotto(
    campagna: pb::TipoCampagna,
    trimestre: Option<pb::Trimestre>,
) -> Result<(Campagna, Option<Trimestre>), AppError> {
    if campagna != pb::TipoCampagna::LavoroDomestico {
        return Err(AppError::invalid(
            "campagna",
            "NOT-5",
            "NOT_5_CAMPAGNA",
            "unknown campaign",
        ));
    }
    let t = match trimestre {
        Some(t) => Some(Trimestre::new(t.anno, t.numero).ok_or_else(|| {
            AppError::invalid(
                "trimestre",
                "NOT-5",
                "NOT_5_TRIMESTRE",
                "not a quarter (numero 1-4)",
            )
        })?),
        None => None,
    };
    Ok((Campagna::LavoroDomestico, t))
}

/// A link of the guide that was followed (NOT-5).
pub fn link(l: pb::GuidaLink) -> Result<Link, AppError> {
    Link::ALL
        .into_iter()
        .find(|x| encode::link(*x) == l)
        .ok_or_else(|| {
            AppError::invalid(
                "link",
                "NOT-5",
                "NOT_5_LINK_SCONOSCIUTO",
                "unknown link of the guide",
            )
        })
}

/// ListDeliveries: the filters and the page (NOT-6).
pub fn consegne(r: &pb::ListDeliveriesRequest) -> Result<(Filtri, Pagina), AppError> {
    let mut v = Violations::new();
    let c = cf_opzionale(&mut v, "codice_fiscale", "NOT-6", &r.codice_fiscale);
    let canale = match r.channel {
        0 => None,
        x => {
            let k = canale(x);
            if k.is_none() {
                v.add("channel", "NOT-6", "NOT_6_CHANNEL", "unknown channel");
            }
            k
        }
    };
    let stato = match r.state {
        0 => None,
        x => {
            let s = Stato::ALL.into_iter().find(|s| encode::stato(*s) as i32 == x);
            if s.is_none() {
                v.add("state", "NOT-6", "NOT_6_STATE", "unknown delivery state");
            }
            s
        }
    };
    let campagna = match r.campagna {
        0 => None,
        x if x == pb::TipoCampagna::LavoroDomestico as i32 => Some("lavoro_domestico".to_string()),
        _ => {
            v.add("campagna", "NOT-6", "NOT_6_CAMPAGNA", "unknown campaign");
            None
        }
    };
    let t = r
        .trimestre
        .as_ref()
        .and_then(|t| trimestre(&mut v, "trimestre", "NOT-6", Some(t)));
    let filtri = impronta(&[
        &r.codice_fiscale.trim().to_uppercase(),
        r.notifica_id.trim(),
        r.event_id.trim(),
        &r.channel.to_string(),
        &r.state.to_string(),
        &r.campagna.to_string(),
        &t.map(|t| t.to_string()).unwrap_or_default(),
    ]);
    let pagina = Pagina::decodifica(&mut v, "NOT-6", r.page_size, &r.page_token, filtri);
    v.check().map_err(AppError::from)?;
    let f = Filtri {
        codice_fiscale: c,
        notifica_id: Some(r.notifica_id.trim().to_string()).filter(|s| !s.is_empty()),
        event_id: Some(r.event_id.trim().to_string()).filter(|s| !s.is_empty()),
        canale,
        stato,
        campagna,
        anno: t.map(|t| t.anno),
        trimestre: t.map(|t| i32::from(t.numero)),
    };
    Ok((f, pagina))
}
