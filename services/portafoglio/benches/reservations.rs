//! ReserveFunds throughput (POR-4, POR-8): the real gRPC service over loopback, on one hot
//! wallet (every reservation serialises on its available-balance row) and spread over many
//! wallets, on SQLite and — when `OCCASIONALI_TEST_PG` is set — PostgreSQL.
//!
//! `cargo bench -p occasionali-portafoglio` (each scenario runs for a couple of seconds).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use occasionali_kernel::clock::FixedClock;
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_server::{AnagraficaService, AnagraficaServiceServer};
use occasionali_proto::portafoglio as pb;
use occasionali_proto::portafoglio::portafoglio_internal_service_client::PortafoglioInternalServiceClient;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens};
use occasionali_runtime::server::{ServeOptions, bind, serve};
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
use occasionali_runtime::testing::{Engine, TestDb};
use occasionali_runtime::{Identity, Principal, Profile};
use tonic::metadata::MetadataValue;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// How long each scenario runs.
const DURATA: Duration = Duration::from_secs(2);
/// Concurrent clients of the loaded scenarios, each on its own connection.
const CLIENTI: usize = 16;
/// Wallets of the "many wallets" scenario.
const PORTAFOGLI: usize = 64;

/// A registry that knows everybody as an utilizzatore of both kinds (the bench measures the
/// wallet, not the registry).
struct Registro;

#[tonic::async_trait]
impl AnagraficaService for Registro {
    occasionali_runtime::rpc_non_simulate! {
        register_prestatore(ana::RegisterPrestatoreRequest) -> ana::RegisterPrestatoreResponse;
        register_utilizzatore(ana::RegisterUtilizzatoreRequest) -> ana::RegisterUtilizzatoreResponse;
        register_intermediario(ana::RegisterIntermediarioRequest) -> ana::RegisterIntermediarioResponse;
        list_rappresentate(ana::ListRappresentateRequest) -> ana::ListRappresentateResponse;
        update_soggetto(ana::UpdateSoggettoRequest) -> ana::UpdateSoggettoResponse;
        list_modifiche(ana::ListModificheRequest) -> ana::ListModificheResponse;
        stream_soggetti_attivi(ana::StreamSoggettiAttiviRequest) -> Self::StreamSoggettiAttiviStream;
        sample_soggetti_attivi(ana::SampleSoggettiAttiviRequest) -> Self::SampleSoggettiAttiviStream;
        list_accessi_operatori(ana::ListAccessiOperatoriRequest) -> ana::ListAccessiOperatoriResponse;
    }
    type StreamSoggettiAttiviStream =
        occasionali_runtime::testing::FlussoVuoto<ana::StreamSoggettiAttiviResponse>;
    type SampleSoggettiAttiviStream =
        occasionali_runtime::testing::FlussoVuoto<ana::SampleSoggettiAttiviResponse>;

    async fn get_soggetto(
        &self,
        request: Request<ana::GetSoggettoRequest>,
    ) -> Result<Response<ana::GetSoggettoResponse>, Status> {
        let cf = request.into_inner().codice_fiscale;
        Ok(Response::new(ana::GetSoggettoResponse {
            soggetto: Some(ana::Soggetto {
                codice_fiscale: cf,
                sede: "RM".into(),
                utilizzatore_lf: Some(ana::Utilizzatore::default()),
                utilizzatore_cpo: Some(ana::Utilizzatore::default()),
                ..Default::default()
            }),
        }))
    }
}

async fn spawn(name: &str, service: &str, routes: Routes) -> (String, ShutdownTrigger) {
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, signal) = shutdown::channel();
    let options = ServeOptions {
        name: name.into(),
        services: vec![service.into()],
        drain: Duration::ZERO,
        tls: None,
    };
    tokio::spawn(serve(listener, options, routes, signal));
    (format!("http://{addr}"), trigger)
}

fn persona(i: usize) -> String {
    cf::genera(&DatiAnagrafici {
        cognome: "Rossi".into(),
        nome: "Luca".into(),
        data_nascita: chrono::NaiveDate::from_ymd_opt(
            1940 + (i % 80) as i32,
            (i % 12) as u32 + 1,
            (i % 28) as u32 + 1,
        )
        .unwrap(),
        sesso: Sesso::M,
        luogo_nascita: "H501".into(),
    })
    .as_str()
    .to_string()
}

struct Risultato {
    riuscite: usize,
    secondi: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn scenario(
    url: &str,
    tokens: &InternalTokens,
    clienti: usize,
    portafogli: &[String],
    tag: &str,
) -> Risultato {
    let token: MetadataValue<_> = tokens
        .mint(
            &Identity::new(Principal {
                cf: "SISTEMA-PRESTAZIONI".into(),
                profile: Profile::Sistema,
                sede: None,
            }),
            Context::Portafoglio,
        )
        .unwrap()
        .parse()
        .unwrap();
    let prestatore = persona(999);
    let contatore = Arc::new(AtomicUsize::new(0));
    let inizio = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clienti {
        let mut client = PortafoglioInternalServiceClient::new(
            Channel::from_shared(url.to_string())
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
        let token = token.clone();
        let portafogli = portafogli.to_vec();
        let prestatore = prestatore.clone();
        let contatore = contatore.clone();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latenze = Vec::new();
            let mut riuscite = 0usize;
            while inizio.elapsed() < DURATA {
                let n = contatore.fetch_add(1, Ordering::Relaxed);
                let mut req = Request::new(pb::ReserveFundsRequest {
                    prestazione_id: format!("bench_{tag}_{c}_{n}"),
                    portafoglio: Some(pb::PortafoglioRef {
                        utilizzatore_cf: portafogli[n % portafogli.len()].clone(),
                        tipo: pb::TipoPortafoglio::Cpo as i32,
                    }),
                    prestatore_cf: prestatore.clone(),
                    data_prestazione: "2026-06-10".into(),
                    costo: Some(pb::CostoPrestazione {
                        compenso: "9.00".into(),
                        contributi_ivs: "2.97".into(),
                        premio_inail: "0.32".into(),
                        oneri_gestione: "0.12".into(),
                        totale: "12.41".into(),
                    }),
                    reintegro: false,
                });
                req.metadata_mut().insert(IDENTITY_HEADER, token.clone());
                let t0 = Instant::now();
                let r = client.reserve_funds(req).await;
                latenze.push(t0.elapsed());
                match r {
                    Ok(_) => riuscite += 1,
                    Err(s) => panic!("reservation failed: {:?} {}", s.code(), s.message()),
                }
            }
            (riuscite, latenze)
        }));
    }
    let mut riuscite = 0;
    let mut latenze = Vec::new();
    for t in tasks {
        let (r, l) = t.await.unwrap();
        riuscite += r;
        latenze.extend(l);
    }
    let secondi = inizio.elapsed().as_secs_f64();
    latenze.sort();
    let pct = |p: f64| {
        latenze
            .get(((latenze.len() as f64 * p) as usize).min(latenze.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    Risultato {
        riuscite,
        secondi,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

async fn motore(engine: Engine) -> Option<Vec<(String, usize, Risultato)>> {
    let t = TestDb::new::<occasionali_portafoglio::Migrator>(engine, "portafoglio")
        .await
        .unwrap()?;
    // Prestazioni's key signs the calls to portafoglio, as in production (issue 14).
    let tokens = occasionali_runtime::testing::tokens_di_prova(Context::Prestazioni);
    let (anagrafica, stop_a) = spawn(
        "anagrafica-fake",
        "occasionali.anagrafica.v1.AnagraficaService",
        Routes::new(AnagraficaServiceServer::new(Registro)),
    )
    .await;
    let deps = ContextDeps {
        db: t.db.clone(),
        clock: Arc::new(FixedClock::at("2026-06-15T10:00:00Z".parse().unwrap())),
        tokens: occasionali_runtime::testing::tokens_di_prova(Context::Portafoglio),
        endpoints: HashMap::from([(Context::Anagrafica, anagrafica)]),
        relay: None,
    };
    let (url, stop_p) = spawn(
        "portafoglio",
        "occasionali.portafoglio.v1.PortafoglioService",
        occasionali_portafoglio::routes(deps).unwrap(),
    )
    .await;
    let mut client = PortafoglioServiceClient::new(
        Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let sistema = Identity::new(Principal {
        cf: "SISTEMA-PRESTAZIONI".into(),
        profile: Profile::Sistema,
        sede: None,
    });
    let portafogli: Vec<String> = (0..PORTAFOGLI).map(persona).collect();
    for (i, cf) in portafogli.iter().enumerate() {
        let mut req = Request::new(pb::NotifyPagoPaRequest {
            id_pagamento: format!("BENCH-{i}"),
            iuv: String::new(),
            codice_fiscale_versante: cf.clone(),
            tipo_portafoglio: pb::TipoPortafoglio::Cpo as i32,
            importo: "10000000.00".into(),
            pagato_il: None,
        });
        req.metadata_mut().insert(
            IDENTITY_HEADER,
            tokens
                .mint(&sistema, Context::Portafoglio)
                .unwrap()
                .parse()
                .unwrap(),
        );
        client.notify_pago_pa(req).await.unwrap();
    }
    let solo = scenario(&url, &tokens, 1, &portafogli[..1], "one").await;
    let caldo = scenario(&url, &tokens, CLIENTI, &portafogli[..1], "hot").await;
    let molti = scenario(&url, &tokens, CLIENTI, &portafogli, "many").await;
    stop_p.trigger();
    stop_a.trigger();
    tokio::time::sleep(Duration::from_millis(100)).await;
    t.close().await.unwrap();
    Some(vec![
        ("1 wallet".to_string(), 1, solo),
        ("1 hot wallet".to_string(), CLIENTI, caldo),
        (format!("{PORTAFOGLI} wallets"), CLIENTI, molti),
    ])
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!();
        println!("ReserveFunds over gRPC (loopback), {DURATA:?} per scenario");
        println!(
            "{:<11} {:<14} {:>8} {:>12} {:>10} {:>12} {:>9} {:>9}",
            "engine", "scenario", "clients", "reservations", "seconds", "per second", "p50 ms", "p99 ms"
        );
        for (nome, engine) in [("sqlite", Engine::Sqlite), ("postgresql", Engine::Postgres)] {
            match motore(engine).await {
                Some(righe) => {
                    for (scenario, clienti, r) in righe {
                        println!(
                            "{:<11} {:<14} {:>8} {:>12} {:>10.2} {:>12.0} {:>9.2} {:>9.2}",
                            nome,
                            scenario,
                            clienti,
                            r.riuscite,
                            r.secondi,
                            r.riuscite as f64 / r.secondi,
                            r.p50_ms,
                            r.p99_ms
                        );
                    }
                }
                None => println!("{nome:<11} skipped: set OCCASIONALI_TEST_PG=1 to include PostgreSQL"),
            }
        }
        println!();
    });
}
