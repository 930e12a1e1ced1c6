//! A worker's summary: estimated compensations per year and the Gestione Separata warning.

use occasionali_runtime::{AppError, Identity, Profile};

use super::App;
use crate::domain::Errore;
use crate::domain::accesso::Profilo;
use crate::domain::soglia::TotaleAnno;
use crate::store;

impl App {
    /// The worker `cf`'s totals for `anno` (a zero total when nothing counts) or every year.
    pub async fn riepilogo(
        &self,
        id: &Identity,
        cf: &str,
        anno: Option<i32>,
    ) -> Result<Vec<TotaleAnno>, AppError> {
        if !self.lavoratore_visibile(id, cf).await? {
            return Err(Errore::LavoratoreNonVisibile.into());
        }
        let mut anni = store::totali(&self.db, cf, anno).await?;
        if let (Some(a), true) = (anno, anni.is_empty()) {
            anni.push(TotaleAnno {
                anno: a,
                numero: 0,
                totale_cents: 0,
            });
        }
        Ok(anni)
    }

    /// The worker's own view; operators any worker; an azienda or a soggetto abilitato only a
    /// worker of some communication it may see (LAO-1).
    async fn lavoratore_visibile(&self, id: &Identity, cf: &str) -> Result<bool, AppError> {
        if id.profile() == Profile::Prestatore {
            return Ok(id.subject_cf().eq_ignore_ascii_case(cf));
        }
        Ok(match self.profilo(id, "", "").await? {
            Profilo::Operatore => true,
            Profilo::Azienda { cf: az } => store::lavoratore_visibile(&self.db, cf, Some(&az), None).await?,
            Profilo::SoggettoAbilitato { cf: sa } => {
                store::lavoratore_visibile(&self.db, cf, None, Some(&sa)).await?
            }
        })
    }
}
