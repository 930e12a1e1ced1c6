//! The thin tonic adapter: decode, authorize, call the app, encode, one error mapping. The public
//! service is here; the internal one (`sistema` only, GW-6) is in [`interno`].

use occasionali_runtime::RequestIdentity;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use occasionali_kernel::calendar::rome_date;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_service_server::PrestazioniService;
use occasionali_runtime::{AppError, Identity};
use tonic::{Request, Response, Status};

use crate::app::{App, puo_inserire};
use crate::decode::{self, timestamp};
use crate::domain::Stato;
use crate::domain::accesso;
use crate::encode::{self, euro};
use crate::store;

pub mod interno;

/// The public service: what clients call through the gateway.
pub struct Api {
    pub app: App,
}

/// PRE-19: a sede operator (also through the platform) reads a subject's aggregates only when one
/// of the named subjects belongs to its sede (the registry says which); others pass untouched.
async fn soggetti_in_sede(app: &App, id: &Identity, cfs: &[&str]) -> Result<(), AppError> {
    if accesso::sede_limite(id).is_none() {
        return Ok(());
    }
    let sedi = futures::future::try_join_all(cfs.iter().map(|cf| app.registro.sede(cf, id))).await?;
    accesso::vede_soggetti(id, &sedi)
}

fn lato_prestatore(id: &Identity, prestatore_cf: &str) -> Result<(), AppError> {
    if id.is_system() || id.is_operator() || id.subject_cf() == prestatore_cf {
        Ok(())
    } else {
        Err(AppError::denied(
            "PRE-19",
            "PRE_19_NOT_PRESTATORE_SIDE",
            "only the prestatore side and operators",
        ))
    }
}

/// A page of a list the domain keeps short (a prestatore's payments: at most twelve a year),
/// with the page sizes of every listing (`occasionali_runtime::pagina`).
fn pagina<T: Clone>(items: Vec<(String, T)>, page_size: i32, token: &str) -> (Vec<T>, String) {
    use occasionali_runtime::pagina::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
    let size = if page_size <= 0 {
        DEFAULT_PAGE_SIZE as usize
    } else {
        (page_size as usize).min(MAX_PAGE_SIZE as usize)
    };
    let start = if token.is_empty() {
        0
    } else {
        items
            .iter()
            .position(|(k, _)| k == token)
            .map(|i| i + 1)
            .unwrap_or(items.len())
    };
    let page: Vec<(String, T)> = items.iter().skip(start).take(size).cloned().collect();
    let next = if start + page.len() < items.len() {
        page.last().map(|(k, _)| k.clone()).unwrap_or_default()
    } else {
        String::new()
    };
    (page.into_iter().map(|(_, v)| v).collect(), next)
}

#[tonic::async_trait]
impl PrestazioniService for Api {
    async fn insert_prestazione(
        &self,
        request: Request<pb::InsertPrestazioneRequest>,
    ) -> Result<Response<pb::InsertPrestazioneResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut d = decode::dichiarazione(r.prestazione.as_ref());
        if r.request_id.trim().is_empty() || r.request_id.len() > 128 {
            let mut v = match d {
                Err(v) => v,
                Ok(_) => occasionali_runtime::Violations::new(),
            };
            v.add(
                "request_id",
                "PRE-18",
                "PRE_18_REQUEST_ID_REQUIRED",
                "a client request id (at most 128 characters) is required",
            );
            d = Err(v);
        }
        let d = d.map_err(|v| Status::from(AppError::from(v)))?;
        let dati = r.prestazione.unwrap_or_default();
        let p = self.app.inserisci(&id, r.request_id.trim(), &dati, d).await?;
        Ok(Response::new(pb::InsertPrestazioneResponse {
            prestazione: Some(p),
        }))
    }

    async fn check_prestazione(
        &self,
        request: Request<pb::CheckPrestazioneRequest>,
    ) -> Result<Response<pb::CheckPrestazioneResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let d = decode::dichiarazione(r.prestazione.as_ref()).map_err(|v| Status::from(AppError::from(v)))?;
        puo_inserire(&id, &d.utilizzatore_cf)?;
        let e = self.app.esamina(&d, &id).await?;
        accesso::dichiara_per(&id, e.sedi.utilizzatore.as_deref())?;
        Ok(Response::new(pb::CheckPrestazioneResponse {
            ammissibile: e.violazioni.is_empty(),
            violazioni: e
                .violazioni
                .iter()
                .map(|v| pb::ViolazioneRegola {
                    rule_id: v.rule.to_string(),
                    reason: v.reason.to_string(),
                    field: v.field.to_string(),
                    description: v.description.clone(),
                })
                .collect(),
            limiti: e.limiti,
            costo: Some(encode::costo(&e.val.costo)),
        }))
    }

    async fn get_headroom(
        &self,
        request: Request<pb::GetHeadroomRequest>,
    ) -> Result<Response<pb::GetHeadroomResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let norm = |s: &str| {
            let t = s.trim().to_uppercase();
            (!t.is_empty()).then_some(t)
        };
        let (p, u) = (norm(&r.prestatore_cf), norm(&r.utilizzatore_cf));
        let s = id.subject_cf();
        if !(id.is_system() || id.is_operator() || p.as_deref() == Some(s) || u.as_deref() == Some(s)) {
            return Err(AppError::denied("PRE-19", "PRE_19_NOT_OWN_LIMITS", "only one's own limits").into());
        }
        let nominati: Vec<&str> = p.iter().chain(u.iter()).map(String::as_str).collect();
        soggetti_in_sede(&self.app, &id, &nominati).await?;
        let anno = if r.anno == 0 {
            rome_date(self.app.clock.now()).year()
        } else {
            r.anno
        };
        let limiti = self.app.headroom(anno, p.as_deref(), u.as_deref(), &id).await?;
        Ok(Response::new(pb::GetHeadroomResponse { limiti }))
    }

    async fn get_prestazione(
        &self,
        request: Request<pb::GetPrestazioneRequest>,
    ) -> Result<Response<pb::GetPrestazioneResponse>, Status> {
        let id = request.identity()?;
        let r = self.app.get(&id, request.get_ref().prestazione_id.trim()).await?;
        Ok(Response::new(pb::GetPrestazioneResponse {
            prestazione: Some(r.p),
        }))
    }

    async fn list_prestazioni(
        &self,
        request: Request<pb::ListPrestazioniRequest>,
    ) -> Result<Response<pb::ListPrestazioniResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let norm = |s: &str| {
            let t = s.trim().to_uppercase();
            (!t.is_empty()).then_some(t)
        };
        let (mut u, mut p) = (norm(&r.utilizzatore_cf), norm(&r.prestatore_cf));
        if !(id.is_operator() || id.is_system()) {
            let s = id.subject_cf().to_string();
            if u.is_none() && p.is_none() {
                if id.profile() == occasionali_runtime::Profile::Prestatore {
                    p = Some(s.clone());
                } else {
                    u = Some(s.clone());
                }
            }
            if u.as_deref() != Some(s.as_str()) && p.as_deref() != Some(s.as_str()) {
                return Err(AppError::denied(
                    "PRE-19",
                    "PRE_19_NOT_OWN_PRESTAZIONI",
                    "only one's own prestazioni",
                )
                .into());
            }
        } else if u.is_none() && p.is_none() {
            return Err(AppError::invalid(
                "utilizzatore_cf",
                "PRE-16",
                "PRE_16_SUBJECT_REQUIRED",
                "an utilizzatore or a prestatore",
            )
            .into());
        }
        let mut v = occasionali_runtime::Violations::new();
        let mut stati = decode::stati(&mut v, "stati", &r.stati);
        let tipo = match pb::TipoPrestazione::try_from(r.tipo) {
            Ok(pb::TipoPrestazione::Unspecified) => None,
            Ok(pb::TipoPrestazione::LibrettoFamiglia) => Some("LF"),
            Ok(pb::TipoPrestazione::Cpo) => Some("CPO"),
            Err(_) => {
                v.add(
                    "tipo",
                    "PRE-16",
                    "PRE_16_TIPO_UNKNOWN",
                    "is not a kind of prestazione",
                );
                None
            }
        };
        // The payment state follows from the state (encode::pagamento): filtering on it is
        // filtering on its states.
        let per_pagamento: Option<&[Stato]> = match pb::StatoPagamento::try_from(r.stato_pagamento) {
            Ok(pb::StatoPagamento::Unspecified) => None,
            Ok(pb::StatoPagamento::NotDue) => Some(&[Stato::Rejected, Stato::Revoked]),
            Ok(pb::StatoPagamento::Due) => Some(&[Stato::Pending, Stato::Accepted, Stato::Contested]),
            Ok(pb::StatoPagamento::Paid) => Some(&[Stato::Paid]),
            Err(_) => {
                v.add(
                    "stato_pagamento",
                    "PRE-16",
                    "PRE_16_STATO_PAGAMENTO_UNKNOWN",
                    "is not a payment state",
                );
                None
            }
        };
        let periodo = r.periodo.clone().unwrap_or_default();
        let dal = decode::giorno(&mut v, "periodo.dal", &periodo.dal);
        let al = decode::giorno(&mut v, "periodo.al", &periodo.al);
        let sede = accesso::sede_limite(&id).map(str::to_string);
        let impronta = occasionali_runtime::pagina::impronta(&[
            u.as_deref().unwrap_or_default(),
            p.as_deref().unwrap_or_default(),
            &format!("{:?}", stati),
            tipo.unwrap_or_default(),
            &r.stato_pagamento.to_string(),
            dal.as_deref().unwrap_or_default(),
            al.as_deref().unwrap_or_default(),
            sede.as_deref().unwrap_or_default(),
        ]);
        let pagina = occasionali_runtime::pagina::PaginaPerId::decodifica(
            &mut v,
            "PRE-16",
            r.page_size,
            &r.page_token,
            impronta,
            |id| occasionali_kernel::ids::is_id("pre", id),
        );
        v.check().map_err(AppError::from)?;
        if let Some(ammessi) = per_pagamento {
            if stati.is_empty() {
                stati = ammessi.to_vec();
            } else {
                stati.retain(|s| ammessi.contains(s));
                if stati.is_empty() {
                    // States and payment state that exclude each other: nothing to read.
                    return Ok(Response::new(pb::ListPrestazioniResponse::default()));
                }
            }
        }
        // One page read, filters in SQL: the answer never costs more than a page of rows.
        let rows = store::elenca(
            &self.app.db,
            &store::Filtro {
                utilizzatore_cf: u,
                prestatore_cf: p,
                stati,
                tipo,
                dal,
                al,
                // PRE-19: a sede operator lists only prestazioni with a party of its sede.
                sede,
                dopo_id: pagina.cursore.clone(),
                limite: pagina.da_leggere(),
                ..Default::default()
            },
        )
        .await?;
        let (prestazioni, next_page_token) = pagina.taglia(rows.into_iter().map(|x| (x.id, x.p)).collect());
        Ok(Response::new(pb::ListPrestazioniResponse {
            prestazioni,
            next_page_token,
        }))
    }

    async fn revoke_prestazione(
        &self,
        request: Request<pb::RevokePrestazioneRequest>,
    ) -> Result<Response<pb::RevokePrestazioneResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let p = self.app.revoca(&id, r.prestazione_id.trim(), &r.motivo).await?;
        Ok(Response::new(pb::RevokePrestazioneResponse {
            prestazione: Some(p),
        }))
    }

    async fn confirm_prestazione(
        &self,
        request: Request<pb::ConfirmPrestazioneRequest>,
    ) -> Result<Response<pb::ConfirmPrestazioneResponse>, Status> {
        let id = request.identity()?;
        let p = self
            .app
            .conferma(&id, request.get_ref().prestazione_id.trim())
            .await?;
        Ok(Response::new(pb::ConfirmPrestazioneResponse {
            prestazione: Some(p),
        }))
    }

    async fn contest_revoca(
        &self,
        request: Request<pb::ContestRevocaRequest>,
    ) -> Result<Response<pb::ContestRevocaResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let p = self.app.contesta(&id, r.prestazione_id.trim(), &r.nota).await?;
        Ok(Response::new(pb::ContestRevocaResponse { prestazione: Some(p) }))
    }

    async fn get_annual_statement(
        &self,
        request: Request<pb::GetAnnualStatementRequest>,
    ) -> Result<Response<pb::GetAnnualStatementResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let cf = r.prestatore_cf.trim().to_uppercase();
        lato_prestatore(&id, &cf)?;
        soggetti_in_sede(&self.app, &id, &[&cf]).await?;
        let rows = store::elenca(
            &self.app.db,
            &store::Filtro {
                prestatore_cf: Some(cf.clone()),
                anno: Some(r.anno),
                stati: vec![Stato::Accepted, Stato::Contested, Stato::Paid],
                crescente: true,
                ..Default::default()
            },
        )
        .await?;
        let cents = |s: &str| occasionali_kernel::Euro::parse(s).map(|e| e.cents()).unwrap_or(0);
        let (mut n, mut comp, mut inc, mut ivs, mut inail) = (0i64, 0i64, 0i64, 0i64, 0i64);
        let mut per_u: BTreeMap<(String, i32), (i64, i64, i64)> = BTreeMap::new();
        let mut per_m: BTreeMap<u32, (i64, i64, i64)> = BTreeMap::new();
        for x in &rows {
            let c = cents(&x.p.compenso);
            let paid = if x.stato == Stato::Paid { c } else { 0 };
            let costo = x.p.costo.clone().unwrap_or_default();
            n += 1;
            comp += c;
            inc += paid;
            ivs += cents(&costo.contributi_ivs);
            inail += cents(&costo.premio_inail);
            let e = per_u.entry((x.p.utilizzatore_cf.clone(), x.p.tipo)).or_default();
            *e = (e.0 + 1, e.1 + c, e.2 + paid);
            let m = NaiveDate::parse_from_str(&x.p.data_prestazione, "%Y-%m-%d")
                .map(|d| d.month())
                .unwrap_or(0);
            let e = per_m.entry(m).or_default();
            *e = (e.0 + 1, e.1 + c, e.2 + paid);
        }
        Ok(Response::new(pb::GetAnnualStatementResponse {
            statement: Some(pb::AnnualStatement {
                prestatore_cf: cf,
                anno: r.anno,
                numero_prestazioni: n,
                totale_compensi: euro(comp),
                totale_incassato: euro(inc),
                totale_da_incassare: euro(comp - inc),
                totale_contributi_ivs: euro(ivs),
                totale_premi_inail: euro(inail),
                per_utilizzatore: per_u
                    .into_iter()
                    .map(|((u, t), (n, c, i))| pb::RigaStatementUtilizzatore {
                        utilizzatore_cf: u,
                        tipo: t,
                        numero_prestazioni: n,
                        compensi: euro(c),
                        incassato: euro(i),
                    })
                    .collect(),
                per_mese: per_m
                    .into_iter()
                    .map(|(m, (n, c, i))| pb::RigaStatementMese {
                        mese: m as i32,
                        numero_prestazioni: n,
                        compensi: euro(c),
                        incassato: euro(i),
                    })
                    .collect(),
                generato_il: Some(timestamp(self.app.clock.now())),
            }),
        }))
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<Response<pb::ListPaymentsResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let cf = r.prestatore_cf.trim().to_uppercase();
        lato_prestatore(&id, &cf)?;
        soggetti_in_sede(&self.app, &id, &[&cf]).await?;
        let all = store::pagamenti(&self.app.db, &cf, r.anno).await?;
        let items = all.into_iter().map(|p| (p.payout_order_id.clone(), p)).collect();
        let (pagamenti, next_page_token) = pagina(items, r.page_size, &r.page_token);
        Ok(Response::new(pb::ListPaymentsResponse {
            pagamenti,
            next_page_token,
        }))
    }

    async fn get_rule_table(
        &self,
        request: Request<pb::GetRuleTableRequest>,
    ) -> Result<Response<pb::GetRuleTableResponse>, Status> {
        let id = request.identity()?;
        let anno = request.get_ref().anno;
        let anno = if anno == 0 {
            rome_date(self.app.clock.now()).year()
        } else {
            anno
        };
        let righe = store::righe_regole(&self.app.db).await?;
        let r = righe
            .iter()
            .rev()
            .find(|r| r.regole.anno <= anno)
            .ok_or_else(|| AppError::NotFound(format!("rule table of {anno}")))?;
        Ok(Response::new(pb::GetRuleTableResponse {
            rule_table: Some(encode::tabella(r, anno, autore_visibile(&id))),
        }))
    }

    async fn list_rule_tables(
        &self,
        request: Request<pb::ListRuleTablesRequest>,
    ) -> Result<Response<pb::ListRuleTablesResponse>, Status> {
        let id = request.identity()?;
        let tutte = store::righe_regole(&self.app.db).await?;
        let primo = tutte.first().map(|r| r.regole.anno).unwrap_or(2017);
        let ultimo = tutte
            .last()
            .map(|r| r.regole.anno)
            .unwrap_or(primo)
            .max(rome_date(self.app.clock.now()).year());
        let rule_tables = (primo..=ultimo)
            .filter_map(|anno| {
                tutte
                    .iter()
                    .rev()
                    .find(|r| r.regole.anno <= anno)
                    .map(|r| encode::tabella(r, anno, autore_visibile(&id)))
            })
            .collect();
        Ok(Response::new(pb::ListRuleTablesResponse { rule_tables }))
    }

    async fn publish_rule_table(
        &self,
        request: Request<pb::PublishRuleTableRequest>,
    ) -> Result<Response<pb::PublishRuleTableResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = occasionali_runtime::Violations::new();
        let request_id = r.request_id.trim();
        if request_id.is_empty() || request_id.len() > 128 {
            v.add(
                "request_id",
                "PRE-20",
                "PRE_20_REQUEST_ID",
                "an idempotency key of 1 to 128 characters is required",
            );
        }
        let tabella = crate::decode::regole::tabella(r.rule_table.as_ref(), &r.motivo);
        if let Err(e) = &tabella {
            v.extend(e.clone());
        }
        v.check().map_err(AppError::from)?;
        let (nuova, motivo) = tabella.map_err(AppError::from)?;
        let anno = nuova.anno;
        let riga = self.app.pubblica_regole(&id, request_id, nuova, &motivo).await?;
        Ok(Response::new(pb::PublishRuleTableResponse {
            rule_table: Some(encode::tabella(&riga, anno, autore_visibile(&id))),
        }))
    }
}

/// Who may read the author of a rule table's publication: operators and the platform.
fn autore_visibile(id: &Identity) -> bool {
    id.is_operator() || id.is_system()
}
