//! LAO events, written to the outbox in the transaction of the send: every P, V and A.

use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::AppError;
use occasionali_runtime::outbox;
use sea_orm::ConnectionTrait;

use crate::domain::Comunicazione;

pub const TOPIC_INVIATA: &str = "comunicazioni.comunicazione.inviata";
pub const TYPE_INVIATA: &str = "occasionali.comunicazioni.v1.ComunicazioneInviata";

/// A P, V or A was sent (its `dati_invio.tipo` says which). The event carries the
/// communication as sent: it is a new head (a V or A also names the one it replaced).
pub async fn inviata(txn: &impl ConnectionTrait, c: &Comunicazione) -> Result<(), AppError> {
    let payload = pb::ComunicazioneInviata {
        comunicazione: Some(crate::encode::comunicazione(
            c,
            None,
            c.invio.data_invio,
            Vec::new(),
        )),
    };
    outbox::append(
        txn,
        TOPIC_INVIATA,
        c.codice(),
        c.invio.inviata_il,
        TYPE_INVIATA,
        &payload,
    )
    .await?;
    Ok(())
}
