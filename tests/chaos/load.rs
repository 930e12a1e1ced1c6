//! Seeding through the gateway, the client load (insert, revoke, contest; no client retry) and
//! the faults (SIGKILL and restart of prestazioni and portafoglio).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Datelike, TimeZone, Utc};
use occasionali::carico::{self, versamento};
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{Principal, Profile};
use occasionali_runtime::issuers::DevIssuer;
use occasionali_runtime::testing::persone::FLUSSO;
use tonic::transport::Channel;

use crate::cluster::Platform;

/// CPO companies funded (cents) well beyond what the load can spend.
const AZIENDE: usize = 10;
const FONDI_AZIENDA: i64 = 1_000_000 * 100;
/// One CPO company funded for five prestazioni only: its insertions are REJECTED (PRE-10) once
/// the funds are reserved, accepted again when a revoca releases some, and a contested revoca
/// may put it in debt (PRE-15).
const FONDI_SCARSI: i64 = 250 * 100;
/// Libretto Famiglia families, funded by pagoPA.
const FAMIGLIE: usize = 3;
const FONDI_FAMIGLIA: i64 = 100_000 * 100;
/// Workers. Slot k is utilizzatore k % U and prestatore (k / U) % P in year 2027 + k / (U × P):
/// every pair at most once a year, far from every annual limit (PRE-8) but the tight wallet.
const PRESTATORI: usize = 150;

/// Out of 100: how many accepted prestazioni are revoked, and how many revocations contested.
const REVOCA_PERCENT: u64 = 25;
const CONTESTA_PERCENT: u64 = 50;
/// A client's deadline on each call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failure other than a refusal, a client waits this long before its next (new) call,
/// so an outage is not thousands of instant UNAVAILABLEs.
const BACKOFF: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tipo {
    Cpo,
    Lf,
}

impl Tipo {
    /// The wallet type as portafoglio and prestazioni store it.
    pub fn code(self) -> &'static str {
        match self {
            Tipo::Cpo => "CPO",
            Tipo::Lf => "LF",
        }
    }
}

pub struct Utilizzatore {
    pub cf: String,
    pub tipo: Tipo,
    token: String,
    /// Cents credited to its wallet by the seeding.
    pub fondi: i64,
}

pub struct Fixture {
    pub utilizzatori: Vec<Utilizzatore>,
    prestatori: Vec<(String, String)>,
}

fn with<T>(token: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    r.set_timeout(CALL_TIMEOUT);
    r
}

fn euro(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

pub fn mint(tokens: &DevIssuer, profile: Profile, cf: &str) -> anyhow::Result<String> {
    let principal = Principal {
        cf: cf.to_string(),
        profile,
        sede: None,
    };
    Ok(tokens.mint(&principal, 3600)?)
}

/// Registers the utilizzatori and prestatori and funds the wallets, all through the gateway.
pub async fn seed(channel: Channel, tokens: &DevIssuer) -> anyhow::Result<Fixture> {
    let mut anagrafica = AnagraficaServiceClient::new(channel.clone());
    let mut portafoglio = PortafoglioServiceClient::new(channel);
    let mut utilizzatori = Vec::new();
    for i in 0..=AZIENDE {
        let piva = carico::partita_iva(2_000_000 + i);
        let token = mint(tokens, Profile::Azienda, &piva)?;
        let legale = carico::persona(200 + i).codice_fiscale;
        anagrafica
            .register_utilizzatore(with(
                &token,
                carico::azienda(&piva, format!("Trattoria {i} srl"), &legale),
            ))
            .await?;
        let fondi = if i == AZIENDE { FONDI_SCARSI } else { FONDI_AZIENDA };
        utilizzatori.push(Utilizzatore {
            cf: piva,
            tipo: Tipo::Cpo,
            token,
            fondi,
        });
    }
    for j in 0..FAMIGLIE {
        let p = carico::persona(230 + j);
        let cf = p.codice_fiscale.clone();
        let token = mint(tokens, Profile::Utilizzatore, &cf)?;
        anagrafica
            .register_utilizzatore(with(&token, carico::famiglia(p)))
            .await?;
        utilizzatori.push(Utilizzatore {
            cf,
            tipo: Tipo::Lf,
            token,
            fondi: FONDI_FAMIGLIA,
        });
    }
    let mut prestatori = Vec::with_capacity(PRESTATORI);
    for i in 0..PRESTATORI {
        let p = carico::persona(i);
        let cf = p.codice_fiscale.clone();
        let token = mint(tokens, Profile::Prestatore, &cf)?;
        anagrafica
            .register_prestatore(with(&token, carico::prestatore(p)))
            .await?;
        prestatori.push((cf, token));
    }

    // Deposits, as the payments feed sends them under its own identity (POR-2): F24 (CLOC) for
    // the companies, pagoPA for the families.
    let feed = mint(tokens, Profile::FlussoPagamenti, FLUSSO)?;
    let ieri = Utc::now() - chrono::Duration::days(1);
    let records: Vec<por::ImportF24Request> = utilizzatori
        .iter()
        .filter(|u| u.tipo == Tipo::Cpo)
        .enumerate()
        .map(|(i, u)| por::ImportF24Request {
            record: Some(versamento(
                format!("F24-CHAOS-{i}"),
                &u.cf,
                &euro(u.fondi),
                ieri.year(),
                &ieri.date_naive().to_string(),
            )),
        })
        .collect();
    let n = records.len() as i64;
    let r = portafoglio
        .import_f24(with(&feed, tonic::codegen::tokio_stream::iter(records)))
        .await?
        .into_inner();
    anyhow::ensure!(r.numero_accreditati == n, "F24 not all credited: {r:?}");
    for (j, u) in utilizzatori.iter().filter(|u| u.tipo == Tipo::Lf).enumerate() {
        let mut req = por::NotifyPagoPaRequest {
            id_pagamento: format!("PPA-CHAOS-{j}"),
            iuv: format!("{:017}", 1_000_000_000_000_000u64 + j as u64),
            codice_fiscale_versante: u.cf.clone(),
            tipo_portafoglio: por::TipoPortafoglio::LibrettoFamiglia as i32,
            importo: euro(u.fondi),
            pagato_il: Some(Default::default()),
        };
        if let Some(t) = req.pagato_il.as_mut() {
            t.seconds = ieri.timestamp();
        }
        let r = portafoglio.notify_pago_pa(with(&feed, req)).await?.into_inner();
        anyhow::ensure!(!r.duplicato, "pagoPA {j} a duplicate: {r:?}");
    }
    Ok(Fixture {
        utilizzatori,
        prestatori,
    })
}

impl Fixture {
    /// Slot `k`: who declares what (see [`PRESTATORI`]). CPO 09:00–13:00 Rome at 36.00 on a day
    /// of March; LF two hours of domestic work on the same day (titoli and compenso computed).
    fn slot(&self, k: u64) -> (usize, usize, pb::InsertPrestazioneRequest) {
        let k = k as usize;
        let nu = self.utilizzatori.len();
        let per_anno = nu * self.prestatori.len();
        let anno = 2027 + (k / per_anno) as i32;
        let j = k % per_anno;
        let u = j % nu;
        let p = j / nu;
        let giorno = 5 + (p % 20) as u32;
        let ut = &self.utilizzatori[u];
        let prestatore = &self.prestatori[p].0;
        let d = match ut.tipo {
            Tipo::Cpo => {
                let inizio = Utc
                    .with_ymd_and_hms(anno, 3, giorno, 8, 0, 0)
                    .single()
                    .unwrap_or_default();
                carico::cpo(&ut.cf, prestatore, inizio)
            }
            Tipo::Lf => carico::lf(&ut.cf, prestatore, format!("{anno}-03-{giorno:02}")),
        };
        (
            u,
            p,
            pb::InsertPrestazioneRequest {
                request_id: format!("chaos-{k}"),
                prestazione: Some(d),
            },
        )
    }
}

/// A deterministic die with 100 faces for slot `k`.
fn roll(k: u64, salt: u64) -> u64 {
    // splitmix64
    let mut z = k
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % 100
}

/// The state a client saw acknowledged ("ACCEPTED", "REVOKED", ...).
fn stato(p: &pb::Prestazione) -> String {
    pb::StatoPrestazione::try_from(p.stato)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("STATO_PRESTAZIONE_")
                .to_string()
        })
        .unwrap_or_else(|_| format!("?{}", p.stato))
}

/// Every call and every acknowledged write.
#[derive(Default)]
pub struct Journal {
    /// (method, gRPC code) → calls.
    pub calls: BTreeMap<(&'static str, String), u64>,
    /// Prestazione id → the last state a call acknowledged for it.
    pub acks: HashMap<String, String>,
    pub acked: BTreeMap<&'static str, u64>,
}

impl Journal {
    fn record<T>(
        &mut self,
        method: &'static str,
        r: &Result<tonic::Response<T>, tonic::Status>,
        prestazione: impl Fn(&T) -> Option<&pb::Prestazione>,
    ) {
        let code = match r {
            Ok(_) => "Ok".to_string(),
            Err(s) => format!("{:?}", s.code()),
        };
        *self.calls.entry((method, code)).or_default() += 1;
        if let Ok(r) = r
            && let Some(p) = prestazione(r.get_ref())
        {
            self.acks.insert(p.id.clone(), stato(p));
            *self.acked.entry(method).or_default() += 1;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether a failure deserves the back-off (anything but a business refusal).
fn guasto(s: &tonic::Status) -> bool {
    !matches!(
        s.code(),
        tonic::Code::FailedPrecondition | tonic::Code::InvalidArgument | tonic::Code::AlreadyExists
    )
}

async fn pausa_se_guasto<T>(r: &Result<T, tonic::Status>) {
    if let Err(s) = r
        && guasto(s)
    {
        tokio::time::sleep(BACKOFF).await;
    }
}

/// One client: inserts slot after slot until `until`; revokes some accepted prestazioni as the
/// utilizzatore and contests some revocations as the prestatore. No call is ever retried.
async fn client(
    channel: Channel,
    fx: Arc<Fixture>,
    next: Arc<AtomicU64>,
    until: Instant,
    journal: Arc<Mutex<Journal>>,
) {
    let mut c = PrestazioniServiceClient::new(channel);
    while Instant::now() < until {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let (u, p, req) = fx.slot(k);
        let r = c.insert_prestazione(with(&fx.utilizzatori[u].token, req)).await;
        lock(&journal).record("InsertPrestazione", &r, |x| x.prestazione.as_ref());
        pausa_se_guasto(&r).await;
        let Ok(r) = r else { continue };
        let Some(inserita) = r.into_inner().prestazione else {
            continue;
        };
        if inserita.stato != pb::StatoPrestazione::Accepted as i32 || roll(k, 1) >= REVOCA_PERCENT {
            continue;
        }
        let r = c
            .revoke_prestazione(with(
                &fx.utilizzatori[u].token,
                pb::RevokePrestazioneRequest {
                    prestazione_id: inserita.id.clone(),
                    motivo: "chaos: maltempo".into(),
                },
            ))
            .await;
        lock(&journal).record("RevokePrestazione", &r, |x| x.prestazione.as_ref());
        pausa_se_guasto(&r).await;
        if r.is_err() || roll(k, 2) >= CONTESTA_PERCENT {
            continue;
        }
        let r = c
            .contest_revoca(with(
                &fx.prestatori[p].1,
                pb::ContestRevocaRequest {
                    prestazione_id: inserita.id.clone(),
                    nota: "chaos: il lavoro è stato svolto".into(),
                },
            ))
            .await;
        lock(&journal).record("ContestRevoca", &r, |x| x.prestazione.as_ref());
        pausa_se_guasto(&r).await;
    }
}

/// `clients` clients, each on its own connection to the gateway, for `duration`.
pub async fn run_clients(
    url: &str,
    fx: Arc<Fixture>,
    clients: usize,
    duration: Duration,
    journal: Arc<Mutex<Journal>>,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let ch = Channel::from_shared(url.to_string())?.connect().await?;
        tasks.push(tokio::spawn(client(
            ch,
            fx.clone(),
            next.clone(),
            until,
            journal.clone(),
        )));
    }
    for t in tasks {
        t.await?;
    }
    Ok(())
}

/// One planned fault: at `at` after the load starts, SIGKILL `ctx`, restart it after `pause`.
pub struct Fault {
    pub at: Duration,
    pub ctx: Context,
    pub pause: Duration,
}

pub struct Kill {
    pub ctx: Context,
    pub at: Duration,
    pub pause: Duration,
    /// Kill to SERVING again, and the start attempts it took.
    pub back: Result<(Duration, u32), String>,
}

/// Executes the plan in order (a late restart delays the next fault).
pub async fn faults(platform: Arc<Platform>, start: Instant, plan: Vec<Fault>) -> Vec<Kill> {
    let mut out = Vec::new();
    for f in plan {
        tokio::time::sleep_until((start + f.at).into()).await;
        let at = start.elapsed();
        let killed = Instant::now();
        if let Err(e) = platform.kill(f.ctx.name()) {
            out.push(Kill {
                ctx: f.ctx,
                at,
                pause: f.pause,
                back: Err(format!("kill failed: {e}")),
            });
            continue;
        }
        tokio::time::sleep(f.pause).await;
        let back = match platform.restart(f.ctx).await {
            Ok(attempts) => Ok((killed.elapsed(), attempts)),
            Err(e) => Err(format!("{e:#}")),
        };
        eprintln!(
            "chaos: +{:.1} s killed {} (pause {:?}): {}",
            at.as_secs_f64(),
            f.ctx.name(),
            f.pause,
            match &back {
                Ok((d, n)) => format!("SERVING again after {:.1} s, {n} start(s)", d.as_secs_f64()),
                Err(e) => format!("NOT back: {e}"),
            }
        );
        out.push(Kill {
            ctx: f.ctx,
            at,
            pause: f.pause,
            back,
        });
    }
    out
}
