//! Events of the other contexts (NOT-1, NOT-2): each kept once by id, with what it causes
//! written in the same transaction, so a redelivery notifies nobody twice.

use occasionali_proto::common::Event;
use occasionali_runtime::AppError;
use occasionali_runtime::db::Scrittura;
use occasionali_runtime::db::begin_write;

use super::App;
use super::avvisi::Origine;
use crate::decode::Ingresso;
use crate::domain::avvisi::{Avviso, Fatto, avviso};
use crate::store::{contatti, deleghe, notifiche, ricevuti};

pub struct Esito {
    pub duplicato: bool,
    pub notifiche: Vec<String>,
}

impl App {
    pub async fn ingerisci(&self, evento: &Event, ingresso: Ingresso) -> Result<Esito, AppError> {
        let txn = begin_write(&self.db).await?;
        let Some(create) = self.ingerisci_in(&txn, evento, ingresso).await? else {
            drop(txn);
            return Ok(Esito {
                duplicato: true,
                notifiche: notifiche::per_evento(&self.db, &evento.event_id).await?,
            });
        };
        txn.commit().await?;
        if !create.is_empty() {
            self.sveglia.notify_one();
        }
        Ok(Esito {
            duplicato: false,
            notifiche: create,
        })
    }

    /// A run of events (IngestEvents, issue 11), in order, in one transaction: each kept once by
    /// id with what it causes, as [`App::ingerisci`] would one by one, in a few statements for
    /// the whole run: the events in one, and each stretch of notices between two contact
    /// updates in three (the notices, the contacts of their people, the deliveries), so that a
    /// notice meets the contacts as the events before it left them.
    pub async fn ingerisci_tutti(&self, eventi: Vec<(Event, Ingresso)>) -> Result<(), AppError> {
        if eventi.is_empty() {
            return Ok(());
        }
        let txn = begin_write(&self.db).await?;
        let tutti: Vec<&Event> = eventi.iter().map(|(e, _)| e).collect();
        let mut nuovi = ricevuti::ricevi_molti(&txn, &tutti, self.adesso()).await?;
        let mut avvisi: Vec<(String, Avviso, Origine)> = Vec::new();
        let mut create = false;
        for (evento, ingresso) in eventi {
            // A redelivery (or the same id twice in the run) causes nothing.
            if !nuovi.remove(&evento.event_id) {
                continue;
            }
            match ingresso {
                Ingresso::Avviso(fatto) => avvisi.push(self.avviso_di(&txn, &evento, &fatto).await?),
                altro => {
                    create |= !self
                        .crea_avvisi(&txn, std::mem::take(&mut avvisi))
                        .await?
                        .is_empty();
                    self.effetto(&txn, altro).await?;
                }
            }
        }
        create |= !self.crea_avvisi(&txn, avvisi).await?.is_empty();
        txn.commit().await?;
        if create {
            self.sveglia.notify_one();
        }
        Ok(())
    }

    /// Keeps the event and writes what it causes, in `txn`; the notices created, or None when
    /// the event id was already kept (nothing written).
    async fn ingerisci_in(
        &self,
        txn: &Scrittura,
        evento: &Event,
        ingresso: Ingresso,
    ) -> Result<Option<Vec<String>>, AppError> {
        if !ricevuti::ricevi(txn, evento, self.adesso()).await? {
            return Ok(None);
        }
        let mut create = Vec::new();
        match ingresso {
            Ingresso::Avviso(fatto) => {
                let (chiave, a, origine) = self.avviso_di(txn, evento, &fatto).await?;
                if let Some(id) = self.crea_avviso(txn, chiave, &a, origine).await? {
                    create.push(id);
                }
            }
            altro => self.effetto(txn, altro).await?,
        }
        Ok(Some(create))
    }

    /// The notice an event causes, with its key (one per event, recipient and kind: NOT-2) and
    /// origin; a delega created is registered first, as one by one.
    async fn avviso_di(
        &self,
        txn: &Scrittura,
        evento: &Event,
        fatto: &Fatto,
    ) -> Result<(String, Avviso, Origine), AppError> {
        if let Fatto::DelegaCreata {
            delega_id,
            delegante_cf,
            delegato_cf,
            fine,
        } = fatto
        {
            deleghe::registra(txn, delega_id, delegante_cf, delegato_cf, *fine).await?;
        }
        let a = avviso(fatto);
        let chiave = format!("evento:{}:{}:{}", evento.event_id, a.destinatario_cf, a.tipo);
        let origine = Origine {
            event_id: Some(evento.event_id.clone()),
            ..Default::default()
        };
        Ok((chiave, a, origine))
    }

    /// What an event other than a notice causes: contacts from the registry, a delega revoked.
    async fn effetto(&self, txn: &Scrittura, ingresso: Ingresso) -> Result<(), AppError> {
        match ingresso {
            Ingresso::Contatti {
                codice_fiscale,
                cellulare,
                email,
                versione,
            } => {
                contatti::da_anagrafica(
                    txn,
                    &codice_fiscale,
                    cellulare.as_deref(),
                    email.as_deref(),
                    versione,
                    self.adesso_ms(),
                )
                .await
            }
            Ingresso::DelegaRevocata { delega_id } => deleghe::revoca(txn, &delega_id).await,
            Ingresso::Avviso(_) | Ingresso::Nessuno => Ok(()),
        }
    }
}
