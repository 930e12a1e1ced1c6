//! The declaration of a prestazione, stored as one JSON document (column `dichiarazione`).
//!
//! Why a document and not columns: the declaration is written once at insertion and never
//! updated nor filtered on in SQL (what queries need — parties, kind, day, minutes — has its own
//! columns); and its shape varies by kind (LF day and titoli; CPO times or an agricultural
//! window, a PA's purpose), which as columns would be a dozen nullable ones whose valid
//! combinations SQL cannot state. Why not the protobuf message it came in: the document is the
//! domain's declaration, so a change of the wire contract is not a data migration.
//!
//! Format, version 1 (`"v": 1`): the fields below, names as written; money in integer cents,
//! days `YYYY-MM-DD`, instants RFC 3339 in UTC. Forward compatibility: every field has a
//! default (`#[serde(default)]`), so a field added later reads as its default from older
//! documents, and fields this version does not know are ignored. A change of meaning is a new
//! version, read next to this one.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::Euro;
use serde::{Deserialize, Serialize};

use crate::domain::dichiarazione::{AttivitaLf, FinalitaPa, LavoroCpo, LavoroLf, Luogo, TempoCpo};
use crate::domain::{Dichiarazione, Lavoro};

/// The version this code writes.
const VERSIONE: u32 = 1;

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Documento {
    v: u32,
    utilizzatore_cf: String,
    prestatore_cf: String,
    luogo: DocLuogo,
    lavoro: DocLavoro,
    /// As declared, cents; absent when not stated (an LF may leave it out).
    compenso: Option<i64>,
    appalto: bool,
    rapporto_recente: bool,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct DocLuogo {
    comune: String,
    nome_comune: String,
    indirizzo: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DocLavoro {
    Lf(DocLf),
    Cpo(DocCpo),
}

impl Default for DocLavoro {
    fn default() -> DocLavoro {
        DocLavoro::Lf(DocLf::default())
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct DocLf {
    /// `lavori_domestici`, `assistenza_domiciliare`, `insegnamento_privato`.
    attivita: String,
    data: Option<NaiveDate>,
    minuti: i64,
    titoli: i64,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct DocCpo {
    descrizione: String,
    /// Exact times, or else the agricultural window.
    inizio: Option<DateTime<Utc>>,
    fine: Option<DateTime<Utc>>,
    finestra: Option<DocFinestra>,
    /// `progetti_speciali`, `emergenze`, `solidarieta`, `manifestazioni`, or the code as declared
    /// when the law lists no such purpose; absent when none is stated.
    finalita_pa: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct DocFinestra {
    dal: Option<NaiveDate>,
    al: Option<NaiveDate>,
    minuti: i64,
}

/// The document of a declaration.
pub fn scrivi(d: &Dichiarazione) -> String {
    let lavoro = match &d.lavoro {
        Lavoro::Lf(lf) => DocLavoro::Lf(DocLf {
            attivita: attivita(lf.attivita).to_string(),
            data: Some(lf.data),
            minuti: lf.minuti,
            titoli: lf.titoli,
        }),
        Lavoro::Cpo(c) => {
            let (inizio, fine, finestra) = match c.tempo {
                TempoCpo::Orario { inizio, fine } => (Some(inizio), Some(fine), None),
                TempoCpo::Finestra { dal, al, minuti } => (
                    None,
                    None,
                    Some(DocFinestra {
                        dal: Some(dal),
                        al: Some(al),
                        minuti,
                    }),
                ),
            };
            DocLavoro::Cpo(DocCpo {
                descrizione: c.descrizione.clone(),
                inizio,
                fine,
                finestra,
                finalita_pa: c.finalita_pa.map(finalita),
            })
        }
    };
    let doc = Documento {
        v: VERSIONE,
        utilizzatore_cf: d.utilizzatore_cf.clone(),
        prestatore_cf: d.prestatore_cf.clone(),
        luogo: DocLuogo {
            comune: d.luogo.comune.clone(),
            nome_comune: d.luogo.nome_comune.clone(),
            indirizzo: d.luogo.indirizzo.clone(),
        },
        lavoro,
        compenso: d.compenso.map(|e| e.cents()),
        appalto: d.appalto,
        rapporto_recente: d.rapporto_recente,
    };
    // A document of strings, numbers and options: serialising it cannot fail.
    serde_json::to_string(&doc).unwrap_or_default()
}

/// A declaration from its document.
pub fn leggi(s: &str) -> Result<Dichiarazione, String> {
    let doc: Documento = serde_json::from_str(s).map_err(|e| e.to_string())?;
    if doc.v != VERSIONE {
        return Err(format!("declaration document version {}", doc.v));
    }
    let lavoro = match doc.lavoro {
        DocLavoro::Lf(lf) => Lavoro::Lf(LavoroLf {
            attivita: da_attivita(&lf.attivita).ok_or_else(|| format!("LF activity {:?}", lf.attivita))?,
            data: lf.data.ok_or("LF without a day")?,
            minuti: lf.minuti,
            titoli: lf.titoli,
        }),
        DocLavoro::Cpo(c) => {
            let tempo = match (c.inizio, c.fine, c.finestra) {
                (Some(inizio), Some(fine), _) => TempoCpo::Orario { inizio, fine },
                (_, _, Some(f)) => TempoCpo::Finestra {
                    dal: f.dal.ok_or("window without its first day")?,
                    al: f.al.ok_or("window without its last day")?,
                    minuti: f.minuti,
                },
                _ => return Err("CPO without times or window".into()),
            };
            Lavoro::Cpo(LavoroCpo {
                descrizione: c.descrizione,
                tempo,
                finalita_pa: c.finalita_pa.as_deref().map(da_finalita).transpose()?,
            })
        }
    };
    Ok(Dichiarazione {
        utilizzatore_cf: doc.utilizzatore_cf,
        prestatore_cf: doc.prestatore_cf,
        luogo: Luogo {
            comune: doc.luogo.comune,
            nome_comune: doc.luogo.nome_comune,
            indirizzo: doc.luogo.indirizzo,
        },
        lavoro,
        compenso: doc.compenso.map(Euro::from_cents),
        appalto: doc.appalto,
        rapporto_recente: doc.rapporto_recente,
    })
}

const ATTIVITA: [(AttivitaLf, &str); 3] = [
    (AttivitaLf::LavoriDomestici, "lavori_domestici"),
    (AttivitaLf::AssistenzaDomiciliare, "assistenza_domiciliare"),
    (AttivitaLf::InsegnamentoPrivato, "insegnamento_privato"),
];

fn attivita(a: AttivitaLf) -> &'static str {
    ATTIVITA
        .iter()
        .find(|(x, _)| *x == a)
        .map(|(_, s)| *s)
        .unwrap_or_default()
}

fn da_attivita(s: &str) -> Option<AttivitaLf> {
    ATTIVITA.iter().find(|(_, x)| *x == s).map(|(a, _)| *a)
}

const FINALITA: [(FinalitaPa, &str); 4] = [
    (FinalitaPa::ProgettiSpeciali, "progetti_speciali"),
    (FinalitaPa::Emergenze, "emergenze"),
    (FinalitaPa::Solidarieta, "solidarieta"),
    (FinalitaPa::Manifestazioni, "manifestazioni"),
];

fn finalita(f: FinalitaPa) -> String {
    match f {
        FinalitaPa::NonPrevista(n) => n.to_string(),
        f => FINALITA
            .iter()
            .find(|(x, _)| *x == f)
            .map(|(_, s)| s.to_string())
            .unwrap_or_default(),
    }
}

fn da_finalita(s: &str) -> Result<FinalitaPa, String> {
    match FINALITA.iter().find(|(_, x)| *x == s) {
        Some((f, _)) => Ok(*f),
        None => s
            .parse()
            .map(FinalitaPa::NonPrevista)
            .map_err(|_| format!("PA purpose {s:?}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn dichiarazione(lavoro: Lavoro) -> Dichiarazione {
        Dichiarazione {
            utilizzatore_cf: "00743110157".into(),
            prestatore_cf: "RSSMRA80A01H501U".into(),
            luogo: Luogo {
                comune: "h501".into(),
                nome_comune: "Roma".into(),
                indirizzo: "Via Roma 1".into(),
            },
            lavoro,
            compenso: Some(Euro::from_cents(3600)),
            appalto: false,
            rapporto_recente: true,
        }
    }

    #[test]
    fn every_declaration_reads_back_as_written() {
        let inizio: DateTime<Utc> = "2026-06-16T07:00:00.123456789Z".parse().unwrap();
        let lontano = DateTime::from_timestamp(300_000_000_000, 7).unwrap();
        let casi = [
            Lavoro::Lf(LavoroLf {
                attivita: AttivitaLf::InsegnamentoPrivato,
                data: "2026-06-16".parse().unwrap(),
                minuti: 90,
                titoli: 2,
            }),
            Lavoro::Cpo(LavoroCpo {
                descrizione: "servizio ai tavoli".into(),
                tempo: TempoCpo::Orario {
                    inizio,
                    fine: inizio + chrono::Duration::hours(4),
                },
                finalita_pa: Some(FinalitaPa::Solidarieta),
            }),
            Lavoro::Cpo(LavoroCpo {
                descrizione: String::new(),
                tempo: TempoCpo::Orario {
                    inizio: lontano,
                    fine: lontano,
                },
                finalita_pa: Some(FinalitaPa::NonPrevista(9)),
            }),
            Lavoro::Cpo(LavoroCpo {
                descrizione: "vendemmia".into(),
                tempo: TempoCpo::Finestra {
                    dal: "2022-09-10".parse().unwrap(),
                    al: "2022-09-12".parse().unwrap(),
                    minuti: 480,
                },
                finalita_pa: None,
            }),
        ];
        for lavoro in casi {
            let d = dichiarazione(lavoro);
            assert_eq!(leggi(&scrivi(&d)), Ok(d.clone()));
        }
        let senza = Dichiarazione {
            compenso: None,
            ..dichiarazione(Lavoro::Lf(LavoroLf {
                attivita: AttivitaLf::LavoriDomestici,
                data: "2026-06-16".parse().unwrap(),
                minuti: 60,
                titoli: 1,
            }))
        };
        assert_eq!(leggi(&scrivi(&senza)), Ok(senza));
    }

    #[test]
    fn version_1_reads_documents_with_fields_it_does_not_know() {
        let doc = r#"{"v":1,"utilizzatore_cf":"U","prestatore_cf":"P","nuovo":{"x":1},
            "lavoro":{"lf":{"attivita":"lavori_domestici","data":"2026-06-16","minuti":60,"titoli":1,"poi":2}}}"#;
        let d = leggi(doc).unwrap();
        assert_eq!(d.luogo, Luogo::default());
        assert_eq!(d.compenso, None);
        assert!(!d.appalto);
        assert!(leggi(r#"{"v":2}"#).is_err());
    }
}
