//! What is read: listings (PRE-16), the limits' headroom (PRE-8), a prestatore's annual
//! statement and payments (PRE-16), the active subjects for the registry (ANA-9).

use occasionali_runtime::{AppError, Identity};

use super::App;
use crate::domain::estratto::{Estratto, estratto};
use crate::domain::limiti::{self, prefisso_coppie, prestatore_della_coppia};
use crate::domain::{Errore, Pagamento, Prestazione, Stato, StatoLimite, Tipo, accesso};
use crate::store;
use crate::store::prestazioni::Filtro;

impl App {
    /// PRE-19: a sede operator (also through the platform) reads a subject's aggregates only when
    /// one of the named subjects belongs to its sede (the registry says which); others pass
    /// untouched.
    pub async fn soggetti_in_sede(&self, id: &Identity, cfs: &[&str]) -> Result<(), AppError> {
        if accesso::sede_limite(id).is_none() {
            return Ok(());
        }
        let sedi = futures::future::try_join_all(cfs.iter().map(|cf| self.registro.sede(cf, id))).await?;
        Ok(accesso::vede_soggetti(id, &sedi)?)
    }

    /// One page of a listing, filters in SQL: the answer never costs more than a page of rows.
    pub async fn elenca(&self, filtro: &Filtro) -> Result<Vec<Prestazione>, AppError> {
        store::prestazioni::elenca(&self.db, filtro).await
    }

    /// PRE-8: used and left of each limit for a prestatore, an utilizzatore, or a pair.
    pub async fn limiti(
        &self,
        anno: i32,
        prestatore_cf: Option<&str>,
        utilizzatore_cf: Option<&str>,
        origin: &Identity,
    ) -> Result<Vec<StatoLimite>, AppError> {
        let r = self.regole(anno).await?;
        let ateco = match utilizzatore_cf {
            Some(u) => self
                .registro
                .utilizzatore(u, origin)
                .await?
                .and_then(|x| x.cpo.or(x.lf))
                .map(|p| p.ateco)
                .unwrap_or_default(),
            None => String::new(),
        };
        let coppie = match (prestatore_cf, utilizzatore_cf) {
            (None, Some(u)) => store::contatori::con_prefisso(&self.db, &prefisso_coppie(anno, u))
                .await?
                .into_iter()
                .map(|(id, _)| prestatore_della_coppia(&id))
                .collect(),
            _ => Vec::new(),
        };
        let quote = limiti::da_consultare(&r, anno, prestatore_cf, utilizzatore_cf, &ateco, &coppie)
            .ok_or(Errore::LimitiSenzaSoggetto)?;
        let ids: Vec<String> = quote.iter().map(|q| q.id.clone()).collect();
        let usati = store::contatori::usati(&self.db, &ids).await?;
        Ok(quote
            .iter()
            .map(|q| StatoLimite::nuovo(q, usati.get(&q.id).copied().unwrap_or(0), None))
            .collect())
    }

    /// PRE-16: the statement of a prestatore's year (the caller's scope checked).
    pub async fn estratto(
        &self,
        id: &Identity,
        prestatore_cf: &str,
        anno: i32,
    ) -> Result<Estratto, AppError> {
        accesso::consulta_prestatore(id, prestatore_cf)?;
        self.soggetti_in_sede(id, &[prestatore_cf]).await?;
        let dovute = store::prestazioni::elenca(
            &self.db,
            &Filtro {
                prestatore_cf: Some(prestatore_cf.to_string()),
                anno: Some(anno),
                stati: vec![Stato::Accepted, Stato::Contested, Stato::Paid],
                crescente: true,
                ..Default::default()
            },
        )
        .await?;
        Ok(estratto(&dovute))
    }

    /// PRE-16: a prestatore's payments (of a year, or all with `anno` 0), newest first (the
    /// caller's scope checked).
    pub async fn pagamenti(
        &self,
        id: &Identity,
        prestatore_cf: &str,
        anno: i32,
    ) -> Result<Vec<Pagamento>, AppError> {
        accesso::consulta_prestatore(id, prestatore_cf)?;
        self.soggetti_in_sede(id, &[prestatore_cf]).await?;
        store::pagamenti::del_prestatore(&self.db, prestatore_cf, anno).await
    }

    /// ANA-9: subjects with prestazioni (not rejected) between two days, and how many.
    pub async fn soggetti_attivi(
        &self,
        prestatori: bool,
        tipo: Option<Tipo>,
        dal: &str,
        al: &str,
    ) -> Result<Vec<(String, i64)>, AppError> {
        store::prestazioni::soggetti_attivi(&self.db, prestatori, tipo, dal, al).await
    }
}
