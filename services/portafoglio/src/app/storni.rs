//! POR-7: return or transfer of a wrong F24 by an operator.

use chrono::{DateTime, Utc};
use occasionali_kernel::ids::new_id;
use occasionali_runtime::{AppError, Identity};
use sea_orm::ConnectionTrait;

use super::{Portafoglio, autore, rollback};
use crate::domain::Errore;
use crate::domain::PortafoglioRef;
use crate::domain::accesso;
use crate::domain::storno::{self, Destinazione, RichiestaStorno, Storno};
use crate::domain::versamento::{Modalita, StatoVersamento, Versamento};
use crate::store::{Inserimento, conti, storni, versamenti};
use crate::{encode, events};

impl Portafoglio {
    async fn storno_esistente(
        &self,
        e: Storno,
        r: &RichiestaStorno,
    ) -> Result<(Storno, Versamento), AppError> {
        let e = e.ripetizione(r)?;
        let v = versamenti::carica(&self.db, &e.versamento_id)
            .await?
            .ok_or_else(|| AppError::internal("storno of a missing versamento"))?;
        Ok((e, v))
    }

    /// The wallet a transfer goes to, if it is one: a registered utilizzatore of its type.
    async fn destinazione(
        &self,
        id: &Identity,
        destinazione: &Destinazione,
    ) -> Result<Option<PortafoglioRef>, AppError> {
        let Destinazione::Trasferimento { portafoglio } = destinazione else {
            return Ok(None);
        };
        let d = self.registro.soggetto(&portafoglio.cf, Some(id)).await?;
        if !d.is_some_and(|d| d.utilizzatore(portafoglio.tipo)) {
            return Err(Errore::DestinazioneNonUtilizzatore.into());
        }
        Ok(Some(portafoglio.clone()))
    }

    /// POR-7: returns a versamento (or part of it) to the payer or moves it to another wallet;
    /// from a wallet never more than its available balance. Idempotent on the request id.
    pub async fn storna(&self, id: &Identity, r: RichiestaStorno) -> Result<(Storno, Versamento), AppError> {
        if !id.is_operator() {
            return Err(Errore::StorniSoloOperatori.into());
        }
        let ambito = accesso::operatori(id, "POR-7", "storno")?;
        if let Some(e) = storni::per_request(&self.db, &r.request_id).await? {
            return self.storno_esistente(e, &r).await;
        }
        let v = versamenti::carica(&self.db, &r.versamento_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("versamento {}", r.versamento_id)))?;
        if !v.in_coda_di(&ambito) {
            return Err(accesso::fuori_sede("POR-7").into());
        }
        let destinazione = self.destinazione(id, &r.destinazione).await?;
        let origine = storno::origine(&v)?;
        let operatore = autore(id);
        let ora = self.ora();
        let txn = self.scrittura().await?;
        let portafogli: Vec<PortafoglioRef> = origine.iter().chain(destinazione.iter()).cloned().collect();
        let mut saldi = conti::blocca(&*txn, &portafogli).await?;
        let v = versamenti::blocca(&*txn, &r.versamento_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("versamento {}", r.versamento_id)))?;
        if storno::origine(&v)? != origine {
            rollback(txn).await?;
            return Err(Errore::Concorrente {
                regola: "POR-7",
                messaggio: "the versamento moved meanwhile; read it again and retry",
            }
            .into());
        }
        let mut saldi_origine = origine.as_ref().and_then(|w| saldi.remove(w));
        let mut saldi_destinazione = destinazione.as_ref().and_then(|w| saldi.remove(w));
        let (st, dopo, s) = storno::storna(
            new_id("sto"),
            &v,
            &r,
            saldi_origine.as_mut(),
            saldi_destinazione.as_mut(),
            &operatore,
            ora,
        )?;
        if storni::inserisci(&*txn, &st).await? == Inserimento::Duplicato {
            rollback(txn).await?;
            let e = storni::per_request(&self.db, &r.request_id)
                .await?
                .ok_or_else(|| AppError::internal("duplicate storno not found"))?;
            return self.storno_esistente(e, &r).await;
        }
        versamenti::aggiorna(&*txn, &v, &dopo).await?;
        conti::registra(&*txn, &s, ora, &[]).await?;
        segnala(&*txn, &st, &dopo, destinazione.as_ref(), ora).await?;
        txn.commit().await?;
        tracing::info!(storno = %st.id, versamento = %dopo.id, tipo = st.destinazione.code(), "versamento stornato");
        Ok((st, dopo))
    }
}

/// The storno's events, in its transaction: the versamento stornato and, for a transfer, the
/// deposit the destination wallet received.
async fn segnala(
    txn: &impl ConnectionTrait,
    st: &Storno,
    dopo: &Versamento,
    destinazione: Option<&PortafoglioRef>,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    events::versamento_stornato(txn, st, dopo, ora).await?;
    if let Some(w) = destinazione {
        // Consumers of deposits see the transfer as a deposit to the destination wallet.
        let mut vista = dopo.clone();
        vista.stato = StatoVersamento::Accreditato;
        vista.portafoglio = Some(w.clone());
        vista.modalita = Some(Modalita::Trasferimento);
        vista.abbinato_da_cf = st.operatore_cf.clone();
        vista.nota_abbinamento = st.nota.clone();
        vista.abbinato_il = Some(ora);
        events::versamento_accreditato(txn, encode::versamento(&vista), st.importo, ora).await?;
    }
    Ok(())
}
