//! The domestic-work import (NOT-7): each archive record once; a bad record is reported with
//! its position and reason and the stream goes on.

use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;

use super::App;
use crate::store::domestico::{self, Record};

#[derive(Clone, Debug, Default)]
pub struct Totali {
    pub ricevuti: i64,
    pub importati: i64,
    pub duplicati: i64,
    pub scartati: Vec<(String, i64, String)>,
}

impl App {
    /// One record, in its own transaction: `true` when new.
    pub async fn importa(&self, r: &Record) -> Result<bool, AppError> {
        let txn = begin_write(&self.db).await?;
        let nuovo = domestico::importa(&txn, r, self.adesso_ms()).await?;
        txn.commit().await?;
        Ok(nuovo)
    }
}
