//! The test harness: the real deleghe service on a throw-away database (SQLite or PostgreSQL),
//! clients carrying the identity the gateway would forward, a clock the tests move, and small
//! builders and assertions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::clock::FixedClock;
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};
use occasionali_proto::common::Periodo;
use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_internal_service_client::DelegheInternalServiceClient;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::config::Secret;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens, OnBehalf};
use occasionali_runtime::server::{ServeOptions, bind, serve};
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
use occasionali_runtime::testing::TestDb;
pub use occasionali_runtime::testing::{fields, ok, reason_of_field, rule_of};
use occasionali_runtime::{Identity, Principal, Profile};
use prost::Message;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

/// The platform time of every test: 2026-06-15 12:00 in Rome.
pub fn ora() -> DateTime<Utc> {
    "2026-06-15T10:00:00Z".parse().expect("a valid instant")
}

pub const OGGI: &str = "2026-06-15";
pub const DOMANI: &str = "2026-06-16";

/// A company's codice fiscale / partita IVA.
pub const PIVA: &str = "00743110157";
/// Operators (their CFs are not parsed by deleghe).
pub const OP_RM: &str = "VRDGPP70A01H501U";
pub const OP_DG: &str = "NRELSN68C12H501Z";
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

/// A running deleghe service.
pub struct Harness {
    client: DelegheServiceClient<Channel>,
    interno: DelegheInternalServiceClient<Channel>,
    pub tokens: InternalTokens,
    pub clock: Arc<FixedClock>,
    pub db: sea_orm::DatabaseConnection,
    server: Option<Server>,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        let tokens = InternalTokens::new(Secret::new(vec![7u8; 48]));
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
            tokens,
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

    /// A caller as the gateway forwards it.
    pub fn who(&self, profile: Profile, cf: &str) -> Who {
        Who {
            tokens: self.tokens.clone(),
            identity: Identity::new(Principal {
                cf: cf.into(),
                profile,
                sede: (profile == Profile::OperatoreSede).then(|| "RM".to_string()),
            }),
        }
    }

    pub fn prestatore(&self, cf: &str) -> Who {
        self.who(Profile::Prestatore, cf)
    }

    pub fn intermediario(&self, cf: &str) -> Who {
        self.who(Profile::Intermediario, cf)
    }

    pub fn op(&self) -> Who {
        self.who(Profile::OperatoreSede, OP_RM)
    }

    pub fn dg(&self) -> Who {
        self.who(Profile::OperatoreDg, OP_DG)
    }

    /// The gateway's own identity, calling because of `client` (DEL-2).
    pub fn gateway_per(&self, client: &Who) -> Who {
        Who {
            tokens: self.tokens.clone(),
            identity: Identity {
                caller: Principal {
                    cf: "SISTEMA-GATEWAY".into(),
                    profile: Profile::Sistema,
                    sede: None,
                },
                on_behalf_of: None,
                origin: Some(Box::new(client.identity.clone())),
            },
        }
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

    pub async fn revoca(&self, by: &Who, delega_id: &str, motivo: &str) -> pb::Delega {
        ok(self.c().revoke_delega(by.req(revoca(delega_id, motivo))).await)
            .delega
            .expect("delega")
    }

    /// The gateway checks the delega `client` acts under for `delegante`, now.
    pub async fn verifica(&self, client: &Who, delegante: &str, ruolo: pb::Ruolo) -> pb::CheckDelegaResponse {
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

/// A caller: every request gets a freshly minted internal identity token.
#[derive(Clone)]
pub struct Who {
    tokens: InternalTokens,
    pub identity: Identity,
}

impl Who {
    pub fn req<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        let token = self.tokens.mint(&self.identity).expect("mint a token");
        r.metadata_mut()
            .insert(IDENTITY_HEADER, token.parse().expect("an ascii token"));
        r
    }

    pub fn cf(&self) -> String {
        self.identity.caller.cf.clone()
    }

    /// The same caller acting for `cf` under a delega verified by the gateway (DEL-2).
    pub fn per_conto_di(mut self, cf: &str) -> Who {
        self.identity.on_behalf_of = Some(OnBehalf {
            cf: cf.into(),
            ruolo: "caf".into(),
            delega_id: "del_test_1".into(),
        });
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Builders

pub fn data(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

/// The codice fiscale of the `i`-th of many distinct people (distinct birth years).
pub fn cf_n(i: usize) -> String {
    const COGNOMI: [&str; 6] = ["Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito"];
    const NOMI: [(&str, Sesso); 4] = [
        ("Luca", Sesso::M),
        ("Giulia", Sesso::F),
        ("Marco", Sesso::M),
        ("Sara", Sesso::F),
    ];
    let (nome, sesso) = NOMI[i % NOMI.len()];
    cf::genera(&DatiAnagrafici {
        cognome: COGNOMI[i % COGNOMI.len()].into(),
        nome: nome.into(),
        data_nascita: data(&format!("{}-{:02}-{:02}", 1950 + i, i % 12 + 1, i % 28 + 1)),
        sesso,
        luogo_nascita: "H501".into(),
    })
    .as_str()
    .to_string()
}

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

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

// ---------------------------------------------------------------------------------------------
// Assertions

/// The status of a failed call, checked to carry `code`.
#[track_caller]
pub fn err<T: std::fmt::Debug>(r: Result<Response<T>, Status>, code: Code) -> Status {
    match r {
        Ok(r) => panic!("expected {code:?}, got success: {:?}", r.into_inner()),
        Err(s) => {
            assert_eq!(
                s.code(),
                code,
                "unexpected status: {} {:?}",
                s.message(),
                fields(&s)
            );
            s
        }
    }
}

/// INVALID_ARGUMENT naming exactly `expected` fields (in any order) and carrying `rule`.
#[track_caller]
pub fn invalid<T: std::fmt::Debug>(r: Result<Response<T>, Status>, expected: &[&str], rule: &str) -> Status {
    let s = err(r, Code::InvalidArgument);
    let mut got = fields(&s);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|f| (*f).to_string()).collect();
    want.sort();
    assert_eq!(got, want, "field violations of: {}", s.message());
    let rules = rule_of(&s);
    assert!(
        rules.split(',').any(|r| r == rule),
        "rule {rule} not in ErrorInfo rule {rules:?}"
    );
    s
}

/// The status of a refusal with `code`, checked to carry `rule` and `reason`.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(
    r: Result<Response<T>, Status>,
    code: Code,
    rule: &str,
    reason: &str,
) -> Status {
    let s = err(r, code);
    assert_eq!(rule_of(&s), rule, "{}", s.message());
    assert_eq!(reason_of(&s), reason, "{}", s.message());
    s
}

pub fn reason_of(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}
