//! The wallet (portafoglio) calls of the saga (ARCHITECTURE.md, PRE-10, PRE-11, PRE-15), on its
//! internal service (GW-6) with our `sistema` identity and the client as origin: every one
//! idempotent on the prestazione id.

use occasionali_proto::portafoglio as pb;
use occasionali_proto::portafoglio::portafoglio_internal_service_client::PortafoglioInternalServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::Code;
use tonic::transport::Channel;

use crate::domain::Prestazione;
use crate::domain::Tipo;
use crate::domain::prestazione::{Rifiuto, Risposta};

#[derive(Clone)]
pub struct Portafoglio {
    client: PortafoglioInternalServiceClient<Channel>,
    caller: Caller,
}

/// The wallet's answer to a reservation.
pub enum Esito {
    Riservato,
    /// Refused for good (no funds, POR-4; a wallet outside the origin operator's sede, GW-6):
    /// the upstream error, passed on as it came, and the refusal to keep for a retry (PRE-18).
    /// Never left PENDING: the recovery, which calls without an origin, must not charge what the
    /// origin's scope forbade.
    Rifiutato {
        errore: AppError,
        rifiuto: Rifiuto,
    },
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
        p: &Prestazione,
        reintegro: bool,
        origin: Option<&Identity>,
    ) -> Result<Esito, AppError> {
        let request = self.caller.request(richiesta_riserva(p, reintegro), origin)?;
        match self.client.clone().reserve_funds(request).await {
            Ok(_) => Ok(Esito::Riservato),
            Err(s) if matches!(s.code(), Code::FailedPrecondition | Code::PermissionDenied) => {
                Ok(rifiutato(from_upstream("portafoglio", s)))
            }
            Err(s) => Err(from_upstream("portafoglio", s)),
        }
    }
}

/// The refusal as it goes out (code, message, details), kept to be answered again (PRE-18).
fn rifiutato(e: AppError) -> Esito {
    let motivo = format!("PRE-10: {e}");
    let status = tonic::Status::from(e);
    let risposta = Risposta {
        codice: status.code() as i32,
        messaggio: status.message().to_string(),
        dettagli: status.details().to_vec(),
    };
    Esito::Rifiutato {
        errore: AppError::Upstream(Box::new(status)),
        rifiuto: Rifiuto {
            motivo,
            risposta: Some(risposta),
        },
    }
}

/// The wallet's request for a prestazione's cost (idempotent on its id).
pub fn richiesta_riserva(p: &Prestazione, reintegro: bool) -> pb::ReserveFundsRequest {
    let costo = &p.costo;
    let tipo = match p.dichiarazione.tipo() {
        Tipo::Cpo => pb::TipoPortafoglio::Cpo,
        Tipo::Lf => pb::TipoPortafoglio::LibrettoFamiglia,
    };
    pb::ReserveFundsRequest {
        prestazione_id: p.id.clone(),
        portafoglio: Some(pb::PortafoglioRef {
            utilizzatore_cf: p.dichiarazione.utilizzatore_cf.clone(),
            tipo: tipo as i32,
        }),
        prestatore_cf: p.dichiarazione.prestatore_cf.clone(),
        data_prestazione: p.data().format("%Y-%m-%d").to_string(),
        costo: Some(pb::CostoPrestazione {
            compenso: costo.compenso.to_string(),
            contributi_ivs: costo.ivs.to_string(),
            premio_inail: costo.inail.to_string(),
            oneri_gestione: costo.oneri.to_string(),
            totale: costo.totale().to_string(),
        }),
        reintegro,
    }
}
