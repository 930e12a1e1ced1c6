//! The load tool (issue 11): `occasionali bench` drives a running cluster's gateway with a
//! chosen mix of client calls — insertions, what-ifs, headroom, registry reads, LAO
//! communications — from a population it registers and funds itself, at each number of
//! clients in turn, and reports per operation the calls, the successful calls per second, every
//! other answer by its gRPC code, and p50/p95/p99. The cargo bench
//! `tests/benches/prestazioni.rs` runs the same engine with insertions only.

mod miscela;
mod popolazione;
mod rapporto;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::comunicazioni::comunicazioni_service_client::ComunicazioniServiceClient;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::issuers::DevIssuer;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_types::StatusExt;

pub use miscela::{Dice, Mix, Operation};
pub use popolazione::{
    COMPANIES_PER_GROUP, ClockSource, FEED, MAX_COMPANIES, Population, Subject, WORKERS_PER_GROUP, Worker,
};
pub use rapporto::{Measure, Report, Step};

/// Each call's deadline: an answer later than this is DEADLINE_EXCEEDED, counted as such.
pub const CALL_DEADLINE: Duration = Duration::from_secs(10);
/// What the gateway's health must say before a run starts.
const HEALTH_DEADLINE: Duration = Duration::from_secs(5);

/// What a run does.
#[derive(Clone, Debug)]
pub struct Options {
    /// The gateway, `http://host:port`.
    pub gateway: String,
    /// The numbers of concurrent clients, one step each, in this order.
    pub clients: Vec<usize>,
    /// How long each step is measured.
    pub duration: Duration,
    /// How long each step runs, with the same clients, before it is measured.
    pub warm_up: Duration,
    pub mix: Mix,
    /// Companies (each group of [`COMPANIES_PER_GROUP`] brings [`WORKERS_PER_GROUP`] workers).
    pub population: usize,
    /// Fixes every client's choice of operations and subjects.
    pub seed: u64,
    /// With the seed, names the population: another run number, other subjects.
    pub run: u64,
}

impl Options {
    /// Seconds the run's tokens must live: the steps, and an hour for the preparation and the
    /// connections.
    fn token_ttl(&self) -> u64 {
        let steps = (self.duration + self.warm_up).as_secs() + 1;
        3_600 + steps * self.clients.len() as u64
    }
}

/// Runs `options` against its gateway, signing every caller's token with `tokens` (the
/// gateway's client key); `progress` hears what is being done.
pub async fn run(
    options: &Options,
    tokens: &DevIssuer,
    progress: &(dyn Fn(String) + Sync),
) -> anyhow::Result<Report> {
    anyhow::ensure!(!options.clients.is_empty(), "no number of clients to run");
    anyhow::ensure!(
        options.clients.iter().all(|n| (1..=100_000).contains(n)),
        "each number of clients is 1 to 100000: {:?}",
        options.clients
    );
    let setup = connect(&options.gateway).await?;
    serving(&setup, &options.gateway).await?;
    progress(format!(
        "preparing the population: {} compan{} and {} workers",
        options.population,
        if options.population == 1 { "y" } else { "ies" },
        options.population.div_ceil(COMPANIES_PER_GROUP) * WORKERS_PER_GROUP
    ));
    let population = Arc::new(
        Population::prepare(
            &setup,
            tokens,
            options.population,
            options.seed,
            options.run,
            options.token_ttl(),
        )
        .await?,
    );
    progress(format!(
        "registered and funded in {:.1} s ({} identifiers skipped: the registry had them); \
         dates from {}: today {}, slots from {}",
        population.setup.as_secs_f64(),
        population.skipped,
        population.clock.describe(),
        population.today,
        population.first_year
    ));
    let shared = Shared {
        gateway: options.gateway.clone(),
        population: population.clone(),
        mix: options.mix.clone(),
        slot: Arc::new(AtomicU64::new(0)),
        lao: Arc::new(AtomicU64::new(0)),
    };
    let mut steps = Vec::with_capacity(options.clients.len());
    for (s, &n) in options.clients.iter().enumerate() {
        let seed = |phase: u64| [options.seed, s as u64, n as u64, phase];
        let warm_up = if options.warm_up.is_zero() {
            Measure::default()
        } else {
            let (ops, _) = shared.phase(n, options.warm_up, seed(0)).await?;
            Step::sum(ops.iter().map(|(_, m)| m))
        };
        let (operations, elapsed) = shared.phase(n, options.duration, seed(1)).await?;
        let step = Step {
            clients: n,
            elapsed,
            operations,
            warm_up,
        };
        let total = step.total();
        progress(format!(
            "{n} client{}: {} calls, {:.1} ok/s, {} not ok",
            if n == 1 { "" } else { "s" },
            total.calls,
            step.per_second(total.ok),
            total.calls - total.ok
        ));
        steps.push(step);
    }
    Ok(Report {
        gateway: options.gateway.clone(),
        seed: options.seed,
        run: options.run,
        mix: options.mix.clone(),
        duration: options.duration,
        warm_up: options.warm_up,
        companies: population.companies.len(),
        workers: population.workers.len(),
        skipped: population.skipped,
        setup: population.setup,
        clock: population.clock,
        today: population.today,
        first_year: population.first_year,
        steps,
    })
}

/// A connection of its own (each client has one, as separate client systems would).
async fn connect(gateway: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(gateway.to_string())
        .map_err(|e| anyhow::anyhow!("gateway address {gateway}: {e}"))?
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("connecting to the gateway {gateway}: {e}"))
}

/// The gateway must answer SERVING (every backend up) before a run means anything.
async fn serving(channel: &Channel, gateway: &str) -> anyhow::Result<()> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let mut request = tonic::Request::new(HealthCheckRequest::default());
    request.set_timeout(HEALTH_DEADLINE);
    let answer = HealthClient::new(channel.clone())
        .check(request)
        .await
        .map_err(|s| anyhow::anyhow!("health of the gateway {gateway}: {}", describe(&s)))?
        .into_inner();
    anyhow::ensure!(
        answer.status == ServingStatus::Serving as i32,
        "the gateway {gateway} is not SERVING (health status {}): a backend is down or starting",
        answer.status
    );
    Ok(())
}

/// What every client of a run shares: the population, the mix, and the counters that give each
/// insertion its own slot and each communication its own request id.
struct Shared {
    gateway: String,
    population: Arc<Population>,
    mix: Mix,
    slot: Arc<AtomicU64>,
    lao: Arc<AtomicU64>,
}

impl Shared {
    /// `n` clients, each on its own connection, calling for `duration`: each operation's
    /// measure and the time the phase took.
    async fn phase(
        &self,
        n: usize,
        duration: Duration,
        seed: [u64; 4],
    ) -> anyhow::Result<(Vec<(Operation, Measure)>, Duration)> {
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let channel = connect(&self.gateway).await?;
            clients.push(Client {
                prestazioni: PrestazioniServiceClient::new(channel.clone()),
                anagrafica: AnagraficaServiceClient::new(channel.clone()),
                comunicazioni: ComunicazioniServiceClient::new(channel),
                population: self.population.clone(),
                dice: Dice::from_parts(&[seed[0], seed[1], seed[2], seed[3], i as u64]),
                slot: self.slot.clone(),
                lao: self.lao.clone(),
            });
        }
        let started = Instant::now();
        let until = started + duration;
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|c| tokio::spawn(c.calls(self.mix.clone(), until)))
            .collect();
        let mut all: [Measure; 5] = Default::default();
        for t in tasks {
            for (total, m) in all.iter_mut().zip(t.await?) {
                total.merge(m);
            }
        }
        let elapsed = started.elapsed();
        let operations = Operation::ALL
            .into_iter()
            .zip(all)
            .filter(|(op, _)| self.mix.weight(*op) > 0)
            .map(|(op, mut m)| {
                m.finish();
                (op, m)
            })
            .collect();
        Ok((operations, elapsed))
    }
}

/// How one call ended.
pub(crate) enum Outcome {
    /// What the operation is for: an insertion ACCEPTED, a check admissible, an answer.
    Ok,
    /// Anything else, by key (a gRPC code and its ErrorInfo reason, a prestazione's state,
    /// NOT_ADMISSIBLE), with what the answer said and the wait it asked for (RetryInfo).
    NotOk {
        key: String,
        detail: String,
        wait: Option<Duration>,
    },
}

impl Outcome {
    fn status(s: &Status) -> Outcome {
        let details = s.get_error_details();
        let key = match details.error_info().map(|i| i.reason.as_str()) {
            Some(r) if !r.is_empty() => format!("{} {r}", code_name(s.code())),
            _ => code_name(s.code()).to_string(),
        };
        Outcome::NotOk {
            key,
            detail: mask_identifiers(s.message()),
            // The wait a refusal asks for (RetryInfo: the gateway's rate and load limits) is
            // kept before the client's next call, as the README asks of every client: a load
            // that retried at once would mostly measure its own refusals.
            wait: details
                .retry_info()
                .and_then(|r| r.retry_delay)
                .filter(|d| !d.is_zero()),
        }
    }
}

/// One client: its own connection and choices.
struct Client {
    prestazioni: PrestazioniServiceClient<Channel>,
    anagrafica: AnagraficaServiceClient<Channel>,
    comunicazioni: ComunicazioniServiceClient<Channel>,
    population: Arc<Population>,
    dice: Dice,
    slot: Arc<AtomicU64>,
    lao: Arc<AtomicU64>,
}

impl Client {
    /// Calls until `until`, one at a time, each operation drawn from `mix`.
    async fn calls(mut self, mix: Mix, until: Instant) -> [Measure; 5] {
        let mut out: [Measure; 5] = Default::default();
        while Instant::now() < until {
            let op = mix.pick(&mut self.dice);
            let t = Instant::now();
            let outcome = self.call(op).await;
            let elapsed = t.elapsed();
            let wait = match &outcome {
                Outcome::NotOk { wait, .. } => *wait,
                Outcome::Ok => None,
            };
            out[op.index()].record(outcome, elapsed);
            if let Some(wait) = wait {
                tokio::time::sleep(wait.min(until.saturating_duration_since(Instant::now()))).await;
            }
        }
        out
    }

    async fn call(&mut self, op: Operation) -> Outcome {
        let pop = self.population.clone();
        let companies = pop.companies.len() as u64;
        let company = self.dice.below(companies) as usize;
        let p = self.dice.below(WORKERS_PER_GROUP as u64) as usize;
        match op {
            Operation::Insert => {
                let k = self.slot.fetch_add(1, Ordering::Relaxed);
                let Some((subject, request)) = pop.insertion(k) else {
                    return not_ok("NO_SLOT", format!("slot {k} is past the calendar"));
                };
                match self
                    .prestazioni
                    .insert_prestazione(subject.request(request))
                    .await
                {
                    Ok(r) => {
                        let p = r.into_inner().prestazione.unwrap_or_default();
                        if p.stato == pb::StatoPrestazione::Accepted as i32 {
                            Outcome::Ok
                        } else {
                            let stato = pb::StatoPrestazione::try_from(p.stato)
                                .map(|s| s.as_str_name().trim_start_matches("STATO_PRESTAZIONE_"))
                                .unwrap_or("UNKNOWN_STATE");
                            not_ok(stato, mask_identifiers(&p.motivo_rifiuto))
                        }
                    }
                    Err(s) => Outcome::status(&s),
                }
            }
            Operation::Check => {
                let Some(dati) = pop.cpo(company, p, pop.first_year) else {
                    return not_ok("NO_SLOT", format!("no CPO for {}", pop.first_year));
                };
                let request = pb::CheckPrestazioneRequest {
                    prestazione: Some(dati),
                };
                let caller = &pop.companies[company];
                match self.prestazioni.check_prestazione(caller.request(request)).await {
                    Ok(r) => {
                        let r = r.into_inner();
                        if r.ammissibile {
                            Outcome::Ok
                        } else {
                            let first = r
                                .violazioni
                                .first()
                                .map(|v| format!("{}: {}", v.reason, mask_identifiers(&v.description)))
                                .unwrap_or_default();
                            not_ok("NOT_ADMISSIBLE", first)
                        }
                    }
                    Err(s) => Outcome::status(&s),
                }
            }
            Operation::Headroom => {
                let caller = &pop.companies[company];
                let request = pb::GetHeadroomRequest {
                    anno: pop.first_year,
                    prestatore_cf: pop.worker(company, p).subject.cf.clone(),
                    utilizzatore_cf: caller.cf.clone(),
                };
                answered(self.prestazioni.get_headroom(caller.request(request)).await)
            }
            Operation::Soggetto => {
                // A company or a worker reads its own record, half and half.
                let caller = if self.dice.below(2) == 0 {
                    &pop.companies[company]
                } else {
                    &pop.worker(company, p).subject
                };
                let request = ana::GetSoggettoRequest {
                    codice_fiscale: caller.cf.clone(),
                };
                answered(self.anagrafica.get_soggetto(caller.request(request)).await)
            }
            Operation::Lao => {
                let n = self.lao.fetch_add(1, Ordering::Relaxed);
                let request = pop.comunicazione(company, p, n);
                let caller = &pop.companies[company];
                answered(
                    self.comunicazioni
                        .insert_comunicazione(caller.request(request))
                        .await,
                )
            }
        }
    }
}

fn answered<T>(r: Result<tonic::Response<T>, Status>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(s) => Outcome::status(&s),
    }
}

fn not_ok(key: &str, detail: String) -> Outcome {
    Outcome::NotOk {
        key: key.to_string(),
        detail,
        wait: None,
    }
}

/// The canonical name of a gRPC code, as the table prints it.
pub fn code_name(code: Code) -> &'static str {
    occasionali_runtime::richiesta::nome(code)
}

/// A refusal as an operator reads it: code, ErrorInfo reason, message (identifiers masked).
pub fn describe(s: &Status) -> String {
    match Outcome::status(s) {
        Outcome::NotOk { key, detail, .. } => format!("{key}: {detail}"),
        Outcome::Ok => String::new(),
    }
}

/// `text` with every word shaped like a codice fiscale (16 letters and digits) or a partita IVA
/// (11 digits) masked: answers may name subjects, and personal data never reaches a log or a
/// report unmasked (GW-5).
pub fn mask_identifiers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let n = word.chars().count();
        let digits = word.chars().filter(char::is_ascii_digit).count();
        let looks_like_id = (n == 16 && digits > 0 && digits < 16) || (n == 11 && digits == 11);
        if looks_like_id {
            out.push_str(&occasionali_kernel::identita::mask(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A duration as the command line writes it: `10s`, `500ms`, `2m`, or bare seconds (`10`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration: write e.g. 10s, 500ms or 2m"))?;
    match unit.trim() {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" | "min" => Ok(Duration::from_secs(n.saturating_mul(60))),
        other => Err(format!(
            "\"{other}\" is not a unit of \"{s}\": write s, ms or m (e.g. 10s)"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_in_answers_are_masked() {
        assert_eq!(
            mask_identifiers("the registry does not hold RSSMRA85T10A562S for 00743110157."),
            "the registry does not hold RSS************S for 007*******7."
        );
        assert_eq!(mask_identifiers("PRE_8_LIMIT 2026"), "PRE_8_LIMIT 2026");
    }

    #[test]
    fn durations_as_the_command_line_writes_them() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("ten").unwrap_err().contains("not a duration"));
        assert!(parse_duration("10h").unwrap_err().contains("\"h\" is not a unit"));
    }
}
