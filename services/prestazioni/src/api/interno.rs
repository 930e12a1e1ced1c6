//! The internal service (GW-6): the payout's steps (portafoglio) and the registry's questions
//! (anagrafica), served only to the platform's `sistema` identity (the interceptor refuses
//! anyone else, operators included).

use occasionali_runtime::RequestIdentity;
use std::pin::Pin;

use chrono::{Datelike, NaiveDate};
use futures::Stream;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_internal_service_server::PrestazioniInternalService;
use occasionali_runtime::AppError;
use tonic::{Request, Response, Status};

use crate::app::App;
use crate::decode::timestamp;
use crate::domain::Stato;
use crate::store;

/// The internal service: only the platform calls it.
pub struct Interno {
    pub app: App,
}

fn mese(anno: i32, mese: i32) -> Result<(i32, u32), AppError> {
    if !(1..=12).contains(&mese) || !(2017..=9999).contains(&anno) {
        return Err(AppError::invalid(
            "mese",
            "POR-5",
            "POR_5_MONTH",
            "anno and mese 1-12 are required",
        ));
    }
    Ok((anno, mese as u32))
}

type SoggettiStream = Pin<Box<dyn Stream<Item = Result<pb::StreamSoggettiAttiviResponse, Status>> + Send>>;

#[tonic::async_trait]
impl PrestazioniInternalService for Interno {
    type StreamSoggettiAttiviStream = SoggettiStream;

    async fn close_contestazioni(
        &self,
        request: Request<pb::CloseContestazioniRequest>,
    ) -> Result<Response<pb::CloseContestazioniResponse>, Status> {
        request.identity()?;
        let (anno, m) = mese(request.get_ref().anno, request.get_ref().mese)?;
        let (at, n) = self.app.chiudi_contestazioni(anno, m).await?;
        Ok(Response::new(pb::CloseContestazioniResponse {
            chiuse_il: Some(timestamp(at)),
            numero_dovute: n,
        }))
    }

    async fn list_due_prestazioni(
        &self,
        request: Request<pb::ListDuePrestazioniRequest>,
    ) -> Result<Response<pb::ListDuePrestazioniResponse>, Status> {
        request.identity()?;
        let r = request.into_inner();
        let (anno, m) = mese(r.anno, r.mese)?;
        let size = if r.page_size <= 0 {
            500
        } else {
            r.page_size.min(5000)
        } as u64;
        let rows = store::elenca(
            &self.app.db,
            &store::Filtro {
                anno: Some(anno),
                mese: Some(m),
                stati: vec![Stato::Accepted, Stato::Contested],
                dopo_id: (!r.page_token.is_empty()).then(|| r.page_token.clone()),
                crescente: true,
                limite: size + 1,
                ..Default::default()
            },
        )
        .await?;
        let more = rows.len() as u64 > size;
        let rows: Vec<_> = rows.into_iter().take(size as usize).collect();
        let next_page_token = if more {
            rows.last().map(|x| x.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListDuePrestazioniResponse {
            prestazioni: rows
                .into_iter()
                .map(|x| pb::PrestazioneDovuta {
                    prestazione_id: x.id,
                    tipo: x.p.tipo,
                    utilizzatore_cf: x.p.utilizzatore_cf,
                    prestatore_cf: x.p.prestatore_cf,
                    data_prestazione: x.p.data_prestazione,
                    costo: x.p.costo,
                    reintegrata: x.stato == Stato::Contested,
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn mark_paid(
        &self,
        request: Request<pb::MarkPaidRequest>,
    ) -> Result<Response<pb::MarkPaidResponse>, Status> {
        request.identity()?;
        let Some(pag) = request.into_inner().pagamento else {
            return Err(AppError::invalid("pagamento", "POR-5", "POR_5_REQUIRED", "is required").into());
        };
        if pag.payout_order_id.trim().is_empty() {
            return Err(AppError::invalid(
                "pagamento.payout_order_id",
                "POR-5",
                "POR_5_REQUIRED",
                "is required",
            )
            .into());
        }
        // GW-3: one prestatore's month. PRE-8 (5,000 euro a year, at least 10 euro each) keeps it
        // to a few hundred prestazioni; 2,000 is a bound no real order reaches, and their answer
        // stays under the 4 MiB message limit.
        const MAX_PRESTAZIONI_PAGATE: usize = 2_000;
        let mut v = occasionali_runtime::Violations::new();
        occasionali_runtime::decode::al_massimo(
            &mut v,
            "pagamento.prestazione_ids",
            &pag.prestazione_ids,
            MAX_PRESTAZIONI_PAGATE,
        );
        v.check().map_err(AppError::from)?;
        let prestazioni = self.app.segna_pagate(&pag).await?;
        Ok(Response::new(pb::MarkPaidResponse { prestazioni }))
    }

    async fn check_categoria_change(
        &self,
        request: Request<pb::CheckCategoriaChangeRequest>,
    ) -> Result<Response<pb::CheckCategoriaChangeResponse>, Status> {
        request.identity()?;
        let r = request.into_inner();
        let rows = store::elenca(
            &self.app.db,
            &store::Filtro {
                utilizzatore_cf: Some(r.utilizzatore_cf.trim().to_uppercase()),
                ..Default::default()
            },
        )
        .await?;
        let cpo: Vec<_> = rows
            .into_iter()
            .filter(|x| x.p.tipo == pb::TipoPrestazione::Cpo as i32)
            .collect();
        let categoria = r.categoria.trim().to_lowercase();
        let mut incoerenti = Vec::new();
        for x in cpo
            .iter()
            .filter(|x| matches!(x.stato, Stato::Pending | Stato::Accepted | Stato::Contested))
        {
            let Ok(data) = NaiveDate::parse_from_str(&x.p.data_prestazione, "%Y-%m-%d") else {
                continue;
            };
            let Some(regole) = store::regole(&self.app.db, data.year()).await? else {
                continue;
            };
            let finalita = match &x.p.dettaglio {
                Some(pb::prestazione::Dettaglio::Cpo(c)) => c.finalita_pa != 0,
                _ => false,
            };
            let mut add = |rule: &str, d: &str| {
                incoerenti.push(pb::PrestazioneIncoerente {
                    prestazione_id: x.id.clone(),
                    rule_id: rule.into(),
                    description: d.into(),
                })
            };
            if categoria == "pubblica_amministrazione" && !finalita {
                add(
                    "PRE-6",
                    "a public administration must state a purpose, this prestazione has none",
                );
            }
            if categoria != "pubblica_amministrazione" && finalita {
                add("PRE-6", "only a public administration states a purpose");
            }
            if !r.ateco.trim().is_empty() && regole.settore_escluso(r.ateco.trim()) {
                add("PRE-4", "the new ATECO code is excluded from the CPO");
            }
            if categoria == "impresa_agricola" && !regole.agricoltura_ammessa {
                add(
                    "PRE-4",
                    "agriculture is excluded from the CPO in the prestazione's year",
                );
            }
        }
        Ok(Response::new(pb::CheckCategoriaChangeResponse {
            has_prestazioni: !cpo.is_empty(),
            incoerenti,
        }))
    }

    async fn stream_soggetti_attivi(
        &self,
        request: Request<pb::StreamSoggettiAttiviRequest>,
    ) -> Result<Response<SoggettiStream>, Status> {
        request.identity()?;
        let r = request.into_inner();
        let (prestatore, tipo) = match pb::RuoloSoggetto::try_from(r.ruolo) {
            Ok(pb::RuoloSoggetto::UtilizzatoreLf) => (false, Some("LF")),
            Ok(pb::RuoloSoggetto::UtilizzatoreCpo) => (false, Some("CPO")),
            Ok(pb::RuoloSoggetto::Prestatore) => (true, None),
            _ => return Err(AppError::invalid("ruolo", "ANA-9", "ANA_9_RUOLO", "a role is required").into()),
        };
        let per = r.periodo.unwrap_or_default();
        let dal = if per.dal.is_empty() {
            "0000-01-01".to_string()
        } else {
            per.dal
        };
        let al = if per.al.is_empty() {
            "9999-12-31".to_string()
        } else {
            per.al
        };
        let rows = store::soggetti_attivi(&self.app.db, prestatore, tipo, &dal, &al).await?;
        let items: Vec<Result<pb::StreamSoggettiAttiviResponse, Status>> = rows
            .into_iter()
            .map(|(cf, n)| {
                Ok(pb::StreamSoggettiAttiviResponse {
                    codice_fiscale: cf,
                    numero_prestazioni: n,
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(items))))
    }
}
