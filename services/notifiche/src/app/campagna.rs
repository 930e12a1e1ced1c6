//! The domestic-contributions campaign (NOT-3): employers in keyset pages (flat memory however
//! many), each selected by the domain, each addressed once per quarter however often it runs.

use chrono::{DateTime, Utc};
use occasionali_kernel::calendar::rome_date;
use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;

use super::App;
use super::guida::{Contenuto, nuovo_token};
use std::collections::HashSet;

use occasionali_kernel::ids::new_id;

use crate::domain::campagna::{Datore, LavoratoreInGuida, seleziona};
use crate::domain::guida::scadenza;
use crate::domain::trimestre::Trimestre;
use crate::domain::{Campagna, Tipo};
use crate::store::notifiche::Notifica;
use crate::store::{self, contatti, domestico, esegui_run, guide};

const PAGINA: u64 = 2_000;

#[derive(Clone, Debug)]
pub struct Run {
    pub campagna: Campagna,
    pub trimestre: Trimestre,
    pub destinatari: i64,
    pub notifiche: i64,
    pub dry_run: bool,
    pub eseguita: DateTime<Utc>,
}

fn testo(nome: &str, lavoratori: &[LavoratoreInGuida], t: Trimestre, url: &str) -> String {
    let nomi: Vec<&str> = lavoratori.iter().map(|l| l.nome.as_str()).collect();
    let (dal, al) = t.finestra_pagamento();
    format!(
        "Gentile {nome}, all'INPS non risultano pagati tutti i contributi per il lavoro domestico di {}. \
         Il prossimo pagamento va fatto dal {} al {}. Abbiamo preparato per te una guida personalizzata: {url}",
        nomi.join(", "),
        dal.format("%d/%m/%Y"),
        al.format("%d/%m/%Y")
    )
}

impl App {
    /// One page of selected employers: their notices (those not sent before), deliveries and
    /// guides, in one transaction with multi-row statements. How many notices were new.
    async fn scrivi_pagina(
        &self,
        campagna: Campagna,
        t: Trimestre,
        eseguita: DateTime<Utc>,
        scelti: Vec<(Datore, Vec<LavoratoreInGuida>)>,
    ) -> Result<i64, AppError> {
        let cfs: Vec<String> = scelti.iter().map(|(d, _)| d.codice_fiscale.clone()).collect();
        let recapiti = contatti::di_molti(&self.db, &cfs).await?;
        let adesso = eseguita.timestamp_millis();
        let mut notifiche = Vec::with_capacity(scelti.len());
        let mut guide = Vec::with_capacity(scelti.len());
        for (datore, lavoratori) in &scelti {
            let token = nuovo_token();
            let url = format!("{}/guida/{token}", self.base_url);
            let n = Notifica {
                id: new_id("not"),
                chiave: format!("campagna:{}:{t}:{}", campagna.as_str(), datore.codice_fiscale),
                codice_fiscale: datore.codice_fiscale.clone(),
                tipo: Tipo::CampagnaLavoroDomestico,
                titolo: format!("Contributi lavoro domestico: {}", t.etichetta()),
                testo: testo(&datore.nome, lavoratori, t, &url),
                guida_token: Some(token.clone()),
                event_id: None,
                campagna: Some(campagna.as_str().into()),
                anno: Some(t.anno),
                trimestre: Some(i32::from(t.numero)),
                creata_ms: adesso,
                letta_ms: None,
            };
            guide.push(guide::RigaGuida {
                token,
                codice_fiscale: datore.codice_fiscale.clone(),
                notifica_id: n.id.clone(),
                campagna: campagna.as_str().into(),
                anno: t.anno,
                trimestre: i32::from(t.numero),
                emessa_ms: adesso,
                scade_ms: scadenza(eseguita).timestamp_millis(),
                contenuto: serde_json::to_string(&Contenuto::new(&datore.nome, lavoratori, t))
                    .map_err(AppError::internal)?,
                voto: 0,
            });
            notifiche.push(n);
        }
        let txn = begin_write(&self.db).await?;
        let nuove: HashSet<String> = store::notifiche::inserisci_molte(&txn, &notifiche)
            .await?
            .into_iter()
            .collect();
        let consegne: Vec<_> = notifiche
            .iter()
            .filter(|n| nuove.contains(&n.id))
            .flat_map(|n| {
                let r = recapiti.get(&n.codice_fiscale).cloned().unwrap_or_default();
                self.consegne_per(n, &r)
            })
            .collect();
        store::consegne::inserisci(&txn, &consegne).await?;
        guide.retain(|g| nuove.contains(&g.notifica_id));
        guide::inserisci(&txn, &guide).await?;
        txn.commit().await?;
        Ok(nuove.len() as i64)
    }

    pub async fn esegui_campagna(
        &self,
        campagna: Campagna,
        t: Trimestre,
        dry_run: bool,
        autore_cf: &str,
    ) -> Result<Run, AppError> {
        let eseguita = self.adesso();
        let oggi = rome_date(eseguita);
        let (mut destinatari, mut create) = (0i64, 0i64);
        let mut dopo = String::new();
        loop {
            let pagina = domestico::pagina_datori(&self.db, &dopo, PAGINA).await?;
            let Some((ultimo, _)) = pagina.last() else { break };
            dopo = ultimo.codice_fiscale.clone();
            let scelti: Vec<_> = pagina
                .into_iter()
                .filter_map(|(d, r)| seleziona(&d, &r, t, oggi).map(|l| (d, l)))
                .collect();
            destinatari += scelti.len() as i64;
            if dry_run || scelti.is_empty() {
                continue;
            }
            let scritte = self.scrivi_pagina(campagna, t, eseguita, scelti).await?;
            create += scritte;
            // The campaign's progress, a page at a time (committed).
            occasionali_runtime::metriche::campaign_notifications(campagna.as_str(), scritte.max(0) as u64);
            self.sveglia.notify_one();
        }
        esegui_run(
            &self.db,
            campagna.as_str(),
            t,
            destinatari,
            create,
            dry_run,
            autore_cf,
            eseguita.timestamp_millis(),
        )
        .await?;
        Ok(Run {
            campagna,
            trimestre: t,
            destinatari,
            notifiche: create,
            dry_run,
            eseguita,
        })
    }
}
