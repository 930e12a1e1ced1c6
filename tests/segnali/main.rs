//! Signals to run the cluster by (issue 14, point 4), captured as a collector would: the cluster
//! exports to a real OTLP/gRPC receiver on loopback (the collector's own trace and metrics
//! services, from `opentelemetry-proto`), and its log lines are read back from the writer the
//! process logs to. One test, as the tracing subscriber and the OpenTelemetry providers are
//! installed once per process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use occasionali_e2e::Cluster;
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};
use occasionali_runtime::config::{Config, LogFormat};
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{Profile, mask};
use occasionali_runtime::telemetry;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use serde_json::{Value, json};

const ANAGRAFICA: &str = "occasionali.anagrafica.v1.AnagraficaService";
const IBAN: &str = "IT60X0542811101000000123456";

/// What the receiver was sent.
#[derive(Clone, Default)]
struct Ricevuto {
    spans: Arc<Mutex<Vec<Span>>>,
    metrics: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Ricevuto {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Ricevuto {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.metrics.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Ricevuto {
    async fn avvia() -> anyhow::Result<(Ricevuto, SocketAddr)> {
        let ricevuto = Ricevuto::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(ricevuto.clone()))
            .add_service(MetricsServiceServer::new(ricevuto.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        Ok((ricevuto, addr))
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }

    /// Every data point's attributes of metric `name`, across every export so far.
    fn punti(&self, name: &str) -> Vec<Vec<KeyValue>> {
        let mut punti = Vec::new();
        for r in self.metrics.lock().unwrap().iter() {
            for rm in &r.resource_metrics {
                for sm in &rm.scope_metrics {
                    for m in sm.metrics.iter().filter(|m| m.name == name) {
                        match &m.data {
                            Some(Data::Histogram(h)) => {
                                punti.extend(h.data_points.iter().map(|p| p.attributes.clone()))
                            }
                            Some(Data::Gauge(g)) => {
                                punti.extend(g.data_points.iter().map(|p| p.attributes.clone()))
                            }
                            Some(Data::Sum(s)) => {
                                punti.extend(s.data_points.iter().map(|p| p.attributes.clone()))
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        punti
    }
}

fn attributo<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn intero(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attributo(attributes, key)? {
        any_value::Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

fn testo(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attributo(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// The log output, shared with the writer the subscriber logs to.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn testo(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn righe(&self) -> Vec<Value> {
        self.testo()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn codice_fiscale(cognome: &str, nome: &str, nascita: &str, luogo: &str) -> String {
    let dati = DatiAnagrafici {
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: NaiveDate::parse_from_str(nascita, "%Y-%m-%d").unwrap(),
        sesso: Sesso::M,
        luogo_nascita: luogo.into(),
    };
    cf::genera(&dati).as_str().to_string()
}

/// Waits until `ok` holds for what was received, flushing the process's exporters each time.
async fn attendi(ricevuto: &Ricevuto, what: &str, mut ok: impl FnMut() -> bool) {
    let since = Instant::now();
    loop {
        telemetry::flush();
        if ok() {
            return;
        }
        let spans: Vec<String> = ricevuto
            .spans()
            .iter()
            .map(|s| {
                format!(
                    "{} kind={} port={:?} code={:?}",
                    s.name,
                    s.kind,
                    intero(&s.attributes, "network.local.port"),
                    intero(&s.attributes, "rpc.grpc.status_code")
                )
            })
            .collect();
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "not received within 30 s: {what}; spans: {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spans_metrics_and_request_lines_of_calls_through_the_gateway() -> anyhow::Result<()> {
    let (ricevuto, otlp) = Ricevuto::avvia().await?;
    let log = Log::default();
    let mut config = Config::default();
    config.telemetry.otlp_endpoint = Some(format!("http://{otlp}"));
    config.log.format = LogFormat::Json;
    config.log.filter = "info".into();
    let scrittore = log.clone();
    telemetry::init_with_writer(&config, "dev", move || scrittore.clone())?;

    // A Wednesday in June: a prestazione on Friday is in the future, with notice.
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let mario = codice_fiscale("Rossi", "Mario", "1999-04-12", "H501");
    let t_mario = c.token(Profile::Prestatore, &mario, None)?;

    // OK: a prestatore registers itself (anagrafica's event then goes through the relay).
    let persona = json!({
        "codice_fiscale": mario, "cognome": "Rossi", "nome": "Mario",
        "data_nascita": "1999-04-12", "sesso": "SESSO_M", "luogo_nascita": "H501",
    });
    let o = g
        .call(
            Some(&t_mario),
            &format!("{ANAGRAFICA}/RegisterPrestatore"),
            &json!({
                "persona": persona,
                "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
                "contatti": {"cellulare": "+393331234567", "email": "prestatore@example.it"},
                "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": IBAN},
                "categorie": [{"tipo": "TIPO_CATEGORIA_STUDENTE", "validita": {"dal": "2026-01-01", "al": "2026-12-31"}}]
            }),
        )
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    // PERMISSION_DENIED: a prestatore reads someone else.
    let altro = codice_fiscale("Verdi", "Luca", "1980-02-03", "F205");
    let o = g
        .call(
            Some(&t_mario),
            &format!("{ANAGRAFICA}/GetSoggetto"),
            &json!({"codice_fiscale": altro}),
        )
        .await?;
    assert_ne!(o.code, 0, "{}", o.stdout);
    // NOT_FOUND: the DG reads a subject nobody registered.
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let o = g
        .call(
            Some(&dg),
            &format!("{ANAGRAFICA}/GetSoggetto"),
            &json!({"codice_fiscale": altro}),
        )
        .await?;
    assert_ne!(o.code, 0, "{}", o.stdout);

    // The saga: a company funds its wallet and inserts a prestazione for Mario (PENDING, then
    // ACCEPTED once portafoglio reserved the cost).
    let azienda = c.token(Profile::Azienda, "00743110157", None)?;
    let legale = codice_fiscale("Neri", "Paolo", "1970-05-06", "F205");
    let o = g
        .call(
            Some(&azienda),
            &format!("{ANAGRAFICA}/RegisterUtilizzatore"),
            &json!({"tipo": "TIPO_UTILIZZATORE_CPO",
                    "organizzazione": {"codice_fiscale": "00743110157", "denominazione": "Trattoria srl", "legale_rappresentante_cf": legale},
                    "domicilio": {"comune": "F205", "indirizzo": "Corso Como 1", "cap": "20154"},
                    "categoria": "CATEGORIA_UTILIZZATORE_IMPRESA", "ateco": "56.10.11", "dipendenti_tempo_indeterminato": 3}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let flusso = c.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?;
    let o = g
        .call(
            Some(&flusso),
            "occasionali.portafoglio.v1.PortafoglioService/ImportF24",
            &json!({"record": {"id_pagamento": "F24-SEGNALI-1", "modello": "MODELLO_F24_ELIDE", "codice_fiscale_versante": "00743110157",
                "tipo": "I", "codice_tributo": "CODICE_TRIBUTO_CLOC", "anno": 2026, "importo": "500.00", "data_versamento": "2026-06-09"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = g
        .call(
            Some(&azienda),
            "occasionali.prestazioni.v1.PrestazioniService/InsertPrestazione",
            &json!({"request_id": "r-1", "prestazione": {
                "tipo": "TIPO_PRESTAZIONE_CPO", "utilizzatore_cf": "00743110157", "prestatore_cf": mario,
                "luogo": {"comune": "F205", "indirizzo": "Corso Como 1"},
                "cpo": {"descrizione": "servizio ai tavoli", "inizio": "2026-06-12T07:00:00Z", "fine": "2026-06-12T11:00:00Z"},
                "compenso": "36.00", "dichiarazioni": {"appalto": false, "rapporto_lavoro_recente": false}}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");

    let gateway_port = i64::from(c.gateway.port());
    let anagrafica_port = i64::from(c.backends[&Context::Anagrafica].port());
    let server_spans = |name: &str, port: i64| -> Vec<Span> {
        ricevuto
            .spans()
            .into_iter()
            .filter(|s| {
                s.name == name
                    && s.kind == span::SpanKind::Server as i32
                    && intero(&s.attributes, "network.local.port") == Some(port)
            })
            .collect()
    };
    let register = format!("{ANAGRAFICA}/RegisterPrestatore");
    let get = format!("{ANAGRAFICA}/GetSoggetto");
    attendi(
        &ricevuto,
        "server spans of both calls on the gateway and on anagrafica",
        || {
            server_spans(&register, gateway_port).len() == 1
                && server_spans(&register, anagrafica_port).len() == 1
                && server_spans(&get, gateway_port).len() == 2
                // (portafoglio calls it too, OK, for the company's F24: not counted)
            && server_spans(&get, anagrafica_port)
                .iter()
                .filter(|s| intero(&s.attributes, "rpc.grpc.status_code") != Some(0))
                .count()
                == 2
        },
    )
    .await;

    // Named by RPC, with the status code; one trace from the gateway into the context.
    let sul_gateway = &server_spans(&register, gateway_port)[0];
    let in_anagrafica = &server_spans(&register, anagrafica_port)[0];
    for s in [sul_gateway, in_anagrafica] {
        assert_eq!(intero(&s.attributes, "rpc.grpc.status_code"), Some(0), "{s:?}");
        assert_eq!(testo(&s.attributes, "rpc.system").as_deref(), Some("grpc"));
        assert_eq!(testo(&s.attributes, "rpc.service").as_deref(), Some(ANAGRAFICA));
        assert_eq!(
            testo(&s.attributes, "rpc.method").as_deref(),
            Some("RegisterPrestatore")
        );
        assert_ne!(
            s.status.as_ref().map(|st| st.code),
            Some(status::StatusCode::Error as i32)
        );
    }
    assert_eq!(
        sul_gateway.trace_id, in_anagrafica.trace_id,
        "one trace across the hop"
    );
    assert_ne!(in_anagrafica.parent_span_id, Vec::<u8>::new());

    let mut codici: Vec<i64> = server_spans(&get, anagrafica_port)
        .iter()
        .filter_map(|s| intero(&s.attributes, "rpc.grpc.status_code"))
        .filter(|c| *c != 0)
        .collect();
    codici.sort();
    // NOT_FOUND (5) and PERMISSION_DENIED (7), on the context and as the gateway passed them on.
    assert_eq!(codici, vec![5, 7]);
    let mut codici: Vec<i64> = server_spans(&get, gateway_port)
        .iter()
        .filter_map(|s| intero(&s.attributes, "rpc.grpc.status_code"))
        .collect();
    codici.sort();
    assert_eq!(codici, vec![5, 7]);

    // The relay's delivery of the registration's event: a client span named by the RPC, parent
    // of the subscriber's server span; and the gateway's hop, a client span named by the RPC.
    let ingest = "occasionali.notifiche.v1.NotificheInternalService/IngestEvents";
    attendi(&ricevuto, "the relay's client span", || {
        ricevuto
            .spans()
            .iter()
            .any(|s| s.name == ingest && s.kind == span::SpanKind::Client as i32)
    })
    .await;
    let spans = ricevuto.spans();
    let cliente = spans
        .iter()
        .find(|s| s.name == ingest && s.kind == span::SpanKind::Client as i32)
        .unwrap();
    assert_eq!(intero(&cliente.attributes, "rpc.grpc.status_code"), Some(0));
    assert!(
        spans.iter().any(|s| s.name == ingest
            && s.kind == span::SpanKind::Server as i32
            && s.parent_span_id == cliente.span_id
            && s.trace_id == cliente.trace_id),
        "the subscriber's server span is a child of the relay's client span"
    );
    assert!(
        spans.iter().any(|s| s.name == register
            && s.kind == span::SpanKind::Client as i32
            && s.trace_id == sul_gateway.trace_id),
        "the gateway's hop is a client span named by the RPC"
    );

    // No span for health checks (the gateway polls every backend's health) nor reflection
    // (grpcurl asked for it at each call), and no span still named `grpc`.
    let spans = ricevuto.spans();
    assert!(
        !spans.iter().any(|s| s.name.starts_with("grpc.health")
            || s.name.starts_with("grpc.reflection")
            || s.name == "grpc"),
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );

    // RED: the duration histogram by service, method and status code.
    attendi(&ricevuto, "rpc.server.duration with the calls' codes", || {
        let punti = ricevuto.punti("rpc.server.duration");
        [0, 5, 7].iter().all(|code| {
            punti.iter().any(|p| {
                intero(p, "rpc.grpc.status_code") == Some(*code)
                    && testo(p, "rpc.service").as_deref() == Some(ANAGRAFICA)
                    && testo(p, "rpc.system").as_deref() == Some("grpc")
            })
        })
    })
    .await;
    assert!(
        !ricevuto
            .punti("rpc.server.duration")
            .iter()
            .any(|p| testo(p, "rpc.service").is_some_and(|s| s.starts_with("grpc.health"))),
        "health checks are not measured"
    );

    // The relay's levels per context, its deliveries (the registration's event), the saga's
    // backlog (prestazioni's recovery round) and steps, the pools, the relay's client calls.
    attendi(&ricevuto, "relay, saga, pool, client metrics", || {
        let pending = ricevuto.punti("occasionali.relay.pending");
        let lag = ricevuto.punti("occasionali.relay.lag");
        let consegne = ricevuto.punti("occasionali.relay.deliveries");
        let pool = ricevuto.punti("db.client.connection.count");
        let saga = ricevuto.punti("occasionali.prestazioni.saga.pending");
        let client = ricevuto.punti("rpc.client.duration");
        let transizioni = ricevuto.punti("occasionali.prestazioni.saga.transitions");
        pending
            .iter()
            .any(|p| testo(p, "context").as_deref() == Some("anagrafica"))
            && lag
                .iter()
                .any(|p| testo(p, "context").as_deref() == Some("anagrafica"))
            && consegne.iter().any(|p| {
                testo(p, "context").as_deref() == Some("anagrafica")
                    && testo(p, "outcome").as_deref() == Some("delivered")
            })
            && !saga.is_empty()
            && ["PENDING", "ACCEPTED"].iter().all(|st| {
                transizioni
                    .iter()
                    .any(|p| testo(p, "state").as_deref() == Some(*st))
            })
            && client.iter().any(|p| {
                testo(p, "rpc.method").as_deref() == Some("IngestEvents")
                    && intero(p, "rpc.grpc.status_code") == Some(0)
            })
            && pool.iter().any(|p| {
                testo(p, "db.client.connection.pool.name").as_deref() == Some("anagrafica")
                    && testo(p, "db.client.connection.state").as_deref() == Some("idle")
            })
    })
    .await;

    // One line per request: method, code, duration, trace id, the subject masked.
    let trace_id: String = in_anagrafica
        .trace_id
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let righe = log.righe();
    let richieste: Vec<&Value> = righe
        .iter()
        .filter(|r| r["target"] == "occasionali::richiesta")
        .collect();
    let registrazioni: Vec<&&Value> = richieste
        .iter()
        .filter(|r| r["fields"]["method"] == register.as_str())
        .collect();
    assert_eq!(
        registrazioni.len(),
        2,
        "gateway and anagrafica: {registrazioni:?}"
    );
    for r in &registrazioni {
        assert_eq!(r["level"], "INFO");
        assert_eq!(r["fields"]["code"], "OK");
        assert_eq!(r["fields"]["trace_id"], trace_id.as_str());
        assert_eq!(r["fields"]["subject"], mask(&mario).as_str(), "{r}");
        assert!(r["fields"]["duration_ms"].as_f64().is_some(), "{r}");
    }
    assert!(
        richieste
            .iter()
            .any(|r| r["fields"]["method"] == get.as_str() && r["fields"]["code"] == "PERMISSION_DENIED"),
        "{richieste:?}"
    );
    assert!(
        !richieste.iter().any(|r| r["fields"]["method"]
            .as_str()
            .is_some_and(|m| m.starts_with("grpc."))),
        "health and reflection are not logged per request"
    );
    // Other lines logged inside a request carry its trace id among their span's fields: anagrafica
    // logs "registered" while serving the registration.
    let registrato = righe
        .iter()
        .find(|r| r["fields"]["message"] == "registered")
        .expect("anagrafica's line for the registration");
    assert_eq!(registrato["span"]["trace_id"], trace_id.as_str(), "{registrato}");
    // Never a codice fiscale in clear, anywhere in the log.
    let testo_log = log.testo();
    assert!(!testo_log.contains(&mario), "{testo_log}");
    assert!(!testo_log.contains(&altro), "{testo_log}");
    assert!(!testo_log.contains(&legale), "{testo_log}");

    c.stop().await?;
    telemetry::shutdown();
    Ok(())
}
