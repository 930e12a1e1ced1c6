//! Issue 12, what a request may ask: amplifying requests are refused without the service
//! holding memory for them. The platform runs as its own process (`occasionali dev`, the real
//! binary) so its memory can be read from /proc; several rounds of requests that each used to
//! cost hundreds of MiB (ListPrestazioni with millions of `stati`: ~520 MiB each before issue 12)
//! are sent concurrently through the gateway, and the process's peak resident memory must not
//! grow by more than [`CRESCITA_MASSIMA`]. Measured (December 2026, this 2-core machine): the
//! build before issue 12 grew by 4,080 MiB and held it, in 91 s; now +13 MiB in 8-12 s.
//! `OCCASIONALI_E2E_BIN=<path to an occasionali binary>` measures another build.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use occasionali_proto::deleghe as del;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni as pre;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::config::Config;
use occasionali_runtime::context::Context;
use occasionali_runtime::env;
use occasionali_runtime::identity::{Principal, Profile};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

/// What the refused requests may add to the process's peak resident memory.
const CRESCITA_MASSIMA: u64 = 64 * 1024 * 1024;
/// Rounds of concurrent requests, and copies of each shape per round.
const GIRI: usize = 3;
const COPIE: usize = 3;
/// 3.8 M packed enum values: a 3.8 MB request, over the public 256 KiB message limit.
const VALORI_OLTRE_IL_LIMITE: usize = 3_800_000;
/// Under the message limit, far over any enum's cardinality.
const VALORI_SOTTO_IL_LIMITE: usize = 250_000;

/// `occasionali dev` in its own process and data directory; killed and removed on drop.
struct Piattaforma {
    child: Child,
    dir: PathBuf,
    gateway: String,
}

impl Drop for Piattaforma {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn porta_libera() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Piattaforma {
    async fn avvia() -> anyhow::Result<Piattaforma> {
        // OCCASIONALI_E2E_BIN measures another build (e.g. one from before issue 12).
        let bin = match std::env::var_os("OCCASIONALI_E2E_BIN") {
            Some(b) => PathBuf::from(b),
            None => tokio::task::spawn_blocking(occasionali_e2e::occasionali_binary).await??,
        };
        let dir = std::env::temp_dir().join(format!(
            "occasionali-limiti-{}-{}",
            std::process::id(),
            porta_libera()?
        ));
        std::fs::create_dir_all(&dir)?;
        let gateway = format!("127.0.0.1:{}", porta_libera()?);
        let mut cmd = Command::new(bin);
        cmd.arg("dev")
            .env(env::DATA_DIR, &dir)
            .env(env::GATEWAY_LISTEN, &gateway)
            .env(
                env::NOTIFICHE_WEB_LISTEN,
                format!("127.0.0.1:{}", porta_libera()?),
            )
            .env(env::LOG, "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("occasionali.log"))?);
        for ctx in Context::ALL {
            cmd.env(
                env::per_context(ctx.name(), "LISTEN"),
                format!("127.0.0.1:{}", porta_libera()?),
            );
        }
        let p = Piattaforma {
            child: cmd.spawn()?,
            dir,
            gateway,
        };
        p.attendi_serving(Duration::from_secs(90)).await?;
        Ok(p)
    }

    async fn attendi_serving(&self, limite: Duration) -> anyhow::Result<()> {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let inizio = Instant::now();
        loop {
            if let Ok(c) = Channel::from_shared(format!("http://{}", self.gateway))?
                .connect()
                .await
            {
                let r = HealthClient::new(c).check(HealthCheckRequest::default()).await;
                if matches!(r, Ok(r) if r.get_ref().status == ServingStatus::Serving as i32) {
                    return Ok(());
                }
            }
            anyhow::ensure!(
                inizio.elapsed() < limite,
                "occasionali dev not SERVING after {limite:?}: {}",
                std::fs::read_to_string(self.dir.join("occasionali.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn token(&self, profile: Profile, cf: &str) -> anyhow::Result<String> {
        let config = Config {
            data_dir: self.dir.clone(),
            ..Default::default()
        };
        Ok(occasionali::dev_issuer(&config)?.mint(
            &Principal {
                cf: cf.into(),
                profile,
                sede: None,
            },
            600,
        )?)
    }

    /// VmRSS and VmHWM (peak) of the process, in bytes.
    fn memoria(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let campo = |nome: &str| -> anyhow::Result<u64> {
            let riga = status
                .lines()
                .find(|l| l.starts_with(nome))
                .ok_or_else(|| anyhow::anyhow!("no {nome} in /proc status"))?;
            let kib: u64 = riga
                .split_whitespace()
                .nth(1)
                .ok_or_else(|| anyhow::anyhow!("malformed {riga}"))?
                .parse()?;
            Ok(kib * 1024)
        };
        Ok((campo("VmRSS:")?, campo("VmHWM:")?))
    }
}

fn bearer<T>(token: &str, message: T) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    r.set_timeout(Duration::from_secs(30));
    r
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// The code and ErrorInfo reason of an answer (OK as "").
fn esito<T>(r: Result<T, Status>) -> (Code, String) {
    match r {
        Ok(_) => (Code::Ok, String::new()),
        Err(s) => (
            s.code(),
            s.get_details_error_info()
                .map(|i| i.reason)
                .unwrap_or_else(|| s.message().chars().take(120).collect()),
        ),
    }
}

type Chiamata = std::pin::Pin<Box<dyn std::future::Future<Output = (&'static str, (Code, String))> + Send>>;

/// One round: every amplifying shape, `COPIE` of each, all at once.
async fn giro(
    channel: &Channel,
    prestatore: &str,
    dg: &str,
    cf: &str,
) -> Vec<(&'static str, (Code, String))> {
    let mut chiamate: Vec<Chiamata> = Vec::new();
    for _ in 0..COPIE {
        let (c, t) = (channel.clone(), prestatore.to_string());
        chiamate.push(Box::pin(async move {
            let r = PrestazioniServiceClient::new(c)
                .list_prestazioni(bearer(
                    &t,
                    pre::ListPrestazioniRequest {
                        stati: vec![pre::StatoPrestazione::Accepted as i32; VALORI_OLTRE_IL_LIMITE],
                        ..Default::default()
                    },
                ))
                .await;
            ("ListPrestazioni 3.8 MB", esito(r))
        }));
        let (c, t) = (channel.clone(), prestatore.to_string());
        chiamate.push(Box::pin(async move {
            let r = PrestazioniServiceClient::new(c)
                .list_prestazioni(bearer(
                    &t,
                    pre::ListPrestazioniRequest {
                        stati: vec![pre::StatoPrestazione::Accepted as i32; VALORI_SOTTO_IL_LIMITE],
                        ..Default::default()
                    },
                ))
                .await;
            ("ListPrestazioni 250 k stati", esito(r))
        }));
        let (c, t, cf) = (channel.clone(), prestatore.to_string(), cf.to_string());
        chiamate.push(Box::pin(async move {
            let r = DelegheServiceClient::new(c)
                .list_deleghe(bearer(
                    &t,
                    del::ListDelegheRequest {
                        delegante_cf: cf,
                        stati: vec![del::StatoDelega::Valida as i32; VALORI_SOTTO_IL_LIMITE],
                        ..Default::default()
                    },
                ))
                .await;
            ("ListDeleghe 250 k stati", esito(r))
        }));
        let (c, t) = (channel.clone(), dg.to_string());
        chiamate.push(Box::pin(async move {
            let r = PortafoglioServiceClient::new(c)
                .get_ledger_balance(bearer(
                    &t,
                    por::GetLedgerBalanceRequest {
                        tipi: vec![por::TipoConto::Incassi as i32; VALORI_SOTTO_IL_LIMITE],
                        ..Default::default()
                    },
                ))
                .await;
            ("GetLedgerBalance 250 k tipi", esito(r))
        }));
    }
    futures::future::join_all(chiamate).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_3_amplifying_requests_are_refused_without_holding_memory() -> anyhow::Result<()> {
    let p = Piattaforma::avvia().await?;
    let cf = crate::persona("Rossi", "Mario", "1985-12-10", false, "H501").cf;
    let prestatore = p.token(Profile::Prestatore, &cf)?;
    let dg = p.token(Profile::OperatoreDg, "DGXOPR70A01H501G")?;
    let channel = Channel::from_shared(format!("http://{}", p.gateway))?
        .connect()
        .await?;
    // Warm up: the same RPCs, well formed, until the process has its working set.
    for _ in 0..5 {
        let r = PrestazioniServiceClient::new(channel.clone())
            .list_prestazioni(bearer(
                &prestatore,
                pre::ListPrestazioniRequest {
                    stati: vec![pre::StatoPrestazione::Accepted as i32],
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(esito(r).0, Code::Ok);
        let r = PortafoglioServiceClient::new(channel.clone())
            .get_ledger_balance(bearer(
                &dg,
                por::GetLedgerBalanceRequest {
                    tipi: vec![por::TipoConto::Incassi as i32],
                    ..Default::default()
                },
            ))
            .await;
        assert_eq!(esito(r).0, Code::Ok);
    }
    let (rss_prima, picco_prima) = p.memoria()?;
    let inizio = Instant::now();
    let mut esiti = Vec::new();
    for _ in 0..GIRI {
        esiti.extend(giro(&channel, &prestatore, &dg, &cf).await);
    }
    let durata = inizio.elapsed();
    let (rss_dopo, picco_dopo) = p.memoria()?;
    eprintln!(
        "issue 12 memory: {} refused requests in {:.1} s; VmRSS {:.1} -> {:.1} MiB, VmHWM {:.1} -> {:.1} MiB (+{:.1} MiB)",
        esiti.len(),
        durata.as_secs_f64(),
        mib(rss_prima),
        mib(rss_dopo),
        mib(picco_prima),
        mib(picco_dopo),
        mib(picco_dopo.saturating_sub(picco_prima)),
    );
    assert!(
        picco_dopo.saturating_sub(picco_prima) < CRESCITA_MASSIMA,
        "peak memory grew by {:.1} MiB",
        mib(picco_dopo - picco_prima)
    );
    for (forma, (code, reason)) in &esiti {
        let atteso = if forma.ends_with("3.8 MB") {
            (Code::ResourceExhausted, "REQUEST_TOO_LARGE")
        } else {
            (Code::InvalidArgument, "REQUEST_TOO_MANY_VALUES")
        };
        assert_eq!((*code, reason.as_str()), atteso, "{forma}");
    }
    // Still serving, and serving well-formed calls.
    let r = PrestazioniServiceClient::new(channel.clone())
        .list_prestazioni(bearer(&prestatore, pre::ListPrestazioniRequest::default()))
        .await;
    assert_eq!(esito(r).0, Code::Ok);
    Ok(())
}

/// A feed's record over the per-message limit ends the stream with RESOURCE_EXHAUSTED
/// (REQUEST_TOO_LARGE) through the gateway, not tonic's OUT_OF_RANGE nor INTERNAL; the records
/// before it were imported (resending them is safe: their payment ids are the key).
#[tokio::test]
async fn gw_3_an_oversized_feed_record_is_resource_exhausted() -> anyhow::Result<()> {
    let cluster = occasionali_e2e::Cluster::start().await?;
    let token = cluster.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?;
    let channel = Channel::from_shared(format!("http://{}", cluster.gateway))?
        .connect()
        .await?;
    let record = |id: String| por::ImportF24Request {
        record: Some(por::RecordF24 {
            id_pagamento: id,
            ..Default::default()
        }),
    };
    let flusso = futures::stream::iter(vec![
        record("F24-LIMITI-1".into()),
        record("X".repeat(300 * 1024)),
    ]);
    let r = PortafoglioServiceClient::new(channel)
        .import_f24(bearer(&token, flusso))
        .await;
    let (code, reason) = esito(r);
    assert_eq!(
        (code, reason.as_str()),
        (Code::ResourceExhausted, "REQUEST_TOO_LARGE")
    );
    cluster.stop().await
}
