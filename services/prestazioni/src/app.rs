//! The context's commands: registry reads first, then one transaction per step, the wallet saga
//! between them (ARCHITECTURE.md: PENDING with the limit share taken → ReserveFunds → ACCEPTED
//! or REJECTED with the share given back).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use occasionali_kernel::SharedClock;
use occasionali_kernel::calendar::{end_of_day_exclusive, end_of_nth_day_after};
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, FieldViolation, Identity};
use prost::Message;
use sea_orm::DatabaseConnection;

use crate::anagrafica::Registro;
use crate::decode::timestamp;
use crate::domain::accesso::{self, Sedi};
use crate::domain::stato::Evento;
use crate::domain::{
    Dichiarazione, Quota, Regole, Stato, TipoLimite, Valutazione, Violazione, id_contatore, valuta,
};
use crate::encode;
use crate::events;
use crate::portafoglio::{Esito, Portafoglio};
use crate::store::{self, QuotaPresa};
use occasionali_runtime::relay::Relay;

mod regole;

#[derive(Clone)]
pub struct App {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub registro: Registro,
    pub portafoglio: Portafoglio,
    /// Delivers the saga's commands at once after their commit (the relay task finishes them
    /// whatever happens).
    pub relay: Relay,
}

/// The result of every check (CheckPrestazione, and the first step of InsertPrestazione).
pub struct Esame {
    pub val: Valutazione,
    pub violazioni: Vec<Violazione>,
    pub limiti: Vec<pb::StatoLimite>,
    pub regole: Regole,
    /// The parties' sedi per the registry (PRE-19: a sede operator's scope).
    pub sedi: Sedi,
}

pub fn rifiuto(violazioni: &[Violazione], limiti: &[pb::StatoLimite]) -> AppError {
    let Some(first) = violazioni.first() else {
        return AppError::internal("refusal without violations");
    };
    // The status text opens with the first rule ("[PRE-8] ..."): one violation reads as its
    // description, several each with its rule.
    let message = if violazioni.len() == 1 {
        first.description.clone()
    } else {
        violazioni
            .iter()
            .map(|v| format!("{}: {}", v.rule, v.description))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut e = AppError::FailedPrecondition {
        rule: first.rule,
        reason: first.reason.to_string(),
        message,
        metadata: Vec::new(),
        violations: violazioni
            .iter()
            .map(|v| FieldViolation {
                field: v.field.to_string(),
                rule: v.rule,
                reason: v.reason.to_string(),
                description: v.description.clone(),
            })
            .collect(),
    };
    // PRE-8: which limit, used and left (the first crossed under plain keys, each under its name).
    let mut primo = true;
    for l in limiti.iter().filter(|l| l.superato) {
        let nome = pb::TipoLimite::try_from(l.tipo)
            .map(|t| t.as_str_name().trim_start_matches("TIPO_LIMITE_").to_lowercase())
            .unwrap_or_default();
        if primo {
            e = e
                .with_metadata("limite", nome.clone())
                .with_metadata("limite_valore", l.limite.clone())
                .with_metadata("utilizzato", l.utilizzato.clone())
                .with_metadata("residuo", l.residuo.clone())
                .with_metadata("richiesto", l.richiesto.clone());
            primo = false;
        }
        e = e
            .with_metadata(format!("{nome}_utilizzato"), l.utilizzato.clone())
            .with_metadata(format!("{nome}_residuo"), l.residuo.clone());
    }
    let superati: Vec<&pb::StatoLimite> = limiti.iter().filter(|l| l.superato).collect();
    con_stati_limite(e, &superati)
}

fn limite_superato(l: &pb::StatoLimite) -> Violazione {
    let ore = l.unita == pb::UnitaLimite::Ore as i32;
    let (reason, nome, field) = match pb::TipoLimite::try_from(l.tipo) {
        Ok(pb::TipoLimite::Prestatore) => (
            "PRE_8_LIMIT_PRESTATORE",
            "prestatore's limit (all utilizzatori)",
            "prestazione.compenso",
        ),
        Ok(pb::TipoLimite::Utilizzatore) => (
            "PRE_8_LIMIT_UTILIZZATORE",
            "utilizzatore's limit (all prestatori)",
            "prestazione.compenso",
        ),
        Ok(pb::TipoLimite::Coppia) => (
            "PRE_8_LIMIT_COPPIA",
            "prestatore–utilizzatore pair limit",
            "prestazione.compenso",
        ),
        _ => (
            "PRE_8_LIMIT_ORE_COPPIA",
            "hours limit of the prestatore–utilizzatore pair",
            "prestazione.cpo",
        ),
    };
    let unita = if ore { " hours" } else { " €" };
    Violazione {
        rule: "PRE-8",
        reason,
        field,
        description: format!(
            "the {nome} for {} is {}{unita}: used {}{unita}, left {}{unita}, requested {}{unita}",
            l.anno, l.limite, l.utilizzato, l.residuo, l.richiesto
        ),
    }
}

/// The type URL of a StatoLimite in google.rpc.Status.details.
pub const STATO_LIMITE_TYPE_URL: &str = "type.googleapis.com/occasionali.prestazioni.v1.StatoLimite";

/// PRE-8: the refusal's status with one StatoLimite per crossed limit added to its details, as
/// InsertPrestazione promises (next to the ErrorInfo, PreconditionFailure and BadRequest the
/// runtime builds).
fn con_stati_limite(e: AppError, superati: &[&pb::StatoLimite]) -> AppError {
    if superati.is_empty() {
        return e;
    }
    let status = tonic::Status::from(e);
    let mut rpc = tonic_types::pb::Status::decode(status.details()).unwrap_or_default();
    rpc.code = status.code() as i32;
    rpc.message = status.message().to_string();
    rpc.details.extend(superati.iter().map(|l| prost_types::Any {
        type_url: STATO_LIMITE_TYPE_URL.to_string(),
        value: l.encode_to_vec(),
    }));
    AppError::Upstream(Box::new(tonic::Status::with_details(
        status.code(),
        status.message(),
        rpc.encode_to_vec().into(),
    )))
}

/// When the work of a prestazione is over (Rome): a CPO's `fine`; the end of the last day of an
/// agricultural window; the end of an LF's day (LF declares a day and a duration, no times).
pub fn fine_lavoro(p: &pb::Prestazione) -> Result<DateTime<Utc>, AppError> {
    let giorno = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(AppError::internal);
    if let Some(pb::prestazione::Dettaglio::Cpo(c)) = &p.dettaglio {
        if let Some(fine) = c.fine.as_ref().and_then(crate::decode::istante) {
            return Ok(fine);
        }
        if let Some(per) = c.finestra_agricola.as_ref().and_then(|f| f.periodo.as_ref()) {
            return Ok(end_of_day_exclusive(giorno(&per.al)?));
        }
    }
    Ok(end_of_day_exclusive(giorno(&p.data_prestazione)?))
}

/// A REJECTED insertion's answer as it was sent: the gRPC code and message and the status
/// details (`grpc-status-details-bin`, an encoded google.rpc.Status), stored with the row and
/// answered again to a retry of its request id (PRE-18).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RifiutoSalvato {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(bytes = "vec", tag = "3")]
    pub details: Vec<u8>,
}

impl RifiutoSalvato {
    pub fn da(s: &tonic::Status) -> RifiutoSalvato {
        RifiutoSalvato {
            code: s.code() as i32,
            message: s.message().to_string(),
            details: s.details().to_vec(),
        }
    }

    pub fn status(&self) -> tonic::Status {
        tonic::Status::with_details(
            tonic::Code::from(self.code),
            self.message.clone(),
            self.details.clone().into(),
        )
    }
}

/// The refusal a REJECTED prestazione answered (PRE-18). Rows refused before the refusal was kept
/// answer FAILED_PRECONDITION PRE_10_REJECTED with their `motivo_rifiuto`.
fn rifiuto_salvato(r: &store::Riga) -> AppError {
    match r.rifiuto.as_deref().map(RifiutoSalvato::decode) {
        Some(Ok(salvato)) => AppError::Upstream(Box::new(salvato.status())),
        Some(Err(e)) => AppError::internal(format!("stored refusal of {}: {e}", r.id)),
        None => AppError::precondition("PRE-10", "PRE_10_REJECTED", r.p.motivo_rifiuto.clone()),
    }
}

pub fn puo_inserire(id: &Identity, utilizzatore_cf: &str) -> Result<(), AppError> {
    if id.is_operator() || id.is_system() || id.subject_cf() == utilizzatore_cf {
        Ok(())
    } else {
        Err(AppError::denied(
            "PRE-19",
            "PRE_19_NOT_UTILIZZATORE_SIDE",
            "only the utilizzatore, an intermediary with a delega or an operator may declare",
        ))
    }
}

impl App {
    fn adesso(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub async fn regole(&self, anno: i32) -> Result<Regole, AppError> {
        store::regole(&self.db, anno).await?.ok_or_else(|| {
            AppError::precondition("PRE-20", "PRE_20_NO_RULES", format!("no rule table for {anno}"))
        })
    }

    /// Every check of PRE-1..PRE-8. Reads the registry (before any transaction) and the counters.
    pub async fn esamina(&self, d: &Dichiarazione, origin: &Identity) -> Result<Esame, AppError> {
        let data = crate::domain::giorno(&d.quando);
        let regole = self.regole(data.year()).await?;
        let ((u, sede_u), (p, sede_p)) = tokio::try_join!(
            self.registro.utilizzatore_e_sede(&d.utilizzatore_cf, origin),
            self.registro.prestatore_e_sede(&d.prestatore_cf, origin)
        )?;
        let val = valuta(d, &regole, u.as_ref(), &p, self.adesso());
        let ids: Vec<String> = val.quote.iter().map(|q| q.id.clone()).collect();
        let usati = store::usati(&self.db, &ids).await?;
        let limiti: Vec<pb::StatoLimite> = val
            .quote
            .iter()
            .map(|q| encode::stato_limite(q, usati.get(&q.id).copied().unwrap_or(0), Some(q.richiesto)))
            .collect();
        let mut violazioni = val.violazioni.clone();
        violazioni.extend(limiti.iter().filter(|l| l.superato).map(limite_superato));
        Ok(Esame {
            val,
            violazioni,
            limiti,
            regole,
            sedi: Sedi {
                utilizzatore: sede_u,
                prestatore: sede_p,
            },
        })
    }

    /// PRE-1..PRE-10, PRE-18.
    pub async fn inserisci(
        &self,
        id: &Identity,
        request_id: &str,
        dati: &pb::DatiPrestazione,
        d: Dichiarazione,
    ) -> Result<pb::Prestazione, AppError> {
        puo_inserire(id, &d.utilizzatore_cf)?;
        let richiesta = dati.encode_to_vec();
        if let Some(r) = store::per_request(&self.db, &d.utilizzatore_cf, request_id).await? {
            accesso::dichiara_per(id, r.sedi.utilizzatore.as_deref())?;
            return self.esistente(r, &richiesta, id).await;
        }
        let esame = self.esamina(&d, id).await?;
        // A sede operator declares only for an utilizzatore of its sede (before anything is held).
        accesso::dichiara_per(id, esame.sedi.utilizzatore.as_deref())?;
        if !esame.violazioni.is_empty() {
            return Err(rifiuto(&esame.violazioni, &esame.limiti));
        }
        let Esame {
            val, regole, sedi, ..
        } = esame;
        let adesso = self.adesso();
        let p = self.nuova(id, request_id, dati, &d, &val, &regole, adesso);
        let mut quote: Vec<&Quota> = val.quote.iter().filter(|q| q.richiesto > 0).collect();
        quote.sort_by(|a, b| a.id.cmp(&b.id));
        let prese: Vec<QuotaPresa> = quote
            .iter()
            .map(|q| QuotaPresa {
                id: q.id.clone(),
                valore: q.richiesto,
            })
            .collect();
        let txn = begin_write(&self.db).await?;
        let nuova = store::Nuova {
            p: &p,
            richiesta: richiesta.clone(),
            anno: val.data.year(),
            mese: val.data.month(),
            minuti: val.minuti,
            compenso: val.costo.compenso.cents(),
            totale: val.costo.totale().cents(),
            quote: &prese,
            sedi: &sedi,
        };
        if !store::inserisci(&txn, nuova).await? {
            txn.rollback().await?;
            return match store::per_request(&self.db, &d.utilizzatore_cf, request_id).await? {
                Some(r) => self.esistente(r, &richiesta, id).await,
                None => Err(AppError::internal("request id collision without a row")),
            };
        }
        // PRE-9: the counters, raised only within their caps, in this transaction.
        for q in &quote {
            if !store::prendi(&txn, &q.id, q.richiesto, q.limite).await? {
                txn.rollback().await?;
                let usati = store::usati(&self.db, std::slice::from_ref(&q.id)).await?;
                let l = encode::stato_limite(q, usati.get(&q.id).copied().unwrap_or(0), Some(q.richiesto));
                let l = pb::StatoLimite { superato: true, ..l };
                return Err(rifiuto(&[limite_superato(&l)], &[l]));
            }
        }
        txn.commit().await?;
        let riga = store::Riga {
            id: p.id.clone(),
            stato: Stato::Pending,
            richiesta,
            quote: prese,
            p,
            sedi,
            rifiuto: None,
        };
        self.completa(riga, Some(id)).await
    }

    #[allow(clippy::too_many_arguments)]
    fn nuova(
        &self,
        id: &Identity,
        request_id: &str,
        dati: &pb::DatiPrestazione,
        d: &Dichiarazione,
        val: &Valutazione,
        regole: &Regole,
        adesso: DateTime<Utc>,
    ) -> pb::Prestazione {
        let dettaglio = dati.dettaglio.clone().map(|x| match x {
            pb::dati_prestazione::Dettaglio::Lf(mut lf) => {
                if let crate::domain::Quando::Lf { titoli, .. } = d.quando {
                    lf.titoli = i32::try_from(titoli).unwrap_or(i32::MAX);
                }
                pb::prestazione::Dettaglio::Lf(lf)
            }
            pb::dati_prestazione::Dettaglio::Cpo(c) => pb::prestazione::Dettaglio::Cpo(c),
        });
        pb::Prestazione {
            id: occasionali_kernel::ids::new_id("pre"),
            tipo: dati.tipo,
            utilizzatore_cf: d.utilizzatore_cf.clone(),
            prestatore_cf: d.prestatore_cf.clone(),
            luogo: dati.luogo.clone().map(|mut l| {
                l.comune_nome = crate::decode::comune(&l.comune).unwrap_or_default();
                l
            }),
            dettaglio,
            compenso: val.costo.compenso.to_string(),
            dichiarazioni: dati.dichiarazioni,
            costo: Some(encode::costo(&val.costo)),
            stato: pb::StatoPrestazione::Pending as i32,
            stato_pagamento: pb::StatoPagamento::Due as i32,
            confermata: false,
            data_prestazione: val.data.format("%Y-%m-%d").to_string(),
            durata_minuti: i32::try_from(val.minuti).unwrap_or(i32::MAX),
            revocabile_fino_al: Some(timestamp(end_of_nth_day_after(
                val.data,
                regole.giorni_revoca as u32,
            ))),
            inserita_da_cf: id.author().caller.cf.clone(),
            request_id: request_id.to_string(),
            inserita_il: Some(timestamp(adesso)),
            ..Default::default()
        }
    }

    /// PRE-18: a retry returns the same prestazione (finishing its saga); different content is refused.
    async fn esistente(
        &self,
        r: store::Riga,
        richiesta: &[u8],
        id: &Identity,
    ) -> Result<pb::Prestazione, AppError> {
        if r.richiesta != richiesta {
            return Err(AppError::already_exists(
                "PRE-18",
                "PRE_18_REQUEST_ID_REUSED",
                "this request id was used for a different prestazione",
            ));
        }
        match r.stato {
            Stato::Pending => self.completa(r, Some(id)).await,
            // PRE-18: the first answer again, code and details included.
            Stato::Rejected => Err(rifiuto_salvato(&r)),
            _ => Ok(r.p),
        }
    }

    /// The saga's second half: reserve the cost (idempotent on the prestazione id), then ACCEPTED,
    /// or REJECTED with the limit share given back. A wallet outage leaves it PENDING for recovery.
    pub async fn completa(
        &self,
        r: store::Riga,
        origin: Option<&Identity>,
    ) -> Result<pb::Prestazione, AppError> {
        let esito = self.portafoglio.riserva(&r.p, false, origin).await?;
        let txn = begin_write(&self.db).await?;
        let Some(attuale) = store::carica(&txn, &r.id, true).await? else {
            return Err(AppError::internal("pending prestazione vanished"));
        };
        if attuale.stato != Stato::Pending {
            // A reservation that arrived after the prestazione was refused would be paid by the
            // payout: undone by a durable release (idempotent).
            let annullo = matches!((&esito, attuale.stato), (Esito::Riservato, Stato::Rejected));
            if annullo {
                events::rilascio(
                    &txn,
                    events::chiave_annullo(&r.id),
                    &attuale.p,
                    None,
                    self.adesso(),
                )
                .await?;
            }
            txn.commit().await?;
            if annullo {
                tracing::warn!(prestazione = %r.id, "late reservation of a refused prestazione: released");
                self.relay.deliver_now(&events::chiave_annullo(&r.id)).await;
            }
            // PRE-18: a REJECTED prestazione answers its first refusal, whatever the wallet says now.
            return match attuale.stato {
                Stato::Rejected => Err(rifiuto_salvato(&attuale)),
                _ => Ok(attuale.p),
            };
        }
        let adesso = self.adesso();
        let mut p = attuale.p;
        match esito {
            Esito::Riservato => {
                let s = Stato::Pending.transition(Evento::Accetta)?;
                p.stato = encode::stato(s) as i32;
                p.stato_pagamento = encode::pagamento(s) as i32;
                p.accettata_il = Some(timestamp(adesso));
                store::aggiorna(&txn, &p, s).await?;
                events::inserita(&txn, &p, adesso).await?;
                txn.commit().await?;
                Ok(p)
            }
            Esito::Rifiutato(e) => {
                let s = Stato::Pending.transition(Evento::Rifiuta)?;
                p.stato = encode::stato(s) as i32;
                p.stato_pagamento = encode::pagamento(s) as i32;
                p.motivo_rifiuto = format!("PRE-10: {e}");
                // The answer is kept as sent (code, message, details) for a retry (PRE-18).
                let status = tonic::Status::from(e);
                store::restituisci(&txn, &attuale.quote).await?;
                store::aggiorna(&txn, &p, s).await?;
                store::salva_rifiuto(&txn, &p.id, RifiutoSalvato::da(&status).encode_to_vec()).await?;
                txn.commit().await?;
                Err(AppError::Upstream(Box::new(status)))
            }
        }
    }

    /// Resumes every PENDING prestazione (after a crash or a wallet outage), and turns the
    /// releases owed by revocations stored before the relay existed into commands.
    pub async fn riprendi(&self) -> Result<usize, AppError> {
        let mut n = 0;
        for id in store::rilasci_pendenti(&self.db).await? {
            let txn = begin_write(&self.db).await?;
            if let Some(r) = store::carica(&txn, &id, true).await? {
                events::rilascio(&txn, events::chiave_rilascio(&id), &r.p, None, self.adesso()).await?;
            }
            store::rilascio_pendente(&txn, &id, false).await?;
            txn.commit().await?;
            n += 1;
        }
        for r in store::pendenti(&self.db).await? {
            match self.completa(r, None).await {
                Ok(_) => n += 1,
                Err(e) if e.code() == tonic::Code::FailedPrecondition => n += 1,
                Err(e) => tracing::warn!(error = %e, "pending prestazione not resumed; retrying later"),
            }
        }
        Ok(n)
    }

    pub async fn get(&self, id: &Identity, prestazione_id: &str) -> Result<store::Riga, AppError> {
        let r = store::carica(&self.db, prestazione_id, false)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("prestazione {prestazione_id}")))?;
        let s = id.subject_cf();
        if id.is_operator() || id.is_system() || s == r.p.utilizzatore_cf || s == r.p.prestatore_cf {
            accesso::vede(id, &r.sedi)?;
            Ok(r)
        } else {
            Err(AppError::NotFound(format!("prestazione {prestazione_id}")))
        }
    }

    /// PRE-11, PRE-12, PRE-13.
    pub async fn revoca(
        &self,
        id: &Identity,
        prestazione_id: &str,
        motivo: &str,
    ) -> Result<pb::Prestazione, AppError> {
        let r = self.get(id, prestazione_id).await?;
        if id.subject_cf() != r.p.utilizzatore_cf {
            return Err(AppError::denied(
                "PRE-19",
                "PRE_19_NOT_UTILIZZATORE_SIDE",
                "only the utilizzatore side revokes",
            ));
        }
        if r.stato == Stato::Revoked {
            // A retry: the release is the relay's (a durable command since the revocation).
            return Ok(r.p);
        }
        let data =
            NaiveDate::parse_from_str(&r.p.data_prestazione, "%Y-%m-%d").map_err(AppError::internal)?;
        let regole = self.regole(data.year()).await?;
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        let Some(attuale) = store::carica(&txn, prestazione_id, true).await? else {
            return Err(AppError::NotFound(format!("prestazione {prestazione_id}")));
        };
        if attuale.p.confermata {
            return Err(AppError::precondition(
                "PRE-12",
                "PRE_12_CONFIRMED",
                "a confirmed prestazione cannot be revoked",
            ));
        }
        if adesso >= end_of_nth_day_after(data, regole.giorni_revoca as u32) {
            return Err(AppError::precondition(
                "PRE-11",
                "PRE_11_REVOCA_DEADLINE",
                format!(
                    "revocable until the end of the {}rd day after the prestazione",
                    regole.giorni_revoca
                ),
            ));
        }
        let s = attuale.stato.transition(Evento::Revoca)?;
        let mut p = attuale.p;
        p.stato = encode::stato(s) as i32;
        p.stato_pagamento = encode::pagamento(s) as i32;
        p.revocata_il = Some(timestamp(adesso));
        p.motivo_revoca = motivo.to_string();
        store::restituisci(&txn, &attuale.quote).await?;
        store::aggiorna(&txn, &p, s).await?;
        let chiave = events::chiave_rilascio(&p.id);
        events::rilascio(&txn, chiave.clone(), &p, Some(id), adesso).await?;
        events::revocata(&txn, &p, adesso).await?;
        txn.commit().await?;
        // PRE-11: the revocation holds from its commit; the release is a durable command, usually
        // delivered before this answer, else by the relay.
        self.relay.deliver_now(&chiave).await;
        Ok(p)
    }

    /// PRE-12.
    pub async fn conferma(&self, id: &Identity, prestazione_id: &str) -> Result<pb::Prestazione, AppError> {
        let r = self.get(id, prestazione_id).await?;
        if id.subject_cf() != r.p.prestatore_cf {
            return Err(AppError::denied(
                "PRE-19",
                "PRE_19_NOT_PRESTATORE_SIDE",
                "only the prestatore side confirms",
            ));
        }
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        let Some(attuale) = store::carica(&txn, prestazione_id, true).await? else {
            return Err(AppError::NotFound(format!("prestazione {prestazione_id}")));
        };
        if attuale.p.confermata {
            txn.commit().await?;
            return Ok(attuale.p);
        }
        if !matches!(attuale.stato, Stato::Accepted | Stato::Contested | Stato::Paid) {
            return Err(AppError::precondition(
                "PRE-12",
                "PRE_12_NOT_CONFIRMABLE",
                format!("a prestazione {} cannot be confirmed", attuale.stato.code()),
            ));
        }
        // PRE-12: the prestatore confirms that the work took place, so not before it is over.
        let fine = fine_lavoro(&attuale.p)?;
        if adesso < fine {
            return Err(AppError::precondition(
                "PRE-12",
                "PRE_12_NOT_YET_TAKEN_PLACE",
                format!(
                    "a prestazione can be confirmed once it has taken place: from {} (Rome)",
                    occasionali_kernel::calendar::rome_datetime(fine).format("%Y-%m-%d %H:%M")
                ),
            ));
        }
        let mut p = attuale.p;
        p.confermata = true;
        p.confermata_il = Some(timestamp(adesso));
        store::aggiorna(&txn, &p, attuale.stato).await?;
        events::confermata(&txn, &p, adesso).await?;
        txn.commit().await?;
        Ok(p)
    }

    /// PRE-14, PRE-15: reserve again (a debt when funds are gone), then CONTESTED and due.
    pub async fn contesta(
        &self,
        id: &Identity,
        prestazione_id: &str,
        nota: &str,
    ) -> Result<pb::Prestazione, AppError> {
        let r = self.get(id, prestazione_id).await?;
        if id.subject_cf() != r.p.prestatore_cf {
            return Err(AppError::denied(
                "PRE-19",
                "PRE_19_NOT_PRESTATORE_SIDE",
                "only the prestatore side contests",
            ));
        }
        if r.stato == Stato::Contested {
            return Ok(r.p);
        }
        if r.stato != Stato::Revoked {
            return Err(AppError::precondition(
                "PRE-14",
                "PRE_14_NOT_REVOKED",
                "only a revoked prestazione can be contested",
            ));
        }
        let data =
            NaiveDate::parse_from_str(&r.p.data_prestazione, "%Y-%m-%d").map_err(AppError::internal)?;
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        // PRE-14: decided under the month's lock, so the payout's closing cannot slip between.
        store::blocca_mese(&txn, data.year(), data.month()).await?;
        if store::mese_chiuso(&txn, data.year(), data.month())
            .await?
            .is_some()
        {
            return Err(AppError::precondition(
                "PRE-14",
                "PRE_14_PAYOUT_COMPUTED",
                "the payout of that month is computed: the revoca can no longer be contested",
            ));
        }
        let Some(attuale) = store::carica(&txn, prestazione_id, true).await? else {
            return Err(AppError::NotFound(format!("prestazione {prestazione_id}")));
        };
        if attuale.stato == Stato::Contested {
            txn.commit().await?;
            return Ok(attuale.p);
        }
        let s = attuale.stato.transition(Evento::Contesta)?;
        let mut p = attuale.p;
        p.stato = encode::stato(s) as i32;
        p.stato_pagamento = encode::pagamento(s) as i32;
        p.contestata_il = Some(timestamp(adesso));
        p.nota_contestazione = nota.to_string();
        let mut quote = attuale.quote.clone();
        quote.sort_by(|a, b| a.id.cmp(&b.id));
        for q in &quote {
            store::aggiungi(&txn, &q.id, q.valore).await?;
        }
        store::aggiorna(&txn, &p, s).await?;
        events::contestata(&txn, &p, adesso).await?;
        // PRE-15: the wallet reserves again (a debt where funds are gone), after the release the
        // revocation owed: the relay never lets the two cross.
        events::reintegro(&txn, &p, Some(id), adesso).await?;
        txn.commit().await?;
        self.relay.deliver_now(&events::chiave_reintegro(&p.id)).await;
        Ok(p)
    }

    /// PRE-8: used and left of each limit for a prestatore, an utilizzatore, or a pair.
    pub async fn headroom(
        &self,
        anno: i32,
        prestatore_cf: Option<&str>,
        utilizzatore_cf: Option<&str>,
        origin: &Identity,
    ) -> Result<Vec<pb::StatoLimite>, AppError> {
        let r = self.regole(anno).await?;
        let ateco = match utilizzatore_cf {
            Some(u) => self
                .registro
                .utilizzatore(u, origin)
                .await?
                .and_then(|x| x.cpo.or(x.lf))
                .map(|p| p.ateco)
                .unwrap_or_default(),
            None => String::new(),
        };
        let q = |tipo, p: &str, u: &str, limite| Quota {
            tipo,
            id: id_contatore(tipo, anno, p, u),
            anno,
            prestatore_cf: p.to_string(),
            utilizzatore_cf: u.to_string(),
            limite,
            richiesto: 0,
        };
        let mut quote = Vec::new();
        match (prestatore_cf, utilizzatore_cf) {
            (Some(p), None) => quote.push(q(TipoLimite::Prestatore, p, "", r.limite_prestatore)),
            (None, Some(u)) => {
                quote.push(q(
                    TipoLimite::Utilizzatore,
                    "",
                    u,
                    r.limite_utilizzatore_per(&ateco),
                ));
                for (cid, _) in store::contatori_con_prefisso(&self.db, &format!("C:{anno}:%:{u}")).await? {
                    let p = cid.split(':').nth(2).unwrap_or_default().to_string();
                    quote.push(q(TipoLimite::Coppia, &p, u, r.limite_coppia));
                    quote.push(q(TipoLimite::OreCoppia, &p, u, i64::from(r.ore_coppia) * 60));
                }
            }
            (Some(p), Some(u)) => {
                quote.push(q(TipoLimite::Prestatore, p, u, r.limite_prestatore));
                quote.push(q(
                    TipoLimite::Utilizzatore,
                    p,
                    u,
                    r.limite_utilizzatore_per(&ateco),
                ));
                quote.push(q(TipoLimite::Coppia, p, u, r.limite_coppia));
                quote.push(q(TipoLimite::OreCoppia, p, u, i64::from(r.ore_coppia) * 60));
            }
            (None, None) => {
                return Err(AppError::invalid(
                    "prestatore_cf",
                    "PRE-8",
                    "PRE_8_SUBJECT_REQUIRED",
                    "a prestatore, an utilizzatore or both",
                ));
            }
        }
        let ids: Vec<String> = quote.iter().map(|q| q.id.clone()).collect();
        let usati = store::usati(&self.db, &ids).await?;
        Ok(quote
            .iter()
            .map(|q| encode::stato_limite(q, usati.get(&q.id).copied().unwrap_or(0), None))
            .collect())
    }

    /// POR-5, PRE-17: marks a payout order's prestazioni as paid; idempotent on the order id.
    pub async fn segna_pagate(&self, pag: &pb::Pagamento) -> Result<Vec<pb::Prestazione>, AppError> {
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        let mut out = Vec::new();
        let mut pag = pag.clone();
        if pag.pagato_il.is_none() {
            pag.pagato_il = Some(timestamp(adesso));
        }
        let nuovo = store::registra_pagamento(&txn, &pag).await?;
        if !nuovo {
            txn.rollback().await?;
            for id in &pag.prestazione_ids {
                if let Some(r) = store::carica(&self.db, id, false).await? {
                    out.push(r.p);
                }
            }
            return Ok(out);
        }
        let mut ids = pag.prestazione_ids.clone();
        ids.sort();
        for id in &ids {
            let Some(r) = store::carica(&txn, id, true).await? else {
                return Err(AppError::NotFound(format!("prestazione {id}")));
            };
            if r.stato == Stato::Paid {
                out.push(r.p);
                continue;
            }
            let s = r.stato.transition(Evento::Paga)?;
            let mut p = r.p;
            p.stato = encode::stato(s) as i32;
            p.stato_pagamento = encode::pagamento(s) as i32;
            p.pagata_il = pag.pagato_il;
            p.payout_order_id = pag.payout_order_id.clone();
            store::aggiorna(&txn, &p, s).await?;
            events::pagata(&txn, &p, &pag.payout_order_id, adesso).await?;
            out.push(p);
        }
        txn.commit().await?;
        Ok(out)
    }

    pub async fn chiudi_contestazioni(&self, anno: i32, mese: u32) -> Result<(DateTime<Utc>, i64), AppError> {
        let adesso = self.adesso();
        let txn = begin_write(&self.db).await?;
        store::blocca_mese(&txn, anno, mese).await?;
        store::chiudi_mese(&txn, anno, mese, adesso.timestamp_millis()).await?;
        txn.commit().await?;
        // The wallet must hold exactly the month's due prestazioni before it pays them: the
        // releases and reinstatements still on their way are awaited (briefly), else the payout
        // is told to come back.
        let mut attese = 0;
        loop {
            let n = store::comandi_in_sospeso(&self.db, anno, mese).await?;
            if n == 0 {
                break;
            }
            if attese >= 30 {
                return Err(AppError::Unavailable(format!(
                    "{n} wallet steps of {anno}-{mese:02} are still being delivered: the payout waits for them"
                )));
            }
            attese += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let ms = store::mese_chiuso(&self.db, anno, mese)
            .await?
            .unwrap_or(adesso.timestamp_millis());
        let dovute = store::elenca(
            &self.db,
            &store::Filtro {
                anno: Some(anno),
                mese: Some(mese),
                stati: vec![Stato::Accepted, Stato::Contested],
                ..Default::default()
            },
        )
        .await?
        .len();
        Ok((
            DateTime::from_timestamp_millis(ms).unwrap_or(adesso),
            dovute as i64,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pre_12_work_ends_at_cpo_fine_or_at_the_end_of_the_rome_day() {
        let fine: DateTime<Utc> = "2026-06-16T11:00:00Z".parse().unwrap();
        let cpo = pb::Prestazione {
            data_prestazione: "2026-06-16".into(),
            dettaglio: Some(pb::prestazione::Dettaglio::Cpo(pb::DettaglioCpo {
                fine: Some(timestamp(fine)),
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(fine_lavoro(&cpo).unwrap(), fine);
        // LF: a day and a duration; the work is over at midnight Rome (22:00 UTC in summer).
        let lf = pb::Prestazione {
            data_prestazione: "2026-06-16".into(),
            dettaglio: Some(pb::prestazione::Dettaglio::Lf(pb::DettaglioLf::default())),
            ..Default::default()
        };
        assert_eq!(
            fine_lavoro(&lf).unwrap(),
            "2026-06-16T22:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Agricultural window: the end of its last day (winter: 23:00 UTC).
        let finestra = pb::Prestazione {
            data_prestazione: "2022-01-10".into(),
            dettaglio: Some(pb::prestazione::Dettaglio::Cpo(pb::DettaglioCpo {
                finestra_agricola: Some(pb::FinestraAgricola {
                    periodo: Some(occasionali_proto::common::Periodo {
                        dal: "2022-01-10".into(),
                        al: "2022-01-12".into(),
                    }),
                    durata_minuti: 480,
                }),
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(
            fine_lavoro(&finestra).unwrap(),
            "2022-01-12T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
