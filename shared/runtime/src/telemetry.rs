//! Logs, traces and metrics: `tracing` everywhere, spans and metrics exported with
//! OpenTelemetry OTLP when an endpoint is configured, and W3C trace context carried across every
//! gRPC hop. What is measured is in [`crate::metriche`]; the per-request span, log line and
//! duration in [`crate::richiesta`].

use std::sync::OnceLock;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();
static METERS: OnceLock<SdkMeterProvider> = OnceLock::new();

/// Installs the global subscriber once per process. `service` names the process in traces.
pub fn init(config: &Config, service: &str) -> anyhow::Result<()> {
    init_with_writer(config, service, std::io::stdout)
}

/// As [`init`], with log lines written to `writer` (tests read them back).
pub fn init_with_writer<W>(config: &Config, service: &str, writer: W) -> anyhow::Result<()>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&config.log.filter)?;
    let fmt = match config.log.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .boxed(),
    };
    let otel = match &config.telemetry.otlp_endpoint {
        Some(endpoint) => {
            // Each replica is its own instance: without it, a collector's Prometheus exporter
            // would merge the replicas' series into one (its `instance` label).
            let instance = std::env::var("HOSTNAME")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(format!("occasionali-{service}"))
                .with_attribute(opentelemetry::KeyValue::new("service.instance.id", instance))
                .build();
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource.clone())
                .build();
            // Metrics beside the traces, to the same collector: read every
            // OTEL_METRIC_EXPORT_INTERVAL (60 s by default, the SDK's standard variable).
            let metrics = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()?;
            let meters = SdkMeterProvider::builder()
                .with_reader(PeriodicReader::builder(metrics).build())
                .with_resource(resource)
                .build();
            opentelemetry::global::set_meter_provider(meters.clone());
            let _ = METERS.set(meters);
            let tracer = provider.tracer("occasionali");
            opentelemetry::global::set_tracer_provider(provider.clone());
            let _ = PROVIDER.set(provider);
            Some(tracing_opentelemetry::layer().with_tracer(tracer))
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .ok();
    Ok(())
}

/// Flushes pending spans and metrics at shutdown.
pub fn shutdown() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.shutdown();
    }
    if let Some(m) = METERS.get() {
        let _ = m.shutdown();
    }
}

/// Exports what is pending now (spans, and the metrics as they stand), without stopping.
pub fn flush() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.force_flush();
    }
    if let Some(m) = METERS.get() {
        let _ = m.force_flush();
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// A server span for an incoming gRPC request to `service`/`method`, child of the caller's trace
/// context, named by the RPC as OpenTelemetry's RPC conventions say (`package.Service/Method`).
/// The span carries the method and the server's own address only: request bodies and metadata
/// hold personal data (GW-5). Its status code, trace id and (masked) subject are recorded later
/// by [`crate::richiesta`].
pub fn server_span<B>(request: &http::Request<B>, service: &str, method: &str) -> tracing::Span {
    // Which replica served the call (OpenTelemetry `network.local.*`): with several behind one
    // name (client-side balancing, issue 11) a trace says where a call went. The local socket
    // only: the peer's address would be a citizen's on the gateway.
    let local = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|i| i.local_addr());
    let span = tracing::info_span!(
        "grpc",
        otel.name = %format!("{service}/{method}"),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        network.local.address = local.map(|a| tracing::field::display(a.ip())),
        // i64: the OpenTelemetry layer exports a u64 field as text.
        network.local.port = local.map(|a| i64::from(a.port())),
        trace_id = tracing::field::Empty,
        subject = tracing::field::Empty,
    );
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
    let _ = span.set_parent(parent);
    span
}

/// The trace id of `span` (hex), when it is exported with OpenTelemetry.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// Writes the current span's trace context into outgoing headers.
pub fn inject_current(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut HeaderInjector(headers)));
}
