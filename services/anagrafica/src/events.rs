//! Registry events (ANA-6: changes are propagated to the other contexts), written to the
//! outbox in the transaction of the change.

use chrono::{DateTime, Utc};
use occasionali_proto::anagrafica as pb;
use occasionali_runtime::AppError;
use occasionali_runtime::outbox;
use sea_orm::ConnectionTrait;

use crate::domain::Soggetto;
use crate::domain::modifica::CampoModificato;

pub async fn soggetto_modificato(
    txn: &impl ConnectionTrait,
    soggetto: &Soggetto,
    azione: &str,
    campi: &[CampoModificato],
    ora: DateTime<Utc>,
) -> Result<(), AppError> {
    let topic = if azione.starts_with("registrazione") {
        "anagrafica.soggetto.registrato"
    } else {
        "anagrafica.soggetto.modificato"
    };
    let payload = pb::SoggettoModificato {
        codice_fiscale: soggetto.cf.clone(),
        azione: azione.to_string(),
        campi: campi.iter().map(|c| c.campo.clone()).collect(),
        versione: soggetto.versione,
        soggetto: Some(crate::encode::soggetto(soggetto)),
    };
    outbox::append(
        txn,
        topic,
        &soggetto.cf,
        ora,
        "occasionali.anagrafica.v1.SoggettoModificato",
        &payload,
    )
    .await?;
    Ok(())
}
