//! The dashboard's check of who is asking: the same client bearer tokens the gateway verifies
//! (GW-1); whom the dashboard is for is the domain's (NOT-5).

use occasionali_runtime::issuers::ClientVerifier;
use occasionali_runtime::{AppError, Identity};

use super::VerificaOperatore;
use crate::domain::accesso;

pub struct TokenOperatore(pub ClientVerifier);

#[tonic::async_trait]
impl VerificaOperatore for TokenOperatore {
    async fn verifica(&self, bearer: &str) -> Result<String, AppError> {
        let p = self
            .0
            .verify(bearer)
            .await
            .map_err(|e| AppError::Unauthenticated(format!("token not accepted: {e}")))?;
        // The operator signs in with its own token: no delega, no origin.
        let id = Identity::new(p);
        accesso::pagina_cruscotto(&id)?;
        Ok(match id.caller.sede {
            Some(s) => format!("{} (sede {s})", id.caller.profile),
            None => id.caller.profile.to_string(),
        })
    }
}
