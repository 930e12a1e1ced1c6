//! The questions anagrafica asks the prestazioni context, on its internal service (GW-6) with our
//! system identity.

use chrono::NaiveDate;
use futures::Stream;
use occasionali_proto::common::Periodo;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_internal_service_client::PrestazioniInternalServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::domain::modifica::StatoPrestazioni;
use crate::domain::{CategoriaUtilizzatore, Incoerenza, Ruolo};

#[derive(Clone)]
pub struct PrestazioniClient {
    client: PrestazioniInternalServiceClient<Channel>,
    caller: Caller,
}

impl PrestazioniClient {
    pub fn new(channel: Channel, caller: Caller) -> PrestazioniClient {
        PrestazioniClient {
            client: PrestazioniInternalServiceClient::new(channel),
            caller,
        }
    }

    /// ANA-7: does the utilizzatore have prestazioni, and which would not fit the change?
    pub async fn stato_categoria(
        &self,
        cf: &str,
        categoria: CategoriaUtilizzatore,
        ateco: &str,
        origin: &Identity,
    ) -> Result<StatoPrestazioni, AppError> {
        let request = self.caller.request(
            pb::CheckCategoriaChangeRequest {
                utilizzatore_cf: cf.to_string(),
                categoria: categoria.as_str().to_string(),
                ateco: ateco.to_string(),
            },
            Some(origin),
        )?;
        let answer = self
            .client
            .clone()
            .check_categoria_change(request)
            .await
            .map_err(|s| from_upstream("prestazioni", s))?
            .into_inner();
        Ok(StatoPrestazioni {
            has_prestazioni: answer.has_prestazioni || !answer.incoerenti.is_empty(),
            incoerenti: answer
                .incoerenti
                .into_iter()
                .map(|i| Incoerenza {
                    prestazione_id: i.prestazione_id,
                    regola: i.rule_id,
                    descrizione: i.description,
                })
                .collect(),
        })
    }

    /// ANA-9: the subjects with prestazioni in a period, streamed as prestazioni sends them.
    pub async fn soggetti_attivi(
        &self,
        ruolo: Ruolo,
        dal: NaiveDate,
        al: NaiveDate,
        origin: &Identity,
    ) -> Result<impl Stream<Item = Result<(String, i64), AppError>> + use<>, AppError> {
        let ruolo = match ruolo {
            Ruolo::Prestatore => pb::RuoloSoggetto::Prestatore,
            Ruolo::UtilizzatoreLf => pb::RuoloSoggetto::UtilizzatoreLf,
            Ruolo::UtilizzatoreCpo => pb::RuoloSoggetto::UtilizzatoreCpo,
            Ruolo::Intermediario => return Err(AppError::internal("intermediari have no prestazioni")),
        };
        let mut request = self.caller.request(
            pb::StreamSoggettiAttiviRequest {
                ruolo: ruolo as i32,
                periodo: Some(Periodo {
                    dal: dal.to_string(),
                    al: al.to_string(),
                }),
            },
            Some(origin),
        )?;
        // A whole region's list takes longer than one unary call.
        request.set_timeout(std::time::Duration::from_secs(600));
        let stream = self
            .client
            .clone()
            .stream_soggetti_attivi(request)
            .await
            .map_err(|s| from_upstream("prestazioni", s))?
            .into_inner();
        Ok(stream.map(|item| {
            item.map(|r| (r.codice_fiscale, r.numero_prestazioni))
                .map_err(|s| from_upstream("prestazioni", s))
        }))
    }
}
