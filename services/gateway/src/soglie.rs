//! Admission control (issue 12): what keeps one caller, or too many at once, from hurting
//! everyone else. Two thresholds, checked before a call reaches the proxy or the gateway's own
//! services, and never for health or reflection:
//!
//! - a token bucket per caller: the verified client token's subject and profile (a consulente
//!   acting for many clients is one caller), or, for a call without a valid token, the peer
//!   address (an IPv6 peer by its /64, what one host usually holds). Beyond it:
//!   RESOURCE_EXHAUSTED `GW_RATE_LIMITED` with a RetryInfo saying when the next call fits;
//! - a cap on calls in flight through this process, a feed's whole stream being one call.
//!   Beyond it, a new call is shed at once, RESOURCE_EXHAUSTED `GW_OVERLOADED`, instead of
//!   queueing behind the others and making every caller's answer late.
//!
//! Both are per process: N gateway replicas admit N times the rate. The per-caller table keeps
//! at most `max_callers` entries; a caller whose bucket has refilled carries no information and
//! is forgotten, so the table holds only callers active in the last `burst / rate` seconds.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use occasionali_runtime::config::AdmissionLimits;
use occasionali_runtime::error::ERROR_DOMAIN;
use occasionali_runtime::identity::{Profile, mask};
use occasionali_runtime::issuers::ClientVerifier;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::transport::server::TcpConnectInfo;
use tonic_types::{ErrorDetails, StatusExt};
use tower::Service;

/// ErrorInfo reason of a call refused because its caller is over its rate.
pub const RATE_LIMITED: &str = "GW_RATE_LIMITED";
/// ErrorInfo reason of a call shed because the gateway is at capacity.
pub const OVERLOADED: &str = "GW_OVERLOADED";
/// What a shed call's RetryInfo suggests: calls take milliseconds, so a second is enough for
/// the queue to move, and long enough that the shed clients' retries do not make a second
/// overload of refusals (each refusal is still a round trip the gateway pays for).
const OVERLOAD_RETRY_DELAY: Duration = Duration::from_secs(1);
/// How often a full table of callers may be swept for idle ones.
const FULL_TABLE_SWEEP_EVERY: Duration = Duration::from_millis(100);
/// At most one warning per this interval while refusing, so a flood cannot flood the log.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Paths never limited: probes and `grpcurl list` must work when the gateway is busiest.
fn exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// Who a call is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Caller {
    Subject {
        profile: Profile,
        sub: String,
    },
    Peer(IpAddr),
    /// No token and no peer address (not over TCP): one shared bucket.
    Unknown,
}

impl Caller {
    fn of(tokens: &ClientVerifier, headers: &http::HeaderMap, extensions: &http::Extensions) -> Caller {
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        if let Some(principal) = bearer.and_then(|t| tokens.verify_cached(t).ok()) {
            return Caller::Subject {
                profile: principal.profile,
                sub: principal.cf,
            };
        }
        match extensions.get::<TcpConnectInfo>().and_then(|c| c.remote_addr) {
            Some(addr) => Caller::Peer(network(addr.ip())),
            None => Caller::Unknown,
        }
    }

    /// A payments feed (pagoPA sends one call per receipt): its own rate and burst.
    fn is_feed(&self) -> bool {
        matches!(
            self,
            Caller::Subject {
                profile: Profile::FlussoPagamenti,
                ..
            }
        )
    }

    /// For the log: never a codice fiscale in clear (GW-5).
    fn masked(&self) -> String {
        match self {
            Caller::Subject { profile, sub } => format!("{profile} {}", mask(sub)),
            Caller::Peer(ip) => ip.to_string(),
            Caller::Unknown => "unknown".into(),
        }
    }
}

/// An IPv6 peer counts by its /64: a host is usually given a whole /64, so counting single
/// addresses would give one attacker 2^64 buckets.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What the per-caller limiter says about one call.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Verdict {
    Admitted,
    /// Over the rate: the next call fits after this long.
    Wait(Duration),
    /// A new caller while `max_callers` others are all active.
    TooManyCallers,
}

/// The token buckets, one per caller active lately. Time is passed in, so tests are exact.
struct Buckets {
    rate: f64,
    burst: f64,
    /// A payments feed's rate and burst (profile `flusso_pagamenti`).
    feed_rate: f64,
    feed_burst: f64,
    max_callers: usize,
    /// How long an idle bucket takes to refill: after that, forgetting it loses nothing.
    refill: Duration,
    table: HashMap<Caller, Bucket>,
    swept: Instant,
}

impl Buckets {
    fn new(limits: &AdmissionLimits, now: Instant) -> Buckets {
        let rate = f64::from(limits.caller_rate_per_second.max(1));
        let burst = f64::from(limits.caller_burst.max(1));
        let feed_rate = f64::from(limits.feed_rate_per_second.max(1));
        let feed_burst = f64::from(limits.feed_burst.max(1));
        Buckets {
            rate,
            burst,
            feed_rate,
            feed_burst,
            max_callers: limits.max_callers.max(1) as usize,
            refill: Duration::from_secs_f64((burst / rate).max(feed_burst / feed_rate)),
            table: HashMap::new(),
            swept: now,
        }
    }

    /// The bucket's refill rate and size for a caller.
    fn of(&self, who: &Caller) -> (f64, f64) {
        if who.is_feed() {
            (self.feed_rate, self.feed_burst)
        } else {
            (self.rate, self.burst)
        }
    }

    fn take(&mut self, who: &Caller, now: Instant) -> Verdict {
        // Once per refill period (at least every second): forget the callers whose bucket is
        // full again. O(callers), under the lock, but at most max_callers and rarely.
        if now.saturating_duration_since(self.swept) >= self.refill.max(Duration::from_secs(1)) {
            self.sweep(now);
        }
        let (rate, burst) = self.of(who);
        if let Some(b) = self.table.get_mut(who) {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            let level = (b.tokens + elapsed * rate).min(burst);
            if level < 1.0 {
                return Verdict::Wait(Duration::from_secs_f64((1.0 - level) / rate));
            }
            *b = Bucket {
                tokens: level - 1.0,
                at: now,
            };
            return Verdict::Admitted;
        }
        if self.table.len() >= self.max_callers {
            // Not on every newcomer: a crowd of new callers must not turn each into a full scan.
            if now.saturating_duration_since(self.swept) >= FULL_TABLE_SWEEP_EVERY {
                self.sweep(now);
            }
            if self.table.len() >= self.max_callers {
                return Verdict::TooManyCallers;
            }
        }
        self.table.insert(
            who.clone(),
            Bucket {
                tokens: burst - 1.0,
                at: now,
            },
        );
        Verdict::Admitted
    }

    fn sweep(&mut self, now: Instant) {
        let (caller, feed) = ((self.rate, self.burst), (self.feed_rate, self.feed_burst));
        self.table.retain(|who, b| {
            let (rate, burst) = if who.is_feed() { feed } else { caller };
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + elapsed * rate < burst
        });
        self.swept = now;
    }
}

/// The thresholds of one gateway process, shared by every connection.
pub struct Thresholds {
    limits: AdmissionLimits,
    tokens: ClientVerifier,
    /// None: no per-caller limit (`caller_rate_per_second = 0`).
    buckets: Option<Mutex<Buckets>>,
    /// None: no cap on calls in flight (`max_in_flight = 0`).
    in_flight: Option<Arc<Semaphore>>,
    started: Instant,
    /// When the last refusal was logged (ms since `started`; 0 = never).
    warned: AtomicU64,
}

impl Thresholds {
    pub fn new(limits: AdmissionLimits, tokens: ClientVerifier) -> Thresholds {
        let now = Instant::now();
        Thresholds {
            limits,
            tokens,
            buckets: (limits.caller_rate_per_second > 0).then(|| Mutex::new(Buckets::new(&limits, now))),
            in_flight: (limits.max_in_flight > 0)
                .then(|| Arc::new(Semaphore::new(limits.max_in_flight as usize))),
            started: now,
            warned: AtomicU64::new(0),
        }
    }

    /// The per-caller verdict; a poisoned lock (a panic elsewhere) admits rather than refuse all.
    fn per_caller(&self, who: &Caller) -> Verdict {
        match &self.buckets {
            None => Verdict::Admitted,
            Some(b) => match b.lock() {
                Ok(mut b) => b.take(who, Instant::now()),
                Err(_) => Verdict::Admitted,
            },
        }
    }

    fn warn(&self, what: &str, who: &Caller) {
        let now = (self.started.elapsed().as_millis() as u64).max(1);
        let last = self.warned.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64)
            && self
                .warned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(caller = %who.masked(), "{what} (further refusals for {WARN_EVERY:?} are not logged)");
        } else {
            tracing::debug!(caller = %who.masked(), "{what}");
        }
    }

    fn rate_limited(&self, wait: Duration, who: &Caller) -> Status {
        // Whole milliseconds, rounded up: retrying at the suggested time must succeed.
        let wait = Duration::from_millis((wait.as_micros().div_ceil(1000) as u64).max(1));
        let l = &self.limits;
        let (rate, burst) = if who.is_feed() {
            (l.feed_rate_per_second, l.feed_burst)
        } else {
            (l.caller_rate_per_second, l.caller_burst)
        };
        let metadata = HashMap::from([
            ("rate_per_second".to_string(), rate.to_string()),
            ("burst".to_string(), burst.to_string()),
        ]);
        let mut details = ErrorDetails::with_error_info(RATE_LIMITED, ERROR_DOMAIN, metadata);
        details.set_retry_info(Some(wait));
        Status::with_error_details(
            tonic::Code::ResourceExhausted,
            format!(
                "too many calls from this caller: at most {rate} per second (bursts of {burst}); retry in {} ms",
                wait.as_millis()
            ),
            details,
        )
    }

    fn overloaded(&self, why: &str) -> Status {
        let metadata = HashMap::from([("max_in_flight".to_string(), self.limits.max_in_flight.to_string())]);
        let mut details = ErrorDetails::with_error_info(OVERLOADED, ERROR_DOMAIN, metadata);
        details.set_retry_info(Some(OVERLOAD_RETRY_DELAY));
        Status::with_error_details(
            tonic::Code::ResourceExhausted,
            format!("{why}; retry in {} ms", OVERLOAD_RETRY_DELAY.as_millis()),
            details,
        )
    }

    /// Admits a call or says why not; the permit, if any, must live as long as the call.
    fn admit(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Option<OwnedSemaphorePermit>, Status> {
        if self.buckets.is_some() {
            let who = Caller::of(&self.tokens, headers, extensions);
            match self.per_caller(&who) {
                Verdict::Admitted => {}
                Verdict::Wait(wait) => {
                    self.warn("caller over its rate: calls refused", &who);
                    return Err(self.rate_limited(wait, &who));
                }
                Verdict::TooManyCallers => {
                    self.warn("too many active callers: new callers refused", &who);
                    return Err(self.overloaded("the gateway is serving too many callers"));
                }
            }
        }
        match &self.in_flight {
            None => Ok(None),
            Some(s) => s.clone().try_acquire_owned().map(Some).map_err(|_| {
                self.warn("calls in flight at the cap: calls shed", &Caller::Unknown);
                self.overloaded(&format!(
                    "the gateway is at capacity ({} calls in flight)",
                    self.limits.max_in_flight
                ))
            }),
        }
    }
}

/// The admission layer around everything the gateway serves.
#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    thresholds: Arc<Thresholds>,
}

impl<S> Admission<S> {
    pub fn new(inner: S, thresholds: Arc<Thresholds>) -> Admission<S> {
        Admission { inner, thresholds }
    }
}

impl<S, B> Service<http::Request<B>> for Admission<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone takes the call; `self.inner`, already driven ready, stays for the next one
        // after its own poll_ready (tower's clone-and-swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if exempt(request.uri().path()) {
            return Box::pin(inner.call(request));
        }
        let permit = match self.thresholds.admit(request.headers(), request.extensions()) {
            Ok(p) => p,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        let call = inner.call(request);
        Box::pin(async move {
            let response = call.await?;
            Ok(match permit {
                // The call is in flight until its answer has streamed out.
                Some(permit) => response.map(|b| {
                    Body::new(Held {
                        inner: b,
                        permit: Some(permit),
                    })
                }),
                None => response,
            })
        })
    }
}

/// An answer's body holding its call's in-flight permit until the last frame (or until the
/// client goes away and the body is dropped).
struct Held {
    inner: Body,
    permit: Option<OwnedSemaphorePermit>,
}

impl http_body::Body for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.permit = None;
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

#[cfg(test)]
mod tests {
    use occasionali_runtime::identity::Principal;
    use occasionali_runtime::issuers::DevIssuer;
    use tower::ServiceExt;

    use super::*;

    fn limits(rate: u32, burst: u32, max_in_flight: u32, max_callers: u32) -> AdmissionLimits {
        AdmissionLimits {
            caller_rate_per_second: rate,
            caller_burst: burst,
            feed_rate_per_second: rate * 100,
            feed_burst: burst * 100,
            max_in_flight,
            max_callers,
        }
    }

    fn subject(sub: &str) -> Caller {
        Caller::Subject {
            profile: Profile::Intermediario,
            sub: sub.into(),
        }
    }

    #[test]
    fn a_caller_gets_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut b = Buckets::new(&limits(10, 3, 0, 100), t0);
        let anna = subject("BNCNNA75M70F205S");
        for _ in 0..3 {
            assert_eq!(b.take(&anna, t0), Verdict::Admitted);
        }
        // Empty: the next token comes in 1/10 s.
        match b.take(&anna, t0) {
            Verdict::Wait(w) => assert!((w.as_secs_f64() - 0.1).abs() < 1e-6, "{w:?}"),
            other => panic!("{other:?}"),
        }
        // Another caller is not affected.
        assert_eq!(b.take(&subject("RSSMRA85T10A562S"), t0), Verdict::Admitted);
        let later = t0 + Duration::from_millis(100);
        assert_eq!(b.take(&anna, later), Verdict::Admitted);
        assert!(matches!(b.take(&anna, later), Verdict::Wait(_)));
        // Idle long enough, the whole burst is back, never more.
        let much_later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(b.take(&anna, much_later), Verdict::Admitted);
        }
        assert!(matches!(b.take(&anna, much_later), Verdict::Wait(_)));
    }

    /// A payments feed (pagoPA: one NotifyPagoPa per receipt) has its own, larger bucket; a
    /// person with the same subject text does not get it.
    #[test]
    fn a_payments_feed_has_its_own_rate() {
        let t0 = Instant::now();
        let mut l = limits(10, 3, 0, 100);
        l.feed_rate_per_second = 100;
        l.feed_burst = 50;
        let mut b = Buckets::new(&l, t0);
        let pagopa = Caller::Subject {
            profile: Profile::FlussoPagamenti,
            sub: "PAGOPA".into(),
        };
        for _ in 0..50 {
            assert_eq!(b.take(&pagopa, t0), Verdict::Admitted);
        }
        match b.take(&pagopa, t0) {
            Verdict::Wait(w) => assert!((w.as_secs_f64() - 0.01).abs() < 1e-6, "{w:?}"),
            other => panic!("{other:?}"),
        }
        let person = subject("PAGOPA");
        for _ in 0..3 {
            assert_eq!(b.take(&person, t0), Verdict::Admitted);
        }
        assert!(matches!(b.take(&person, t0), Verdict::Wait(_)));
        // A full feed bucket is forgotten after its own refill time (0.5 s), not the caller's.
        b.sweep(t0 + Duration::from_millis(400));
        assert!(b.table.contains_key(&pagopa));
        b.sweep(t0 + Duration::from_millis(600));
        assert!(!b.table.contains_key(&pagopa));
    }

    #[test]
    fn idle_callers_are_forgotten_and_the_table_is_bounded() {
        let t0 = Instant::now();
        // Refill takes 2 / 1 = 2 s.
        let mut b = Buckets::new(&limits(1, 2, 0, 3), t0);
        for i in 0..3 {
            assert_eq!(b.take(&subject(&format!("C{i}")), t0), Verdict::Admitted);
        }
        // Three callers still refilling: a fourth is refused rather than evict one of them
        // (which would hand it a fresh burst).
        assert_eq!(b.take(&subject("C3"), t0), Verdict::TooManyCallers);
        assert_eq!(b.table.len(), 3);
        // Once their buckets are full again, they are forgotten and the newcomer fits.
        let t2 = t0 + Duration::from_secs(2);
        assert_eq!(b.take(&subject("C3"), t2), Verdict::Admitted);
        assert_eq!(b.table.len(), 1);
        // The periodic sweep forgets idle callers even when the table is not full.
        let mut b = Buckets::new(&limits(1, 2, 0, 1000), t0);
        for i in 0..500 {
            b.take(&subject(&format!("C{i}")), t0);
        }
        assert_eq!(b.table.len(), 500);
        b.take(&subject("X"), t0 + Duration::from_secs(3));
        assert_eq!(b.table.len(), 1);
    }

    #[test]
    fn ipv6_peers_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        let c: IpAddr = "2001:db8:1:3::1"
            .parse()
            .unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(c));
        let mapped: IpAddr = "::ffff:10.0.0.1"
            .parse()
            .unwrap_or(IpAddr::V4([0, 0, 0, 0].into()));
        assert_eq!(network(mapped), "10.0.0.1".parse().unwrap_or(mapped));
    }

    fn issuer() -> DevIssuer {
        DevIssuer::generate().unwrap_or_else(|e| panic!("{e}"))
    }

    fn verifier(dev: &DevIssuer) -> ClientVerifier {
        ClientVerifier::trusting(dev).unwrap_or_else(|e| panic!("{e}"))
    }

    fn request(path: &str, token: Option<&str>, peer: Option<&str>) -> http::Request<Body> {
        let mut r = http::Request::builder().uri(format!("http://gw{path}"));
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        let mut r = r.body(Body::empty()).unwrap_or_default();
        if let Some(p) = peer {
            r.extensions_mut().insert(TcpConnectInfo {
                local_addr: None,
                remote_addr: p.parse().ok(),
            });
        }
        r
    }

    /// An inner service whose answers' bodies end when the test says so, by dropping the
    /// sender (a feed still streaming, a slow answer).
    /// The senders keeping the answers' bodies open, in call order.
    type Open = Arc<Mutex<Vec<tokio::sync::mpsc::Sender<()>>>>;

    fn backend() -> (
        impl Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static,
        Open,
    ) {
        let open = Arc::new(Mutex::new(Vec::new()));
        let senders = open.clone();
        let svc = tower::service_fn(move |_r: http::Request<Body>| {
            let senders = senders.clone();
            async move {
                let (tx, rx) = tokio::sync::mpsc::channel::<()>(1);
                if let Ok(mut s) = senders.lock() {
                    s.push(tx);
                }
                let stream = futures::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|()| (Ok::<_, Infallible>(Bytes::new()), rx))
                });
                Ok::<_, Infallible>(http::Response::new(Body::from_stream(stream)))
            }
        });
        (svc, open)
    }

    fn status(r: &http::Response<Body>) -> Option<Status> {
        Status::from_header_map(r.headers())
    }

    async fn call<S>(svc: &mut Admission<S>, r: http::Request<Body>) -> http::Response<Body>
    where
        S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
    {
        match svc.ready().await {
            Ok(s) => match s.call(r).await {
                Ok(r) => r,
                Err(e) => match e {},
            },
            Err(e) => match e {},
        }
    }

    #[tokio::test]
    async fn calls_beyond_the_cap_in_flight_are_shed_with_retry_info() {
        let (inner, open) = backend();
        let tokens = verifier(&issuer());
        let mut svc = Admission::new(inner, Arc::new(Thresholds::new(limits(0, 0, 2, 10), tokens)));
        let path = "/occasionali.portafoglio.v1.PortafoglioService/ImportF24";
        let first = call(&mut svc, request(path, None, None)).await;
        let second = call(&mut svc, request(path, None, None)).await;
        assert!(status(&first).is_none() && status(&second).is_none());
        let shed = call(&mut svc, request(path, None, None)).await;
        let s = status(&shed).unwrap_or_else(|| Status::ok(""));
        assert_eq!(s.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            s.get_details_error_info().map(|i| i.reason).as_deref(),
            Some(OVERLOADED)
        );
        assert_eq!(
            s.get_details_retry_info().and_then(|r| r.retry_delay),
            Some(OVERLOAD_RETRY_DELAY)
        );
        // Health and reflection pass even now.
        for exempt in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(
                status(&call(&mut svc, request(exempt, None, None)).await).is_none(),
                "{exempt}"
            );
        }
        // A call is in flight until its answer has streamed out: the first one ends...
        use http_body_util::BodyExt;
        if let Ok(mut s) = open.lock() {
            s.remove(0);
        }
        let _ = first.into_body().collect().await;
        assert!(status(&call(&mut svc, request(path, None, None)).await).is_none());
        // ...and a client that goes away frees its slot too.
        drop(second);
        assert!(status(&call(&mut svc, request(path, None, None)).await).is_none());
    }

    #[tokio::test]
    async fn each_caller_has_its_own_bucket_keyed_by_token_or_peer() {
        let (inner, _open) = backend();
        let tokens = issuer();
        let mut svc = Admission::new(
            inner,
            Arc::new(Thresholds::new(limits(1, 2, 0, 100), verifier(&tokens))),
        );
        let mint = |cf: &str| {
            tokens
                .mint(
                    &Principal {
                        cf: cf.into(),
                        profile: Profile::Intermediario,
                        sede: None,
                    },
                    60,
                )
                .unwrap_or_default()
        };
        let (marco, anna) = (mint("SPSMRC70S20F839X"), mint("BNCNNA75M70F205S"));
        let path = "/occasionali.anagrafica.v1.AnagraficaService/GetSoggetto";
        // Two calls of burst, from any address: the token is who counts.
        for peer in ["10.0.0.1:1", "10.0.0.2:1"] {
            assert!(status(&call(&mut svc, request(path, Some(&marco), Some(peer))).await).is_none());
        }
        let refused = call(&mut svc, request(path, Some(&marco), Some("10.0.0.3:1"))).await;
        let s = status(&refused).unwrap_or_else(|| Status::ok(""));
        assert_eq!(s.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            s.get_details_error_info().map(|i| i.reason).as_deref(),
            Some(RATE_LIMITED)
        );
        let delay = s.get_details_retry_info().and_then(|r| r.retry_delay);
        assert!(
            delay.is_some_and(|d| d > Duration::ZERO && d <= Duration::from_secs(1)),
            "{delay:?}"
        );
        // Anna, on the same address, is served.
        assert!(status(&call(&mut svc, request(path, Some(&anna), Some("10.0.0.3:1"))).await).is_none());
        // Without a valid token, the peer address counts: a forged token does not help.
        for _ in 0..2 {
            assert!(
                status(&call(&mut svc, request(path, Some("forged"), Some("10.0.0.9:1"))).await).is_none()
            );
        }
        let s = status(&call(&mut svc, request(path, None, Some("10.0.0.9:2"))).await);
        assert_eq!(s.map(|s| s.code()), Some(tonic::Code::ResourceExhausted));
        assert!(status(&call(&mut svc, request(path, None, Some("10.0.0.10:1"))).await).is_none());
        // Health is never counted.
        for _ in 0..5 {
            let h = call(
                &mut svc,
                request("/grpc.health.v1.Health/Check", Some(&marco), None),
            )
            .await;
            assert!(status(&h).is_none());
        }
    }
}
