//! Pure wallet rules (SPEC §2): no I/O, no tonic, no sea-orm, no clock reads. Their refusals
//! are [`Errore`], mapped to gRPC once at the edge.

pub mod accesso;
pub mod conti;
pub mod errore;
pub mod payout;
pub mod registro;
pub mod rimborso;
pub mod riserva;
pub mod storno;
pub mod versamento;

pub use conti::{Conto, PortafoglioRef, SaldiPortafoglio, Scritture, TipoConto, TipoPortafoglio};
pub use errore::Errore;
pub use registro::{MetodoPagamento, SoggettoRegistrato};
