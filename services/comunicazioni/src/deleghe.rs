//! The question comunicazioni asks deleghe: for whom a person may act under a delega (the
//! manual's "Scegli per chi intendi operare"), over gRPC with our `sistema` identity carrying the
//! person's.

use occasionali_proto::deleghe as del;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::transport::Channel;

/// The ruoli under which a delegato sends LAO communications for its client (the committente).
const RUOLI_LAO: [del::Ruolo; 2] = [
    del::Ruolo::ConsulenteLavoro,
    del::Ruolo::IntermediarioUtilizzatore,
];

#[derive(Clone)]
pub struct Deleghe {
    client: DelegheServiceClient<Channel>,
    caller: Caller,
}

/// A client of the person under a valid delega.
pub struct Cliente {
    pub delegante_cf: String,
    /// As the x-occasionali-ruolo header takes it.
    pub ruolo: String,
    pub delega_id: String,
}

impl Deleghe {
    pub fn new(channel: Channel, caller: Caller) -> Deleghe {
        Deleghe {
            client: DelegheServiceClient::new(channel),
            caller,
        }
    }

    /// The valid deleghe where `persona` is the delegato, under the ruoli of LAO (every page).
    pub async fn clienti(&self, persona: &str, origin: &Identity) -> Result<Vec<Cliente>, AppError> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = self.caller.request(
                del::ListDelegheRequest {
                    delegato_cf: persona.to_string(),
                    stati: vec![del::StatoDelega::Valida as i32],
                    page_size: 500,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                Some(origin),
            )?;
            let r = self
                .client
                .clone()
                .list_deleghe(request)
                .await
                .map_err(|s| from_upstream("deleghe", s))?
                .into_inner();
            for d in r.deleghe {
                let ruolo = del::Ruolo::try_from(d.ruolo).unwrap_or(del::Ruolo::Unspecified);
                if RUOLI_LAO.contains(&ruolo) {
                    out.push(Cliente {
                        delegante_cf: d.delegante_cf,
                        ruolo: ruolo
                            .as_str_name()
                            .trim_start_matches("RUOLO_")
                            .to_ascii_lowercase(),
                        delega_id: d.id,
                    });
                }
            }
            if r.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = r.next_page_token;
        }
    }
}
