//! SPEC §6 through notifiche's gRPC services on a real database (SQLite always, PostgreSQL with
//! OCCASIONALI_TEST_PG): consents and inbox (NOT-1), event notices once per recipient and
//! channel (NOT-2, PRE-13), delivery with backoff, leases and independent channels through a real
//! HTTP SMS gateway on loopback (NOT-6), the domestic-work import (NOT-7), the campaign, its guide
//! and its dashboard (NOT-3, NOT-4, NOT-5), the deleghe about to end (NOT-2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use occasionali_kernel::{OffsetClock, SharedClock};
use occasionali_notifiche::{App, Migrator};
use occasionali_proto::common as cpb;
use occasionali_proto::notifiche as pb;
use occasionali_proto::notifiche::notifiche_internal_service_client::NotificheInternalServiceClient;
use occasionali_proto::notifiche::notifiche_service_client::NotificheServiceClient;
use occasionali_proto::{anagrafica, deleghe, prestazioni};
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::config::{NotificheConfig, SmsConfig};
use occasionali_runtime::identity::{IDENTITY_HEADER, Identity, InternalTokens, Principal, Profile};
use occasionali_runtime::storage_test;
use occasionali_runtime::testing::{TestDb, TestServer, fields, ok, reason_of_field, rule_of};
use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Request};

const PRESTATORE: &str = "RSSMRA85T10A562S";
const ALTRO: &str = "VRDLGU70A01H501O";
const DATORE: &str = "BNCLRA60A41H501Z";
const NUMERO: &str = "+393331234567";

fn tokens() -> InternalTokens {
    occasionali_runtime::testing::tokens_di_prova(occasionali_runtime::Context::Notifiche)
}

fn chi(cf: &str, profile: Profile) -> Identity {
    Identity::new(Principal {
        cf: cf.into(),
        profile,
        sede: None,
    })
}

fn req<T>(msg: T, who: &Identity) -> Request<T> {
    let mut r = Request::new(msg);
    let token = occasionali_runtime::testing::chiavi_di_prova()
        .mint_for(who, occasionali_runtime::Context::Notifiche)
        .unwrap();
    r.metadata_mut().insert(IDENTITY_HEADER, token.parse().unwrap());
    r
}

fn sistema() -> Identity {
    chi("SISTEMA-GATEWAY", Profile::Sistema)
}

fn dg() -> Identity {
    chi("DGXOPR70A01H501G", Profile::OperatoreDg)
}

/// An HTTP SMS gateway on loopback following the adapter's contract: answers each call with the
/// next scripted status (200 when the script is over) and keeps what it accepted.
#[derive(Default)]
struct Gateway {
    copione: Mutex<VecDeque<u16>>,
    ricevuti: Mutex<Vec<serde_json::Value>>,
}

async fn sms(State(g): State<Arc<Gateway>>, body: axum::body::Bytes) -> (StatusCode, String) {
    let status = g.copione.lock().unwrap().pop_front().unwrap_or(200);
    if status == 200 {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let mut r = g.ricevuti.lock().unwrap();
        r.push(v);
        return (StatusCode::OK, format!("{{\"id\": \"sms-{}\"}}", r.len()));
    }
    (StatusCode::from_u16(status).unwrap(), "{}".into())
}

impl Gateway {
    async fn avvia() -> anyhow::Result<(Arc<Gateway>, String)> {
        let g = Arc::new(Gateway::default());
        let app = Router::new()
            .route("/v1/messages", post(sms))
            .with_state(g.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/v1/messages", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((g, url))
    }

    fn script(&self, statuses: &[u16]) {
        self.copione.lock().unwrap().extend(statuses.iter().copied());
    }

    fn ricevuti(&self) -> Vec<serde_json::Value> {
        self.ricevuti.lock().unwrap().clone()
    }
}

struct Banco {
    app: App,
    clock: Arc<OffsetClock>,
    server: TestServer,
    gateway: Arc<Gateway>,
    _chiave: tempfile_dir::Dir,
}

mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Banco {
    async fn new(t: &TestDb, adesso: &str) -> anyhow::Result<Banco> {
        let (gateway, url) = Gateway::avvia().await?;
        let dir = std::env::temp_dir().join(format!("notifiche-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("sms.key"), "chiave-sms")?;
        let config = NotificheConfig {
            sms: Some(SmsConfig {
                url,
                api_key_file: dir.join("sms.key"),
                sender: "INPS".into(),
            }),
            public_url: Some("https://servizi.example.it/notifiche".into()),
            ..Default::default()
        };
        let clock = Arc::new(OffsetClock::starting_at(adesso.parse::<DateTime<Utc>>()?));
        let shared: SharedClock = clock.clone();
        let deps = ContextDeps {
            db: t.db.clone(),
            clock: shared,
            tokens: tokens(),
            endpoints: HashMap::new(),
            relay: None,
        };
        let app = occasionali_notifiche::app(&deps, &config)?;
        let server = TestServer::spawn(
            "notifiche",
            "occasionali.notifiche.v1.NotificheService",
            occasionali_notifiche::routes(&app, &deps),
        )
        .await?;
        Ok(Banco {
            app,
            clock,
            server,
            gateway,
            _chiave: tempfile_dir::Dir(dir),
        })
    }

    async fn pubblico(&self) -> anyhow::Result<NotificheServiceClient<Channel>> {
        Ok(NotificheServiceClient::connect(self.server.url.clone()).await?)
    }

    async fn interno(&self) -> anyhow::Result<NotificheInternalServiceClient<Channel>> {
        Ok(NotificheInternalServiceClient::connect(self.server.url.clone()).await?)
    }

    async fn ingest(&self, e: cpb::Event) -> anyhow::Result<pb::IngestEventResponse> {
        Ok(ok(self
            .interno()
            .await?
            .ingest_event(req(pb::IngestEventRequest { event: Some(e) }, &sistema()))
            .await))
    }

    /// Worker rounds until nothing is due.
    async fn consegna(&self) -> anyhow::Result<()> {
        for _ in 0..20 {
            if self.app.consegna_dovute().await? == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn consegne(&self, filtro: pb::ListDeliveriesRequest) -> anyhow::Result<Vec<pb::Delivery>> {
        Ok(ok(self.pubblico().await?.list_deliveries(req(filtro, &dg())).await).deliveries)
    }
}

fn evento<M: Message>(id: &str, topic: &str, aggregate: &str, type_name: &str, m: &M) -> cpb::Event {
    cpb::Event {
        event_id: id.into(),
        topic: topic.into(),
        aggregate_id: aggregate.into(),
        occurred_at: None,
        payload: Some(prost_types::Any {
            type_url: format!("type.googleapis.com/{type_name}"),
            value: m.encode_to_vec(),
        }),
    }
}

fn contatti(id: &str, cf: &str, versione: i64, cellulare: &str, email: &str) -> cpb::Event {
    evento(
        id,
        "anagrafica.soggetto.modificato",
        cf,
        "occasionali.anagrafica.v1.SoggettoModificato",
        &anagrafica::SoggettoModificato {
            codice_fiscale: cf.into(),
            azione: "correzione".into(),
            campi: vec!["contatti".into()],
            versione,
            soggetto: Some(anagrafica::Soggetto {
                contatti: Some(anagrafica::Contatti {
                    cellulare: cellulare.into(),
                    email: email.into(),
                }),
                ..Default::default()
            }),
        },
    )
}

fn revocata(id: &str, prestatore: &str) -> cpb::Event {
    evento(
        id,
        "prestazioni.prestazione.revocata",
        "pre_1",
        "occasionali.prestazioni.v1.PrestazioneRevocata",
        &prestazioni::PrestazioneRevocata {
            prestazione: Some(prestazioni::Prestazione {
                id: "pre_1".into(),
                tipo: prestazioni::TipoPrestazione::LibrettoFamiglia as i32,
                prestatore_cf: prestatore.into(),
                utilizzatore_cf: ALTRO.into(),
                data_prestazione: "2026-06-03".into(),
                ..Default::default()
            }),
        },
    )
}

fn consenso_sms(cf: &str, concesso: bool) -> pb::UpdateConsensiRequest {
    pb::UpdateConsensiRequest {
        codice_fiscale: cf.into(),
        consensi: vec![pb::Consenso {
            channel: pb::Channel::Sms as i32,
            concesso,
            aggiornato_il: None,
        }],
    }
}

fn per_canale(d: &[pb::Delivery]) -> HashMap<i32, (i32, String)> {
    d.iter()
        .map(|x| (x.channel, (x.state, x.ultimo_errore.clone())))
        .collect()
}

storage_test!(
    Migrator,
    "notifiche",
    not_1_not_2_pre_13_a_revocation_reaches_the_prestatore_once_on_each_consented_channel,
    revoca_notificata
);

async fn revoca_notificata(t: &TestDb) -> anyhow::Result<()> {
    let b = Banco::new(t, "2026-06-04T08:00:00Z").await?;
    let mut c = b.pubblico().await?;
    let io = chi(PRESTATORE, Profile::Prestatore);
    // Contacts come from anagrafica; consent from the person (NOT-1).
    b.ingest(contatti("ev-c1", PRESTATORE, 1, NUMERO, "mario@example.it"))
        .await?;
    b.ingest(contatti("ev-c0", PRESTATORE, 0, "+390000000000", ""))
        .await?;
    let k = ok(c
        .get_contatti(req(
            pb::GetContattiRequest {
                codice_fiscale: PRESTATORE.into(),
            },
            &io,
        ))
        .await);
    let k = k.contatti.unwrap();
    assert_eq!(k.cellulare, NUMERO, "a late older version changes nothing");
    assert!(
        k.consensi
            .iter()
            .all(|x| x.concesso == (x.channel >= pb::Channel::AppIo as i32)),
        "{k:?}"
    );
    // Another person may not read them, nor give consent for them.
    let s = c
        .get_contatti(req(
            pb::GetContattiRequest {
                codice_fiscale: PRESTATORE.into(),
            },
            &chi(ALTRO, Profile::Prestatore),
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    let s = c
        .update_consensi(req(consenso_sms(PRESTATORE, true), &dg()))
        .await
        .unwrap_err();
    assert_eq!((s.code(), rule_of(&s)), (Code::PermissionDenied, "NOT-1".into()));
    // Only SMS and e-mail take consent.
    let s = c
        .update_consensi(req(
            pb::UpdateConsensiRequest {
                codice_fiscale: PRESTATORE.into(),
                consensi: vec![pb::Consenso {
                    channel: pb::Channel::AppIo as i32,
                    concesso: false,
                    aggiornato_il: None,
                }],
            },
            &io,
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&s), ["consensi[0].channel"]);
    ok(c.update_consensi(req(consenso_sms(PRESTATORE, true), &io)).await);

    // PRE-13: the revocation, delivered twice by the relay, is one notice.
    let primo = b.ingest(revocata("ev-r1", PRESTATORE)).await?;
    let ancora = b.ingest(revocata("ev-r1", PRESTATORE)).await?;
    assert!(!primo.duplicato && ancora.duplicato);
    assert_eq!(primo.notifica_ids.len(), 1);
    assert_eq!(ancora.notifica_ids, primo.notifica_ids);
    // Someone who gave no consent gets the inbox only.
    b.ingest(contatti("ev-c2", ALTRO, 1, "+393339999999", "")).await?;
    b.ingest(revocata("ev-r2", ALTRO)).await?;
    b.consegna().await?;

    let sms = b.gateway.ricevuti();
    assert_eq!(sms.len(), 1, "one SMS, to the consenting prestatore: {sms:?}");
    assert_eq!(sms[0]["to"], NUMERO);
    assert!(sms[0]["text"].as_str().unwrap().contains("revocata"), "{sms:?}");
    let mie = b
        .consegne(pb::ListDeliveriesRequest {
            event_id: "ev-r1".into(),
            ..Default::default()
        })
        .await?;
    let m = per_canale(&mie);
    assert_eq!(mie.len(), 4, "one per channel: {mie:?}");
    assert_eq!(m[&(pb::Channel::Sms as i32)].0, pb::DeliveryState::Sent as i32);
    let sms_riga = mie.iter().find(|d| d.channel == pb::Channel::Sms as i32).unwrap();
    assert_eq!(sms_riga.destinazione, "+39333****567", "masked");
    assert_eq!(
        m[&(pb::Channel::MyinpsInbox as i32)].0,
        pb::DeliveryState::Sent as i32
    );
    assert_eq!(
        m[&(pb::Channel::Email as i32)].0,
        pb::DeliveryState::Skipped as i32,
        "no e-mail consent"
    );
    assert_eq!(
        m[&(pb::Channel::AppIo as i32)].0,
        pb::DeliveryState::Skipped as i32,
        "not configured here"
    );
    let sue = per_canale(
        &b.consegne(pb::ListDeliveriesRequest {
            event_id: "ev-r2".into(),
            ..Default::default()
        })
        .await?,
    );
    assert_eq!(
        sue[&(pb::Channel::Sms as i32)].0,
        pb::DeliveryState::Skipped as i32
    );
    assert!(sue[&(pb::Channel::Sms as i32)].1.contains("NOT-1"));

    // The inbox, newest first, paged; read once.
    let inbox = ok(c
        .list_inbox(req(
            pb::ListInboxRequest {
                codice_fiscale: PRESTATORE.into(),
                ..Default::default()
            },
            &io,
        ))
        .await);
    assert_eq!(inbox.messaggi.len(), 1);
    let msg = &inbox.messaggi[0];
    assert_eq!(msg.tipo, pb::TipoNotifica::PrestazioneRevocata as i32);
    assert!(msg.testo.contains("03/06/2026"), "{}", msg.testo);
    assert!(msg.letto_il.is_none());
    let letto = ok(c
        .mark_inbox_read(req(
            pb::MarkInboxReadRequest {
                codice_fiscale: PRESTATORE.into(),
                id: msg.id.clone(),
            },
            &io,
        ))
        .await);
    assert!(letto.messaggio.unwrap().letto_il.is_some());
    let non_letti = ok(c
        .list_inbox(req(
            pb::ListInboxRequest {
                codice_fiscale: PRESTATORE.into(),
                solo_non_letti: true,
                ..Default::default()
            },
            &io,
        ))
        .await);
    assert!(non_letti.messaggi.is_empty());
    // A person lists only its own deliveries.
    let s = c
        .list_deliveries(req(pb::ListDeliveriesRequest::default(), &io))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    b.server.stop().await;
    Ok(())
}

storage_test!(
    Migrator,
    "notifiche",
    not_6_retries_with_backoff_fails_for_good_and_one_channel_never_blocks_another,
    ritenta
);

async fn ritenta(t: &TestDb) -> anyhow::Result<()> {
    let b = Banco::new(t, "2026-06-04T08:00:00Z").await?;
    let mut c = b.pubblico().await?;
    for (cf, ev) in [(PRESTATORE, "ev-c1"), (ALTRO, "ev-c2")] {
        b.ingest(contatti(ev, cf, 1, NUMERO, "")).await?;
        ok(
            c.update_consensi(req(consenso_sms(cf, true), &chi(cf, Profile::Prestatore)))
                .await,
        );
    }
    // The gateway fails once (temporary), then refuses the next message for good.
    b.gateway.script(&[503, 400]);
    b.ingest(revocata("ev-r1", PRESTATORE)).await?;
    b.consegna().await?;
    let d = b
        .consegne(pb::ListDeliveriesRequest {
            event_id: "ev-r1".into(),
            channel: pb::Channel::Sms as i32,
            ..Default::default()
        })
        .await?;
    assert_eq!(d[0].state, pb::DeliveryState::Retrying as i32, "{d:?}");
    assert_eq!(d[0].tentativi, 1);
    assert!(d[0].prossimo_tentativo_il.is_some());
    assert!(d[0].ultimo_errore.contains("503") && !d[0].ultimo_errore.contains(NUMERO));
    // Meanwhile another notice goes out on the same channel: nothing waits behind a retry.
    b.ingest(revocata("ev-r2", ALTRO)).await?;
    b.consegna().await?;
    let altro = b
        .consegne(pb::ListDeliveriesRequest {
            event_id: "ev-r2".into(),
            channel: pb::Channel::Sms as i32,
            ..Default::default()
        })
        .await?;
    assert_eq!(
        altro[0].state,
        pb::DeliveryState::Failed as i32,
        "a 400 is final: {altro:?}"
    );
    assert_eq!(altro[0].tentativi, 1);
    b.clock.advance(chrono::Duration::hours(2));
    b.consegna().await?;
    let d = b
        .consegne(pb::ListDeliveriesRequest {
            event_id: "ev-r1".into(),
            channel: pb::Channel::Sms as i32,
            ..Default::default()
        })
        .await?;
    assert_eq!(d[0].state, pb::DeliveryState::Sent as i32, "{d:?}");
    assert_eq!(d[0].tentativi, 2);
    b.server.stop().await;
    Ok(())
}

storage_test!(
    Migrator,
    "notifiche",
    not_6_a_worker_that_dies_mid_send_leaves_a_lease_that_expires_and_the_message_goes_once,
    lease
);

async fn lease(t: &TestDb) -> anyhow::Result<()> {
    let b = Banco::new(t, "2026-06-04T08:00:00Z").await?;
    let mut c = b.pubblico().await?;
    b.ingest(contatti("ev-c1", PRESTATORE, 1, NUMERO, "")).await?;
    ok(c.update_consensi(req(
        consenso_sms(PRESTATORE, true),
        &chi(PRESTATORE, Profile::Prestatore),
    ))
    .await);
    b.ingest(revocata("ev-r1", PRESTATORE)).await?;
    let adesso = occasionali_kernel::Clock::now(b.clock.as_ref()).timestamp_millis();
    let claimed = occasionali_notifiche::app::consegne::reclama_per_prova(&b.app, adesso).await?;
    assert_eq!(
        claimed, 1,
        "the SMS delivery is leased by the worker that then dies"
    );
    b.consegna().await?;
    assert!(
        b.gateway.ricevuti().is_empty(),
        "a leased delivery is not sent by another worker"
    );
    b.clock.advance(chrono::Duration::seconds(61));
    b.consegna().await?;
    b.consegna().await?;
    assert_eq!(b.gateway.ricevuti().len(), 1, "sent once after the lease expired");
    b.server.stop().await;
    Ok(())
}

fn trimestre(anno: i32, numero: i32) -> Option<pb::Trimestre> {
    Some(pb::Trimestre { anno, numero })
}

fn situazione(
    anno: i32,
    numero: i32,
    stato: pb::StatoRapportoDomestico,
    dovuti: &str,
    pagati: &str,
) -> pb::SituazioneTrimestre {
    pb::SituazioneTrimestre {
        trimestre: trimestre(anno, numero),
        stato: stato as i32,
        contributi_dovuti: dovuti.into(),
        contributi_pagati: pagati.into(),
    }
}

fn record(
    id: &str,
    cf: &str,
    nome: &str,
    nascita: &str,
    rapporti: Vec<pb::RapportoLavoroDomestico>,
) -> pb::ImportLavoroDomesticoRequest {
    pb::ImportLavoroDomesticoRequest {
        record: Some(pb::RecordLavoroDomestico {
            record_id: id.into(),
            datore: Some(pb::DatoreLavoroDomestico {
                codice_fiscale: cf.into(),
                nome: nome.into(),
                cognome: "Bianchi".into(),
                data_nascita: nascita.into(),
            }),
            rapporti,
        }),
    }
}

fn rapporto(
    codice: &str,
    lavoratore: &str,
    nome: &str,
    trimestri: Vec<pb::SituazioneTrimestre>,
) -> pb::RapportoLavoroDomestico {
    pb::RapportoLavoroDomestico {
        codice_rapporto: codice.into(),
        lavoratore_cf: lavoratore.into(),
        lavoratore_nome: nome.into(),
        trimestri,
    }
}

storage_test!(
    Migrator,
    "notifiche",
    not_3_not_4_not_5_not_7_import_campaign_guide_and_dashboard,
    campagna
);

async fn campagna(t: &TestDb) -> anyhow::Result<()> {
    use pb::StatoRapportoDomestico::{Active, Ended};
    // The run is one month before the Q1 2026 window (1-10 April).
    let b = Banco::new(t, "2026-03-01T08:00:00Z").await?;
    let mut c = b.pubblico().await?;
    let eta_75 = "1950-03-02"; // 76 tomorrow
    let eta_76 = "1950-03-01"; // 76 today
    let records = vec![
        record(
            "r1",
            DATORE,
            "Laura",
            "1960-01-01",
            vec![
                rapporto(
                    "R1",
                    PRESTATORE,
                    "Ana",
                    vec![situazione(2026, 1, Active, "412.50", "0")],
                ),
                rapporto("R2", ALTRO, "Bogdan", vec![situazione(2026, 1, Ended, "0", "0")]),
            ],
        ),
        record("r1", DATORE, "Laura", "1960-01-01", vec![]),
        record("r2", "NONVALIDO", "X", "1960-01-01", vec![]),
        record(
            "r3",
            "VRDGNN50C02H501M",
            "Giovanni",
            eta_75,
            vec![rapporto(
                "R3",
                PRESTATORE,
                "Chen",
                vec![situazione(2026, 1, Active, "", "")],
            )],
        ),
        record(
            "r4",
            "VRDGNN50C01H501H",
            "Gianna",
            eta_76,
            vec![rapporto(
                "R4",
                PRESTATORE,
                "Dina",
                vec![situazione(2026, 1, Active, "100", "0")],
            )],
        ),
        record(
            "r5",
            "PGLPLA80A01H501U",
            "Paola",
            "1980-01-01",
            vec![rapporto(
                "R5",
                PRESTATORE,
                "Eva",
                vec![situazione(2026, 1, Active, "100", "100")],
            )],
        ),
    ];
    // NOT-7: only the platform (the archives' feed) or the DG imports.
    let s = c
        .import_lavoro_domestico(req(
            tokio_stream::iter(records.clone()),
            &chi(PRESTATORE, Profile::Prestatore),
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    let r = ok(c
        .import_lavoro_domestico(req(tokio_stream::iter(records.clone()), &sistema()))
        .await);
    assert_eq!(
        (
            r.numero_ricevuti,
            r.numero_importati,
            r.numero_duplicati,
            r.numero_scartati
        ),
        (6, 4, 1, 1)
    );
    assert_eq!(r.scartati[0].posizione, 2);
    assert_eq!(r.scartati[0].record_id, "r2");
    assert!(
        r.scartati[0].motivo.contains("record.datore.codice_fiscale"),
        "{:?}",
        r.scartati
    );
    let r = ok(c
        .import_lavoro_domestico(req(tokio_stream::iter(records), &sistema()))
        .await);
    assert_eq!(
        (r.numero_importati, r.numero_duplicati),
        (0, 5),
        "idempotent per record"
    );

    // NOT-3: who is addressed (Laura; Giovanni, 75; not Gianna, 76 today; not Paola, paid).
    let run = |dry_run: bool| pb::RunCampagnaRequest {
        campagna: pb::TipoCampagna::LavoroDomestico as i32,
        trimestre: trimestre(2026, 1),
        dry_run,
    };
    let s = c
        .run_campagna(req(run(false), &chi("OPRSDE70A01H501X", Profile::OperatoreSede)))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    let s = c
        .run_campagna(req(
            pb::RunCampagnaRequest {
                trimestre: trimestre(2025, 4),
                ..run(false)
            },
            &dg(),
        ))
        .await
        .unwrap_err();
    assert_eq!(reason_of_field(&s, "trimestre"), "NOT_3_TRIMESTRE_PRIMA_DEL_2026");
    let prova = ok(c.run_campagna(req(run(true), &dg())).await).run.unwrap();
    assert_eq!((prova.numero_destinatari, prova.numero_notifiche), (2, 0));
    let vero = ok(c.run_campagna(req(run(false), &dg())).await).run.unwrap();
    assert_eq!((vero.numero_destinatari, vero.numero_notifiche), (2, 2));
    let ancora = ok(c.run_campagna(req(run(false), &dg())).await).run.unwrap();
    assert_eq!(
        (ancora.numero_destinatari, ancora.numero_notifiche),
        (2, 0),
        "nobody twice"
    );
    b.consegna().await?;

    // NOT-4: the guide, personalised.
    let laura = chi(DATORE, Profile::Utilizzatore);
    let inbox = ok(c
        .list_inbox(req(
            pb::ListInboxRequest {
                codice_fiscale: DATORE.into(),
                ..Default::default()
            },
            &laura,
        ))
        .await);
    assert_eq!(inbox.messaggi.len(), 1);
    let m = &inbox.messaggi[0];
    assert!(m.testo.starts_with("Gentile Laura"), "{}", m.testo);
    assert!(m.testo.contains(&format!(
        "https://servizi.example.it/notifiche/guida/{}",
        m.guida_token
    )));
    assert!(m.guida_token.len() >= 64);
    let g = ok(c
        .get_guida(req(
            pb::GetGuidaRequest {
                token: m.guida_token.clone(),
            },
            &laura,
        ))
        .await)
    .guida
    .unwrap();
    assert_eq!(g.datore_nome, "Laura");
    let nomi: Vec<&str> = g.lavoratori.iter().map(|l| l.nome.as_str()).collect();
    assert_eq!(nomi, ["Ana"], "the ended relationship is not listed");
    assert_eq!(
        g.lavoratori[0].trimestri_non_pagati[0].contributi_dovuti,
        "412.50"
    );
    let f = g.finestra_pagamento.clone().unwrap();
    assert_eq!((f.dal.as_str(), f.al.as_str()), ("2026-04-01", "2026-04-10"));
    assert_eq!(g.links.len(), 5);
    assert!(!g.sanzioni.is_empty() && !g.istruzioni_rapporto_sospeso_cessato.is_empty());
    let s = c
        .get_guida(req(
            pb::GetGuidaRequest {
                token: "0".repeat(64),
            },
            &laura,
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::NotFound);

    // Ratings 1-5 only; a new one replaces the old.
    for voto in [0, 6, -1] {
        let s = c
            .rate_guida(req(
                pb::RateGuidaRequest {
                    token: m.guida_token.clone(),
                    voto,
                },
                &laura,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (s.code(), fields(&s)),
            (Code::InvalidArgument, vec!["voto".to_string()])
        );
    }
    ok(c.rate_guida(req(
        pb::RateGuidaRequest {
            token: m.guida_token.clone(),
            voto: 2,
        },
        &laura,
    ))
    .await);
    let g = ok(c
        .rate_guida(req(
            pb::RateGuidaRequest {
                token: m.guida_token.clone(),
                voto: 5,
            },
            &laura,
        ))
        .await);
    assert_eq!(g.guida.unwrap().voto, 5);
    let url = ok(c
        .record_guida_link(req(
            pb::RecordGuidaLinkRequest {
                token: m.guida_token.clone(),
                link: pb::GuidaLink::CassettoPrevidenziale as i32,
            },
            &laura,
        ))
        .await)
    .url;
    assert!(url.starts_with("https://www.inps.it/"), "{url}");

    // NOT-5: the dashboard counts what was sent, opened, followed and rated.
    let s = c
        .get_campagna_dashboard(req(
            pb::GetCampagnaDashboardRequest {
                campagna: pb::TipoCampagna::LavoroDomestico as i32,
                trimestre: None,
            },
            &laura,
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    let d = ok(c
        .get_campagna_dashboard(req(
            pb::GetCampagnaDashboardRequest {
                campagna: pb::TipoCampagna::LavoroDomestico as i32,
                trimestre: None,
            },
            &dg(),
        ))
        .await);
    assert_eq!(d.righe.len(), 1);
    let r = &d.righe[0];
    let inbox = r
        .per_canale
        .iter()
        .find(|x| x.channel == pb::Channel::MyinpsInbox as i32)
        .unwrap();
    assert_eq!(inbox.inviati, 2);
    let sms = r
        .per_canale
        .iter()
        .find(|x| x.channel == pb::Channel::Sms as i32)
        .unwrap();
    assert_eq!((sms.inviati, sms.saltati), (0, 2), "no consent");
    assert_eq!(r.guide_aperte, 1);
    let cassetto = r
        .link_seguiti
        .iter()
        .find(|x| x.link == pb::GuidaLink::CassettoPrevidenziale as i32)
        .unwrap();
    assert_eq!(cassetto.numero, 1);
    assert_eq!((r.valutazioni_numero, r.valutazioni_media.as_str()), (1, "5.00"));

    // NOT-4: six months after the notice the guide has expired.
    b.clock.advance(chrono::Duration::days(184));
    let g = ok(c
        .get_guida(req(
            pb::GetGuidaRequest {
                token: m.guida_token.clone(),
            },
            &laura,
        ))
        .await)
    .guida
    .unwrap();
    assert!(g.scaduta);
    assert!(g.datore_nome.is_empty() && g.lavoratori.is_empty() && g.links.is_empty());
    let s = c
        .rate_guida(req(
            pb::RateGuidaRequest {
                token: m.guida_token.clone(),
                voto: 3,
            },
            &laura,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), rule_of(&s)),
        (Code::FailedPrecondition, "NOT-4".into())
    );
    b.server.stop().await;
    Ok(())
}

storage_test!(
    Migrator,
    "notifiche",
    not_2_a_delega_created_and_about_to_end_is_announced_once_by_any_number_of_replicas,
    scadenze
);

async fn scadenze(t: &TestDb) -> anyhow::Result<()> {
    let b = Banco::new(t, "2026-06-01T08:00:00Z").await?;
    let delega = |id: &str, al: &str| {
        evento(
            id,
            "deleghe.delega.creata",
            "del_1",
            "occasionali.deleghe.v1.DelegaCreata",
            &deleghe::DelegaCreata {
                delega: Some(deleghe::Delega {
                    id: "del_1".into(),
                    delegante_cf: PRESTATORE.into(),
                    delegato_cf: ALTRO.into(),
                    validita: Some(cpb::Periodo {
                        dal: "2026-01-01".into(),
                        al: al.into(),
                    }),
                    ..Default::default()
                }),
            },
        )
    };
    let creata = b.ingest(delega("ev-d1", "2026-07-15")).await?;
    assert_eq!(
        creata.notifica_ids.len(),
        1,
        "the delegante hears of the new delega"
    );
    // 44 days before its end: not yet.
    assert_eq!(b.app.avvisa_scadenze().await?, 0);
    b.clock.advance(chrono::Duration::days(15));
    let replica = b.app.clone();
    let (x, y) = tokio::join!(b.app.avvisa_scadenze(), replica.avvisa_scadenze());
    assert_eq!(x? + y?, 1, "one notice however many replicas look");
    assert_eq!(b.app.avvisa_scadenze().await?, 0);
    let inbox = ok(b
        .pubblico()
        .await?
        .list_inbox(req(
            pb::ListInboxRequest {
                codice_fiscale: PRESTATORE.into(),
                tipo: pb::TipoNotifica::DelegaInScadenza as i32,
                ..Default::default()
            },
            &chi(PRESTATORE, Profile::Prestatore),
        ))
        .await);
    assert_eq!(inbox.messaggi.len(), 1);
    assert!(
        inbox.messaggi[0].testo.contains("15/07/2026"),
        "{}",
        inbox.messaggi[0].testo
    );
    b.server.stop().await;
    Ok(())
}

storage_test!(
    Migrator,
    "notifiche",
    not_6_a_campaign_stopped_midway_and_run_again_addresses_everyone_exactly_once,
    campagna_interrotta
);

async fn campagna_interrotta(t: &TestDb) -> anyhow::Result<()> {
    use pb::StatoRapportoDomestico::Active;
    let b = Banco::new(t, "2026-03-01T08:00:00Z").await?;
    let mut c = b.pubblico().await?;
    const N: usize = 1_200;
    // Distinct valid codici fiscali, one birth date each.
    let datori: Vec<String> = (0..N)
        .map(|i| {
            occasionali_kernel::cf::genera(&occasionali_kernel::DatiAnagrafici {
                cognome: "Bianchi".into(),
                nome: "Laura".into(),
                data_nascita: chrono::NaiveDate::from_ymd_opt(
                    1960 + (i / 336) as i32,
                    (i / 28 % 12) as u32 + 1,
                    (i % 28) as u32 + 1,
                )
                .unwrap(),
                sesso: occasionali_kernel::Sesso::F,
                luogo_nascita: "H501".into(),
            })
            .as_str()
            .to_string()
        })
        .collect();
    let records: Vec<_> = datori
        .iter()
        .enumerate()
        .map(|(i, cf)| {
            record(
                &format!("r{i}"),
                cf,
                "Laura",
                "1960-01-01",
                vec![rapporto(
                    &format!("R{i}"),
                    PRESTATORE,
                    "Ana",
                    vec![situazione(2026, 1, Active, "100", "0")],
                )],
            )
        })
        .collect();
    let r = ok(c
        .import_lavoro_domestico(req(tokio_stream::iter(records), &sistema()))
        .await);
    assert_eq!(r.numero_importati as usize, N, "{:?}", r.scartati.first());
    // The run dies once its first page is committed (a killed process) ...
    let app = b.app.clone();
    let corsa = tokio::spawn(async move {
        let q1 = occasionali_notifiche::domain::trimestre::PRIMO;
        app.esegui_campagna(
            occasionali_notifiche::domain::Campagna::LavoroDomestico,
            q1,
            false,
            "DGXOPR70A01H501G",
        )
        .await
    });
    let inizio = std::time::Instant::now();
    loop {
        let n = avvisati(&b).await?.len();
        if n > 0 || corsa.is_finished() || inizio.elapsed() > std::time::Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    corsa.abort();
    let _ = corsa.await;
    let prima = avvisati(&b).await?.len();
    // ... and is run again: everyone is addressed, nobody twice.
    let run = ok(c
        .run_campagna(req(
            pb::RunCampagnaRequest {
                campagna: pb::TipoCampagna::LavoroDomestico as i32,
                trimestre: trimestre(2026, 1),
                dry_run: false,
            },
            &dg(),
        ))
        .await)
    .run
    .unwrap();
    assert_eq!(run.numero_destinatari as usize, N);
    assert_eq!(
        run.numero_notifiche as usize,
        N - prima,
        "only those not reached before"
    );
    let tutti = avvisati(&b).await?;
    let distinti: std::collections::HashSet<&String> = tutti.iter().collect();
    assert_eq!((tutti.len(), distinti.len()), (N, N));
    b.server.stop().await;
    Ok(())
}

/// The employers with a campaign notice in their inbox (one inbox delivery per notice).
async fn avvisati(b: &Banco) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let r = ok(b
            .pubblico()
            .await?
            .list_deliveries(req(
                pb::ListDeliveriesRequest {
                    campagna: pb::TipoCampagna::LavoroDomestico as i32,
                    channel: pb::Channel::MyinpsInbox as i32,
                    page_size: 500,
                    page_token: token.clone(),
                    ..Default::default()
                },
                &dg(),
            ))
            .await);
        out.extend(r.deliveries.into_iter().map(|d| d.codice_fiscale));
        if r.next_page_token.is_empty() {
            return Ok(out);
        }
        token = r.next_page_token;
    }
}

storage_test!(
    Migrator,
    "notifiche",
    not_2_new_prestazione_and_payout_reach_the_prestatore_and_other_topics_notify_nobody,
    altri_eventi
);

async fn altri_eventi(t: &TestDb) -> anyhow::Result<()> {
    use occasionali_proto::portafoglio;
    let b = Banco::new(t, "2026-07-15T08:00:00Z").await?;
    let inserita = evento(
        "ev-i1",
        "prestazioni.prestazione.inserita",
        "pre_2",
        "occasionali.prestazioni.v1.PrestazioneInserita",
        &prestazioni::PrestazioneInserita {
            prestazione: Some(prestazioni::Prestazione {
                id: "pre_2".into(),
                tipo: prestazioni::TipoPrestazione::Cpo as i32,
                prestatore_cf: PRESTATORE.into(),
                data_prestazione: "2026-07-20".into(),
                compenso: "1234.5".into(),
                ..Default::default()
            }),
        },
    );
    let pagato = evento(
        "ev-p1",
        "portafoglio.pagamento.eseguito",
        "pay_1",
        "occasionali.portafoglio.v1.PagamentoEseguito",
        &portafoglio::PagamentoEseguito {
            payout_order: Some(portafoglio::PayoutOrder {
                id: "pay_1".into(),
                prestatore_cf: PRESTATORE.into(),
                anno: 2026,
                mese: 6,
                data_pagamento: "2026-07-15".into(),
                importo_netto: "98.40".into(),
                ..Default::default()
            }),
        },
    );
    // A topic notifiche tells nobody about: kept once, no notice.
    let altro = evento(
        "ev-x1",
        "portafoglio.versamento.accreditato",
        "00743110157",
        "occasionali.portafoglio.v1.VersamentoAccreditato",
        &portafoglio::VersamentoAccreditato::default(),
    );
    assert_eq!(b.ingest(inserita).await?.notifica_ids.len(), 1);
    assert_eq!(b.ingest(pagato).await?.notifica_ids.len(), 1);
    let r = b.ingest(altro.clone()).await?;
    assert!(r.notifica_ids.is_empty() && !r.duplicato);
    assert!(b.ingest(altro).await?.duplicato);
    // An event whose body is not what its topic says is refused, not half-applied.
    let mut rotto = revocata("ev-bad", PRESTATORE);
    rotto.payload.as_mut().unwrap().value = vec![0xff, 0xff, 0xff];
    let s = b
        .interno()
        .await?
        .ingest_event(req(pb::IngestEventRequest { event: Some(rotto) }, &sistema()))
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), fields(&s)),
        (Code::InvalidArgument, vec!["event.payload".to_string()])
    );
    let inbox = ok(b
        .pubblico()
        .await?
        .list_inbox(req(
            pb::ListInboxRequest {
                codice_fiscale: PRESTATORE.into(),
                ..Default::default()
            },
            &chi(PRESTATORE, Profile::Prestatore),
        ))
        .await);
    let tipi: Vec<i32> = inbox.messaggi.iter().map(|m| m.tipo).collect();
    assert_eq!(
        tipi,
        [
            pb::TipoNotifica::PagamentoEseguito as i32,
            pb::TipoNotifica::PrestazioneInserita as i32
        ],
        "newest first"
    );
    assert!(
        inbox.messaggi[0].testo.contains("98,40") && inbox.messaggi[0].testo.contains("giugno 2026"),
        "{}",
        inbox.messaggi[0].testo
    );
    assert!(
        inbox.messaggi[1].testo.contains("1.234,50") && inbox.messaggi[1].testo.contains("20/07/2026"),
        "{}",
        inbox.messaggi[1].testo
    );
    b.server.stop().await;
    Ok(())
}

storage_test!(
    Migrator,
    "notifiche",
    not_7_an_import_keeps_every_discard_lists_1000_and_pages_them_all_to_the_importers_only,
    scarti_import
);

async fn scarti_import(t: &TestDb) -> anyhow::Result<()> {
    let b = Banco::new(t, "2026-03-01T08:00:00Z").await?;
    let mut c = b.pubblico().await?;
    // 1,203 bad records (codice fiscale not valid) around one good one.
    const N: i64 = 1_203;
    let mut records: Vec<_> = (0..N)
        .map(|i| record(&format!("bad{i}"), "NONVALIDO", "X", "1960-01-01", vec![]))
        .collect();
    records.insert(500, record("ok", DATORE, "Laura", "1960-01-01", vec![]));
    let r = ok(c
        .import_lavoro_domestico(req(tokio_stream::iter(records), &sistema()))
        .await);
    assert_eq!(
        (r.numero_ricevuti, r.numero_importati, r.numero_scartati),
        (N + 1, 1, N)
    );
    assert_eq!(r.scartati.len(), 1_000, "at most 1,000 inline");
    assert!(r.id_import.starts_with("ild_"), "{}", r.id_import);
    let atteso = |i: i64| (format!("bad{i}"), if i < 500 { i } else { i + 1 });
    let inline: Vec<_> = r
        .scartati
        .iter()
        .map(|s| (s.record_id.clone(), s.posizione))
        .collect();
    assert_eq!(inline, (0..1_000).map(atteso).collect::<Vec<_>>());

    // Every discard, in stream order, page after page (default 50, cap 500).
    let lista = |who: &Identity, page_size: i32, page_token: String| {
        req(
            pb::ListScartiImportLavoroDomesticoRequest {
                id_import: r.id_import.clone(),
                page_size,
                page_token,
            },
            who,
        )
    };
    let primo = ok(c
        .list_scarti_import_lavoro_domestico(lista(&dg(), 0, String::new()))
        .await);
    assert_eq!(primo.scartati.len(), 50);
    let mut tutti = Vec::new();
    let mut token = String::new();
    let mut pagine = 0;
    loop {
        let p = ok(c
            .list_scarti_import_lavoro_domestico(lista(&sistema(), 1_000, token))
            .await);
        assert!(p.scartati.len() <= 500);
        pagine += 1;
        tutti.extend(p.scartati);
        if p.next_page_token.is_empty() {
            break;
        }
        token = p.next_page_token;
    }
    assert_eq!(pagine, 3);
    let tutti: Vec<_> = tutti
        .iter()
        .map(|s| {
            assert!(s.motivo.contains("record.datore.codice_fiscale"), "{s:?}");
            (s.record_id.clone(), s.posizione)
        })
        .collect();
    assert_eq!(tutti, (0..N).map(atteso).collect::<Vec<_>>());

    // Negative page size refused; someone who may not import reads nothing.
    let s = c
        .list_scarti_import_lavoro_domestico(lista(&dg(), -1, String::new()))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    for altro in [
        chi(PRESTATORE, Profile::Prestatore),
        chi("OPRSDE70A01H501X", Profile::OperatoreSede),
    ] {
        let s = c
            .list_scarti_import_lavoro_domestico(lista(&altro, 0, String::new()))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied);
    }
    Ok(())
}

storage_test!(
    Migrator,
    "notifiche",
    not_2_a_run_of_events_is_ingested_in_order_in_one_call_and_stops_at_the_first_refused,
    eventi_insieme
);

/// IngestEvents (issue 11, the relay's batches): each event as IngestEvent would take it, in
/// order; a duplicate is OK again with nothing done; the first event refused gets its code and
/// the ones after it no outcome (nothing overtakes it); more than 256 is the caller's mistake;
/// only the platform calls it.
async fn eventi_insieme(t: &TestDb) -> anyhow::Result<()> {
    let b = Banco::new(t, "2026-07-15T08:00:00Z").await?;
    let mut c = b.interno().await?;
    let primo = revocata("ev-r1", PRESTATORE);
    let secondo = revocata("ev-r2", PRESTATORE);
    let mut rotto = revocata("ev-bad", PRESTATORE);
    rotto.payload.as_mut().unwrap().value = vec![0xff, 0xff, 0xff];
    let dopo = revocata("ev-r3", PRESTATORE);
    let lotto = |events: Vec<cpb::Event>| cpb::IngestEventsRequest { events };
    let codici = |r: cpb::IngestEventsResponse| -> Vec<i32> { r.outcomes.iter().map(|o| o.code).collect() };
    let r = ok(c
        .ingest_events(req(
            lotto(vec![primo.clone(), secondo, primo, rotto, dopo.clone()]),
            &sistema(),
        ))
        .await);
    assert_eq!(
        codici(r.clone()),
        vec![0, 0, 0, Code::InvalidArgument as i32],
        "{r:?}"
    );
    assert!(r.outcomes[3].message.contains("payload"), "{r:?}");
    // Two notices (the duplicate made none), the event after the refused one not ingested yet.
    assert_eq!(quanti_in_inbox(&b).await?, 2);
    assert!(!b.ingest(dopo).await?.duplicato, "ev-r3 was not looked at");
    assert_eq!(quanti_in_inbox(&b).await?, 3);
    // Bounded, and the platform's only.
    let s = c
        .ingest_events(req(lotto(vec![cpb::Event::default(); 257]), &sistema()))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(fields(&s), vec!["events".to_string()]);
    let s = c
        .ingest_events(req(lotto(vec![revocata("ev-r4", PRESTATORE)]), &dg()))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::PermissionDenied);
    b.server.stop().await;
    Ok(())
}

storage_test!(
    Migrator,
    "notifiche",
    not_1_not_2_a_run_writes_what_one_by_one_would_contacts_between_notices_included,
    eventi_insieme_come_uno_per_uno
);

/// IngestEvents writes a run's notices together (issue 11), yet each notice meets the contacts
/// as the events before it left them: a notice, the person's contacts, another notice, taken in
/// one call, make exactly the deliveries that the same three events one by one make.
async fn eventi_insieme_come_uno_per_uno(t: &TestDb) -> anyhow::Result<()> {
    let b = Banco::new(t, "2026-07-15T08:00:00Z").await?;
    let mut c = b.interno().await?;
    // Both consent to SMS: whether a notice can go by SMS is then up to the mobile number.
    let mut pubblico = b.pubblico().await?;
    for cf in [PRESTATORE, ALTRO] {
        ok(pubblico
            .update_consensi(req(consenso_sms(cf, true), &chi(cf, Profile::Prestatore)))
            .await);
    }
    let consegne = |event_id: &'static str| {
        let b = &b;
        async move {
            let d = b
                .consegne(pb::ListDeliveriesRequest {
                    event_id: event_id.into(),
                    ..Default::default()
                })
                .await?;
            anyhow::Ok(per_canale(&d))
        }
    };
    // Together, for PRESTATORE.
    let r = ok(c
        .ingest_events(req(
            cpb::IngestEventsRequest {
                events: vec![
                    revocata("ev-a1", PRESTATORE),
                    contatti("ev-a2", PRESTATORE, 1, NUMERO, "mario@example.it"),
                    revocata("ev-a3", PRESTATORE),
                ],
            },
            &sistema(),
        ))
        .await);
    assert_eq!(r.outcomes.len(), 3, "{r:?}");
    // One by one, for ALTRO.
    b.ingest(revocata("ev-b1", ALTRO)).await?;
    b.ingest(contatti("ev-b2", ALTRO, 1, "+393339999999", "altro@example.it"))
        .await?;
    b.ingest(revocata("ev-b3", ALTRO)).await?;
    let (prima, dopo) = (consegne("ev-a1").await?, consegne("ev-a3").await?);
    assert_eq!(prima.len(), 4, "one per channel: {prima:?}");
    assert_ne!(prima, dopo, "the contacts came between the two notices");
    assert_eq!(prima, consegne("ev-b1").await?);
    assert_eq!(dopo, consegne("ev-b3").await?);
    b.server.stop().await;
    Ok(())
}

async fn quanti_in_inbox(b: &Banco) -> anyhow::Result<usize> {
    Ok(ok(b
        .pubblico()
        .await?
        .list_inbox(req(
            pb::ListInboxRequest {
                codice_fiscale: PRESTATORE.into(),
                ..Default::default()
            },
            &chi(PRESTATORE, Profile::Prestatore),
        ))
        .await)
    .messaggi
    .len())
}
