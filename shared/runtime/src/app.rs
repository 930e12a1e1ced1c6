//! What a context service receives from its process, the same for every context.

use std::collections::HashMap;

use occasionali_kernel::SharedClock;
use sea_orm::DatabaseConnection;

use crate::context::Context;
use crate::identity::InternalTokens;

#[derive(Clone)]
pub struct ContextDeps {
    /// The context's own database (GW-4), migrated.
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    /// Verifies incoming identities and signs calls to other contexts.
    pub tokens: InternalTokens,
    /// Where the other contexts answer.
    pub endpoints: HashMap<Context, String>,
    /// The process's relay of this context's outbox (one per process: the one `run_context`
    /// spawns), for delivering a committed command at once; None in tests that build a context
    /// alone, which then make their own.
    pub relay: Option<crate::relay::Relay>,
}

impl ContextDeps {
    pub fn endpoint(&self, ctx: Context) -> anyhow::Result<&str> {
        self.endpoints
            .get(&ctx)
            .map(String::as_str)
            .ok_or_else(|| anyhow::anyhow!("no endpoint configured for {ctx}"))
    }
}
