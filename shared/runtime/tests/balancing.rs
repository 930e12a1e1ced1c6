//! Client-side balancing (issue 11) against real servers: two or three tonic servers on the same
//! port of different loopback addresses, one name resolving to them. Calls spread over every
//! address with the name as `:authority`; a replica going NOT_SERVING (a draining shutdown) is
//! left before it stops, so no call fails; one that stops without warning is left at the next
//! health check; a refresh picks up a new address and drops a vanished one; a failing
//! resolution keeps the last good set; a name that does not resolve yet fails calls at once
//! and works once it resolves; the refresh stops with the channel and at shutdown.
//!
//! `localhost` resolves to 127.0.0.1 alone on this kind of machine, so the names with several
//! addresses come from the process's own table (`client::hosts`); the system resolver is
//! exercised with `localhost`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use occasionali_runtime::client::{self, Addresses, Balancing, hosts};
use occasionali_runtime::shutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;

/// The header that marks the test's own calls (the balancer's health checks are not counted).
const MARK: &str = "x-prova";

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Fast refresh, so each step takes milliseconds.
fn fast() -> Balancing {
    Balancing {
        resolve_every: Duration::from_millis(100),
        check_every: Duration::from_millis(50),
        shutdown: None,
        tls: None,
    }
}

/// One replica: a real tonic server (health) counting the test's calls it served.
struct Replica {
    addr: SocketAddr,
    served: Arc<AtomicUsize>,
    authority: Arc<Mutex<Option<String>>>,
    reporter: HealthReporter,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Replica {
    async fn serve(listener: TcpListener) -> Replica {
        let addr = listener.local_addr().unwrap();
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter.set_service_status("", ServingStatus::Serving).await;
        let served = Arc::new(AtomicUsize::new(0));
        let authority = Arc::new(Mutex::new(None));
        let (counter, seen) = (served.clone(), authority.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = Server::builder()
                .layer(tower::layer::layer_fn(move |inner| Count {
                    inner,
                    served: counter.clone(),
                    authority: seen.clone(),
                }))
                .add_service(health)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                })
                .await;
        });
        Replica {
            addr,
            served,
            authority,
            reporter,
            stop: Some(stop),
            task,
        }
    }

    fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// A graceful stop without a drain: open connections are told to go away, new ones refused.
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("server did not stop")
            .unwrap();
    }
}

/// Counts the marked calls and remembers the `:authority` they carried.
#[derive(Clone)]
struct Count<S> {
    inner: S,
    served: Arc<AtomicUsize>,
    authority: Arc<Mutex<Option<String>>>,
}

impl<S, B> tower::Service<http::Request<B>> for Count<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> S::Future {
        if request.headers().contains_key(MARK) {
            self.served.fetch_add(1, Ordering::SeqCst);
            *self.authority.lock().unwrap() = request.uri().authority().map(|a| a.to_string());
        }
        self.inner.call(request)
    }
}

/// Listeners on the same free port of each of `ips`.
async fn same_port(ips: &[IpAddr]) -> Vec<TcpListener> {
    'attempt: for _ in 0..50 {
        let first = TcpListener::bind(SocketAddr::new(ips[0], 0)).await.unwrap();
        let port = first.local_addr().unwrap().port();
        let mut listeners = vec![first];
        for ip in &ips[1..] {
            match TcpListener::bind(SocketAddr::new(*ip, port)).await {
                Ok(l) => listeners.push(l),
                // Taken there by someone else: another port.
                Err(_) => continue 'attempt,
            }
        }
        return listeners;
    }
    panic!("no port free on every address");
}

/// One marked health check through `channel`.
async fn call(channel: &Channel) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request.metadata_mut().insert(MARK, "1".parse().unwrap());
    request.set_timeout(Duration::from_secs(2));
    match tokio::time::timeout(
        Duration::from_secs(5),
        HealthClient::new(channel.clone()).check(request),
    )
    .await
    {
        Ok(r) => r.map(|_| ()),
        Err(_) => Err(tonic::Status::deadline_exceeded("the call waited 5 s")),
    }
}

async fn calls(channel: &Channel, n: usize) {
    for i in 0..n {
        if let Err(s) = call(channel).await {
            panic!("call {i} of {n} failed: {s:?}");
        }
    }
}

/// Waits until the channel balances over exactly `want`.
async fn until_current(addresses: &Addresses, want: &[SocketAddr]) {
    let limit = Instant::now() + Duration::from_secs(5);
    let mut want = want.to_vec();
    want.sort();
    loop {
        let mut current = addresses.current();
        current.sort();
        if current == want {
            return;
        }
        assert!(Instant::now() < limit, "balancing over {current:?}, not {want:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_spread_over_every_replica_and_leave_one_that_drains_without_failing() {
    let mut listeners = same_port(&[ip(1), ip(2)]).await;
    let b = Replica::serve(listeners.pop().unwrap()).await;
    let a = Replica::serve(listeners.pop().unwrap()).await;
    let port = a.addr.port();
    let name = "drain.balancing.test";
    hosts::set(name, &[ip(1), ip(2)]);
    let (channel, addresses) = client::balanced_channel(&format!("http://{name}:{port}"), fast()).unwrap();

    calls(&channel, 200).await;
    let (to_a, to_b) = (a.served(), b.served());
    assert_eq!(to_a + to_b, 200);
    // p2c over two equally idle connections is a coin toss: 100 ± 7 each.
    assert!(to_a >= 50 && to_b >= 50, "not spread: {to_a} and {to_b}");
    // The name, not the address, is what the servers see (virtual hosting, TLS later).
    let authority = format!("{name}:{port}");
    assert_eq!(a.authority.lock().unwrap().as_deref(), Some(authority.as_str()));
    assert_eq!(b.authority.lock().unwrap().as_deref(), Some(authority.as_str()));
    until_current(&addresses, &[a.addr, b.addr]).await;
    // Streams' own connections (the gateway's feeds) take the replicas in turn.
    let mut own: Vec<String> = (0..2)
        .map(|_| {
            addresses
                .own_endpoint()
                .unwrap()
                .uri()
                .authority()
                .unwrap()
                .to_string()
        })
        .collect();
    own.sort();
    assert_eq!(own, vec![a.addr.to_string(), b.addr.to_string()]);

    // B shuts down as `serve` does: NOT_SERVING first, then it stops. Calls never fail: B is
    // left at its next health check, before it stops.
    b.reporter.set_service_status("", ServingStatus::NotServing).await;
    let limit = Instant::now() + Duration::from_secs(5);
    while addresses.current() != vec![a.addr] {
        assert!(Instant::now() < limit, "B not left: {:?}", addresses.current());
        calls(&channel, 1).await;
    }
    b.stop().await;
    let before = a.served();
    calls(&channel, 100).await;
    assert_eq!(a.served(), before + 100);

    // Spread again once B is back, on the same address.
    let b = Replica::serve(TcpListener::bind(SocketAddr::new(ip(2), port)).await.unwrap()).await;
    until_current(&addresses, &[a.addr, b.addr]).await;
    calls(&channel, 100).await;
    assert!(b.served() >= 20, "B back but not called: {}", b.served());

    drop(channel);
    tokio::time::timeout(Duration::from_secs(2), addresses.stopped())
        .await
        .expect("the refresh outlived its channel");
    hosts::remove(name);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_stops_without_warning_is_left_at_the_next_check() {
    let mut listeners = same_port(&[ip(1), ip(2)]).await;
    let b = Replica::serve(listeners.pop().unwrap()).await;
    let a = Replica::serve(listeners.pop().unwrap()).await;
    let name = "crash.balancing.test";
    hosts::set(name, &[ip(1), ip(2)]);
    let (channel, addresses) =
        client::balanced_channel(&format!("http://{name}:{}", a.addr.port()), fast()).unwrap();
    calls(&channel, 50).await;
    assert!(b.served() > 0);

    b.stop().await;
    // Calls landing on B before the next check fail (its connection is refused); then none.
    until_current(&addresses, &[a.addr]).await;
    let before = a.served();
    calls(&channel, 100).await;
    assert_eq!(a.served(), before + 100);
    hosts::remove(name);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_adds_new_addresses_drops_vanished_ones_and_survives_a_failing_resolution() {
    let mut listeners = same_port(&[ip(1), ip(3)]).await;
    let c_listener = listeners.pop().unwrap();
    let a = Replica::serve(listeners.pop().unwrap()).await;
    let port = a.addr.port();
    let name = "refresh.balancing.test";
    hosts::set(name, &[ip(1)]);
    let (channel, addresses) = client::balanced_channel(&format!("http://{name}:{port}"), fast()).unwrap();
    calls(&channel, 20).await;
    assert_eq!(a.served(), 20);

    // A new replica: the name now resolves to it too.
    let c = Replica::serve(c_listener).await;
    hosts::set(name, &[ip(1), ip(3)]);
    until_current(&addresses, &[a.addr, c.addr]).await;
    calls(&channel, 200).await;
    assert!(c.served() >= 50, "new address not used: {}", c.served());

    // A's address vanishes from the name: no call goes there any more.
    hosts::set(name, &[ip(3)]);
    until_current(&addresses, &[c.addr]).await;
    let to_a = a.served();
    calls(&channel, 50).await;
    assert_eq!(a.served(), to_a);

    // The name stops resolving (a DNS outage): the last good set keeps serving.
    hosts::remove(name);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(addresses.current(), vec![c.addr]);
    let to_c = c.served();
    calls(&channel, 20).await;
    assert_eq!(c.served(), to_c + 20);
    a.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_does_not_resolve_yet_fails_calls_at_once_and_works_once_it_does() {
    let listener = TcpListener::bind(SocketAddr::new(ip(1), 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // `.invalid` never resolves (RFC 6761), so the system resolver answers at once.
    let name = "later.balancing.invalid";
    let (channel, addresses) = client::balanced_channel(&format!("http://{name}:{port}"), fast()).unwrap();
    let started = Instant::now();
    let refused = call(&channel)
        .await
        .expect_err("a name that does not resolve answered");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?}",
        started.elapsed()
    );
    assert!(addresses.current().is_empty());

    // The replica comes up and the name resolves: the same channel reaches it.
    let a = Replica::serve(listener).await;
    hosts::set(name, &[ip(1)]);
    until_current(&addresses, &[a.addr]).await;
    calls(&channel, 10).await;
    assert_eq!(a.served(), 10);
    hosts::remove(name);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_resolver_and_ip_literals_work_and_the_refresh_stops_at_shutdown() {
    let a = Replica::serve(TcpListener::bind(SocketAddr::new(ip(1), 0)).await.unwrap()).await;
    let port = a.addr.port();

    // `localhost` through the system resolver (/etc/hosts here).
    let (trigger, stop) = shutdown::channel();
    let (channel, addresses) = client::balanced_channel(
        &format!("http://localhost:{port}"),
        Balancing {
            shutdown: Some(stop),
            ..fast()
        },
    )
    .unwrap();
    calls(&channel, 10).await;
    assert_eq!(a.served(), 10);
    assert!(addresses.current().contains(&a.addr), "{:?}", addresses.current());
    assert_eq!(
        a.authority.lock().unwrap().as_deref(),
        Some(format!("localhost:{port}").as_str())
    );
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(2), addresses.stopped())
        .await
        .expect("the refresh outlived shutdown");
    // The channel keeps the addresses it had.
    calls(&channel, 10).await;

    // An IP literal: one address, nothing to refresh.
    let (channel, addresses) =
        client::balanced_channel(&format!("http://{}", a.addr), Balancing::default()).unwrap();
    assert_eq!(addresses.current(), vec![a.addr]);
    tokio::time::timeout(Duration::from_millis(100), addresses.stopped())
        .await
        .expect("an IP literal has no refresh");
    calls(&channel, 10).await;
    assert_eq!(a.served(), 30);
    // A stream's own connection goes to the same replica set.
    assert_eq!(
        addresses
            .own_endpoint()
            .unwrap()
            .uri()
            .authority()
            .map(|x| x.to_string()),
        Some(a.addr.to_string())
    );
    a.stop().await;
}
