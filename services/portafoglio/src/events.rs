//! Wallet events (events.proto), written to the outbox in the transaction of the change.

use chrono::{DateTime, Utc};
use occasionali_kernel::Euro;
use occasionali_proto::portafoglio as pb;
use occasionali_runtime::AppError;
use occasionali_runtime::outbox;
use sea_orm::ConnectionTrait;

use crate::domain::payout::OrdinePagamento;
use crate::domain::rimborso::Rimborso;
use crate::domain::riserva::Riserva;
use crate::domain::storno::Storno;
use crate::domain::versamento::Versamento;
use crate::encode;

/// A deposit reached a wallet (POR-2 automatic, POR-3 manual, POR-7 transfer). `versamento` is
/// shown as credited to the wallet that received `importo`.
pub async fn versamento_accreditato(
    txn: &impl ConnectionTrait,
    versamento: pb::Versamento,
    importo: Euro,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let id = versamento.id.clone();
    let payload = pb::VersamentoAccreditato {
        versamento: Some(versamento),
        importo: importo.to_string(),
    };
    outbox::append(
        txn,
        "portafoglio.versamento.accreditato",
        &id,
        ora,
        "occasionali.portafoglio.v1.VersamentoAccreditato",
        &payload,
    )
    .await?;
    Ok(())
}

pub async fn versamento_stornato(
    txn: &impl ConnectionTrait,
    storno: &Storno,
    versamento: &Versamento,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let payload = pb::VersamentoStornato {
        storno: Some(encode::storno(storno)),
        versamento: Some(encode::versamento(versamento)),
    };
    outbox::append(
        txn,
        "portafoglio.versamento.stornato",
        &versamento.id,
        ora,
        "occasionali.portafoglio.v1.VersamentoStornato",
        &payload,
    )
    .await?;
    Ok(())
}

pub async fn pagamento_eseguito(
    txn: &impl ConnectionTrait,
    o: &OrdinePagamento,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let payload = pb::PagamentoEseguito {
        payout_order: Some(encode::ordine(o)),
    };
    outbox::append(
        txn,
        "portafoglio.pagamento.eseguito",
        &o.id,
        ora,
        "occasionali.portafoglio.v1.PagamentoEseguito",
        &payload,
    )
    .await?;
    Ok(())
}

pub async fn rimborso_pagato(
    txn: &impl ConnectionTrait,
    r: &Rimborso,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let payload = pb::RimborsoPagato {
        rimborso: Some(encode::rimborso(r)),
    };
    outbox::append(
        txn,
        "portafoglio.rimborso.pagato",
        &r.id,
        ora,
        "occasionali.portafoglio.v1.RimborsoPagato",
        &payload,
    )
    .await?;
    Ok(())
}

pub async fn debito_creato(
    txn: &impl ConnectionTrait,
    r: &Riserva,
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let payload = pb::DebitoCreato {
        reservation: Some(encode::riserva(r)),
    };
    outbox::append(
        txn,
        "portafoglio.debito.creato",
        &r.prestazione_id,
        ora,
        "occasionali.portafoglio.v1.DebitoCreato",
        &payload,
    )
    .await?;
    Ok(())
}

/// The key of the command telling prestazioni an order was paid.
pub fn chiave_pagato(o: &OrdinePagamento) -> String {
    format!("segna-pagato:{}", o.id)
}

/// PRE-16: prestazioni marks the order's prestazioni PAID — a durable command written with the
/// order (never a best-effort call), idempotent on the order id at both ends.
pub async fn segna_pagato(
    db: &impl ConnectionTrait,
    o: &OrdinePagamento,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let request = crate::prestazioni::pagamento(o);
    outbox::append_command(
        db,
        at,
        outbox::Comando {
            key: chiave_pagato(o),
            destination: occasionali_runtime::Context::Prestazioni,
            method: "/occasionali.prestazioni.v1.PrestazioniInternalService/MarkPaid",
            topic: "prestazioni.mark_paid",
            aggregate_id: &o.id,
            type_name: "occasionali.prestazioni.v1.MarkPaidRequest",
            request: &request,
            origin: None,
        },
    )
    .await?;
    Ok(())
}
