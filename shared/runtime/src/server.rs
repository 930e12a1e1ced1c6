//! Serving a process: the given routes plus gRPC health and server reflection (v1 and v1alpha,
//! so grpcurl 1.8 works, GW-2), a server span, a duration and a log line per request
//! ([`crate::richiesta`]), and a graceful shutdown that first reports NOT_SERVING so load
//! balancers stop sending work, then drains. A context's health also follows its database:
//! NOT_SERVING while the database does not answer.

use std::net::SocketAddr;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::shutdown::Shutdown;

pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
pub const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
pub const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// How often a context checks that its database answers.
pub const DATABASE_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long a database check may take before the database counts as unreachable. The pool's
/// acquire timeout (1.5 s by default) usually fails the check first; this bounds a check stuck
/// on a connection that stopped answering.
pub const DATABASE_CHECK_LIMIT: Duration = Duration::from_secs(2);

/// HTTP/2 flow control, the same on every hop (client → gateway → context). h2 refuses a whole
/// connection (GOAWAY `ENHANCE_YOUR_CALM "too_many_data_frames"`) once the DATA frames under
/// 256 bytes it holds unread cost more than half the connection window, each costing 256 minus
/// its size. A feed whose reader (one database transaction per record) is slower than its sender
/// fills its stream window with one-record frames: with the former 1 MiB windows, ~3,300 F24
/// records did it (issue 12). A stream's unread data never exceeds its stream window, so with
/// the connection window eight times the stream window one stream of messages of 52 bytes or
/// more can never exhaust the budget, however slow its reader. A stream's window is still large
/// enough to keep a feed at full speed across a data centre (1 MiB per round trip).
pub const HTTP2_STREAM_WINDOW: u32 = 1024 * 1024;
/// See [`HTTP2_STREAM_WINDOW`]: eight times it.
pub const HTTP2_CONNECTION_WINDOW: u32 = 8 * HTTP2_STREAM_WINDOW;
/// Streams one connection may have open at once. The gateway carries every client's calls to a
/// context over one connection, so this is that context's concurrency from the gateway; a
/// client's own connection to the gateway cannot open more either.
pub const HTTP2_MAX_CONCURRENT_STREAMS: u32 = 1024;

/// What to serve.
pub struct ServeOptions {
    /// Process name, for logs.
    pub name: String,
    /// Fully qualified names of the application services in `routes`: advertised by
    /// reflection and reported by health.
    pub services: Vec<String>,
    /// How long to report NOT_SERVING before refusing new calls (Kubernetes drain).
    pub drain: Duration,
    /// TLS on the listener (mutual between processes, server-only on the gateway's public
    /// side); None: plaintext h2c.
    pub tls: Option<crate::tls::ServerTls>,
}

/// Binds a listener; port 0 picks a free port (tests).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    use anyhow::Context as _;
    // The io::Error stays in the chain: callers (the test harness) tell "address in use" apart.
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// `app` plus health and reflection for `services`; the reporter lets the caller change
/// statuses later.
pub async fn standard_routes(app: Routes, services: &[String]) -> anyhow::Result<(Routes, HealthReporter)> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for s in services {
        reporter
            .set_service_status(s.as_str(), ServingStatus::Serving)
            .await;
    }
    reporter.set_service_status("", ServingStatus::Serving).await;

    // Beside our APIs: health (so grpcurl can call it) and google.rpc error details (so
    // `grpcurl -format-error` shows field violations and rule IDs).
    let descriptors = [
        occasionali_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_types::pb::FILE_DESCRIPTOR_SET,
    ];
    let mut v1 = tonic_reflection::server::Builder::configure();
    let mut v1alpha = tonic_reflection::server::Builder::configure();
    for d in descriptors {
        v1 = v1.register_encoded_file_descriptor_set(d);
        v1alpha = v1alpha.register_encoded_file_descriptor_set(d);
    }
    let advertised =
        services
            .iter()
            .map(String::as_str)
            .chain([HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA]);
    for name in advertised {
        v1 = v1.with_service_name(name);
        v1alpha = v1alpha.with_service_name(name);
    }
    let routes = app
        .add_service(health)
        .add_service(v1.build_v1()?)
        .add_service(v1alpha.build_v1alpha()?);
    Ok((routes, reporter))
}

/// Serves `app` (plus health and reflection) on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    options: ServeOptions,
    app: Routes,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (routes, reporter) = standard_routes(app, &options.services).await?;
    serve_inner(listener, options, routes, reporter, None, shutdown).await
}

/// As [`serve`], for a context: its health also follows `database` ([`watch_database`]), so
/// load balancers and the gateway stop sending it calls it could only refuse.
pub async fn serve_context(
    listener: TcpListener,
    options: ServeOptions,
    app: Routes,
    database: DatabaseConnection,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (routes, reporter) = standard_routes(app, &options.services).await?;
    let watcher = tokio::spawn(watch_database(
        reporter.clone(),
        database,
        options.services.clone(),
        DATABASE_CHECK_EVERY,
        DATABASE_CHECK_LIMIT,
        shutdown.clone(),
    ));
    serve_inner(listener, options, routes, reporter, Some(watcher), shutdown).await
}

/// As [`serve`], for callers that built the standard routes themselves (the gateway, whose
/// health follows its backends').
pub async fn serve_with_health(
    listener: TcpListener,
    options: ServeOptions,
    routes: Routes,
    reporter: HealthReporter,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    serve_inner(listener, options, routes, reporter, None, shutdown).await
}

/// Aborts a background task when dropped (the server stopped, maybe on an error).
struct AbortOnDrop(Option<JoinHandle<()>>);

impl AbortOnDrop {
    /// Stops the task and waits until it has stopped: it writes nothing afterwards.
    async fn stop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

async fn serve_inner(
    listener: TcpListener,
    options: ServeOptions,
    routes: Routes,
    reporter: HealthReporter,
    watcher: Option<JoinHandle<()>>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(
        process = %options.name,
        %addr,
        tls = match &options.tls {
            Some(t) if t.mutual() => "mutual",
            Some(_) => "server",
            None => "none",
        },
        "serving"
    );
    let services = options.services.clone();
    let drain = options.drain;
    let name = options.name.clone();
    let plain_health = match options.tls.as_ref().and_then(crate::tls::ServerTls::plain_health) {
        Some(addr) => Some(serve_plain_health(addr, reporter.clone()).await?),
        None => None,
    };
    let mut watcher = AbortOnDrop(watcher);
    let signal = async move {
        shutdown.wait().await;
        // Shutdown wins: the database watcher is stopped before NOT_SERVING is written, so it
        // cannot set SERVING again while the process drains.
        watcher.stop().await;
        for s in &services {
            reporter
                .set_service_status(s.as_str(), ServingStatus::NotServing)
                .await;
        }
        reporter.set_service_status("", ServingStatus::NotServing).await;
        tracing::info!(process = %name, drain_ms = drain.as_millis() as u64, "shutting down: not serving, draining");
        tokio::time::sleep(drain).await;
    };
    // TCP_NODELAY, and the TLS handshake when configured (crate::tls).
    let incoming = crate::tls::incoming(listener, options.tls.clone());
    Server::builder()
        // Fixed windows (see HTTP2_STREAM_WINDOW): the adaptive window would move both to the
        // measured bandwidth-delay product and lose the ratio that keeps the frame budget safe.
        .http2_adaptive_window(Some(false))
        .initial_stream_window_size(HTTP2_STREAM_WINDOW)
        .initial_connection_window_size(HTTP2_CONNECTION_WINDOW)
        .max_concurrent_streams(HTTP2_MAX_CONCURRENT_STREAMS)
        // The span, duration metric and log line of each request (crate::richiesta): outside
        // the layers below, so it sees the status the caller gets.
        .layer(crate::richiesta::RichiestaLayer)
        // A message over its service's limit (crate::limiti) is RESOURCE_EXHAUSTED, not
        // tonic's OUT_OF_RANGE.
        .layer(crate::limiti::MessaggiTroppoGrandi)
        // Malformed requests are the caller's mistake and statuses fit in trailers (GW-3).
        .layer(crate::wire::WireLayer)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal)
        .await?;
    if let Some((stop, task)) = plain_health {
        let _ = stop.send(());
        let _ = task.await;
    }
    tracing::info!(process = %options.name, "stopped");
    Ok(())
}

/// Serves `reporter`'s health alone, plaintext, on `addr` until told to stop (after the main
/// server stopped, so it reports NOT_SERVING through the drain as the main one does).
async fn serve_plain_health(
    addr: SocketAddr,
    reporter: HealthReporter,
) -> anyhow::Result<(tokio::sync::oneshot::Sender<()>, JoinHandle<()>)> {
    let listener = bind(addr).await?;
    tracing::info!(%addr, "serving plaintext health for probes");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let health = tonic_health::pb::health_server::HealthServer::new(
        tonic_health::server::HealthService::from_health_reporter(reporter),
    );
    let task = tokio::spawn(async move {
        let outcome = Server::builder()
            .add_service(health)
            .serve_with_incoming_shutdown(tokio_stream::wrappers::TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            })
            .await;
        if let Err(error) = outcome {
            tracing::warn!(%error, "plaintext health stopped");
        }
    });
    Ok((stop, task))
}

/// Keeps a context's health in step with its database: every `every`, `SELECT 1` through the
/// pool within `limit`; NOT_SERVING (for `services` and "") while it fails, SERVING again once
/// it answers. Returns at shutdown, after which it never writes a status (the server owns them
/// while draining).
pub async fn watch_database(
    reporter: HealthReporter,
    db: DatabaseConnection,
    services: Vec<String>,
    every: Duration,
    limit: Duration,
    shutdown: Shutdown,
) {
    let mut up = true;
    loop {
        let check = tokio::select! {
            r = crate::db::ping(&db, limit) => r,
            _ = shutdown.clone().wait() => return,
        };
        if shutdown.is_triggered() {
            return;
        }
        match (&check, up) {
            (Err(error), true) => {
                tracing::warn!(?services, %error, "database unreachable: health NOT_SERVING");
            }
            (Ok(()), false) => tracing::info!(?services, "database reachable again: health SERVING"),
            _ => {}
        }
        let now_up = check.is_ok();
        if now_up != up {
            up = now_up;
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            for s in services.iter().map(String::as_str).chain([""]) {
                reporter.set_service_status(s, status).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.clone().wait() => return,
        }
    }
}
