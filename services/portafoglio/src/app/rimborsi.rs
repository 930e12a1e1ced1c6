//! POR-7: rimborsi requested by the utilizzatore and decided by an operator.

use occasionali_kernel::ids::new_id;
use occasionali_runtime::{AppError, Identity};

use super::{Portafoglio, autore, rollback};
use crate::domain::Errore;
use crate::domain::accesso::{self, Ambito};
use crate::domain::rimborso::{self, Decisione, EsitoDecisione, RichiestaRimborso, Rimborso, StatoRimborso};
use crate::events;
use crate::store::rimborsi::FiltroRimborsi;
use crate::store::{Inserimento, Pagina, conti, rimborsi as store};

impl Portafoglio {
    /// POR-7: the utilizzatore (or its delegato) asks to refund unused funds; the amount is held
    /// until an operator decides. Idempotent on the request id.
    pub async fn richiedi_rimborso(&self, id: &Identity, r: RichiestaRimborso) -> Result<Rimborso, AppError> {
        if !accesso::titolare(id, &r.portafoglio.cf) {
            return Err(accesso::non_titolare("POR-7").into());
        }
        if let Some(e) = store::per_request(&self.db, &r.request_id).await? {
            return Ok(e.ripetizione(&r)?);
        }
        let sede = self
            .registro
            .sede(&r.portafoglio.cf, Some(id))
            .await?
            .unwrap_or_default();
        let ora = self.ora();
        let txn = self.scrittura().await?;
        let mut saldi = conti::blocca_uno(&*txn, &r.portafoglio).await?;
        let (nuovo, s) = rimborso::richiedi(new_id("rim"), &r, &id.caller.cf, &sede, &mut saldi, ora)?;
        if store::inserisci(&*txn, &nuovo).await? == Inserimento::Duplicato {
            rollback(txn).await?;
            let e = store::per_request(&self.db, &r.request_id)
                .await?
                .ok_or_else(|| AppError::internal("duplicate rimborso not found"))?;
            return Ok(e.ripetizione(&r)?);
        }
        conti::registra(&*txn, &s, ora, &[]).await?;
        txn.commit().await?;
        tracing::info!(rimborso = %nuovo.id, "rimborso requested");
        Ok(nuovo)
    }

    /// POR-7: an operator of the utilizzatore's sede (per anagrafica), or DG, approves or rejects.
    pub async fn decidi_rimborso(
        &self,
        id: &Identity,
        rimborso_id: &str,
        decisione: Decisione,
        nota: &str,
    ) -> Result<Rimborso, AppError> {
        if !id.is_operator() {
            return Err(Errore::RimborsiSoloOperatori.into());
        }
        let ambito = accesso::operatori(id, "POR-7", "deciding a rimborso")?;
        let r = store::carica(&self.db, rimborso_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("rimborso {rimborso_id}")))?;
        if let Ambito::Sede(mia) = &ambito {
            let sede = self
                .registro
                .sede(&r.portafoglio.cf, Some(id))
                .await?
                .unwrap_or_else(|| r.sede.clone());
            if sede != *mia {
                return Err(accesso::fuori_sede("POR-7").into());
            }
        }
        let ora = self.ora();
        let txn = self.scrittura().await?;
        let mut saldi = conti::blocca_uno(&*txn, &r.portafoglio).await?;
        let r = store::blocca(&*txn, rimborso_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("rimborso {rimborso_id}")))?;
        match rimborso::decidi(r, &decisione, nota, &autore(id), &mut saldi, ora)? {
            EsitoDecisione::Invariato(r) => {
                rollback(txn).await?;
                Ok(r)
            }
            EsitoDecisione::Deciso(r, s) => {
                store::decidi(&*txn, &r).await?;
                conti::registra(&*txn, &s, ora, &[]).await?;
                if r.stato == StatoRimborso::Pagato {
                    events::rimborso_pagato(&*txn, &r, ora).await?;
                }
                txn.commit().await?;
                tracing::info!(rimborso = %r.id, stato = r.stato.code(), "rimborso decided");
                Ok(r)
            }
        }
    }

    /// POR-7: rimborsi as the caller may see them.
    pub async fn rimborsi(
        &self,
        id: &Identity,
        mut filtro: FiltroRimborsi,
        sede_richiesta: Option<String>,
        pagina: Pagina,
    ) -> Result<Vec<(i64, Rimborso)>, AppError> {
        match accesso::ambito(id) {
            Some(Ambito::Tutto) => filtro.sede = sede_richiesta,
            Some(Ambito::Sede(mia)) => {
                if sede_richiesta.as_ref().is_some_and(|s| *s != mia) {
                    return Err(accesso::fuori_sede("POR-7").into());
                }
                filtro.sede = Some(mia);
            }
            None => {
                let me = id.subject_cf().to_string();
                if filtro.utilizzatore_cf.as_ref().is_some_and(|cf| *cf != me) {
                    return Err(accesso::non_titolare("POR-7").into());
                }
                filtro.utilizzatore_cf = Some(me);
            }
        }
        store::lista(&self.db, &filtro, pagina).await
    }
}
