//! POR-2 deposits and POR-3 abbinamento manuale.

use std::collections::HashMap;

use occasionali_kernel::ids::new_id;
use occasionali_runtime::{AppError, Identity};

use super::{Portafoglio, autore, mask, rollback};
use crate::domain::Errore;
use crate::domain::accesso;
use crate::domain::versamento::{self, Abbinamento, DatiVersamento, Versamento};
use crate::domain::{PortafoglioRef, SoggettoRegistrato, TipoPortafoglio};
use crate::store::scarti::Scarto;
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
        let ora = self.ora();
        let v = self.nuovo_versamento(id, dati, cache, ora).await?;
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

    /// A payment not seen before, matched to its payer's wallet or, POR-3, waiting in the sede
    /// of the companies the payer represents.
    async fn nuovo_versamento(
        &self,
        id: &Identity,
        dati: DatiVersamento,
        cache: &mut CacheRegistro,
        ora: chrono::DateTime<chrono::Utc>,
    ) -> Result<Versamento, AppError> {
        let versante = match cache.soggetti.get(&dati.cf_versante) {
            Some(s) => s.clone(),
            None => {
                let s = self.registro.soggetto(&dati.cf_versante, Some(id)).await?;
                cache.soggetti.insert(dati.cf_versante.clone(), s.clone());
                s
            }
        };
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
        Ok(versamento::ricevi(
            new_id("ver"),
            dati,
            versante.as_ref(),
            &rappresentate,
            ora,
        ))
    }

    /// POR-2 for a batch of one feed's payments, in order: what [`Portafoglio::deposita`] does
    /// for each, in one write transaction. A feed's day is 100,000 records; a transaction (on
    /// SQLite an fsync) each capped the feed at the disk's commit rate (issue 12). A payment id
    /// twice in the batch, or written meanwhile by another feed, sends the batch back one
    /// record at a time: the outcome is the same, only slower. Each batch is all or nothing.
    pub async fn deposita_lotto(
        &self,
        id: &Identity,
        lotto: Vec<DatiVersamento>,
        cache: &mut CacheRegistro,
    ) -> Result<Vec<EsitoDeposito>, AppError> {
        let mut visti = std::collections::HashSet::new();
        if !lotto.iter().all(|d| visti.insert(d.id_pagamento.as_str())) {
            return self.uno_alla_volta(id, lotto, cache).await;
        }
        let ora = self.ora();
        let mut esiti: Vec<Option<EsitoDeposito>> = Vec::with_capacity(lotto.len());
        let mut nuovi: Vec<(usize, Versamento)> = Vec::new();
        for (i, dati) in lotto.iter().enumerate() {
            if let Some((v, impronta)) = store::per_pagamento(&self.db, &dati.id_pagamento).await? {
                esiti.push(Some(self.duplicato(v, &impronta, dati)));
                continue;
            }
            esiti.push(None);
            nuovi.push((i, self.nuovo_versamento(id, dati.clone(), cache, ora).await?));
        }
        if nuovi.is_empty() {
            return Ok(esiti.into_iter().flatten().collect());
        }
        let txn = self.scrittura().await?;
        let portafogli: Vec<PortafoglioRef> =
            nuovi.iter().filter_map(|(_, v)| v.portafoglio.clone()).collect();
        // All the batch's wallets at once, in the one order every writer locks them.
        let mut saldi = conti::blocca(&*txn, &portafogli).await?;
        for (_, v) in &nuovi {
            if store::inserisci(&*txn, v).await? == Inserimento::Duplicato {
                rollback(txn).await?;
                return self.uno_alla_volta(id, lotto, cache).await;
            }
            let s =
                versamento::scritture_ricezione(v, v.portafoglio.as_ref().and_then(|w| saldi.get_mut(w)))?;
            conti::registra(&*txn, &s, ora, &[]).await?;
            if v.portafoglio.is_some() {
                events::versamento_accreditato(&*txn, encode::versamento(v), v.dati.importo, ora).await?;
            }
        }
        txn.commit().await?;
        tracing::info!(
            versamenti = nuovi.len(),
            accreditati = nuovi.iter().filter(|(_, v)| v.portafoglio.is_some()).count(),
            "versamenti received"
        );
        for (i, v) in nuovi {
            esiti[i] = Some(match v.portafoglio {
                Some(_) => EsitoDeposito::Accreditato(v),
                None => EsitoDeposito::NonAbbinato(v),
            });
        }
        Ok(esiti.into_iter().flatten().collect())
    }

    /// POR-2: discarded records of import `id_import`, kept for ListScartiImport.
    pub async fn registra_scarti(&self, id_import: &str, scarti: &[Scarto]) -> Result<(), AppError> {
        if scarti.is_empty() {
            return Ok(());
        }
        let txn = self.scrittura().await?;
        crate::store::scarti::registra(&*txn, id_import, scarti, self.ora()).await?;
        Ok(txn.commit().await?)
    }

    /// POR-2: a page of an import's discards, for the feed that sent it.
    pub async fn scarti(
        &self,
        id: &Identity,
        id_import: &str,
        pagina: Pagina,
    ) -> Result<Vec<(i64, Scarto)>, AppError> {
        accesso::flusso_pagamenti(id, "F24 imports and their discards")?;
        crate::store::scarti::pagina(&self.db, id_import, pagina).await
    }

    async fn uno_alla_volta(
        &self,
        id: &Identity,
        lotto: Vec<DatiVersamento>,
        cache: &mut CacheRegistro,
    ) -> Result<Vec<EsitoDeposito>, AppError> {
        let mut esiti = Vec::with_capacity(lotto.len());
        for dati in lotto {
            esiti.push(self.deposita(id, dati, cache).await?);
        }
        Ok(esiti)
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
            (Some(mia), Some(altra)) if altra != mia => return Err(accesso::fuori_sede("POR-3").into()),
            (Some(mia), _) => Some(mia.to_string()),
            (None, richiesta) => richiesta,
        };
        store::coda(&self.db, &filtro, pagina).await
    }

    /// POR-3: what an operator may match: a versamento of its sede's queue, to an utilizzatore
    /// of its sede (`None`: not registered); DG and the platform reach every sede.
    async fn da_abbinare(
        &self,
        id: &Identity,
        versamento_id: &str,
        utilizzatore_cf: &str,
    ) -> Result<(Versamento, Option<SoggettoRegistrato>), AppError> {
        if !id.is_operator() {
            return Err(Errore::AbbinamentoSoloOperatori.into());
        }
        let ambito = accesso::operatori(id, "POR-3", "abbinamento manuale")?;
        let v = store::carica(&self.db, versamento_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("versamento {versamento_id}")))?;
        if !v.in_coda_di(&ambito) {
            return Err(Errore::VersamentoDiAltraSede.into());
        }
        let destinatario = self.registro.soggetto(utilizzatore_cf, Some(id)).await?;
        // A payer representing companies of several sedi waits in each queue; each sede's
        // operator matches it to a company of its own sede only.
        if let Some(d) = &destinatario
            && !ambito.copre(&d.sede)
        {
            return Err(Errore::UtilizzatoreDiAltraSede.into());
        }
        Ok((v, destinatario))
    }

    /// POR-3: abbinamento manuale to a CPO utilizzatore whose legal representative is the payer.
    pub async fn abbina(
        &self,
        id: &Identity,
        versamento_id: &str,
        utilizzatore_cf: &str,
        nota: &str,
    ) -> Result<Versamento, AppError> {
        let (v, destinatario) = self.da_abbinare(id, versamento_id, utilizzatore_cf).await?;
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
