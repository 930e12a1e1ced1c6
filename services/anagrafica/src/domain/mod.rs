//! Pure registry rules (SPEC §1): no I/O, no tonic, no sea-orm, no clock reads.

pub mod accesso;
pub mod campione;
pub mod errore;
pub mod estrazione;
pub mod modifica;
pub mod soggetto;

pub use errore::{Errore, Incoerenza};
pub use soggetto::*;
