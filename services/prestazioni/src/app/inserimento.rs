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
use crate::store::prestazioni::Inserita;

/// The result of every check (CheckPrestazione, and the first step of InsertPrestazione).
pub struct Esame {
    pub val: Valutazione,
    /// The rules broken, the limits crossed last.
    pub violazioni: Vec<Violazione>,
    pub limiti: Vec<StatoLimite>,
    /// The parties' sedi per the registry (PRE-19: a sede operator's scope).
    pub sedi: Sedi,
}

/// The checks before the limit counters are read.
struct Parziale {
    val: Valutazione,
    regole: Regole,
    sedi: Sedi,
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
        let p = self.valuta_parti(d, origin).await?;
        self.con_contatori(p.val, p.sedi).await
    }

    /// The checks that need the registry and the rules, not the limit counters.
    async fn valuta_parti(&self, d: &Dichiarazione, origin: &Identity) -> Result<Parziale, AppError> {
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
        Ok(Parziale {
            val,
            regole,
            sedi: Sedi {
                utilizzatore: parti.sede_utilizzatore,
                prestatore: parti.sede_prestatore,
            },
        })
    }

    /// The limits as the counters stand now (PRE-8), added to the other checks.
    async fn con_contatori(&self, val: Valutazione, sedi: Sedi) -> Result<Esame, AppError> {
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
            sedi,
        })
    }

    /// A request id already stored answers as its first request did (PRE-18), within the
    /// caller's scope.
    async fn gia_inserita(
        &self,
        id: &Identity,
        request_id: &str,
        d: &Dichiarazione,
    ) -> Result<Option<Prestazione>, AppError> {
        match store::prestazioni::per_request(&self.db, &d.utilizzatore_cf, request_id).await? {
            Some(p) => {
                accesso::dichiara_per(id, p.sedi.utilizzatore.as_deref())?;
                self.esistente(p, d, id).await.map(Some)
            }
            None => Ok(None),
        }
    }

    /// PRE-1..PRE-10, PRE-18.
    pub async fn inserisci(
        &self,
        id: &Identity,
        request_id: &str,
        d: Dichiarazione,
    ) -> Result<Prestazione, AppError> {
        accesso::puo_dichiarare(id, &d.utilizzatore_cf)?;
        // The usual request is new and admissible: the request id is looked up, and the counters
        // read, only when the checks do not pass or the insertion meets its request id
        // (issue 11: two statements fewer). The answers are those of reading them first.
        let parziale = self.valuta_parti(&d, id).await?;
        let pulita = parziale.val.violazioni.is_empty()
            && accesso::dichiara_per(id, parziale.sedi.utilizzatore.as_deref()).is_ok();
        if !pulita {
            if let Some(p) = self.gia_inserita(id, request_id, &d).await? {
                return Ok(p);
            }
            let esame = self.con_contatori(parziale.val, parziale.sedi).await?;
            // A sede operator declares only for an utilizzatore of its sede (before anything is held).
            accesso::dichiara_per(id, esame.sedi.utilizzatore.as_deref())?;
            return Err(esame.rifiuto().into());
        }
        let Parziale { val, regole, sedi } = parziale;
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
            sedi: sedi.clone(),
        };
        let p = Prestazione::nuova(d, inserimento, &regole, self.adesso());
        // PRE-9: the counters, raised only within their caps, with the insertion.
        let prese: Vec<Presa> = quote
            .iter()
            .map(|q| Presa {
                id: &q.id,
                valore: q.richiesto,
                limite: q.limite,
            })
            .collect();
        match store::prestazioni::inserisci_con_quote(&self.db, &p, &prese).await? {
            Inserita::Fatto => {}
            Inserita::Duplicato => {
                return match self.gia_inserita(id, request_id, &p.dichiarazione).await? {
                    Some(esistente) => Ok(esistente),
                    None => Err(AppError::internal("request id collision without a row")),
                };
            }
            Inserita::LimiteSuperato => {
                return Err(self.limite_superato(&val, &sedi, &quote).await?.into());
            }
        }
        metriche::saga_transition("PENDING");
        self.completa(p, Some(id)).await
    }

    /// The refusal of an insertion whose counters did not all fit (PRE-9): every limit the
    /// request crosses as the counters stand now, as the checks would have refused it had they
    /// read the counters first; if a concurrent release has made room meanwhile, the first one,
    /// by counter, as it stood when it refused.
    async fn limite_superato(
        &self,
        val: &Valutazione,
        sedi: &Sedi,
        quote: &[&Quota],
    ) -> Result<Errore, AppError> {
        let esame = self.con_contatori(val.clone(), sedi.clone()).await?;
        if !esame.violazioni.is_empty() {
            return Ok(esame.rifiuto());
        }
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
        // The usual case: still PENDING as this request left it, accepted without reading it
        // back, with its event, in one write.
        if matches!(esito, Esito::Riservato) && p.stato == Stato::Pending {
            let adesso = self.adesso();
            let mut accettata = p.clone();
            accettata.accetta(adesso)?;
            if store::prestazioni::accetta_con_evento(&self.db, &accettata, adesso).await? {
                metriche::saga_transition("ACCEPTED");
                return Ok(accettata);
            }
        }
        let txn = begin_write(&self.db).await?;
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
