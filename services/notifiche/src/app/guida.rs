//! The guide behind a campaign notice (NOT-3, NOT-4) and what its readers did (NOT-5). The
//! token is the only key: unguessable (two random UUIDs, 244 random bits), never derived from
//! the person.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::App;
use crate::domain::Errore;
use crate::domain::campagna::LavoratoreInGuida;
use crate::domain::guida::{self, Link, scaduta};
use crate::domain::trimestre::Trimestre;
use crate::store::guide;

pub fn nuovo_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// What a guide says, fixed when it is issued (later imports do not rewrite a sent guide).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contenuto {
    pub datore_nome: String,
    pub lavoratori: Vec<LavoratoreSalvato>,
    pub finestra_dal: NaiveDate,
    pub finestra_al: NaiveDate,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LavoratoreSalvato {
    pub nome: String,
    pub trimestri: Vec<TrimestreSalvato>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrimestreSalvato {
    pub anno: i32,
    pub numero: i32,
    pub stato: String,
    #[serde(default)]
    pub dovuti: Option<Decimal>,
    #[serde(default)]
    pub pagati: Option<Decimal>,
}

impl Contenuto {
    pub fn new(nome: &str, lavoratori: &[LavoratoreInGuida], t: Trimestre) -> Contenuto {
        let (finestra_dal, finestra_al) = t.finestra_pagamento();
        Contenuto {
            datore_nome: nome.to_string(),
            lavoratori: lavoratori
                .iter()
                .map(|l| LavoratoreSalvato {
                    nome: l.nome.clone(),
                    trimestri: l
                        .non_pagati
                        .iter()
                        .map(|s| TrimestreSalvato {
                            anno: s.trimestre.anno,
                            numero: i32::from(s.trimestre.numero),
                            stato: s.stato.as_str().into(),
                            dovuti: s.dovuti,
                            pagati: s.pagati,
                        })
                        .collect(),
                })
                .collect(),
            finestra_dal,
            finestra_al,
        }
    }
}

/// A guide as its reader gets it (NOT-4): once expired, only that it was.
#[derive(Clone, Debug)]
pub struct Guida {
    pub riga: guide::RigaGuida,
    /// What it says; `None` once expired.
    pub contenuto: Option<Contenuto>,
}

impl Guida {
    pub fn scaduta(&self) -> bool {
        self.contenuto.is_none()
    }
}

/// When a guide stops being readable.
fn scade(g: &guide::RigaGuida) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(g.scade_ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl App {
    async fn riga_guida(&self, token: &str) -> Result<guide::RigaGuida, AppError> {
        if token.is_empty() || token.len() > 128 {
            return Err(Errore::GuidaSconosciuta.into());
        }
        guide::leggi(&self.db, token)
            .await?
            .ok_or_else(|| Errore::GuidaSconosciuta.into())
    }

    fn leggibile(&self, g: &guide::RigaGuida) -> Result<(), Errore> {
        guida::leggibile(scade(g), self.adesso())
    }

    /// The guide as it reads now: what it says, unless it has expired.
    fn guida(&self, riga: guide::RigaGuida) -> Result<Guida, AppError> {
        let contenuto = if scaduta(scade(&riga), self.adesso()) {
            None
        } else {
            Some(serde_json::from_str(&riga.contenuto).map_err(AppError::internal)?)
        };
        Ok(Guida { riga, contenuto })
    }

    /// The guide behind a token, recording an opening (NOT-5) while it can be read.
    pub async fn apri_guida(&self, token: &str) -> Result<Guida, AppError> {
        let g = self.riga_guida(token).await?;
        if self.leggibile(&g).is_ok() {
            guide::evento(&self.db, &g, "aperta", None, None, None, self.adesso_ms()).await?;
        }
        self.guida(g)
    }

    /// Rates a guide 1 to 5 (NOT-4); the rating replaces the previous one, which the event keeps.
    pub async fn vota_guida(&self, token: &str, voto: i32) -> Result<Guida, AppError> {
        let voto = guida::voto(voto)?;
        let mut g = self.riga_guida(token).await?;
        self.leggibile(&g)?;
        let txn = begin_write(&self.db).await?;
        let precedente = guide::leggi(&txn, token).await?.map(|x| x.voto).unwrap_or(0);
        guide::vota(&txn, token, voto).await?;
        guide::evento(
            &txn,
            &g,
            "voto",
            None,
            Some(voto),
            Some(precedente),
            self.adesso_ms(),
        )
        .await?;
        txn.commit().await?;
        g.voto = voto;
        self.guida(g)
    }

    /// Records a followed link (NOT-5); where it leads.
    pub async fn segui_link(&self, token: &str, link: Link) -> Result<String, AppError> {
        let g = self.riga_guida(token).await?;
        self.leggibile(&g)?;
        guide::evento(
            &self.db,
            &g,
            "link",
            Some(link.as_str()),
            None,
            None,
            self.adesso_ms(),
        )
        .await?;
        Ok(link.url().to_string())
    }
}
