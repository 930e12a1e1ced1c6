//! POR-7: storni of wrong F24s, one per client request id.

use occasionali_runtime::AppError;
use sea_orm::ConnectionTrait;

use super::{Inserimento, corrotto, euro, inserisci_unico, insert, riga};
use crate::domain::storno::{Destinazione, Storno};
use crate::domain::{PortafoglioRef, TipoPortafoglio};

const CAMPI: [&str; 11] = [
    "id",
    "request_id",
    "versamento_id",
    "tipo",
    "importo",
    "iban",
    "destinazione_cf",
    "destinazione_tipo",
    "operatore_cf",
    "nota",
    "eseguito_il",
];

pub async fn inserisci(txn: &impl ConnectionTrait, s: &Storno) -> Result<Inserimento, AppError> {
    let (iban, dest_cf, dest_tipo) = match &s.destinazione {
        Destinazione::Restituzione { iban } => (iban.clone(), String::new(), ""),
        Destinazione::Trasferimento { portafoglio } => {
            (String::new(), portafoglio.cf.clone(), portafoglio.tipo.code())
        }
    };
    inserisci_unico(
        txn,
        &insert("storni", &CAMPI, 1, ""),
        vec![
            s.id.clone().into(),
            s.request_id.clone().into(),
            s.versamento_id.clone().into(),
            s.destinazione.code().into(),
            s.importo.cents().into(),
            iban.into(),
            dest_cf.into(),
            dest_tipo.into(),
            s.operatore_cf.clone().into(),
            s.nota.clone().into(),
            s.eseguito_il.into(),
        ],
    )
    .await
}

pub async fn per_request(db: &impl ConnectionTrait, request_id: &str) -> Result<Option<Storno>, AppError> {
    let sql = format!("SELECT {} FROM storni WHERE request_id = ?", CAMPI.join(", "));
    let Some(r) = riga(db, &sql, vec![request_id.into()]).await? else {
        return Ok(None);
    };
    let tipo: String = r.try_get("", "tipo")?;
    let destinazione = match tipo.as_str() {
        "RESTITUZIONE" => Destinazione::Restituzione {
            iban: r.try_get("", "iban")?,
        },
        "TRASFERIMENTO" => {
            let t: String = r.try_get("", "destinazione_tipo")?;
            Destinazione::Trasferimento {
                portafoglio: PortafoglioRef::new(
                    r.try_get::<String>("", "destinazione_cf")?,
                    TipoPortafoglio::from_code(&t).ok_or_else(|| corrotto("wallet type", &t))?,
                ),
            }
        }
        other => return Err(corrotto("storno kind", other)),
    };
    Ok(Some(Storno {
        id: r.try_get("", "id")?,
        request_id: r.try_get("", "request_id")?,
        versamento_id: r.try_get("", "versamento_id")?,
        destinazione,
        importo: euro(&r, "importo")?,
        operatore_cf: r.try_get("", "operatore_cf")?,
        nota: r.try_get("", "nota")?,
        eseguito_il: r.try_get("", "eseguito_il")?,
    }))
}
