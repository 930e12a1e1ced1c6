//! What a run measured, and how it is written: a Markdown table ready for docs/benchmarks.md,
//! or JSON for machines.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::miscela::{Mix, Operation};
use super::popolazione::ClockSource;
use super::{CALL_DEADLINE, Outcome};

/// The calls of one operation (or of all) in one phase.
#[derive(Clone, Debug, Default)]
pub struct Measure {
    pub calls: u64,
    /// The calls that did what the operation is for (see [`Operation`]).
    pub ok: u64,
    /// Every other answer, by key: the gRPC code and its ErrorInfo reason
    /// (`RESOURCE_EXHAUSTED GW_RATE_LIMITED`), the state of a prestazione not accepted
    /// (`REJECTED`), `NOT_ADMISSIBLE` for a check that found a rule broken.
    pub not_ok: BTreeMap<String, u64>,
    /// What the first answer of each key said (identifiers masked).
    pub samples: BTreeMap<String, String>,
    /// The latencies of the ok calls, sorted.
    pub latencies: Vec<Duration>,
}

impl Measure {
    pub(crate) fn record(&mut self, outcome: Outcome, elapsed: Duration) {
        self.calls += 1;
        match outcome {
            Outcome::Ok => {
                self.ok += 1;
                self.latencies.push(elapsed);
            }
            Outcome::NotOk { key, detail, .. } => {
                self.samples.entry(key.clone()).or_insert(detail);
                *self.not_ok.entry(key).or_default() += 1;
            }
        }
    }

    pub(crate) fn merge(&mut self, other: Measure) {
        self.calls += other.calls;
        self.ok += other.ok;
        for (k, n) in other.not_ok {
            *self.not_ok.entry(k).or_default() += n;
        }
        for (k, s) in other.samples {
            self.samples.entry(k).or_insert(s);
        }
        self.latencies.extend(other.latencies);
    }

    pub(crate) fn finish(&mut self) {
        self.latencies.sort_unstable();
    }

    /// The latency under which a share `p` of the ok calls answered (nearest rank).
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let n = self.latencies.len();
        let i = ((n as f64 * p) as usize).min(n.checked_sub(1)?);
        self.latencies.get(i).copied()
    }
}

/// One number of clients: each operation measured over `elapsed`.
#[derive(Clone, Debug)]
pub struct Step {
    pub clients: usize,
    pub elapsed: Duration,
    /// The operations of the mix, in the order of [`Operation::ALL`].
    pub operations: Vec<(Operation, Measure)>,
    /// Every operation together during the warm-up (not in the table's numbers; its refusals
    /// are reported under it).
    pub warm_up: Measure,
}

impl Step {
    pub fn total(&self) -> Measure {
        Step::sum(self.operations.iter().map(|(_, m)| m))
    }

    pub(crate) fn sum<'a>(measures: impl Iterator<Item = &'a Measure>) -> Measure {
        let mut all = Measure::default();
        for m in measures {
            all.merge(m.clone());
        }
        all.finish();
        all
    }

    pub fn operation(&self, op: Operation) -> Option<&Measure> {
        self.operations.iter().find(|(o, _)| *o == op).map(|(_, m)| m)
    }

    /// `n` calls over the step's time.
    pub fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// A whole run: what it was asked, its population, each step.
#[derive(Clone, Debug)]
pub struct Report {
    pub gateway: String,
    pub seed: u64,
    pub run: u64,
    pub mix: Mix,
    pub duration: Duration,
    pub warm_up: Duration,
    pub companies: usize,
    pub workers: usize,
    pub skipped: usize,
    pub setup: Duration,
    pub clock: ClockSource,
    pub today: NaiveDate,
    pub first_year: i32,
    pub steps: Vec<Step>,
}

impl Report {
    /// The run as a paragraph and a table, to paste into docs/benchmarks.md.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "`occasionali bench --gateway {} --clients {} --duration {} --warm-up {} --mix {} \
             --population {} --seed {} --run {}`",
            self.gateway,
            self.steps
                .iter()
                .map(|st| st.clients.to_string())
                .collect::<Vec<_>>()
                .join(","),
            span(self.duration),
            span(self.warm_up),
            self.mix,
            self.companies,
            self.seed,
            self.run
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{} compan{} and {} workers registered and funded in {:.1} s; dates from {} ({}), \
             insertions from {} on. Each client its own HTTP/2 connection, one call at a time, \
             a {} deadline per call; {} warm-up, then {} per step. ok/s counts the calls that did \
             what they are for (an insertion ACCEPTED, a check admissible, an answer); the \
             latencies are theirs; every other answer is counted by its gRPC code and ErrorInfo \
             reason, or by the prestazione's state (REJECTED) or NOT_ADMISSIBLE.",
            self.companies,
            if self.companies == 1 { "y" } else { "ies" },
            self.workers,
            self.setup.as_secs_f64(),
            self.clock.describe(),
            self.today,
            self.first_year,
            prose(CALL_DEADLINE),
            prose(self.warm_up),
            prose(self.duration)
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| clients | operation | calls | ok/s | not ok, by code | p50 ms | p95 ms | p99 ms |"
        );
        let _ = writeln!(s, "|---:|---|---:|---:|---|---:|---:|---:|");
        for step in &self.steps {
            for (op, m) in &step.operations {
                row(&mut s, step, &format!("{op} ({})", op.rpc()), m);
            }
            if step.operations.len() > 1 {
                row(&mut s, step, "**all**", &step.total());
            }
        }
        let warm: Vec<String> = self
            .steps
            .iter()
            .filter(|st| st.warm_up.calls > st.warm_up.ok)
            .map(|st| format!("{} clients: {}", st.clients, codes(&st.warm_up)))
            .collect();
        if !warm.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "Not ok during the warm-ups: {}.", warm.join("; "));
        }
        s
    }

    /// The same as JSON.
    pub fn json(&self) -> Value {
        let measure = |step: &Step, m: &Measure| {
            let ms = |p: f64| m.percentile(p).map(|d| d.as_secs_f64() * 1e3);
            json!({
                "calls": m.calls,
                "ok": m.ok,
                "ok_per_second": step.per_second(m.ok),
                "not_ok": m.not_ok,
                "p50_ms": ms(0.50),
                "p95_ms": ms(0.95),
                "p99_ms": ms(0.99),
            })
        };
        json!({
            "gateway": self.gateway,
            "seed": self.seed,
            "run": self.run,
            "mix": self.mix.to_string(),
            "duration_s": self.duration.as_secs_f64(),
            "warm_up_s": self.warm_up.as_secs_f64(),
            "call_deadline_s": CALL_DEADLINE.as_secs_f64(),
            "population": {
                "companies": self.companies,
                "workers": self.workers,
                "skipped": self.skipped,
                "setup_s": self.setup.as_secs_f64(),
                "clock": self.clock.describe(),
                "today": self.today.to_string(),
                "first_year": self.first_year,
            },
            "steps": self.steps.iter().map(|st| json!({
                "clients": st.clients,
                "elapsed_s": st.elapsed.as_secs_f64(),
                "operations": st.operations.iter().map(|(op, m)| {
                    let mut v = measure(st, m);
                    v["operation"] = json!(op.name());
                    v["rpc"] = json!(op.rpc());
                    v
                }).collect::<Vec<_>>(),
                "all": measure(st, &st.total()),
                "warm_up_not_ok": st.warm_up.not_ok,
            })).collect::<Vec<_>>(),
        })
    }

    /// One line per kind of answer that was not ok, with what its first one said: where to
    /// start when a number looks wrong.
    pub fn samples(&self) -> Vec<String> {
        let mut out = Vec::new();
        for st in &self.steps {
            for (op, m) in &st.operations {
                for (key, detail) in &m.samples {
                    out.push(format!("{} clients, {op}: {key}: {detail}", st.clients));
                }
            }
            for (key, detail) in &st.warm_up.samples {
                out.push(format!("{} clients, warm-up: {key}: {detail}", st.clients));
            }
        }
        out
    }
}

fn row(s: &mut String, step: &Step, label: &str, m: &Measure) {
    let ms = |p: f64| m.percentile(p).map(millis).unwrap_or_else(|| "—".into());
    let _ = writeln!(
        s,
        "| {} | {label} | {} | {} | {} | {} | {} | {} |",
        step.clients,
        thousands(m.calls),
        rate(step.per_second(m.ok)),
        codes(m),
        ms(0.50),
        ms(0.95),
        ms(0.99)
    );
}

/// "RESOURCE_EXHAUSTED GW_RATE_LIMITED 12, REJECTED 1", or "—".
fn codes(m: &Measure) -> String {
    if m.not_ok.is_empty() {
        return "—".into();
    }
    m.not_ok
        .iter()
        .map(|(k, n)| format!("{k} {}", thousands(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(r: f64) -> String {
    let whole = r.trunc() as u64;
    let tenth = ((r - r.trunc()) * 10.0).round() as u64;
    // 12.96 rounds to 13.0, not 12.10.
    if tenth == 10 {
        format!("{}.0", thousands(whole + 1))
    } else {
        format!("{}.{tenth}", thousands(whole))
    }
}

/// Milliseconds with the digits that mean something: 0.42, 4.8, 245, 1,137.
fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        thousands(ms.round() as u64)
    }
}

/// A duration as the command line takes it back: 10s, 500ms.
fn span(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A duration in a sentence: 10 s, 500 ms.
fn prose(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn measure(ok_ms: &[u64], not_ok: &[(&str, u64)]) -> Measure {
        let mut m = Measure::default();
        for ms in ok_ms {
            m.record(Outcome::Ok, Duration::from_millis(*ms));
        }
        for (key, n) in not_ok {
            for _ in 0..*n {
                m.record(
                    Outcome::NotOk {
                        key: (*key).into(),
                        detail: "why".into(),
                        wait: None,
                    },
                    Duration::from_millis(1),
                );
            }
        }
        m.finish();
        m
    }

    #[test]
    fn percentiles_are_of_the_ok_calls_by_nearest_rank() {
        let m = measure(&(1..=100).rev().collect::<Vec<_>>(), &[("UNAVAILABLE", 5)]);
        assert_eq!(m.calls, 105);
        assert_eq!(m.percentile(0.50), Some(Duration::from_millis(51)));
        assert_eq!(m.percentile(0.99), Some(Duration::from_millis(100)));
        assert_eq!(Measure::default().percentile(0.5), None);
    }

    #[test]
    fn the_table_counts_every_answer_that_was_not_ok() {
        let step = Step {
            clients: 8,
            elapsed: Duration::from_secs(2),
            operations: vec![
                (Operation::Insert, measure(&[4, 5, 6], &[("REJECTED", 1)])),
                (
                    Operation::Soggetto,
                    measure(&[1], &[("RESOURCE_EXHAUSTED GW_RATE_LIMITED", 1_234)]),
                ),
            ],
            warm_up: measure(&[1], &[("UNAVAILABLE", 2)]),
        };
        let r = Report {
            gateway: "http://127.0.0.1:50051".into(),
            seed: 1,
            run: 7,
            mix: "insert=3,soggetto=1".parse().unwrap(),
            duration: Duration::from_secs(2),
            warm_up: Duration::from_millis(500),
            companies: 32,
            workers: 250,
            skipped: 0,
            setup: Duration::from_secs(3),
            clock: ClockSource::Machine,
            today: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            first_year: 2027,
            steps: vec![step],
        };
        let md = r.markdown();
        assert!(
            md.contains("--clients 8 --duration 2s --warm-up 500ms --mix insert=3,soggetto=1"),
            "{md}"
        );
        assert!(
            md.contains("| 8 | insert (InsertPrestazione) | 4 | 1.5 | REJECTED 1 | 5.00 | 6.00 | 6.00 |"),
            "{md}"
        );
        assert!(md.contains("RESOURCE_EXHAUSTED GW_RATE_LIMITED 1,234"), "{md}");
        assert!(md.contains("| 8 | **all** | 1,239 | 2.0 |"), "{md}");
        assert!(
            md.contains("Not ok during the warm-ups: 8 clients: UNAVAILABLE 2."),
            "{md}"
        );
        let j = r.json();
        assert_eq!(j["steps"][0]["operations"][0]["not_ok"]["REJECTED"], 1);
        assert_eq!(j["steps"][0]["all"]["calls"], 1_239);
        assert_eq!(r.samples().len(), 3);
    }

    #[test]
    fn numbers_as_the_docs_write_them() {
        assert_eq!(thousands(1_905), "1,905");
        assert_eq!(thousands(999), "999");
        assert_eq!(rate(12.96), "13.0");
        assert_eq!(rate(1_488.04), "1,488.0");
        assert_eq!(millis(Duration::from_micros(420)), "0.42");
        assert_eq!(millis(Duration::from_micros(16_300)), "16.3");
        assert_eq!(millis(Duration::from_millis(1_137)), "1,137");
    }
}
