//! One request, seen by the server that answers it: a layer around everything a server serves
//! that opens the server span (named by the RPC), measures `rpc.server.duration`, reads the
//! gRPC status the caller actually gets, and writes one log line when the answer is over.
//!
//! Why a layer and not tonic's `trace_fn`: the status is in the response headers of a
//! trailers-only answer (most refusals) but in the trailers of an answer that sent a message
//! (and of every stream), so only something that follows the response body to its end can read
//! it; and the span must stay open until then. The layer sits outside [`crate::wire`], so it
//! reports the status after that layer's rewriting, the one the caller sees.
//!
//! Health checks and reflection are neither traced, measured nor logged: probes every few
//! seconds would drown the calls that matter.
//!
//! Who called: the code that verifies an identity (the gateway's authenticator, a context's
//! identity interceptor) hands its CF to [`soggetto`]; the layer logs it masked
//! ([`crate::identity::mask`]), never in clear.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use bytes::Bytes;
use tonic::body::Body;
use tonic::{Code, Status};
use tracing::Instrument as _;

use crate::server::{HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA};
use crate::{metriche, telemetry};

/// The log target of the per-request lines (a filter can silence or keep them alone).
pub const TARGET: &str = "occasionali::richiesta";

tokio::task_local! {
    /// Where the request being served records who called, once verified.
    static SOGGETTO: Arc<OnceLock<String>>;
}

/// Records that the request being served is made by `cf` (verified): the per-request line and
/// the server span carry it masked. Outside a request (a background task) it does nothing.
pub fn soggetto(cf: &str) {
    let _ = SOGGETTO.try_with(|s| s.set(crate::identity::mask(cf)));
}

/// Whether calls to `service` go unobserved (health probes, reflection).
pub fn silenzioso(service: &str) -> bool {
    [HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA].contains(&service)
}

/// An outgoing call to `path` (`/package.Service/Method`) made by `call`: a client span named by
/// the RPC around it (the trace context injected inside `call` names this span as the server
/// span's parent) and its `rpc.client.duration`. The status is the one the call returned;
/// unlike a server span, a client span is Error for every non-OK code (OpenTelemetry's gRPC
/// conventions: the caller did not get what it asked for).
pub async fn in_uscita<T>(path: &str, call: impl Future<Output = Result<T, Status>>) -> Result<T, Status> {
    let (service, method) = rpc(path);
    let span = tracing::info_span!(
        "grpc.client",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
    );
    let inizio = Instant::now();
    let esito = call.instrument(span.clone()).await;
    let code = match &esito {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    };
    span.record("rpc.grpc.status_code", code as i64);
    if code != Code::Ok {
        span.record("otel.status_code", "ERROR");
    }
    metriche::rpc_client_duration(service, method, code, inizio.elapsed());
    esito
}

/// `/package.Service/Method` → (`package.Service`, `Method`).
pub fn rpc(path: &str) -> (&str, &str) {
    let path = path.strip_prefix('/').unwrap_or(path);
    match path.rsplit_once('/') {
        Some((service, method)) => (service, method),
        None => (path, ""),
    }
}

/// Wraps a server's routes (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct RichiestaLayer;

impl<S> tower::Layer<S> for RichiestaLayer {
    type Service = Richiesta<S>;

    fn layer(&self, inner: S) -> Richiesta<S> {
        Richiesta { inner }
    }
}

#[derive(Clone, Debug)]
pub struct Richiesta<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Richiesta<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = rpc(request.uri().path());
        if silenzioso(service) {
            return Box::pin(self.inner.call(request));
        }
        let (service, method) = (service.to_string(), method.to_string());
        let span = telemetry::server_span(&request, &service, &method);
        let trace_id = telemetry::trace_id(&span);
        if let Some(id) = &trace_id {
            // Every log line inside the request shows it among its span's fields.
            span.record("trace_id", id.as_str());
        }
        let soggetto = Arc::new(OnceLock::new());
        let esito = Esito {
            inizio: Instant::now(),
            service,
            method,
            span: span.clone(),
            trace_id,
            soggetto: soggetto.clone(),
            code: None,
        };
        // Interceptors run when the call is made, handlers when its future is polled: both
        // inside the span and with somewhere to put the subject.
        let answer = {
            let _entered = span.enter();
            SOGGETTO.sync_scope(soggetto.clone(), || self.inner.call(request))
        };
        Box::pin(async move {
            let mut esito = esito;
            let response = SOGGETTO.scope(soggetto, answer.instrument(span)).await?;
            if let Some(code) = status(response.headers()) {
                // Trailers-only: the status is already here.
                esito.code = Some(code);
                return Ok(response);
            }
            Ok(response.map(|body| {
                Body::new(Seguito {
                    inner: body,
                    esito: Some(esito),
                })
            }))
        })
    }
}

/// The gRPC status code in `headers` (response headers or trailers), if any.
fn status(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get(Status::GRPC_STATUS)
        .map(|c| Code::from_bytes(c.as_bytes()))
}

/// A response body followed to its trailers, where the status of an answer that sent messages is.
struct Seguito {
    inner: Body,
    esito: Option<Esito>,
}

impl http_body::Body for Seguito {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        match &frame {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(code) = f.trailers_ref().and_then(status)
                    && let Some(mut esito) = self.esito.take()
                {
                    esito.code = Some(code);
                }
            }
            // The body failed: the caller sees a reset stream, not a status.
            Poll::Ready(Some(Err(e))) => {
                if let Some(mut esito) = self.esito.take() {
                    esito.code = Some(e.code());
                }
            }
            // Ended without trailers: no status reached the caller.
            Poll::Ready(None) => {
                if let Some(mut esito) = self.esito.take() {
                    esito.code = Some(Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// How one request ended, reported when dropped: at the status, or when the caller went away
/// before it (CANCELLED, as the caller's own library reports it).
struct Esito {
    inizio: Instant,
    service: String,
    method: String,
    span: tracing::Span,
    trace_id: Option<String>,
    soggetto: Arc<OnceLock<String>>,
    code: Option<Code>,
}

impl Drop for Esito {
    fn drop(&mut self) {
        let code = self.code.unwrap_or(Code::Cancelled);
        let durata = self.inizio.elapsed();
        metriche::rpc_server_duration(&self.service, &self.method, code, durata);
        self.span.record("rpc.grpc.status_code", code as i64);
        if errore_del_server(code) {
            self.span.record("otel.status_code", "ERROR");
        }
        let subject = self.soggetto.get().map(String::as_str);
        if let Some(s) = subject {
            self.span.record("subject", s);
        }
        tracing::info!(
            target: TARGET,
            parent: &self.span,
            method = %format_args!("{}/{}", self.service, self.method),
            code = nome(code),
            duration_ms = durata.as_secs_f64() * 1000.0,
            trace_id = self.trace_id.as_deref(),
            subject,
            "request"
        );
    }
}

/// A status code's canonical name (`PERMISSION_DENIED`), as the gRPC documentation and
/// grpcurl write it.
pub fn nome(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The codes that mark a server span as failed, as OpenTelemetry's gRPC conventions list them:
/// the server's own failures. A refusal of the caller's request (PERMISSION_DENIED, NOT_FOUND,
/// INVALID_ARGUMENT...) is the server working as it should; its code is on the span all the same
/// (`rpc.grpc.status_code`), and the error rate by code comes from the metric.
pub fn errore_del_server(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_rpc_path() {
        assert_eq!(
            rpc("/occasionali.prestazioni.v1.PrestazioniService/CreatePrestazione"),
            (
                "occasionali.prestazioni.v1.PrestazioniService",
                "CreatePrestazione"
            )
        );
        assert_eq!(
            rpc("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(rpc("/senza-metodo"), ("senza-metodo", ""));
    }

    #[test]
    fn health_and_reflection_go_unobserved() {
        assert!(silenzioso("grpc.health.v1.Health"));
        assert!(silenzioso("grpc.reflection.v1.ServerReflection"));
        assert!(silenzioso("grpc.reflection.v1alpha.ServerReflection"));
        assert!(!silenzioso("occasionali.anagrafica.v1.AnagraficaService"));
    }

    #[test]
    fn only_server_failures_mark_the_span_failed() {
        assert!(errore_del_server(Code::Internal));
        assert!(errore_del_server(Code::Unavailable));
        assert!(!errore_del_server(Code::PermissionDenied));
        assert!(!errore_del_server(Code::NotFound));
        assert!(!errore_del_server(Code::Ok));
    }
}
