//! What every Occasionali process does the same way: configuration, telemetry, identity,
//! errors, serving (health, reflection, shutdown), database access and outbox events.

/// Every process of the platform allocates with mimalloc (issue 11): glibc's malloc and free were
/// 15 % of the cluster's own CPU on the insertion path, its arenas contended by the tokio
/// workers. Declared here, once, for every binary that links the runtime (services, tests,
/// benchmarks).
#[global_allocator]
static ALLOCATORE: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod client;
pub mod config;
pub mod context;
pub mod db;
pub mod decode;
pub mod env;
pub mod error;
pub mod firme;
pub mod identity;
pub mod issuers;
pub mod limiti;
pub mod memo;
pub mod metriche;
pub mod outbox;
pub mod pagina;
pub mod periodic;
pub mod relay;
pub mod richiesta;
pub mod server;
pub mod shutdown;
pub mod sql;
pub mod telemetry;
pub mod testing;
pub mod tls;
pub mod wire;

pub use config::Config;
pub use context::Context;
pub use error::{AppError, FieldViolation, Violations};
pub use identity::{Identity, Principal, Profile, RequestIdentity};
