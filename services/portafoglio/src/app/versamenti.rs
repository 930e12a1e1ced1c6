//! POR-2 deposits and POR-3 abbinamento manuale.

use std::collections::HashMap;

use occasionali_kernel::ids::new_id;
use occasionali_runtime::{AppError, Identity};

use super::{Portafoglio, autore, mask, rollback};
use crate::domain::accesso;
use crate::domain::versamento::{self, Abbinamento, DatiVersamento, Versamento};
use crate::domain::{PortafoglioRef, SoggettoRegistrato, TipoPortafoglio};
use crate::store::versamenti::FiltroCoda;
use crate::store::{Inserimento, Pagina, conti, versamenti as store};
use crate::{encode, events};

/// What happened to a payment of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EsitoDeposito {
    Accreditato(Versamento),
    NonAbbinato(Versamento),
    /// The payment id was already known: nothing was credited.
    Duplicato(Versamento),
}

/// Registry answers within one import, so a payer paying many times is looked up once.
#[derive(Debug, Default)]
pub struct CacheRegistro {
    soggetti: HashMap<String, Option<SoggettoRegistrato>>,
    rappresentate: HashMap<String, Vec<String>>,
}

impl CacheRegistro {
    pub fn new() -> CacheRegistro {
        CacheRegistro::default()
    }
}

impl Portafoglio {
    fn duplicato(&self, v: Versamento, impronta: &str, dati: &DatiVersamento) -> EsitoDeposito {
        if impronta != dati.impronta() {
            // The feed reused a payment id for another content: never a second credit; the
            // operators see the first one (docs/decisions.md).
            tracing::warn!(
                versamento = %v.id,
                versante = %mask(&dati.cf_versante),
                "payment id received again with different content: counted as duplicate"
            );
        }
        EsitoDeposito::Duplicato(v)
    }

    /// POR-2: records a payment once per payment id and credits it to the payer's wallet when
    /// the payer is a registered utilizzatore of the matching type; otherwise it waits in the
    /// unmatched queue with the reason.
    pub async fn deposita(
        &self,
        id: &Identity,
        dati: DatiVersamento,
        cache: &mut CacheRegistro,
    ) -> Result<EsitoDeposito, AppError> {
        if let Some((v, impronta)) = store::per_pagamento(&self.db, &dati.id_pagamento).await? {
            return Ok(self.duplicato(v, &impronta, &dati));
        }
        let versante = match cache.soggetti.get(&dati.cf_versante) {
            Some(s) => s.clone(),
            None => {
                let s = self.registro.soggetto(&dati.cf_versante, Some(id)).await?;
                cache.soggetti.insert(dati.cf_versante.clone(), s.clone());
                s
            }
        };
        // POR-3: an unmatched payment waits in the sede of the companies the payer represents.
        let rappresentate = if versamento::abbinamento_automatico(&dati, versante.as_ref()).is_ok() {
            Vec::new()
        } else {
            match cache.rappresentate.get(&dati.cf_versante) {
                Some(s) => s.clone(),
                None => {
                    let s = self
                        .registro
                        .sedi_rappresentate(&dati.cf_versante, Some(id))
                        .await?;
                    cache.rappresentate.insert(dati.cf_versante.clone(), s.clone());
                    s
                }
            }
        };
        let ora = self.ora();
        let v = versamento::ricevi(new_id("ver"), dati, versante.as_ref(), &rappresentate, ora);
        let txn = self.scrittura().await?;
        if store::inserisci(&*txn, &v).await? == Inserimento::Duplicato {
            rollback(txn).await?;
            let (esistente, impronta) = store::per_pagamento(&self.db, &v.dati.id_pagamento)
                .await?
                .ok_or_else(|| AppError::internal("duplicate payment id not found"))?;
            return Ok(self.duplicato(esistente, &impronta, &v.dati));
        }
        let mut saldi = match &v.portafoglio {
            Some(w) => Some(conti::blocca_uno(&*txn, w).await?),
            None => None,
        };
        let s = versamento::scritture_ricezione(&v, saldi.as_mut())?;
        conti::registra(&*txn, &s, ora, &[]).await?;
        if v.portafoglio.is_some() {
            events::versamento_accreditato(&*txn, encode::versamento(&v), v.dati.importo, ora).await?;
        }
        txn.commit().await?;
        tracing::info!(
            versamento = %v.id,
            canale = v.dati.canale.code(),
            stato = v.stato.code(),
            "versamento received"
        );
        Ok(match v.portafoglio {
            Some(_) => EsitoDeposito::Accreditato(v),
            None => EsitoDeposito::NonAbbinato(v),
        })
    }

    /// POR-3: the unmatched queue, as the operator may see it (a sede operator: its sede).
    pub async fn coda(
        &self,
        id: &Identity,
        sede_richiesta: Option<String>,
        mut filtro: FiltroCoda,
        pagina: Pagina,
    ) -> Result<Vec<(i64, Versamento)>, AppError> {
        let ambito = accesso::operatori(id, "POR-3", "the unmatched queue")?;
        filtro.sede = match (ambito.sede(), sede_richiesta) {
            (Some(mia), Some(altra)) if altra != mia => return Err(accesso::fuori_sede("POR-3")),
            (Some(mia), _) => Some(mia.to_string()),
            (None, richiesta) => richiesta,
        };
        store::coda(&self.db, &filtro, pagina).await
    }

    /// POR-3: abbinamento manuale to a CPO utilizzatore whose legal representative is the payer.
    pub async fn abbina(
        &self,
        id: &Identity,
        versamento_id: &str,
        utilizzatore_cf: &str,
        nota: &str,
    ) -> Result<Versamento, AppError> {
        if !id.is_operator() {
            return Err(AppError::denied(
                "POR-3",
                "POR_3_OPERATORS_ONLY",
                "abbinamento manuale is for INPS operators",
            ));
        }
        let ambito = accesso::operatori(id, "POR-3", "abbinamento manuale")?;
        let v = store::carica(&self.db, versamento_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("versamento {versamento_id}")))?;
        if !v.in_coda_di(&ambito) {
            return Err(AppError::denied(
                "POR-3",
                "POR_3_OUTSIDE_SEDE",
                "the versamento belongs to another sede's queue",
            ));
        }
        let destinatario = self.registro.soggetto(utilizzatore_cf, Some(id)).await?;
        // A payer representing companies of several sedi waits in each queue; each sede's
        // operator matches it to a company of its own sede only.
        if let Some(d) = &destinatario
            && !ambito.copre(&d.sede)
        {
            return Err(AppError::denied(
                "POR-3",
                "POR_3_OUTSIDE_SEDE",
                "the chosen utilizzatore belongs to another sede",
            ));
        }
        let operatore = autore(id);
        let ora = self.ora();
        // Decide once before locking (a refusal takes no lock), then again on the locked row.
        if versamento::abbina(&v, utilizzatore_cf, destinatario.as_ref(), &operatore, nota, ora)?
            == Abbinamento::Invariato
        {
            return Ok(v);
        }
        let w = PortafoglioRef::new(utilizzatore_cf, TipoPortafoglio::Cpo);
        let txn = self.scrittura().await?;
        let mut saldi = conti::blocca_uno(&*txn, &w).await?;
        let v = store::blocca(&*txn, versamento_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("versamento {versamento_id}")))?;
        let (dopo, importo) =
            match versamento::abbina(&v, utilizzatore_cf, destinatario.as_ref(), &operatore, nota, ora)? {
                Abbinamento::Invariato => {
                    rollback(txn).await?;
                    return Ok(v);
                }
                Abbinamento::Abbinato(dopo, importo) => (*dopo, importo),
            };
        let s = versamento::scritture_abbinamento(&dopo, importo, &mut saldi)?;
        store::aggiorna(&*txn, &v, &dopo).await?;
        conti::registra(&*txn, &s, ora, &[]).await?;
        events::versamento_accreditato(&*txn, encode::versamento(&dopo), importo, ora).await?;
        txn.commit().await?;
        tracing::info!(versamento = %dopo.id, "versamento matched manually");
        Ok(dopo)
    }
}
