//! A day of the F24 payments feed through the gateway (POR-2), shared by the end-to-end test and
//! the benchmarks: companies to credit, the records, a caller reading beside the feed, and a
//! sender that writes every record as its own HTTP/2 DATA frame, as gRPC clients in Go and Java
//! do (the shape that used to exhaust the backend's small-frame budget, issue 12).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use occasionali::carico::{self, versamento};
use occasionali_kernel::Sesso;
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_runtime::identity::Profile;
use occasionali_runtime::testing::persone;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::{Cluster, with};

/// Every record credits 1.00 to one of these companies' CPO wallets.
pub const IMPORTO: &str = "1.00";

fn legale_rappresentante(i: usize) -> anyhow::Result<String> {
    let nascita = NaiveDate::from_ymd_opt(1950, 1, 1).ok_or_else(|| anyhow::anyhow!("date"))?
        + chrono::Duration::days(i as i64 * 37);
    Ok(persone::persona("Fontana", "Laura", &nascita.to_string(), Sesso::F).codice_fiscale)
}

/// Registers `n` CPO companies and returns their partite IVA, with each one's own token.
pub async fn registra_aziende(
    c: &Cluster,
    channel: Channel,
    n: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut anagrafica = AnagraficaServiceClient::new(channel);
    let mut aziende = Vec::with_capacity(n);
    for i in 0..n {
        let piva = carico::partita_iva(3_000_000 + i);
        let token = c.token(Profile::Azienda, &piva, None)?;
        let legale = legale_rappresentante(i)?;
        anagrafica
            .register_utilizzatore(with(
                &token,
                ana::RegisterUtilizzatoreRequest {
                    contatti: Some(ana::Contatti {
                        email: "azienda@example.it".into(),
                        ..persone::contatti()
                    }),
                    ..carico::azienda(&piva, format!("Ristorante {i} srl"), &legale)
                },
            )?)
            .await?;
        aziende.push((piva, token));
    }
    Ok(aziende)
}

/// Record `i` of a day: payment id `<giorno>-<i>`, 1.00 from company `i % aziende.len()`.
pub fn record(giorno: &str, i: usize, aziende: &[(String, String)]) -> por::RecordF24 {
    versamento(
        format!("{giorno}-{i:07}"),
        &aziende[i % aziende.len()].0,
        IMPORTO,
        2026,
        "2026-03-02",
    )
}

/// Sends `records` as one ImportF24 stream, one DATA frame per record: the producer hands the
/// client one record at a time, so the client never has two to put in one frame.
pub async fn invia(
    channel: Channel,
    token: &str,
    records: impl Iterator<Item = por::RecordF24> + Send + 'static,
) -> anyhow::Result<Result<por::ImportF24Response, tonic::Status>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let producer = tokio::spawn(async move {
        for r in records {
            if tx.send(por::ImportF24Request { record: Some(r) }).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    });
    let answer = PortafoglioServiceClient::new(channel)
        .max_decoding_message_size(4 * 1024 * 1024)
        .import_f24(with(token, ReceiverStream::new(rx))?)
        .await
        .map(tonic::Response::into_inner);
    producer.abort();
    Ok(answer)
}

/// The 2026 summary of `piva`'s CPO wallet.
pub fn riepilogo(piva: &str) -> por::GetRiepilogoRequest {
    por::GetRiepilogoRequest {
        portafoglio: Some(por::PortafoglioRef {
            utilizzatore_cf: piva.into(),
            tipo: por::TipoPortafoglio::Cpo as i32,
        }),
        anno: 2026,
    }
}

/// Reads `piva`'s wallet summary every 20 ms until `stop`, as a caller beside the feed; returns
/// every latency, or the first error.
pub async fn lettore(
    channel: Channel,
    token: String,
    piva: String,
    stop: Arc<AtomicBool>,
) -> Result<Vec<Duration>, String> {
    let mut client = PortafoglioServiceClient::new(channel);
    let mut latenze = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let request = with(&token, riepilogo(&piva)).map_err(|e| e.to_string())?;
        let t = Instant::now();
        client
            .get_riepilogo(request)
            .await
            .map_err(|s| format!("GetRiepilogo during the feed: {:?} {}", s.code(), s.message()))?;
        latenze.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(latenze)
}
