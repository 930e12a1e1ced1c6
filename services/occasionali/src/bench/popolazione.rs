//! The population of one run of `occasionali bench`: companies and workers it registers itself
//! through the gateway, the companies' wallets funded by the payments feed, and the slots that
//! keep every insertion within the annual limits (PRE-8).
//!
//! A run's identifiers come from its seed and run number, in a space no real subject is in:
//! companies of a tax office no office has, people whose name codes are made of letters Italian
//! names are not made of. Whatever the cluster already holds is left alone: a candidate the
//! registry answers ALREADY_EXISTS for (someone real, or a previous run with the same seed and
//! run) is skipped and the next one taken, so the run only ever acts as the subjects it
//! registered itself.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use futures::StreamExt;
use occasionali_kernel::calendar::{rome_date, rome_local_to_utc_lenient};
use occasionali_kernel::identita::mask;
use occasionali_kernel::{Clock, Sesso, SystemClock};
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::comunicazioni as lao;
use occasionali_proto::gateway as gw;
use occasionali_proto::gateway::dev_clock_service_client::DevClockServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::identity::{Profile, client_principal};
use occasionali_runtime::issuers::DevIssuer;
use occasionali_runtime::testing::persone;
use tonic::Code;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use super::miscela::Dice;
use super::{CALL_DEADLINE, describe};
use crate::carico;

/// Companies that share one group of workers: a worker then works for at most 32 companies a
/// year, 32 × 36.00 = 1,152.00, under the prestatore's 5,000.00 (PRE-8).
pub const COMPANIES_PER_GROUP: usize = 32;
/// The workers of a group: a company employs each of them once a year, 250 × 36.00 = 9,000.00,
/// under the utilizzatore's 10,000.00 (PRE-8).
pub const WORKERS_PER_GROUP: usize = 250;
/// The most companies a run registers: its people's birth dates would run out past it.
pub const MAX_COMPANIES: usize = 2_000;
/// What the feed credits each company: some 20,000 insertions (36.00 and contributions each).
const FUNDS: &str = "1000000.00";
/// The payments feed's id for the funding (a `flusso_pagamenti` identity, POR-2), so a run's
/// credits are told apart from the real feeds' in the ledger.
pub const FEED: &str = "OCCASIONALI-BENCH";
/// Registrations under way at once while preparing.
const PARALLEL: usize = 16;
/// The funding stream's deadline: one call carries every company's record.
const FEED_DEADLINE: Duration = Duration::from_secs(120);

/// Letters that Italian surname and name codes are almost never made of alone: a run's people
/// have three of them in the surname code and three in the name code.
const RARE: [char; 5] = ['J', 'K', 'W', 'X', 'Y'];
/// A run's people are born on one of these days from 1940-01-01 (up to 1994: adults), a man and
/// a woman a day.
const BIRTH_DAYS: u64 = 20_000;
/// The first person index of the companies' legal representatives (never registered); the
/// workers' candidates come before it.
const LEGAL_REPRESENTATIVES: usize = 30_000;
/// Candidates a run may skip because the registry has them, beyond what it needs.
const MAX_SKIPPED: usize = 1_000;

/// Where a run's identifiers come from.
struct Space {
    tag: u64,
    office: usize,
    matricola: usize,
    surname: String,
    name: String,
    first_day: u64,
}

impl Space {
    fn new(seed: u64, run: u64) -> Space {
        let mut d = Dice::from_parts(&[seed, run]);
        let tag = d.roll();
        // The partita IVA's digits 8-10 name the tax office that issued it: the provinces'
        // offices are 001-100 and the special ones a handful (120, 121, 888, 999), so an office
        // in 700-799 has issued none and a run's company is never a real one.
        let office = 700 + d.below(100) as usize;
        let matricola = d.below(10_000_000) as usize;
        let mut rare = || RARE[d.below(RARE.len() as u64) as usize];
        let (s, n) = ([rare(), rare(), rare()], [rare(), rare(), rare()]);
        let lower = |c: char| c.to_ascii_lowercase();
        // Three consonants make the whole code (ANA-2); the vowels only make it pronounceable.
        let surname = format!("{}a{}e{}o", s[0], lower(s[1]), lower(s[2]));
        let name = format!("{}i{}a{}a", n[0], lower(n[1]), lower(n[2]));
        Space {
            tag,
            office,
            matricola,
            surname,
            name,
            first_day: d.below(BIRTH_DAYS),
        }
    }

    fn partita_iva(&self, i: usize) -> String {
        carico::partita_iva_di(self.matricola + i, self.office)
    }

    /// Person `i` of the run: same names, a birth date and sex of its own (distinct codici
    /// fiscali for i < 2 × BIRTH_DAYS), born in Rome.
    fn persona(&self, i: usize) -> anyhow::Result<ana::PersonaFisica> {
        let day = (self.first_day + (i / 2) as u64) % BIRTH_DAYS;
        let born = NaiveDate::from_ymd_opt(1940, 1, 1)
            .and_then(|d| d.checked_add_days(Days::new(day)))
            .context("a birth date")?;
        let sesso = if i.is_multiple_of(2) { Sesso::M } else { Sesso::F };
        Ok(persone::persona(
            &self.surname,
            &self.name,
            &born.to_string(),
            sesso,
        ))
    }
}

/// A subject of the run, with the bearer token the gateway takes from it.
pub struct Subject {
    pub cf: String,
    bearer: MetadataValue<Ascii>,
}

impl Subject {
    fn new(tokens: &DevIssuer, cf: &str, profile: Profile, ttl: u64) -> anyhow::Result<Subject> {
        let principal = client_principal(cf, profile, None)?;
        let token = tokens.mint(&principal, ttl)?;
        Ok(Subject {
            cf: cf.to_string(),
            bearer: format!("Bearer {token}").parse()?,
        })
    }

    /// `msg` as this subject sends it, with the call's deadline.
    pub fn request<T>(&self, msg: T) -> tonic::Request<T> {
        self.request_within(msg, CALL_DEADLINE)
    }

    fn request_within<T>(&self, msg: T, deadline: Duration) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("authorization", self.bearer.clone());
        r.set_timeout(deadline);
        r
    }
}

/// A registered worker: the subject and the data a LAO communication repeats.
pub struct Worker {
    pub subject: Subject,
    pub persona: ana::PersonaFisica,
}

/// Which clock the run's dates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSource {
    /// `DevClockService/GetClock`: a development cluster, whose clock may be anywhere.
    Platform,
    /// This machine's: a production gateway serves no development clock.
    Machine,
}

impl ClockSource {
    pub fn describe(self) -> &'static str {
        match self {
            ClockSource::Platform => "the platform's development clock",
            ClockSource::Machine => "this machine's clock",
        }
    }
}

pub struct Population {
    space: Space,
    pub companies: Vec<Subject>,
    pub workers: Vec<Worker>,
    groups: usize,
    /// The platform's date (Rome) when the run started.
    pub today: NaiveDate,
    /// The year of the first slots: next year, so every slot is well after the CPO's notice
    /// (PRE-3) and inside one calendar year of limits.
    pub first_year: i32,
    pub clock: ClockSource,
    /// Candidates the registry already had.
    pub skipped: usize,
    pub setup: Duration,
}

impl Population {
    /// Registers `companies` CPO companies (and [`WORKERS_PER_GROUP`] workers per group of
    /// [`COMPANIES_PER_GROUP`]) through the gateway on `channel`, and funds each company's CPO
    /// wallet with an F24 of the payments feed. Tokens live `ttl` seconds.
    pub async fn prepare(
        channel: &Channel,
        tokens: &DevIssuer,
        companies: usize,
        seed: u64,
        run: u64,
        ttl: u64,
    ) -> anyhow::Result<Population> {
        anyhow::ensure!(
            (1..=MAX_COMPANIES).contains(&companies),
            "the population is 1 to {MAX_COMPANIES} companies, not {companies}"
        );
        let started = Instant::now();
        let space = Space::new(seed, run);
        let groups = companies.div_ceil(COMPANIES_PER_GROUP);
        let anagrafica = AnagraficaServiceClient::new(channel.clone());
        let short_tag = format!("{:06x}", space.tag >> 40);

        let (list, skipped_companies) = register(companies, |i| {
            let mut client = anagrafica.clone();
            let (space, short_tag) = (&space, &short_tag);
            async move {
                let piva = space.partita_iva(i);
                let subject = Subject::new(tokens, &piva, Profile::Azienda, ttl)?;
                let legale = space.persona(LEGAL_REPRESENTATIVES + i)?.codice_fiscale;
                let r = carico::azienda(&piva, format!("Carico {short_tag} n. {i} srl"), &legale);
                match client.register_utilizzatore(subject.request(r)).await {
                    Ok(_) => Ok(Some(subject)),
                    Err(s) if s.code() == Code::AlreadyExists => Ok(None),
                    Err(s) => anyhow::bail!("registering company {}: {}", mask(&piva), describe(&s)),
                }
            }
        })
        .await?;

        let (workers, skipped_workers) = register(groups * WORKERS_PER_GROUP, |i| {
            let mut client = anagrafica.clone();
            let space = &space;
            async move {
                anyhow::ensure!(
                    i < LEGAL_REPRESENTATIVES,
                    "the run's worker identifiers are used up"
                );
                let persona = space.persona(i)?;
                let subject = Subject::new(tokens, &persona.codice_fiscale, Profile::Prestatore, ttl)?;
                let r = carico::prestatore(persona.clone());
                match client.register_prestatore(subject.request(r)).await {
                    Ok(_) => Ok(Some(Worker { subject, persona })),
                    Err(s) if s.code() == Code::AlreadyExists => Ok(None),
                    Err(s) => anyhow::bail!(
                        "registering worker {}: {}",
                        mask(&persona.codice_fiscale),
                        describe(&s)
                    ),
                }
            }
        })
        .await?;

        let first = list.first().context("no company registered")?;
        let (now, clock) = platform_now(channel, first).await?;
        let today = rome_date(now);
        fund(channel, tokens, &space, &list, today, ttl).await?;
        Ok(Population {
            space,
            companies: list,
            workers,
            groups,
            today,
            first_year: primo_anno(today),
            clock,
            skipped: skipped_companies + skipped_workers,
            setup: started.elapsed(),
        })
    }

    /// The run's tag, in its request and payment ids.
    pub fn tag(&self) -> String {
        format!("{:016x}", self.space.tag)
    }

    /// Worker `p` (modulo [`WORKERS_PER_GROUP`]) of `company`'s group.
    pub fn worker(&self, company: usize, p: usize) -> &Worker {
        let group = company % self.groups;
        let i = group * WORKERS_PER_GROUP + p % WORKERS_PER_GROUP;
        // The workers are exactly groups × WORKERS_PER_GROUP, so `i` is always in range; the
        // modulo keeps the function total.
        &self.workers[i % self.workers.len()]
    }

    /// Insertion slot `k`: company k % N with worker (k / N) % 250 of its group, in year
    /// first_year + k / (N × 250), so every pair works once a year; 09:00-13:00 Rome on a day
    /// of March, 36.00. None past the calendar.
    pub fn insertion(&self, k: u64) -> Option<(&Subject, pb::InsertPrestazioneRequest)> {
        let n = self.companies.len() as u64;
        let per_year = n * WORKERS_PER_GROUP as u64;
        let year = i32::try_from(k / per_year).ok()?.checked_add(self.first_year)?;
        let j = k % per_year;
        let (company, p) = ((j % n) as usize, (j / n) as usize);
        let dati = self.cpo(company, p, year)?;
        Some((
            &self.companies[company],
            pb::InsertPrestazioneRequest {
                request_id: format!("bench-{}-{k}", self.tag()),
                prestazione: Some(dati),
            },
        ))
    }

    /// The CPO of `company` for its worker `p` in `year`: four hours from 09:00 Rome on March
    /// 5 + p % 20, 36.00 (PRE-3's daily minimum).
    pub fn cpo(&self, company: usize, p: usize, year: i32) -> Option<pb::DatiPrestazione> {
        let day = 5 + (p % 20) as u32;
        let start = NaiveDate::from_ymd_opt(year, 3, day)?.and_hms_opt(9, 0, 0)?;
        Some(carico::cpo(
            &self.companies.get(company)?.cf,
            &self.worker(company, p).subject.cf,
            rome_local_to_utc_lenient(start),
        ))
    }

    /// The `n`-th LAO communication of the run: `company` hires its worker `p` for 15 days from
    /// a week after today (LAO-3: not before the day it is sent).
    pub fn comunicazione(&self, company: usize, p: usize, n: u64) -> lao::InsertComunicazioneRequest {
        let w = &self.worker(company, p).persona;
        let day = |days: u64| {
            self.today
                .checked_add_days(Days::new(days))
                .unwrap_or(self.today)
                .to_string()
        };
        let issued = self
            .today
            .checked_sub_days(Days::new(365))
            .unwrap_or(self.today)
            .to_string();
        let committente = self
            .companies
            .get(company)
            .map(|c| c.cf.clone())
            .unwrap_or_default();
        let sesso = if w.sesso == ana::Sesso::F as i32 {
            lao::Sesso::F
        } else {
            lao::Sesso::M
        };
        lao::InsertComunicazioneRequest {
            request_id: format!("bench-{}-lao-{n}", self.tag()),
            // An azienda's own committente data are its registry record (LAO-1); these only
            // name it.
            committente: Some(lao::Committente {
                codice_fiscale: committente,
                denominazione: "Carico srl".into(),
                comune: "H501".into(),
                indirizzo: "Via Appia 1".into(),
                cap: "00179".into(),
                email: "carico@example.it".into(),
            }),
            lavoratore: Some(lao::Lavoratore {
                codice_fiscale: w.codice_fiscale.clone(),
                cognome: w.cognome.clone(),
                nome: w.nome.clone(),
                data_nascita: w.data_nascita.clone(),
                sesso: sesso as i32,
                luogo_nascita: w.luogo_nascita.clone(),
                cittadinanza: "IT".into(),
                identificazione: Some(lao::lavoratore::Identificazione::Documento(
                    lao::DocumentoIdentita {
                        tipo: lao::TipoDocumento::CartaIdentita as i32,
                        numero: "CA00000AA".into(),
                        rilasciato_da: "Comune di Roma".into(),
                        data_rilascio: issued,
                        data_scadenza: day(3650),
                    },
                )),
                domicilio: Some(lao::Domicilio {
                    luogo: Some(lao::domicilio::Luogo::Italia(lao::DomicilioItalia {
                        comune: "058091".into(),
                        indirizzo: "Via Garibaldi 1".into(),
                        cap: "00184".into(),
                    })),
                }),
            }),
            rapporto: Some(lao::Rapporto {
                data_inizio: day(7),
                durata: lao::DurataRapporto::Giorni15 as i32,
                data_fine: String::new(),
                descrizione: "Servizio ai tavoli per un evento".into(),
                compenso_stimato: "350.00".into(),
                luoghi_lavoro: vec![lao::LuogoLavoro {
                    comune: "058091".into(),
                    indirizzo: "Via dei Fori Imperiali 1".into(),
                    cap: "00186".into(),
                }],
            }),
            compilatore_email: "carico@example.it".into(),
        }
    }
}

/// Registers `needed` subjects from candidates 0, 1, 2… (`attempt(i)`: the subject, or None when
/// the registry already has candidate `i`), [`PARALLEL`] at a time, in rounds until enough are
/// registered. The subjects in candidate order, and how many candidates were skipped.
async fn register<T, F, Fut>(needed: usize, attempt: F) -> anyhow::Result<(Vec<T>, usize)>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let mut done: Vec<(usize, T)> = Vec::with_capacity(needed);
    let (mut next, mut skipped) = (0, 0);
    while done.len() < needed {
        anyhow::ensure!(
            skipped <= MAX_SKIPPED,
            "{skipped} of this run's identifiers are registered already: a run with the same \
             --seed and --run was made on this cluster; choose another --run"
        );
        let round = next..next + (needed - done.len());
        next = round.end;
        let mut answers = futures::stream::iter(round.map(|i| {
            let f = attempt(i);
            async move { (i, f.await) }
        }))
        .buffer_unordered(PARALLEL);
        while let Some((i, answer)) = answers.next().await {
            match answer? {
                Some(t) => done.push((i, t)),
                None => skipped += 1,
            }
        }
    }
    // Candidate order, whatever order the answers came in: slot k names the same pair in
    // every run of a seed.
    done.sort_by_key(|(i, _)| *i);
    Ok((done.into_iter().map(|(_, t)| t).collect(), skipped))
}

/// The platform's instant: its development clock when the gateway serves one (a dev cluster
/// may run at any date), else this machine's.
async fn platform_now(channel: &Channel, caller: &Subject) -> anyhow::Result<(DateTime<Utc>, ClockSource)> {
    let answer = DevClockServiceClient::new(channel.clone())
        .get_clock(caller.request(gw::GetClockRequest {}))
        .await;
    match answer {
        Ok(r) => {
            let t = r
                .into_inner()
                .clock
                .and_then(|c| c.now)
                .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
                .context("GetClock answered no instant")?;
            Ok((t, ClockSource::Platform))
        }
        Err(s) if s.code() == Code::Unimplemented => Ok((SystemClock.now(), ClockSource::Machine)),
        Err(s) => anyhow::bail!("reading the platform clock: {}", describe(&s)),
    }
}

/// One ImportF24 stream, as the payments feed sends it (POR-2), crediting [`FUNDS`] to every
/// company's CPO wallet; every record must be credited.
async fn fund(
    channel: &Channel,
    tokens: &DevIssuer,
    space: &Space,
    companies: &[Subject],
    today: NaiveDate,
    ttl: u64,
) -> anyhow::Result<()> {
    let feed = Subject::new(tokens, FEED, Profile::FlussoPagamenti, ttl)?;
    let records: Vec<_> = companies
        .iter()
        .map(|c| por::ImportF24Request {
            // The company's own id in the payment's: a company is registered by one run only,
            // so its payment id is new even when the run's tag is not.
            record: Some(carico::versamento(
                format!("BENCH-{:016x}-{}", space.tag, c.cf),
                &c.cf,
                FUNDS,
                today.year(),
                &today.to_string(),
            )),
        })
        .collect();
    let r = PortafoglioServiceClient::new(channel.clone())
        .import_f24(feed.request_within(tonic::codegen::tokio_stream::iter(records), FEED_DEADLINE))
        .await
        .map_err(|s| anyhow::anyhow!("funding the companies (ImportF24): {}", describe(&s)))?
        .into_inner();
    anyhow::ensure!(
        r.numero_accreditati == companies.len() as i64,
        "the feed credited {} of {} companies ({} duplicates, {} unmatched, {} discarded{})",
        r.numero_accreditati,
        companies.len(),
        r.numero_duplicati,
        r.numero_non_abbinati,
        r.numero_scartati,
        r.scartati
            .first()
            .map(|s| format!(": {}", super::mask_identifiers(&s.motivo)))
            .unwrap_or_default()
    );
    Ok(())
}

/// The first year of the insertion slots (March 5..24): this one while all of them are still
/// ahead (a day's margin over PRE-2's hour), as most real prestazioni fall in the year in force,
/// else the next one.
fn primo_anno(today: NaiveDate) -> i32 {
    match NaiveDate::from_ymd_opt(today.year(), 3, 4) {
        Some(limite) if today < limite => today.year(),
        _ => today.year() + 1,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use occasionali_kernel::{CodiceFiscale, PartitaIva};

    use super::*;

    #[test]
    fn a_runs_identifiers_are_valid_distinct_and_its_own() {
        let s = Space::new(1, 1_733_000_000);
        let pive: Vec<String> = (0..100).map(|i| s.partita_iva(i)).collect();
        for p in &pive {
            PartitaIva::parse(p).unwrap();
            let office: usize = p[7..10].parse().unwrap();
            assert!((700..800).contains(&office), "{p}");
        }
        let cfs: Vec<String> = (0..4_000).map(|i| s.persona(i).unwrap().codice_fiscale).collect();
        for cf in &cfs {
            let parsed = CodiceFiscale::parse(cf).unwrap();
            assert!(
                format!("{}{}", parsed.codice_cognome(), parsed.codice_nome())
                    .chars()
                    .all(|c| RARE.contains(&c)),
                "{cf}"
            );
        }
        let distinct: std::collections::HashSet<_> = cfs.iter().collect();
        assert_eq!(distinct.len(), cfs.len());
        // Another run names other people and companies.
        let t = Space::new(1, 1_733_000_001);
        assert_ne!(t.partita_iva(0), pive[0]);
        assert_ne!(t.persona(0).unwrap().codice_fiscale, cfs[0]);
        // The same seed and run, the same ones.
        assert_eq!(
            Space::new(1, 1_733_000_000).persona(7).unwrap().codice_fiscale,
            cfs[7]
        );
    }

    #[test]
    fn people_are_adults_born_in_rome() {
        let s = Space::new(9, 9);
        for i in [
            0,
            1,
            2 * BIRTH_DAYS as usize - 1,
            LEGAL_REPRESENTATIVES + MAX_COMPANIES,
        ] {
            let p = s.persona(i).unwrap();
            assert!(p.data_nascita.as_str() < "1995-01-01", "{}", p.data_nascita);
            assert_eq!(p.luogo_nascita, "H501");
        }
    }

    #[test]
    fn slots_stay_in_the_year_while_all_of_march_5_to_24_is_ahead() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        assert_eq!(primo_anno(d("2026-01-10")), 2026);
        assert_eq!(primo_anno(d("2026-03-03")), 2026);
        assert_eq!(primo_anno(d("2026-03-04")), 2027);
        assert_eq!(primo_anno(d("2026-12-03")), 2027);
    }
}
