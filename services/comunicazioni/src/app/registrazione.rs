//! How every send (P, V, A) is registered: a fresh codice, the replaced head marked (LAO-11),
//! the row and its event in one transaction, the Gestione Separata warnings; and a retried
//! request (AIP-155) answered with what it first produced.

use chrono::Datelike;
use occasionali_runtime::AppError;
use occasionali_runtime::db::Scrittura;
use sea_orm::ConnectionTrait;

use super::{App, Esito, non_trovata};
use crate::domain::accesso::Profilo;
use crate::domain::soglia::{Avviso, TotaleAnno};
use crate::domain::{CodiceComunicazione, Comunicazione, Contenuto, Errore, Invio, Tipo};
use crate::events;
use crate::store::{self, Registrata, Richiesta};

impl App {
    /// A retry of a request already carried out: the communication it produced, as it stands
    /// now.
    pub(super) async fn rigioca(&self, q: &Richiesta) -> Result<Option<Esito>, AppError> {
        let Some((codice, impronta)) = store::per_richiesta(&self.db, &q.key).await? else {
            return Ok(None);
        };
        if impronta != q.impronta {
            return Err(Errore::RichiestaRiusata.into());
        }
        let r = store::carica(&self.db, &codice)
            .await?
            .ok_or_else(|| non_trovata(&codice))?;
        let avvisi = avvisi(&self.db, &r.com).await?;
        Ok(Some(Esito {
            com: r.com,
            successiva: r.successiva,
            avvisi,
            oggi: self.adesso().1,
        }))
    }

    /// Carries out a send. A lost race on a request with an id may be our own retry that won:
    /// then it is answered as a retry.
    pub(super) async fn o_rigioca(
        &self,
        invio: impl Future<Output = Result<Esito, AppError>>,
        richiesta: Option<&Richiesta>,
    ) -> Result<Esito, AppError> {
        let e = match invio.await {
            Ok(esito) => return Ok(esito),
            Err(e) => e,
        };
        if let (AppError::Aborted { .. }, Some(q)) = (&e, richiesta)
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        Err(e)
    }
}

/// The Gestione Separata warning for the worker and year of `c`.
async fn avvisi(db: &impl ConnectionTrait, c: &Comunicazione) -> Result<Vec<Avviso>, AppError> {
    if c.tipo() == Tipo::A {
        return Ok(Vec::new());
    }
    let t: TotaleAnno = store::totale_anno(
        db,
        &c.contenuto.lavoratore.cf,
        c.contenuto.rapporto.data_inizio.year(),
    )
    .await?;
    Ok(t.avviso().into_iter().collect())
}

/// A fresh codice, checked unused (LAO-5).
pub(super) async fn nuovo_codice(txn: &Scrittura) -> Result<CodiceComunicazione, AppError> {
    for _ in 0..5 {
        let codice = CodiceComunicazione::genera(&mut rand::rng());
        if !store::esiste(txn, codice.as_str()).await? {
            return Ok(codice);
        }
    }
    Err(AppError::internal("no unused codice comunicazione after 5 draws"))
}

/// Writes a new communication with its event (and binds an azienda's company, LAO-7), in
/// `txn`, and commits; replaces `testa` first for a V or A (LAO-11). Returns the warnings.
pub(super) async fn registra(
    txn: Scrittura,
    com: &Comunicazione,
    origine: &str,
    testa: Option<&Registrata>,
    profilo: &Profilo,
    richiesta: Option<&Richiesta>,
) -> Result<Vec<Avviso>, AppError> {
    if let Some(t) = testa {
        sostituisci(&txn, t, com).await?;
    }
    store::inserisci(&txn, com, origine, richiesta).await?;
    if let Profilo::Azienda { cf } = profilo {
        store::vincola(&txn, cf, com.invio.inviata_il).await?;
    }
    events::inviata(&txn, com).await?;
    let avvisi = avvisi(&txn, com).await?;
    txn.commit().await?;
    tracing::info!(
        codice = %com.codice(),
        tipo = com.tipo().as_str(),
        precedente = com.invio.codice_precedente.as_deref().unwrap_or(""),
        "comunicazione inviata"
    );
    Ok(avvisi)
}

/// Registers the V or A `tipo` with sections `contenuto` that replaces `testa` (LAO-6, LAO-9).
pub(super) async fn registra_successiva(
    txn: Scrittura,
    testa: &Registrata,
    tipo: Tipo,
    contenuto: Contenuto,
    invio: Invio,
    profilo: &Profilo,
    richiesta: Option<&Richiesta>,
) -> Result<Esito, AppError> {
    let codice = nuovo_codice(&txn).await?;
    let oggi = invio.oggi;
    let com = testa.com.successiva(tipo, contenuto, invio, codice);
    let avvisi = registra(txn, &com, &testa.origine, Some(testa), profilo, richiesta).await?;
    Ok(Esito {
        com,
        successiva: None,
        avvisi,
        oggi,
    })
}

/// LAO-11: `com` replaces the head `t` only if nothing replaced it since it was read; else the
/// caller learns the head now.
async fn sostituisci(txn: &Scrittura, t: &Registrata, com: &Comunicazione) -> Result<(), AppError> {
    if store::sostituisci(txn, t.com.codice(), com.codice()).await? {
        return Ok(());
    }
    let testa = store::testa(txn, &t.origine).await?.unwrap_or_default();
    Err(Errore::NonPiuTesta {
        codice: t.com.codice().to_string(),
        testa,
    }
    .into())
}
