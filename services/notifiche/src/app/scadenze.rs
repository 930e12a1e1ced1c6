//! Deleghe about to end (NOT-2): every replica looks every minute; the notice's key (the delega
//! and its end date) makes a second replica's notice a no-op, and a delega extended later is
//! announced again for its new end.

use chrono::Duration;
use occasionali_kernel::calendar::rome_date;
use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;

use super::App;
use super::avvisi::Origine;
use crate::domain::avvisi::{Fatto, PREAVVISO_SCADENZA_GIORNI, avviso};
use crate::store::deleghe;

impl App {
    /// Announces every delega that ends within the notice period; how many notices were new.
    pub async fn avvisa_scadenze(&self) -> Result<usize, AppError> {
        let oggi = rome_date(self.adesso());
        let fino = oggi + Duration::days(PREAVVISO_SCADENZA_GIORNI);
        let mut nuove = 0;
        for d in deleghe::in_scadenza(&self.db, oggi, fino).await? {
            let a = avviso(&Fatto::DelegaInScadenza {
                delega_id: d.delega_id.clone(),
                delegante_cf: d.delegante_cf.clone(),
                delegato_cf: d.delegato_cf.clone(),
                fine: d.fine,
            });
            let chiave = format!("scadenza:{}:{}", d.delega_id, d.fine);
            let txn = begin_write(&self.db).await?;
            if self
                .crea_avviso(&txn, chiave, &a, Origine::default())
                .await?
                .is_some()
            {
                nuove += 1;
            }
            txn.commit().await?;
        }
        if nuove > 0 {
            self.sveglia.notify_one();
        }
        Ok(nuove)
    }
}
