//! The wallet (portafoglio) calls of the saga (ARCHITECTURE.md, PRE-10, PRE-11, PRE-15), on its
//! internal service (GW-6) with our `sistema` identity and the client as origin: every one
//! idempotent on the prestazione id.

use occasionali_proto::portafoglio as pb;
use occasionali_proto::portafoglio::portafoglio_internal_service_client::PortafoglioInternalServiceClient;
use occasionali_proto::prestazioni as pp;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::Code;
use tonic::transport::Channel;

#[derive(Clone)]
pub struct Portafoglio {
    client: PortafoglioInternalServiceClient<Channel>,
    caller: Caller,
}

/// The wallet's answer to a reservation.
pub enum Esito {
    Riservato,
    /// Refused for good (no funds, POR-4; a wallet outside the origin operator's sede, GW-6):
    /// the upstream error, passed on as it came. Never left PENDING: the recovery, which calls
    /// without an origin, must not charge what the origin's scope forbade.
    Rifiutato(AppError),
}

impl Portafoglio {
    pub fn new(channel: Channel, caller: Caller) -> Portafoglio {
        Portafoglio {
            client: PortafoglioInternalServiceClient::new(channel),
            caller,
        }
    }

    pub async fn riserva(
        &self,
        p: &pp::Prestazione,
        reintegro: bool,
        origin: Option<&Identity>,
    ) -> Result<Esito, AppError> {
        let request = self.caller.request(richiesta_riserva(p, reintegro), origin)?;
        match self.client.clone().reserve_funds(request).await {
            Ok(_) => Ok(Esito::Riservato),
            Err(s) if matches!(s.code(), Code::FailedPrecondition | Code::PermissionDenied) => {
                Ok(Esito::Rifiutato(from_upstream("portafoglio", s)))
            }
            Err(s) => Err(from_upstream("portafoglio", s)),
        }
    }
}

/// The wallet's request for a prestazione's cost (idempotent on its id).
pub fn richiesta_riserva(p: &pp::Prestazione, reintegro: bool) -> pb::ReserveFundsRequest {
    let costo = p.costo.clone().unwrap_or_default();
    let tipo = if p.tipo == pp::TipoPrestazione::Cpo as i32 {
        pb::TipoPortafoglio::Cpo
    } else {
        pb::TipoPortafoglio::LibrettoFamiglia
    };
    pb::ReserveFundsRequest {
        prestazione_id: p.id.clone(),
        portafoglio: Some(pb::PortafoglioRef {
            utilizzatore_cf: p.utilizzatore_cf.clone(),
            tipo: tipo as i32,
        }),
        prestatore_cf: p.prestatore_cf.clone(),
        data_prestazione: p.data_prestazione.clone(),
        costo: Some(pb::CostoPrestazione {
            compenso: costo.compenso,
            contributi_ivs: costo.contributi_ivs,
            premio_inail: costo.premio_inail,
            oneri_gestione: costo.oneri_gestione,
            totale: costo.totale,
        }),
        reintegro,
    }
}
