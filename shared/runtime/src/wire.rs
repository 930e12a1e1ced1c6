//! What a request's bytes may be, answered the same way by every process (GW-3): a layer
//! around everything a server serves. A request not sent as gRPC with protobuf is refused
//! UNIMPLEMENTED before any service sees it; a request whose bytes tonic or prost cannot decode
//! (invalid protobuf, a body cut inside a message, no message at all on a unary call, a
//! compressed flag without negotiated compression) is INVALID_ARGUMENT `MALFORMED_REQUEST`
//! instead of the INTERNAL tonic answers (the gRPC status-code guide treats a bad message as
//! the server's fault; here it is always the caller's); and no status leaves the process
//! larger than [`error::STATUS_HEADER_BUDGET`].
//!
//! Why a layer and not a codec: a codec is shared by the generated clients, where an answer
//! that does not decode is the other side's fault, and it would not cover health, reflection
//! or tonic's own framing errors. The layer sees only what this server answers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http::HeaderMap;
use tonic::body::Body;
use tonic::{Code, Status};

use crate::error;

/// Wraps a server's routes (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct WireLayer;

impl<S> tower::Layer<S> for WireLayer {
    type Service = Wire<S>;

    fn layer(&self, inner: S) -> Wire<S> {
        Wire { inner }
    }
}

#[derive(Clone, Debug)]
pub struct Wire<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Wire<S>
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
        if let Err(status) = grpc_protobuf(request.headers()) {
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            rewrite(response.headers_mut());
            Ok(response.map(|body| Body::new(Trailers { inner: body })))
        })
    }
}

/// Ok when the request says it is gRPC with protobuf messages (`application/grpc`, optionally
/// `+proto` and parameters), as the gRPC over HTTP/2 protocol requires.
fn grpc_protobuf(headers: &HeaderMap) -> Result<(), Status> {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return Err(error::unsupported_content_type(None));
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let media = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media == "application/grpc" || media == "application/grpc+proto" {
        Ok(())
    } else {
        Err(error::unsupported_content_type(Some(&error::truncate(
            &text,
            error::MAX_REASON_CHARS,
        ))))
    }
}

/// A response body whose trailers (the status of a call that answered headers first: a
/// stream, or a unary call whose handler ran) get the same rewriting as trailers-only answers.
struct Trailers {
    inner: Body,
}

impl http_body::Body for Trailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(match frame.into_trailers() {
                Ok(mut trailers) => {
                    rewrite(&mut trailers);
                    http_body::Frame::trailers(trailers)
                }
                Err(frame) => frame,
            }))),
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Rewrites the status in `headers` (response headers or trailers) when it is a decoding
/// failure answered INTERNAL, or larger than the budget.
fn rewrite(headers: &mut HeaderMap) {
    let Some(code) = headers.get(Status::GRPC_STATUS) else {
        return;
    };
    let code = Code::from_bytes(code.as_bytes());
    if code == Code::Ok {
        return;
    }
    let message = headers
        .get(Status::GRPC_MESSAGE)
        .map(|m| percent_decode(m.as_bytes()))
        .unwrap_or_default();
    let replacement = if code == Code::Internal {
        decoding_failure(&message)
    } else {
        None
    };
    let replacement = replacement.or_else(|| over_budget(code, message, headers));
    if let Some(status) = replacement {
        headers.remove(Status::GRPC_STATUS);
        headers.remove(Status::GRPC_MESSAGE);
        headers.remove(Status::GRPC_STATUS_DETAILS);
        if status.add_header(headers).is_err() {
            // Not reachable for a status built here (its message is percent-encoded); the code
            // alone still tells the caller what happened.
            headers.insert(Status::GRPC_STATUS, http::HeaderValue::from(status.code() as i32));
        }
    }
}

/// The status sent instead of a status too large for the trailers (built without
/// [`crate::AppError`], e.g. a message echoing a long path): the same one, [`error::bound`].
fn over_budget(code: Code, message: String, headers: &HeaderMap) -> Option<Status> {
    let details = headers.get(Status::GRPC_STATUS_DETAILS);
    let sent = headers.get(Status::GRPC_MESSAGE).map_or(0, |m| m.len()) + details.map_or(0, |d| d.len());
    if sent <= error::STATUS_HEADER_BUDGET && message.chars().count() <= error::MAX_MESSAGE_CHARS {
        return None;
    }
    // Details that do not decode are dropped: they could only be cut at random.
    let details = details
        .and_then(|d| base64::Engine::decode(&BASE64, d.as_bytes()).ok())
        .unwrap_or_default();
    Some(error::bound(Status::with_details(code, message, details.into())))
}

/// Base64 as gRPC sends binary headers: standard alphabet, padding optional.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `grpc-message` as text (percent-decoded, gRPC over HTTP/2).
fn percent_decode(bytes: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What prost's `DecodeError` says first (its Display, pinned by a test).
const PROST_DECODE: &str = "failed to decode Protobuf message: ";

/// The INVALID_ARGUMENT a decoding failure answered INTERNAL (by tonic or prost, with these
/// texts) stands for; None for any other INTERNAL, a server fault.
fn decoding_failure(message: &str) -> Option<Status> {
    if let Some(rest) = message.strip_prefix(PROST_DECODE) {
        let (field, what) = prost_failure(rest);
        return Some(error::malformed(
            &format!("the message is not valid protobuf for this method: {what}"),
            field.as_deref(),
        ));
    }
    let what = if message == "Missing request message." {
        "the body has no message: a unary call sends exactly one"
    } else if message == "Unexpected EOF decoding stream." {
        "the body ends inside a message: its length prefix is larger than the bytes sent"
    } else if message
        .starts_with("protocol error: received message with compressed-flag but no grpc-encoding")
    {
        "a message is flagged compressed but no grpc-encoding was sent"
    } else if message.starts_with("protocol error: received message with invalid compression flag") {
        "the body is not gRPC-framed: each message starts with a compressed flag (0 or 1) and a 4-byte length"
    } else if message.starts_with("Error decompressing") {
        "a compressed message does not decompress with its grpc-encoding"
    } else {
        return None;
    };
    Some(error::malformed(what, None))
}

/// The field path (`persona.cognome`) and the cause in what prost says after its prefix:
/// `Persona.cognome: RegisterPrestatoreRequest.persona: invalid string value: …`, innermost
/// message first.
fn prost_failure(rest: &str) -> (Option<String>, String) {
    let mut fields = Vec::new();
    let mut cause = rest;
    while let Some((head, tail)) = cause.split_once(": ") {
        let Some((message, field)) = head.split_once('.') else {
            break;
        };
        let ident = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        if !ident(message) || !ident(field) {
            break;
        }
        fields.push(field);
        cause = tail;
    }
    fields.reverse();
    let field = (!fields.is_empty()).then(|| fields.join("."));
    (field, cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    fn status_of(headers: &HeaderMap) -> Status {
        Status::from_header_map(headers).unwrap_or_else(|| Status::ok(""))
    }

    fn answered(status: Status) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let _ = status.add_header(&mut headers);
        headers
    }

    #[test]
    fn prost_errors_still_read_as_the_layer_expects() {
        use prost::Message as _;
        // A string field (1) holding invalid UTF-8, inside a nested message (field 2).
        #[derive(Clone, PartialEq, prost::Message)]
        struct Persona {
            #[prost(string, tag = "1")]
            cognome: String,
        }
        #[derive(Clone, PartialEq, prost::Message)]
        struct Richiesta {
            #[prost(message, optional, tag = "2")]
            persona: Option<Persona>,
        }
        let bytes = [0x12, 0x03, 0x0a, 0x01, 0xff];
        let e = Richiesta::decode(&bytes[..])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with(PROST_DECODE), "{e}");
        let status = decoding_failure(&e).unwrap_or_else(|| Status::ok(""));
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<String> = status
            .get_error_details()
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["persona.cognome"]);
        assert!(status.message().contains("UTF-8"), "{}", status.message());
    }

    #[test]
    fn tonic_decoding_failures_become_invalid_argument_malformed_request() {
        for message in [
            "Missing request message.",
            "Unexpected EOF decoding stream.",
            "protocol error: received message with compressed-flag but no grpc-encoding was specified",
            "protocol error: received message with invalid compression flag: 123 (valid flags are 0 and 1), while sending request",
            "failed to decode Protobuf message: invalid varint",
            "failed to decode Protobuf message: recursion limit reached",
        ] {
            let mut headers = answered(Status::internal(message));
            rewrite(&mut headers);
            let status = status_of(&headers);
            assert_eq!(status.code(), Code::InvalidArgument, "{message}");
            let info = status.get_error_details().error_info().cloned();
            assert_eq!(
                info.map(|i| (i.reason, i.metadata.get("rule").cloned())),
                Some((error::MALFORMED_REQUEST.into(), Some("GW-3".into()))),
                "{message}"
            );
        }
    }

    /// A streamed answer: one message, then its status in trailers.
    struct Streamed(Vec<http_body::Frame<Bytes>>);

    impl http_body::Body for Streamed {
        type Data = Bytes;
        type Error = Status;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
            Poll::Ready(if self.0.is_empty() {
                None
            } else {
                Some(Ok(self.0.remove(0)))
            })
        }
    }

    #[tokio::test]
    async fn a_decoding_failure_in_the_trailers_of_a_stream_is_rewritten_too() {
        let mut body = Trailers {
            inner: Body::new(Streamed(vec![
                http_body::Frame::data(Bytes::from_static(b"\0\0\0\0\0")),
                http_body::Frame::trailers(answered(Status::internal("Unexpected EOF decoding stream."))),
            ])),
        };
        let mut frames = Vec::new();
        while let Some(frame) =
            std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await
        {
            frames.push(frame);
        }
        assert_eq!(frames.len(), 2);
        let trailers = frames
            .pop()
            .and_then(|f| f.ok())
            .and_then(|f| f.into_trailers().ok())
            .unwrap_or_default();
        assert_eq!(status_of(&trailers).code(), Code::InvalidArgument);
        assert!(frames[0].as_ref().is_ok_and(|f| f.is_data()));
    }

    #[test]
    fn a_server_fault_stays_internal() {
        let mut headers = answered(Status::internal("internal error"));
        rewrite(&mut headers);
        assert_eq!(status_of(&headers).code(), Code::Internal);
        assert_eq!(status_of(&headers).message(), "internal error");
    }

    #[test]
    fn a_status_over_the_budget_is_bounded_wherever_it_was_built() {
        let path = "x".repeat(20_000);
        let mut headers = answered(Status::unimplemented(format!("unknown service for /{path}")));
        rewrite(&mut headers);
        let sent: usize = headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 32).sum();
        assert!(sent < 8 * 1024, "{sent}");
        assert_eq!(status_of(&headers).code(), Code::Unimplemented);
        assert!(status_of(&headers).message().ends_with('…'));
    }

    #[test]
    fn only_grpc_with_protobuf_is_served() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(ct) {
                h.insert(http::header::CONTENT_TYPE, v);
            }
            grpc_protobuf(&h).map_err(|s| s.code())
        };
        assert_eq!(with("application/grpc"), Ok(()));
        assert_eq!(with("application/grpc+proto"), Ok(()));
        assert_eq!(with("Application/GRPC; charset=utf-8"), Ok(()));
        assert_eq!(with("application/json"), Err(Code::Unimplemented));
        assert_eq!(with("application/grpc+json"), Err(Code::Unimplemented));
        assert_eq!(with("application/grpc-web"), Err(Code::Unimplemented));
        assert_eq!(with(""), Err(Code::Unimplemented));
    }

    #[test]
    fn percent_decoding_reads_what_tonic_writes() {
        let mut headers = HeaderMap::new();
        let _ = Status::invalid_argument("data «è» 100% {x}").add_header(&mut headers);
        let sent = headers
            .get(Status::GRPC_MESSAGE)
            .map(|v| v.as_bytes().to_vec())
            .unwrap_or_default();
        assert_eq!(percent_decode(&sent), "data «è» 100% {x}");
    }
}
