//! How large a message each service takes and gives (issue 12): one table, applied to every
//! generated server, so no service decodes a request larger than its purpose needs nor sends an
//! answer a default gRPC client (4 MiB) would refuse. A message over the limit is refused from
//! its 5-byte length prefix, before its body is read, with RESOURCE_EXHAUSTED (the gRPC
//! spec's code for a message larger than allowed; tonic itself says OUT_OF_RANGE, which
//! [`MessaggiTroppoGrandi`] rewrites).
//!
//! The same numbers are stated in each service's proto comment; `limits_in_proto_comments`
//! keeps them in step.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::ERROR_DOMAIN;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// A request message of a public service (one message of a client stream: an F24 record, a
/// domestic-work record). The largest real one (a LAO communication, a registration) is a few
/// KiB; 256 KiB leaves room for long free-text fields and still bounds what one call can make a
/// backend hold.
pub const RICHIESTA_PUBBLICA: usize = 256 * KIB;

/// A request message of an internal service: written by the platform itself (events carry whole
/// records, a payout order the prestazioni it pays).
pub const RICHIESTA_INTERNA: usize = 4 * MIB;

/// Every answer: what a gRPC client accepts by default (grpc-go, grpc-java, tonic, grpcurl all
/// refuse more than 4 MiB unless told otherwise). Listings page (at most 500 rows), so a larger
/// answer is a fault of ours, not something to send.
pub const RISPOSTA: usize = 4 * MIB;

/// ErrorInfo reason of a request message over its service's limit.
pub const REQUEST_TOO_LARGE: &str = "REQUEST_TOO_LARGE";
/// ErrorInfo reason of an answer over the limit (a server fault: the listing should have paged).
pub const RESPONSE_TOO_LARGE: &str = "RESPONSE_TOO_LARGE";

/// A generated server that knows its own message limits.
pub trait Limitato: Sized {
    /// Largest request message decoded, in bytes.
    const RICHIESTA: usize;
    /// Largest answer message encoded, in bytes.
    const RISPOSTA: usize;
    /// The server with both limits set.
    fn limitato(self) -> Self;
}

macro_rules! limiti {
    ($($server:ident < $servizio:ident > in $($modulo:ident)::+ : $richiesta:expr;)*) => {
        $(
            impl<T: $($modulo)::+::$servizio> Limitato for $($modulo)::+::$server<T> {
                const RICHIESTA: usize = $richiesta;
                const RISPOSTA: usize = RISPOSTA;
                fn limitato(self) -> Self {
                    self.max_decoding_message_size($richiesta)
                        .max_encoding_message_size(RISPOSTA)
                }
            }
        )*

        /// Every service's request limit, by service name (what its proto comment states).
        pub const LIMITI_RICHIESTA: &[(&str, usize)] = &[
            $((stringify!($servizio), $richiesta),)*
        ];
    };
}

limiti! {
    AnagraficaServiceServer<AnagraficaService>
        in occasionali_proto::anagrafica::anagrafica_service_server: RICHIESTA_PUBBLICA;
    AnagraficaInternalServiceServer<AnagraficaInternalService>
        in occasionali_proto::anagrafica::anagrafica_internal_service_server: RICHIESTA_INTERNA;
    PortafoglioServiceServer<PortafoglioService>
        in occasionali_proto::portafoglio::portafoglio_service_server: RICHIESTA_PUBBLICA;
    PortafoglioInternalServiceServer<PortafoglioInternalService>
        in occasionali_proto::portafoglio::portafoglio_internal_service_server: RICHIESTA_INTERNA;
    PrestazioniServiceServer<PrestazioniService>
        in occasionali_proto::prestazioni::prestazioni_service_server: RICHIESTA_PUBBLICA;
    PrestazioniInternalServiceServer<PrestazioniInternalService>
        in occasionali_proto::prestazioni::prestazioni_internal_service_server: RICHIESTA_INTERNA;
    ComunicazioniServiceServer<ComunicazioniService>
        in occasionali_proto::comunicazioni::comunicazioni_service_server: RICHIESTA_PUBBLICA;
    DelegheServiceServer<DelegheService>
        in occasionali_proto::deleghe::deleghe_service_server: RICHIESTA_PUBBLICA;
    DelegheInternalServiceServer<DelegheInternalService>
        in occasionali_proto::deleghe::deleghe_internal_service_server: RICHIESTA_INTERNA;
    NotificheServiceServer<NotificheService>
        in occasionali_proto::notifiche::notifiche_service_server: RICHIESTA_PUBBLICA;
    NotificheInternalServiceServer<NotificheInternalService>
        in occasionali_proto::notifiche::notifiche_internal_service_server: RICHIESTA_INTERNA;
    OutboxInternalServiceServer<OutboxInternalService>
        in occasionali_proto::common::outbox_internal_service_server: RICHIESTA_INTERNA;
    PosizioneServiceServer<PosizioneService>
        in occasionali_proto::gateway::posizione_service_server: RICHIESTA_PUBBLICA;
    RelayServiceServer<RelayService>
        in occasionali_proto::gateway::relay_service_server: RICHIESTA_PUBBLICA;
    DevClockServiceServer<DevClockService>
        in occasionali_proto::gateway::dev_clock_service_server: RICHIESTA_PUBBLICA;
}

/// What tonic answers for a message over a limit, rewritten as RESOURCE_EXHAUSTED with an
/// ErrorInfo (reason, rule GW-3, the limit). Anything else passes unchanged.
fn riscrivi(status: &Status) -> Option<Status> {
    if status.code() != Code::OutOfRange {
        return None;
    }
    let (reason, chi) = if status
        .message()
        .starts_with("Error, decoded message length too large")
    {
        (REQUEST_TOO_LARGE, "request")
    } else if status
        .message()
        .starts_with("Error, encoded message length too large")
    {
        (RESPONSE_TOO_LARGE, "answer")
    } else {
        return None;
    };
    // tonic's message: "...: found {len} bytes, the limit is: {limit} bytes".
    let numeri: Vec<&str> = status
        .message()
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    let (trovati, limite) = match numeri.as_slice() {
        [trovati, limite] => (*trovati, *limite),
        _ => ("?", "?"),
    };
    let mut metadata = std::collections::HashMap::new();
    metadata.insert("rule".to_string(), "GW-3".to_string());
    metadata.insert("limite_byte".to_string(), limite.to_string());
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    let messaggio = if reason == REQUEST_TOO_LARGE {
        format!("[GW-3] the {chi} message is {trovati} bytes, over this service's limit of {limite} bytes")
    } else {
        tracing::error!(bytes = trovati, limit = limite, "answer over the message limit");
        format!("[GW-3] the {chi} message is {trovati} bytes, over the limit of {limite} bytes")
    };
    Some(Status::with_error_details(
        Code::ResourceExhausted,
        messaggio,
        details,
    ))
}

/// Tower layer: every response of the server, its status rewritten by [`riscrivi`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MessaggiTroppoGrandi;

impl<S> tower::Layer<S> for MessaggiTroppoGrandi {
    type Service = ServizioLimitato<S>;

    fn layer(&self, inner: S) -> ServizioLimitato<S> {
        ServizioLimitato { inner }
    }
}

#[derive(Clone, Debug)]
pub struct ServizioLimitato<S> {
    inner: S,
}

impl<S, Req, B> tower::Service<Req> for ServizioLimitato<S>
where
    S: tower::Service<Req, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let future = self.inner.call(request);
        Box::pin(async move {
            let (mut parts, body) = future.await?.into_parts();
            // Trailers-only: the status is in the headers (a unary request refused while read).
            if let Some(nuovo) = Status::from_header_map(&parts.headers).and_then(|s| riscrivi(&s)) {
                let _ = nuovo.add_header(&mut parts.headers);
            }
            Ok(http::Response::from_parts(
                parts,
                tonic::body::Body::new(CodaRiscritta {
                    inner: tonic::body::Body::new(body),
                }),
            ))
        })
    }
}

/// A body whose trailers carry a rewritten status (a stream refused after it started).
struct CodaRiscritta<B> {
    inner: B,
}

impl<B> http_body::Body for CodaRiscritta<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(match frame.into_trailers() {
                Ok(mut trailers) => {
                    if let Some(nuovo) = Status::from_header_map(&trailers).and_then(|s| riscrivi(&s)) {
                        let _ = nuovo.add_header(&mut trailers);
                    }
                    Frame::trailers(trailers)
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_request_is_resource_exhausted_with_its_limit() {
        let tonic = Status::out_of_range(
            "Error, decoded message length too large: found 3800005 bytes, the limit is: 262144 bytes",
        );
        let s = riscrivi(&tonic).expect("rewritten");
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.message().contains("3800005"), "{}", s.message());
        let info = s.get_details_error_info().expect("error info");
        assert_eq!(info.reason, REQUEST_TOO_LARGE);
        assert_eq!(info.metadata.get("rule").map(String::as_str), Some("GW-3"));
        assert_eq!(
            info.metadata.get("limite_byte").map(String::as_str),
            Some("262144")
        );
    }

    fn leggibile(byte: usize) -> String {
        if byte.is_multiple_of(MIB) {
            format!("{} MiB", byte / MIB)
        } else {
            format!("{} KiB", byte / KIB)
        }
    }

    /// What the proto comments promise is what the servers do.
    #[test]
    fn limits_in_proto_comments() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/occasionali");
        let mut testi = String::new();
        for contesto in std::fs::read_dir(&dir).expect("proto dir") {
            let v1 = contesto.expect("entry").path().join("v1");
            for f in std::fs::read_dir(&v1).expect("v1 dir") {
                testi.push_str(&std::fs::read_to_string(f.expect("entry").path()).expect("proto"));
                testi.push('\n');
            }
        }
        let righe: Vec<&str> = testi.lines().collect();
        // Every service in the protos has its limits in the table (a new one must be added).
        let servizi = righe
            .iter()
            .filter(|r| r.starts_with("service ") && r.ends_with(" {"))
            .count();
        assert_eq!(LIMITI_RICHIESTA.len(), servizi);
        for (servizio, limite) in LIMITI_RICHIESTA {
            let at = righe
                .iter()
                .position(|r| *r == format!("service {servizio} {{"))
                .unwrap_or_else(|| panic!("service {servizio} not in the protos"));
            let commento: String = righe[..at]
                .iter()
                .rev()
                .take_while(|r| r.starts_with("//"))
                .map(|r| r.trim_start_matches("//"))
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("");
            let atteso = format!(
                "client stream, up to {}; an answer up to {}.",
                leggibile(*limite),
                leggibile(RISPOSTA)
            );
            assert!(
                commento.contains(&atteso),
                "{servizio}'s comment should say \"{atteso}\": {commento}"
            );
        }
    }

    #[test]
    fn other_statuses_pass_unchanged() {
        assert!(riscrivi(&Status::out_of_range("anno 1900 is before 2017")).is_none());
        assert!(
            riscrivi(&Status::invalid_argument(
                "Error, decoded message length too large"
            ))
            .is_none()
        );
    }
}
