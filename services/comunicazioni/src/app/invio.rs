//! Sending a comunicazione preventiva (P, LAO-3..LAO-5).

use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};

use super::registrazione::{nuovo_codice, registra};
use super::{App, Esito, invio};
use crate::decode;
use crate::domain::Comunicazione;
use crate::domain::accesso::{self, Profilo};

impl App {
    /// A new P. The request is taken as sent: its sections are decoded against what only this
    /// command knows (the registry's section 1 for an Azienda, today's date), after the
    /// caller's right to send. Idempotent on the request id.
    pub async fn inserisci(
        &self,
        id: &Identity,
        r: pb::InsertComunicazioneRequest,
    ) -> Result<Esito, AppError> {
        let richiesto = r
            .committente
            .as_ref()
            .map(|c| c.codice_fiscale.as_str())
            .unwrap_or_default();
        let profilo = self.profilo(id, "committente.codice_fiscale", richiesto).await?;
        accesso::puo_inviare(&profilo)?;
        let committente_cf = accesso::committente_inviabile(&profilo, richiesto)?;
        let richiesta = decode::richiesta(&id.caller.cf, "InsertComunicazione", &r.request_id, &r)?;
        if let Some(q) = &richiesta
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        let committente = self
            .sezione_committente(id, &profilo, r.committente.as_ref())
            .await?;
        let (ora, oggi) = self.adesso();
        let (contenuto, email) = decode::preventiva(&r, committente.as_ref(), &committente_cf, oggi)?;
        let invio = invio(id, email, ora, oggi);
        let invia = async {
            let txn = begin_write(&self.db).await?;
            let codice = nuovo_codice(&txn).await?;
            let com = Comunicazione::preventiva(contenuto, invio, codice);
            let avvisi = registra(txn, &com, com.codice(), None, &profilo, richiesta.as_ref()).await?;
            Ok(Esito {
                com,
                successiva: None,
                avvisi,
                oggi,
            })
        };
        self.o_rigioca(invia, richiesta.as_ref()).await
    }

    /// Section 1 as sent: for an Azienda, its company's record in the registry, whatever the
    /// request says (LAO-1, LAO-7), the same for a P and a V; for others, the request's.
    pub(super) async fn sezione_committente(
        &self,
        id: &Identity,
        profilo: &Profilo,
        richiesto: Option<&pb::Committente>,
    ) -> Result<Option<pb::Committente>, AppError> {
        match profilo {
            Profilo::Azienda { cf } => {
                let email = richiesto.map(|c| c.email.as_str()).unwrap_or_default();
                Ok(Some(self.registro.committente(cf, email, id).await?))
            }
            _ => Ok(richiesto.cloned()),
        }
    }
}
