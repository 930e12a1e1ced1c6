//! The byte-level proxy: request and response bodies stream through untouched; only headers
//! change (identity in, bearer token out, deadline capped, trace context injected).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use occasionali_runtime::context::{Context, is_internal_path};
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens, ON_BEHALF_OF_HEADER, RUOLO_HEADER};
use occasionali_runtime::telemetry;
use tonic::Status;
use tonic::body::Body;
use tonic::transport::Channel;
use tower::{Service, ServiceExt};
use tracing::Instrument;

use crate::auth::{self, Authenticator};

#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

struct Inner {
    backends: HashMap<Context, Channel>,
    auth: Authenticator,
    internal_tokens: InternalTokens,
    max_timeout: Duration,
}

impl Proxy {
    pub fn new(
        backends: HashMap<Context, Channel>,
        auth: Authenticator,
        internal_tokens: InternalTokens,
        max_timeout: Duration,
    ) -> Proxy {
        Proxy {
            inner: Arc::new(Inner {
                backends,
                auth,
                internal_tokens,
                max_timeout,
            }),
        }
    }
}

impl<B> Service<http::Request<B>> for Proxy
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            Ok(match inner.forward(request).await {
                Ok(response) => response,
                Err(status) => status.into_http(),
            })
        })
    }
}

impl Inner {
    async fn forward<B>(&self, request: http::Request<B>) -> Result<http::Response<Body>, Status>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<tonic::codegen::StdError>,
    {
        let path = request.uri().path().to_string();
        // GW-6: internal services are the platform's own; no client reaches them through here,
        // whoever it is, and no backend is touched.
        if is_internal_path(&path) {
            return Err(Status::unimplemented(format!(
                "{} is not a public service",
                path.trim_start_matches('/').split('/').next().unwrap_or_default()
            )));
        }
        let context = Context::from_grpc_path(&path)
            .ok_or_else(|| Status::unimplemented(format!("unknown service for {path}")))?;
        let channel = self
            .backends
            .get(&context)
            .cloned()
            .ok_or_else(|| Status::unavailable(format!("no backend configured for {context}")))?;

        let (mut parts, body) = request.into_parts();
        let identity = self.auth.identity(&parts.headers, &path).await?;
        let token = auth::internal_token(&self.internal_tokens, &identity)?;
        parts.headers.remove(http::header::AUTHORIZATION);
        // The services read the verified identity only.
        parts.headers.remove(ON_BEHALF_OF_HEADER);
        parts.headers.remove(RUOLO_HEADER);
        parts.headers.insert(IDENTITY_HEADER, token);

        let deadline = client_deadline(&parts.headers).map_or(self.max_timeout, |d| d.min(self.max_timeout));
        if let Ok(v) = http::HeaderValue::from_str(&format!("{}m", deadline.as_millis().max(1))) {
            parts.headers.insert("grpc-timeout", v);
        }

        let span = tracing::info_span!(
            "gateway.route",
            otel.kind = "client",
            rpc.method = %path,
            context = %context,
            profile = %identity.profile(),
        );
        {
            let _entered = span.enter();
            telemetry::inject_current(&mut parts.headers);
        }
        let request = http::Request::from_parts(parts, Body::new(body));
        let call = async move {
            let mut channel = channel;
            let ready = channel
                .ready()
                .await
                .map_err(|e| Status::unavailable(format!("{context} is unavailable: {e}")))?;
            ready
                .call(request)
                .await
                .map(|r| r.map(|b| Body::new(Interrotta::new(b, context))))
                .map_err(|e| Status::unavailable(format!("{context} is unavailable: {e}")))
        };
        // The backend enforces the deadline too; this bounds a backend that never answers.
        match tokio::time::timeout(deadline, call.instrument(span)).await {
            Ok(result) => result,
            Err(_) => Err(Status::deadline_exceeded(format!(
                "{context} did not answer in time"
            ))),
        }
    }
}

/// A backend's answer as it streams through. If the backend goes away mid-answer (a crash, a
/// reset connection), the client gets the gRPC status UNAVAILABLE in trailers — retryable with
/// the same request id — instead of a reset stream, which clients read as INTERNAL.
struct Interrotta {
    inner: Body,
    context: Context,
    finita: bool,
}

impl Interrotta {
    fn new(inner: Body, context: Context) -> Interrotta {
        Interrotta {
            inner,
            context,
            finita: false,
        }
    }
}

impl http_body::Body for Interrotta {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        if this.finita {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Err(e))) => {
                this.finita = true;
                tracing::warn!(context = %this.context, error = %e, "backend stopped mid-answer");
                let mut trailers = http::HeaderMap::new();
                trailers.insert("grpc-status", http::HeaderValue::from_static("14"));
                if let Ok(v) = http::HeaderValue::from_str(&format!(
                    "{} stopped answering; retry with the same request id",
                    this.context
                )) {
                    trailers.insert("grpc-message", v);
                }
                Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finita || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The client's `grpc-timeout` header (gRPC over HTTP/2 spec: up to 8 digits and a unit).
pub(crate) fn client_deadline(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get("grpc-timeout")?.to_str().ok()?;
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (digits, unit) = v.split_at(v.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that sends one frame and then fails, as a backend killed mid-answer does.
    struct Rotta(bool);

    impl http_body::Body for Rotta {
        type Data = Bytes;
        type Error = Status;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
            if self.0 {
                Poll::Ready(Some(Err(Status::internal("connection reset"))))
            } else {
                self.0 = true;
                Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(b"x")))))
            }
        }
    }

    #[tokio::test]
    async fn a_backend_gone_mid_answer_is_unavailable_not_internal() {
        use http_body_util::BodyExt;
        let body = Interrotta::new(Body::new(Rotta(false)), Context::Prestazioni);
        let collected = body.collect().await.map_err(|e| e.to_string());
        let trailers = collected.ok().and_then(|c| c.trailers().cloned());
        assert_eq!(
            trailers
                .as_ref()
                .and_then(|t| t.get("grpc-status"))
                .map(|v| v.as_bytes()),
            Some(&b"14"[..])
        );
    }

    #[test]
    fn parses_grpc_timeout() {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-timeout", http::HeaderValue::from_static("250m"));
        assert_eq!(client_deadline(&h), Some(Duration::from_millis(250)));
        h.insert("grpc-timeout", http::HeaderValue::from_static("3S"));
        assert_eq!(client_deadline(&h), Some(Duration::from_secs(3)));
        h.insert("grpc-timeout", http::HeaderValue::from_static("x"));
        assert_eq!(client_deadline(&h), None);
    }
}
