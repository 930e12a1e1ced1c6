//! The test harness: the real deleghe service on a throw-away database (SQLite or PostgreSQL),
//! clients carrying the identity the gateway would forward, a clock the tests move, and small
//! builders and assertions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use occasionali_kernel::clock::FixedClock;
use occasionali_proto::common::Periodo;
use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_internal_service_client::DelegheInternalServiceClient;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
use occasionali_runtime::server::{ServeOptions, bind, serve};
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
use occasionali_runtime::testing::TestDb;
pub use occasionali_runtime::testing::persone::{OP_DG, OP_RM, PIVA, cf_n, istante as ts, ora};
pub use occasionali_runtime::testing::{Chi, Chiamanti, err, invalid, ok, reason_of_field, refused};
use prost::Message;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub const OGGI: &str = "2026-06-15";
pub const DOMANI: &str = "2026-06-16";

/// What the gateway checks the delega for.
pub const RPC: &str = "/occasionali.prestazioni.v1.PrestazioniService/InsertPrestazione";

pub const CAF: pb::Ruolo = pb::Ruolo::Caf;
pub const PATRONATO: pb::Ruolo = pb::Ruolo::Patronato;
pub const CONSULENTE: pb::Ruolo = pb::Ruolo::ConsulenteLavoro;

// ---------------------------------------------------------------------------------------------
// The harness

struct Server {
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
}

occasionali_runtime::deref_chiamanti!(Harness, chi);

/// A running deleghe service.
pub struct Harness {
    client: DelegheServiceClient<Channel>,
    interno: DelegheInternalServiceClient<Channel>,
    /// The callers (`h.dg()`, `h.prestatore(cf)`, …), signed with the harness's key.
    chi: Chiamanti,
    pub clock: Arc<FixedClock>,
    pub db: sea_orm::DatabaseConnection,
    server: Option<Server>,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        let tokens = occasionali_runtime::testing::tokens_di_prova(Context::Deleghe);
        let clock = Arc::new(FixedClock::at(ora()));
        let deps = ContextDeps {
            db: t.db.clone(),
            clock: clock.clone(),
            tokens: tokens.clone(),
            endpoints: HashMap::new(),
            relay: None,
        };
        let listener = bind("127.0.0.1:0".parse()?).await?;
        let addr = listener.local_addr()?;
        let (trigger, signal) = shutdown::channel();
        let options = ServeOptions {
            name: "deleghe".into(),
            services: vec!["occasionali.deleghe.v1.DelegheService".into()],
            drain: Duration::ZERO,
            tls: None,
        };
        let task = tokio::spawn(serve(
            listener,
            options,
            occasionali_deleghe::routes(deps)?,
            signal,
        ));
        let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
        Ok(Harness {
            client: DelegheServiceClient::new(channel.clone()),
            interno: DelegheInternalServiceClient::new(channel),
            chi: Chiamanti::new(tokens),
            clock,
            db: t.db.clone(),
            server: Some(Server { trigger, task }),
        })
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.trigger.trigger();
            let _ = tokio::time::timeout(Duration::from_secs(10), s.task).await;
        }
    }

    /// A client (cheap: clones share the connection).
    pub fn c(&self) -> DelegheServiceClient<Channel> {
        self.client.clone()
    }

    /// The internal service's client (GW-6: `sistema` only).
    pub fn interno(&self) -> DelegheInternalServiceClient<Channel> {
        self.interno.clone()
    }

    /// The platform time now.
    pub fn now(&self) -> DateTime<Utc> {
        use occasionali_kernel::Clock;
        self.clock.now()
    }

    /// Moves the platform clock.
    pub fn avanza_giorni(&self, giorni: i64) {
        self.clock.advance(chrono::Duration::days(giorni));
    }

    /// The gateway's own identity, calling because of `client` (DEL-2).
    pub fn gateway_per(&self, client: &Chi) -> Chi {
        self.servizio("gateway").per(client)
    }

    // --- common calls ------------------------------------------------------------------------

    /// Creates a delega for [dal, al] by the delegante itself.
    pub async fn crea(
        &self,
        delegante: &str,
        delegato: &str,
        ruolo: pb::Ruolo,
        dal: &str,
        al: &str,
    ) -> pb::Delega {
        let r = richiesta(delegante, delegato, ruolo, dal, al);
        ok(self.c().create_delega(self.prestatore(delegante).req(r)).await)
            .delega
            .expect("delega")
    }

    pub async fn revoca(&self, by: &Chi, delega_id: &str, motivo: &str) -> pb::Delega {
        ok(self.c().revoke_delega(by.req(revoca(delega_id, motivo))).await)
            .delega
            .expect("delega")
    }

    /// The gateway checks the delega `client` acts under for `delegante`, now.
    pub async fn verifica(&self, client: &Chi, delegante: &str, ruolo: pb::Ruolo) -> pb::CheckDelegaResponse {
        let r = check(&client.identity.caller.cf, delegante, ruolo, None);
        ok(self.interno().check_delega(self.gateway_per(client).req(r)).await)
    }

    /// The whole audit trail about `delegato_cf`, newest first, as DG sees it.
    pub async fn audit_delegato(&self, delegato_cf: &str) -> Vec<pb::VoceAudit> {
        ok(self
            .c()
            .list_audit_delega(self.dg().req(pb::ListAuditDelegaRequest {
                delegato_cf: delegato_cf.into(),
                page_size: 500,
                ..Default::default()
            }))
            .await)
        .voci
    }

    /// The outbox: (topic, aggregate id, delega).
    pub async fn eventi(&self) -> Vec<(String, String, pb::Delega)> {
        occasionali_runtime::outbox::read_all(&self.db)
            .await
            .expect("outbox")
            .into_iter()
            .map(|e| {
                let any = e.payload.expect("payload");
                let delega = match any.type_url.as_str() {
                    "type.googleapis.com/occasionali.deleghe.v1.DelegaCreata" => {
                        pb::DelegaCreata::decode(any.value.as_slice())
                            .expect("decodes")
                            .delega
                    }
                    "type.googleapis.com/occasionali.deleghe.v1.DelegaRevocata" => {
                        pb::DelegaRevocata::decode(any.value.as_slice())
                            .expect("decodes")
                            .delega
                    }
                    other => panic!("unexpected event type {other}"),
                };
                (e.topic, e.aggregate_id, delega.expect("delega in the event"))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Builders

/// The delegante of most tests (a prestatore).
pub fn delegante() -> String {
    cf_n(1)
}

/// The delegato of most tests (an intermediary).
pub fn delegato() -> String {
    cf_n(2)
}

/// Someone unrelated.
pub fn estraneo() -> String {
    cf_n(3)
}

pub fn periodo(dal: &str, al: &str) -> Periodo {
    Periodo {
        dal: dal.into(),
        al: al.into(),
    }
}

pub fn richiesta(
    delegante: &str,
    delegato: &str,
    ruolo: pb::Ruolo,
    dal: &str,
    al: &str,
) -> pb::CreateDelegaRequest {
    pb::CreateDelegaRequest {
        request_id: String::new(),
        delegante_cf: delegante.into(),
        delegato_cf: delegato.into(),
        ruolo: ruolo as i32,
        validita: Some(periodo(dal, al)),
        nota: String::new(),
    }
}

pub fn revoca(delega_id: &str, motivo: &str) -> pb::RevokeDelegaRequest {
    pb::RevokeDelegaRequest {
        delega_id: delega_id.into(),
        motivo: motivo.into(),
    }
}

pub fn check(
    delegato: &str,
    delegante: &str,
    ruolo: pb::Ruolo,
    at: Option<DateTime<Utc>>,
) -> pb::CheckDelegaRequest {
    pb::CheckDelegaRequest {
        delegato_cf: delegato.into(),
        delegante_cf: delegante.into(),
        ruolo: ruolo as i32,
        at: at.map(|t| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        }),
        rpc_path: RPC.into(),
    }
}

pub fn get(delega_id: &str) -> pb::GetDelegaRequest {
    pb::GetDelegaRequest {
        delega_id: delega_id.into(),
    }
}

pub fn stato(d: &pb::Delega) -> pb::StatoDelega {
    pb::StatoDelega::try_from(d.stato).expect("a known state")
}

pub fn outcome(r: &pb::CheckDelegaResponse) -> pb::CheckDelegaOutcome {
    pb::CheckDelegaOutcome::try_from(r.outcome).expect("a known outcome")
}
