//! `occasionali`: the one binary of the platform.
//!
//! - `occasionali dev [--clock RFC3339]` runs every context and the gateway on SQLite under ./data
//! - `occasionali serve <context|gateway>` runs one process (production: one per pod)
//! - `occasionali migrate [<context>...]` migrates the databases
//! - `occasionali token --profile P --cf CF [--sede S]` prints a development bearer token (for
//!   `flusso_pagamenti`, `--cf` is the feed's id, e.g. AGENZIA-ENTRATE)

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use occasionali_runtime::config::Config;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{Profile, client_principal};
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
    /// Run database migrations (all contexts when none is named).
    Migrate { contexts: Vec<String> },
    /// Print a development bearer token signed with the configured key.
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
            let token = occasionali::client_tokens(&config)?
                .mint(&principal, ttl.unwrap_or(config.auth.token_ttl_seconds))?;
            println!("{token}");
            Ok(())
        }
    }
}
