//! The payments feeds at the edge (POR-2, issue 12): an ImportF24 stream read in batches, each
//! record decoded into the batch or kept as a discard, listed in the answer while there is room.

use occasionali_proto::portafoglio as pb;

use crate::decode;
use crate::store::scarti::Scarto;

/// Records of an ImportF24 stream written in one transaction at most: enough to spread a
/// commit's cost (an fsync on SQLite) over many records, few enough that the wallets a batch
/// locks wait a few milliseconds, not seconds (issue 12).
pub(super) const LOTTO_F24: usize = 256;
/// Discards listed in the ImportF24 answer; all of them are read with ListScartiImport.
const SCARTATI_IN_RISPOSTA: usize = 1_000;
/// Discards kept per write.
pub(super) const SCARTI_PER_SCRITTURA: usize = 500;
/// A discard keeps this much of what the feed sent: enough to find the record, never the
/// megabytes a malformed one may carry.
const ID_PAGAMENTO_SCARTATO_MAX: usize = 64;
const MOTIVO_MAX: usize = 256;

/// At most `max` characters of `s`.
fn tronca(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

pub(super) fn scartato(s: Scarto) -> pb::RecordF24Scartato {
    pb::RecordF24Scartato {
        id_pagamento: s.id_pagamento,
        posizione: s.posizione,
        motivo: s.motivo,
    }
}

/// One message of the feed: a record for the batch, or a discard (counted, kept, and listed in
/// the answer while there is room).
pub(super) fn esamina(
    item: pb::ImportF24Request,
    oggi: chrono::NaiveDate,
    out: &mut pb::ImportF24Response,
    lotto: &mut Vec<crate::domain::versamento::DatiVersamento>,
    da_scrivere: &mut Vec<Scarto>,
) {
    let posizione = out.numero_ricevuti;
    out.numero_ricevuti += 1;
    let scarto = match item.record {
        None => Scarto {
            posizione,
            id_pagamento: String::new(),
            motivo: "record: is required".into(),
        },
        Some(record) => match decode::record_f24(&record, oggi) {
            Ok(dati) => {
                lotto.push(dati);
                return;
            }
            Err(motivo) => Scarto {
                posizione,
                id_pagamento: tronca(&record.id_pagamento, ID_PAGAMENTO_SCARTATO_MAX),
                motivo: tronca(&motivo, MOTIVO_MAX),
            },
        },
    };
    out.numero_scartati += 1;
    if out.scartati.len() < SCARTATI_IN_RISPOSTA {
        out.scartati.push(scartato(scarto.clone()));
    }
    da_scrivere.push(scarto);
}
