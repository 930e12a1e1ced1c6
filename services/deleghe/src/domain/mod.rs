//! Pure delegation rules (SPEC §5): no I/O, no tonic, no sea-orm, no runtime, no clock reads.
//! Refusals are [`Errore`]; identities come from the kernel.

pub mod accesso;
pub mod audit;
pub mod delega;
pub mod errore;
pub mod verifica;

pub use audit::{Azione, VoceAudit};
pub use delega::*;
pub use errore::Errore;
pub use verifica::{Esito, RichiestaVerifica, Verifica, verifica};
