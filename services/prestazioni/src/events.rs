//! PRE-17: every state change is an outbox event, written in the transaction of the change.

use chrono::{DateTime, Utc};
use occasionali_proto::portafoglio as pp;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::context::Context;
use occasionali_runtime::outbox::Comando;
use occasionali_runtime::{AppError, Identity, outbox};
use sea_orm::ConnectionTrait;

use crate::domain::Prestazione;
use crate::encode;

pub async fn inserita(db: &impl ConnectionTrait, p: &Prestazione, at: DateTime<Utc>) -> Result<(), AppError> {
    let e = PrestazioneInserita::di(p);
    let ev = e.evento(&p.id, at);
    outbox::append(db, ev.topic, ev.aggregate_id, at, ev.type_name, ev.payload).await?;
    Ok(())
}

/// The event of an accepted prestazione (PRE-10), written with its acceptance.
pub struct PrestazioneInserita(pb::PrestazioneInserita);

impl PrestazioneInserita {
    pub fn di(p: &Prestazione) -> PrestazioneInserita {
        PrestazioneInserita(pb::PrestazioneInserita {
            prestazione: Some(encode::prestazione(p)),
        })
    }

    pub fn evento<'a>(
        &'a self,
        id: &'a str,
        at: DateTime<Utc>,
    ) -> outbox::Evento<'a, pb::PrestazioneInserita> {
        outbox::Evento {
            topic: "prestazioni.prestazione.inserita",
            aggregate_id: id,
            occurred_at: at,
            type_name: "occasionali.prestazioni.v1.PrestazioneInserita",
            payload: &self.0,
        }
    }
}

pub async fn confermata(
    db: &impl ConnectionTrait,
    p: &Prestazione,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::PrestazioneConfermata {
        prestazione: Some(encode::prestazione(p)),
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
pub async fn revocata(db: &impl ConnectionTrait, p: &Prestazione, at: DateTime<Utc>) -> Result<(), AppError> {
    let e = pb::PrestazioneRevocata {
        prestazione: Some(encode::prestazione(p)),
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
    p: &Prestazione,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::RevocaContestata {
        prestazione: Some(encode::prestazione(p)),
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
    p: &Prestazione,
    order: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let e = pb::PrestazionePagata {
        prestazione: Some(encode::prestazione(p)),
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

// ---- The saga's later steps (ARCHITECTURE.md): durable commands for portafoglio's internal
// service, written in the transaction of the change they follow, delivered by the relay. ----

const RILASCIO: &str = "/occasionali.portafoglio.v1.PortafoglioInternalService/ReleaseFunds";
const RISERVA: &str = "/occasionali.portafoglio.v1.PortafoglioInternalService/ReserveFunds";

/// The key of the release owed by a revocation (PRE-11).
pub fn chiave_rilascio(id: &str) -> String {
    format!("rilascio-revoca:{id}")
}

/// The key of the reinstatement owed by a contest (PRE-15).
pub fn chiave_reintegro(id: &str) -> String {
    format!("reintegro:{id}")
}

/// The key of the release undoing a reservation that arrived after the prestazione was refused.
pub fn chiave_annullo(id: &str) -> String {
    format!("annullo-riserva:{id}")
}

/// A release of the prestazione's reservation (idempotent on the prestazione id).
pub async fn rilascio(
    db: &impl ConnectionTrait,
    key: String,
    p: &Prestazione,
    origin: Option<&Identity>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let request = pp::ReleaseFundsRequest {
        prestazione_id: p.id.clone(),
    };
    outbox::append_command(
        db,
        at,
        Comando {
            key,
            destination: Context::Portafoglio,
            method: RILASCIO,
            topic: "portafoglio.release_funds",
            aggregate_id: &p.id,
            type_name: "occasionali.portafoglio.v1.ReleaseFundsRequest",
            request: &request,
            origin,
        },
    )
    .await?;
    Ok(())
}

/// PRE-15: the contested prestazione's cost reserved again, as a debt where funds are gone.
pub async fn reintegro(
    db: &impl ConnectionTrait,
    p: &Prestazione,
    origin: Option<&Identity>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let request = crate::portafoglio::richiesta_riserva(p, true);
    outbox::append_command(
        db,
        at,
        Comando {
            key: chiave_reintegro(&p.id),
            destination: Context::Portafoglio,
            method: RISERVA,
            topic: "portafoglio.reserve_funds",
            aggregate_id: &p.id,
            type_name: "occasionali.portafoglio.v1.ReserveFundsRequest",
            request: &request,
            origin,
        },
    )
    .await?;
    Ok(())
}
