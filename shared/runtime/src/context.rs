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

    /// The RPC that ingests a run of events in one call (`occasionali.common.v1.IngestEvents*`),
    /// when the subscriber has one: the relay prefers it (issue 11).
    pub fn ingest_batch_method(self) -> Option<&'static str> {
        match self {
            Context::Notifiche => Some("/occasionali.notifiche.v1.NotificheInternalService/IngestEvents"),
            _ => None,
        }
    }

    /// The fully qualified name of the context's internal service (GW-6): what only the
    /// platform's `sistema` identity may call and the gateway never routes. Its process
    /// advertises it in reflection beside the public service.
    pub fn internal_service_name(self) -> Option<&'static str> {
        match self {
            Context::Portafoglio => Some("occasionali.portafoglio.v1.PortafoglioInternalService"),
            Context::Prestazioni => Some("occasionali.prestazioni.v1.PrestazioniInternalService"),
            Context::Notifiche => Some("occasionali.notifiche.v1.NotificheInternalService"),
            Context::Anagrafica => Some("occasionali.anagrafica.v1.AnagraficaInternalService"),
            Context::Deleghe => Some("occasionali.deleghe.v1.DelegheInternalService"),
            Context::Comunicazioni => None,
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

/// Whether a gRPC path such as `/occasionali.portafoglio.v1.PortafoglioInternalService/ReserveFunds`
/// names an internal service: by convention (ARCHITECTURE.md) its name ends with
/// `InternalService`. The gateway never routes one (GW-6), whatever the context.
pub fn is_internal_path(path: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|p| p.split('/').next())
        .and_then(|service| service.rsplit('.').next())
        .is_some_and(|name| name.ends_with("InternalService"))
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
            Context::from_grpc_path("/occasionali.deleghe.v1.DelegheService/GetDelega"),
            Some(Context::Deleghe)
        );
        assert_eq!(Context::from_grpc_path("/grpc.health.v1.Health/Check"), None);
        assert_eq!(Context::from_grpc_path("/occasionali.anagrafica.v10.X/Y"), None);
    }

    #[test]
    fn gw_6_internal_services_are_recognised_by_name() {
        for ctx in Context::ALL {
            assert!(!is_internal_path(&format!("/{}/X", ctx.service_name())));
            if let Some(internal) = ctx.internal_service_name() {
                assert!(internal.starts_with(ctx.package()));
                assert!(is_internal_path(&format!("/{internal}/X")));
                // Still the context's package: only the gateway's rule keeps it out.
                assert_eq!(Context::from_grpc_path(&format!("/{internal}/X")), Some(ctx));
            }
        }
        assert!(is_internal_path(
            "/occasionali.notifiche.v1.NotificheInternalService/IngestEvent"
        ));
        assert!(!is_internal_path("/grpc.health.v1.Health/Check"));
        assert!(!is_internal_path("/occasionali.x.v1.InternalServiceHelper/Y"));
        assert!(!is_internal_path(""));
    }
}
