//! End-to-end: the real cluster, reached through the gateway with a real grpcurl, as support
//! staff and client systems reach it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anagrafica;
mod carico;
mod comunicazioni;
mod dati;
mod deleghe;
mod flussi;
mod issuers;
mod limiti;
mod notifiche;
mod outage;
mod platform;
mod portafoglio;
mod prestazioni;
mod rappresentanza;
mod relay;
mod tls;
mod wire;

use chrono::NaiveDate;
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};

/// A person with a valid codice fiscale.
pub struct Persona {
    pub cf: String,
    pub cognome: &'static str,
    pub nome: &'static str,
    pub nascita: &'static str,
    pub sesso: &'static str,
    pub luogo: &'static str,
}

pub fn persona(
    cognome: &'static str,
    nome: &'static str,
    nascita: &'static str,
    femmina: bool,
    luogo: &'static str,
) -> Persona {
    let dati = DatiAnagrafici {
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: NaiveDate::parse_from_str(nascita, "%Y-%m-%d").unwrap(),
        sesso: if femmina { Sesso::F } else { Sesso::M },
        luogo_nascita: luogo.into(),
    };
    Persona {
        cf: cf::genera(&dati).as_str().to_string(),
        cognome,
        nome,
        nascita,
        sesso: if femmina { "SESSO_F" } else { "SESSO_M" },
        luogo,
    }
}

impl Persona {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "codice_fiscale": self.cf,
            "cognome": self.cognome,
            "nome": self.nome,
            "data_nascita": self.nascita,
            "sesso": self.sesso,
            "luogo_nascita": self.luogo,
        })
    }
}
