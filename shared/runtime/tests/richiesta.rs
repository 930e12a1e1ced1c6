//! The per-request layer (`occasionali_runtime::richiesta`) on a real server over loopback TCP:
//! the code of the log line is the one the caller got, read from the trailers when the answer
//! sent a message first, CANCELLED when the caller went away before any status, and health
//! checks leave no line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use occasionali_runtime::server::{self, ServeOptions};
use occasionali_runtime::shutdown;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::Channel;
use tower::{Service, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

/// A service answering by hand: `Trailers` sends one message and then NOT_FOUND in the
/// trailers; `Lenta` answers only after a minute.
#[derive(Clone)]
struct Prova;

impl NamedService for Prova {
    const NAME: &'static str = "prova.Prova";
}

impl Service<http::Request<Body>> for Prova {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let lenta = request.uri().path().ends_with("/Lenta");
        Box::pin(async move {
            if lenta {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            let body = MessaggioETrailer { fase: 0 };
            Ok(http::Response::builder()
                .header("content-type", "application/grpc")
                .body(Body::new(body))
                .unwrap())
        })
    }
}

/// One empty message, then trailers with grpc-status 5.
struct MessaggioETrailer {
    fase: u8,
}

impl http_body::Body for MessaggioETrailer {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, tonic::Status>>> {
        self.fase += 1;
        Poll::Ready(match self.fase {
            1 => Some(Ok(http_body::Frame::data(Bytes::from_static(&[0, 0, 0, 0, 0])))),
            2 => {
                let mut trailers = http::HeaderMap::new();
                trailers.insert("grpc-status", http::HeaderValue::from_static("5"));
                Some(Ok(http_body::Frame::trailers(trailers)))
            }
            _ => None,
        })
    }
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn richieste(&self) -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"] == occasionali_runtime::richiesta::TARGET)
            .collect()
    }
}

fn grpc(addr: std::net::SocketAddr, path: &str) -> http::Request<Body> {
    http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::empty())
        .unwrap()
}

/// Reads a body to its end; the trailers' status, if any.
async fn leggi(mut body: Body) -> Option<String> {
    let mut status = None;
    while let Some(frame) =
        std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await
    {
        if let Ok(trailers) = frame.unwrap().into_trailers() {
            status = trailers
                .get("grpc-status")
                .map(|v| v.to_str().unwrap().to_string());
        }
    }
    status
}

#[tokio::test(flavor = "current_thread")]
async fn the_logged_code_is_the_one_the_caller_got() {
    let log = Log::default();
    let scrittore = log.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(move || scrittore.clone()),
    );
    // The server runs on this thread (current-thread runtime): it logs through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, stop) = shutdown::channel();
    let options = ServeOptions {
        name: "prova".into(),
        services: vec!["prova.Prova".into()],
        drain: Duration::ZERO,
        tls: None,
    };
    let serving = tokio::spawn(server::serve(listener, options, Routes::new(Prova), stop));
    let mut channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    // A status in the trailers, after a message.
    let response = channel
        .ready()
        .await
        .unwrap()
        .call(grpc(addr, "/prova.Prova/Trailers"))
        .await
        .unwrap();
    assert!(response.headers().get("grpc-status").is_none());
    assert_eq!(leggi(response.into_body()).await.as_deref(), Some("5"));

    // A caller that gives up before any answer.
    let chiamata = channel
        .ready()
        .await
        .unwrap()
        .call(grpc(addr, "/prova.Prova/Lenta"));
    let lenta = tokio::time::timeout(Duration::from_millis(200), chiamata).await;
    assert!(lenta.is_err());

    // A health check: no line.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();

    let mut righe = Vec::new();
    for _ in 0..100 {
        righe = log.richieste();
        if righe.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let codici: Vec<(&str, &str)> = righe
        .iter()
        .map(|r| {
            (
                r["fields"]["method"].as_str().unwrap(),
                r["fields"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codici,
        vec![
            ("prova.Prova/Trailers", "NOT_FOUND"),
            ("prova.Prova/Lenta", "CANCELLED"),
        ]
    );
    trigger.trigger();
    serving.await.unwrap().unwrap();
}
