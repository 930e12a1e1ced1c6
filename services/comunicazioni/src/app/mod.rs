//! The context's commands and queries: who the caller acts as (LAO-1) → read → decide (domain)
//! → persist (store, one transaction with its outbox event). No tonic here: the gRPC edge
//! (`api.rs`) decodes keys and searches before a query and encodes the results. A send takes
//! its request as sent, because its sections are decoded against what only the command reads:
//! the registry's section 1 for an Azienda, and for a V the head it varies.

mod invio;
mod profili;
mod registrazione;
pub mod ricerche;
mod ricevuta;
mod riepilogo;
mod variazioni;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::{SharedClock, calendar};
use occasionali_runtime::{AppError, Identity};
use sea_orm::DatabaseConnection;

use crate::anagrafica::Registro;
use crate::deleghe::Deleghe;
use crate::domain::accesso::Chiavi;
use crate::domain::soglia::Avviso;
use crate::domain::{Comunicazione, Invio};
use crate::store::Registrata;

pub use ricevuta::Ricevuta;

/// The comunicazioni context: its database, its clock and the neighbours it asks.
pub struct App {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub registro: Registro,
    /// `None` in a process configured without deleghe: no delega clients to list.
    pub deleghe: Option<Deleghe>,
}

/// A communication as its sender gets it back: where it stands in its chain, the warnings, and
/// the day its allowed actions are judged on.
#[derive(Clone, Debug)]
pub struct Esito {
    pub com: Comunicazione,
    pub successiva: Option<String>,
    pub avvisi: Vec<Avviso>,
    pub oggi: NaiveDate,
}

impl App {
    /// Now, and today in Rome (the date every LAO rule counts in).
    fn adesso(&self) -> (DateTime<Utc>, NaiveDate) {
        let ora = self.clock.now();
        (ora, calendar::rome_date(ora))
    }
}

/// Who sends, and when (LAO-5).
fn invio(id: &Identity, compilatore_email: String, ora: DateTime<Utc>, oggi: NaiveDate) -> Invio {
    Invio {
        compilatore_cf: id.caller.cf.trim().to_ascii_uppercase(),
        compilatore_email,
        ora,
        oggi,
    }
}

fn chiavi(r: &Registrata) -> Chiavi<'_> {
    Chiavi {
        committente_cf: &r.com.contenuto.committente.cf,
        lavoratore_cf: &r.com.contenuto.lavoratore.cf,
        compilatore_cf: &r.com.invio.compilatore_cf,
    }
}

/// An unknown codice, and keys that do not open it, answer alike (LAO-1).
fn non_trovata(codice: &str) -> AppError {
    AppError::NotFound(format!("comunicazione {codice}"))
}
