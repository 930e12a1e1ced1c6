//! Inserting a prestazione (PRE-1..PRE-10, PRE-18): every check, the limit quotas taken in the
//! inserting transaction, then the saga's step with the wallet. Also CheckPrestazione's what-if.

use chrono::Datelike;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::metriche;
use occasionali_runtime::{AppError, Identity};

use super::App;
use crate::domain::accesso::{self, Sedi};
use crate::domain::prestazione::Inserimento;
use crate::domain::{
    Dichiarazione, Errore, Prestazione, Quota, QuotaPresa, Regole, Stato, StatoLimite, Valutazione,
    Violazione, valuta,
};
use crate::events;
use crate::portafoglio::Esito;
use crate::store;
use crate::store::contatori::Presa;

/// The result of every check (CheckPrestazione, and the first step of InsertPrestazione).
pub struct Esame {
    pub val: Valutazione,
    /// The rules broken, the limits crossed last.
    pub violazioni: Vec<Violazione>,
    pub limiti: Vec<StatoLimite>,
    pub regole: Regole,
    /// The parties' sedi per the registry (PRE-19: a sede operator's scope).
    pub sedi: Sedi,
}

impl Esame {
    fn rifiuto(self) -> Errore {
        Errore::NonAmmissibile {
            violazioni: self.violazioni,
            limiti: self.limiti,
        }
    }
}

impl App {
    /// Every check of PRE-1..PRE-8, for a caller who may declare for the utilizzatore (PRE-19).
    /// Reads the registry (before any transaction) and the counters.
    pub async fn esamina(&self, d: &Dichiarazione, id: &Identity) -> Result<Esame, AppError> {
        accesso::puo_dichiarare(id, &d.utilizzatore_cf)?;
        let e = self.valuta(d, id).await?;
        accesso::dichiara_per(id, e.sedi.utilizzatore.as_deref())?;
        Ok(e)
    }

    async fn valuta(&self, d: &Dichiarazione, origin: &Identity) -> Result<Esame, AppError> {
        let (regole, parti) = tokio::try_join!(
            self.regole(d.giorno().year()),
            self.registro.parti(&d.utilizzatore_cf, &d.prestatore_cf, origin)
        )?;
        let val = valuta(
            d,
            &regole,
            parti.utilizzatore.as_ref(),
            &parti.prestatore,
            self.adesso(),
        );
        let ids: Vec<String> = val.quote.iter().map(|q| q.id.clone()).collect();
        let usati = store::contatori::usati(&self.db, &ids).await?;
        let limiti: Vec<StatoLimite> = val
            .quote
            .iter()
            .map(|q| StatoLimite::per_richiesta(q, usati.get(&q.id).copied().unwrap_or(0)))
            .collect();
        let mut violazioni = val.violazioni.clone();
        violazioni.extend(limiti.iter().filter(|l| l.superato).map(StatoLimite::violazione));
        Ok(Esame {
            val,
            violazioni,
            limiti,
            regole,
            sedi: Sedi {
                utilizzatore: parti.sede_utilizzatore,
                prestatore: parti.sede_prestatore,
            },
        })
    }

    /// PRE-1..PRE-10, PRE-18.
    pub async fn inserisci(
        &self,
        id: &Identity,
        request_id: &str,
        d: Dichiarazione,
    ) -> Result<Prestazione, AppError> {
        accesso::puo_dichiarare(id, &d.utilizzatore_cf)?;
        if let Some(p) = store::prestazioni::per_request(&self.db, &d.utilizzatore_cf, request_id).await? {
            accesso::dichiara_per(id, p.sedi.utilizzatore.as_deref())?;
            return self.esistente(p, &d, id).await;
        }
        let esame = self.valuta(&d, id).await?;
        // A sede operator declares only for an utilizzatore of its sede (before anything is held).
        accesso::dichiara_per(id, esame.sedi.utilizzatore.as_deref())?;
        if !esame.violazioni.is_empty() {
            return Err(esame.rifiuto().into());
        }
        let Esame {
            val, regole, sedi, ..
        } = esame;
        let mut quote: Vec<&Quota> = val.quote.iter().filter(|q| q.richiesto > 0).collect();
        quote.sort_by(|a, b| a.id.cmp(&b.id));
        let inserimento = Inserimento {
            id: occasionali_kernel::ids::new_id("pre"),
            request_id: request_id.to_string(),
            inserita_da_cf: id.author().caller.cf.clone(),
            costo: val.costo,
            quote: quote
                .iter()
                .map(|q| QuotaPresa {
                    id: q.id.clone(),
                    valore: q.richiesto,
                })
                .collect(),
            sedi,
        };
        let p = Prestazione::nuova(d, inserimento, &regole, self.adesso());
        let txn = begin_write(&self.db).await?;
        if !store::prestazioni::inserisci(&txn, &p).await? {
            txn.rollback().await?;
            let d = p.dichiarazione;
            return match store::prestazioni::per_request(&self.db, &d.utilizzatore_cf, request_id).await? {
                Some(esistente) => self.esistente(esistente, &d, id).await,
                None => Err(AppError::internal("request id collision without a row")),
            };
        }
        // PRE-9: the counters, raised only within their caps, in this transaction.
        let prese: Vec<Presa> = quote
            .iter()
            .map(|q| Presa {
                id: &q.id,
                valore: q.richiesto,
                limite: q.limite,
            })
            .collect();
        if !store::contatori::prendi(&txn, &prese).await? {
            txn.rollback().await?;
            return Err(self.limite_superato(&quote).await?.into());
        }
        txn.commit().await?;
        metriche::saga_transition("PENDING");
        self.completa(p, Some(id)).await
    }

    /// The refusal of an insertion whose counters did not all fit (PRE-9): the first limit, by
    /// counter, that the request crosses as the counters stand now (if a concurrent release has
    /// made room meanwhile, the first one, as it stood when it refused).
    async fn limite_superato(&self, quote: &[&Quota]) -> Result<Errore, AppError> {
        let ids: Vec<String> = quote.iter().map(|q| q.id.clone()).collect();
        let usati = store::contatori::usati(&self.db, &ids).await?;
        let stato = |q: &Quota| StatoLimite::per_richiesta(q, usati.get(&q.id).copied().unwrap_or(0));
        let l = quote
            .iter()
            .map(|q| stato(q))
            .find(|l| l.superato)
            .or_else(|| {
                quote.first().map(|q| StatoLimite {
                    superato: true,
                    ..stato(q)
                })
            })
            .ok_or_else(|| AppError::internal("a refused insertion took no quota"))?;
        Ok(Errore::NonAmmissibile {
            violazioni: vec![l.violazione()],
            limiti: vec![l],
        })
    }

    /// PRE-18: a retry (the same declaration under the same request id) answers as the first
    /// request did, finishing its saga; another declaration is refused.
    async fn esistente(
        &self,
        p: Prestazione,
        d: &Dichiarazione,
        id: &Identity,
    ) -> Result<Prestazione, AppError> {
        if p.dichiarazione != *d {
            return Err(Errore::RichiestaRiusata.into());
        }
        match p.stato {
            Stato::Pending => self.completa(p, Some(id)).await,
            // PRE-18: the first answer again, code and details included.
            Stato::Rejected => Err(rifiutata(p)),
            _ => Ok(p),
        }
    }

    /// The saga's second half: reserve the cost (idempotent on the prestazione id), then ACCEPTED,
    /// or REJECTED with the limit share given back. A wallet outage leaves it PENDING for recovery.
    pub(super) async fn completa(
        &self,
        p: Prestazione,
        origin: Option<&Identity>,
    ) -> Result<Prestazione, AppError> {
        let esito = self.portafoglio.riserva(&p, false, origin).await?;
        let txn = begin_write(&self.db).await?;
        // The usual case: still PENDING as this request left it, accepted without reading it back.
        if matches!(esito, Esito::Riservato) && p.stato == Stato::Pending {
            let adesso = self.adesso();
            let mut accettata = p.clone();
            accettata.accetta(adesso)?;
            if store::prestazioni::transita(&txn, &accettata, Stato::Pending).await? {
                events::inserita(&txn, &accettata, adesso).await?;
                txn.commit().await?;
                metriche::saga_transition("ACCEPTED");
                return Ok(accettata);
            }
        }
        let Some(mut attuale) = store::prestazioni::carica(&txn, &p.id, true).await? else {
            return Err(AppError::internal("pending prestazione vanished"));
        };
        if attuale.stato != Stato::Pending {
            // A reservation that arrived after the prestazione was refused would be paid by the
            // payout: undone by a durable release (idempotent).
            let annullo = matches!((&esito, attuale.stato), (Esito::Riservato, Stato::Rejected));
            if annullo {
                events::rilascio(&txn, events::chiave_annullo(&p.id), &attuale, None, self.adesso()).await?;
            }
            txn.commit().await?;
            if annullo {
                tracing::warn!(prestazione = %p.id, "late reservation of a refused prestazione: released");
                self.relay.deliver_now(&events::chiave_annullo(&p.id)).await;
            }
            // PRE-18: a REJECTED prestazione answers its first refusal, whatever the wallet says now.
            return match attuale.stato {
                Stato::Rejected => Err(rifiutata(attuale)),
                _ => Ok(attuale),
            };
        }
        let adesso = self.adesso();
        match esito {
            Esito::Riservato => {
                attuale.accetta(adesso)?;
                store::prestazioni::aggiorna(&txn, &attuale).await?;
                events::inserita(&txn, &attuale, adesso).await?;
                txn.commit().await?;
                metriche::saga_transition("ACCEPTED");
                Ok(attuale)
            }
            Esito::Rifiutato { errore, rifiuto } => {
                // The answer is kept as sent (code, message, details) for a retry (PRE-18).
                attuale.rifiuta(rifiuto)?;
                store::contatori::restituisci(&txn, &attuale.quote).await?;
                store::prestazioni::aggiorna(&txn, &attuale).await?;
                txn.commit().await?;
                metriche::saga_transition("REJECTED");
                Err(errore)
            }
        }
    }
}

/// The refusal a REJECTED prestazione answered (PRE-18).
fn rifiutata(p: Prestazione) -> AppError {
    match p.rifiuto {
        Some(r) => Errore::Rifiutata(r).into(),
        None => AppError::internal(format!("prestazione {} rejected without its refusal", p.id)),
    }
}
