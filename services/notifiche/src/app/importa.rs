//! The domestic-work import (NOT-7): each archive record once; a bad record is reported with
//! its position and reason and the stream goes on.

use occasionali_kernel::ids::new_id;
use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::identity::Identity;
use occasionali_runtime::pagina::Pagina;

use super::App;
use crate::domain::accesso;
use crate::store::domestico;
use crate::store::scarti;

pub use crate::store::domestico::Record;
pub use crate::store::scarti::Scarto;

/// At most this many refused records are listed in the answer (all are counted and kept).
const MAX_SCARTATI_ELENCATI: usize = 1000;
/// What is kept of a refused record's id and reason.
const MAX_RECORD_ID: usize = 128;
const MAX_MOTIVO: usize = 256;

/// A record of the stream that cannot be imported: its id as sent (maybe empty) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scartato {
    pub record_id: String,
    pub motivo: String,
}

/// An ImportLavoroDomestico stream under way: its id and what it has counted so far.
#[derive(Clone, Debug, Default)]
pub struct Importazione {
    pub id_import: String,
    pub ricevuti: i64,
    pub importati: i64,
    pub duplicati: i64,
    pub scartati: i64,
    /// The first discards, in stream order (all of them are kept for ListScarti…).
    pub elencati: Vec<Scarto>,
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

    /// NOT-7: a new import, for those who may import.
    pub fn apri_importazione(&self, id: &Identity) -> Result<Importazione, AppError> {
        accesso::importa(id)?;
        Ok(Importazione {
            id_import: new_id("ild"),
            ..Importazione::default()
        })
    }

    /// A batch of the stream as it arrived, each message decoded: its records and its discards
    /// in the same transaction, so a server fault stops the stream and the retry finds what was
    /// committed.
    pub async fn importa_arrivati(
        &self,
        importazione: &mut Importazione,
        arrivati: Vec<Result<Record, Scartato>>,
    ) -> Result<(), AppError> {
        let mut lotto = Vec::with_capacity(arrivati.len());
        let mut scarti = Vec::new();
        for arrivato in arrivati {
            let posizione = importazione.ricevuti;
            importazione.ricevuti += 1;
            match arrivato {
                Ok(r) => lotto.push(r),
                Err(s) => {
                    importazione.scartati += 1;
                    let scarto = Scarto {
                        posizione,
                        record_id: s.record_id.chars().take(MAX_RECORD_ID).collect(),
                        motivo: s.motivo.chars().take(MAX_MOTIVO).collect(),
                    };
                    if importazione.elencati.len() < MAX_SCARTATI_ELENCATI {
                        importazione.elencati.push(scarto.clone());
                    }
                    scarti.push(scarto);
                }
            }
        }
        let nuovi = self
            .importa_lotto_con_scarti(&lotto, &importazione.id_import, &scarti)
            .await?;
        for nuovo in nuovi {
            if nuovo {
                importazione.importati += 1;
            } else {
                importazione.duplicati += 1;
            }
        }
        Ok(())
    }

    /// The end of a stream, for the log.
    pub fn chiudi_importazione(&self, i: &Importazione) {
        tracing::info!(
            id_import = %i.id_import,
            ricevuti = i.ricevuti,
            importati = i.importati,
            duplicati = i.duplicati,
            scartati = i.scartati,
            "domestic-work import"
        );
    }

    /// NOT-7: a page of an import's discards, for those who may import.
    pub async fn scarti(
        &self,
        id: &Identity,
        id_import: &str,
        pagina: Pagina,
    ) -> Result<Vec<(i64, Scarto)>, AppError> {
        accesso::importa(id)?;
        scarti::pagina(&self.db, id_import, pagina).await
    }
}
