//! Variations and cancellations of the head of a chain (V: LAO-6..LAO-8, A: LAO-9), which
//! never fork it (LAO-11).

use chrono::NaiveDate;
use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::db::Scrittura;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};

use super::registrazione::registra_successiva;
use super::{App, Esito, chiavi, invio, non_trovata};
use crate::decode;
use crate::domain::accesso::{self, ChiaviDate, Profilo};
use crate::domain::catena::{self, Azione, Bersaglio, Fase};
use crate::domain::{CodiceComunicazione, Tipo, variazione};
use crate::store::{self, Registrata};

impl App {
    /// A V of the head `codice_comunicazione`. The request is taken as sent: its sections are
    /// decoded over the head's, read in the transaction that replaces it, in the phase the head's
    /// start date sets. Idempotent on the request id.
    pub async fn varia(&self, id: &Identity, r: pb::VaryComunicazioneRequest) -> Result<Esito, AppError> {
        let richiesto = r
            .committente
            .as_ref()
            .map(|c| c.codice_fiscale.as_str())
            .unwrap_or_default();
        let profilo = self.profilo(id, "committente.codice_fiscale", richiesto).await?;
        accesso::puo_inviare(&profilo)?;
        let codice = decode::codice_variato(&r)?;
        let richiesta = decode::richiesta(&id.caller.cf, "VaryComunicazione", &r.request_id, &r)?;
        if let Some(q) = &richiesta
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        // The committente CF an azienda may act for; for a soggetto abilitato the two CFs of
        // the request are the other two of the three keys (LAO-1).
        let committente_cf = accesso::committente_inviabile(&profilo, richiesto)?;
        let date = decode::chiavi_variazione(&r, &committente_cf)?;
        let dal_registro = match profilo {
            Profilo::Azienda { .. } => {
                self.sezione_committente(id, &profilo, r.committente.as_ref())
                    .await?
            }
            _ => None,
        };
        let (ora, oggi) = self.adesso();
        let invia = async {
            let txn = begin_write(&self.db).await?;
            let (testa, fase) = bersaglio(&txn, &profilo, &codice, &date, Azione::Variazione, oggi).await?;
            let attuale = &testa.com.contenuto;
            let (nuovo, email) =
                decode::variazione(&r, attuale, dal_registro.as_ref(), &committente_cf, fase, oggi)?;
            // An Azienda's section 1 is the registry's, not the caller's: nothing to refuse.
            // Others may not change a bound committente's data (LAO-7).
            let vincolato = dal_registro.is_none() && store::vincolato(&txn, &attuale.committente.cf).await?;
            variazione::controlla(attuale, &nuovo, fase, vincolato)?;
            let invio = invio(id, email, ora, oggi);
            registra_successiva(txn, &testa, Tipo::V, nuovo, invio, &profilo, richiesta.as_ref()).await
        };
        self.o_rigioca(invia, richiesta.as_ref()).await
    }

    /// An A of the head `codice_comunicazione`: sections 1-3 copied unchanged, the send date is
    /// the cancellation date (LAO-9). Idempotent on the request id.
    pub async fn annulla(&self, id: &Identity, r: pb::CancelComunicazioneRequest) -> Result<Esito, AppError> {
        let profilo = self.profilo(id, "committente_cf", &r.committente_cf).await?;
        accesso::puo_inviare(&profilo)?;
        let (codice, email, date) = decode::annullamento(&r)?;
        let richiesta = decode::richiesta(&id.caller.cf, "CancelComunicazione", &r.request_id, &r)?;
        if let Some(q) = &richiesta
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        let (ora, oggi) = self.adesso();
        let invia = async {
            let txn = begin_write(&self.db).await?;
            let (testa, _) = bersaglio(&txn, &profilo, &codice, &date, Azione::Annullamento, oggi).await?;
            let contenuto = testa.com.contenuto.clone();
            let invio = invio(id, email, ora, oggi);
            registra_successiva(
                txn,
                &testa,
                Tipo::A,
                contenuto,
                invio,
                &profilo,
                richiesta.as_ref(),
            )
            .await
        };
        self.o_rigioca(invia, richiesta.as_ref()).await
    }
}

/// The head a V or A targets, checked for access (LAO-1) and chain state (LAO-6, LAO-9).
async fn bersaglio(
    txn: &Scrittura,
    profilo: &Profilo,
    codice: &CodiceComunicazione,
    date: &ChiaviDate,
    azione: Azione,
    oggi: NaiveDate,
) -> Result<(Registrata, Fase), AppError> {
    let testa = store::carica(txn, codice.as_str())
        .await?
        .ok_or_else(|| non_trovata(codice.as_str()))?;
    // An A's keys are looked up as a search's (LAO-1, LAO-2): keys that do not match answer
    // NOT_FOUND, as an unknown codice does. A V's CFs are its new sections, checked by LAO-7.
    if azione == Azione::Annullamento && !date.combaciano(&chiavi(&testa)) {
        return Err(non_trovata(codice.as_str()));
    }
    let compilata = match profilo {
        Profilo::SoggettoAbilitato { cf } => store::compilata_nella_catena(txn, &testa.origine, cf).await?,
        _ => false,
    };
    accesso::puo_sostituire(profilo, &chiavi(&testa), compilata, date)?;
    let attuale = match &testa.successiva {
        Some(_) => store::testa(txn, &testa.origine).await?.unwrap_or_default(),
        None => testa.com.codice().to_string(),
    };
    let fase = catena::transizione(
        azione,
        &Bersaglio {
            tipo: testa.com.tipo(),
            successiva: testa.successiva.as_deref(),
            testa_attuale: &attuale,
            data_inizio: testa.com.contenuto.rapporto.data_inizio,
        },
        oggi,
    )?;
    Ok((testa, fase))
}
