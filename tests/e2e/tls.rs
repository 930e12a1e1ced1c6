//! Issue 14: the cluster with mutual TLS on every internal hop (gateway → context, context →
//! context, the relay), wired as `occasionali dev` / `serve` wire it from `[tls]`: every
//! context and the gateway on listeners of their own, one development CA. A normal call through
//! the gateway succeeds (registration crosses gateway → anagrafica over mTLS); the gateway sees
//! every backend SERVING through its mTLS health checks; a backend refuses a plaintext client.
//!
//! The process's client TLS is process-wide (`tls::install_client`): this is the only test of
//! this binary that turns it on. The other tests' clusters call http:// URLs, which never use it.

use occasionali_e2e::Cluster;
use occasionali_runtime::config::TlsConfig;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::Profile;
use occasionali_runtime::tls::dev::DevCa;
use serde_json::json;

use crate::persona;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_the_cluster_with_mutual_tls_between_processes_answers_a_normal_call() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("occasionali-e2e-tls-{}", std::process::id()));
    let ca = DevCa::new("e2e CA")?;
    // The default endpoints of a [tls] configuration are https://127.0.0.1:<port>.
    let files = ca
        .issue(&["127.0.0.1", "localhost"])?
        .write(&dir, "platform", Some(&ca.pem()))?;
    let c = Cluster::start_with(None, |config| {
        config.tls = TlsConfig {
            ca_file: files.ca.clone(),
            cert_file: Some(files.cert.clone()),
            key_file: Some(files.key.clone()),
            reload_every_seconds: None,
            health_listen: None,
        };
    })
    .await?;
    // Every backend SERVING as the gateway sees it: its health checks went over mTLS.
    c.wait_all_serving().await?;

    let g = c.grpcurl();
    let mario = persona("Verdi", "Mario", "1990-03-15", false, "H501");
    let t = c.token(Profile::Prestatore, &mario.cf, None)?;
    let body = json!({
        "persona": mario.json(),
        "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
        "contatti": {"cellulare": "+393331234567", "email": "prestatore@example.it"},
        "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"},
        "categorie": [{"tipo": "TIPO_CATEGORIA_STUDENTE", "validita": {"dal": "2026-01-01", "al": "2026-12-31"}}]
    });
    let o = g
        .call(
            Some(&t),
            "occasionali.anagrafica.v1.AnagraficaService/RegisterPrestatore",
            &body,
        )
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.json()?["soggetto"]["sede"], "RM");
    let o = g
        .call(
            Some(&t),
            "occasionali.anagrafica.v1.AnagraficaService/GetSoggetto",
            &json!({"codice_fiscale": mario.cf}),
        )
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);

    // A backend speaks only mutual TLS: grpcurl in plaintext gets no answer from it.
    let plain = c
        .grpcurl_backend(Context::Anagrafica)
        .call(None, "grpc.health.v1.Health/Check", &json!({}))
        .await?;
    assert_ne!(plain.code, 0, "{plain:?}");
    assert!(!plain.stdout.contains("SERVING"), "{plain:?}");

    c.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// The processes of one separate-process platform, killed when dropped (on failure too).
struct Processi(Vec<std::process::Child>);

impl Drop for Processi {
    fn drop(&mut self) {
        for p in &mut self.0 {
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

/// As production runs it: every context and the gateway as its own `occasionali serve`
/// process (SQLite under a scratch directory), each with its own certificate from
/// `occasionali dev-certs`, listeners handed over by socket activation (no port race). Through
/// the gateway a call reaches anagrafica over mTLS; the gateway reports every backend SERVING
/// (its health checks go over mTLS too); a context refuses a plaintext client.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_separate_processes_with_their_own_certificates_answer_through_the_gateway() -> anyhow::Result<()>
{
    use command_fds::{CommandFdExt, FdMapping};
    use std::os::fd::OwnedFd;
    use std::process::{Command, Stdio};

    let bin = occasionali_e2e::occasionali_binary()?;
    let dir = std::env::temp_dir().join(format!("occasionali-e2e-tls-processi-{}", std::process::id()));
    let tls = dir.join("tls");
    let made = Command::new(&bin)
        .arg("dev-certs")
        .arg("--dir")
        .arg(&tls)
        .env("OCCASIONALI_DATA_DIR", &dir)
        .output()?;
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    // Clients' tokens come from the dev issuer, whose JWKS the gateway reads from a file named
    // in the configuration (issuers are a list: TOML, not the environment).
    let dev = occasionali_runtime::issuers::DevIssuer::load_or_create(&secrets.join("dev-issuer.pem"))?;
    let jwks = secrets.join("dev-issuer.jwks.json");
    std::fs::write(&jwks, serde_json::to_vec(&dev.jwks())?)?;
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.issuers]]\nname = \"dev\"\nissuer = {:?}\njwks_file = {:?}\naudiences = [{:?}]\nalgorithms = [\"ES256\"]\nprofile_claim = \"profile\"\nsede_claim = \"sede\"\n",
            occasionali_runtime::issuers::DEV_ISSUER,
            jwks.display().to_string(),
            occasionali_runtime::issuers::DEV_AUDIENCE,
        ),
    )?;
    // Each process signs its internal tokens with its own key; every public key is trusted.
    let internal = secrets.join("internal");
    occasionali_runtime::firme::Portachiavi::dev(&internal, &internal.join("trust"))?;

    let mut ascolti = Vec::new();
    let mut env: Vec<(String, String)> = vec![
        ("OCCASIONALI_DATA_DIR".into(), dir.display().to_string()),
        ("OCCASIONALI_CONFIG".into(), config.display().to_string()),
        (
            "OCCASIONALI_INTERNAL_TRUST_DIR".into(),
            internal.join("trust").display().to_string(),
        ),
        (
            "OCCASIONALI_TLS_CA_FILE".into(),
            tls.join("ca.crt").display().to_string(),
        ),
        ("OCCASIONALI_LOG".into(), "warn".into()),
    ];
    let mut backends = std::collections::HashMap::new();
    for ctx in Context::ALL {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?;
        let upper = ctx.name().to_ascii_uppercase();
        env.push((format!("OCCASIONALI_{upper}_LISTEN"), addr.to_string()));
        // The certificates name localhost (and the Service names), as callers name the peer.
        env.push((
            format!("OCCASIONALI_{upper}_ENDPOINT"),
            format!("https://localhost:{}", addr.port()),
        ));
        backends.insert(ctx, addr);
        ascolti.push((ctx.name().to_string(), l));
    }
    let gateway = std::net::TcpListener::bind("127.0.0.1:0")?;
    let gateway_addr = gateway.local_addr()?;
    env.push(("OCCASIONALI_GATEWAY_LISTEN".into(), gateway_addr.to_string()));
    ascolti.push(("gateway".into(), gateway));

    let mut processi = Processi(Vec::new());
    for (name, listener) in &ascolti {
        let mut cmd = Command::new(&bin);
        cmd.args(["serve", name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .env("LISTEN_FDS", "1")
            .env_remove("LISTEN_PID")
            .env("OCCASIONALI_TLS_CERT_FILE", tls.join(format!("{name}.crt")))
            .env("OCCASIONALI_TLS_KEY_FILE", tls.join(format!("{name}.key")))
            .env(
                "OCCASIONALI_INTERNAL_KEY_FILE",
                occasionali_runtime::firme::dev_key_path(
                    &internal,
                    name.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                ),
            );
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.fd_mappings(vec![FdMapping {
            parent_fd: OwnedFd::from(listener.try_clone()?),
            child_fd: 3,
        }])?;
        processi.0.push(cmd.spawn()?);
    }

    // The gateway's public side is plaintext here; SERVING means every backend answered its
    // health checks over mTLS.
    let started = std::time::Instant::now();
    let url = format!("http://{gateway_addr}");
    loop {
        let serving = match tonic::transport::Endpoint::from_shared(url.clone())?
            .connect()
            .await
        {
            Ok(channel) => matches!(
                tonic_health::pb::health_client::HealthClient::new(channel)
                    .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                    .await,
                Ok(r) if r.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            ),
            Err(_) => false,
        };
        if serving {
            break;
        }
        for p in &mut processi.0 {
            if let Some(status) = p.try_wait()? {
                panic!("a process stopped while starting: {status}");
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(90),
            "gateway not SERVING after 90 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // A call that anagrafica answers: NOT_FOUND from its store, through gateway → anagrafica.
    let claims = occasionali_runtime::identity::Principal {
        cf: "DGXOPR80A01H501X".into(),
        profile: Profile::OperatoreDg,
        sede: None,
    };
    let token = dev.mint(&claims, 600)?;
    let g = occasionali_e2e::Grpcurl::at(&gateway_addr.to_string());
    let o = g
        .call(
            Some(&token),
            "occasionali.anagrafica.v1.AnagraficaService/GetSoggetto",
            &json!({"codice_fiscale": "RSSMRA85T10A562S"}),
        )
        .await?;
    assert_eq!(o.code, 5, "{o:?}");
    // A context refuses plaintext.
    let plain = occasionali_e2e::Grpcurl::at(&backends[&Context::Anagrafica].to_string())
        .call(None, "grpc.health.v1.Health/Check", &json!({}))
        .await?;
    assert_ne!(plain.code, 0, "{plain:?}");

    drop(processi);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
