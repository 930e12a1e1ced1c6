//! Pure delegation rules (SPEC §5): no I/O, no tonic, no sea-orm, no clock reads.

pub mod accesso;
pub mod audit;
pub mod delega;
pub mod verifica;

pub use audit::{Azione, VoceAudit};
pub use delega::*;
pub use verifica::{Esito, Verifica, verifica};
