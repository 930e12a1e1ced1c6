//! The byte-level proxy: request and response bodies stream through untouched; only headers
//! change (identity in, bearer token out, deadline capped, trace context injected).
//!
//! Streaming calls (a feed such as ImportF24, a download) are told apart by the descriptors:
//! each gets its own connection to the context, so nothing it does to that connection's flow
//! control can reach the unary calls of other clients, and a deadline cap suited to a feed
//! rather than to a question (issue 12, docs/decisions.md).

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use occasionali_runtime::client::Addresses;
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

/// Caps on a call's deadline; a shorter client deadline wins.
#[derive(Clone, Copy, Debug)]
pub struct Scadenze {
    /// A unary call.
    pub chiamata: Duration,
    /// A streaming call: a feed of a day's records takes minutes.
    pub flusso: Duration,
}

struct Inner {
    backends: HashMap<Context, Channel>,
    /// Where each context is reached, for the streaming calls' own connections: the replicas
    /// the backend's channel balances over, taken in turn.
    endpoints: HashMap<Context, Addresses>,
    /// `/package.Service/Method` of every streaming RPC.
    flussi: HashSet<String>,
    auth: Authenticator,
    internal_tokens: InternalTokens,
    scadenze: Scadenze,
}

impl Proxy {
    pub fn new(
        backends: HashMap<Context, Channel>,
        endpoints: HashMap<Context, Addresses>,
        auth: Authenticator,
        internal_tokens: InternalTokens,
        scadenze: Scadenze,
    ) -> anyhow::Result<Proxy> {
        Ok(Proxy {
            inner: Arc::new(Inner {
                backends,
                endpoints,
                flussi: metodi_in_streaming(occasionali_proto::FILE_DESCRIPTOR_SET)?,
                auth,
                internal_tokens,
                scadenze,
            }),
        })
    }
}

/// The paths of the RPCs whose request or answer is a stream, from the descriptors: a new
/// streaming RPC is recognised without a change here.
pub(crate) fn metodi_in_streaming(descriptors: &[u8]) -> anyhow::Result<HashSet<String>> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(descriptors)?;
    Ok(set
        .file
        .iter()
        .flat_map(|f| {
            f.service.iter().flat_map(move |s| {
                s.method
                    .iter()
                    .filter(|m| m.client_streaming() || m.server_streaming())
                    .map(move |m| format!("/{}.{}/{}", f.package(), s.name(), m.name()))
            })
        })
        .collect())
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
        let flusso = self.flussi.contains(&path);
        let channel = self
            .backends
            .get(&context)
            .cloned()
            .ok_or_else(|| Status::unavailable(format!("no backend configured for {context}")))?;
        let endpoint = match flusso {
            true => Some(
                self.endpoints
                    .get(&context)
                    .ok_or_else(|| Status::unavailable(format!("no backend configured for {context}")))?
                    .own_endpoint()
                    .map_err(|e| Status::unavailable(format!("{context} is unavailable: {e}")))?,
            ),
            false => None,
        };

        let (mut parts, body) = request.into_parts();
        let identity = self.auth.identity(&parts.headers, &path).await?;
        let token = auth::internal_token(&self.internal_tokens, &identity, context)?;
        parts.headers.remove(http::header::AUTHORIZATION);
        // The services read the verified identity only.
        parts.headers.remove(ON_BEHALF_OF_HEADER);
        parts.headers.remove(RUOLO_HEADER);
        parts.headers.insert(IDENTITY_HEADER, token);

        let cap = match flusso {
            true => self.scadenze.flusso,
            false => self.scadenze.chiamata,
        };
        let deadline = client_deadline(&parts.headers).map_or(cap, |d| d.min(cap));
        if let Ok(v) = http::HeaderValue::from_str(&format!("{}m", deadline.as_millis().max(1))) {
            parts.headers.insert("grpc-timeout", v);
        }

        let span = tracing::info_span!(
            "gateway.route",
            // Named by the RPC it forwards, as OpenTelemetry's RPC conventions name client spans.
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "client",
            rpc.method = %path,
            context = %context,
            profile = %identity.profile(),
        );
        {
            let _entered = span.enter();
            telemetry::inject_current(&mut parts.headers);
        }
        let request = http::Request::from_parts(parts, Body::new(Accorpa::new(Body::new(body))));
        let call = async move {
            // A stream's own connection lives as long as its answer does (see Interrotta).
            let propria = match endpoint {
                Some(endpoint) => Some(
                    endpoint
                        .connect()
                        .await
                        .map_err(|e| Status::unavailable(format!("{context} is unavailable: {e}")))?,
                ),
                None => None,
            };
            let mut channel = propria.clone().unwrap_or(channel);
            let ready = channel
                .ready()
                .await
                .map_err(|e| Status::unavailable(format!("{context} is unavailable: {e}")))?;
            ready
                .call(request)
                .await
                .map(|r| r.map(|b| Body::new(Interrotta::new(b, context).con_connessione(propria))))
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
    /// A streaming call's own connection, closed with the answer.
    _connessione: Option<Channel>,
}

impl Interrotta {
    fn new(inner: Body, context: Context) -> Interrotta {
        Interrotta {
            inner,
            context,
            finita: false,
            _connessione: None,
        }
    }

    fn con_connessione(mut self, connessione: Option<Channel>) -> Interrotta {
        self._connessione = connessione;
        self
    }
}

/// The most a forwarded DATA chunk gathers; h2 cuts it into frames of its maximum frame size.
const ACCORPA_FINO_A: usize = 64 * 1024;

/// A request body whose DATA frames already received travel on as one. Clients in Go and Java
/// send each message of a stream in its own DATA frame; forwarded one for one, a feed's records
/// would reach the context as thousands of small frames, each costing the context's h2 frame
/// budget while unread (see `occasionali_runtime::server::HTTP2_STREAM_WINDOW`). Whatever
/// arrived while the context's window was full leaves in one chunk; nothing waits for more.
struct Accorpa {
    inner: Body,
    /// Trailers or an error met after data was gathered: delivered on the next poll.
    in_attesa: Option<Result<http_body::Frame<Bytes>, Status>>,
    finita: bool,
}

impl Accorpa {
    fn new(inner: Body) -> Accorpa {
        Accorpa {
            inner,
            in_attesa: None,
            finita: false,
        }
    }
}

impl http_body::Body for Accorpa {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        if let Some(frame) = this.in_attesa.take() {
            return Poll::Ready(Some(frame));
        }
        if this.finita {
            return Poll::Ready(None);
        }
        // The first chunk is kept as is: copied only if a second one follows.
        let mut primo: Option<Bytes> = None;
        let mut raccolti = BytesMut::new();
        let lunghezza = |primo: &Option<Bytes>, raccolti: &BytesMut| {
            primo.as_ref().map_or(0, Bytes::len) + raccolti.len()
        };
        while lunghezza(&primo, &raccolti) < ACCORPA_FINO_A {
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => break,
                Poll::Ready(None) => {
                    this.finita = true;
                    break;
                }
                Poll::Ready(Some(Err(e))) => {
                    this.in_attesa = Some(Err(e));
                    break;
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            match frame.into_data() {
                Ok(data) if data.is_empty() => {}
                Ok(data) => match primo.take() {
                    None if raccolti.is_empty() => primo = Some(data),
                    prima => {
                        if let Some(p) = prima {
                            raccolti.reserve(ACCORPA_FINO_A.max(p.len() + data.len()));
                            raccolti.extend_from_slice(&p);
                        }
                        raccolti.extend_from_slice(&data);
                    }
                },
                Err(trailers) => {
                    this.in_attesa = Some(Ok(trailers));
                    break;
                }
            }
        }
        let dati = match primo {
            Some(p) => p,
            None => raccolti.freeze(),
        };
        if !dati.is_empty() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(dati))));
        }
        match this.in_attesa.take() {
            Some(frame) => Poll::Ready(Some(frame)),
            None if this.finita => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.in_attesa.is_none() && (self.finita || self.inner.is_end_stream())
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
    fn streaming_rpcs_come_from_the_descriptors() {
        let flussi = metodi_in_streaming(occasionali_proto::FILE_DESCRIPTOR_SET).unwrap_or_default();
        for m in [
            "/occasionali.portafoglio.v1.PortafoglioService/ImportF24",
            "/occasionali.notifiche.v1.NotificheService/ImportLavoroDomestico",
            "/occasionali.comunicazioni.v1.ComunicazioniService/DownloadRicevuta",
        ] {
            assert!(flussi.contains(m), "{m} not seen as a stream");
        }
        assert!(!flussi.contains("/occasionali.portafoglio.v1.PortafoglioService/GetRiepilogo"));
    }

    fn frames(frames: Vec<http_body::Frame<Bytes>>) -> Body {
        let stream = futures::stream::iter(frames.into_iter().map(Ok::<_, Status>));
        Body::new(http_body_util::StreamBody::new(stream))
    }

    #[tokio::test]
    async fn frames_received_together_travel_as_one() {
        use http_body_util::BodyExt;
        let record = Bytes::from(vec![7u8; 100]);
        let mut input: Vec<_> = (0..1000)
            .map(|_| http_body::Frame::data(record.clone()))
            .collect();
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-fine", http::HeaderValue::from_static("1"));
        input.push(http_body::Frame::trailers(trailers));
        let mut body = Accorpa::new(frames(input));
        let mut sizes = Vec::new();
        let mut last = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|s| s.to_string());
            match frame.map(http_body::Frame::into_data) {
                Ok(Ok(data)) => sizes.push(data.len()),
                Ok(Err(t)) => last = t.into_trailers().ok(),
                Err(e) => panic!("{e}"),
            }
        }
        // 64 KiB and the rest, not 1,000 frames; nothing lost, trailers last.
        assert_eq!(sizes, vec![65_600, 34_400]);
        assert_eq!(
            last.and_then(|t| t.get("x-fine").cloned()),
            Some(http::HeaderValue::from_static("1"))
        );
    }

    #[tokio::test]
    async fn a_frame_alone_is_not_held_back() {
        use http_body_util::BodyExt;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<http_body::Frame<Bytes>, Status>>(4);
        let body = Body::new(http_body_util::StreamBody::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ));
        let mut body = Accorpa::new(body);
        tx.send(Ok(http_body::Frame::data(Bytes::from_static(b"unary"))))
            .await
            .unwrap_or_default();
        // The sender keeps the stream open: the frame still goes at once.
        let first = tokio::time::timeout(Duration::from_secs(1), body.frame()).await;
        let data = first
            .ok()
            .flatten()
            .and_then(Result::ok)
            .and_then(|f| f.into_data().ok());
        assert_eq!(data, Some(Bytes::from_static(b"unary")));
        drop(tx);
        assert!(body.frame().await.is_none());
        assert!(http_body::Body::is_end_stream(&body));
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
