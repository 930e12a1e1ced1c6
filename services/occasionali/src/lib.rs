//! The platform as a library: what `occasionali dev` and `occasionali serve` run, so the
//! end-to-end tests start exactly the same cluster.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use occasionali_kernel::{Clock, OffsetClock, SharedClock};
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::config::{AdmissionLimits, Config};
use occasionali_runtime::context::Context;
use occasionali_runtime::firme::{Firmatario, Portachiavi};
use occasionali_runtime::identity::InternalTokens;
use occasionali_runtime::issuers::{self, ClientVerifier, DevIssuer, VerifierOptions};
use occasionali_runtime::relay::{self, Relay, RelayOptions};
use occasionali_runtime::server::{self, ServeOptions};
use occasionali_runtime::shutdown::{self, Shutdown};
use occasionali_runtime::tls::{self, ClientTls, ServerTls};
use occasionali_runtime::{db, metriche};
use tonic::service::Routes;

pub mod bench;
pub mod carico;

/// What `firmatario`'s process signs and verifies internal tokens with: its provisioned
/// private key and trust set (issue 14). Never invented: a missing key is a start-up error.
pub fn internal_tokens(config: &Config, firmatario: Firmatario) -> anyhow::Result<InternalTokens> {
    let key = config.internal_key_path(firmatario);
    let trust = config.internal_trust_dir();
    Ok(InternalTokens::load(firmatario, &key, &trust)
        .with_context(|| {
            format!(
                "the internal identity of {firmatario}: configure auth.internal_key_file and auth.internal_trust_dir \
                 (generate a key pair with `occasionali keygen {firmatario}`)"
            )
        })?
        .with_leeway(config.auth.clock_leeway_seconds))
}

/// Every process's internal key for `occasionali dev` and the test cluster, created under
/// `<data_dir>/secrets/internal/` on first use, with their public keys in the trust directory.
pub fn dev_keys(config: &Config) -> anyhow::Result<Portachiavi> {
    Ok(
        Portachiavi::dev(&config.internal_keys_dir(), &config.internal_trust_dir())?
            .with_leeway(config.auth.clock_leeway_seconds),
    )
}

/// How client tokens are judged: the configured issuers (`[[auth.issuers]]`).
pub fn verifier_options(config: &Config) -> VerifierOptions {
    VerifierOptions {
        leeway_seconds: config.auth.clock_leeway_seconds,
        refresh_seconds: config.auth.jwks_refresh_seconds,
        min_refresh_seconds: config.auth.jwks_min_refresh_seconds,
        ..VerifierOptions::new(config.auth.issuers.clone())
    }
}

/// The client token verifier of a process that judges clients (the gateway, notifiche's
/// dashboard): the issuers' keys fetched now (an unreachable JWKS is logged, not fatal) and
/// kept fresh in the background until `shutdown`.
pub async fn client_verifier(config: &Config, shutdown: Shutdown) -> anyhow::Result<ClientVerifier> {
    ClientVerifier::start(&verifier_options(config), shutdown).await
}

/// The local dev issuer's key (`occasionali token`, the test cluster, the benches), created
/// on first use.
pub fn dev_issuer(config: &Config) -> anyhow::Result<DevIssuer> {
    DevIssuer::of(config)
}

/// Migrates `ctx`'s database, then grants the services' role (`database.runtime_role`) its
/// data rights when one is configured (the production init container, as the owner role).
pub async fn migrate(config: &Config, ctx: Context) -> anyhow::Result<()> {
    let url = config.database_url(ctx);
    let name = ctx.name();
    let role = config.database.runtime_role.as_deref();
    match ctx {
        Context::Anagrafica => {
            db::connect_migrate_and_grant::<occasionali_anagrafica::Migrator>(&url, name, role).await
        }
        Context::Portafoglio => {
            db::connect_migrate_and_grant::<occasionali_portafoglio::Migrator>(&url, name, role).await
        }
        Context::Prestazioni => {
            db::connect_migrate_and_grant::<occasionali_prestazioni::Migrator>(&url, name, role).await
        }
        Context::Comunicazioni => {
            db::connect_migrate_and_grant::<occasionali_comunicazioni::Migrator>(&url, name, role).await
        }
        Context::Deleghe => {
            db::connect_migrate_and_grant::<occasionali_deleghe::Migrator>(&url, name, role).await
        }
        Context::Notifiche => {
            db::connect_migrate_and_grant::<occasionali_notifiche::Migrator>(&url, name, role).await
        }
    }
    .with_context(|| format!("migrating {name}"))
}

/// With `database.migrate_on_start` off: refuses to serve unless `ctx`'s schema is at this
/// binary's version (the services' role has no right to migrate it).
async fn ensure_migrated(db: &sea_orm::DatabaseConnection, ctx: Context) -> anyhow::Result<()> {
    let name = ctx.name();
    match ctx {
        Context::Anagrafica => db::ensure_migrated::<occasionali_anagrafica::Migrator>(db, name).await,
        Context::Portafoglio => db::ensure_migrated::<occasionali_portafoglio::Migrator>(db, name).await,
        Context::Prestazioni => db::ensure_migrated::<occasionali_prestazioni::Migrator>(db, name).await,
        Context::Comunicazioni => db::ensure_migrated::<occasionali_comunicazioni::Migrator>(db, name).await,
        Context::Deleghe => db::ensure_migrated::<occasionali_deleghe::Migrator>(db, name).await,
        Context::Notifiche => db::ensure_migrated::<occasionali_notifiche::Migrator>(db, name).await,
    }
}

fn routes(
    ctx: Context,
    deps: ContextDeps,
    notifiche: Option<&occasionali_notifiche::App>,
) -> anyhow::Result<Routes> {
    match ctx {
        Context::Anagrafica => occasionali_anagrafica::routes(deps),
        Context::Portafoglio => occasionali_portafoglio::routes(deps),
        Context::Prestazioni => occasionali_prestazioni::routes(deps),
        Context::Comunicazioni => occasionali_comunicazioni::routes(deps),
        Context::Deleghe => occasionali_deleghe::routes(deps),
        Context::Notifiche => match notifiche {
            Some(app) => Ok(occasionali_notifiche::routes(app, &deps)),
            None => anyhow::bail!("notifiche needs its application"),
        },
    }
}

/// `[tls]` (issue 14): this process's client certificate, installed for every `https://`
/// channel it builds, before any is built. Never cleared: a test binary may start plaintext
/// clusters beside a TLS one, whose http:// channels do not use it.
pub fn install_client_tls(config: &Config) -> anyhow::Result<()> {
    if let Some(files) = config.tls.files()? {
        tls::install_client(Some(
            ClientTls::load(files).context("[tls]: the client certificate")?,
        ));
    }
    Ok(())
}

/// `[tls]`: what a context's listener requires (mutual TLS), if configured.
fn server_tls(config: &Config) -> anyhow::Result<Option<ServerTls>> {
    config
        .tls
        .files()?
        .map(|files| {
            Ok(ServerTls::load(files)
                .context("[tls]: the server certificate")?
                .with_plain_health(config.tls.health_listen))
        })
        .transpose()
}

/// `[gateway.tls]`: what the gateway's public listener presents, if configured.
fn public_tls(config: &Config) -> anyhow::Result<Option<ServerTls>> {
    config
        .gateway
        .tls
        .files()?
        .map(|files| {
            // Probes cannot speak TLS to it either.
            Ok(ServerTls::load(files)
                .context("[gateway.tls]: the gateway's certificate")?
                .with_plain_health(config.tls.health_listen))
        })
        .transpose()
}

fn endpoints(config: &Config) -> HashMap<Context, String> {
    Context::ALL.iter().map(|c| (*c, config.endpoint(*c))).collect()
}

/// Migrates (or checks the schema, `database.migrate_on_start`), binds and serves one context until `shutdown`, with everything its process runs
/// beside the service (relay, recovery, scheduler, delivery worker, pages). Also how the test
/// cluster starts a second replica.
#[allow(clippy::too_many_arguments)]
pub async fn run_context(
    config: Arc<Config>,
    ctx: Context,
    clock: SharedClock,
    tokens: InternalTokens,
    drain: Duration,
    mut ascolti: Ascolti,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    // Before anything is migrated or bound: bad certificate files stop the start.
    let tls = server_tls(&config)?;
    if config.database.migrate_on_start {
        migrate(&config, ctx).await?;
    }
    let db = db::connect_with(&config.database_url(ctx), &config.pool_settings(ctx)).await?;
    if !config.database.migrate_on_start
        && let Err(e) = ensure_migrated(&db, ctx).await
    {
        db::close(db, Duration::from_secs(5)).await;
        return Err(e);
    }
    let endpoints = endpoints(&config);
    // Every context's outbox is relayed by every process that serves it (issue 9): one relay
    // per process, spawned below and lent to the context for committed commands.
    let relay = Relay::new(
        db.clone(),
        ctx,
        &endpoints,
        tokens.clone(),
        RelayOptions::default(),
    )?;
    let deps = ContextDeps {
        db: db.clone(),
        clock,
        tokens,
        endpoints,
        relay: Some(relay.clone()),
    };
    // POR-5: the month's payout runs on the 15th (Rome) for the previous month; safe on every
    // replica (the run table makes it idempotent).
    let scheduler = if ctx == Context::Portafoglio {
        Some(occasionali_portafoglio::spawn_scheduler(
            deps.clone(),
            shutdown.clone(),
        )?)
    } else {
        None
    };
    // PRE-10: PENDING prestazioni (a crash, a wallet outage) are finished by the platform.
    let recovery = if ctx == Context::Prestazioni {
        Some(occasionali_prestazioni::spawn_recovery(
            deps.clone(),
            shutdown.clone(),
        )?)
    } else {
        None
    };
    let relay = relay.spawn(shutdown.clone());
    // Signals (issue 14): the pool's connections and the outbox's levels, read off the
    // request path (occasionali_runtime::metriche).
    metriche::registra_pool(ctx, &db, config.pool_settings(ctx).size);
    let livelli = metriche::spawn_livelli(ctx, db.clone(), metriche::LIVELLI_OGNI, shutdown.clone());
    // NOT-6, NOT-2: notifiche's delivery worker and scheduler run in every notifiche process.
    let notifiche = if ctx == Context::Notifiche {
        Some(occasionali_notifiche::app(&deps, &config.notifiche)?)
    } else {
        None
    };
    let mut background = notifiche
        .as_ref()
        .map(|a| occasionali_notifiche::spawn_background(a, shutdown.clone()))
        .unwrap_or_default();
    if let (Some(a), Some(addr)) = (&notifiche, config.notifiche.web_listen) {
        let listener = match ascolti.web.take() {
            Some(l) => l,
            None => server::bind(addr).await?,
        };
        tracing::info!(url = %format!("http://{addr}/cruscotto"), "notifiche: guide and dashboard pages");
        background.push(occasionali_notifiche::spawn_web(
            a,
            listener,
            client_verifier(&config, shutdown.clone()).await?,
            shutdown.clone(),
        ));
    }
    let app = routes(ctx, deps.clone(), notifiche.as_ref())?.add_service(relay::admin_service(
        db.clone(),
        ctx,
        deps.tokens,
    ));
    let listener = match ascolti.contesti.remove(&ctx) {
        Some(l) => l,
        None => server::bind(config.listen(ctx)).await?,
    };
    let options = ServeOptions {
        name: ctx.name().into(),
        // Reflection on the backend lists the internal services too, the context's own and the
        // outbox service (the gateway lists only the public ones and never routes the internal
        // ones, GW-6).
        services: std::iter::once(ctx.service_name())
            .chain(ctx.internal_service_name())
            .chain([relay::ADMIN_SERVICE])
            .map(String::from)
            .collect(),
        drain,
        tls,
    };
    // Health follows the database too: NOT_SERVING while it does not answer.
    let served = server::serve_context(listener, options, app, db.clone(), shutdown).await;
    metriche::rimuovi_pool(ctx);
    served?;
    for task in [scheduler, recovery, Some(relay), Some(livelli)]
        .into_iter()
        .flatten()
        .chain(background)
    {
        let _ = task.await;
    }
    db::close(db, Duration::from_secs(5)).await;
    Ok(())
}

async fn run_gateway(
    config: Arc<Config>,
    internal_tokens: InternalTokens,
    drain: Duration,
    clock: SharedClock,
    dev_clock: Option<Arc<OffsetClock>>,
    listener: Option<tokio::net::TcpListener>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let listener = match listener {
        Some(l) => l,
        None => server::bind(config.gateway.listen).await?,
    };
    let options = occasionali_gateway::GatewayOptions {
        tls: public_tls(&config)?,
        backends: endpoints(&config),
        client_tokens: client_verifier(&config, shutdown.clone()).await?,
        internal_tokens,
        max_timeout: Duration::from_millis(config.gateway.request_timeout_ms),
        stream_timeout: Duration::from_millis(config.gateway.stream_timeout_ms),
        drain,
        health_interval: Duration::from_secs(2),
        dev_clock,
        clock,
        composite_deadline: Duration::from_millis(config.gateway.composite_timeout_ms),
        // `occasionali dev` filled the unset values with its own defaults (dev_con).
        admission: config.gateway.admission.limits(AdmissionLimits::PRODUCTION),
    };
    occasionali_gateway::serve(listener, options, shutdown).await
}

/// Where `occasionali dev` serves the notifiche pages unless configured.
pub const DEV_WEB_PORT: u16 = 50090;

/// Listeners already bound (tests bind port 0 and keep them, so no other socket can take the
/// port between choosing it and serving on it); what is missing is bound from the config.
#[derive(Default)]
pub struct Ascolti {
    pub gateway: Option<tokio::net::TcpListener>,
    pub contesti: HashMap<Context, tokio::net::TcpListener>,
    /// The notifiche pages.
    pub web: Option<tokio::net::TcpListener>,
    /// The dev issuer's JWKS (`auth.dev_jwks_listen`).
    pub jwks: Option<tokio::net::TcpListener>,
}

/// The listeners handed over by whoever started the process (systemd socket activation:
/// `LISTEN_FDS`, and `LISTEN_PID` when set): the served target's gRPC listener first, then
/// notifiche's pages. A supervisor that keeps the sockets (systemd, the chaos suite) restarts a
/// process without a port ever being free for someone else to take, and connections arriving
/// meanwhile wait in the backlog instead of being refused. None passed: the configured
/// addresses are bound as usual.
fn attivazione() -> anyhow::Result<Vec<tokio::net::TcpListener>> {
    let mut passati = listenfd::ListenFd::from_env();
    (0..passati.len())
        .map(|i| {
            let l = passati
                .take_tcp_listener(i)?
                .with_context(|| format!("LISTEN_FDS: descriptor {i} is not a TCP listener"))?;
            l.set_nonblocking(true)?;
            Ok(tokio::net::TcpListener::from_std(l)?)
        })
        .collect()
}

/// Every context and the gateway in this process until `stop` (or a server fails).
pub async fn dev(config: Config, clock_start: Option<DateTime<Utc>>, stop: Shutdown) -> anyhow::Result<()> {
    dev_con(config, clock_start, Ascolti::default(), stop).await
}

/// [`dev`] on listeners the caller bound (see [`Ascolti`]).
pub async fn dev_con(
    mut config: Config,
    clock_start: Option<DateTime<Utc>>,
    mut ascolti: Ascolti,
    stop: Shutdown,
) -> anyhow::Result<()> {
    // The notifiche pages are part of the development cluster (NOT-4, NOT-5).
    if config.notifiche.web_listen.is_none() {
        config.notifiche.web_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], DEV_WEB_PORT)));
    }
    // Every context runs in this process: one plaintext health port could serve only one.
    config.tls.health_listen = None;
    // Generous admission limits unless configured: benches and suites call from one caller.
    config.gateway.admission.fill(AdmissionLimits::DEVELOPMENT);
    install_client_tls(&config)?;
    let mut config = Arc::new(config);
    // Dev always runs on an adjustable clock (DevClockService); it starts at --clock or now.
    let dev_clock = Arc::new(match clock_start {
        Some(t) => OffsetClock::starting_at(t),
        None => OffsetClock::starting_at(Clock::now(&occasionali_kernel::SystemClock)),
    });
    let clock: SharedClock = dev_clock.clone();
    // One process, every signer: each context and the gateway still sign with their own key.
    let keys = dev_keys(&config)?;
    let (trigger, handle) = shutdown::channel();
    let mut tasks = tokio::task::JoinSet::new();
    if config.auth.dev_issuer {
        // The dev issuer is trusted as any issuer is: its JWKS fetched over HTTP.
        let dev = dev_issuer(&config)?;
        let listener = match ascolti.jwks.take() {
            Some(l) => l,
            None => server::bind(config.auth.dev_jwks_listen).await?,
        };
        let url = format!("http://{}{}", listener.local_addr()?, issuers::JWKS_PATH);
        tracing::info!(%url, kid = dev.kid(), "dev issuer: `occasionali token` signs with it");
        let mut with_dev = (*config).clone();
        with_dev.auth.issuers.retain(|i| i.issuer != issuers::DEV_ISSUER);
        with_dev.auth.issuers.push(DevIssuer::issuer_config(url));
        config = Arc::new(with_dev);
        tasks.spawn(issuers::serve_jwks(listener, dev.jwks(), handle.clone()));
    }
    let config = config;
    let drain = Duration::from_millis(200);
    for ctx in Context::ALL {
        let propri = Ascolti {
            gateway: None,
            contesti: ascolti
                .contesti
                .remove(&ctx)
                .map(|l| HashMap::from([(ctx, l)]))
                .unwrap_or_default(),
            web: if ctx == Context::Notifiche {
                ascolti.web.take()
            } else {
                None
            },
            jwks: None,
        };
        tasks.spawn(run_context(
            config.clone(),
            ctx,
            clock.clone(),
            keys.contesto(ctx)?,
            drain,
            propri,
            handle.clone(),
        ));
    }
    tasks.spawn(run_gateway(
        config.clone(),
        keys.tokens(Firmatario::Gateway)?,
        drain,
        clock.clone(),
        Some(dev_clock),
        ascolti.gateway.take(),
        handle.clone(),
    ));
    tracing::info!(gateway = %config.gateway.listen, data_dir = %config.data_dir.display(), "occasionali dev: starting every context and the gateway");
    let outcome = tokio::select! {
        _ = stop.wait() => Ok(()),
        Some(done) = tasks.join_next() => match done {
            Ok(Ok(())) => Err(anyhow::anyhow!("a server stopped unexpectedly")),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(e.into()),
        },
    };
    trigger.trigger();
    while tasks.join_next().await.is_some() {}
    outcome
}

pub async fn serve(config: Config, target: &str) -> anyhow::Result<()> {
    let config = Arc::new(config);
    // A production process uses provisioned keys: a missing key file is a start-up error, not
    // a fresh random key that no other replica shares.
    let firmatario: Firmatario = target.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let tokens = internal_tokens(&config, firmatario)?;
    // The gateway (and the dashboard, which verifies the same client tokens) trusts the
    // configured issuers only: with none, every client would be refused.
    let judges_clients =
        target == "gateway" || (target == "notifiche" && config.notifiche.web_listen.is_some());
    if judges_clients && config.auth.issuers.is_empty() {
        anyhow::bail!(
            "serve {target}: configure the client token issuers ([[auth.issuers]], deploy/config.example.toml)"
        );
    }
    install_client_tls(&config)?;
    let (trigger, handle) = shutdown::channel();
    // Kubernetes: keep answering NOT_SERVING for a few seconds so endpoints are removed first.
    let drain = Duration::from_secs(5);
    let mut passati = attivazione()?.into_iter();
    let task = if target == "gateway" {
        tokio::spawn(run_gateway(
            config.clone(),
            tokens,
            drain,
            occasionali_kernel::clock::system(),
            None,
            passati.next(),
            handle,
        ))
    } else {
        let ctx: Context = target.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        let mut ascolti = Ascolti::default();
        if let Some(l) = passati.next() {
            ascolti.contesti.insert(ctx, l);
        }
        ascolti.web = passati.next();
        tokio::spawn(run_context(
            config.clone(),
            ctx,
            occasionali_kernel::clock::system(),
            tokens,
            drain,
            ascolti,
            handle,
        ))
    };
    tokio::pin!(task);
    tokio::select! {
        _ = shutdown::os_signal() => {
            trigger.trigger();
            task.await??;
        }
        done = &mut task => done??,
    }
    Ok(())
}
