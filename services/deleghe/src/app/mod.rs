//! The context's commands and queries: authorise → read → decide (domain) → persist (store, one
//! transaction with its audit entry and outbox event). No tonic here: the gRPC adapter
//! (`api.rs`) decodes requests into domain values and encodes the results.

mod consultazioni;
mod deleghe;
mod verifica;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::{SharedClock, calendar};
use occasionali_runtime::Identity;
use sea_orm::DatabaseConnection;

/// The deleghe context, shared by the public and the internal service.
#[derive(Clone)]
pub struct Deleghe {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
}

impl Deleghe {
    pub fn ora(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn oggi(&self) -> NaiveDate {
        calendar::rome_date(self.ora())
    }
}

/// Who performed an action, for the audit trail (for system calls, the original client).
fn autore(id: &Identity) -> String {
    id.author().caller.cf.clone()
}
