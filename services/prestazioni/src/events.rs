//! PRE-17: every state change is an outbox event, written in the transaction of the change.

use chrono::{DateTime, Utc};
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::{AppError, outbox};
use sea_orm::ConnectionTrait;

pub async fn inserita(
    db: &impl ConnectionTrait,
    p: &pb::Prestazione,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::PrestazioneInserita {
        prestazione: Some(p.clone()),
    };
    outbox::append(
        db,
        "prestazioni.prestazione.inserita",
        &p.id,
        at,
        "occasionali.prestazioni.v1.PrestazioneInserita",
        &e,
    )
    .await?;
    Ok(())
}

pub async fn confermata(
    db: &impl ConnectionTrait,
    p: &pb::Prestazione,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::PrestazioneConfermata {
        prestazione: Some(p.clone()),
    };
    outbox::append(
        db,
        "prestazioni.prestazione.confermata",
        &p.id,
        at,
        "occasionali.prestazioni.v1.PrestazioneConfermata",
        &e,
    )
    .await?;
    Ok(())
}

/// PRE-13: notifiche tells the prestatore at once.
pub async fn revocata(
    db: &impl ConnectionTrait,
    p: &pb::Prestazione,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::PrestazioneRevocata {
        prestazione: Some(p.clone()),
    };
    outbox::append(
        db,
        "prestazioni.prestazione.revocata",
        &p.id,
        at,
        "occasionali.prestazioni.v1.PrestazioneRevocata",
        &e,
    )
    .await?;
    Ok(())
}

pub async fn contestata(
    db: &impl ConnectionTrait,
    p: &pb::Prestazione,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::RevocaContestata {
        prestazione: Some(p.clone()),
    };
    outbox::append(
        db,
        "prestazioni.prestazione.contestata",
        &p.id,
        at,
        "occasionali.prestazioni.v1.RevocaContestata",
        &e,
    )
    .await?;
    Ok(())
}

pub async fn pagata(
    db: &impl ConnectionTrait,
    p: &pb::Prestazione,
    order: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::PrestazionePagata {
        prestazione: Some(p.clone()),
        payout_order_id: order.to_string(),
    };
    outbox::append(
        db,
        "prestazioni.prestazione.pagata",
        &p.id,
        at,
        "occasionali.prestazioni.v1.PrestazionePagata",
        &e,
    )
    .await?;
    Ok(())
}
