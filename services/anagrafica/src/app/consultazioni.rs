//! Reading the registry: a record, the organisations a person represents, a record's history
//! (ANA-6, ANA-8) and the audit of operators' reads (GW-5).

use occasionali_kernel::CodiceFiscale;
use occasionali_runtime::pagina::{Pagina, impronta};
use occasionali_runtime::{AppError, Identity, Violations};

use super::Anagrafica;
use crate::domain::accesso;
use crate::domain::{Identita, Organizzazione, Soggetto};
use crate::store::{self, AccessoRegistrato, ModificaRegistrata};

/// One page of a listing and the token of the next (empty on the last).
#[derive(Clone, Debug)]
pub struct Elenco<T> {
    pub righe: Vec<T>,
    pub next_page_token: String,
}

impl Anagrafica {
    /// A record, for whom may read it; an operator's read is recorded (GW-5).
    pub async fn soggetto(&self, id: &Identity, cf: &str) -> Result<Soggetto, AppError> {
        let (s, _) = self.leggibile(id, cf).await?;
        self.traccia(id, "lettura_soggetto", &s.cf, "").await?;
        Ok(s)
    }

    /// The registered subjects among `cfs` (decoded: trimmed, upper case, distinct), in that
    /// order, for the platform's own checks (GetSoggetti, internal): each read is allowed and
    /// recorded as GetSoggetto's is.
    pub async fn soggetti(&self, id: &Identity, cfs: &[String]) -> Result<Vec<Soggetto>, AppError> {
        let mut trovati = store::carica_molti(&self.db, cfs).await?;
        trovati.sort_by_key(|s| cfs.iter().position(|cf| *cf == s.cf));
        for s in &trovati {
            accesso::accesso(id, s)?;
            self.traccia(id, "lettura_soggetto", &s.cf, "").await?;
        }
        Ok(trovati)
    }

    /// ANA-8: the organisations `cf` is the legal representative of, as far as the caller may
    /// see them (a sede operator those of its sede).
    pub async fn rappresentate(&self, id: &Identity, cf: &str) -> Result<Vec<Soggetto>, AppError> {
        let sede = accesso::rappresentate_visibili(id, cf)?;
        let rappresentate = store::rappresentate(&self.db, cf)
            .await?
            .into_iter()
            .filter(|s| sede.is_none_or(|mia| s.sede == mia))
            .collect();
        self.traccia(id, "lettura_rappresentate", cf, "").await?;
        Ok(rappresentate)
    }

    /// The organisations a person legally represents, for the platform's own contexts (the
    /// gateway verifies with it who may act for a company): codice fiscale and organisation.
    pub async fn organizzazioni_rappresentate(
        &self,
        legale_rappresentante: &CodiceFiscale,
    ) -> Result<Vec<(String, Organizzazione)>, AppError> {
        Ok(store::rappresentate(&self.db, legale_rappresentante.as_str())
            .await?
            .into_iter()
            .filter_map(|s| match s.identita {
                Identita::Organizzazione(o) => Some((s.cf, o)),
                Identita::Persona(_) => None,
            })
            .collect())
    }

    /// ANA-6: a record's history, newest first, for whom may read the record; operators' CFs
    /// are shown to the subject masked (GW-5).
    pub async fn storia(
        &self,
        id: &Identity,
        cf: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<Elenco<ModificaRegistrata>, AppError> {
        let (s, accesso) = self.leggibile(id, cf).await?;
        self.traccia(id, "lettura_storia", &s.cf, "").await?;
        // One paging rule for every listing (runtime::pagina): 0 → 50, capped at 500, negative
        // refused; the token is bound to the subject it was issued for.
        let mut v = Violations::new();
        let pagina = Pagina::decodifica(&mut v, "ANA-6", page_size, page_token, impronta(&[&s.cf]));
        v.check()?;
        let righe = store::modifiche(&self.db, &s.cf, pagina.cursore, pagina.limite).await?;
        let next_page_token = pagina.prossima(righe.len(), righe.last().map(|m| m.seq));
        let righe = righe
            .into_iter()
            .map(|mut m| {
                m.autore_cf = accesso::autore_mostrato(accesso, &s.cf, m.autore_cf);
                m
            })
            .collect();
        Ok(Elenco {
            righe,
            next_page_token,
        })
    }

    /// GW-5: operators' reads, newest first, by author and/or record (`None`: any), for the
    /// Direzione Generale; the token is bound to the filters.
    pub async fn accessi_operatori(
        &self,
        id: &Identity,
        autore: Option<&str>,
        cf: Option<&str>,
        page_size: i32,
        page_token: &str,
    ) -> Result<Elenco<AccessoRegistrato>, AppError> {
        accesso::vede_accessi_operatori(id)?;
        let filtri = [autore.unwrap_or_default(), cf.unwrap_or_default()];
        let mut v = Violations::new();
        let pagina = Pagina::decodifica(&mut v, "GW-5", page_size, page_token, impronta(&filtri));
        v.check()?;
        let righe = store::accessi(&self.db, autore, cf, pagina.cursore, pagina.limite).await?;
        let next_page_token = pagina.prossima(righe.len(), righe.last().map(|a| a.seq));
        Ok(Elenco {
            righe,
            next_page_token,
        })
    }
}
