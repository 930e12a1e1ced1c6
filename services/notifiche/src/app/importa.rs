//! The domestic-work import (NOT-7): each archive record once; a bad record is reported with
//! its position and reason and the stream goes on.

use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::identity::Identity;
use occasionali_runtime::pagina::Pagina;

use super::App;
use crate::store::domestico::{self, Record};
use crate::store::scarti::{self, Scarto};

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
        self.importa_lotto_con_scarti(records, "", &[]).await
    }

    /// As [`App::importa_lotto`], keeping in the same transaction the batch's discarded
    /// records under import `id_import`, for ListScartiImportLavoroDomestico.
    pub async fn importa_lotto_con_scarti(
        &self,
        records: &[Record],
        id_import: &str,
        scartati: &[Scarto],
    ) -> Result<Vec<bool>, AppError> {
        let txn = begin_write(&self.db).await?;
        let adesso = self.adesso_ms();
        let mut nuovi = Vec::with_capacity(records.len());
        for r in records {
            nuovi.push(domestico::importa(&txn, r, adesso).await?);
        }
        scarti::registra(&txn, id_import, scartati, adesso).await?;
        txn.commit().await?;
        Ok(nuovi)
    }

    /// NOT-7: a page of an import's discards, for those who may import.
    pub async fn scarti(
        &self,
        id: &Identity,
        id_import: &str,
        pagina: Pagina,
    ) -> Result<Vec<(i64, Scarto)>, AppError> {
        crate::api::dg_o_sistema(id, "NOT-7")?;
        scarti::pagina(&self.db, id_import, pagina).await
    }
}
