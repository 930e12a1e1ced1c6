//! The server's side: the connections a listener accepts, as plain TCP or after a TLS
//! handshake with the configuration current at that moment (the reload point of the server's
//! certificate and trusted CAs).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::BoxStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::ServerTls;

/// How long a client may take over its handshake: a connection that sends nothing must not
/// hold a task for ever.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the server to take them.
const READY: usize = 64;

/// One accepted connection. Both kinds report the TCP socket's [`TcpConnectInfo`], so the
/// server span's `network.local.*` fields and the gateway's admission by peer address work the
/// same with TLS as without.
pub enum Connection {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection {
    fn tcp(&self) -> &TcpStream {
        match self {
            Connection::Plain(s) => s,
            Connection::Tls(s) => s.get_ref().0,
        }
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.tcp().connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Plain(s) => s.is_write_vectored(),
            Connection::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_flush(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The connections `listener` accepts, with TCP_NODELAY (gRPC writes many small frames:
/// Nagle's algorithm and delayed ACKs would add ~40 ms to calls that fan out over several
/// streams) and, with `tls`, once their handshake succeeded. Handshakes run side by side, so a
/// slow or silent client delays no one else; a refused one is logged and dropped. Accepting
/// stops when the server drops the stream (shutdown), which closes the listener.
pub(crate) fn incoming(
    listener: TcpListener,
    tls: Option<ServerTls>,
) -> BoxStream<'static, io::Result<Connection>> {
    match tls {
        None => Box::pin(TcpListenerStream::new(listener).map(|conn| {
            conn.map(|s| {
                let _ = s.set_nodelay(true);
                Connection::Plain(s)
            })
        })),
        Some(tls) => {
            let (ready, taken) = mpsc::channel(READY);
            tokio::spawn(accept(listener, tls, ready));
            Box::pin(ReceiverStream::new(taken))
        }
    }
}

async fn accept(listener: TcpListener, tls: ServerTls, ready: mpsc::Sender<io::Result<Connection>>) {
    loop {
        let stream = tokio::select! {
            _ = ready.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was taken: the
                    // listener itself still works; a pause keeps a persistent error from
                    // spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let acceptor = TlsAcceptor::from(tls.current());
        let mutual = tls.mutual();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                Ok(Ok(conn)) => {
                    let _ = ready.send(Ok(Connection::Tls(Box::new(conn)))).await;
                }
                // A connection closed before any handshake (a TCP probe, a port scan): nothing
                // was refused.
                Ok(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                    tracing::debug!(%error, "connection closed before the TLS handshake");
                }
                // The peer's address is not logged: on the gateway it is a citizen's.
                Ok(Err(error)) if mutual => {
                    // On an internal hop a refused handshake is a misconfigured process (an
                    // expired certificate, another CA) or someone who should not be there.
                    tracing::warn!(%error, "TLS handshake refused");
                }
                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake refused"),
                Err(_) => tracing::debug!("TLS handshake not finished in time: connection dropped"),
            }
        });
    }
}
