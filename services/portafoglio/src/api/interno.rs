//! The internal service (GW-6): the wallet steps of the prestazioni saga and of the payout,
//! served only to the platform's `sistema` identity (the interceptor refuses anyone else). A call
//! made for a client carries it as origin, and the sede scope of that origin applies
//! (`domain::accesso::ambito`). POR-4 refusals also carry the FondiInsufficienti detail.

use occasionali_proto::portafoglio as pb;
use occasionali_proto::portafoglio::portafoglio_internal_service_server::PortafoglioInternalService;
use occasionali_runtime::RequestIdentity;
use occasionali_runtime::{AppError, Violations};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::app::Portafoglio;
use crate::decode;
use crate::domain::PortafoglioRef;
use crate::domain::riserva::RichiestaRiserva;
use crate::encode;

/// The internal service: only the platform calls it.
pub struct Interno {
    pub app: Portafoglio,
}

/// POR-4: a refusal for lack of funds also carries the FondiInsufficienti detail.
fn status_riserva(e: AppError, w: &PortafoglioRef) -> Status {
    let dettaglio = match &e {
        AppError::FailedPrecondition { reason, metadata, .. }
            if reason == "POR_4_INSUFFICIENT_FUNDS" || reason == "POR_8_WALLET_IN_DEBT" =>
        {
            let get = |k: &str| {
                metadata
                    .iter()
                    .find(|(kk, _)| kk == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            Some(pb::FondiInsufficienti {
                portafoglio: Some(encode::portafoglio(w)),
                disponibile: get("available"),
                necessario: get("needed"),
                debito: get("debt"),
            })
        }
        _ => None,
    };
    let status = Status::from(e);
    let Some(dettaglio) = dettaglio else {
        return status;
    };
    let mut rpc =
        tonic_types::pb::Status::decode(status.details()).unwrap_or_else(|_| tonic_types::pb::Status {
            code: status.code() as i32,
            message: status.message().to_string(),
            details: Vec::new(),
        });
    rpc.details.push(prost_types::Any {
        type_url: "type.googleapis.com/occasionali.portafoglio.v1.FondiInsufficienti".into(),
        value: dettaglio.encode_to_vec(),
    });
    Status::with_details(status.code(), status.message(), rpc.encode_to_vec().into())
}

#[tonic::async_trait]
impl PortafoglioInternalService for Interno {
    async fn reserve_funds(
        &self,
        request: Request<pb::ReserveFundsRequest>,
    ) -> Result<Response<pb::ReserveFundsResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let prestazione_id = decode::id(&mut v, "prestazione_id", "POR-4", &r.prestazione_id);
        let w = decode::portafoglio(&mut v, "portafoglio", "POR-4", r.portafoglio.as_ref());
        let prestatore = decode::cf_persona(&mut v, "prestatore_cf", "POR-4", &r.prestatore_cf);
        let data = decode::data(&mut v, "data_prestazione", "POR-4", &r.data_prestazione);
        let costo = decode::costo(&mut v, "costo", r.costo.as_ref());
        v.check().map_err(AppError::from)?;
        let (Some(prestazione_id), Some(w), Some(prestatore_cf), Some(data_prestazione), Some(costo)) =
            (prestazione_id, w, prestatore, data, costo)
        else {
            return Err(AppError::internal("decoding produced no value and no violation").into());
        };
        let richiesta = RichiestaRiserva {
            prestazione_id,
            portafoglio: w.clone(),
            prestatore_cf,
            data_prestazione,
            costo,
            reintegro: r.reintegro,
        };
        let riserva = self
            .app
            .riserva(&id, richiesta)
            .await
            .map_err(|e| status_riserva(e, &w))?;
        Ok(Response::new(pb::ReserveFundsResponse {
            reservation: Some(encode::riserva(&riserva)),
        }))
    }

    async fn release_funds(
        &self,
        request: Request<pb::ReleaseFundsRequest>,
    ) -> Result<Response<pb::ReleaseFundsResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let pid = decode::id(&mut v, "prestazione_id", "POR-4", &r.prestazione_id);
        v.check().map_err(AppError::from)?;
        let pid = pid.unwrap_or_default();
        let riserva = self.app.rilascia(&id, &pid).await?;
        Ok(Response::new(pb::ReleaseFundsResponse {
            reservation: Some(encode::riserva(&riserva)),
        }))
    }

    async fn consume_funds(
        &self,
        request: Request<pb::ConsumeFundsRequest>,
    ) -> Result<Response<pb::ConsumeFundsResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let pid = decode::id(&mut v, "prestazione_id", "POR-4", &r.prestazione_id);
        let ordine = decode::id(&mut v, "payout_order_id", "POR-4", &r.payout_order_id);
        v.check().map_err(AppError::from)?;
        let riserva = self
            .app
            .consuma(&id, &pid.unwrap_or_default(), &ordine.unwrap_or_default())
            .await?;
        Ok(Response::new(pb::ConsumeFundsResponse {
            reservation: Some(encode::riserva(&riserva)),
        }))
    }
}
