//! The gRPC adapter: decode the request into domain values, call the context, encode the answer.
//! One error mapping: the domain's refusals to the runtime's `AppError` ([`errori`]), and that to
//! `Status`. The public service is here; the internal
//! one (the saga's reserve/release/consume, `sistema` only) is in [`interno`].

use chrono::{Datelike, Duration};
use futures::{FutureExt, StreamExt};
use occasionali_kernel::calendar;
use occasionali_kernel::ids::new_id;
use occasionali_proto::portafoglio as pb;
use occasionali_proto::portafoglio::portafoglio_service_server::PortafoglioService;
use occasionali_runtime::RequestIdentity;
use occasionali_runtime::{AppError, Identity, Violations};
use tonic::{Request, Response, Status, Streaming};

use crate::app::{self, EsitoDeposito, Portafoglio};
use crate::decode::{self, anno_mese, codice_tributo, sede, timestamp, tipo_conto};
use crate::domain::accesso;
use crate::domain::rimborso::{Decisione, RichiestaRimborso, StatoRimborso};
use crate::domain::storno::{Destinazione, RichiestaStorno};
use crate::domain::{PortafoglioRef, TipoConto};
use crate::encode;
use crate::store::payout::FiltroOrdini;
use crate::store::rimborsi::FiltroRimborsi;
use crate::store::scarti::Scarto;
use crate::store::versamenti::FiltroCoda;

mod errori;
mod flussi;
pub mod interno;

use flussi::{LOTTO_F24, SCARTI_PER_SCRITTURA, esamina, scartato};

/// The public service: what clients call through the gateway.
pub struct Api {
    pub app: Portafoglio,
}

/// How far in the future a pagoPA receipt time may be (clock skew between systems).
const TOLLERANZA_OROLOGIO: Duration = Duration::minutes(5);

/// The limits of the year for the riepilogo (POR-6). Today they come from prestazioni's
/// GetHeadroom when it answers, and are absent otherwise (docs/decisions.md).
async fn limiti_economici(
    app: &Portafoglio,
    id: &Identity,
    w: &PortafoglioRef,
    anno: i32,
) -> Vec<pb::LimiteEconomico> {
    app.limiti.dell_utilizzatore(&w.cf, anno, id).await
}

#[tonic::async_trait]
impl PortafoglioService for Api {
    async fn import_f24(
        &self,
        request: Request<Streaming<pb::ImportF24Request>>,
    ) -> Result<Response<pb::ImportF24Response>, Status> {
        let id = request.identity()?;
        accesso::flusso_pagamenti(&id, "F24 payments").map_err(AppError::from)?;
        let mut stream = request.into_inner();
        let mut out = pb::ImportF24Response {
            id_import: new_id("imp"),
            ..Default::default()
        };
        let mut cache = app::versamenti_cache();
        let mut da_scrivere: Vec<Scarto> = Vec::new();
        let oggi = self.app.oggi();
        let mut finito = false;
        while !finito {
            let Some(primo) = stream.next().await else { break };
            // The records already arrived go in one batch (one transaction); none is awaited.
            let mut lotto = Vec::new();
            esamina(primo?, oggi, &mut out, &mut lotto, &mut da_scrivere);
            for _ in 1..LOTTO_F24 {
                match stream.next().now_or_never() {
                    Some(Some(item)) => esamina(item?, oggi, &mut out, &mut lotto, &mut da_scrivere),
                    Some(None) => {
                        finito = true;
                        break;
                    }
                    None => break,
                }
            }
            // A server fault stops the stream; what was imported stays, and the feed's retry
            // finds those records as duplicates.
            if !lotto.is_empty() {
                for esito in self.app.deposita_lotto(&id, lotto, &mut cache).await? {
                    match esito {
                        EsitoDeposito::Accreditato(_) => out.numero_accreditati += 1,
                        EsitoDeposito::NonAbbinato(_) => out.numero_non_abbinati += 1,
                        EsitoDeposito::Duplicato(_) => out.numero_duplicati += 1,
                    }
                }
            }
            if da_scrivere.len() >= SCARTI_PER_SCRITTURA {
                self.app.registra_scarti(&out.id_import, &da_scrivere).await?;
                da_scrivere.clear();
            }
        }
        self.app.registra_scarti(&out.id_import, &da_scrivere).await?;
        tracing::info!(
            id_import = %out.id_import,
            ricevuti = out.numero_ricevuti,
            accreditati = out.numero_accreditati,
            duplicati = out.numero_duplicati,
            non_abbinati = out.numero_non_abbinati,
            scartati = out.numero_scartati,
            "F24 import"
        );
        Ok(Response::new(out))
    }

    async fn list_scarti_import(
        &self,
        request: Request<pb::ListScartiImportRequest>,
    ) -> Result<Response<pb::ListScartiImportResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let id_import = decode::id(&mut v, "id_import", "POR-2", &r.id_import);
        let impronta = occasionali_runtime::pagina::impronta(&[id_import.as_deref().unwrap_or("")]);
        let p = crate::store::Pagina::decodifica(&mut v, "POR-2", r.page_size, &r.page_token, impronta);
        v.check().map_err(AppError::from)?;
        let righe = self
            .app
            .scarti(&id, id_import.as_deref().unwrap_or_default(), p)
            .await?;
        let (scarti, next_page_token) = p.taglia(righe);
        Ok(Response::new(pb::ListScartiImportResponse {
            scartati: scarti.into_iter().map(scartato).collect(),
            next_page_token,
        }))
    }

    async fn notify_pago_pa(
        &self,
        request: Request<pb::NotifyPagoPaRequest>,
    ) -> Result<Response<pb::NotifyPagoPaResponse>, Status> {
        let id = request.identity()?;
        accesso::flusso_pagamenti(&id, "pagoPA receipts").map_err(AppError::from)?;
        let r = request.into_inner();
        let ora = self.app.ora();
        let pagato_il = match &r.pagato_il {
            None => ora,
            Some(t) => match timestamp(t) {
                Some(t) if t <= ora + TOLLERANZA_OROLOGIO => t,
                _ => {
                    return Err(AppError::invalid(
                        "pagato_il",
                        "POR-2",
                        "POR_2_PAYMENT_TIME",
                        "is not a valid instant or is in the future",
                    )
                    .into());
                }
            },
        };
        let dati = decode::pagopa(&r, calendar::rome_date(pagato_il))?;
        let mut cache = app::versamenti_cache();
        let (v, duplicato) = match self.app.deposita(&id, dati, &mut cache).await? {
            EsitoDeposito::Accreditato(v) | EsitoDeposito::NonAbbinato(v) => (v, false),
            EsitoDeposito::Duplicato(v) => (v, true),
        };
        Ok(Response::new(pb::NotifyPagoPaResponse {
            versamento: Some(encode::versamento(&v)),
            duplicato,
        }))
    }

    async fn list_versamenti_non_abbinati(
        &self,
        request: Request<pb::ListVersamentiNonAbbinatiRequest>,
    ) -> Result<Response<pb::ListVersamentiNonAbbinatiResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let cf = (!r.codice_fiscale_versante.trim().is_empty())
            .then(|| {
                decode::cf_soggetto(
                    &mut v,
                    "codice_fiscale_versante",
                    "POR-3",
                    &r.codice_fiscale_versante,
                )
            })
            .flatten();
        let codice = codice_tributo(&mut v, r.codice_tributo);
        let (dal, al) = decode::periodo(&mut v, "periodo", "POR-3", r.periodo.as_ref());
        let sede_richiesta = sede(&r.sede);
        let impronta = occasionali_runtime::pagina::impronta(&[
            sede_richiesta.as_deref().unwrap_or(""),
            cf.as_deref().unwrap_or(""),
            codice.map(|c| c.code()).unwrap_or(""),
            &dal.map(|d| d.to_string()).unwrap_or_default(),
            &al.map(|d| d.to_string()).unwrap_or_default(),
        ]);
        let p = crate::store::Pagina::decodifica(&mut v, "POR-3", r.page_size, &r.page_token, impronta);
        v.check().map_err(AppError::from)?;
        let filtro = FiltroCoda {
            sede: None,
            cf_versante: cf,
            codice_tributo: codice,
            dal,
            al,
        };
        let righe = self.app.coda(&id, sede_richiesta, filtro, p).await?;
        let next = p.prossima(righe.len(), righe.last().map(|(s, _)| *s));
        Ok(Response::new(pb::ListVersamentiNonAbbinatiResponse {
            versamenti: righe.iter().map(|(_, v)| encode::versamento(v)).collect(),
            next_page_token: next,
        }))
    }

    async fn abbina_versamento(
        &self,
        request: Request<pb::AbbinaVersamentoRequest>,
    ) -> Result<Response<pb::AbbinaVersamentoResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let versamento_id = decode::id(&mut v, "versamento_id", "POR-3", &r.versamento_id);
        let cf = decode::cf_soggetto(&mut v, "utilizzatore_cf", "POR-3", &r.utilizzatore_cf);
        let nota = decode::nota(&mut v, "nota", "POR-3", &r.nota);
        v.check().map_err(AppError::from)?;
        let (Some(versamento_id), Some(cf), Some(nota)) = (versamento_id, cf, nota) else {
            return Err(AppError::internal("decoding produced no value and no violation").into());
        };
        let dopo = self.app.abbina(&id, &versamento_id, &cf, &nota).await?;
        Ok(Response::new(pb::AbbinaVersamentoResponse {
            versamento: Some(encode::versamento(&dopo)),
        }))
    }

    async fn run_payout(
        &self,
        request: Request<pb::RunPayoutRequest>,
    ) -> Result<Response<pb::RunPayoutResponse>, Status> {
        let id = request.identity()?;
        accesso::dg_o_sistema(&id, "POR-5", "running the payout").map_err(AppError::from)?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let am = anno_mese(&mut v, r.anno, r.mese, "POR-5");
        v.check().map_err(AppError::from)?;
        let (anno, mese) = am.unwrap_or_default();
        let esito = self.app.payout(Some(&id), anno, mese).await?;
        Ok(Response::new(pb::RunPayoutResponse {
            run: Some(encode::esito_payout(&esito)),
        }))
    }

    async fn list_payout_orders(
        &self,
        request: Request<pb::ListPayoutOrdersRequest>,
    ) -> Result<Response<pb::ListPayoutOrdersResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        if r.anno != 0 && !(2017..=9999).contains(&r.anno) {
            v.add(
                "anno",
                "POR-5",
                "POR_5_YEAR",
                "must be 0 (any) or a year from 2017",
            );
        }
        if !(0..=12).contains(&r.mese) {
            v.add(
                "mese",
                "POR-5",
                "POR_5_MONTH",
                "must be 0 (any) or between 1 and 12",
            );
        }
        let cf = (!r.prestatore_cf.trim().is_empty())
            .then(|| decode::cf_persona(&mut v, "prestatore_cf", "POR-5", &r.prestatore_cf))
            .flatten();
        let impronta = occasionali_runtime::pagina::impronta(&[
            &r.anno.to_string(),
            &r.mese.to_string(),
            cf.as_deref().unwrap_or(""),
        ]);
        let p = crate::store::Pagina::decodifica(&mut v, "POR-5", r.page_size, &r.page_token, impronta);
        v.check().map_err(AppError::from)?;
        let filtro = FiltroOrdini {
            anno: (r.anno != 0).then_some(r.anno),
            mese: (r.mese != 0).then_some(r.mese.unsigned_abs()),
            prestatore_cf: cf,
            sede: None,
        };
        let righe = self.app.ordini(&id, filtro, p).await?;
        let next = p.prossima(righe.len(), righe.last().map(|(s, _)| *s));
        Ok(Response::new(pb::ListPayoutOrdersResponse {
            payout_orders: righe.iter().map(|(_, o)| encode::ordine(o)).collect(),
            next_page_token: next,
        }))
    }

    async fn get_riepilogo(
        &self,
        request: Request<pb::GetRiepilogoRequest>,
    ) -> Result<Response<pb::GetRiepilogoResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let w = decode::portafoglio(&mut v, "portafoglio", "POR-6", r.portafoglio.as_ref());
        let anno = match r.anno {
            0 => self.app.oggi().year(),
            a if (2017..=9999).contains(&a) => a,
            _ => {
                v.add(
                    "anno",
                    "POR-6",
                    "POR_6_YEAR",
                    "must be 0 (this year) or a year from 2017",
                );
                0
            }
        };
        v.check().map_err(AppError::from)?;
        let Some(w) = w else {
            return Err(AppError::internal("decoding produced no value and no violation").into());
        };
        let d = self.app.riepilogo(&id, &w, anno).await?;
        let saldo = d
            .saldi
            .disponibile
            .checked_add(d.saldi.riservato)
            .ok_or_else(|| AppError::internal("amount overflow"))?;
        let mut versamenti: Vec<pb::Versamento> = d.versamenti.iter().map(encode::versamento).collect();
        for (tv, importo, quando) in &d.trasferimenti {
            let mut x = encode::versamento(tv);
            x.portafoglio = Some(encode::portafoglio(&w));
            x.stato = pb::StatoVersamento::Accreditato as i32;
            x.modalita_abbinamento = pb::ModalitaAbbinamento::Trasferimento as i32;
            x.importo = importo.to_string();
            x.importo_stornato = "0.00".into();
            x.abbinato_il = Some(encode::timestamp(*quando));
            versamenti.push(x);
        }
        let limiti = limiti_economici(&self.app, &id, &w, anno).await;
        Ok(Response::new(pb::GetRiepilogoResponse {
            riepilogo: Some(pb::Riepilogo {
                portafoglio: Some(encode::portafoglio(&w)),
                anno,
                saldo: saldo.to_string(),
                riservato: d.saldi.riservato.to_string(),
                disponibile: d.saldi.disponibile.to_string(),
                debito: d.saldi.debito.to_string(),
                rimborso_richiesto: d.saldi.rimborso_richiesto.to_string(),
                versamenti,
                addebiti: d.addebiti.iter().map(encode::addebito).collect(),
                limiti,
            }),
        }))
    }

    async fn list_movimenti(
        &self,
        request: Request<pb::ListMovimentiRequest>,
    ) -> Result<Response<pb::ListMovimentiResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let w = decode::portafoglio(&mut v, "portafoglio", "POR-1", r.portafoglio.as_ref());
        let (dal, al) = decode::periodo(&mut v, "periodo", "POR-1", r.periodo.as_ref());
        let impronta = occasionali_runtime::pagina::impronta(&[
            w.as_ref().map(|w| w.cf.as_str()).unwrap_or(""),
            w.as_ref().map(|w| w.tipo.code()).unwrap_or(""),
            &dal.map(|d| d.to_string()).unwrap_or_default(),
            &al.map(|d| d.to_string()).unwrap_or_default(),
        ]);
        let p = crate::store::Pagina::decodifica(&mut v, "POR-1", r.page_size, &r.page_token, impronta);
        v.check().map_err(AppError::from)?;
        let Some(w) = w else {
            return Err(AppError::internal("decoding produced no value and no violation").into());
        };
        let righe = self.app.movimenti(&id, &w, dal, al, p).await?;
        let next = p.prossima(righe.len(), righe.last().map(|m| m.seq));
        Ok(Response::new(pb::ListMovimentiResponse {
            movimenti: righe.iter().map(encode::movimento).collect(),
            next_page_token: next,
        }))
    }

    async fn request_rimborso(
        &self,
        request: Request<pb::RequestRimborsoRequest>,
    ) -> Result<Response<pb::RequestRimborsoResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let request_id = decode::id(&mut v, "request_id", "POR-7", &r.request_id);
        let w = decode::portafoglio(&mut v, "portafoglio", "POR-7", r.portafoglio.as_ref());
        let importo = decode::importo_positivo(&mut v, "importo", "POR-7", &r.importo);
        let iban = decode::iban(&mut v, "iban", "POR-7", &r.iban);
        v.check().map_err(AppError::from)?;
        let (Some(request_id), Some(portafoglio), Some(importo), Some(iban)) = (request_id, w, importo, iban)
        else {
            return Err(AppError::internal("decoding produced no value and no violation").into());
        };
        let rim = self
            .app
            .richiedi_rimborso(
                &id,
                RichiestaRimborso {
                    request_id,
                    portafoglio,
                    importo,
                    iban,
                },
            )
            .await?;
        Ok(Response::new(pb::RequestRimborsoResponse {
            rimborso: Some(encode::rimborso(&rim)),
        }))
    }

    async fn decide_rimborso(
        &self,
        request: Request<pb::DecideRimborsoRequest>,
    ) -> Result<Response<pb::DecideRimborsoResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let rid = decode::id(&mut v, "rimborso_id", "POR-7", &r.rimborso_id);
        let nota = decode::nota(&mut v, "nota", "POR-7", &r.nota);
        use pb::decide_rimborso_request::Decisione as D;
        let decisione = match &r.decisione {
            Some(D::Approvazione(a)) => {
                let iban = (!a.iban.trim().is_empty())
                    .then(|| decode::iban(&mut v, "approvazione.iban", "POR-7", &a.iban))
                    .flatten();
                let importo = (!a.importo.trim().is_empty())
                    .then(|| decode::importo_positivo(&mut v, "approvazione.importo", "POR-7", &a.importo))
                    .flatten();
                Some(Decisione::Approva { iban, importo })
            }
            Some(D::Respingimento(x)) => decode::nota(&mut v, "respingimento.motivo", "POR-7", &x.motivo)
                .map(|motivo| Decisione::Respingi { motivo }),
            None => {
                v.add(
                    "decisione",
                    "POR-7",
                    "POR_7_DECISION_REQUIRED",
                    "give approvazione or respingimento",
                );
                None
            }
        };
        v.check().map_err(AppError::from)?;
        let (Some(rid), Some(nota), Some(decisione)) = (rid, nota, decisione) else {
            return Err(AppError::internal("decoding produced no value and no violation").into());
        };
        let rim = self.app.decidi_rimborso(&id, &rid, decisione, &nota).await?;
        Ok(Response::new(pb::DecideRimborsoResponse {
            rimborso: Some(encode::rimborso(&rim)),
        }))
    }

    async fn list_rimborsi(
        &self,
        request: Request<pb::ListRimborsiRequest>,
    ) -> Result<Response<pb::ListRimborsiResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let cf = (!r.utilizzatore_cf.trim().is_empty())
            .then(|| decode::cf_soggetto(&mut v, "utilizzatore_cf", "POR-7", &r.utilizzatore_cf))
            .flatten();
        let stato = match pb::StatoRimborso::try_from(r.stato) {
            Ok(pb::StatoRimborso::Unspecified) => None,
            Ok(pb::StatoRimborso::Richiesto) => Some(StatoRimborso::Richiesto),
            Ok(pb::StatoRimborso::Pagato) => Some(StatoRimborso::Pagato),
            Ok(pb::StatoRimborso::Respinto) => Some(StatoRimborso::Respinto),
            Err(_) => {
                v.add("stato", "POR-7", "POR_7_STATE", "is not a rimborso state");
                None
            }
        };
        let sede_richiesta = sede(&r.sede);
        let impronta = occasionali_runtime::pagina::impronta(&[
            cf.as_deref().unwrap_or(""),
            stato.map(|s| s.code()).unwrap_or(""),
            sede_richiesta.as_deref().unwrap_or(""),
        ]);
        let p = crate::store::Pagina::decodifica(&mut v, "POR-7", r.page_size, &r.page_token, impronta);
        v.check().map_err(AppError::from)?;
        let filtro = FiltroRimborsi {
            utilizzatore_cf: cf,
            stato,
            sede: None,
        };
        let righe = self.app.rimborsi(&id, filtro, sede_richiesta, p).await?;
        let next = p.prossima(righe.len(), righe.last().map(|(s, _)| *s));
        Ok(Response::new(pb::ListRimborsiResponse {
            rimborsi: righe.iter().map(|(_, r)| encode::rimborso(r)).collect(),
            next_page_token: next,
        }))
    }

    async fn storna_versamento(
        &self,
        request: Request<pb::StornaVersamentoRequest>,
    ) -> Result<Response<pb::StornaVersamentoResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let request_id = decode::id(&mut v, "request_id", "POR-7", &r.request_id);
        let versamento_id = decode::id(&mut v, "versamento_id", "POR-7", &r.versamento_id);
        use pb::storna_versamento_request::Destinazione as D;
        let destinazione = match &r.destinazione {
            Some(D::Restituzione(x)) => decode::iban(&mut v, "restituzione.iban", "POR-7", &x.iban)
                .map(|iban| Destinazione::Restituzione { iban }),
            Some(D::Trasferimento(x)) => decode::portafoglio(
                &mut v,
                "trasferimento.destinazione",
                "POR-7",
                x.destinazione.as_ref(),
            )
            .map(|portafoglio| Destinazione::Trasferimento { portafoglio }),
            None => {
                v.add(
                    "destinazione",
                    "POR-7",
                    "POR_7_DESTINATION_REQUIRED",
                    "give restituzione or trasferimento",
                );
                None
            }
        };
        let importo = (!r.importo.trim().is_empty())
            .then(|| decode::importo_positivo(&mut v, "importo", "POR-7", &r.importo))
            .flatten();
        let nota = decode::nota(&mut v, "nota", "POR-7", &r.nota);
        v.check().map_err(AppError::from)?;
        let (Some(request_id), Some(versamento_id), Some(destinazione), Some(nota)) =
            (request_id, versamento_id, destinazione, nota)
        else {
            return Err(AppError::internal("decoding produced no value and no violation").into());
        };
        let (st, dopo) = self
            .app
            .storna(
                &id,
                RichiestaStorno {
                    request_id,
                    versamento_id,
                    destinazione,
                    importo,
                    nota,
                },
            )
            .await?;
        Ok(Response::new(pb::StornaVersamentoResponse {
            storno: Some(encode::storno(&st)),
            versamento: Some(encode::versamento(&dopo)),
        }))
    }

    async fn get_ledger_balance(
        &self,
        request: Request<pb::GetLedgerBalanceRequest>,
    ) -> Result<Response<pb::GetLedgerBalanceResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        // GW-3: at most the thirteen account kinds there are, each once.
        const TIPI_CONTO: usize = 13;
        let tipi: Vec<TipoConto> =
            occasionali_runtime::decode::filtro_enum(&mut v, "tipi", &r.tipi, TIPI_CONTO, |v, i, t| {
                tipo_conto(v, i, t)
            });
        let w = r
            .portafoglio
            .as_ref()
            .and_then(|p| decode::portafoglio(&mut v, "portafoglio", "POR-1", Some(p)));
        v.check().map_err(AppError::from)?;
        let b = self.app.bilancio(&id, &tipi, w.as_ref()).await?;
        Ok(Response::new(pb::GetLedgerBalanceResponse {
            saldi: b
                .righe
                .iter()
                .map(|riga| pb::SaldoConto {
                    conto: Some(pb::Conto {
                        tipo: encode::tipo_conto(riga.tipo) as i32,
                        portafoglio: riga.portafoglio.as_ref().map(encode::portafoglio),
                    }),
                    saldo: riga.saldo.to_string(),
                })
                .collect(),
            totale: b.totale.to_string(),
            bilanciato: b.bilanciato,
            numero_movimenti: b.numero_movimenti,
            calcolato_il: Some(encode::timestamp(self.app.ora())),
        }))
    }
}
