//! LAO benchmark: a large table of communications, then sends and searches through the real
//! gRPC service.
//!
//! - seeding: `LAO_BENCH_ROWS` communications (default 1,000,000) bulk-loaded through the
//!   domain types and the store (multi-row INSERTs, 10,000 rows per transaction);
//! - sends: `LAO_BENCH_INSERTS` InsertComunicazione calls (default 2,000), first from one
//!   client, then from 8 concurrent clients: inserts per second on the full path (decode,
//!   checks, codice, row, outbox event, totals, commit);
//! - searches: `LAO_BENCH_SEARCHES` SearchComunicazioni calls per key (default 1,000) by
//!   committente CF and by worker CF over the large table, latency p50/p99.
//!
//! Sends come from a soggetto abilitato naming the company (an azienda profile would read its
//! committente from the registry, which the bench does not start).
//!
//! Runs on SQLite, and on PostgreSQL too when `OCCASIONALI_TEST_PG` is set.
//! `cargo bench -p occasionali-comunicazioni`; `LAO_BENCH_ROWS=100000` for a quick run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};
use occasionali_comunicazioni::domain::*;
use occasionali_comunicazioni::{Migrator, store};
use occasionali_kernel::clock::FixedClock;
use occasionali_kernel::{DatiAnagrafici, Euro, Sesso, cf};
use occasionali_proto::comunicazioni as pb;
use occasionali_proto::comunicazioni::comunicazioni_service_client::ComunicazioniServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens};
use occasionali_runtime::server::{ServeOptions, bind, serve};
use occasionali_runtime::shutdown;
use occasionali_runtime::testing::{Engine, TestDb};
use occasionali_runtime::{Identity, Principal, Profile};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tonic::Request;
use tonic::transport::Channel;

const WORKERS: usize = 100_000;
const COMPANIES: usize = 20_000;
const ROWS_PER_STATEMENT: usize = 500;
const STATEMENTS_PER_TXN: usize = 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn ora() -> DateTime<Utc> {
    "2026-06-15T10:00:00Z".parse().unwrap()
}

/// A partita IVA from its first ten digits, with its check digit.
fn piva(n: u64) -> String {
    let digits = format!("{n:010}");
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

struct Persona {
    cf: String,
    cognome: String,
    nome: String,
    nascita: NaiveDate,
    sesso: Sesso,
}

/// `n` distinct workers with valid codici fiscali.
fn lavoratori(n: usize) -> Vec<Persona> {
    const COGNOMI: [&str; 8] = [
        "Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito", "Romano", "Colombo",
    ];
    const NOMI: [(&str, Sesso); 4] = [
        ("Luca", Sesso::M),
        ("Giulia", Sesso::F),
        ("Marco", Sesso::M),
        ("Sara", Sesso::F),
    ];
    let base = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
    (0..n)
        .map(|i| {
            let cognome = COGNOMI[i % COGNOMI.len()];
            let (nome, sesso) = NOMI[(i / COGNOMI.len()) % NOMI.len()];
            let nascita = base
                .checked_add_days(Days::new((i / (COGNOMI.len() * NOMI.len())) as u64))
                .unwrap();
            let cf = cf::genera(&DatiAnagrafici {
                cognome: cognome.into(),
                nome: nome.into(),
                data_nascita: nascita,
                sesso,
                luogo_nascita: "H501".into(),
            });
            Persona {
                cf: cf.as_str().into(),
                cognome: cognome.to_uppercase(),
                nome: nome.to_uppercase(),
                nascita,
                sesso,
            }
        })
        .collect()
}

fn contenuto(committente: &str, w: &Persona, inizio: NaiveDate, cents: i64) -> Contenuto {
    Contenuto {
        committente: Committente {
            cf: committente.into(),
            denominazione: format!("Impresa {committente} SRL"),
            comune_istat: "015146".into(),
            indirizzo: "Via Torino 10".into(),
            cap: "20123".into(),
            email: "amministrazione@example.it".into(),
        },
        lavoratore: Lavoratore {
            cf: w.cf.clone(),
            cognome: w.cognome.clone(),
            nome: w.nome.clone(),
            data_nascita: w.nascita,
            sesso: w.sesso,
            luogo_nascita: "H501".into(),
            cittadinanza: "IT".into(),
            identificazione: Identificazione::Documento(Documento {
                tipo: TipoDocumento::CartaIdentita,
                numero: "CA12345AB".into(),
                rilasciato_da: "Comune di Roma".into(),
                data_rilascio: NaiveDate::from_ymd_opt(2021, 3, 1).unwrap(),
                data_scadenza: NaiveDate::from_ymd_opt(2031, 3, 1).unwrap(),
            }),
            domicilio: Domicilio::Italia {
                comune_istat: "058091".into(),
                indirizzo: "Via Garibaldi 1".into(),
                cap: "00184".into(),
            },
        },
        rapporto: Rapporto {
            data_inizio: inizio,
            durata: Durata::Giorni15,
            descrizione: "Manutenzione straordinaria impianto elettrico".into(),
            compenso_stimato: Euro::from_cents(cents),
            luoghi_lavoro: vec![LuogoLavoro {
                comune_istat: "058091".into(),
                indirizzo: "Via dei Fori Imperiali 1".into(),
                cap: "00186".into(),
            }],
        },
    }
}

/// Bulk load of `rows` P communications spread over the workers and companies.
async fn seed(
    db: &sea_orm::DatabaseConnection,
    rows: usize,
    workers: &[Persona],
    companies: &[String],
) -> Duration {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(42);
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut done = 0;
    while done < rows {
        let txn = occasionali_runtime::db::begin_write(db).await.unwrap();
        if db.get_database_backend() == DbBackend::Sqlite {
            // The default 2 MiB page cache thrashes on six random-key indexes of a
            // million rows: give the loading connection 256 MiB.
            txn.execute_unprepared("PRAGMA cache_size = -262144")
                .await
                .unwrap();
        }
        for _ in 0..STATEMENTS_PER_TXN {
            let n = ROWS_PER_STATEMENT.min(rows - done);
            if n == 0 {
                break;
            }
            let batch: Vec<(Comunicazione, String)> = (0..n)
                .map(|_| {
                    let w = &workers[rng.random_range(0..workers.len())];
                    let company = &companies[rng.random_range(0..companies.len())];
                    let inizio = start
                        .checked_add_days(Days::new(rng.random_range(0..900)))
                        .unwrap();
                    let invio = Invio {
                        compilatore_cf: company.clone(),
                        compilatore_email: "compilatore@example.it".into(),
                        ora: ora(),
                        oggi: inizio,
                    };
                    let c = Comunicazione::preventiva(
                        contenuto(company, w, inizio, rng.random_range(0..300_000)),
                        invio,
                        CodiceComunicazione::genera(&mut rng),
                    );
                    let origine = c.codice().to_string();
                    (c, origine)
                })
                .collect();
            store::inserisci_molti(&txn, &batch).await.unwrap();
            done += n;
        }
        txn.commit().await.unwrap();
        if done % 100_000 == 0 {
            eprintln!(
                "  seeded {done} rows ({:.0} rows/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn request<T>(tokens: &InternalTokens, identity: &Identity, m: T) -> Request<T> {
    let mut r = Request::new(m);
    let token = tokens.mint(identity, Context::Comunicazioni).unwrap();
    r.metadata_mut().insert(IDENTITY_HEADER, token.parse().unwrap());
    r
}

fn identity(profile: Profile, cf: &str) -> Identity {
    Identity::new(Principal {
        cf: cf.into(),
        profile,
        sede: None,
    })
}

fn insert_request(w: &Persona, company: &str) -> pb::InsertComunicazioneRequest {
    pb::InsertComunicazioneRequest {
        request_id: String::new(),
        committente: Some(pb::Committente {
            codice_fiscale: company.to_string(),
            denominazione: "Officine Meccaniche Lombarde SpA".into(),
            comune: "F205".into(),
            indirizzo: "Via Torino 10".into(),
            cap: "20123".into(),
            email: "amministrazione@oml.example.it".into(),
        }),
        lavoratore: Some(pb::Lavoratore {
            codice_fiscale: w.cf.clone(),
            cognome: w.cognome.clone(),
            nome: w.nome.clone(),
            data_nascita: w.nascita.to_string(),
            sesso: match w.sesso {
                Sesso::M => pb::Sesso::M,
                Sesso::F => pb::Sesso::F,
            } as i32,
            luogo_nascita: "H501".into(),
            cittadinanza: "IT".into(),
            identificazione: Some(pb::lavoratore::Identificazione::Documento(
                pb::DocumentoIdentita {
                    tipo: pb::TipoDocumento::CartaIdentita as i32,
                    numero: "CA12345AB".into(),
                    rilasciato_da: "Comune di Roma".into(),
                    data_rilascio: "2021-03-01".into(),
                    data_scadenza: "2031-03-01".into(),
                },
            )),
            domicilio: Some(pb::Domicilio {
                luogo: Some(pb::domicilio::Luogo::Italia(pb::DomicilioItalia {
                    comune: "058091".into(),
                    indirizzo: "Via Garibaldi 1".into(),
                    cap: "00184".into(),
                })),
            }),
        }),
        rapporto: Some(pb::Rapporto {
            data_inizio: "2026-06-20".into(),
            durata: pb::DurataRapporto::Giorni15 as i32,
            data_fine: String::new(),
            descrizione: "Manutenzione straordinaria impianto elettrico".into(),
            compenso_stimato: "350.00".into(),
            luoghi_lavoro: vec![pb::LuogoLavoro {
                comune: "058091".into(),
                indirizzo: "Via dei Fori Imperiali 1".into(),
                cap: "00186".into(),
            }],
        }),
        compilatore_email: "compilatore@example.it".into(),
    }
}

/// Sends `n` P from `clients` concurrent clients; inserts per second.
async fn sends(
    channel: &Channel,
    tokens: &InternalTokens,
    workers: &Arc<Vec<Persona>>,
    companies: &Arc<Vec<String>>,
    n: usize,
    clients: usize,
) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = ComunicazioniServiceClient::new(channel.clone());
        let (tokens, workers, companies) = (tokens.clone(), workers.clone(), companies.clone());
        let count = n / clients + usize::from(c < n % clients);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(c as u64);
            for _ in 0..count {
                let w = &workers[rng.random_range(0..workers.len())];
                let company = &companies[rng.random_range(0..companies.len())];
                let id = identity(Profile::SoggettoAbilitato, "BRNFNC70B02H501C");
                client
                    .insert_comunicazione(request(&tokens, &id, insert_request(w, company)))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// `n` searches by committente or by worker (as a DG operator, first page of 50).
async fn searches(
    channel: &Channel,
    tokens: &InternalTokens,
    keys: &[String],
    by_committente: bool,
    n: usize,
) -> (Duration, Duration, f64) {
    let mut client = ComunicazioniServiceClient::new(channel.clone());
    let id = identity(Profile::OperatoreDg, "NRELSN68C12H501Z");
    let mut rng = StdRng::seed_from_u64(7);
    let mut lat = Vec::with_capacity(n);
    let mut found = 0usize;
    for _ in 0..n {
        let key = keys[rng.random_range(0..keys.len())].clone();
        let r = if by_committente {
            pb::SearchComunicazioniRequest {
                committente_cf: key,
                ..Default::default()
            }
        } else {
            pb::SearchComunicazioniRequest {
                lavoratore_cf: key,
                ..Default::default()
            }
        };
        let t = Instant::now();
        let res = client
            .search_comunicazioni(request(tokens, &id, r))
            .await
            .unwrap();
        lat.push(t.elapsed());
        found += res.into_inner().comunicazioni.len();
    }
    lat.sort();
    (
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        found as f64 / n as f64,
    )
}

async fn query_plan(db: &sea_orm::DatabaseConnection, column: &str, key: &str) -> String {
    let (sql, explain) = match db.get_database_backend() {
        DbBackend::Postgres => (
            format!("EXPLAIN SELECT seq FROM comunicazioni WHERE {column} = $1 ORDER BY seq DESC LIMIT 51"),
            "QUERY PLAN",
        ),
        _ => (
            format!(
                "EXPLAIN QUERY PLAN SELECT seq FROM comunicazioni WHERE {column} = ? ORDER BY seq DESC LIMIT 51"
            ),
            "detail",
        ),
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            &sql,
            vec![key.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .filter_map(|r| r.try_get::<String>("", explain).ok())
        .collect::<Vec<_>>()
        .join(" / ")
}

async fn run(engine: Engine, rows: usize, inserts: usize, n_searches: usize) {
    let Some(t) = TestDb::new::<Migrator>(engine, "comunicazioni").await.unwrap() else {
        return;
    };
    println!("== {engine:?}: {rows} communications");
    let workers = Arc::new(lavoratori(WORKERS));
    let companies: Arc<Vec<String>> = Arc::new((0..COMPANIES).map(|i| piva(1_000_000 + i as u64)).collect());
    let took = seed(&t.db, rows, &workers, &companies).await;
    println!(
        "seed (bulk, {ROWS_PER_STATEMENT} rows per INSERT, {} per transaction): {:.1} s, {:.0} rows/s",
        ROWS_PER_STATEMENT * STATEMENTS_PER_TXN,
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64()
    );
    if t.engine == Engine::Postgres {
        t.db.execute_unprepared("ANALYZE comunicazioni").await.unwrap();
    }
    println!(
        "plan by committente: {}",
        query_plan(&t.db, "committente_cf", &companies[0]).await
    );
    println!(
        "plan by worker:      {}",
        query_plan(&t.db, "lavoratore_cf", &workers[0].cf).await
    );

    // The gateway's key signs the clients' calls, as in production (issue 14).
    let tokens =
        occasionali_runtime::testing::tokens_di_prova(occasionali_runtime::firme::Firmatario::Gateway);
    let deps = ContextDeps {
        db: t.db.clone(),
        clock: Arc::new(FixedClock::at(ora())),
        tokens: occasionali_runtime::testing::tokens_di_prova(Context::Comunicazioni),
        // Nobody listens there: only an azienda profile asks the registry.
        endpoints: HashMap::from([(
            occasionali_runtime::context::Context::Anagrafica,
            "http://127.0.0.1:9".to_string(),
        )]),
        relay: None,
    };
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, signal) = shutdown::channel();
    let server = tokio::spawn(serve(
        listener,
        ServeOptions {
            name: "comunicazioni-bench".into(),
            services: vec!["occasionali.comunicazioni.v1.ComunicazioniService".into()],
            drain: Duration::ZERO,
            tls: None,
        },
        occasionali_comunicazioni::routes(deps).unwrap(),
        signal,
    ));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    let one = sends(&channel, &tokens, &workers, &companies, inserts, 1).await;
    println!("InsertComunicazione, 1 client:   {one:.0} inserts/s");
    let eight = sends(&channel, &tokens, &workers, &companies, inserts, 8).await;
    println!("InsertComunicazione, 8 clients:  {eight:.0} inserts/s");

    let cfs: Vec<String> = workers.iter().map(|w| w.cf.clone()).collect();
    let (p50, p99, avg) = searches(&channel, &tokens, &companies, true, n_searches).await;
    println!(
        "SearchComunicazioni by committente CF: p50 {:.2} ms, p99 {:.2} ms ({avg:.1} rows per page)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    let (p50, p99, avg) = searches(&channel, &tokens, &cfs, false, n_searches).await;
    println!(
        "SearchComunicazioni by worker CF:      p50 {:.2} ms, p99 {:.2} ms ({avg:.1} rows per page)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    trigger.trigger();
    let _ = server.await;
    t.close().await.unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes --bench; run as a test (`cargo test --benches`) it is a smoke run.
    let bench = std::env::args().any(|a| a == "--bench");
    let (rows, inserts, n_searches) = if bench {
        (
            env_usize("LAO_BENCH_ROWS", 1_000_000),
            env_usize("LAO_BENCH_INSERTS", 2_000),
            env_usize("LAO_BENCH_SEARCHES", 1_000),
        )
    } else {
        (2_000, 50, 50)
    };
    run(Engine::Sqlite, rows, inserts, n_searches).await;
    run(Engine::Postgres, rows, inserts, n_searches).await;
}
