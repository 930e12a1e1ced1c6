//! Issue 9: the relay delivers every context's events at least once to their subscriber's
//! ingest RPC (notifiche's, the real one here), which keeps each event once; it waits for a
//! subscriber that is not there yet, backs off, fails a row after its bounded attempts for an
//! operator to retry, and shares the work between replicas. SQLite always, PostgreSQL with
//! OCCASIONALI_TEST_PG.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use occasionali_kernel::SharedClock;
use occasionali_kernel::clock::FixedClock;
use occasionali_notifiche::{Migrator, eventi_ricevuti};
use occasionali_proto::common as cpb;
use occasionali_proto::notifiche as pb;
use occasionali_proto::notifiche::notifiche_internal_service_client::NotificheInternalServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, Identity, InternalTokens, Principal, Profile};
use occasionali_runtime::relay::{self, Relay, RelayOptions};
use occasionali_runtime::testing::{Engine, TestDb, TestServer};
use occasionali_runtime::{db, outbox, storage_test};
use sea_orm::ConnectionTrait;
use tonic::Code;

/// Notifiche's own test key: what the subscriber verifies with.
fn tokens() -> InternalTokens {
    occasionali_runtime::testing::tokens_di_prova(Context::Notifiche)
}

fn options() -> RelayOptions {
    RelayOptions {
        poll: Duration::from_millis(20),
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_attempts: 3,
        ..RelayOptions::default()
    }
}

/// A notifiche server on its own fresh database.
async fn notifiche(engine: Engine) -> anyhow::Result<(TestServer, TestDb)> {
    let t = TestDb::new::<Migrator>(engine, "notifiche")
        .await?
        .ok_or_else(|| anyhow::anyhow!("engine available"))?;
    let clock: SharedClock = Arc::new(FixedClock::at("2026-06-01T10:00:00Z".parse()?));
    let deps = ContextDeps {
        db: t.db.clone(),
        clock,
        tokens: tokens(),
        endpoints: HashMap::new(),
        relay: None,
    };
    let s = TestServer::spawn(
        "notifiche",
        "occasionali.notifiche.v1.NotificheInternalService",
        occasionali_notifiche::routes_for(&deps)?,
    )
    .await?;
    Ok((s, t))
}

fn relay_to(source: &TestDb, url: &str) -> anyhow::Result<Relay> {
    Relay::new(
        source.db.clone(),
        Context::Anagrafica,
        &HashMap::from([(Context::Notifiche, url.to_string())]),
        occasionali_runtime::testing::tokens_di_prova(Context::Anagrafica),
        options(),
    )
}

async fn emit(source: &TestDb, aggregate: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let txn = db::begin_write(&source.db).await?;
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            outbox::append(
                &txn,
                "prova.evento.emesso",
                aggregate,
                "2026-06-01T10:00:00Z".parse()?,
                "google.protobuf.Duration",
                &prost_types::Duration {
                    seconds: i as i64,
                    nanos: 0,
                },
            )
            .await?,
        );
    }
    txn.commit().await?;
    Ok(ids)
}

/// The source's outbox messages in state `stato`, first page.
async fn elenco(
    t: &TestDb,
    stato: cpb::StatoRecapito,
) -> anyhow::Result<(Vec<cpb::MessaggioOutbox>, String)> {
    Ok(relay::list(
        &t.db,
        stato,
        occasionali_runtime::pagina::Pagina::decodifica(
            &mut occasionali_runtime::Violations::new(),
            "GW-5",
            10,
            "",
            0,
        ),
    )
    .await?)
}

/// The ids of the events the subscriber kept, in the order it kept them.
async fn ricevuti(sub: &TestDb) -> anyhow::Result<Vec<String>> {
    Ok(eventi_ricevuti(&sub.db)
        .await?
        .into_iter()
        .map(|e| e.event_id)
        .collect())
}

async fn drain(r: &Relay, source: &TestDb, rounds: usize) -> anyhow::Result<cpb::GetOutboxStatusResponse> {
    for _ in 0..rounds {
        r.step().await?;
        let s = relay::status(&source.db).await?;
        if s.in_attesa == 0 {
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(relay::status(&source.db).await?)
}

storage_test!(
    Migrator,
    "source",
    relay_delivers_each_event_and_the_subscriber_keeps_it_once,
    delivers_once
);

async fn delivers_once(t: &TestDb) -> anyhow::Result<()> {
    let (server, sub) = notifiche(t.engine).await?;
    let ids = emit(t, "RSSMRA85T10A562S", 5).await?;
    let r = relay_to(t, &server.url)?;
    let s = drain(&r, t, 50).await?;
    assert_eq!((s.in_attesa, s.falliti, s.recapitati), (0, 0, 5));
    let got = ricevuti(&sub).await?;
    assert_eq!(got, ids, "every event, in order");
    // At least once: a redelivery (a lost answer, a replica's expired lease) changes nothing.
    t.db.execute_unprepared("UPDATE outbox SET delivered_at_ms = NULL")
        .await?;
    let s = drain(&r, t, 50).await?;
    assert_eq!(s.recapitati, 5);
    assert_eq!(
        eventi_ricevuti(&sub.db).await?.len(),
        5,
        "deduplicated by event id"
    );
    server.stop().await;
    sub.close().await
}

storage_test!(
    Migrator,
    "source",
    relay_backs_off_then_fails_for_an_operator_who_retries,
    fails_and_retries
);

async fn fails_and_retries(t: &TestDb) -> anyhow::Result<()> {
    // Nobody listens: UNAVAILABLE, counted, with growing waits, until the bounded attempts.
    let down = relay_to(t, "http://127.0.0.1:9")?;
    emit(t, "A", 1).await?;
    let mut steps = 0;
    while relay::status(&t.db).await?.falliti == 0 && steps < 200 {
        down.step().await?;
        steps += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (rows, _) = elenco(t, cpb::StatoRecapito::Fallito).await?;
    assert_eq!(rows.len(), 1, "failed after its attempts");
    assert_eq!(rows[0].tentativi, 3);
    assert!(
        rows[0].ultimo_errore.contains("Unavailable"),
        "{}",
        rows[0].ultimo_errore
    );
    // Failed rows wait for an operator: the relay leaves them alone.
    down.step().await?;
    assert_eq!(relay::status(&t.db).await?.falliti, 1);
    // The operator retries once notifiche is back: delivered.
    let (server, sub) = notifiche(t.engine).await?;
    assert_eq!(relay::retry(&t.db, &[rows[0].id], false).await?, 1);
    let s = drain(&relay_to(t, &server.url)?, t, 50).await?;
    assert_eq!((s.falliti, s.recapitati), (0, 1));
    assert_eq!(eventi_ricevuti(&sub.db).await?.len(), 1);
    server.stop().await;
    sub.close().await
}

storage_test!(
    Migrator,
    "source",
    relay_waits_for_a_subscriber_not_yet_deployed,
    waits_in_order
);

async fn waits_in_order(t: &TestDb) -> anyhow::Result<()> {
    // A server without notifiche's internal service answers UNIMPLEMENTED: the events wait,
    // without spending attempts, and nothing overtakes the first.
    let empty = TestServer::spawn(
        "empty",
        "occasionali.notifiche.v1.NotificheService",
        tonic::service::Routes::default(),
    )
    .await?;
    let ids = emit(t, "B", 3).await?;
    let waiting = relay_to(t, &empty.url)?;
    for _ in 0..10 {
        waiting.step().await?;
    }
    let s = relay::status(&t.db).await?;
    assert_eq!((s.in_attesa, s.falliti), (3, 0), "waiting, not failed");
    assert!(s.ritardo_ms >= 0 && s.piu_vecchio_in_attesa.is_some());
    empty.stop().await;
    // Notifiche arrives: every event delivered, in order (after the waiting one's pause).
    let (server, sub) = notifiche(t.engine).await?;
    let r = relay_to(t, &server.url)?;
    let mut s = relay::status(&t.db).await?;
    for _ in 0..100 {
        r.step().await?;
        s = relay::status(&t.db).await?;
        if s.in_attesa == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.recapitati, 3);
    let got = ricevuti(&sub).await?;
    assert_eq!(got, ids);
    server.stop().await;
    sub.close().await
}

storage_test!(
    Migrator,
    "source",
    relay_lets_nothing_overtake_a_row_waiting_for_its_backoff,
    backoff_holds_the_destination
);

async fn backoff_holds_the_destination(t: &TestDb) -> anyhow::Result<()> {
    // A's delivery fails (nobody listens) and waits 1.5 s for its next attempt; B, about another
    // aggregate and later, must not reach the same destination before A does.
    let patient = |url: &str| {
        Relay::new(
            t.db.clone(),
            Context::Anagrafica,
            &HashMap::from([(Context::Notifiche, url.to_string())]),
            occasionali_runtime::testing::tokens_di_prova(Context::Anagrafica),
            RelayOptions {
                base_backoff: Duration::from_millis(1500),
                max_backoff: Duration::from_millis(1500),
                ..options()
            },
        )
    };
    let a = emit(t, "A", 1).await?;
    let b = emit(t, "B", 1).await?;
    patient("http://127.0.0.1:9")?.step().await?;
    let (server, sub) = notifiche(t.engine).await?;
    let r = patient(&server.url)?;
    for _ in 0..5 {
        r.step().await?;
    }
    assert_eq!(
        ricevuti(&sub).await?,
        Vec::<String>::new(),
        "B overtook A, which waits for its backoff"
    );
    let s = drain(&r, t, 100).await?;
    assert_eq!((s.in_attesa, s.recapitati), (0, 2));
    assert_eq!(ricevuti(&sub).await?, [a, b].concat(), "A, then B");
    server.stop().await;
    sub.close().await
}

storage_test!(
    Migrator,
    "source",
    relay_replicas_share_the_work_and_deliver_everything,
    replicas
);

async fn replicas(t: &TestDb) -> anyhow::Result<()> {
    let (server, sub) = notifiche(t.engine).await?;
    for i in 0..20 {
        emit(t, &format!("S{i}"), 10).await?;
    }
    // Two relays on two pools of the same database, stepping at once.
    let other = db::connect(&t.url, 4).await?;
    let a = relay_to(t, &server.url)?;
    let b = Relay::new(
        other.clone(),
        Context::Anagrafica,
        &HashMap::from([(Context::Notifiche, server.url.clone())]),
        occasionali_runtime::testing::tokens_di_prova(Context::Anagrafica),
        options(),
    )?;
    for _ in 0..100 {
        let (x, y) = tokio::join!(a.step(), b.step());
        x?;
        y?;
        if relay::status(&t.db).await?.in_attesa == 0 {
            break;
        }
    }
    let s = relay::status(&t.db).await?;
    assert_eq!((s.in_attesa, s.falliti, s.recapitati), (0, 0, 200));
    assert_eq!(eventi_ricevuti(&sub.db).await?.len(), 200);
    db::close(other, Duration::from_secs(5)).await;
    server.stop().await;
    sub.close().await
}

storage_test!(
    Migrator,
    "notifiche",
    gw_ingest_is_for_the_platform_only,
    ingest_fenced
);

async fn ingest_fenced(t: &TestDb) -> anyhow::Result<()> {
    let deps = ContextDeps {
        db: t.db.clone(),
        clock: Arc::new(FixedClock::at("2026-06-01T10:00:00Z".parse()?)),
        tokens: tokens(),
        endpoints: HashMap::new(),
        relay: None,
    };
    let server = TestServer::spawn("notifiche", "x", occasionali_notifiche::routes_for(&deps)?).await?;
    let mut c = NotificheInternalServiceClient::connect(server.url.clone()).await?;
    let event = cpb::Event {
        event_id: "e-1".into(),
        topic: "t".into(),
        ..Default::default()
    };
    let call = |who: Identity| {
        let mut r = tonic::Request::new(pb::IngestEventRequest {
            event: Some(event.clone()),
        });
        let token = occasionali_runtime::testing::chiavi_di_prova()
            .mint_for(&who, Context::Notifiche)
            .unwrap_or_default();
        r.metadata_mut()
            .insert(IDENTITY_HEADER, token.parse().expect("ascii token"));
        r
    };
    let dg = Identity::new(Principal {
        cf: "RSSMRA85T10A562S".into(),
        profile: Profile::OperatoreDg,
        sede: None,
    });
    let e = c.ingest_event(call(dg)).await.expect_err("refused");
    assert_eq!(e.code(), Code::PermissionDenied);
    let sistema = Identity::new(Principal {
        cf: "SISTEMA-PRESTAZIONI".into(),
        profile: Profile::Sistema,
        sede: None,
    });
    let first = c.ingest_event(call(sistema.clone())).await?.into_inner();
    let again = c.ingest_event(call(sistema)).await?.into_inner();
    assert!(!first.duplicato && again.duplicato, "deduplicated by event id");
    server.stop().await;
    Ok(())
}

storage_test!(
    Migrator,
    "source",
    relay_never_lets_a_later_message_overtake_a_failed_one_of_its_aggregate,
    failed_blocks_its_aggregate
);

async fn failed_blocks_its_aggregate(t: &TestDb) -> anyhow::Result<()> {
    let (server, sub) = notifiche(t.engine).await?;
    let a = emit(t, "PRE-A", 2).await?;
    let b = emit(t, "PRE-B", 1).await?;
    // The first message about A failed (an operator has not looked yet).
    t.db.execute_unprepared(
        "UPDATE outbox SET failed_at_ms = 1, attempts = 3 WHERE id = (SELECT MIN(id) FROM outbox)",
    )
    .await?;
    let r = relay_to(t, &server.url)?;
    for _ in 0..5 {
        r.step().await?;
    }
    let got = ricevuti(&sub).await?;
    assert_eq!(
        got, b,
        "B goes on; A's second message waits behind the failed first"
    );
    let s = relay::status(&t.db).await?;
    assert_eq!((s.in_attesa, s.falliti), (1, 1));
    // Retried by an operator: A's messages arrive in their order.
    assert_eq!(relay::retry(&t.db, &[], true).await?, 1);
    drain(&r, t, 50).await?;
    let got = ricevuti(&sub).await?;
    assert_eq!(got, [b.clone(), a.clone()].concat());
    server.stop().await;
    sub.close().await
}

storage_test!(
    Migrator,
    "source",
    relay_sends_runs_of_events_together_and_a_refused_one_stops_only_its_aggregate,
    runs_together
);

/// Issue 11: the relay hands notifiche a run of events in one IngestEvents call; an event the
/// subscriber refuses (a body that is not what its topic says) is failed for an operator after
/// the ones before it were kept, and the events after it arrive on the next cycles, each
/// aggregate's in order, except those of its own aggregate, which wait behind it.
async fn runs_together(t: &TestDb) -> anyhow::Result<()> {
    let (server, sub) = notifiche(t.engine).await?;
    let prima = emit(t, "PRE-A", 3).await?;
    // A revocation whose body does not decode.
    let txn = db::begin_write(&t.db).await?;
    outbox::append(
        &txn,
        "prestazioni.prestazione.revocata",
        "PRE-B",
        "2026-06-01T10:00:00Z".parse()?,
        "occasionali.prestazioni.v1.PrestazioneRevocata",
        &prost_types::Duration {
            seconds: -1,
            nanos: -1,
        },
    )
    .await?;
    txn.commit().await?;
    let dopo_b = emit(t, "PRE-B", 1).await?;
    let dopo = emit(t, "PRE-C", 2).await?;
    let r = relay_to(t, &server.url)?;
    drain(&r, t, 20).await?;
    let got = ricevuti(&sub).await?;
    // Each aggregate's events in their order (the relay orders per aggregate); PRE-B's second
    // event waits behind its refused first.
    let di = |ids: &[String]| {
        got.iter()
            .filter(|g| ids.contains(g))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (di(&prima), di(&dopo), di(&dopo_b)),
        (prima.clone(), dopo.clone(), vec![])
    );
    assert_eq!(got.len(), 5);
    let s = relay::status(&t.db).await?;
    assert_eq!((s.recapitati, s.falliti, s.in_attesa), (5, 1, 1));
    let (falliti, _) = elenco(t, cpb::StatoRecapito::Fallito).await?;
    assert_eq!(falliti.len(), 1);
    assert_eq!(
        (falliti[0].aggregate_id.as_str(), falliti[0].tentativi),
        ("PRE-B", 1)
    );
    assert!(
        falliti[0].ultimo_errore.contains("InvalidArgument"),
        "{}",
        falliti[0].ultimo_errore
    );
    let (in_attesa, _) = elenco(t, cpb::StatoRecapito::InAttesa).await?;
    assert_eq!(
        in_attesa.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>(),
        dopo_b
    );
    server.stop().await;
    sub.close().await
}
