//! Mutual TLS between processes (issue 14) against real servers on loopback: the runtime's own
//! server (`server::serve` with `[tls]`) and its channels, certificates made in the test by a
//! throw-away CA (`tls::dev`). A client with a certificate of the CA is answered; one without a
//! certificate, with one of another CA, or speaking plaintext is refused at the handshake; a
//! server whose certificate does not name the host called is refused by the client. Certificate
//! files replaced on disk (a new key; a new CA beside the old one) are used by new connections
//! without a restart, while established ones keep working; a client's files are reloaded too.
//! Balanced channels check the name, not the address they connect to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use occasionali_runtime::client::{self, Balancing, hosts};
use occasionali_runtime::server::{self, ServeOptions};
use occasionali_runtime::shutdown::{self, ShutdownTrigger as Trigger};
use occasionali_runtime::tls::dev::{DevCa, DevCert, TEST_RELOAD_EVERY};
use occasionali_runtime::tls::{ClientTls, ServerTls, TlsFiles};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A directory of its own under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("occasionali-tls-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `cert` (and `ca_pem` as the trusted CAs) written under `dir` as `stem`, checked often.
fn files(dir: &Path, stem: &str, cert: &DevCert, ca_pem: &str) -> TlsFiles {
    let sub = dir.join(stem);
    let mut files = cert.write(&sub, stem, Some(ca_pem)).unwrap();
    files.reload_every = TEST_RELOAD_EVERY;
    files
}

/// The runtime's server, with mutual TLS, on `addr`; health reports `service` SERVING.
struct Served {
    addr: SocketAddr,
    trigger: Trigger,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Served {
    async fn start(addr: SocketAddr, files: TlsFiles, service: &str) -> Served {
        Served::start_with(addr, ServerTls::load(files).unwrap(), service).await
    }

    async fn start_with(addr: SocketAddr, tls: ServerTls, service: &str) -> Served {
        let listener = server::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (trigger, signal) = shutdown::channel();
        let options = ServeOptions {
            name: "prova".into(),
            services: vec![service.into()],
            drain: Duration::ZERO,
            tls: Some(tls),
        };
        let task = tokio::spawn(server::serve(
            listener,
            options,
            tonic::service::Routes::default(),
            signal,
        ));
        Served { addr, trigger, task }
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("server did not stop")
            .unwrap()
            .unwrap();
    }
}

fn balancing(tls: Option<ClientTls>) -> Balancing {
    Balancing {
        resolve_every: Duration::from_millis(100),
        check_every: Duration::from_millis(50),
        shutdown: None,
        tls,
    }
}

/// The health of `service` through `channel`.
async fn check(channel: &Channel, service: &str) -> Result<i32, tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: service.into(),
    });
    request.set_timeout(Duration::from_secs(3));
    match tokio::time::timeout(
        Duration::from_secs(5),
        HealthClient::new(channel.clone()).check(request),
    )
    .await
    {
        Ok(r) => r.map(|r| r.into_inner().status),
        Err(_) => Err(tonic::Status::deadline_exceeded("waited 5 s")),
    }
}

/// A call through a channel made for the test from tonic's own TLS settings (no reload).
async fn check_with(url: &str, tls: Option<ClientTlsConfig>) -> Result<i32, tonic::Status> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect_timeout(Duration::from_secs(2));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).unwrap();
    }
    check(&endpoint.connect_lazy(), "").await
}

/// A raw TLS connection as `name`, trusting `ca_pem`, presenting `identity` if given: the
/// certificate the server presented once the server accepted the connection (it answered the
/// HTTP/2 preface), or why not.
async fn handshake(
    addr: SocketAddr,
    name: &str,
    ca_pem: &str,
    identity: Option<&DevCert>,
) -> Result<CertificateDer<'static>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned();
    // With TLS 1.3 the server judges the client's certificate after the client has finished
    // its side: the refusal is the alert that comes instead of the server's HTTP/2 SETTINGS.
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .map_err(|e| e.to_string())?;
    let mut first = [0u8; 9];
    match tokio::time::timeout(Duration::from_secs(5), tls.read_exact(&mut first)).await {
        Ok(Ok(_)) if first[3] == 0x4 => Ok(presented),
        Ok(Ok(_)) => Err(format!("not an HTTP/2 SETTINGS frame: {first:?}")),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in 5 s".into()),
    }
}

/// A call that never reached the service: the connection failed. Which code tonic gives depends
/// on when the refusal arrived (with TLS 1.3 a client's certificate is refused after the client
/// finished its handshake, so the first write meets a closed connection): UNAVAILABLE, UNKNOWN
/// "transport error", or CANCELLED; a plaintext client reads the TLS alert as a broken HTTP/2
/// frame: INTERNAL "h2 protocol error".
fn assert_refused(outcome: Result<i32, tonic::Status>) {
    match outcome {
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
            ) => {}
        Err(s) if s.code() == tonic::Code::Internal && s.message().contains("h2 protocol error") => {}
        other => panic!("not refused: {other:?}"),
    }
}

fn der(cert: &DevCert) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).unwrap()
}

/// Waits until `f` holds (file checks run every TEST_RELOAD_EVERY).
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let limit = Instant::now() + Duration::from_secs(10);
    loop {
        match f().await {
            Ok(()) => return,
            Err(e) if Instant::now() > limit => panic!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

const LOOPBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_with_mtls_answers_only_clients_with_a_certificate_of_its_ca() {
    let dir = scratch("refusals");
    let ca = DevCa::new("prova CA").unwrap();
    let other = DevCa::new("another CA").unwrap();
    let server_cert = ca.issue(&["anagrafica.tls.test"]).unwrap();
    let server = Served::start(
        LOOPBACK,
        files(&dir, "server", &server_cert, &ca.pem()),
        "prova.Servizio",
    )
    .await;
    let port = server.addr.port();
    hosts::set("anagrafica.tls.test", &[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    hosts::set("altro.tls.test", &[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let url = format!("https://anagrafica.tls.test:{port}");

    // A client with a certificate of the CA is answered, through the runtime's channel.
    let client_cert = ca.issue(&["gateway"]).unwrap();
    let client = ClientTls::load(files(&dir, "client", &client_cert, &ca.pem())).unwrap();
    let (channel, _) = client::balanced_channel(&url, balancing(Some(client.clone()))).unwrap();
    assert_eq!(
        check(&channel, "prova.Servizio")
            .await
            .map_err(|s| format!("{s:?}")),
        Ok(ServingStatus::Serving as i32)
    );
    assert_eq!(
        handshake(server.addr, "anagrafica.tls.test", &ca.pem(), Some(&client_cert)).await,
        Ok(der(&server_cert))
    );

    // No client certificate: refused at the handshake (the alert comes instead of SETTINGS).
    let refused = handshake(server.addr, "anagrafica.tls.test", &ca.pem(), None)
        .await
        .unwrap_err();
    assert!(
        refused.contains("CertificateRequired") || refused.contains("alert"),
        "{refused}"
    );
    let tonic_ca = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("anagrafica.tls.test");
    assert_refused(check_with(&url, Some(tonic_ca.clone())).await);

    // A certificate of another CA: refused at the handshake.
    let stranger = other.issue(&["gateway"]).unwrap();
    let refused = handshake(server.addr, "anagrafica.tls.test", &ca.pem(), Some(&stranger))
        .await
        .unwrap_err();
    assert!(refused.contains("alert"), "{refused}");
    assert_refused(
        check_with(
            &url,
            Some(tonic_ca.identity(Identity::from_pem(&stranger.cert_pem, &stranger.key_pem))),
        )
        .await,
    );

    // Plaintext h2c: no answer but a failed connection.
    assert_refused(check_with(&format!("http://127.0.0.1:{port}"), None).await);

    // The client refuses a server whose certificate does not name the host it called, though
    // the CA is right: the same server called as altro.tls.test.
    let (wrong, _) = client::balanced_channel(
        &format!("https://altro.tls.test:{port}"),
        balancing(Some(client.clone())),
    )
    .unwrap();
    assert_refused(check(&wrong, "").await);
    let refused = handshake(server.addr, "altro.tls.test", &ca.pem(), Some(&client_cert))
        .await
        .unwrap_err();
    assert!(refused.contains("not valid for name"), "{refused}");

    // An https:// URL without client TLS is a configuration error, not a plaintext call.
    let error = client::balanced_channel(&url, balancing(None)).unwrap_err();
    assert!(error.to_string().contains("[tls]"), "{error}");

    // The established channel still works after all those refusals.
    assert_eq!(
        check(&channel, "").await.map_err(|s| format!("{s:?}")),
        Ok(ServingStatus::Serving as i32)
    );
    server.stop().await;
    hosts::remove("anagrafica.tls.test");
    hosts::remove("altro.tls.test");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_certificate_files_are_used_by_new_connections_without_a_restart() {
    let dir = scratch("rotation");
    let ca = DevCa::new("prova CA").unwrap();
    let first = ca.issue(&["127.0.0.1"]).unwrap();
    let server_files = files(&dir, "server", &first, &ca.pem());
    let server = Served::start(LOOPBACK, server_files.clone(), "prova.Servizio").await;
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let client_cert = ca.issue(&["gateway"]).unwrap();
    let client = ClientTls::load(files(&dir, "client", &client_cert, &ca.pem())).unwrap();
    let (channel, _) = client::balanced_channel(&url, balancing(Some(client.clone()))).unwrap();
    assert_eq!(
        check(&channel, "").await.map_err(|s| format!("{s:?}")),
        Ok(ServingStatus::Serving as i32)
    );
    assert_eq!(
        handshake(server.addr, "127.0.0.1", &ca.pem(), Some(&client_cert)).await,
        Ok(der(&first))
    );

    // A stream open across the renewal: its connection must stay.
    let mut watch = HealthClient::new(channel.clone())
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().map(|m| m.status),
        Some(ServingStatus::Serving as i32)
    );

    // cert-manager renews: a new key, the same CA, written in place.
    let renewed = ca.issue(&["127.0.0.1"]).unwrap();
    renewed
        .write(server_files.cert.parent().unwrap(), "server", None)
        .unwrap();
    eventually("the renewed certificate is presented", || async {
        match handshake(server.addr, "127.0.0.1", &ca.pem(), Some(&client_cert)).await {
            Ok(c) if c == der(&renewed) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // The connection made before the renewal was not dropped: the stream is still open (no
    // message, no end, no error), and calls still work.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), watch.message())
            .await
            .is_err(),
        "the stream opened before the renewal ended"
    );
    // Closed by the client: an open stream would hold the server's graceful stop.
    drop(watch);
    assert_eq!(
        check(&channel, "").await.map_err(|s| format!("{s:?}")),
        Ok(ServingStatus::Serving as i32)
    );

    // A CA rotation: the new CA is added beside the old one, the server gets a certificate of
    // the new one. Clients of either CA are let in; the server presents the new certificate.
    let new_ca = DevCa::new("new prova CA").unwrap();
    let both = format!("{}{}", ca.pem(), new_ca.pem());
    let of_new = new_ca.issue(&["127.0.0.1"]).unwrap();
    of_new
        .write(server_files.cert.parent().unwrap(), "server", Some(&both))
        .unwrap();
    let new_client = new_ca.issue(&["gateway"]).unwrap();
    eventually(
        "the new CA's certificate is presented and its clients let in",
        || async {
            match handshake(server.addr, "127.0.0.1", &new_ca.pem(), Some(&new_client)).await {
                Ok(c) if c == der(&of_new) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert_eq!(
        handshake(server.addr, "127.0.0.1", &both, Some(&client_cert)).await,
        Ok(der(&of_new))
    );
    // Files that do not load (a key of another certificate) leave the last good ones in use.
    std::fs::write(&server_files.key, ca.issue(&["x"]).unwrap().key_pem).unwrap();
    tokio::time::sleep(TEST_RELOAD_EVERY * 3).await;
    assert_eq!(
        handshake(server.addr, "127.0.0.1", &both, Some(&new_client)).await,
        Ok(der(&of_new))
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reloads_its_certificate_files() {
    let dir = scratch("client-reload");
    let ca = DevCa::new("prova CA").unwrap();
    let other = DevCa::new("another CA").unwrap();
    let server = Served::start(
        LOOPBACK,
        files(&dir, "server", &ca.issue(&["127.0.0.1"]).unwrap(), &ca.pem()),
        "",
    )
    .await;
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    // The client starts with a certificate the server does not accept...
    let client_files = files(&dir, "client", &other.issue(&["gateway"]).unwrap(), &ca.pem());
    let client = ClientTls::load(client_files.clone()).unwrap();
    let (channel, _) = client::balanced_channel(&url, balancing(Some(client))).unwrap();
    assert_refused(check(&channel, "").await);
    // ...until its files are replaced with one of the CA: the same channel then works.
    ca.issue(&["gateway"])
        .unwrap()
        .write(client_files.cert.parent().unwrap(), "client", None)
        .unwrap();
    eventually("the channel uses the client's new certificate", || async {
        check(&channel, "")
            .await
            .map(|_| ())
            .map_err(|s| format!("{s:?}"))
    })
    .await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Balancing with TLS: the name resolves to two replicas; each presents a certificate for the
/// name only (no IP address in it), so every call checks the name, not the address it went to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_balanced_channel_spreads_calls_over_tls_replicas_checking_the_name() {
    let dir = scratch("balanced");
    let ca = DevCa::new("prova CA").unwrap();
    let name = "repliche.tls.test";
    let a_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    let b_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let a = Served::start(
        SocketAddr::new(a_ip, 0),
        files(&dir, "a", &ca.issue(&[name]).unwrap(), &ca.pem()),
        "prova.A",
    )
    .await;
    let port = a.addr.port();
    let b = match server::bind(SocketAddr::new(b_ip, port)).await {
        Ok(l) => {
            drop(l);
            Served::start(
                SocketAddr::new(b_ip, port),
                files(&dir, "b", &ca.issue(&[name]).unwrap(), &ca.pem()),
                "prova.B",
            )
            .await
        }
        Err(e) => panic!("port {port} taken on {b_ip}: {e}"),
    };
    hosts::set(name, &[a_ip, b_ip]);
    let client = ClientTls::load(files(&dir, "client", &ca.issue(&["gateway"]).unwrap(), &ca.pem())).unwrap();
    let (channel, addresses) =
        client::balanced_channel(&format!("https://{name}:{port}"), balancing(Some(client))).unwrap();
    let limit = Instant::now() + Duration::from_secs(5);
    while addresses.current().len() < 2 {
        assert!(Instant::now() < limit, "{:?}", addresses.current());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Replica A knows prova.A (SERVING), B does not (NOT_FOUND): both answers show up.
    let (mut from_a, mut from_b) = (0, 0);
    for _ in 0..40 {
        match check(&channel, "prova.A").await {
            Ok(s) if s == ServingStatus::Serving as i32 => from_a += 1,
            Err(s) if s.code() == tonic::Code::NotFound => from_b += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(from_a > 0 && from_b > 0, "A {from_a}, B {from_b}");
    hosts::remove(name);
    a.stop().await;
    b.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The gateway's public side: TLS without a client certificate (clients bring bearer tokens);
/// and the plaintext health port beside a mutual-TLS listener, for the kubelet's probes, which
/// answers health and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_only_tls_and_the_plaintext_health_port() {
    let dir = scratch("public");
    let ca = DevCa::new("public CA").unwrap();
    let mut public = ca
        .issue(&["api.tls.test"])
        .unwrap()
        .write(&dir.join("public"), "gateway", None)
        .unwrap();
    public.reload_every = TEST_RELOAD_EVERY;
    let gateway = Served::start_with(LOOPBACK, ServerTls::load(public).unwrap(), "").await;
    let anonymous = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("api.tls.test");
    let url = format!("https://{}", gateway.addr);
    assert_eq!(
        check_with(&url, Some(anonymous))
            .await
            .map_err(|s| format!("{s:?}")),
        Ok(ServingStatus::Serving as i32)
    );
    gateway.stop().await;

    // A context with mTLS and plaintext health on another port.
    let health = server::bind(LOOPBACK).await.unwrap();
    let health_addr = health.local_addr().unwrap();
    drop(health);
    let tls = ServerTls::load(files(
        &dir,
        "server",
        &ca.issue(&["127.0.0.1"]).unwrap(),
        &ca.pem(),
    ))
    .unwrap()
    .with_plain_health(Some(health_addr));
    let context = Served::start_with(LOOPBACK, tls, "prova.Servizio").await;
    let probe = format!("http://{health_addr}");
    let (plain, _) = client::balanced_channel(&probe, balancing(None)).unwrap();
    // Bound once the server starts, just after the main listener.
    eventually("plaintext health answers SERVING", || async {
        match check(&plain, "prova.Servizio").await {
            Ok(s) if s == ServingStatus::Serving as i32 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // Only health there: reflection (and every application service) is not served.
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(plain.clone());
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let status = match reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
    {
        Ok(mut answers) => answers.get_mut().message().await.unwrap_err(),
        Err(s) => s,
    };
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    // The main port still refuses plaintext.
    assert_refused(check_with(&format!("http://{}", context.addr), None).await);
    context.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
