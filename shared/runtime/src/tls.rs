//! TLS on the platform's hops (issue 14): mutual TLS between processes (each presents a
//! certificate signed by the internal CA and checks the other's against it) and, separately,
//! the gateway's public side (a server certificate only: clients authenticate with bearer
//! tokens).
//!
//! Certificates and keys come from PEM files that cert-manager rotates in place. They are read
//! again when they change, with no restart: every check (at most every `reload_every`) compares
//! the files' bytes with what was loaded; a new set that loads is used for every new connection
//! from then on, established connections keep the keys they negotiated. A set that does not
//! load (a key not matching its certificate because only one file was written yet) leaves the
//! previous one in use and is tried again at the next check.

mod accept;
mod connect;
pub mod dev;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

pub use accept::Connection;
pub(crate) use accept::incoming;
pub use connect::{ClientTls, install_client, installed_client};

/// How often the files are checked for a new certificate unless configured: cert-manager
/// renews well before expiry (a third of the lifetime), so seconds are plenty.
pub const DEFAULT_RELOAD_EVERY: Duration = Duration::from_secs(5);

/// Where one process's certificate, key and trusted CAs are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CAs a peer's certificate must chain to (one or more PEM certificates: during a CA
    /// rotation the old and the new one). None: no client certificate is asked for (the
    /// gateway's public side).
    pub ca: Option<PathBuf>,
    /// This process's certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// How often the files are checked for changes.
    pub reload_every: Duration,
}

/// The files' bytes, compared at each check.
#[derive(Clone, PartialEq, Eq)]
struct Pems {
    ca: Option<Vec<u8>>,
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl Pems {
    fn read(files: &TlsFiles) -> anyhow::Result<Pems> {
        Ok(Pems {
            ca: files.ca.as_deref().map(read).transpose()?,
            cert: read(&files.cert)?,
            key: read(&files.key)?,
        })
    }

    /// The certificate chain and key, checked to belong together.
    fn identity(
        &self,
        files: &TlsFiles,
    ) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let chain = CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{}: not PEM certificates", files.cert.display()))?;
        if chain.is_empty() {
            bail!("{}: no certificate", files.cert.display());
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key)
            .with_context(|| format!("{}: no PEM private key", files.key.display()))?;
        // Loads the key and checks that it is the certificate's.
        rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider()).with_context(
            || {
                format!(
                    "{} is not a usable key for the certificate in {}",
                    files.key.display(),
                    files.cert.display()
                )
            },
        )?;
        Ok((chain, key))
    }

    /// The trusted CAs, if any were configured.
    fn roots(&self, files: &TlsFiles) -> anyhow::Result<Option<RootCertStore>> {
        let (Some(pem), Some(path)) = (&self.ca, &files.ca) else {
            return Ok(None);
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.with_context(|| format!("{}: not PEM certificates", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("{}: not a CA certificate", path.display()))?;
        }
        if roots.is_empty() {
            bail!("{}: no CA certificate", path.display());
        }
        Ok(Some(roots))
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The one crypto provider of every TLS hop, named explicitly: with more than one compiled in,
/// rustls would not pick a default.
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The ALPN id of HTTP/2: gRPC clients (tonic, grpcurl, Envoy) require it to be negotiated.
const ALPN_H2: &[u8] = b"h2";

/// Something built from the files, rebuilt when they change.
struct Watched<T> {
    files: TlsFiles,
    build: fn(&Pems, &TlsFiles) -> anyhow::Result<T>,
    state: Mutex<State<T>>,
}

struct State<T> {
    pems: Pems,
    built: Arc<T>,
    /// Counts the reloads: a client rebuilds its endpoints when it moves.
    generation: u64,
    checked: Instant,
    /// The last reload failure, logged once rather than at every check.
    failing: Option<String>,
}

impl<T> Watched<T> {
    /// Reads and builds now: a file that is missing or does not load is a start-up error.
    fn load(files: TlsFiles, build: fn(&Pems, &TlsFiles) -> anyhow::Result<T>) -> anyhow::Result<Watched<T>> {
        let pems = Pems::read(&files)?;
        let built = Arc::new(build(&pems, &files)?);
        Ok(Watched {
            files,
            build,
            state: Mutex::new(State {
                pems,
                built,
                generation: 0,
                checked: Instant::now(),
                failing: None,
            }),
        })
    }

    /// What to use for a new connection now, and its generation; the files are checked first
    /// if the last check is older than `reload_every`. A few small reads every few seconds: no
    /// task of its own to start and stop.
    fn current(&self) -> (Arc<T>, u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.checked.elapsed() >= self.files.reload_every {
            state.checked = Instant::now();
            let loaded = Pems::read(&self.files).and_then(|pems| {
                if pems == state.pems {
                    return Ok(None);
                }
                let built = (self.build)(&pems, &self.files)?;
                Ok(Some((pems, built)))
            });
            match loaded {
                Ok(None) => state.failing = None,
                Ok(Some((pems, built))) => {
                    state.pems = pems;
                    state.built = Arc::new(built);
                    state.generation += 1;
                    state.failing = None;
                    tracing::info!(
                        cert = %self.files.cert.display(),
                        generation = state.generation,
                        "TLS certificate files changed: new connections use them"
                    );
                }
                Err(error) => {
                    let error = format!("{error:#}");
                    if state.failing.as_ref() != Some(&error) {
                        tracing::warn!(
                            cert = %self.files.cert.display(),
                            %error,
                            "TLS certificate files changed but do not load: keeping the previous ones"
                        );
                        state.failing = Some(error);
                    }
                }
            }
        }
        (state.built.clone(), state.generation)
    }
}

/// What a server presents, and (for mTLS) whom it lets in.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<Watched<rustls::ServerConfig>>,
    health_listen: Option<std::net::SocketAddr>,
}

impl ServerTls {
    /// Mutual TLS when `files.ca` is set (a client certificate signed by one of those CAs is
    /// required), server-only TLS otherwise. Fails if the files do not load.
    pub fn load(files: TlsFiles) -> anyhow::Result<ServerTls> {
        Ok(ServerTls {
            config: Arc::new(Watched::load(files, server_config)?),
            health_listen: None,
        })
    }

    /// Also serves gRPC health alone, in plaintext, on `addr`: the kubelet's gRPC probes speak
    /// no TLS, and readiness must follow health (NOT_SERVING while draining or while the
    /// database is away). Nothing but health is there, and health tells nothing personal.
    pub fn with_plain_health(mut self, addr: Option<std::net::SocketAddr>) -> ServerTls {
        self.health_listen = addr;
        self
    }

    /// Where plaintext health is served, if anywhere.
    pub fn plain_health(&self) -> Option<std::net::SocketAddr> {
        self.health_listen
    }

    /// Whether a client certificate is required.
    pub fn mutual(&self) -> bool {
        self.config.files.ca.is_some()
    }

    /// The configuration for the next handshake.
    pub(crate) fn current(&self) -> Arc<rustls::ServerConfig> {
        self.config.current().0
    }
}

fn server_config(pems: &Pems, files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    let provider = Arc::new(provider());
    let (chain, key) = pems.identity(files)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match pems.roots(files)? {
        // The verifier refuses a handshake without a client certificate: unauthenticated
        // clients are not an option on internal hops.
        Some(roots) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?,
        ),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(config)
}
