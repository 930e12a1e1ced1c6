//! DEL-4: every creation, revocation and use of a delega is recorded: who, when, what for.

use std::fmt;

use chrono::{DateTime, Utc};
use occasionali_kernel::identita::mask;

use super::Ruolo;
use super::verifica::Esito;

/// What an audit entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Azione {
    Creata,
    Revocata,
    /// A check let a call through (VALID).
    Usata,
    /// A check refused a call on behalf of the delegante.
    Negata,
}

impl Azione {
    pub const ALL: [Azione; 4] = [Azione::Creata, Azione::Revocata, Azione::Usata, Azione::Negata];

    pub fn as_str(self) -> &'static str {
        match self {
            Azione::Creata => "created",
            Azione::Revocata => "revoked",
            Azione::Usata => "used",
            Azione::Negata => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<Azione> {
        Azione::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// USED for a VALID check, DENIED otherwise.
    pub fn di_verifica(esito: Esito) -> Azione {
        if esito == Esito::Valid {
            Azione::Usata
        } else {
            Azione::Negata
        }
    }
}

/// One audit entry.
#[derive(Clone, PartialEq, Eq)]
pub struct VoceAudit {
    pub id: String,
    /// None for a DENIED check that found no delega.
    pub delega_id: Option<String>,
    pub azione: Azione,
    /// The caller; for system calls, the original client.
    pub autore_cf: String,
    pub eseguita_il: DateTime<Utc>,
    /// The gRPC method the delega was used (or created, revoked) for.
    pub rpc_path: String,
    pub delegante_cf: String,
    pub delegato_cf: String,
    pub ruolo: Ruolo,
    /// USED/DENIED: the check outcome.
    pub esito: Option<Esito>,
    /// CREATED/REVOKED: the note or reason given.
    pub nota: String,
}

/// Masked: personal data must never reach logs (GW-5).
impl fmt::Debug for VoceAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoceAudit")
            .field("id", &self.id)
            .field("delega_id", &self.delega_id)
            .field("azione", &self.azione)
            .field("autore_cf", &mask(&self.autore_cf))
            .field("rpc_path", &self.rpc_path)
            .field("esito", &self.esito)
            .finish()
    }
}
