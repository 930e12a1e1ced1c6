//! Gateway latencies through the real cluster (issue: deleghe): what the DEL-2 delega check adds
//! to a call (CheckDelega, which records the use, on every on-behalf call) and the composite
//! position (DEL-3).
//! Run: `cargo bench -p occasionali-e2e --bench gateway` (SQLite, debug or release as built).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use occasionali_e2e::Cluster;
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::deleghe as del;
use occasionali_proto::deleghe::deleghe_service_client::DelegheServiceClient;
use occasionali_proto::gateway as gw;
use occasionali_proto::gateway::posizione_service_client::PosizioneServiceClient;
use occasionali_runtime::identity::Profile;
use tonic::Request;
use tonic::transport::Channel;

const N: usize = 1000;

fn with(
    token: &str,
    on_behalf: Option<&str>,
    msg: ana::GetSoggettoRequest,
) -> Request<ana::GetSoggettoRequest> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    if let Some(cf) = on_behalf {
        r.metadata_mut()
            .insert("x-occasionali-on-behalf-of", cf.parse().unwrap());
        r.metadata_mut()
            .insert("x-occasionali-ruolo", "intermediario_prestatore".parse().unwrap());
    }
    r
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name:<48} n={:<5} p50={:>8.3} ms  p99={:>8.3} ms",
        samples.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
}

async fn measure(
    client: &mut AnagraficaServiceClient<Channel>,
    token: &str,
    cf: &str,
    on_behalf: Option<&str>,
) -> Vec<Duration> {
    let mut out = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        client
            .get_soggetto(with(
                token,
                on_behalf,
                ana::GetSoggettoRequest {
                    codice_fiscale: cf.into(),
                },
            ))
            .await
            .unwrap();
        out.push(t.elapsed());
    }
    out
}

async fn run() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let channel = Channel::from_shared(format!("http://{}", c.gateway))?
        .connect()
        .await?;
    let mut ana_client = AnagraficaServiceClient::new(channel.clone());
    let cf = "RSSMRA85T10A562S";
    let consulente = occasionali_kernel::cf::genera(&occasionali_kernel::DatiAnagrafici {
        cognome: "Esposito".into(),
        nome: "Marco".into(),
        data_nascita: chrono::NaiveDate::from_ymd_opt(1970, 11, 20).unwrap(),
        sesso: occasionali_kernel::Sesso::M,
        luogo_nascita: "F839".into(),
    });
    let consulente = consulente.as_str();
    let t_p = c.token(Profile::Prestatore, cf, None)?;
    let t_c = c.token(Profile::Intermediario, consulente, None)?;
    let mut reg = Request::new(ana::RegisterPrestatoreRequest {
        persona: Some(ana::PersonaFisica {
            codice_fiscale: cf.into(),
            cognome: "Rossi".into(),
            nome: "Mario".into(),
            data_nascita: "1985-12-10".into(),
            sesso: ana::Sesso::M as i32,
            luogo_nascita: "A562".into(),
            ..Default::default()
        }),
        domicilio: Some(ana::Domicilio {
            comune: "H501".into(),
            indirizzo: "Via Appia 1".into(),
            cap: "00179".into(),
            ..Default::default()
        }),
        metodo_pagamento: Some(ana::MetodoPagamento {
            tipo: ana::TipoMetodoPagamento::BonificoDomiciliato as i32,
            iban: String::new(),
        }),
        ..Default::default()
    });
    reg.metadata_mut()
        .insert("authorization", format!("Bearer {t_p}").parse()?);
    ana_client.register_prestatore(reg).await?;
    let today = chrono::Utc::now().date_naive().to_string();
    let mut create = Request::new(del::CreateDelegaRequest {
        delegante_cf: cf.into(),
        delegato_cf: consulente.into(),
        ruolo: del::Ruolo::IntermediarioPrestatore as i32,
        validita: Some(occasionali_proto::common::Periodo {
            dal: today,
            al: String::new(),
        }),
        ..Default::default()
    });
    create
        .metadata_mut()
        .insert("authorization", format!("Bearer {t_p}").parse()?);
    DelegheServiceClient::new(channel.clone())
        .create_delega(create)
        .await?;

    // Warm up connections and caches.
    measure(&mut ana_client, &t_p, cf, None).await;
    let via_gateway = measure(&mut ana_client, &t_p, cf, None).await;
    // The same call at anagrafica itself, with the identity header the gateway would have
    // sent: the difference is what the gateway adds (issue 11: goal ≤ 0.3 ms at p50).
    let diretto = {
        let identity = occasionali_runtime::Identity::new(occasionali_runtime::Principal {
            profile: Profile::Prestatore,
            cf: cf.into(),
            sede: None,
        });
        let header = c.identity_token(&identity, occasionali_runtime::context::Context::Anagrafica)?;
        let backend = c.backends[&occasionali_runtime::context::Context::Anagrafica];
        let mut direct = AnagraficaServiceClient::new(
            Channel::from_shared(format!("http://{backend}"))?
                .connect()
                .await?,
        );
        let mut out = Vec::with_capacity(N);
        // Twice: the first round warms the connection up, the second is measured.
        for _ in 0..2 {
            out.clear();
            for _ in 0..N {
                let mut r = Request::new(ana::GetSoggettoRequest {
                    codice_fiscale: cf.into(),
                });
                r.metadata_mut()
                    .insert(occasionali_runtime::identity::IDENTITY_HEADER, header.parse()?);
                let t = Instant::now();
                direct.get_soggetto(r).await?;
                out.push(t.elapsed());
            }
        }
        out
    };
    let p50 = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    let aggiunto = p50(&via_gateway).as_secs_f64() - p50(&diretto).as_secs_f64();
    report("GetSoggetto through the gateway (subject itself)", via_gateway);
    report("GetSoggetto at anagrafica directly", diretto);
    println!("{:<48} p50 +{:.3} ms", "what the gateway adds", aggiunto * 1e3);
    report(
        "GetSoggetto on behalf (CheckDelega each)",
        measure(&mut ana_client, &t_c, cf, Some(cf)).await,
    );

    {
        let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
        let mut pos = PosizioneServiceClient::new(channel);
        let mut samples = Vec::with_capacity(200);
        for _ in 0..200 {
            let mut r = Request::new(gw::GetPosizioneRequest {
                codice_fiscale: cf.into(),
                ..Default::default()
            });
            r.metadata_mut()
                .insert("authorization", format!("Bearer {dg}").parse()?);
            let t = Instant::now();
            pos.get_posizione(r).await?;
            samples.push(t.elapsed());
        }
        report("GetPosizione (DEL-3 fan-out, 6 contexts)", samples);
    }
    c.stop().await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    println!("gateway latency, {N} sequential calls each, loopback, SQLite");
    run().await?;
    Ok(())
}
