//! A person's contacts and consents (NOT-1): read by whom may read them, consents given or
//! withdrawn by the person only.

use occasionali_runtime::{AppError, Identity};

use super::App;
use crate::domain::accesso;
use crate::store::contatti;

pub use crate::store::contatti::Contatti;

/// The consents a person gives (`Some(true)`), withdraws (`Some(false)`) or leaves as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consensi {
    pub sms: Option<bool>,
    pub email: Option<bool>,
}

impl App {
    /// A person's contacts and consents; none known yet reads as empty, no consent given.
    pub async fn contatti(&self, id: &Identity, cf: &str) -> Result<Contatti, AppError> {
        accesso::legge(id, cf)?;
        self.contatti_di(cf).await
    }

    /// Gives or withdraws the consents named; the contacts and consents as they are now.
    pub async fn aggiorna_consensi(
        &self,
        id: &Identity,
        cf: &str,
        consensi: Consensi,
    ) -> Result<Contatti, AppError> {
        accesso::consensi(id, cf)?;
        contatti::consensi(&self.db, cf, consensi.sms, consensi.email, self.adesso_ms()).await?;
        self.contatti_di(cf).await
    }

    async fn contatti_di(&self, cf: &str) -> Result<Contatti, AppError> {
        Ok(contatti::leggi(&self.db, cf).await?.unwrap_or_default())
    }
}
