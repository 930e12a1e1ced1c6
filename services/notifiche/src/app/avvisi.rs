//! A notice and its deliveries, written together (NOT-1, NOT-2): the inbox always, at once;
//! the other channels as the person's consents and contacts allow, for the worker to send.

use occasionali_kernel::ids::new_id;
use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;

use super::App;
use crate::domain::avvisi::Avviso;
use crate::domain::canali::{Canale, Decisione, Recapiti, decidi};
use crate::store::consegne::{self, Consegna, Stato};
use crate::store::contatti;
use crate::store::notifiche::{self, Notifica};

/// What a notice is about beyond its text.
#[derive(Clone, Debug, Default)]
pub struct Origine {
    pub event_id: Option<String>,
    pub campagna: Option<String>,
    pub anno: Option<i32>,
    pub trimestre: Option<i32>,
    pub guida_token: Option<String>,
}

impl App {
    /// The deliveries of a notice, one per channel, as the person's consents and contacts and
    /// this environment's channels allow.
    pub(crate) fn consegne_per(&self, n: &Notifica, recapiti: &Recapiti) -> Vec<Consegna> {
        let adesso = n.creata_ms;
        Canale::ALL
            .into_iter()
            .map(|canale| {
                let configurato = match canale {
                    Canale::Inbox => true,
                    Canale::AppIo => self.canali.app_io.is_some(),
                    Canale::Email => self.canali.email.is_some(),
                    Canale::Sms => self.canali.sms.is_some(),
                };
                let (stato, indirizzo, errore, inviata) = match decidi(canale, recapiti) {
                    // The inbox is the notice's own row: delivered as it is written.
                    Decisione::Invia(_) if canale == Canale::Inbox => (Stato::Sent, None, None, Some(adesso)),
                    Decisione::Invia(_) if !configurato => (
                        Stato::Skipped,
                        None,
                        Some("channel not configured in this environment".to_string()),
                        None,
                    ),
                    Decisione::Invia(a) => (Stato::Pending, Some(a).filter(|a| !a.is_empty()), None, None),
                    Decisione::Salta(perche) => (Stato::Skipped, None, Some(perche.to_string()), None),
                };
                Consegna {
                    id: new_id("dlv"),
                    notifica_id: n.id.clone(),
                    codice_fiscale: n.codice_fiscale.clone(),
                    canale,
                    tipo: n.tipo,
                    stato,
                    indirizzo,
                    oggetto: n.titolo.clone(),
                    testo: n.testo.clone(),
                    tentativi: 0,
                    ultimo_errore: errore,
                    prossimo_ms: adesso,
                    creata_ms: adesso,
                    inviata_ms: inviata,
                    event_id: n.event_id.clone(),
                    campagna: n.campagna.clone(),
                    anno: n.anno,
                    trimestre: n.trimestre,
                }
            })
            .collect()
    }

    /// Writes the notice unless `chiave` already has one; its id when written.
    /// [`App::crea_avviso`] for many notices at once: the notices in one statement, the contacts
    /// of their people in one, their deliveries in one. The ids of the notices written (those
    /// whose key was not there yet).
    pub(crate) async fn crea_avvisi(
        &self,
        db: &impl ConnectionTrait,
        avvisi: Vec<(String, Avviso, Origine)>,
    ) -> Result<Vec<String>, AppError> {
        if avvisi.is_empty() {
            return Ok(Vec::new());
        }
        let adesso = self.adesso_ms();
        let tutte: Vec<Notifica> = avvisi
            .into_iter()
            .map(|(chiave, avviso, origine)| Notifica {
                id: new_id("not"),
                chiave,
                codice_fiscale: avviso.destinatario_cf,
                tipo: avviso.tipo,
                titolo: avviso.titolo,
                testo: avviso.testo,
                guida_token: origine.guida_token,
                event_id: origine.event_id,
                campagna: origine.campagna,
                anno: origine.anno,
                trimestre: origine.trimestre,
                creata_ms: adesso,
                letta_ms: None,
            })
            .collect();
        let scritte: std::collections::HashSet<String> = notifiche::inserisci_molte(db, &tutte)
            .await?
            .into_iter()
            .collect();
        let nuove: Vec<&Notifica> = tutte.iter().filter(|n| scritte.contains(&n.id)).collect();
        let mut persone: Vec<String> = nuove.iter().map(|n| n.codice_fiscale.clone()).collect();
        persone.sort();
        persone.dedup();
        let recapiti = contatti::di_molti(db, &persone).await?;
        let consegne: Vec<Consegna> = nuove
            .iter()
            .flat_map(|n| {
                let r = recapiti.get(&n.codice_fiscale).cloned().unwrap_or_default();
                self.consegne_per(n, &r)
            })
            .collect();
        consegne::inserisci(db, &consegne).await?;
        Ok(nuove.iter().map(|n| n.id.clone()).collect())
    }

    pub(crate) async fn crea_avviso(
        &self,
        db: &impl ConnectionTrait,
        chiave: String,
        avviso: &Avviso,
        origine: Origine,
    ) -> Result<Option<String>, AppError> {
        let adesso = self.adesso_ms();
        let n = Notifica {
            id: new_id("not"),
            chiave,
            codice_fiscale: avviso.destinatario_cf.clone(),
            tipo: avviso.tipo,
            titolo: avviso.titolo.clone(),
            testo: avviso.testo.clone(),
            guida_token: origine.guida_token.clone(),
            event_id: origine.event_id.clone(),
            campagna: origine.campagna.clone(),
            anno: origine.anno,
            trimestre: origine.trimestre,
            creata_ms: adesso,
            letta_ms: None,
        };
        if !notifiche::inserisci(db, &n).await? {
            return Ok(None);
        }
        let recapiti = contatti::leggi(db, &n.codice_fiscale)
            .await?
            .map(|c| c.recapiti)
            .unwrap_or_default();
        consegne::inserisci(db, &self.consegne_per(&n, &recapiti)).await?;
        Ok(Some(n.id))
    }
}
