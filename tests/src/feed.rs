//! A day of the F24 payments feed through the gateway (POR-2), shared by the end-to-end test and
//! the benchmark: companies to credit, the records, and a sender that writes every record as
//! its own HTTP/2 DATA frame, as gRPC clients in Go and Java do (the shape that used to exhaust
//! the backend's small-frame budget, issue 12).

use chrono::NaiveDate;
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_runtime::identity::Profile;
use tonic::Request;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::Cluster;

/// Every record credits 1.00 to one of these companies' CPO wallets.
pub const IMPORTO: &str = "1.00";

/// A request carrying `token` as its bearer.
pub fn with<T>(token: &str, msg: T) -> anyhow::Result<Request<T>> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(r)
}

/// A valid partita IVA: 7-digit matricola, office 015, check digit.
pub fn partita_iva(i: usize) -> String {
    let base = format!("{:07}015", 3_000_000 + i);
    let sum: u32 = base
        .chars()
        .enumerate()
        .map(|(k, c)| {
            let d = c.to_digit(10).unwrap_or_default();
            if k % 2 == 0 {
                d
            } else {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            }
        })
        .sum();
    format!("{base}{}", (10 - sum % 10) % 10)
}

fn legale_rappresentante(i: usize) -> anyhow::Result<String> {
    let nascita = NaiveDate::from_ymd_opt(1950, 1, 1).ok_or_else(|| anyhow::anyhow!("date"))?
        + chrono::Duration::days(i as i64 * 37);
    Ok(cf::genera(&DatiAnagrafici {
        cognome: "Fontana".into(),
        nome: "Laura".into(),
        data_nascita: nascita,
        sesso: Sesso::F,
        luogo_nascita: "H501".into(),
    })
    .as_str()
    .to_string())
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
        let piva = partita_iva(i);
        let token = c.token(Profile::Azienda, &piva, None)?;
        anagrafica
            .register_utilizzatore(with(
                &token,
                ana::RegisterUtilizzatoreRequest {
                    tipo: ana::TipoUtilizzatore::Cpo as i32,
                    organizzazione: Some(ana::Organizzazione {
                        codice_fiscale: piva.clone(),
                        denominazione: format!("Ristorante {i} srl"),
                        legale_rappresentante_cf: legale_rappresentante(i)?,
                    }),
                    domicilio: Some(ana::Domicilio {
                        comune: "H501".into(),
                        indirizzo: "Via Appia 1".into(),
                        cap: "00179".into(),
                        ..Default::default()
                    }),
                    contatti: Some(ana::Contatti {
                        cellulare: "+393331234567".into(),
                        email: "azienda@example.it".into(),
                    }),
                    categoria: ana::CategoriaUtilizzatore::Impresa as i32,
                    ateco: "56.10.11".into(),
                    dipendenti_tempo_indeterminato: 3,
                    ..Default::default()
                },
            )?)
            .await?;
        aziende.push((piva, token));
    }
    Ok(aziende)
}

/// Record `i` of a day: payment id `<giorno>-<i>`, 1.00 from company `i % aziende.len()`.
pub fn record(giorno: &str, i: usize, aziende: &[(String, String)]) -> por::RecordF24 {
    por::RecordF24 {
        id_pagamento: format!("{giorno}-{i:07}"),
        modello: por::ModelloF24::Elide as i32,
        codice_fiscale_versante: aziende[i % aziende.len()].0.clone(),
        tipo: "I".into(),
        codice_tributo: por::CodiceTributo::Cloc as i32,
        anno: 2026,
        importo: IMPORTO.into(),
        riferimento_a: String::new(),
        riferimento_b: String::new(),
        data_versamento: "2026-03-02".into(),
    }
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
