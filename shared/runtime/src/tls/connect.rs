//! The client's side of mutual TLS: the certificate a process presents when it calls another
//! and the CAs it checks the other's certificate against, as tonic's [`ClientTlsConfig`] for
//! the endpoint being built.
//!
//! tonic's balanced channel connects its endpoints with their own connector (no custom one can
//! be given), so a reload reaches a connection through its endpoint: a channel rebuilds its
//! endpoints when [`ClientTls::generation`] moves (`client::balanced_channel`). Connections
//! already open keep working meanwhile: the old certificate is still valid (cert-manager
//! renews a third of the lifetime ahead).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::{Pems, TlsFiles, Watched};

/// How long a handshake with a server may take.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// This process's client certificate and the CAs it trusts, reloaded when the files change.
#[derive(Clone)]
pub struct ClientTls {
    current: Arc<Watched<Loaded>>,
}

struct Loaded {
    ca: Certificate,
    identity: Identity,
}

impl ClientTls {
    /// Loads the files now; `files.ca` is required (a server is trusted only if it chains to
    /// it). Fails if they do not load.
    pub fn load(files: TlsFiles) -> anyhow::Result<ClientTls> {
        if files.ca.is_none() {
            anyhow::bail!("a TLS client needs the CA its servers' certificates are checked against");
        }
        Ok(ClientTls {
            current: Arc::new(Watched::load(files, loaded)?),
        })
    }

    /// Moves each time the files changed and loaded: endpoints built before are stale.
    pub fn generation(&self) -> u64 {
        self.current.current().1
    }

    /// The TLS settings of a new endpoint whose server must present a certificate for
    /// `server_name` (the name the caller was configured with, never the address it resolved
    /// to: it is also the SNI), signed by a trusted CA.
    pub fn config(&self, server_name: &str) -> ClientTlsConfig {
        let (loaded, _) = self.current.current();
        ClientTlsConfig::new()
            .ca_certificate(loaded.ca.clone())
            .identity(loaded.identity.clone())
            .domain_name(server_name)
            .timeout(HANDSHAKE_LIMIT)
    }
}

fn loaded(pems: &Pems, files: &TlsFiles) -> anyhow::Result<Loaded> {
    // Parsed and checked here, so a bad file is refused at load time rather than at the first
    // connection (tonic parses again when the endpoint is built).
    pems.identity(files)?;
    pems.roots(files)?;
    Ok(Loaded {
        ca: Certificate::from_pem(pems.ca.clone().unwrap_or_default()),
        identity: Identity::from_pem(&pems.cert, &pems.key),
    })
}

/// The process's client TLS: every `https://` channel built without an explicit one uses it.
/// A process has one identity towards the others, set once at start-up from `[tls]`; a
/// process-wide setting spares every context's wiring a parameter it would only pass along.
static INSTALLED: RwLock<Option<ClientTls>> = RwLock::new(None);

/// Sets (or, with None, clears) the process's client TLS.
pub fn install_client(tls: Option<ClientTls>) {
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = tls;
}

/// The process's client TLS, if one was installed.
pub fn installed_client() -> Option<ClientTls> {
    INSTALLED.read().unwrap_or_else(PoisonError::into_inner).clone()
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("cert", &self.current.files.cert)
            .field("ca", &self.current.files.ca)
            .finish()
    }
}
