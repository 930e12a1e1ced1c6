//! The platform as production runs it: one OS process per context plus the gateway, each the
//! real binary (`occasionali serve <target>`), on fresh PostgreSQL databases, with provisioned
//! key files and a TOML configuration file. [`Platform`] is also the clean-up guard: dropping it
//! kills every process and drops every database, on success and on failure alike.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use command_fds::{CommandFdExt, FdMapping};
use occasionali_e2e::basi::Basi;
use occasionali_runtime::context::Context;
use occasionali_runtime::issuers::{DEV_AUDIENCE, DEV_ISSUER, DevIssuer};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

pub const GATEWAY: &str = "gateway";

/// How many times a restarted process is started again when it cannot come up (its listener is
/// the harness's, so not for a port: for a start that fails otherwise).
const START_ATTEMPTS: u32 = 5;

pub use occasionali_e2e::occasionali_binary as binary;

/// A listener on a port the system picks. The harness keeps it for the whole run and hands it to
/// each start of its process (systemd socket activation, `LISTEN_FDS`), so no port is ever
/// free between choosing and serving, nor between a kill and the restart.
fn ascolto() -> anyhow::Result<std::net::TcpListener> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?)
}

/// A TOML basic string (JSON string escapes are valid TOML escapes).
fn toml_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

struct Node {
    child: Option<Child>,
    starts: u32,
}

pub struct Platform {
    pub bin: PathBuf,
    pub dir: PathBuf,
    config: PathBuf,
    pub gateway: SocketAddr,
    pub backends: BTreeMap<Context, SocketAddr>,
    pub auth_key: PathBuf,
    /// Every context's database (dropped with the platform).
    basi: Option<Basi>,
    nodes: Mutex<BTreeMap<String, Node>>,
    /// Every process's listener, by process name.
    ascolti: BTreeMap<String, std::net::TcpListener>,
    started: Instant,
    keep_dir: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Platform {
    /// Databases, keys, configuration, every process; returns when the gateway reports the
    /// whole platform SERVING.
    pub async fn start(bin: PathBuf, pg_server: &str) -> anyhow::Result<Platform> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros();
        let dir = std::env::temp_dir().join(format!("occasionali-chaos-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("secrets"))?;
        let mut backends = BTreeMap::new();
        let mut ascolti = BTreeMap::new();
        for ctx in Context::ALL {
            let l = ascolto()?;
            backends.insert(ctx, l.local_addr()?);
            ascolti.insert(ctx.name().to_string(), l);
        }
        let gateway = ascolto()?;
        let gateway_addr = gateway.local_addr()?;
        ascolti.insert(GATEWAY.to_string(), gateway);
        let mut platform = Platform {
            bin,
            config: dir.join("occasionali.toml"),
            gateway: gateway_addr,
            backends,
            ascolti,
            auth_key: dir.join("secrets").join("dev-issuer.pem"),
            basi: None,
            nodes: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
            keep_dir: AtomicBool::new(false),
            dir,
        };
        // Provisioned keys: `serve` refuses to invent them. Clients' tokens come from the dev
        // issuer, its JWKS a file the gateway is configured with (issue 14).
        let dev = DevIssuer::load_or_create(&platform.auth_key)?;
        std::fs::write(platform.jwks_file(), serde_json::to_vec(&dev.jwks())?)?;
        // Each process's own internal signing key, every public key in the shared trust
        // directory (issue 14): `<secrets>/internal/<process>.key.pem`, `<secrets>/internal/trust`.
        let internal = platform.dir.join("secrets").join("internal");
        occasionali_runtime::firme::Portachiavi::dev(&internal, &internal.join("trust"))?;
        platform.basi = Some(Basi::crea(pg_server, "occ_chaos").await?);
        platform.write_config()?;
        for ctx in Context::ALL {
            platform.spawn(ctx.name())?;
        }
        platform.spawn(GATEWAY)?;
        platform.wait_gateway_serving(Duration::from_secs(60)).await?;
        Ok(platform)
    }

    pub fn database_url(&self, ctx: Context) -> String {
        self.basi.as_ref().map(|b| b.url(ctx)).unwrap_or_default()
    }

    fn jwks_file(&self) -> PathBuf {
        self.dir.join("secrets").join("dev-issuer.jwks.json")
    }

    fn write_config(&self) -> anyhow::Result<()> {
        let secrets = self.dir.join("secrets");
        let mut t = String::new();
        t.push_str(&format!(
            "data_dir = {}\n\n[log]\nfilter = \"info\"\nformat = \"text\"\n\n",
            toml_str(&self.dir.join("data").display().to_string())
        ));
        t.push_str(&format!(
            "[auth]\ninternal_trust_dir = {}\ntoken_ttl_seconds = 3600\n\n",
            toml_str(&secrets.join("internal").join("trust").display().to_string())
        ));
        t.push_str(&format!(
            "[[auth.issuers]]\nname = \"dev\"\nissuer = {}\njwks_file = {}\naudiences = [{}]\nalgorithms = [\"ES256\"]\nprofile_claim = \"profile\"\nsede_claim = \"sede\"\n\n",
            toml_str(DEV_ISSUER),
            toml_str(&self.jwks_file().display().to_string()),
            toml_str(DEV_AUDIENCE)
        ));
        t.push_str(&format!("[gateway]\nlisten = \"{}\"\n\n", self.gateway));
        // The load is a few callers as fast as they can: the production per-caller rate would
        // refuse most of it, and admission is not what this run is about (issue 12).
        t.push_str("[gateway.admission]\ncaller_rate_per_second = 0\nmax_in_flight = 4096\n\n");
        for (ctx, addr) in &self.backends {
            t.push_str(&format!(
                "[services.{}]\nlisten = \"{addr}\"\nendpoint = \"http://{addr}\"\ndatabase_url = {}\npool_size = 5\n\n",
                ctx.name(),
                toml_str(&self.database_url(*ctx))
            ));
        }
        std::fs::write(&self.config, t)?;
        Ok(())
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    /// Starts `occasionali serve <name>`, stdout and stderr appended to `<name>.log`.
    fn spawn(&self, name: &str) -> anyhow::Result<()> {
        let mut nodes = lock(&self.nodes);
        let node = nodes.entry(name.to_string()).or_insert(Node {
            child: None,
            starts: 0,
        });
        node.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(name))?;
        writeln!(
            log,
            "===== chaos: start #{} of `occasionali serve {name}` at {} (+{:.1} s) =====",
            node.starts,
            chrono::Utc::now().format("%H:%M:%S%.3f"),
            self.started.elapsed().as_secs_f64()
        )?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--config")
            .arg(&self.config)
            .args(["serve", name])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env("NO_COLOR", "1")
            .env("LISTEN_FDS", "1")
            .env_remove("LISTEN_PID");
        let ascolto = self.ascolti.get(name).context("no listener for this process")?;
        cmd.fd_mappings(vec![FdMapping {
            parent_fd: OwnedFd::from(ascolto.try_clone()?),
            child_fd: 3,
        }])?;
        // The configuration file is the whole truth: no override from this environment.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("OCCASIONALI_") || k.starts_with("OTEL_") || k == "RUST_LOG" {
                cmd.env_remove(k.as_ref());
            }
        }
        // ... but for the one thing that differs per process: its own signing key (issue 14).
        let firmatario: occasionali_runtime::firme::Firmatario =
            name.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        cmd.env(
            occasionali_runtime::env::INTERNAL_KEY_FILE,
            occasionali_runtime::firme::dev_key_path(&self.dir.join("secrets").join("internal"), firmatario),
        );
        node.child = Some(
            cmd.spawn()
                .with_context(|| format!("starting {}", self.bin.display()))?,
        );
        Ok(())
    }

    /// SIGKILL (what `Child::kill` sends on unix), then reaps the process.
    pub fn kill(&self, name: &str) -> anyhow::Result<()> {
        let mut nodes = lock(&self.nodes);
        let node = nodes.get_mut(name).context("no such process")?;
        if let Some(mut child) = node.child.take() {
            child.kill()?;
            child.wait()?;
        }
        drop(nodes);
        let mut log = OpenOptions::new().append(true).open(self.log_path(name))?;
        writeln!(
            log,
            "===== chaos: SIGKILL at {} (+{:.1} s) =====",
            chrono::Utc::now().format("%H:%M:%S%.3f"),
            self.started.elapsed().as_secs_f64()
        )?;
        Ok(())
    }

    /// The exit status of `name` if it is not running.
    fn exited(&self, name: &str) -> Option<String> {
        let mut nodes = lock(&self.nodes);
        match nodes.get_mut(name) {
            Some(Node { child: Some(c), .. }) => match c.try_wait() {
                Ok(Some(status)) => Some(describe(status)),
                Ok(None) => None,
                Err(e) => Some(format!("unknown ({e})")),
            },
            _ => Some("not running".into()),
        }
    }

    /// Every process that is not running, with how it ended.
    pub fn dead(&self) -> Vec<(String, String)> {
        let names: Vec<String> = lock(&self.nodes).keys().cloned().collect();
        names
            .into_iter()
            .filter_map(|n| self.exited(&n).map(|s| (n, s)))
            .collect()
    }

    pub fn starts(&self, name: &str) -> u32 {
        lock(&self.nodes).get(name).map_or(0, |n| n.starts)
    }

    /// Starts a killed context again on its listener with the same configuration and waits for
    /// it to answer SERVING; a start that exits is retried. Returns the number of attempts.
    pub async fn restart(&self, ctx: Context) -> anyhow::Result<u32> {
        let name = ctx.name();
        for attempt in 1..=START_ATTEMPTS {
            self.spawn(name)?;
            let limit = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = self.exited(name) {
                    eprintln!("chaos: restart {attempt} of {name} ended ({status}); retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    break;
                }
                if serving(&format!("http://{}", self.backends[&ctx]), "").await {
                    return Ok(attempt);
                }
                if Instant::now() > limit {
                    bail!("{name} not SERVING 20 s after restart {attempt}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        bail!("{name} did not come back after {START_ATTEMPTS} attempts")
    }

    pub async fn wait_gateway_serving(&self, limit: Duration) -> anyhow::Result<Duration> {
        let t = Instant::now();
        loop {
            let dead = self.dead();
            if !dead.is_empty() {
                bail!("processes exited while starting: {dead:?}\n{}", self.tails(30));
            }
            if serving(&format!("http://{}", self.gateway), "").await {
                return Ok(t.elapsed());
            }
            if t.elapsed() > limit {
                bail!("gateway not SERVING after {limit:?}\n{}", self.tails(30));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn gateway_serving(&self) -> bool {
        serving(&format!("http://{}", self.gateway), "").await
    }

    /// The last `n` lines of every process's log.
    pub fn tails(&self, n: usize) -> String {
        let mut names: Vec<String> = Context::ALL.iter().map(|c| c.name().to_string()).collect();
        names.push(GATEWAY.into());
        let mut out = String::new();
        for name in names {
            let path = self.log_path(&name);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(n);
            out.push_str(&format!(
                "----- {} (last {} of {} lines) -----\n",
                path.display(),
                lines.len() - from,
                lines.len()
            ));
            for l in &lines[from..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Keep the temporary directory (logs, configuration) after the test.
    pub fn keep_dir(&self) {
        self.keep_dir.store(true, Ordering::Relaxed);
    }
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    format!("{status}")
}

/// Whether `url` answers the gRPC health check of `service` with SERVING within a second.
pub async fn serving(url: &str, service: &str) -> bool {
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(url.to_string()) else {
        return false;
    };
    let check = async {
        let channel = endpoint
            .connect_timeout(Duration::from_millis(500))
            .connect()
            .await
            .ok()?;
        let r = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .ok()?;
        Some(r.get_ref().status == ServingStatus::Serving as i32)
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), check).await,
        Ok(Some(true))
    )
}

impl Drop for Platform {
    fn drop(&mut self) {
        for node in lock(&self.nodes).values_mut() {
            if let Some(mut c) = node.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        // The databases go with `basi`, once no process uses them.
        if self.keep_dir.load(Ordering::Relaxed) {
            eprintln!("chaos: logs and configuration kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
