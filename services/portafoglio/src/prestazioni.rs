//! POR-6: the economic limits of the year come from prestazioni (PRE-8, GetHeadroom). Until
//! prestazioni answers it, the riepilogo shows no limits: any failure (UNIMPLEMENTED, down,
//! not configured) means "not available", never a failed riepilogo.

use std::time::Duration;

use occasionali_proto::portafoglio as pb;
use occasionali_proto::prestazioni as pp;
use occasionali_proto::prestazioni::prestazioni_internal_service_client::PrestazioniInternalServiceClient;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::Identity;
use occasionali_runtime::client::Caller;
use tonic::transport::Channel;

/// How long the riepilogo waits for the limits.
const DEADLINE: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Limiti {
    /// The public service (GetHeadroom, on behalf of the riepilogo's reader).
    client: Option<PrestazioniServiceClient<Channel>>,
    /// The internal service (the payout's steps, GW-6), on the same channel.
    interno: Option<PrestazioniInternalServiceClient<Channel>>,
    caller: Caller,
}

impl Limiti {
    pub fn new(channel: Option<Channel>, caller: Caller) -> Limiti {
        Limiti {
            client: channel.clone().map(PrestazioniServiceClient::new),
            interno: channel.map(PrestazioniInternalServiceClient::new),
            caller,
        }
    }

    /// The utilizzatore's limits of `anno`: its own first, then each pair; empty when
    /// prestazioni cannot tell.
    pub async fn dell_utilizzatore(
        &self,
        utilizzatore_cf: &str,
        anno: i32,
        origin: &Identity,
    ) -> Vec<pb::LimiteEconomico> {
        let Some(client) = &self.client else {
            return Vec::new();
        };
        let request = self.caller.request(
            pp::GetHeadroomRequest {
                anno,
                prestatore_cf: String::new(),
                utilizzatore_cf: utilizzatore_cf.to_string(),
            },
            Some(origin),
        );
        let mut request = match request {
            Ok(r) => r,
            Err(_) => return Vec::new(),
        };
        request.set_timeout(DEADLINE);
        match client.clone().get_headroom(request).await {
            Ok(r) => limiti(r.into_inner()),
            Err(s) => {
                tracing::debug!(code = ?s.code(), "limits not available from prestazioni");
                Vec::new()
            }
        }
    }
}

fn limiti(r: pp::GetHeadroomResponse) -> Vec<pb::LimiteEconomico> {
    use pp::TipoLimite as T;
    let mut out: Vec<(u8, pb::LimiteEconomico)> = r
        .limiti
        .into_iter()
        .filter(|l| pp::UnitaLimite::try_from(l.unita) != Ok(pp::UnitaLimite::Ore))
        .filter_map(|l| {
            let ordine = match T::try_from(l.tipo) {
                Ok(T::Utilizzatore) => 0,
                Ok(T::Coppia) => 1,
                _ => return None,
            };
            Some((
                ordine,
                pb::LimiteEconomico {
                    limite: l.limite,
                    utilizzato: l.utilizzato,
                    residuo: l.residuo,
                    prestatore_cf: if ordine == 0 {
                        String::new()
                    } else {
                        l.prestatore_cf
                    },
                },
            ))
        })
        .collect();
    out.sort_by(|a, b| (a.0, &a.1.prestatore_cf).cmp(&(b.0, &b.1.prestatore_cf)));
    out.into_iter().map(|(_, l)| l).collect()
}

/// POR-5 ↔ PRE-14/PRE-16: the payout closes the month's contests before it is computed, and
/// tells prestazioni which prestazioni each order paid.
impl Limiti {
    /// PRE-14: contests of the month close when its payout is computed. Without prestazioni the
    /// payout waits (UNAVAILABLE) rather than pay a month whose contests are still open.
    pub async fn chiudi_contestazioni(
        &self,
        anno: i32,
        mese: u32,
        origin: Option<&Identity>,
    ) -> Result<(), occasionali_runtime::AppError> {
        let Some(client) = &self.interno else {
            return Ok(());
        };
        let request = self.caller.request(
            pp::CloseContestazioniRequest {
                anno,
                mese: i32::try_from(mese).unwrap_or_default(),
            },
            origin,
        )?;
        client
            .clone()
            .close_contestazioni(request)
            .await
            .map_err(|s| occasionali_runtime::error::from_upstream("prestazioni", s))?;
        Ok(())
    }
}

/// PRE-16: what prestazioni is told of an order (MarkPaid, idempotent on the order id).
pub fn pagamento(o: &crate::domain::payout::OrdinePagamento) -> pp::MarkPaidRequest {
    pp::MarkPaidRequest {
        pagamento: Some(pp::Pagamento {
            payout_order_id: o.id.clone(),
            prestatore_cf: o.prestatore_cf.clone(),
            anno: o.anno,
            mese: i32::try_from(o.mese).unwrap_or_default(),
            data_pagamento: o.data_pagamento.to_string(),
            importo_lordo: o.importo_lordo.to_string(),
            commissione: o.commissione.to_string(),
            importo_netto: o.importo_netto.to_string(),
            prestazione_ids: o.righe.iter().map(|r| r.prestazione_id.clone()).collect(),
            pagato_il: Some(prost_types::Timestamp {
                seconds: o.eseguito_il.timestamp(),
                nanos: o.eseguito_il.timestamp_subsec_nanos() as i32,
            }),
        }),
    }
}
