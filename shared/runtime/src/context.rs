//! The bounded contexts of the platform and the facts every process needs about them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    Anagrafica,
    Portafoglio,
    Prestazioni,
    Comunicazioni,
    Deleghe,
    Notifiche,
}

impl Context {
    pub const ALL: [Context; 6] = [
        Context::Anagrafica,
        Context::Portafoglio,
        Context::Prestazioni,
        Context::Comunicazioni,
        Context::Deleghe,
        Context::Notifiche,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Anagrafica => "anagrafica",
            Context::Portafoglio => "portafoglio",
            Context::Prestazioni => "prestazioni",
            Context::Comunicazioni => "comunicazioni",
            Context::Deleghe => "deleghe",
            Context::Notifiche => "notifiche",
        }
    }

    /// Default port in `occasionali dev` (ARCHITECTURE.md: contexts on 50061–50066).
    pub fn default_port(self) -> u16 {
        match self {
            Context::Anagrafica => 50061,
            Context::Portafoglio => 50062,
            Context::Prestazioni => 50063,
            Context::Comunicazioni => 50064,
            Context::Deleghe => 50065,
            Context::Notifiche => 50066,
        }
    }

    /// The proto package every API of the context lives in.
    pub fn package(self) -> &'static str {
        match self {
            Context::Anagrafica => "occasionali.anagrafica.v1",
            Context::Portafoglio => "occasionali.portafoglio.v1",
            Context::Prestazioni => "occasionali.prestazioni.v1",
            Context::Comunicazioni => "occasionali.comunicazioni.v1",
            Context::Deleghe => "occasionali.deleghe.v1",
            Context::Notifiche => "occasionali.notifiche.v1",
        }
    }

    /// The fully qualified name of the context's gRPC service.
    pub fn service_name(self) -> &'static str {
        match self {
            Context::Anagrafica => "occasionali.anagrafica.v1.AnagraficaService",
            Context::Portafoglio => "occasionali.portafoglio.v1.PortafoglioService",
            Context::Prestazioni => "occasionali.prestazioni.v1.PrestazioniService",
            Context::Comunicazioni => "occasionali.comunicazioni.v1.ComunicazioniService",
            Context::Deleghe => "occasionali.deleghe.v1.DelegheService",
            Context::Notifiche => "occasionali.notifiche.v1.NotificheService",
        }
    }

    /// The RPC through which the context ingests other contexts' events (the relay delivers
    /// them there), if it subscribes to any.
    pub fn ingest_method(self) -> Option<&'static str> {
        match self {
            Context::Notifiche => Some("/occasionali.notifiche.v1.NotificheInternalService/IngestEvent"),
            _ => None,
        }
    }

    /// The context owning a gRPC path such as `/occasionali.anagrafica.v1.AnagraficaService/GetSoggetto`.
    /// Routing by package means a new RPC or service in a context needs no gateway change.
    pub fn from_grpc_path(path: &str) -> Option<Context> {
        let service = path.strip_prefix('/')?.split('/').next()?;
        Context::ALL.into_iter().find(|c| {
            service
                .strip_prefix(c.package())
                .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Context {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Context::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown context {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_package() {
        assert_eq!(
            Context::from_grpc_path("/occasionali.anagrafica.v1.AnagraficaService/GetSoggetto"),
            Some(Context::Anagrafica)
        );
        assert_eq!(
            Context::from_grpc_path("/occasionali.deleghe.v1.DelegheService/CheckDelega"),
            Some(Context::Deleghe)
        );
        assert_eq!(Context::from_grpc_path("/grpc.health.v1.Health/Check"), None);
        assert_eq!(Context::from_grpc_path("/occasionali.anagrafica.v10.X/Y"), None);
    }
}
