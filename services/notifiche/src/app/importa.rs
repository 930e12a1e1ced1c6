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
        Ok(self
            .importa_lotto(std::slice::from_ref(r))
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }

    /// Records in one transaction, in order: for each, `true` when new. An archive of 100,000
    /// records with a transaction (on SQLite an fsync) each ran at the disk's commit rate
    /// (issue 12); a record id twice in the batch is new once, as one by one.
    pub async fn importa_lotto(&self, records: &[Record]) -> Result<Vec<bool>, AppError> {
        let txn = begin_write(&self.db).await?;
        let adesso = self.adesso_ms();
        let mut nuovi = Vec::with_capacity(records.len());
        for r in records {
            nuovi.push(domestico::importa(&txn, r, adesso).await?);
        }
        txn.commit().await?;
        Ok(nuovi)
    }
}
