//! DEL-1, DEL-4: reading deleghe and their audit trail.

use chrono::NaiveDate;
use occasionali_runtime::pagina::Pagina;
use occasionali_runtime::{AppError, Identity};

use super::Deleghe;
use crate::domain::accesso;
use crate::domain::{Delega, VoceAudit};
use crate::store::{self, FiltroAudit, FiltroDeleghe};

/// A page of deleghe, with the Rome date their states are read on.
pub struct PaginaDeleghe {
    pub deleghe: Vec<Delega>,
    pub oggi: NaiveDate,
    pub next_page_token: String,
}

impl Deleghe {
    /// DEL-1, DEL-3: one delega, for its parties (or someone acting for one), operators and the
    /// platform; with the Rome date its state is read on.
    pub async fn delega(&self, id: &Identity, delega_id: &str) -> Result<(Delega, NaiveDate), AppError> {
        let d = store::carica(&self.db, delega_id)
            .await?
            .ok_or_else(|| accesso::sconosciuta(id, delega_id))?;
        accesso::lettura(id, &d)?;
        Ok((d, self.oggi()))
    }

    /// DEL-1: a page of the deleghe `filtro` selects (its scope already set for the caller).
    pub async fn lista(&self, filtro: &FiltroDeleghe, pagina: Pagina) -> Result<PaginaDeleghe, AppError> {
        let oggi = self.oggi();
        let righe = store::lista(&self.db, filtro, oggi, pagina.cursore, pagina.da_leggere()).await?;
        let (deleghe, next_page_token) = pagina.taglia(righe);
        Ok(PaginaDeleghe {
            deleghe,
            oggi,
            next_page_token,
        })
    }

    /// DEL-4: a page of the audit trail (for operators: the edge checks it before reading the
    /// request).
    pub async fn audit(
        &self,
        filtro: &FiltroAudit,
        pagina: Pagina,
    ) -> Result<(Vec<VoceAudit>, String), AppError> {
        let righe = store::audit(&self.db, filtro, pagina.cursore, pagina.da_leggere()).await?;
        Ok(pagina.taglia(righe))
    }
}
