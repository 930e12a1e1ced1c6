//! A person's MyINPS inbox (NOT-1): read by whom may read it, marked read by the person only.

use occasionali_runtime::pagina::Pagina;
use occasionali_runtime::{AppError, Identity};

use super::App;
use crate::domain::{Errore, Tipo, accesso};
use crate::store::notifiche;

pub use crate::store::notifiche::Notifica;

/// Which messages of the inbox a listing shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FiltroInbox {
    pub tipo: Option<Tipo>,
    pub solo_non_letti: bool,
}

impl App {
    /// One page of a person's inbox, newest first (`(seq, message)`, one more than the page).
    pub async fn inbox(
        &self,
        id: &Identity,
        cf: &str,
        filtro: FiltroInbox,
        pagina: Pagina,
    ) -> Result<Vec<(i64, Notifica)>, AppError> {
        accesso::legge(id, cf)?;
        notifiche::inbox(
            &self.db,
            cf,
            filtro.tipo,
            filtro.solo_non_letti,
            pagina.cursore,
            pagina.da_leggere(),
        )
        .await
    }

    /// Marks a message of the person's inbox read (the first reading's time stays); the message.
    pub async fn segna_letto(
        &self,
        id: &Identity,
        cf: &str,
        messaggio_id: &str,
    ) -> Result<Notifica, AppError> {
        accesso::segna_letta(id, cf)?;
        if !notifiche::segna_letta(&self.db, cf, messaggio_id, self.adesso_ms()).await? {
            return Err(Errore::MessaggioSconosciuto.into());
        }
        notifiche::una(&self.db, cf, messaggio_id)
            .await?
            .ok_or_else(|| Errore::MessaggioSconosciuto.into())
    }
}
