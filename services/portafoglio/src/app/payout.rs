//! POR-5: the monthly payout and its scheduler.

use occasionali_kernel::ids::new_id;
use occasionali_runtime::{AppError, Identity, metriche};

use super::{Portafoglio, mask, rollback};
use crate::domain::Errore;
use crate::domain::payout::{self, EsitoPayout, OrdinePagamento};
use crate::domain::riserva::StatoRiserva;
use crate::domain::{MetodoPagamento, PortafoglioRef};
use crate::events;
use crate::store::payout::FiltroOrdini;
use crate::store::{Inserimento, Pagina, conti, payout as store, riserve};

/// How many times a prestatore's order is retried when its reservations moved meanwhile.
const TENTATIVI: usize = 3;

impl Portafoglio {
    /// POR-5: pays every due prestazione of the month, one order per prestatore, never twice.
    /// `origin` is the client that asked (`None`: the scheduler). Anyone may resume a run that
    /// was interrupted: orders are unique per prestatore and month, reservations are consumed
    /// with a conditional update.
    pub async fn payout(
        &self,
        origin: Option<&Identity>,
        anno: i32,
        mese: u32,
    ) -> Result<EsitoPayout, AppError> {
        payout::verifica_mese(anno, mese, self.oggi())?;
        let mut esito = EsitoPayout {
            anno,
            mese,
            ..Default::default()
        };
        if let Some(run) = store::run(&self.db, anno, mese).await?
            && let Some(t) = run.completato_il
        {
            // Nothing is paid twice; the orders are told to prestazioni again (idempotent),
            // which repairs a notification lost while prestazioni was unreachable.
            self.risegnala(anno, mese).await?;
            esito.gia_eseguito = true;
            esito.eseguito_il = Some(t);
            return Ok(esito);
        }
        // PRE-14: the month's contests close when its payout is computed.
        self.limiti.chiudi_contestazioni(anno, mese, origin).await?;
        let ora = self.ora();
        store::avvia(&self.db, anno, mese, ora).await?;
        let da_pagare = riserve::prestatori_da_pagare(&self.db, anno, mese).await?;
        // The run's progress: how many prestatori are left, counted down as each is handled.
        let periodo = format!("{anno}-{mese:02}");
        let avanzamento = |restanti: usize| {
            metriche::livello(
                metriche::PAYOUT_REMAINING,
                &[("period", &periodo)],
                restanti as f64,
            );
        };
        avanzamento(da_pagare.len());
        for (i, cf) in da_pagare.iter().enumerate() {
            let soggetto = self.registro.soggetto(cf, origin).await?;
            let Some((metodo, sede)) = soggetto.and_then(|s| s.metodo_pagamento.clone().map(|m| (m, s.sede)))
            else {
                tracing::warn!(prestatore = %mask(cf), anno, mese, "prestatore not registered: not paid, the month stays open");
                esito.non_pagati += 1;
                metriche::payout_prestatore("unpaid");
                avanzamento(da_pagare.len() - i - 1);
                continue;
            };
            if let Some(o) = self.paga(cf, anno, mese, &metodo, &sede).await? {
                esito.aggiungi(&o)?;
                metriche::payout_prestatore("paid");
                self.relay.deliver_now(&events::chiave_pagato(&o)).await;
            }
            avanzamento(da_pagare.len() - i - 1);
        }
        if esito.non_pagati == 0 {
            store::completa(&self.db, anno, mese, self.ora()).await?;
        }
        esito.eseguito_il = Some(ora);
        tracing::info!(
            anno,
            mese,
            ordini = esito.numero_ordini,
            prestazioni = esito.numero_prestazioni,
            "payout run"
        );
        Ok(esito)
    }

    /// One prestatore's order for the month, in one transaction.
    async fn paga(
        &self,
        prestatore_cf: &str,
        anno: i32,
        mese: u32,
        metodo: &MetodoPagamento,
        sede: &str,
    ) -> Result<Option<OrdinePagamento>, AppError> {
        for _ in 0..TENTATIVI {
            let ora = self.ora();
            let txn = self.scrittura().await?;
            // Learn the wallets, lock them (lock order: wallets first), then lock the
            // reservations themselves: a concurrent release either happened or waits.
            let viste = riserve::del_prestatore(&*txn, prestatore_cf, anno, mese, false).await?;
            if viste.is_empty() {
                rollback(txn).await?;
                return Ok(None);
            }
            let portafogli: Vec<PortafoglioRef> = viste.iter().map(|r| r.portafoglio.clone()).collect();
            let bloccati = conti::blocca(&*txn, &portafogli).await?;
            let righe = riserve::del_prestatore(&*txn, prestatore_cf, anno, mese, true).await?;
            if righe.iter().any(|r| !bloccati.contains_key(&r.portafoglio)) {
                // A reservation on another wallet appeared meanwhile: start again.
                rollback(txn).await?;
                continue;
            }
            let Some((ordine, s)) = payout::ordine(
                new_id("pay"),
                prestatore_cf,
                anno,
                mese,
                righe,
                metodo.clone(),
                sede,
                ora,
            )?
            else {
                rollback(txn).await?;
                return Ok(None);
            };
            if store::inserisci_ordine(&*txn, &ordine).await? == Inserimento::Duplicato {
                // Another run paid this prestatore for the month.
                rollback(txn).await?;
                return Ok(None);
            }
            for r in &ordine.righe {
                riserve::aggiorna(&*txn, StatoRiserva::Riservata, r).await?;
            }
            conti::registra(&*txn, &s, ora, &[]).await?;
            events::pagamento_eseguito(&*txn, &ordine, ora).await?;
            events::segna_pagato(&*txn, &ordine, ora).await?;
            txn.commit().await?;
            return Ok(Some(ordine));
        }
        Err(Errore::Concorrente {
            regola: "POR-5",
            messaggio: "the prestatore's reservations kept changing during the payout; run it again",
        }
        .into())
    }

    /// Makes sure prestazioni is told of every order of a month (PRE-16): the commands are
    /// idempotent on their key, so only orders paid before the relay existed get one now.
    async fn risegnala(&self, anno: i32, mese: u32) -> Result<(), AppError> {
        let filtro = FiltroOrdini {
            anno: Some(anno),
            mese: Some(mese),
            prestatore_cf: None,
            sede: None,
        };
        let mut token = String::new();
        loop {
            let mut v = occasionali_runtime::Violations::new();
            let pagina = Pagina::decodifica(&mut v, "POR-5", 500, &token, 0);
            v.check()?;
            let righe = store::ordini(&self.db, &filtro, pagina).await?;
            let txn = self.scrittura().await?;
            for (_, o) in &righe {
                events::segna_pagato(&*txn, o, self.ora()).await?;
            }
            txn.commit().await?;
            token = pagina.prossima(righe.len(), righe.last().map(|(s, _)| *s));
            if token.is_empty() {
                return Ok(());
            }
        }
    }

    /// One scheduler tick: the previous month from the 15th on (Rome), and any month whose run
    /// was interrupted or left prestatori unpaid.
    pub async fn turno_pianificato(&self) -> Result<(), AppError> {
        let mut mesi = store::incompleti(&self.db).await?;
        if let Some(m) = payout::mese_dovuto(self.oggi())
            && !mesi.contains(&m)
            && store::run(&self.db, m.0, m.1)
                .await?
                .is_none_or(|r| r.completato_il.is_none())
        {
            mesi.push(m);
        }
        for (anno, mese) in mesi {
            if payout::verifica_mese(anno, mese, self.oggi()).is_err() {
                continue;
            }
            self.payout(None, anno, mese).await?;
        }
        Ok(())
    }

    /// POR-5: payout orders as the caller may see them (a prestatore its own, a sede operator
    /// its sede's prestatori, DG and the platform all).
    pub async fn ordini(
        &self,
        id: &Identity,
        mut filtro: FiltroOrdini,
        pagina: Pagina,
    ) -> Result<Vec<(i64, OrdinePagamento)>, AppError> {
        match crate::domain::accesso::ambito(id) {
            Some(a) => filtro.sede = a.sede().map(str::to_string),
            None => {
                let me = id.subject_cf().to_string();
                if filtro.prestatore_cf.as_ref().is_some_and(|cf| *cf != me) {
                    return Err(crate::domain::accesso::non_titolare("POR-5").into());
                }
                filtro.prestatore_cf = Some(me);
            }
        }
        store::ordini(&self.db, &filtro, pagina).await
    }
}
