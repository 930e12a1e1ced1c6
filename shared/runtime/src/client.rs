//! Calls from one context to another: a lazily connected channel, a deadline on every call,
//! the caller's `sistema` identity with the original client carried along, and trace context.

use std::time::Duration;

use tonic::Request;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};

use crate::error::AppError;
use crate::identity::{IDENTITY_HEADER, Identity, InternalTokens};

/// How a process reaches another: HTTP/2 with the platform's flow-control windows (see
/// [`crate::server::HTTP2_STREAM_WINDOW`]), on both ends of every hop.
pub fn endpoint(endpoint: &str) -> anyhow::Result<Endpoint> {
    Ok(Endpoint::from_shared(endpoint.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .http2_adaptive_window(false)
        .initial_stream_window_size(crate::server::HTTP2_STREAM_WINDOW)
        .initial_connection_window_size(crate::server::HTTP2_CONNECTION_WINDOW))
}

/// A channel that connects on first use, so processes can start in any order.
pub fn lazy_channel(url: &str) -> anyhow::Result<Channel> {
    Ok(endpoint(url)?.connect_lazy())
}

/// What a context needs to call another one on behalf of a request.
#[derive(Clone)]
pub struct Caller {
    tokens: InternalTokens,
    service: &'static str,
    deadline: Duration,
}

impl Caller {
    pub fn new(tokens: InternalTokens, service: &'static str, deadline: Duration) -> Caller {
        Caller {
            tokens,
            service,
            deadline,
        }
    }

    /// A request carrying our system identity, the origin and the current trace context.
    pub fn request<T>(&self, message: T, origin: Option<&Identity>) -> Result<Request<T>, AppError> {
        let mut request = Request::new(message);
        request.set_timeout(self.deadline);
        let value = self
            .tokens
            .system_call(self.service, origin)
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
