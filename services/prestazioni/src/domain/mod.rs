//! The pure rules of a prestazione (PRE-1..PRE-8): no tonic, no database, no clock reads.

pub mod accesso;
pub mod regole;
pub mod stato;
pub mod verifiche;

pub use regole::{Costo, Regole};
pub use stato::Stato;
pub use verifiche::*;
