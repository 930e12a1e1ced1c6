//! Domain → wire: what the application answers, as the proto says it.

use chrono::{DateTime, Utc};
use occasionali_proto::common::Periodo;
use occasionali_proto::notifiche as pb;

use crate::app::campagna::Run;
use crate::app::consegne::{Consegna, Stato};
use crate::app::contatti::Contatti;
use crate::app::cruscotto::RigaCruscotto;
use crate::app::guida::Guida;
use crate::app::importa::{Importazione, Scarto};
use crate::app::inbox::Notifica;
use crate::domain::campagna::StatoRapporto;
use crate::domain::canali::{Canale, maschera};
use crate::domain::guida::{ISTRUZIONI_RAPPORTO_SOSPESO_CESSATO, Link, SANZIONI};
use crate::domain::trimestre::Trimestre;
use crate::domain::{Campagna, Tipo};

pub fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    let t = DateTime::<Utc>::from_timestamp_millis(ms)?;
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

pub fn tipo(t: Tipo) -> pb::TipoNotifica {
    match t {
        Tipo::PrestazioneRevocata => pb::TipoNotifica::PrestazioneRevocata,
        Tipo::PrestazioneInserita => pb::TipoNotifica::PrestazioneInserita,
        Tipo::PagamentoEseguito => pb::TipoNotifica::PagamentoEseguito,
        Tipo::DelegaCreata => pb::TipoNotifica::DelegaCreata,
        Tipo::DelegaInScadenza => pb::TipoNotifica::DelegaInScadenza,
        Tipo::CampagnaLavoroDomestico => pb::TipoNotifica::CampagnaLavoroDomestico,
    }
}

pub fn canale(c: Canale) -> pb::Channel {
    match c {
        Canale::Sms => pb::Channel::Sms,
        Canale::Email => pb::Channel::Email,
        Canale::AppIo => pb::Channel::AppIo,
        Canale::Inbox => pb::Channel::MyinpsInbox,
    }
}

pub fn stato(s: Stato) -> pb::DeliveryState {
    match s {
        Stato::Pending => pb::DeliveryState::Pending,
        Stato::Retrying => pb::DeliveryState::Retrying,
        Stato::Sent => pb::DeliveryState::Sent,
        Stato::Failed => pb::DeliveryState::Failed,
        Stato::Skipped => pb::DeliveryState::Skipped,
    }
}

pub fn campagna(c: Campagna) -> pb::TipoCampagna {
    match c {
        Campagna::LavoroDomestico => pb::TipoCampagna::LavoroDomestico,
    }
}

pub fn link(l: Link) -> pb::GuidaLink {
    match l {
        Link::PortalePagamenti => pb::GuidaLink::PaymentsPortal,
        Link::CassettoPrevidenziale => pb::GuidaLink::CassettoPrevidenziale,
        Link::EstrattoConto => pb::GuidaLink::EstrattoConto,
        Link::ServiziDomestici => pb::GuidaLink::DomesticServices,
        Link::AppInpsMobile => pb::GuidaLink::InpsMobileApp,
    }
}

fn stato_rapporto(s: &str) -> pb::StatoRapportoDomestico {
    match StatoRapporto::parse(s) {
        Some(StatoRapporto::Attivo) => pb::StatoRapportoDomestico::Active,
        Some(StatoRapporto::Sospeso) => pb::StatoRapportoDomestico::Suspended,
        Some(StatoRapporto::Cessato) => pb::StatoRapportoDomestico::Ended,
        None => pb::StatoRapportoDomestico::Unspecified,
    }
}

pub fn trimestre(t: Trimestre) -> pb::Trimestre {
    pb::Trimestre {
        anno: t.anno,
        numero: i32::from(t.numero),
    }
}

/// A delivery's quarter, when it has both parts.
fn trimestre_di(anno: Option<i32>, numero: Option<i32>) -> Option<pb::Trimestre> {
    Some(pb::Trimestre {
        anno: anno?,
        numero: numero?,
    })
}

pub fn contatti(cf: &str, c: &Contatti) -> pb::Contatti {
    let consenso = |canale: pb::Channel, concesso: bool, ms: Option<i64>| pb::Consenso {
        channel: canale as i32,
        concesso,
        aggiornato_il: ms.and_then(ts),
    };
    pb::Contatti {
        codice_fiscale: cf.to_string(),
        cellulare: c.recapiti.cellulare.clone().unwrap_or_default(),
        email: c.recapiti.email.clone().unwrap_or_default(),
        consensi: vec![
            consenso(pb::Channel::Sms, c.recapiti.consenso_sms, c.consenso_sms_ms),
            consenso(pb::Channel::Email, c.recapiti.consenso_email, c.consenso_email_ms),
            // Service messages need no consent on these (NOT-1).
            consenso(pb::Channel::AppIo, true, None),
            consenso(pb::Channel::MyinpsInbox, true, None),
        ],
        aggiornato_il: if c.aggiornato_ms > 0 {
            ts(c.aggiornato_ms)
        } else {
            None
        },
    }
}

pub fn messaggio(n: Notifica) -> pb::MessaggioInbox {
    pb::MessaggioInbox {
        id: n.id,
        tipo: tipo(n.tipo) as i32,
        titolo: n.titolo,
        testo: n.testo,
        guida_token: n.guida_token.unwrap_or_default(),
        event_id: n.event_id.unwrap_or_default(),
        ricevuto_il: ts(n.creata_ms),
        letto_il: n.letta_ms.and_then(ts),
    }
}

pub fn delivery(c: Consegna) -> pb::Delivery {
    let attende = matches!(c.stato, Stato::Pending | Stato::Retrying);
    pb::Delivery {
        id: c.id,
        notifica_id: c.notifica_id,
        codice_fiscale: c.codice_fiscale,
        channel: canale(c.canale) as i32,
        tipo: tipo(c.tipo) as i32,
        state: stato(c.stato) as i32,
        tentativi: c.tentativi,
        ultimo_errore: c.ultimo_errore.unwrap_or_default(),
        prossimo_tentativo_il: if attende { ts(c.prossimo_ms) } else { None },
        creata_il: ts(c.creata_ms),
        inviata_il: c.inviata_ms.and_then(ts),
        event_id: c.event_id.unwrap_or_default(),
        campagna: if c.campagna.as_deref() == Some("lavoro_domestico") {
            pb::TipoCampagna::LavoroDomestico as i32
        } else {
            0
        },
        trimestre: trimestre_di(c.anno, c.trimestre),
        destinazione: c.indirizzo.as_deref().map(maschera).unwrap_or_default(),
    }
}

pub fn scartato(s: Scarto) -> pb::RecordLavoroDomesticoScartato {
    pb::RecordLavoroDomesticoScartato {
        record_id: s.record_id,
        posizione: s.posizione,
        motivo: s.motivo,
    }
}

pub fn importazione(i: Importazione) -> pb::ImportLavoroDomesticoResponse {
    pb::ImportLavoroDomesticoResponse {
        numero_ricevuti: i.ricevuti,
        numero_importati: i.importati,
        numero_duplicati: i.duplicati,
        numero_scartati: i.scartati,
        scartati: i.elencati.into_iter().map(scartato).collect(),
        id_import: i.id_import,
    }
}

pub fn run(r: &Run) -> pb::CampagnaRun {
    pb::CampagnaRun {
        campagna: campagna(r.campagna) as i32,
        trimestre: Some(trimestre(r.trimestre)),
        numero_destinatari: r.destinatari,
        numero_notifiche: r.notifiche,
        dry_run: r.dry_run,
        eseguita_il: ts(r.eseguita.timestamp_millis()),
    }
}

/// A guide as its reader sees it; once expired only its token and expiry (NOT-4). Its links go
/// through `base_url`, where following them is counted (NOT-5).
pub fn guida(g: Guida, base_url: &str) -> pb::Guida {
    let scaduta = g.scaduta();
    let r = g.riga;
    let mut out = pb::Guida {
        token: r.token.clone(),
        scade_il: ts(r.scade_ms),
        scaduta,
        ..Default::default()
    };
    let Some(c) = g.contenuto else {
        return out;
    };
    out.campagna = match Campagna::parse(&r.campagna) {
        Some(k) => campagna(k),
        None => pb::TipoCampagna::Unspecified,
    } as i32;
    out.trimestre = Some(pb::Trimestre {
        anno: r.anno,
        numero: r.trimestre,
    });
    out.emessa_il = ts(r.emessa_ms);
    out.datore_nome = c.datore_nome;
    out.lavoratori = c
        .lavoratori
        .into_iter()
        .map(|l| pb::GuidaLavoratore {
            nome: l.nome,
            trimestri_non_pagati: l
                .trimestri
                .into_iter()
                .map(|t| pb::SituazioneTrimestre {
                    trimestre: Some(pb::Trimestre {
                        anno: t.anno,
                        numero: t.numero,
                    }),
                    stato: stato_rapporto(&t.stato) as i32,
                    contributi_dovuti: t.dovuti.map(|d| format!("{:.2}", d)).unwrap_or_default(),
                    contributi_pagati: t.pagati.map(|d| format!("{:.2}", d)).unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    out.finestra_pagamento = Some(Periodo {
        dal: c.finestra_dal.to_string(),
        al: c.finestra_al.to_string(),
    });
    out.istruzioni_rapporto_sospeso_cessato = ISTRUZIONI_RAPPORTO_SOSPESO_CESSATO.into();
    out.sanzioni = SANZIONI.into();
    out.links = Link::ALL
        .into_iter()
        .map(|l| pb::LinkGuida {
            link: link(l) as i32,
            url: format!("{base_url}/guida/{}/link/{}", r.token, l.as_str()),
        })
        .collect();
    out.voto = r.voto;
    out
}

pub fn cruscotto(r: RigaCruscotto) -> pb::CampagnaDashboard {
    pb::CampagnaDashboard {
        campagna: campagna(r.campagna) as i32,
        trimestre: Some(pb::Trimestre {
            anno: r.anno,
            numero: r.numero,
        }),
        per_canale: r
            .per_canale
            .into_iter()
            .map(|(c, e)| pb::ConteggioCanale {
                channel: canale(c) as i32,
                inviati: e.inviati,
                falliti: e.falliti,
                saltati: e.saltati,
            })
            .collect(),
        guide_aperte: r.guide_aperte,
        link_seguiti: r
            .link_seguiti
            .into_iter()
            .map(|(l, numero)| pb::ConteggioLink {
                link: link(l) as i32,
                numero,
            })
            .collect(),
        valutazioni_numero: r.valutazioni,
        valutazioni_media: r.media.map(|m| format!("{m:.2}")).unwrap_or_default(),
        aggiornato_il: ts(r.aggiornato_ms),
    }
}
