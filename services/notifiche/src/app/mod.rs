//! Notifiche's commands and queries: transactions, the delivery worker, the schedulers; each
//! command checks who may give it (`domain::accesso`).

pub mod avvisi;
pub mod campagna;
pub mod consegne;
pub mod contatti;
pub mod cruscotto;
pub mod guida;
pub mod importa;
pub mod inbox;
pub mod ingest;
pub mod scadenze;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use occasionali_kernel::SharedClock;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::canali::Canali;

#[derive(Clone)]
pub struct App {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub canali: Canali,
    /// Where guide links start (`https://…/notifiche`), without a trailing slash.
    pub base_url: Arc<str>,
    /// Wakes the delivery worker when there is new work.
    pub sveglia: Arc<Notify>,
}

impl App {
    pub fn adesso(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn adesso_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}
