//! ANA-7: what anagrafica asks before changing an utilizzatore's categoria or ATECO code.

use chrono::Datelike;
use occasionali_runtime::AppError;

use super::App;
use crate::domain::Tipo;
use crate::domain::coerenza::{Incoerenza, aperta, incoerenze};
use crate::store;
use crate::store::prestazioni::Filtro;

impl App {
    /// Whether the utilizzatore has CPO prestazioni, and what its open ones would break under
    /// `categoria` (lowercase) and `ateco` (empty: unchanged), each judged by its year's rules.
    pub async fn incoerenze(
        &self,
        utilizzatore_cf: &str,
        categoria: &str,
        ateco: &str,
    ) -> Result<(bool, Vec<Incoerenza>), AppError> {
        let cpo: Vec<_> = store::prestazioni::elenca(
            &self.db,
            &Filtro {
                utilizzatore_cf: Some(utilizzatore_cf.to_string()),
                ..Default::default()
            },
        )
        .await?
        .into_iter()
        .filter(|p| p.dichiarazione.tipo() == Tipo::Cpo)
        .collect();
        let mut out = Vec::new();
        for p in cpo.iter().filter(|p| aperta(p)) {
            let Some(regole) = store::regole(&self.db, p.data().year()).await? else {
                continue;
            };
            out.extend(incoerenze(p, &regole, categoria, ateco));
        }
        Ok((!cpo.is_empty(), out))
    }
}
