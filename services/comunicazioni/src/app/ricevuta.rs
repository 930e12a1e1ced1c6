//! The PDF receipt of a communication (LAO-10).

use occasionali_runtime::{AppError, Identity};

use super::App;
use crate::domain::accesso::Apertura;

/// A receipt, with the file name a browser saves it under.
pub struct Ricevuta {
    pub nome_file: String,
    pub pdf: Vec<u8>,
}

impl App {
    /// The receipt of a communication the caller may open with these keys (LAO-1).
    pub async fn ricevuta(
        &self,
        id: &Identity,
        a: &Apertura,
        committente_cf: &str,
    ) -> Result<Ricevuta, AppError> {
        let c = self.apribile(id, a, committente_cf).await?.com;
        let nome_file = crate::ricevuta::nome_file(&c);
        // Rendering and font subsetting take milliseconds of CPU: off the async workers.
        let pdf = tokio::task::spawn_blocking(move || crate::ricevuta::genera(&c))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?;
        Ok(Ricevuta { nome_file, pdf })
    }
}
