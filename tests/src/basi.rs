//! One fresh PostgreSQL database per context, for a cluster a benchmark or the chaos test runs
//! on PostgreSQL: created together, pointed at by the configuration, dropped together, also
//! when the run fails half-way (dropping [`Basi`] drops them).

use std::collections::BTreeMap;

use occasionali_runtime::config::Config;
use occasionali_runtime::context::Context;
use sea_orm::ConnectionTrait;

/// Every context's database on one PostgreSQL server.
pub struct Basi {
    server: String,
    nomi: BTreeMap<Context, String>,
}

impl Basi {
    /// A database per context on `server` (a URL without database), named
    /// `<prefisso>_<context>_<pid>_<microseconds>`: runs of the same machine never meet.
    pub async fn crea(server: &str, prefisso: &str) -> anyhow::Result<Basi> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros();
        // Those created before a failure are dropped with `basi`.
        let mut basi = Basi {
            server: server.to_string(),
            nomi: BTreeMap::new(),
        };
        let admin = admin(server).await?;
        for ctx in Context::ALL {
            let name = format!("{prefisso}_{}_{}_{stamp}", ctx.name(), std::process::id());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            basi.nomi.insert(ctx, name);
        }
        admin.close().await?;
        Ok(basi)
    }

    /// The URL of `ctx`'s database.
    pub fn url(&self, ctx: Context) -> String {
        let name = self.nomi.get(&ctx).map(String::as_str).unwrap_or_default();
        format!("{}/{name}", self.server)
    }

    /// Points every context of `config` at its database.
    pub fn configura(&self, config: &mut Config) {
        for ctx in self.nomi.keys() {
            config.services.entry(*ctx).or_default().database_url = Some(self.url(*ctx));
        }
    }

    /// Drops every database (connections still open are closed by the server).
    pub async fn elimina(mut self) -> anyhow::Result<()> {
        let nomi = std::mem::take(&mut self.nomi);
        elimina(&self.server, nomi.into_values().collect()).await
    }
}

/// The server's maintenance database, without a statement timeout: dropping a database a
/// killed process still held, or creating one on a busy server, may take longer than a serving
/// statement may (as the kit's TestDb does).
async fn admin(server: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
    occasionali_runtime::db::connect_with(
        &format!("{server}/postgres"),
        &occasionali_runtime::db::PoolSettings::migrations(),
    )
    .await
}

async fn elimina(server: &str, nomi: Vec<String>) -> anyhow::Result<()> {
    if nomi.is_empty() {
        return Ok(());
    }
    let admin = admin(server).await?;
    // Each one even when another cannot be dropped: the first failure is the answer.
    let mut fallito = None;
    for name in &nomi {
        if let Err(e) = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
        {
            fallito.get_or_insert(anyhow::Error::from(e).context(format!("dropping {name}")));
        }
    }
    admin.close().await?;
    fallito.map_or(Ok(()), Err)
}

impl Drop for Basi {
    fn drop(&mut self) {
        let nomi: Vec<String> = std::mem::take(&mut self.nomi).into_values().collect();
        if nomi.is_empty() {
            return;
        }
        // We may be inside a runtime (even one shutting down): a helper thread with its own.
        let server = self.server.clone();
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            if let Err(e) = rt.block_on(elimina(&server, nomi.clone())) {
                eprintln!("cannot drop the databases {nomi:?}: {e:#}");
            }
        });
        let _ = handle.join();
    }
}
