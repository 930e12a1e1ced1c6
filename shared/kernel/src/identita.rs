//! Who acts: the verified identity every context authorizes on (GW-1, GW-6, DEL-2). Pure data,
//! so the domains can decide who may do what without the gateway's transport; the runtime puts
//! it into every request (`occasionali_runtime::identity`) and takes it out of it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The "ruolo" a person names (with the on-behalf-of header = the organisation's CF) to act for
/// an organisation it is the registered legal representative of (issue 13, docs/decisions.md
/// "Who acts for an organisation"). The gateway verifies it with anagrafica; the identity then
/// carries the organisation as `on_behalf_of` with this ruolo and no delega id.
pub const RUOLO_LEGALE_RAPPRESENTANTE: &str = "legale_rappresentante";

/// The profiles of SPEC §7 / issue 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Prestatore,
    Utilizzatore,
    Intermediario,
    Azienda,
    SoggettoAbilitato,
    OperatoreSede,
    OperatoreDg,
    /// A payments feed (Agenzia delle Entrate's F24, pagoPA): a service identity, never a person;
    /// its subject is the feed's id (e.g. `AGENZIA-ENTRATE`), not a codice fiscale (POR-2).
    FlussoPagamenti,
    Sistema,
}

impl Profile {
    pub const ALL: [Profile; 9] = [
        Profile::Prestatore,
        Profile::Utilizzatore,
        Profile::Intermediario,
        Profile::Azienda,
        Profile::SoggettoAbilitato,
        Profile::OperatoreSede,
        Profile::OperatoreDg,
        Profile::FlussoPagamenti,
        Profile::Sistema,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Prestatore => "prestatore",
            Profile::Utilizzatore => "utilizzatore",
            Profile::Intermediario => "intermediario",
            Profile::Azienda => "azienda",
            Profile::SoggettoAbilitato => "soggetto_abilitato",
            Profile::OperatoreSede => "operatore_sede",
            Profile::OperatoreDg => "operatore_dg",
            Profile::FlussoPagamenti => "flusso_pagamenti",
            Profile::Sistema => "sistema",
        }
    }

    pub fn is_operator(self) -> bool {
        matches!(self, Profile::OperatoreSede | Profile::OperatoreDg)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Profile::ALL.iter().map(|p| p.as_str()).collect();
            format!("unknown profile {s:?} (one of: {})", names.join(", "))
        })
    }
}

/// An authenticated party: its codice fiscale, profile and, for sede operators, the sede.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    pub cf: String,
    pub profile: Profile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sede: Option<String>,
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("cf", &mask(&self.cf))
            .field("profile", &self.profile)
            .field("sede", &self.sede)
            .finish()
    }
}

/// The subject a caller acts for under a delega verified by the gateway (DEL-2).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OnBehalf {
    pub cf: String,
    pub ruolo: String,
    pub delega_id: String,
}

impl fmt::Debug for OnBehalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnBehalf")
            .field("cf", &mask(&self.cf))
            .field("ruolo", &self.ruolo)
            .field("delega_id", &self.delega_id)
            .finish()
    }
}

/// The verified identity a service authorizes on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub caller: Principal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<OnBehalf>,
    /// For `sistema` calls between contexts: the client whose request caused the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Box<Identity>>,
}

impl Identity {
    pub fn new(caller: Principal) -> Identity {
        Identity {
            caller,
            on_behalf_of: None,
            origin: None,
        }
    }

    /// The CF whose records the request is about: the delegante when acting under a delega.
    pub fn subject_cf(&self) -> &str {
        self.on_behalf_of
            .as_ref()
            .map(|o| o.cf.as_str())
            .unwrap_or(&self.caller.cf)
    }

    pub fn profile(&self) -> Profile {
        self.caller.profile
    }

    /// The one rule of "who acts for an organisation" (docs/decisions.md): the caller acts for
    /// `cf` when it is the request's subject, i.e. `cf` itself, a delegato under a delega the
    /// gateway verified (DEL-2), or the organisation's registered legal representative acting
    /// for it (verified by the gateway with anagrafica, [`RUOLO_LEGALE_RAPPRESENTANTE`]).
    /// Operators and the platform are authorized by their own scope rules, not by this.
    pub fn acts_for(&self, cf: &str) -> bool {
        !self.is_operator() && !self.is_system() && self.subject_cf() == cf
    }

    /// Acting for an organisation as its registered legal representative (not a delega).
    pub fn is_legale_rappresentante(&self) -> bool {
        self.on_behalf_of
            .as_ref()
            .is_some_and(|o| o.ruolo == RUOLO_LEGALE_RAPPRESENTANTE)
    }

    pub fn is_operator(&self) -> bool {
        self.caller.profile.is_operator()
    }

    pub fn is_system(&self) -> bool {
        self.caller.profile == Profile::Sistema
    }

    /// A payments feed (POR-2).
    pub fn is_flusso_pagamenti(&self) -> bool {
        self.caller.profile == Profile::FlussoPagamenti
    }

    /// The sede of a sede operator.
    pub fn operator_sede(&self) -> Option<&str> {
        match self.caller.profile {
            Profile::OperatoreSede => self.caller.sede.as_deref(),
            _ => None,
        }
    }

    /// The identity to audit: the original client for system calls, else the caller.
    pub fn author(&self) -> &Identity {
        match &self.origin {
            Some(o) => o.author(),
            None => self,
        }
    }
}

/// Masks a codice fiscale (or any identifier) for logs: personal data never reaches them (GW-5).
pub fn mask(cf: &str) -> String {
    let n = cf.chars().count();
    if n <= 4 {
        return "*".repeat(n);
    }
    let head: String = cf.chars().take(3).collect();
    let tail: String = cf.chars().skip(n - 1).collect();
    format!("{head}{}{tail}", "*".repeat(n - 4))
}
