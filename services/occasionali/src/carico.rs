//! The population of a load through the gateway, shared by `occasionali bench`, the benchmarks
//! and the chaos test: companies and people with valid codes, the requests that register them,
//! the prestazioni of a slot, the F24 that funds a company. Built on the one test kit's people
//! (`occasionali_runtime::testing::persone`, compiled into the binary).

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_proto::anagrafica as ana;
use occasionali_proto::portafoglio as por;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::persone;

/// A valid partita IVA: 7-digit `matricola`, office 015, check digit. Each load takes its own
/// range of matricole, so two loads' companies never meet.
pub fn partita_iva(matricola: usize) -> String {
    partita_iva_di(matricola, 15)
}

/// A valid partita IVA of office `ufficio` (its last three digits before the check digit):
/// `matricola` modulo 10,000,000, the office modulo 1,000.
pub fn partita_iva_di(matricola: usize, ufficio: usize) -> String {
    let base = format!("{:07}{:03}", matricola % 10_000_000, ufficio % 1_000);
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

/// Person `i` of a load, born in Rome: a birthday every 61 days from 1960, so distinct
/// codici fiscali (adults for i < 250).
pub fn persona(i: usize) -> ana::PersonaFisica {
    use persone::{COGNOMI, NOMI};
    let (nome, sesso) = NOMI[i % NOMI.len()];
    let cognome = COGNOMI[(i / NOMI.len()) % COGNOMI.len()];
    let nascita =
        NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default() + chrono::Duration::days(i as i64 * 61);
    persone::persona(cognome, nome, &nascita.to_string(), sesso)
}

/// Where a load's people and companies live: Rome (cadastral code), sede RM.
pub fn domicilio() -> ana::Domicilio {
    ana::Domicilio {
        indirizzo: "Via Appia 1".into(),
        ..persone::domicilio("H501", "00179")
    }
}

/// A company of a load: the kit's [`impresa`](persone::impresa) (a CPO restaurant, three
/// employees) named `denominazione`, living at [`domicilio`].
pub fn azienda(piva: &str, denominazione: String, legale: &str) -> ana::RegisterUtilizzatoreRequest {
    ana::RegisterUtilizzatoreRequest {
        organizzazione: Some(ana::Organizzazione {
            codice_fiscale: piva.into(),
            denominazione,
            legale_rappresentante_cf: legale.into(),
        }),
        ..persone::impresa(piva, legale, domicilio())
    }
}

/// A worker of a load: the kit's [`prestatore`](persone::prestatore), living at [`domicilio`].
pub fn prestatore(p: ana::PersonaFisica) -> ana::RegisterPrestatoreRequest {
    ana::RegisterPrestatoreRequest {
        domicilio: Some(domicilio()),
        ..persone::prestatore(p)
    }
}

/// A family of a load: the kit's [`famiglia`](persone::famiglia), living at [`domicilio`].
pub fn famiglia(p: ana::PersonaFisica) -> ana::RegisterUtilizzatoreRequest {
    persone::famiglia(p, domicilio())
}

/// A CPO of `utilizzatore` for `prestatore`: four hours from `inizio` serving at tables, 36.00.
pub fn cpo(utilizzatore: &str, prestatore: &str, inizio: DateTime<Utc>) -> pb::DatiPrestazione {
    let dettaglio = pb::DettaglioCpo {
        descrizione: "servizio ai tavoli".into(),
        inizio: Some(persone::istante(inizio)),
        fine: Some(persone::istante(inizio + chrono::Duration::hours(4))),
        finestra_agricola: None,
        finalita_pa: 0,
    };
    dati(
        pb::TipoPrestazione::Cpo,
        utilizzatore,
        prestatore,
        pb::dati_prestazione::Dettaglio::Cpo(dettaglio),
        "36.00",
    )
}

/// Two hours of domestic work for a family on `giorno` (titoli and compenso are the platform's).
pub fn lf(utilizzatore: &str, prestatore: &str, giorno: String) -> pb::DatiPrestazione {
    let dettaglio = pb::DettaglioLf {
        attivita: pb::AttivitaLf::LavoriDomestici as i32,
        data: giorno,
        durata_minuti: 120,
        titoli: 0,
    };
    dati(
        pb::TipoPrestazione::LibrettoFamiglia,
        utilizzatore,
        prestatore,
        pb::dati_prestazione::Dettaglio::Lf(dettaglio),
        "",
    )
}

/// A prestazione in Rome, neither in a contract nor after a recent employment.
fn dati(
    tipo: pb::TipoPrestazione,
    utilizzatore: &str,
    prestatore: &str,
    dettaglio: pb::dati_prestazione::Dettaglio,
    compenso: &str,
) -> pb::DatiPrestazione {
    pb::DatiPrestazione {
        tipo: tipo as i32,
        utilizzatore_cf: utilizzatore.into(),
        prestatore_cf: prestatore.into(),
        luogo: Some(pb::Luogo {
            comune: "058091".into(),
            indirizzo: "Via Roma 1".into(),
            comune_nome: String::new(),
        }),
        dettaglio: Some(dettaglio),
        compenso: compenso.into(),
        dichiarazioni: Some(pb::Dichiarazioni {
            appalto: Some(false),
            rapporto_lavoro_recente: Some(false),
        }),
    }
}

/// An F24 (modello ELIDE, CLOC) of `importo` euro paid by `cf` on `data` for `anno`: what funds
/// a company's CPO wallet (POR-2).
pub fn versamento(id_pagamento: String, cf: &str, importo: &str, anno: i32, data: &str) -> por::RecordF24 {
    por::RecordF24 {
        id_pagamento,
        modello: por::ModelloF24::Elide as i32,
        codice_fiscale_versante: cf.into(),
        tipo: "I".into(),
        codice_tributo: por::CodiceTributo::Cloc as i32,
        anno,
        importo: importo.into(),
        riferimento_a: String::new(),
        riferimento_b: String::new(),
        data_versamento: data.into(),
    }
}
