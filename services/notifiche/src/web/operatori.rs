//! The dashboard's check of who is asking: the same client bearer tokens the gateway verifies
//! (GW-1), operators only.

use occasionali_runtime::AppError;
use occasionali_runtime::identity::ClientTokens;

use super::VerificaOperatore;

pub struct TokenOperatore(pub ClientTokens);

#[tonic::async_trait]
impl VerificaOperatore for TokenOperatore {
    async fn verifica(&self, bearer: &str) -> Result<String, AppError> {
        let p = self
            .0
            .verify(bearer)
            .map_err(|e| AppError::Unauthenticated(format!("token not accepted: {e}")))?;
        if !p.profile.is_operator() {
            return Err(AppError::denied(
                "NOT-5",
                "NOT_5_OPERATORS_ONLY",
                "the dashboard is for INPS operators",
            ));
        }
        Ok(match p.sede {
            Some(s) => format!("{} (sede {s})", p.profile),
            None => p.profile.to_string(),
        })
    }
}
