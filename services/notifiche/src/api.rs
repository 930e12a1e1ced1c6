//! The gRPC edge: decode → application → encode; domain refusals become gRPC errors here.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::ids::new_id;
use occasionali_proto::notifiche as pb;
use occasionali_proto::notifiche::notifiche_internal_service_server::NotificheInternalService;
use occasionali_proto::notifiche::notifiche_service_server::NotificheService;
use occasionali_runtime::RequestIdentity;
use occasionali_runtime::decode::{cf, cf_opzionale};
use occasionali_runtime::identity::Identity;
use occasionali_runtime::pagina::{Pagina, impronta};
use occasionali_runtime::{AppError, Violations};
use rust_decimal::Decimal;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::app::App;
use crate::app::importa::Totali;
use crate::domain::campagna::{Datore, Rapporto, Situazione, StatoRapporto};
use crate::domain::canali::{Canale, maschera};
use crate::domain::trimestre::{PRIMO, Trimestre};
use crate::domain::{Campagna, Tipo};
use crate::store::consegne::{Consegna, Filtri, Stato};
use crate::store::domestico::Record;
use crate::store::notifiche::Notifica;
use crate::store::scarti::Scarto;
use crate::store::{contatti, notifiche};
use crate::web::Guide as _;

pub struct Notifiche {
    pub app: App,
}

pub struct Interno {
    pub app: App,
}

type R<T> = Result<Response<T>, Status>;

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    let t = DateTime::<Utc>::from_timestamp_millis(ms)?;
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

fn tipo_pb(t: Tipo) -> pb::TipoNotifica {
    match t {
        Tipo::PrestazioneRevocata => pb::TipoNotifica::PrestazioneRevocata,
        Tipo::PrestazioneInserita => pb::TipoNotifica::PrestazioneInserita,
        Tipo::PagamentoEseguito => pb::TipoNotifica::PagamentoEseguito,
        Tipo::DelegaCreata => pb::TipoNotifica::DelegaCreata,
        Tipo::DelegaInScadenza => pb::TipoNotifica::DelegaInScadenza,
        Tipo::CampagnaLavoroDomestico => pb::TipoNotifica::CampagnaLavoroDomestico,
    }
}

fn tipo_da_pb(t: i32) -> Option<Tipo> {
    Tipo::ALL.into_iter().find(|x| tipo_pb(*x) as i32 == t)
}

fn canale_pb(c: Canale) -> pb::Channel {
    match c {
        Canale::Sms => pb::Channel::Sms,
        Canale::Email => pb::Channel::Email,
        Canale::AppIo => pb::Channel::AppIo,
        Canale::Inbox => pb::Channel::MyinpsInbox,
    }
}

fn canale_da_pb(c: i32) -> Option<Canale> {
    Canale::ALL.into_iter().find(|x| canale_pb(*x) as i32 == c)
}

fn stato_pb(s: Stato) -> pb::DeliveryState {
    match s {
        Stato::Pending => pb::DeliveryState::Pending,
        Stato::Retrying => pb::DeliveryState::Retrying,
        Stato::Sent => pb::DeliveryState::Sent,
        Stato::Failed => pb::DeliveryState::Failed,
        Stato::Skipped => pb::DeliveryState::Skipped,
    }
}

fn messaggio(n: Notifica) -> pb::MessaggioInbox {
    pb::MessaggioInbox {
        id: n.id,
        tipo: tipo_pb(n.tipo) as i32,
        titolo: n.titolo,
        testo: n.testo,
        guida_token: n.guida_token.unwrap_or_default(),
        event_id: n.event_id.unwrap_or_default(),
        ricevuto_il: ts(n.creata_ms),
        letto_il: n.letta_ms.and_then(ts),
    }
}

fn trimestre_pb(anno: Option<i32>, numero: Option<i32>) -> Option<pb::Trimestre> {
    Some(pb::Trimestre {
        anno: anno?,
        numero: numero?,
    })
}

fn delivery(c: Consegna) -> pb::Delivery {
    let attende = matches!(c.stato, Stato::Pending | Stato::Retrying);
    pb::Delivery {
        id: c.id,
        notifica_id: c.notifica_id,
        codice_fiscale: c.codice_fiscale,
        channel: canale_pb(c.canale) as i32,
        tipo: tipo_pb(c.tipo) as i32,
        state: stato_pb(c.stato) as i32,
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
        trimestre: trimestre_pb(c.anno, c.trimestre),
        destinazione: c.indirizzo.as_deref().map(maschera).unwrap_or_default(),
    }
}

/// NOT-1: a person's own contacts, consents and inbox — the person (or who acts for it under a
/// delega, as the gateway verified), an operator, or the platform.
fn legge(id: &Identity, cf: &str) -> Result<(), AppError> {
    if id.acts_for(cf) || id.is_operator() || id.is_system() {
        Ok(())
    } else {
        Err(AppError::denied(
            "NOT-1",
            "NOT_1_NOT_OWN",
            "only the person, its delegato or an operator reads these",
        ))
    }
}

fn operatore(id: &Identity, rule: &'static str) -> Result<(), AppError> {
    if id.is_operator() || id.is_system() {
        Ok(())
    } else {
        Err(AppError::denied(
            rule,
            format!("{}_OPERATORS_ONLY", rule.replace('-', "_")),
            "only INPS operators may do this",
        ))
    }
}

pub(crate) fn dg_o_sistema(id: &Identity, rule: &'static str) -> Result<(), AppError> {
    if id.is_system() || id.profile() == occasionali_runtime::identity::Profile::OperatoreDg {
        Ok(())
    } else {
        Err(AppError::denied(
            rule,
            format!("{}_DG_ONLY", rule.replace('-', "_")),
            "only the Direzione Generale or the platform may do this",
        ))
    }
}

async fn contatti_pb(app: &App, cf: &str) -> Result<pb::Contatti, AppError> {
    let c = contatti::leggi(&app.db, cf).await?.unwrap_or_default();
    let consenso = |canale: pb::Channel, concesso: bool, ms: Option<i64>| pb::Consenso {
        channel: canale as i32,
        concesso,
        aggiornato_il: ms.and_then(ts),
    };
    Ok(pb::Contatti {
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
    })
}

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

/// One archive record, checked whole: the first problem is its reason.
fn record(r: Option<pb::RecordLavoroDomestico>) -> Result<Record, (String, String)> {
    let r = r.ok_or_else(|| (String::new(), "record: is required".to_string()))?;
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
    let nascita = if d.data_nascita.trim().is_empty() {
        None
    } else {
        match NaiveDate::parse_from_str(d.data_nascita.trim(), "%Y-%m-%d") {
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
    };
    let mut rapporti = Vec::new();
    // GW-3: a household with more than a hundred domestic workers, or a rapporto with more than
    // a century of quarters, is not a record of this archive.
    const MAX_RAPPORTI: usize = 100;
    const MAX_TRIMESTRI: usize = 400;
    let elenco =
        occasionali_runtime::decode::al_massimo(&mut v, "record.rapporti", &r.rapporti, MAX_RAPPORTI);
    for (i, rp) in elenco.iter().enumerate() {
        let f = |x: &str| format!("record.rapporti[{i}].{x}");
        if rp.codice_rapporto.trim().is_empty() {
            v.add(
                f("codice_rapporto"),
                "NOT-7",
                "NOT_7_CODICE_RAPPORTO",
                "is required",
            );
        }
        let lavoratore = cf(&mut v, &f("lavoratore_cf"), "NOT-7", &rp.lavoratore_cf);
        if rp.lavoratore_nome.trim().is_empty() {
            v.add(
                f("lavoratore_nome"),
                "NOT-7",
                "NOT_7_NOME",
                "is required: the guide lists workers by it",
            );
        }
        let mut trimestri = Vec::new();
        let elenco =
            occasionali_runtime::decode::al_massimo(&mut v, &f("trimestri"), &rp.trimestri, MAX_TRIMESTRI);
        for (j, s) in elenco.iter().enumerate() {
            let g = |x: &str| format!("record.rapporti[{i}].trimestri[{j}].{x}");
            let t = trimestre(&mut v, &g("trimestre"), "NOT-7", s.trimestre.as_ref());
            let stato = match pb::StatoRapportoDomestico::try_from(s.stato) {
                Ok(pb::StatoRapportoDomestico::Active) => Some(StatoRapporto::Attivo),
                Ok(pb::StatoRapportoDomestico::Suspended) => Some(StatoRapporto::Sospeso),
                Ok(pb::StatoRapportoDomestico::Ended) => Some(StatoRapporto::Cessato),
                _ => {
                    v.add(g("stato"), "NOT-7", "NOT_7_STATO", "ACTIVE, SUSPENDED or ENDED");
                    None
                }
            };
            let dovuti = importo(&mut v, g("contributi_dovuti"), &s.contributi_dovuti);
            let pagati = importo(&mut v, g("contributi_pagati"), &s.contributi_pagati);
            if let (Some(trimestre), Some(stato)) = (t, stato) {
                trimestri.push(Situazione {
                    trimestre,
                    stato,
                    dovuti,
                    pagati,
                });
            }
        }
        if let Some(l) = lavoratore {
            rapporti.push((
                l,
                Rapporto {
                    codice: rp.codice_rapporto.trim().to_string(),
                    lavoratore_nome: rp.lavoratore_nome.trim().to_string(),
                    trimestri,
                },
            ));
        }
    }
    if let Some(f) = v.iter().next() {
        return Err((id, format!("{}: {} ({})", f.field, f.description, f.reason)));
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

/// At most this many refused records are listed in the answer (all are counted).
const MAX_SCARTATI_ELENCATI: usize = 1000;
/// Records of an ImportLavoroDomestico stream written in one transaction at most (issue 12).
const LOTTO_LAVORO_DOMESTICO: usize = 256;

#[tonic::async_trait]
impl NotificheService for Notifiche {
    async fn get_contatti(&self, request: Request<pb::GetContattiRequest>) -> R<pb::GetContattiResponse> {
        let id = request.identity()?;
        let mut v = Violations::new();
        let c = cf(
            &mut v,
            "codice_fiscale",
            "NOT-1",
            &request.get_ref().codice_fiscale,
        );
        let c = v.into_result(c).map_err(AppError::from)?.unwrap_or_default();
        legge(&id, &c)?;
        Ok(Response::new(pb::GetContattiResponse {
            contatti: Some(contatti_pb(&self.app, &c).await?),
        }))
    }

    async fn update_consensi(
        &self,
        request: Request<pb::UpdateConsensiRequest>,
    ) -> R<pb::UpdateConsensiResponse> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let c = cf(&mut v, "codice_fiscale", "NOT-1", &r.codice_fiscale);
        let (mut sms, mut email) = (None, None);
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
        for (i, k) in occasionali_runtime::decode::al_massimo(&mut v, "consensi", &r.consensi, CANALI)
            .iter()
            .enumerate()
        {
            let campo = format!("consensi[{i}].channel");
            let slot = match canale_da_pb(k.channel) {
                Some(Canale::Sms) => &mut sms,
                Some(Canale::Email) => &mut email,
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
        let c = v.into_result(c).map_err(AppError::from)?.unwrap_or_default();
        // Consent is the person's own act (or its delegato's): operators read it, never give it.
        if !id.acts_for(&c) {
            return Err(AppError::denied(
                "NOT-1",
                "NOT_1_CONSENT_OWN",
                "only the person or its delegato gives or withdraws consent",
            )
            .into());
        }
        contatti::consensi(&self.app.db, &c, sms, email, self.app.adesso_ms()).await?;
        Ok(Response::new(pb::UpdateConsensiResponse {
            contatti: Some(contatti_pb(&self.app, &c).await?),
        }))
    }

    async fn list_inbox(&self, request: Request<pb::ListInboxRequest>) -> R<pb::ListInboxResponse> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let c = cf(&mut v, "codice_fiscale", "NOT-1", &r.codice_fiscale);
        let tipo = match r.tipo {
            0 => None,
            t => {
                let x = tipo_da_pb(t);
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
        let c = v.into_result(c).map_err(AppError::from)?.unwrap_or_default();
        legge(&id, &c)?;
        let righe = notifiche::inbox(
            &self.app.db,
            &c,
            tipo,
            r.solo_non_letti,
            pagina.cursore,
            pagina.da_leggere(),
        )
        .await?;
        let (messaggi, next_page_token) = pagina.taglia(righe);
        Ok(Response::new(pb::ListInboxResponse {
            messaggi: messaggi.into_iter().map(messaggio).collect(),
            next_page_token,
        }))
    }

    async fn mark_inbox_read(
        &self,
        request: Request<pb::MarkInboxReadRequest>,
    ) -> R<pb::MarkInboxReadResponse> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let c = cf(&mut v, "codice_fiscale", "NOT-1", &r.codice_fiscale);
        if r.id.trim().is_empty() {
            v.add("id", "NOT-1", "NOT_1_ID_REQUIRED", "is required");
        }
        let c = v.into_result(c).map_err(AppError::from)?.unwrap_or_default();
        // Reading is the person's act: an operator looking at the inbox does not mark it read.
        if !id.acts_for(&c) {
            return Err(AppError::denied(
                "NOT-1",
                "NOT_1_NOT_OWN",
                "only the person or its delegato marks its messages read",
            )
            .into());
        }
        if !notifiche::segna_letta(&self.app.db, &c, r.id.trim(), self.app.adesso_ms()).await? {
            return Err(AppError::NotFound("messaggio".into()).into());
        }
        let n = notifiche::una(&self.app.db, &c, r.id.trim())
            .await?
            .ok_or_else(|| AppError::NotFound("messaggio".into()))?;
        Ok(Response::new(pb::MarkInboxReadResponse {
            messaggio: Some(messaggio(n)),
        }))
    }

    async fn import_lavoro_domestico(
        &self,
        request: Request<Streaming<pb::ImportLavoroDomesticoRequest>>,
    ) -> R<pb::ImportLavoroDomesticoResponse> {
        let id = request.identity()?;
        dg_o_sistema(&id, "NOT-7")?;
        let mut stream = request.into_inner();
        let id_import = new_id("ild");
        let mut t = Totali::default();
        let mut scartati = 0i64;
        let mut finito = false;
        while !finito {
            let Some(primo) = stream.next().await else { break };
            // The records already arrived go in one transaction; none is awaited.
            let mut arrivati = vec![primo?];
            while arrivati.len() < LOTTO_LAVORO_DOMESTICO {
                match futures::FutureExt::now_or_never(stream.next()) {
                    Some(Some(m)) => arrivati.push(m?),
                    Some(None) => {
                        finito = true;
                        break;
                    }
                    None => break,
                }
            }
            let mut lotto = Vec::with_capacity(arrivati.len());
            let mut da_scrivere = Vec::new();
            for m in arrivati {
                let posizione = t.ricevuti;
                t.ricevuti += 1;
                match record(m.record) {
                    Ok(r) => lotto.push(r),
                    Err((record_id, motivo)) => {
                        scartati += 1;
                        let record_id: String = record_id.chars().take(128).collect();
                        let motivo: String = motivo.chars().take(256).collect();
                        if t.scartati.len() < MAX_SCARTATI_ELENCATI {
                            t.scartati.push((record_id.clone(), posizione, motivo.clone()));
                        }
                        da_scrivere.push(Scarto {
                            posizione,
                            record_id,
                            motivo,
                        });
                    }
                }
            }
            // The batch's discards are kept with its records, in the same transaction; a
            // server fault stops the stream, and the retry finds what was committed.
            for nuovo in self
                .app
                .importa_lotto_con_scarti(&lotto, &id_import, &da_scrivere)
                .await?
            {
                if nuovo {
                    t.importati += 1;
                } else {
                    t.duplicati += 1;
                }
            }
        }
        tracing::info!(
            id_import = %id_import,
            ricevuti = t.ricevuti,
            importati = t.importati,
            duplicati = t.duplicati,
            scartati,
            "domestic-work import"
        );
        Ok(Response::new(pb::ImportLavoroDomesticoResponse {
            numero_ricevuti: t.ricevuti,
            numero_importati: t.importati,
            numero_duplicati: t.duplicati,
            numero_scartati: scartati,
            scartati: t
                .scartati
                .into_iter()
                .map(
                    |(record_id, posizione, motivo)| pb::RecordLavoroDomesticoScartato {
                        record_id,
                        posizione,
                        motivo,
                    },
                )
                .collect(),
            id_import,
        }))
    }

    async fn list_scarti_import_lavoro_domestico(
        &self,
        request: Request<pb::ListScartiImportLavoroDomesticoRequest>,
    ) -> R<pb::ListScartiImportLavoroDomesticoResponse> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let id_import = r.id_import.trim();
        if id_import.is_empty() {
            v.add("id_import", "NOT-7", "NOT_7_REQUIRED", "is required");
        } else if id_import.chars().count() > 64
            || id_import.chars().any(|c| c.is_control() || c.is_whitespace())
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
        let righe = self.app.scarti(&id, id_import, pagina).await?;
        let (scarti, next_page_token) = pagina.taglia(righe);
        Ok(Response::new(pb::ListScartiImportLavoroDomesticoResponse {
            scartati: scarti
                .into_iter()
                .map(|s| pb::RecordLavoroDomesticoScartato {
                    record_id: s.record_id,
                    posizione: s.posizione,
                    motivo: s.motivo,
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn run_campagna(&self, request: Request<pb::RunCampagnaRequest>) -> R<pb::RunCampagnaResponse> {
        let id = request.identity()?;
        let r = request.into_inner();
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
        dg_o_sistema(&id, "NOT-3")?;
        let run = self
            .app
            .esegui_campagna(Campagna::LavoroDomestico, t, r.dry_run, id.author().subject_cf())
            .await?;
        Ok(Response::new(pb::RunCampagnaResponse {
            run: Some(pb::CampagnaRun {
                campagna: pb::TipoCampagna::LavoroDomestico as i32,
                trimestre: Some(pb::Trimestre {
                    anno: run.trimestre.anno,
                    numero: i32::from(run.trimestre.numero),
                }),
                numero_destinatari: run.destinatari,
                numero_notifiche: run.notifiche,
                dry_run: run.dry_run,
                eseguita_il: ts(run.eseguita.timestamp_millis()),
            }),
        }))
    }

    async fn get_guida(&self, request: Request<pb::GetGuidaRequest>) -> R<pb::GetGuidaResponse> {
        request.identity()?;
        let guida = self.app.apri(request.get_ref().token.trim()).await?;
        Ok(Response::new(pb::GetGuidaResponse { guida: Some(guida) }))
    }

    async fn rate_guida(&self, request: Request<pb::RateGuidaRequest>) -> R<pb::RateGuidaResponse> {
        request.identity()?;
        let r = request.into_inner();
        let guida = self.app.vota(r.token.trim(), r.voto).await?;
        Ok(Response::new(pb::RateGuidaResponse { guida: Some(guida) }))
    }

    async fn record_guida_link(
        &self,
        request: Request<pb::RecordGuidaLinkRequest>,
    ) -> R<pb::RecordGuidaLinkResponse> {
        request.identity()?;
        let r = request.into_inner();
        let link = pb::GuidaLink::try_from(r.link).unwrap_or(pb::GuidaLink::Unspecified);
        let url = self.app.segui(r.token.trim(), link).await?;
        Ok(Response::new(pb::RecordGuidaLinkResponse { url }))
    }

    async fn get_campagna_dashboard(
        &self,
        request: Request<pb::GetCampagnaDashboardRequest>,
    ) -> R<pb::GetCampagnaDashboardResponse> {
        let id = request.identity()?;
        operatore(&id, "NOT-5")?;
        let r = request.into_inner();
        let campagna = pb::TipoCampagna::try_from(r.campagna).unwrap_or(pb::TipoCampagna::Unspecified);
        let righe = crate::web::Guide::cruscotto(&self.app, campagna, r.trimestre).await?;
        Ok(Response::new(pb::GetCampagnaDashboardResponse { righe }))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> R<pb::ListDeliveriesResponse> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let c = cf_opzionale(&mut v, "codice_fiscale", "NOT-6", &r.codice_fiscale);
        let canale = match r.channel {
            0 => None,
            x => {
                let k = canale_da_pb(x);
                if k.is_none() {
                    v.add("channel", "NOT-6", "NOT_6_CHANNEL", "unknown channel");
                }
                k
            }
        };
        let stato = match r.state {
            0 => None,
            x => {
                let s = Stato::ALL.into_iter().find(|s| stato_pb(*s) as i32 == x);
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
        // Operators see every delivery; a person only its own.
        if !(id.is_operator() || id.is_system()) {
            match &c {
                Some(cf) if id.acts_for(cf) => {}
                _ => {
                    return Err(AppError::denied(
                        "NOT-6",
                        "NOT_6_NOT_OWN",
                        "a person lists only its own deliveries: set codice_fiscale to your own",
                    )
                    .into());
                }
            }
        }
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
        let righe =
            crate::store::consegne::elenco(&self.app.db, &f, pagina.cursore, pagina.da_leggere()).await?;
        let (deliveries, next_page_token) = pagina.taglia(righe);
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: deliveries.into_iter().map(delivery).collect(),
            next_page_token,
        }))
    }
}

#[tonic::async_trait]
impl NotificheInternalService for Interno {
    async fn ingest_event(&self, request: Request<pb::IngestEventRequest>) -> R<pb::IngestEventResponse> {
        let Some(event) = request.into_inner().event else {
            return Err(
                AppError::invalid("event", "NOT-2", "NOT_2_EVENT_REQUIRED", "the event is required").into(),
            );
        };
        if event.event_id.trim().is_empty() {
            return Err(AppError::invalid(
                "event.event_id",
                "NOT-2",
                "NOT_2_EVENT_ID_REQUIRED",
                "the event id is required",
            )
            .into());
        }
        let ingresso = crate::decode::evento(&event)
            .map_err(|e| AppError::invalid("event.payload", "NOT-2", "NOT_2_PAYLOAD", e))?;
        let esito = self.app.ingerisci(&event, ingresso).await?;
        Ok(Response::new(pb::IngestEventResponse {
            duplicato: esito.duplicato,
            notifica_ids: esito.notifiche,
        }))
    }
}
