//! Reading communications: one by its keys with its chain (GetComunicazione), and searches
//! (LAO-2), each within what the caller's profile may see (LAO-1).

use chrono::NaiveDate;
use occasionali_runtime::pagina::Pagina;
use occasionali_runtime::{AppError, Identity};

use super::{App, chiavi, non_trovata};
use crate::domain::accesso::{self, Apertura};
use crate::store::{self, Registrata, Sintesi};

/// A search as asked: at least one key (`None` = any), and the page.
pub struct Ricerca {
    pub codice: Option<String>,
    pub committente_cf: Option<String>,
    pub lavoratore_cf: Option<String>,
    pub pagina: Pagina,
}

/// One communication, its whole chain (oldest first) and the day its actions are judged on.
pub struct Dettaglio {
    pub comunicazione: Registrata,
    pub catena: Vec<Sintesi>,
    pub oggi: NaiveDate,
}

impl App {
    /// A communication the caller may open with these keys (LAO-1); `committente_cf` as given,
    /// for the profile of a person acting for a company. Keys that do not match answer
    /// NOT_FOUND, as an unknown codice does.
    pub(super) async fn apribile(
        &self,
        id: &Identity,
        a: &Apertura,
        committente_cf: &str,
    ) -> Result<Registrata, AppError> {
        let profilo = self.profilo(id, "committente_cf", committente_cf).await?;
        let codice = a.codice.as_str();
        let r = store::carica(&self.db, codice)
            .await?
            .ok_or_else(|| non_trovata(codice))?;
        if !a.date.combaciano(&chiavi(&r)) {
            return Err(non_trovata(codice));
        }
        accesso::puo_aprire(&profilo, &chiavi(&r), &a.date)?;
        Ok(r)
    }

    pub async fn dettaglio(
        &self,
        id: &Identity,
        a: &Apertura,
        committente_cf: &str,
    ) -> Result<Dettaglio, AppError> {
        let comunicazione = self.apribile(id, a, committente_cf).await?;
        let catena = store::catena(&self.db, &comunicazione.origine).await?;
        Ok(Dettaglio {
            comunicazione,
            catena,
            oggi: self.adesso().1,
        })
    }

    /// One page of matches, newest first (one more row than the page, to tell whether another
    /// follows), and today. An Azienda sees its company's only, a Soggetto Abilitato what it
    /// compiled unless it gives all three keys (LAO-1).
    pub async fn cerca(
        &self,
        id: &Identity,
        r: &Ricerca,
        committente_cf: &str,
    ) -> Result<(Vec<Sintesi>, NaiveDate), AppError> {
        let profilo = self.profilo(id, "committente_cf", committente_cf).await?;
        let tre_chiavi = r.codice.is_some() && r.committente_cf.is_some() && r.lavoratore_cf.is_some();
        let restrizione = accesso::restrizione_ricerca(&profilo, r.committente_cf.as_deref(), tre_chiavi)?;
        let filtro = store::Filtro {
            codice: r.codice.clone(),
            committente_cf: restrizione.committente_cf.or_else(|| r.committente_cf.clone()),
            lavoratore_cf: r.lavoratore_cf.clone(),
            compilatore_cf: restrizione.compilatore_cf,
        };
        let (_, oggi) = self.adesso();
        let righe = store::cerca(&self.db, &filtro, r.pagina.cursore, r.pagina.da_leggere()).await?;
        Ok((righe, oggi))
    }
}
