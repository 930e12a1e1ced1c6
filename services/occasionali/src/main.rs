//! `occasionali`: the one binary of the platform.
//!
//! - `occasionali dev [--clock RFC3339]` runs every context and the gateway on SQLite under ./data
//! - `occasionali serve <context|gateway>` runs one process (production: one per pod)
//! - `occasionali migrate [<context>...]` migrates the databases
//! - `occasionali token --profile P --cf CF [--sede S]` prints a development bearer token (for
//!   `flusso_pagamenti`, `--cf` is the feed's id, e.g. AGENZIA-ENTRATE)
//! - `occasionali bench [--gateway URL] [--clients 1,8,64] [--mix insert=60,…]` drives a running
//!   cluster with a mix of client calls and prints what it sustained (issue 11)

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use occasionali::bench::{self, Mix};
use occasionali_kernel::{Clock, SystemClock};
use occasionali_runtime::config::Config;
use occasionali_runtime::context::Context;
use occasionali_runtime::firme::{self, Firmatario};
use occasionali_runtime::identity::{Profile, client_principal};
use occasionali_runtime::issuers::DevIssuer;
use occasionali_runtime::{shutdown, telemetry};

#[derive(Parser)]
#[command(
    name = "occasionali",
    version,
    about = "Occasionali: INPS occasional work platform"
)]
struct Cli {
    /// Configuration file (TOML); also $OCCASIONALI_CONFIG.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory for SQLite files and development keys (overrides the file and environment).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every context and the gateway in one process, on the embedded SQLite default.
    Dev {
        /// Start the platform clock at this instant (RFC 3339, e.g. 2026-03-29T01:30:00+01:00).
        #[arg(long)]
        clock: Option<DateTime<Utc>>,
    },
    /// One process: a context name or "gateway".
    Serve { target: String },
    /// Generate an internal signing key pair for a process (gateway or a context, issue 14):
    /// writes <signer>.<kid>.key.pem (its private key, mode 0600) and <signer>.<kid>.pub.pem
    /// (for every process's trust directory) into --out, and prints the kid.
    Keygen {
        signer: String,
        /// Where to write both files (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Run database migrations (all contexts when none is named).
    Migrate { contexts: Vec<String> },
    /// Print a development bearer token signed by the local dev issuer (its key created on
    /// first use; `occasionali dev` serves its JWKS and trusts it).
    Token {
        #[arg(long)]
        profile: String,
        /// The subject's codice fiscale (for flusso_pagamenti: the feed's id, e.g. AGENZIA-ENTRATE).
        #[arg(long)]
        cf: String,
        /// The sede of an operatore_sede (a province abbreviation such as RM).
        #[arg(long)]
        sede: Option<String>,
        /// Lifetime in seconds (default: auth.token_ttl_seconds).
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Drive a running cluster through its gateway with a mix of client calls, from a
    /// population the run registers and funds itself, and print per number of clients and per
    /// operation: calls, ok/s, every other answer by gRPC code, p50/p95/p99 (a Markdown table
    /// for docs/benchmarks.md, or --json). It writes: run it on a cluster that may hold test
    /// subjects, not on production data.
    Bench(BenchArgs),
    /// Write a throw-away development CA and a certificate for every process (the six contexts
    /// and the gateway) into DIR: ca.crt, <process>.crt, <process>.key, each valid for the
    /// process's name, its Service names in NAMESPACE, localhost and 127.0.0.1. For trying
    /// `[tls]` (mutual TLS, issue 14) on one machine or with deploy/compose.mtls.yaml; production
    /// certificates come from cert-manager (k8s/components/mtls).
    DevCerts {
        #[arg(long, default_value = "./data/tls")]
        dir: std::path::PathBuf,
        #[arg(long, default_value = "occasionali")]
        namespace: String,
    },
    /// Print the local dev issuer's public key set (JWKS), for a deployment that trusts dev
    /// tokens through `jwks_file` (compose, the k8s dev overlay) instead of `occasionali dev`.
    DevJwks,
}

#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// The gateway, http://HOST:PORT (default: the configured gateway.listen, where
    /// `occasionali dev` serves it).
    #[arg(long)]
    gateway: Option<String>,
    /// Numbers of concurrent clients, one step each, each client on its own connection.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    clients: Vec<usize>,
    /// How long each step is measured (10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_parser = bench::parse_duration)]
    duration: Duration,
    /// How long each step runs before it is measured.
    #[arg(long = "warm-up", default_value = "2s", value_parser = bench::parse_duration)]
    warm_up: Duration,
    /// Weights of the operations: insert (InsertPrestazione), check (CheckPrestazione),
    /// headroom (GetHeadroom), soggetto (GetSoggetto), lao (InsertComunicazione).
    #[arg(long, default_value = Mix::DEFAULT)]
    mix: Mix,
    /// Companies to register and fund; every 32 bring 250 workers. Each one is a caller of its
    /// own to the gateway's per-caller rate limit.
    #[arg(long, default_value_t = 32)]
    population: usize,
    /// Fixes each client's sequence of operations and subjects.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With the seed, names the run's population (default: this machine's clock in seconds,
    /// so that a run never meets an earlier one's subjects).
    #[arg(long)]
    run: Option<u64>,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

/// `http://` + the configured gateway address, with a wildcard listen address (0.0.0.0, ::)
/// reached on loopback.
fn gateway_url(args: &BenchArgs, config: &Config) -> String {
    match &args.gateway {
        Some(g) if g.contains("://") => g.clone(),
        Some(g) => format!("http://{g}"),
        None => {
            let mut addr = config.gateway.listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{addr}")
        }
    }
}

async fn run_bench(args: BenchArgs, config: &Config) -> anyhow::Result<()> {
    // The key must be the one the cluster's dev issuer publishes: a key created here would
    // only mint tokens the gateway refuses (UNAUTHENTICATED on every call).
    let path = DevIssuer::key_path(config);
    let tokens = DevIssuer::load(&path).with_context(|| {
        format!(
            "the bench signs its callers' tokens with the dev issuer's key ({}) that `occasionali dev` trusts: point --config or --data-dir at the cluster's",
            path.display()
        )
    })?;
    let run = args
        .run
        .unwrap_or_else(|| u64::try_from(SystemClock.now().timestamp()).unwrap_or_default());
    let options = bench::Options {
        gateway: gateway_url(&args, config),
        clients: args.clients,
        duration: args.duration,
        warm_up: args.warm_up,
        mix: args.mix,
        population: args.population,
        seed: args.seed,
        run,
    };
    eprintln!(
        "occasionali bench: {} (run {}, seed {}), mix {}",
        options.gateway, options.run, options.seed, options.mix
    );
    let report = bench::run(&options, &tokens, &|line| eprintln!("  {line}")).await?;
    for line in report.samples() {
        eprintln!("  not ok: {line}");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        print!("{}", report.markdown());
    }
    Ok(())
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(d) = &cli.data_dir {
        config.data_dir = d.clone();
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = load_config(&cli)?;
    match cli.command {
        Command::Dev { clock } => {
            telemetry::init(&config, "dev")?;
            let (trigger, stop) = shutdown::channel();
            tokio::spawn(async move {
                shutdown::os_signal().await;
                trigger.trigger();
            });
            let r = occasionali::dev(config, clock, stop).await;
            telemetry::shutdown();
            r
        }
        Command::Serve { target } => {
            telemetry::init(&config, &target)?;
            let r = occasionali::serve(config, &target).await;
            telemetry::shutdown();
            r
        }
        Command::DevCerts { dir, namespace } => {
            let mut processes: Vec<&str> = Context::ALL.iter().map(|c| c.name()).collect();
            processes.push("gateway");
            let ca = occasionali_runtime::tls::dev::write_platform(&dir, &processes, &namespace)?;
            println!(
                "development CA {} and certificates for {} written in {}",
                ca.display(),
                processes.join(", "),
                dir.display()
            );
            Ok(())
        }
        Command::Keygen { signer, out } => {
            let firmatario: Firmatario = signer.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let (kid, private, public) = firme::keygen(firmatario, &out)?;
            println!("kid {kid}");
            println!(
                "private key (the {firmatario} process only): {}",
                private.display()
            );
            println!(
                "public key (every process's trust directory): {}",
                public.display()
            );
            Ok(())
        }
        Command::Migrate { contexts } => {
            telemetry::init(&config, "migrate")?;
            let list: Vec<Context> = if contexts.is_empty() {
                Context::ALL.to_vec()
            } else {
                contexts
                    .iter()
                    .map(|c| c.parse().map_err(|e: String| anyhow::anyhow!(e)))
                    .collect::<anyhow::Result<_>>()?
            };
            for ctx in list {
                occasionali::migrate(&config, ctx).await?;
                tracing::info!(context = %ctx, "migrated");
            }
            Ok(())
        }
        Command::Token {
            profile,
            cf,
            sede,
            ttl,
        } => {
            let profile: Profile = profile.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            if profile == Profile::Sistema {
                anyhow::bail!(
                    "sistema is the platform's own identity between contexts, not a client profile"
                );
            }
            if profile == Profile::OperatoreSede && sede.is_none() {
                anyhow::bail!("an operatore_sede token needs --sede");
            }
            // The gateway's own rules (a payments feed is named by its id, e.g. AGENZIA-ENTRATE).
            let principal = client_principal(&cf, profile, sede.as_deref())?;
            // Signed by the local dev issuer, whose JWKS `occasionali dev` serves and trusts.
            let token = occasionali::dev_issuer(&config)?
                .mint(&principal, ttl.unwrap_or(config.auth.token_ttl_seconds))?;
            println!("{token}");
            Ok(())
        }
        Command::Bench(args) => run_bench(args, &config).await,
        Command::DevJwks => {
            let jwks = occasionali::dev_issuer(&config)?.jwks();
            println!("{}", serde_json::to_string_pretty(&jwks)?);
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::Parser as _;
    use occasionali::bench::Operation;

    use super::*;

    fn bench(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        let cli = Cli::try_parse_from(["occasionali", "bench"].iter().chain(args))?;
        match cli.command {
            Command::Bench(b) => Ok(b),
            _ => unreachable!("parsed another command"),
        }
    }

    #[test]
    fn bench_takes_a_mix_and_its_defaults() {
        let b = bench(&[
            "--mix",
            "insert=2,lao=1",
            "--clients",
            "2,4",
            "--duration",
            "500ms",
        ])
        .unwrap();
        assert_eq!(b.mix.weight(Operation::Insert), 2);
        assert_eq!(b.mix.weight(Operation::Check), 0);
        assert_eq!(b.mix.weight(Operation::Lao), 1);
        assert_eq!(b.clients, vec![2, 4]);
        assert_eq!(b.duration, Duration::from_millis(500));
        let d = bench(&[]).unwrap();
        assert_eq!(d.mix.to_string(), Mix::DEFAULT);
        assert_eq!(d.clients, vec![1, 8, 64]);
        assert_eq!(
            (d.duration, d.warm_up),
            (Duration::from_secs(10), Duration::from_secs(2))
        );
        assert_eq!((d.population, d.seed, d.run), (32, 1, None));
        assert_eq!(gateway_url(&d, &Config::default()), "http://127.0.0.1:50051");
        let g = bench(&["--gateway", "10.0.0.7:50051"]).unwrap();
        assert_eq!(gateway_url(&g, &Config::default()), "http://10.0.0.7:50051");
    }

    #[test]
    fn bench_refuses_a_bad_mix_saying_why() {
        let e = bench(&["--mix", "insert=60,registry=10"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("invalid value 'insert=60,registry=10' for '--mix <MIX>'"),
            "{e}"
        );
        assert!(
            e.contains(
                "unknown operation \"registry\": the mix takes insert, check, headroom, soggetto, lao"
            ),
            "{e}"
        );
        let e = bench(&["--mix", "insert=0"]).unwrap_err().to_string();
        assert!(e.contains("every weight is 0"), "{e}");
        let e = bench(&["--duration", "10x"]).unwrap_err().to_string();
        assert!(e.contains("\"x\" is not a unit"), "{e}");
    }
}
