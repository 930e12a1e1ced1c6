//! Delega events (DEL-1; notifiche tells the delegante, NOT-2), written to the outbox in the
//! transaction of the change. Topics "deleghe.delega.*", aggregate id = the delega id.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_proto::deleghe as pb;
use occasionali_runtime::AppError;
use occasionali_runtime::outbox;
use sea_orm::ConnectionTrait;

use crate::domain::Delega;
use crate::encode::{self, Vista};

pub const TOPIC_CREATA: &str = "deleghe.delega.creata";
pub const TOPIC_REVOCATA: &str = "deleghe.delega.revocata";

pub async fn creata(
    txn: &impl ConnectionTrait,
    d: &Delega,
    ora: DateTime<Utc>,
    oggi: NaiveDate,
) -> Result<(), AppError> {
    let payload = pb::DelegaCreata {
        delega: Some(encode::delega(d, oggi, Vista::Completa)),
    };
    outbox::append(
        txn,
        TOPIC_CREATA,
        &d.id,
        ora,
        "occasionali.deleghe.v1.DelegaCreata",
        &payload,
    )
    .await?;
    Ok(())
}

pub async fn revocata(
    txn: &impl ConnectionTrait,
    d: &Delega,
    ora: DateTime<Utc>,
    oggi: NaiveDate,
) -> Result<(), AppError> {
    let payload = pb::DelegaRevocata {
        delega: Some(encode::delega(d, oggi, Vista::Completa)),
    };
    outbox::append(
        txn,
        TOPIC_REVOCATA,
        &d.id,
        ora,
        "occasionali.deleghe.v1.DelegaRevocata",
        &payload,
    )
    .await?;
    Ok(())
}
