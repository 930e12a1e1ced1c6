//! The thin tonic adapter: identity, decode, call the app, encode; the domain's refusals mapped
//! once ([`errori`]). The public service is here; the internal one (`sistema` only, GW-6) is in
//! [`interno`].

use occasionali_runtime::RequestIdentity;

use chrono::Datelike;
use occasionali_kernel::calendar::rome_date;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_service_server::PrestazioniService;
use occasionali_runtime::{AppError, Violations};
use tonic::{Request, Response, Status};

use crate::app::App;
use crate::decode;
use crate::domain::accesso;
use crate::encode;
use crate::store;
use crate::store::prestazioni::Filtro;

pub mod errori;
pub mod interno;

/// The public service: what clients call through the gateway.
pub struct Api {
    pub app: App,
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

/// The year asked, or the current one (Rome) when 0.
fn anno_o_corrente(app: &App, anno: i32) -> i32 {
    if anno == 0 {
        rome_date(app.clock.now()).year()
    } else {
        anno
    }
}

#[tonic::async_trait]
impl PrestazioniService for Api {
    async fn insert_prestazione(
        &self,
        request: Request<pb::InsertPrestazioneRequest>,
    ) -> Result<Response<pb::InsertPrestazioneResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let d = decode::dichiarazione(r.prestazione.as_ref()).map_err(|e| v.extend(e));
        let request_id = decode::request_id(&mut v, &r.request_id);
        let (Ok(d), Some(request_id)) = (d, request_id) else {
            return Err(AppError::from(v).into());
        };
        let p = self.app.inserisci(&id, &request_id, d).await?;
        Ok(Response::new(pb::InsertPrestazioneResponse {
            prestazione: Some(encode::prestazione(&p)),
        }))
    }

    async fn check_prestazione(
        &self,
        request: Request<pb::CheckPrestazioneRequest>,
    ) -> Result<Response<pb::CheckPrestazioneResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let d = decode::dichiarazione(r.prestazione.as_ref()).map_err(AppError::from)?;
        let e = self.app.esamina(&d, &id).await?;
        Ok(Response::new(pb::CheckPrestazioneResponse {
            ammissibile: e.violazioni.is_empty(),
            violazioni: e.violazioni.iter().map(encode::violazione).collect(),
            limiti: e.limiti.iter().map(encode::stato_limite).collect(),
            costo: Some(encode::costo(&e.val.costo)),
        }))
    }

    async fn get_headroom(
        &self,
        request: Request<pb::GetHeadroomRequest>,
    ) -> Result<Response<pb::GetHeadroomResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let (p, u) = (
            decode::soggetto(&r.prestatore_cf),
            decode::soggetto(&r.utilizzatore_cf),
        );
        accesso::consulta_limiti(&id, p.as_deref(), u.as_deref()).map_err(AppError::from)?;
        let nominati: Vec<&str> = p.iter().chain(u.iter()).map(String::as_str).collect();
        self.app.soggetti_in_sede(&id, &nominati).await?;
        let anno = anno_o_corrente(&self.app, r.anno);
        let limiti = self.app.limiti(anno, p.as_deref(), u.as_deref(), &id).await?;
        Ok(Response::new(pb::GetHeadroomResponse {
            limiti: limiti.iter().map(encode::stato_limite).collect(),
        }))
    }

    async fn get_prestazione(
        &self,
        request: Request<pb::GetPrestazioneRequest>,
    ) -> Result<Response<pb::GetPrestazioneResponse>, Status> {
        let id = request.identity()?;
        let p = self
            .app
            .prestazione(&id, request.get_ref().prestazione_id.trim())
            .await?;
        Ok(Response::new(pb::GetPrestazioneResponse {
            prestazione: Some(encode::prestazione(&p)),
        }))
    }

    async fn list_prestazioni(
        &self,
        request: Request<pb::ListPrestazioniRequest>,
    ) -> Result<Response<pb::ListPrestazioniResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let (u, p) = accesso::elenco(
            &id,
            decode::soggetto(&r.utilizzatore_cf),
            decode::soggetto(&r.prestatore_cf),
        )
        .map_err(AppError::from)?;
        let mut v = Violations::new();
        let mut stati = decode::stati(&mut v, "stati", &r.stati);
        let tipo = decode::tipo(&mut v, "tipo", r.tipo);
        let per_pagamento = decode::stato_pagamento(&mut v, "stato_pagamento", r.stato_pagamento);
        let periodo = r.periodo.clone().unwrap_or_default();
        let dal = decode::giorno(&mut v, "periodo.dal", &periodo.dal);
        let al = decode::giorno(&mut v, "periodo.al", &periodo.al);
        let sede = accesso::sede_limite(&id).map(str::to_string);
        let impronta = occasionali_runtime::pagina::impronta(&[
            u.as_deref().unwrap_or_default(),
            p.as_deref().unwrap_or_default(),
            &format!("{:?}", stati),
            tipo.map(|t| t.code()).unwrap_or_default(),
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
        // The payment state follows from the state: filtering on it is filtering on its states.
        if let Some(ammessi) = per_pagamento.map(|s| s.stati()) {
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
        let righe = self
            .app
            .elenca(&Filtro {
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
            })
            .await?;
        let (prestazioni, next_page_token) = pagina.taglia(
            righe
                .iter()
                .map(|x| (x.id.clone(), encode::prestazione(x)))
                .collect(),
        );
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
            prestazione: Some(encode::prestazione(&p)),
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
            prestazione: Some(encode::prestazione(&p)),
        }))
    }

    async fn contest_revoca(
        &self,
        request: Request<pb::ContestRevocaRequest>,
    ) -> Result<Response<pb::ContestRevocaResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let p = self.app.contesta(&id, r.prestazione_id.trim(), &r.nota).await?;
        Ok(Response::new(pb::ContestRevocaResponse {
            prestazione: Some(encode::prestazione(&p)),
        }))
    }

    async fn get_annual_statement(
        &self,
        request: Request<pb::GetAnnualStatementRequest>,
    ) -> Result<Response<pb::GetAnnualStatementResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let cf = r.prestatore_cf.trim().to_uppercase();
        let e = self.app.estratto(&id, &cf, r.anno).await?;
        Ok(Response::new(pb::GetAnnualStatementResponse {
            statement: Some(encode::estratto(&e, cf, r.anno, self.app.clock.now())),
        }))
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<Response<pb::ListPaymentsResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let cf = r.prestatore_cf.trim().to_uppercase();
        let tutti = self.app.pagamenti(&id, &cf, r.anno).await?;
        let items = tutti
            .iter()
            .map(|p| (p.payout_order_id.clone(), encode::pagamento_registrato(p)))
            .collect();
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
fn autore_visibile(id: &occasionali_runtime::Identity) -> bool {
    id.is_operator() || id.is_system()
}
