//! Issue 14: the cluster with mutual TLS on every internal hop (gateway → context, context →
//! context, the relay), wired as `occasionali dev` / `serve` wire it from `[tls]`: every
//! context and the gateway on listeners of their own, one development CA. A normal call through
//! the gateway succeeds (registration crosses gateway → anagrafica over mTLS); the gateway sees
//! every backend SERVING through its mTLS health checks; a backend refuses a plaintext client.
//!
//! The process's client TLS is process-wide (`tls::install_client`): this is the only test of
//! this binary that turns it on. The other tests' clusters call http:// URLs, which never use it.

use occasionali_e2e::Cluster;
use occasionali_runtime::config::TlsConfig;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::Profile;
use occasionali_runtime::tls::dev::DevCa;
use serde_json::json;

use crate::persona;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_the_cluster_with_mutual_tls_between_processes_answers_a_normal_call() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("occasionali-e2e-tls-{}", std::process::id()));
    let ca = DevCa::new("e2e CA")?;
    // The default endpoints of a [tls] configuration are https://127.0.0.1:<port>.
    let files = ca
        .issue(&["127.0.0.1", "localhost"])?
        .write(&dir, "platform", Some(&ca.pem()))?;
    let c = Cluster::start_with(None, |config| {
        config.tls = TlsConfig {
            ca_file: files.ca.clone(),
            cert_file: Some(files.cert.clone()),
            key_file: Some(files.key.clone()),
            reload_every_seconds: None,
            health_listen: None,
        };
    })
    .await?;
    // Every backend SERVING as the gateway sees it: its health checks went over mTLS.
    c.wait_all_serving().await?;

    let g = c.grpcurl();
    let mario = persona("Verdi", "Mario", "1990-03-15", false, "H501");
    let t = c.token(Profile::Prestatore, &mario.cf, None)?;
    let body = json!({
        "persona": mario.json(),
        "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
        "contatti": {"cellulare": "+393331234567", "email": "prestatore@example.it"},
        "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"},
        "categorie": [{"tipo": "TIPO_CATEGORIA_STUDENTE", "validita": {"dal": "2026-01-01", "al": "2026-12-31"}}]
    });
    let o = g
        .call(
            Some(&t),
            "occasionali.anagrafica.v1.AnagraficaService/RegisterPrestatore",
            &body,
        )
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.json()?["soggetto"]["sede"], "RM");
    let o = g
        .call(
            Some(&t),
            "occasionali.anagrafica.v1.AnagraficaService/GetSoggetto",
            &json!({"codice_fiscale": mario.cf}),
        )
        .await?;
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);

    // A backend speaks only mutual TLS: grpcurl in plaintext gets no answer from it.
    let plain = c
        .grpcurl_backend(Context::Anagrafica)
        .call(None, "grpc.health.v1.Health/Check", &json!({}))
        .await?;
    assert_ne!(plain.code, 0, "{plain:?}");
    assert!(!plain.stdout.contains("SERVING"), "{plain:?}");

    c.stop().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
