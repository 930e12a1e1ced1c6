//! Calls from one context to another: a channel that spreads calls over every replica of the
//! context (client-side balancing), a deadline on every call, the caller's `sistema` identity
//! with the original client carried along, and trace context.
//!
//! Why the client balances: HTTP/2 multiplexes every call on one long-lived connection, so a
//! Kubernetes Service (or any layer-4 balancer) pins each client to the one replica its
//! connection reached, and a second replica gets no traffic. A balanced channel resolves the
//! name itself (a headless Service answers with every ready pod), keeps a connection to each
//! address and picks one per call (tower's p2c), re-resolving every few seconds
//! (docs/decisions.md, "Client-side balancing").

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tokio::sync::watch;
use tonic::Request;
use tonic::metadata::MetadataMap;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::context::Context;
use crate::error::AppError;
use crate::identity::{IDENTITY_HEADER, Identity, InternalTokens};
use crate::shutdown::Shutdown;
use crate::tls::ClientTls;

/// How a process reaches another: HTTP/2 with the platform's flow-control windows (see
/// [`crate::server::HTTP2_STREAM_WINDOW`]), on both ends of every hop.
pub fn endpoint(endpoint: &str) -> anyhow::Result<Endpoint> {
    Ok(http2(Endpoint::from_shared(endpoint.to_string())?))
}

/// The settings of every hop, whatever the endpoint was built from.
fn http2(endpoint: Endpoint) -> Endpoint {
    endpoint
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .http2_adaptive_window(false)
        .initial_stream_window_size(crate::server::HTTP2_STREAM_WINDOW)
        .initial_connection_window_size(crate::server::HTTP2_CONNECTION_WINDOW)
}

/// A channel that connects on first use, so processes can start in any order, and spreads its
/// calls over every address the URL's host resolves to ([`balanced_channel`] with the default
/// [`Balancing`]).
pub fn lazy_channel(url: &str) -> anyhow::Result<Channel> {
    Ok(balanced_channel(url, Balancing::default())?.0)
}

/// How a balanced channel keeps its set of addresses.
#[derive(Clone, Debug)]
pub struct Balancing {
    /// How often the name is resolved again: replicas come and go (a scale-out, a rolling
    /// update) and a headless Service's answer follows them.
    pub resolve_every: Duration,
    /// How often each address's health is checked when there is more than one: a replica
    /// that stopped answering, or that reports NOT_SERVING (draining for a shutdown, its
    /// database gone), gets no calls while another one serves. Shorter than the drain of
    /// `occasionali serve` (5 s), so a replica shutting down is left before it stops.
    pub check_every: Duration,
    /// Stops the refresh at shutdown (it also stops when the channel is dropped); the channel
    /// keeps the addresses it has.
    pub shutdown: Option<Shutdown>,
    /// The client certificate and trusted CAs of an `https://` URL (mutual TLS, issue 14); by
    /// default the process's ([`crate::tls::install_client`]). Each connection checks the
    /// server's certificate against the URL's host, whichever address it goes to.
    pub tls: Option<ClientTls>,
}

impl Default for Balancing {
    fn default() -> Balancing {
        Balancing {
            resolve_every: Duration::from_secs(5),
            check_every: Duration::from_secs(1),
            shutdown: None,
            tls: crate::tls::installed_client(),
        }
    }
}

/// How long one resolution may take: the system resolver may wait on an unreachable DNS
/// server for much longer, and the last good set serves meanwhile.
const RESOLVE_LIMIT: Duration = Duration::from_secs(5);
/// How long one health check may take before the address counts as down.
const CHECK_LIMIT: Duration = Duration::from_secs(1);
/// Changes waiting for the balancer; it takes them at its next call.
const CHANGES: usize = 64;

/// A channel to every address `url`'s host resolves to: one lazily connected HTTP/2 connection
/// per address (same settings as [`endpoint`], the URL's host kept as `:authority`), a call
/// going to one of them (p2c). A background task resolves the name at once and every
/// `resolve_every`, adding new addresses and removing vanished ones; a failed resolution keeps
/// the last good set. Until the name first resolves, calls go to the URL as given, so they fail
/// as an unreachable host does (UNAVAILABLE) instead of waiting. The task ends when every clone
/// of the channel is dropped, or at `options.shutdown`. An IP literal is one address: no task.
///
/// Must be called inside a Tokio runtime (as `connect_lazy` must).
pub fn balanced_channel(url: &str, options: Balancing) -> anyhow::Result<(Channel, Addresses)> {
    let target = Arc::new(Target::parse(url, options.tls.clone())?);
    let (channel, changes) = Channel::balance_channel::<Key>(CHANGES);
    let literal = target.literal();
    let (published, addresses) = watch::channel(Arc::new(literal.clone().unwrap_or_default()));
    let addresses = Addresses {
        target: target.clone(),
        current: addresses,
        next: Arc::new(AtomicUsize::new(0)),
    };
    match literal {
        // With TLS the refresh also runs for a literal: it rebuilds the endpoint when the
        // certificate files change.
        Some(fixed) if target.tls.is_none() => {
            // Nothing to resolve, nothing to choose between. The sender is dropped once the
            // insertion is made: the balancer keeps what it has.
            for addr in fixed {
                changes
                    .try_send(Change::Insert(Key::Address(addr), target.endpoint_to(addr)?))
                    .map_err(|e| anyhow::anyhow!("balancer of {url}: {e}"))?;
            }
        }
        _ => {
            tokio::spawn(refresh(target, options, changes, published));
        }
    }
    Ok((channel, addresses))
}

/// The addresses a balanced channel currently spreads over, and a connection of one's own to
/// one of them (a stream that should not share the channel's connections).
#[derive(Clone, Debug)]
pub struct Addresses {
    target: Arc<Target>,
    current: watch::Receiver<Arc<Vec<SocketAddr>>>,
    next: Arc<AtomicUsize>,
}

impl Addresses {
    /// The addresses calls go to now (empty until the name first resolves).
    pub fn current(&self) -> Vec<SocketAddr> {
        self.current.borrow().as_ref().clone()
    }

    /// An endpoint for a connection of its own, to the next of the current addresses in turn,
    /// so streams spread as calls do; the URL as given while the name has not resolved.
    pub fn own_endpoint(&self) -> anyhow::Result<Endpoint> {
        let current = self.current.borrow().clone();
        if current.is_empty() {
            return self.target.endpoint(&Key::Unresolved);
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % current.len();
        self.target.endpoint_to(current[i])
    }

    /// Resolves once the refresh has stopped (the channel was dropped, or shutdown); at once
    /// for an IP literal, which has none.
    pub async fn stopped(&self) {
        let mut current = self.current.clone();
        while current.changed().await.is_ok() {}
    }
}

/// What the balancer knows an endpoint by.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Address(SocketAddr),
    /// The URL as given, while its name does not resolve.
    Unresolved,
}

/// A URL split into what resolution and the endpoints need.
#[derive(Debug)]
struct Target {
    /// For `https://`: the certificate presented and the CAs trusted.
    tls: Option<ClientTls>,
    url: String,
    /// `scheme://host:port`: the `:authority` every call carries, whichever address it goes to
    /// (and the name a TLS configuration would check the certificate against).
    origin: Uri,
    scheme: String,
    /// Without the brackets of an IPv6 literal.
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str, tls: Option<ClientTls>) -> anyhow::Result<Target> {
        let uri: Uri = url.parse()?;
        let scheme = uri.scheme_str().unwrap_or("http").to_string();
        let tls = match scheme.as_str() {
            "https" => Some(tls.ok_or_else(|| {
                anyhow::anyhow!("{url}: an https:// endpoint needs the process's TLS files ([tls])")
            })?),
            // Plaintext stays plaintext: `occasionali dev` and the tests call http:// URLs.
            _ => None,
        };
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow::anyhow!("{url}: no host"))?
            .clone();
        let port = authority
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let origin = Uri::builder()
            .scheme(scheme.as_str())
            .authority(authority)
            .path_and_query("/")
            .build()?;
        Ok(Target {
            tls,
            url: url.to_string(),
            origin,
            scheme,
            host,
            port,
        })
    }

    /// The one address of an IP literal.
    fn literal(&self) -> Option<Vec<SocketAddr>> {
        let ip: IpAddr = self.host.parse().ok()?;
        Some(vec![SocketAddr::new(ip, self.port)])
    }

    /// An endpoint that connects to `addr` and calls as the URL's host.
    fn endpoint_to(&self, addr: SocketAddr) -> anyhow::Result<Endpoint> {
        let uri: Uri = format!("{}://{addr}", self.scheme).parse()?;
        self.secured(http2(Endpoint::from(uri)).origin(self.origin.clone()))
    }

    fn endpoint(&self, key: &Key) -> anyhow::Result<Endpoint> {
        match key {
            Key::Address(addr) => self.endpoint_to(*addr),
            Key::Unresolved => self.secured(endpoint(&self.url)?),
        }
    }

    /// With TLS, the certificate files as they are now, and the server's certificate checked
    /// against the URL's host (also sent as SNI), not the address connected to.
    fn secured(&self, endpoint: Endpoint) -> anyhow::Result<Endpoint> {
        Ok(match &self.tls {
            Some(tls) => endpoint.tls_config(tls.config(&self.host))?,
            None => endpoint,
        })
    }

    /// The TLS files' generation, if TLS is used.
    fn tls_generation(&self) -> Option<u64> {
        self.tls.as_ref().map(ClientTls::generation)
    }

    async fn resolve(&self) -> std::io::Result<BTreeSet<SocketAddr>> {
        if let Some(ips) = hosts::lookup(&self.host) {
            return Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, self.port)).collect());
        }
        let found = tokio::time::timeout(
            RESOLVE_LIMIT,
            tokio::net::lookup_host((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "resolution timed out"))??;
        Ok(found.collect())
    }
}

/// What the last health check of an address said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    /// Not checked yet: calls may go there.
    Unknown,
    Up,
    Down,
}

/// The refresh of one balanced channel: resolves, checks, and tells the balancer what changed.
async fn refresh(
    target: Arc<Target>,
    options: Balancing,
    changes: Sender<Change<Key, Endpoint>>,
    published: watch::Sender<Arc<Vec<SocketAddr>>>,
) {
    let mut state = Refresh {
        target,
        changes,
        published,
        resolved: BTreeSet::new(),
        health: HashMap::new(),
        inserted: BTreeSet::new(),
        failing: false,
        tls_generation: None,
    };
    state.tls_generation = state.target.tls_generation();
    let stop = async move {
        match options.shutdown {
            Some(s) => s.wait().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop);
    let mut resolve = tokio::time::interval(options.resolve_every);
    resolve.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut check = tokio::time::interval(options.check_every);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let step = tokio::select! {
            _ = &mut stop => return,
            // Every clone of the channel is gone: the balancer, and with it the receiver.
            _ = state.changes.closed() => return,
            _ = resolve.tick() => state.resolve().await,
            _ = check.tick(), if state.resolved.len() > 1 => state.check().await,
        };
        if step.is_err() {
            return;
        }
    }
}

/// The balancer's receiver is gone: the channel was dropped.
struct Closed;

struct Refresh {
    target: Arc<Target>,
    changes: Sender<Change<Key, Endpoint>>,
    published: watch::Sender<Arc<Vec<SocketAddr>>>,
    /// The last good resolution.
    resolved: BTreeSet<SocketAddr>,
    /// Each resolved address's health, and the channel its checks use (its own connection:
    /// a check must not wait behind the calls, nor count as one).
    health: HashMap<SocketAddr, (Health, HealthClient<Channel>)>,
    /// What the balancer has now.
    inserted: BTreeSet<Key>,
    /// Resolution is failing (logged once, not at every attempt).
    failing: bool,
    /// The TLS files' generation the endpoints were built with.
    tls_generation: Option<u64>,
}

impl Refresh {
    async fn resolve(&mut self) -> Result<(), Closed> {
        self.renew_tls().await?;
        match self.target.resolve().await {
            Ok(found) if !found.is_empty() => {
                if self.failing {
                    self.failing = false;
                    tracing::info!(host = %self.target.host, "name resolves again");
                }
                if found != self.resolved {
                    tracing::info!(
                        host = %self.target.host,
                        addresses = ?found,
                        "balancing over the addresses the name resolves to"
                    );
                    self.health.retain(|addr, _| found.contains(addr));
                    for addr in &found {
                        if !self.health.contains_key(addr) {
                            match self.target.endpoint_to(*addr) {
                                Ok(e) => {
                                    self.health.insert(
                                        *addr,
                                        (
                                            Health::Unknown,
                                            HealthClient::new(e.connect_timeout(CHECK_LIMIT).connect_lazy()),
                                        ),
                                    );
                                }
                                Err(e) => tracing::warn!(%addr, error = %e, "address left out"),
                            }
                        }
                    }
                    self.resolved = found;
                }
            }
            outcome => {
                // The last good set keeps serving: a DNS hiccup must not empty the balancer.
                if !self.failing {
                    self.failing = true;
                    let error = match outcome {
                        Ok(_) => "no addresses".to_string(),
                        Err(e) => e.to_string(),
                    };
                    tracing::warn!(
                        host = %self.target.host,
                        error = %error,
                        kept = self.resolved.len(),
                        "cannot resolve the name; keeping the last addresses and retrying"
                    );
                }
            }
        }
        self.apply().await
    }

    async fn check(&mut self) -> Result<(), Closed> {
        let checks = self.health.iter().map(|(addr, (_, client))| {
            let mut client = client.clone();
            let addr = *addr;
            async move {
                let mut request = Request::new(HealthCheckRequest {
                    service: String::new(),
                });
                request.set_timeout(CHECK_LIMIT);
                let answer = tokio::time::timeout(CHECK_LIMIT, client.check(request)).await;
                let health = match answer {
                    Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => Health::Up,
                    // A server without the health service still answers calls.
                    Ok(Err(s)) if matches!(s.code(), tonic::Code::Unimplemented | tonic::Code::NotFound) => {
                        Health::Up
                    }
                    _ => Health::Down,
                };
                (addr, health)
            }
        });
        for (addr, health) in futures::future::join_all(checks).await {
            if let Some((was, _)) = self.health.get_mut(&addr) {
                if *was != health && (health == Health::Down || *was == Health::Down) {
                    tracing::info!(
                        host = %self.target.host,
                        %addr,
                        serving = health == Health::Up,
                        "replica health changed"
                    );
                }
                *was = health;
            }
        }
        self.apply().await
    }

    /// The certificate files changed: every endpoint is built again with them. Inserting a key
    /// the balancer has replaces its endpoint; calls in flight on the old connection finish
    /// there (it closes once it has no calls left).
    async fn renew_tls(&mut self) -> Result<(), Closed> {
        let generation = self.target.tls_generation();
        if generation == self.tls_generation {
            return Ok(());
        }
        self.tls_generation = generation;
        tracing::info!(host = %self.target.host, "TLS files changed: reconnecting with them");
        for (addr, (health, client)) in self.health.iter_mut() {
            if let Ok(e) = self.target.endpoint_to(*addr) {
                *client = HealthClient::new(e.connect_timeout(CHECK_LIMIT).connect_lazy());
                *health = Health::Unknown;
            }
        }
        for key in &self.inserted {
            match self.target.endpoint(key) {
                Ok(e) => self
                    .changes
                    .send(Change::Insert(key.clone(), e))
                    .await
                    .map_err(|_| Closed)?,
                Err(e) => tracing::warn!(host = %self.target.host, error = %e, "endpoint kept as it was"),
            }
        }
        Ok(())
    }

    /// Brings the balancer to the addresses that should get calls: those resolved and not
    /// down; every resolved one if all are down (the calls then fail as they would anyway,
    /// UNAVAILABLE, instead of waiting for a replica); the URL as given before any resolution.
    async fn apply(&mut self) -> Result<(), Closed> {
        let mut wanted: BTreeSet<Key> = self
            .resolved
            .iter()
            .filter(|a| self.health.get(a).is_none_or(|(h, _)| *h != Health::Down))
            .map(|a| Key::Address(*a))
            .collect();
        if wanted.is_empty() {
            wanted = self.resolved.iter().map(|a| Key::Address(*a)).collect();
        }
        if wanted.is_empty() {
            wanted.insert(Key::Unresolved);
        }
        if wanted == self.inserted {
            return Ok(());
        }
        // Insertions first: the balancer never goes through an empty set.
        for key in wanted.difference(&self.inserted) {
            match self.target.endpoint(key) {
                Ok(e) => self
                    .changes
                    .send(Change::Insert(key.clone(), e))
                    .await
                    .map_err(|_| Closed)?,
                Err(e) => tracing::warn!(host = %self.target.host, error = %e, "endpoint left out"),
            }
        }
        for key in self.inserted.difference(&wanted) {
            self.changes
                .send(Change::Remove(key.clone()))
                .await
                .map_err(|_| Closed)?;
        }
        self.inserted = wanted;
        let addresses = self
            .inserted
            .iter()
            .filter_map(|k| match k {
                Key::Address(a) => Some(*a),
                Key::Unresolved => None,
            })
            .collect();
        self.published.send_replace(Arc::new(addresses));
        Ok(())
    }
}

/// Names this process resolves itself before asking the system resolver, as `/etc/hosts`
/// would. Only tests set any: the in-process cluster names two replicas on two loopback
/// addresses, which no resolver of the machine knows.
pub mod hosts {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{LazyLock, RwLock};

    static HOSTS: LazyLock<RwLock<HashMap<String, Vec<IpAddr>>>> = LazyLock::new(Default::default);

    /// `name` resolves to `ips` from now on (replacing what it resolved to).
    pub fn set(name: &str, ips: &[IpAddr]) {
        let mut hosts = HOSTS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        hosts.insert(name.to_ascii_lowercase(), ips.to_vec());
    }

    /// `name` is resolved by the system again.
    pub fn remove(name: &str) {
        let mut hosts = HOSTS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        hosts.remove(&name.to_ascii_lowercase());
    }

    pub(super) fn lookup(name: &str) -> Option<Vec<IpAddr>> {
        let hosts = HOSTS.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        hosts.get(&name.to_ascii_lowercase()).cloned()
    }
}

/// What a process needs to call one other context on behalf of a request: its own signing
/// key, and the context its tokens are addressed to (issue 14: a token is good for one
/// destination only).
#[derive(Clone)]
pub struct Caller {
    tokens: InternalTokens,
    destinazione: Context,
    deadline: Duration,
}

impl Caller {
    pub fn new(tokens: InternalTokens, destinazione: Context, deadline: Duration) -> Caller {
        Caller {
            tokens,
            destinazione,
            deadline,
        }
    }

    /// A request carrying our system identity for the destination, the origin and the current
    /// trace context.
    pub fn request<T>(&self, message: T, origin: Option<&Identity>) -> Result<Request<T>, AppError> {
        let mut request = Request::new(message);
        request.set_timeout(self.deadline);
        let value = self
            .tokens
            .system_call(self.destinazione, origin)
            .map_err(|s| AppError::internal(s.message()))?;
        request.metadata_mut().insert(IDENTITY_HEADER, value);
        inject_trace(request.metadata_mut());
        Ok(request)
    }
}

/// Writes the current span's trace context into a request's metadata (GW-1).
pub fn inject_trace(metadata: &mut MetadataMap) {
    let mut headers = http::HeaderMap::new();
    crate::telemetry::inject_current(&mut headers);
    for (k, v) in headers.iter() {
        if let (Ok(key), Ok(val)) = (
            tonic::metadata::MetadataKey::from_bytes(k.as_str().as_bytes()),
            tonic::metadata::MetadataValue::try_from(v.as_bytes()),
        ) {
            metadata.insert(key, val);
        }
    }
}
