//! A TCP proxy for outage tests: put it between a service and its database, then make the
//! database unreachable from outside the process, the way networks and servers fail.
//!
//! - [`Mode::Forward`]: bytes flow both ways.
//! - [`Mode::BlackHole`]: the hard case, a partition. Connections stay open but nothing moves
//!   either way (bytes wait in the proxy and the kernel buffers); new connections are accepted
//!   and never answered.
//! - [`Mode::Refuse`]: the server is gone. Open connections are closed and new ones refused (the
//!   port stops listening).
//!
//! Back to `Forward`, held bytes flow again and new connections reach the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Forward,
    BlackHole,
    Refuse,
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: JoinHandle<()>,
}

/// Counts the client's reads that are exactly `message` (one write of a small protocol message
/// arrives as one read on loopback), e.g. PostgreSQL's lone Sync: the pool's pings.
#[derive(Clone)]
struct Conta {
    message: &'static [u8],
    seen: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        FaultProxy::spawn(upstream, None).await
    }

    /// As [`FaultProxy::start`], also counting the client's reads that are exactly `message`.
    pub async fn counting(
        upstream: SocketAddr,
        message: &'static [u8],
    ) -> std::io::Result<(FaultProxy, Arc<AtomicUsize>)> {
        let seen = Arc::new(AtomicUsize::new(0));
        let conta = Conta {
            message,
            seen: seen.clone(),
        };
        Ok((FaultProxy::spawn(upstream, Some(conta)).await?, seen))
    }

    async fn spawn(upstream: SocketAddr, conta: Option<Conta>) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (mode, rx) = watch::channel(Mode::Forward);
        let task = tokio::spawn(accept_loop(listener, addr, upstream, rx, conta));
        Ok(FaultProxy { addr, mode, task })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    conta: Option<Conta>,
) {
    // Dropping this set (the task aborted) ends every connection.
    let mut connections = JoinSet::new();
    let mut listener = Some(listener);
    loop {
        let current = *mode.borrow_and_update();
        if current == Mode::Refuse {
            // Stop listening: connecting now fails with "connection refused".
            listener = None;
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match &listener {
            Some(l) => l,
            None => match TcpListener::bind(addr).await {
                Ok(l) => listener.insert(l),
                Err(e) => {
                    tracing::warn!(%addr, error = %e, "fault proxy cannot listen again");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((client, _)) = accepted {
                    let _ = client.set_nodelay(true);
                    connections.spawn(connection(client, upstream, mode.clone(), conta.clone()));
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        // Reap finished connections.
        while connections.try_join_next().is_some() {}
    }
}

/// Waits until traffic may flow; `false` when the connection must be cut (Refuse).
async fn may_flow(mode: &mut watch::Receiver<Mode>) -> bool {
    loop {
        match *mode.borrow_and_update() {
            Mode::Forward => return true,
            Mode::Refuse => return false,
            Mode::BlackHole => {}
        }
        if mode.changed().await.is_err() {
            return false;
        }
    }
}

async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    conta: Option<Conta>,
) {
    // A connection accepted during a black hole is held, unanswered, until the network heals.
    if !may_flow(&mut mode).await {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let (client_rd, client_wr) = client.into_split();
    let (server_rd, server_wr) = server.into_split();
    let up = pipe(client_rd, server_wr, mode.clone(), conta);
    let down = pipe(server_rd, client_wr, mode, None);
    // When one direction ends (EOF, error, Refuse), the other goes too: both halves drop.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// Copies one direction, holding the bytes while the network is black-holed.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    conta: Option<Conta>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if !may_flow(&mut mode).await {
            return;
        }
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return;
                }
                Ok(n) => n,
            },
            // Re-check the mode: a black hole stops reading at once.
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        if let Some(c) = &conta
            && buf[..n] == *c.message
        {
            c.seen.fetch_add(1, Ordering::SeqCst);
        }
        // Bytes read just as the network failed wait here for it to heal.
        if !may_flow(&mut mode).await {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `url` with its `host:port` replaced by `addr` (`postgres://u@db:5432/x` → `postgres://u@addr/x`).
pub fn through(url: &str, addr: SocketAddr) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let userinfo = authority.rfind('@').map(|i| &authority[..=i]).unwrap_or("");
    format!("{}{userinfo}{addr}{}", &url[..scheme_end], &rest[authority_end..])
}

/// The socket address of `url`'s `host:port` (PostgreSQL's 5432 when the port is left out).
pub async fn address_of(url: &str) -> std::io::Result<SocketAddr> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("no host in {url}"));
    let rest = url.split_once("://").map(|(_, r)| r).ok_or_else(bad)?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    tokio::net::lookup_host(host_port).await?.next().ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_go_through_the_proxy() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 6000));
        assert_eq!(
            through("postgres://postgres@127.0.0.1:5432/occ_x", addr),
            "postgres://postgres@127.0.0.1:6000/occ_x"
        );
        assert_eq!(
            through("postgres://u:p@db/x?sslmode=disable", addr),
            "postgres://u:p@127.0.0.1:6000/x?sslmode=disable"
        );
        assert_eq!(through("postgres://db:5432", addr), "postgres://127.0.0.1:6000");
    }
}
