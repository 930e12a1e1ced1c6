//! PRE-20: publishing the figures of a year not yet begun. One transaction: the publication is
//! recorded whole (author, reason, request id), becomes the row in force for its year with its
//! changes from the year before, and the next published year's changes are recomputed against
//! it, so "what changed and why" stays true whatever order the years are published in.

use chrono::Datelike;
use occasionali_kernel::calendar::rome_date;
use occasionali_kernel::identita::mask;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};

use super::App;
use crate::domain::regole::{self, Regole, RifiutoPubblicazione};
use crate::store::{self, NuovaPubblicazione, RigaRegole};

impl App {
    pub async fn pubblica_regole(
        &self,
        chi: &Identity,
        request_id: &str,
        nuova: Regole,
        motivo: &str,
    ) -> Result<RigaRegole, AppError> {
        regole::puo_pubblicare(chi)?;
        // PRE-18's retry contract: the same id answers the same publication.
        if let Some(r) = self.pubblicazione_gia_fatta(request_id, &nuova, motivo).await? {
            return Ok(r);
        }
        let anno_in_corso = rome_date(self.clock.now()).year();
        regole::pubblicabile(nuova.anno, anno_in_corso)?;
        if let Some(r) = self.registra(chi, request_id, nuova.clone(), motivo).await? {
            self.regole_in_vigore.svuota();
            return Ok(r);
        }
        // Another publication of the year, or this very request, committed meanwhile.
        match self.pubblicazione_gia_fatta(request_id, &nuova, motivo).await? {
            Some(r) => Ok(r),
            None => Err(RifiutoPubblicazione::Concorrente { anno: nuova.anno }.into()),
        }
    }

    async fn registra(
        &self,
        chi: &Identity,
        request_id: &str,
        mut nuova: Regole,
        motivo: &str,
    ) -> Result<Option<RigaRegole>, AppError> {
        let tx = begin_write(&self.db).await?;
        let precedente = store::regole(&tx, nuova.anno - 1)
            .await?
            .ok_or(RifiutoPubblicazione::SenzaRegolePrecedenti { anno: nuova.anno })?;
        nuova.variazioni = regole::variazioni(&precedente, &nuova, motivo);
        let autore = chi.author();
        let Some(riga) = store::pubblica(
            &tx,
            NuovaPubblicazione {
                id: &occasionali_kernel::ids::new_id("reg"),
                request_id,
                regole: &nuova,
                motivo,
                autore_cf: &autore.caller.cf,
                autore_profilo: autore.profile().as_str(),
                adesso: self.clock.now(),
            },
        )
        .await?
        else {
            return Ok(None);
        };
        // The next year published after this one now changes from this one.
        if let Some(seguente) = store::righe_regole(&tx)
            .await?
            .into_iter()
            .find(|r| r.regole.anno > nuova.anno)
        {
            let mut s = seguente.regole;
            s.variazioni = regole::variazioni(&nuova, &s, &seguente.pubblicazione.motivo);
            store::aggiorna_dati(&tx, &s).await?;
        }
        tx.commit().await?;
        tracing::info!(
            anno = nuova.anno,
            versione = riga.pubblicazione.versione,
            autore = %mask(&autore.caller.cf),
            variazioni = nuova.variazioni.len(),
            "rule table published"
        );
        Ok(Some(riga))
    }

    /// The publication already recorded under `request_id`, when it is this one; a different
    /// table under the same id is refused.
    async fn pubblicazione_gia_fatta(
        &self,
        request_id: &str,
        nuova: &Regole,
        motivo: &str,
    ) -> Result<Option<RigaRegole>, AppError> {
        let Some(fatta) = store::pubblicazione_per_request(&self.db, request_id).await? else {
            return Ok(None);
        };
        let mut confronto = fatta.regole.clone();
        confronto.variazioni.clear();
        if confronto != *nuova || fatta.pubblicazione.motivo != motivo {
            return Err(RifiutoPubblicazione::RichiestaRiusata.into());
        }
        Ok(Some(fatta))
    }
}
