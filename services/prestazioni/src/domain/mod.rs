//! The pure rules of a prestazione (PRE-1..PRE-20): its own types and refusals, decisions as
//! functions; no tonic, no database, no clock reads.

pub mod accesso;
pub mod coerenza;
pub mod dichiarazione;
pub mod errore;
pub mod estratto;
pub mod limiti;
pub mod pagamento;
pub mod prestazione;
pub mod regole;
pub mod soggetti;
pub mod stato;
pub mod verifiche;

pub use dichiarazione::{Dichiarazione, Lavoro, Tipo};
pub use errore::Errore;
pub use limiti::{Quota, QuotaPresa, StatoLimite, TipoLimite};
pub use pagamento::Pagamento;
pub use prestazione::Prestazione;
pub use regole::{Costo, Regole};
pub use stato::{Stato, StatoPagamento};
pub use verifiche::{Valutazione, Violazione, valuta};
