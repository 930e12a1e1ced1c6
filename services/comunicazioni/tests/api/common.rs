//! The test harness: the real comunicazioni service on a throw-away database (SQLite or
//! PostgreSQL), a real anagrafica as its registry, a movable clock, and the builders and
//! readings of comunicazioni's own requests and answers. Callers, people and answers come from
//! the one test kit (`occasionali_runtime::testing`).

use std::collections::HashMap;
use std::sync::Arc;

use occasionali_kernel::Sesso;
use occasionali_kernel::clock::FixedClock;
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::comunicazioni as pb;
use occasionali_proto::comunicazioni::comunicazioni_service_client::ComunicazioniServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
pub use occasionali_runtime::testing::persone::{
    OP_DG, OP_RM, PIVA, contatti, data, impresa, ora, persona_di,
};
pub use occasionali_runtime::testing::{
    Chi, Chiamanti, descrizioni, err, metadata_of, ok, reason_of, rule_of, violazioni,
};
use occasionali_runtime::testing::{TestDb, TestServer};
use prost::Message;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};

pub type Client = ComunicazioniServiceClient<Channel>;

/// Monday, the day of [`ora`].
pub const OGGI: &str = "2026-06-15";

/// The second company (committente); the first, [`PIVA`], is the example.
pub const PIVA_B: &str = "01234567897";

pub const SERVICE: &str = "occasionali.comunicazioni.v1.ComunicazioniService";

/// The legal representative of PIVA in the registry.
pub const LEGALE: &str = "BNCNNA75M70F205S";

occasionali_runtime::deref_chiamanti!(Harness, chi);

/// A running comunicazioni, with a real anagrafica (the registry) on its own database where PIVA
/// and PIVA_B are registered with the data of [`committente`].
pub struct Harness {
    client: Client,
    anagrafica: AnagraficaServiceClient<Channel>,
    anagrafica_server: TestServer,
    _anagrafica_db: TestDb,
    comunicazioni: TestServer,
    /// The callers (`h.dg()`, `h.op("RM")`, `h.azienda(cf)`, …), signed with the harness's key.
    chi: Chiamanti,
    pub clock: Arc<FixedClock>,
    pub db: sea_orm::DatabaseConnection,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        // Each context signs with its own key (issue 14).
        let tokens = occasionali_runtime::testing::tokens_di_prova(Context::Comunicazioni);
        let clock = Arc::new(FixedClock::at(ora()));
        let anagrafica_db = TestDb::new::<occasionali_anagrafica::Migrator>(t.engine, "anagrafica")
            .await?
            .ok_or_else(|| anyhow::anyhow!("the engine of the test is available"))?;
        let anagrafica_server = TestServer::spawn(
            "anagrafica",
            "occasionali.anagrafica.v1.AnagraficaService",
            occasionali_anagrafica::routes(ContextDeps {
                db: anagrafica_db.db.clone(),
                clock: clock.clone(),
                tokens: occasionali_runtime::testing::tokens_di_prova(Context::Anagrafica),
                // Nobody listens there: the registry asks prestazioni nothing in these tests.
                endpoints: HashMap::from([(Context::Prestazioni, "http://127.0.0.1:9".to_string())]),
                relay: None,
            })?,
        )
        .await?;
        let deps = ContextDeps {
            db: t.db.clone(),
            clock: clock.clone(),
            tokens: tokens.clone(),
            endpoints: HashMap::from([(Context::Anagrafica, anagrafica_server.url.clone())]),
            relay: None,
        };
        let comunicazioni =
            TestServer::spawn("comunicazioni", SERVICE, occasionali_comunicazioni::routes(deps)?).await?;
        let channel = Channel::from_shared(comunicazioni.url.clone())?.connect().await?;
        let anagrafica = AnagraficaServiceClient::new(
            Channel::from_shared(anagrafica_server.url.clone())?
                .connect()
                .await?,
        );
        let h = Harness {
            client: ComunicazioniServiceClient::new(channel),
            anagrafica,
            anagrafica_server,
            _anagrafica_db: anagrafica_db,
            comunicazioni,
            chi: Chiamanti::new(tokens),
            clock,
            db: t.db.clone(),
        };
        for piva in [PIVA, PIVA_B] {
            h.registra_azienda(&committente(piva)).await;
        }
        Ok(h)
    }

    /// Registers a company in the registry with the data of `c` (by DG).
    pub async fn registra_azienda(&self, c: &pb::Committente) {
        let domicilio = ana::Domicilio {
            comune: c.comune.clone(),
            indirizzo: c.indirizzo.clone(),
            cap: c.cap.clone(),
            ..Default::default()
        };
        let r = ana::RegisterUtilizzatoreRequest {
            organizzazione: Some(ana::Organizzazione {
                codice_fiscale: c.codice_fiscale.clone(),
                denominazione: c.denominazione.clone(),
                legale_rappresentante_cf: LEGALE.into(),
            }),
            contatti: Some(ana::Contatti {
                email: c.email.clone(),
                ..contatti()
            }),
            nota: "registrazione d'ufficio per il test".into(),
            ..impresa(&c.codice_fiscale, LEGALE, domicilio)
        };
        ok(self
            .anagrafica
            .clone()
            .register_utilizzatore(self.dg().req(r))
            .await);
    }

    /// Changes a company's name in the registry (by DG).
    pub async fn rinomina_azienda(&self, cf: &str, denominazione: &str) {
        let r = ana::UpdateSoggettoRequest {
            codice_fiscale: cf.into(),
            soggetto: Some(ana::Soggetto {
                identita: Some(ana::soggetto::Identita::Organizzazione(ana::Organizzazione {
                    codice_fiscale: cf.into(),
                    denominazione: denominazione.into(),
                    legale_rappresentante_cf: LEGALE.into(),
                })),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["organizzazione.denominazione".into()],
            }),
            nota: "cambio di ragione sociale".into(),
            ..Default::default()
        };
        ok(self.anagrafica.clone().update_soggetto(self.dg().req(r)).await);
    }

    /// A client sharing the harness connection (cheap).
    pub fn c(&self) -> Client {
        self.client.clone()
    }

    /// A client on a connection of its own.
    pub async fn nuovo_client(&self) -> Client {
        let channel = Channel::from_shared(self.comunicazioni.url.clone())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        ComunicazioniServiceClient::new(channel)
    }

    pub async fn stop(self) {
        self.comunicazioni.stop().await;
        self.anagrafica_server.stop().await;
    }

    /// Moves the platform clock to a Rome local time, e.g. "2026-06-20 23:30".
    pub fn alle(&self, rome_local: &str) {
        let local =
            chrono::NaiveDateTime::parse_from_str(rome_local, "%Y-%m-%d %H:%M").expect("a local time");
        let t = occasionali_kernel::calendar::rome_local_to_utc(local).expect("an existing local time");
        self.clock.set(t);
    }

    // --- common calls ------------------------------------------------------------------------

    pub async fn inserisci(&self, by: &Chi, r: pb::InsertComunicazioneRequest) -> pb::Comunicazione {
        ok(self.c().insert_comunicazione(by.req(r)).await)
            .comunicazione
            .expect("comunicazione")
    }

    pub async fn varia(&self, by: &Chi, r: pb::VaryComunicazioneRequest) -> pb::Comunicazione {
        ok(self.c().vary_comunicazione(by.req(r)).await)
            .comunicazione
            .expect("comunicazione")
    }

    pub async fn annulla(&self, by: &Chi, codice: &str) -> pb::Comunicazione {
        ok(self.c().cancel_comunicazione(by.req(annullamento(codice))).await)
            .comunicazione
            .expect("comunicazione")
    }

    /// A communication as DG sees it, with its chain.
    pub async fn leggi(&self, codice: &str) -> pb::GetComunicazioneResponse {
        ok(self.c().get_comunicazione(self.dg().req(get(codice))).await)
    }

    /// Search as DG.
    pub async fn cerca(&self, r: pb::SearchComunicazioniRequest) -> Vec<pb::SintesiComunicazione> {
        ok(self.c().search_comunicazioni(self.dg().req(r)).await).comunicazioni
    }

    /// The outbox events: (topic, aggregate, payload).
    pub async fn eventi(&self) -> Vec<(String, String, pb::ComunicazioneInviata)> {
        occasionali_runtime::outbox::read_all(&self.db)
            .await
            .expect("outbox")
            .into_iter()
            .map(|e| {
                let any = e.payload.expect("payload");
                assert_eq!(
                    any.type_url,
                    "type.googleapis.com/occasionali.comunicazioni.v1.ComunicazioneInviata"
                );
                let p = pb::ComunicazioneInviata::decode(any.value.as_slice()).expect("payload decodes");
                (e.topic, e.aggregate_id, p)
            })
            .collect()
    }

    /// The whole receipt and the first message's content type and file name.
    pub async fn ricevuta(&self, by: &Chi, r: pb::DownloadRicevutaRequest) -> Result<Ricevuta, Status> {
        let mut stream = self.c().download_ricevuta(by.req(r)).await?.into_inner();
        let mut out = Ricevuta::default();
        let mut first = true;
        while let Some(m) = stream.message().await? {
            if first {
                out.content_type = m.content_type.clone();
                out.filename = m.filename.clone();
                first = false;
            } else {
                assert!(m.content_type.is_empty() && m.filename.is_empty());
            }
            out.chunks.push(m.chunk.len());
            out.pdf.extend(m.chunk);
        }
        Ok(out)
    }
}

#[derive(Default, Debug)]
pub struct Ricevuta {
    pub content_type: String,
    pub filename: String,
    pub chunks: Vec<usize>,
    pub pdf: Vec<u8>,
}

// ---------------------------------------------------------------------------------------------
// Builders

/// An Italian worker: the kit's person born in `luogo` (the codice fiscale of its data), with
/// an identity card and a domicile in Roma.
pub fn lavoratore(cognome: &str, nome: &str, nascita: &str, sesso: Sesso, luogo: &str) -> pb::Lavoratore {
    let p = persona_di(cognome, nome, nascita, sesso, luogo);
    pb::Lavoratore {
        codice_fiscale: p.codice_fiscale,
        cognome: p.cognome,
        nome: p.nome,
        data_nascita: p.data_nascita,
        sesso: match sesso {
            Sesso::M => pb::Sesso::M,
            Sesso::F => pb::Sesso::F,
        } as i32,
        luogo_nascita: p.luogo_nascita,
        cittadinanza: "IT".into(),
        identificazione: Some(pb::lavoratore::Identificazione::Documento(carta_identita())),
        domicilio: Some(domicilio_italia("058091", "00184")),
    }
}

/// The `i`-th of many distinct Italian workers.
pub fn lavoratore_n(i: usize) -> pb::Lavoratore {
    const COGNOMI: [&str; 8] = [
        "Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito", "Romano", "Colombo",
    ];
    const NOMI: [(&str, Sesso); 4] = [
        ("Luca", Sesso::M),
        ("Giulia", Sesso::F),
        ("Marco", Sesso::M),
        ("Sara", Sesso::F),
    ];
    let (nome, sesso) = NOMI[i % NOMI.len()];
    let nascita = format!("{}-{:02}-{:02}", 1960 + i, i % 12 + 1, i % 28 + 1);
    lavoratore(COGNOMI[i % COGNOMI.len()], nome, &nascita, sesso, "H501")
}

/// A Moroccan worker born in Morocco, domiciled in Milano, with a residence permit.
pub fn lavoratore_extra_ue() -> pb::Lavoratore {
    let mut l = lavoratore("Alaoui", "Youssef", "1992-03-04", Sesso::M, "Z330");
    l.cittadinanza = "MA".into();
    l.identificazione = Some(pb::lavoratore::Identificazione::PermessoSoggiorno(permesso()));
    l.domicilio = Some(domicilio_italia("F205", "20121"));
    l
}

pub fn carta_identita() -> pb::DocumentoIdentita {
    pb::DocumentoIdentita {
        tipo: pb::TipoDocumento::CartaIdentita as i32,
        numero: "CA12345AB".into(),
        rilasciato_da: "Comune di Roma".into(),
        data_rilascio: "2021-03-01".into(),
        data_scadenza: "2031-03-01".into(),
    }
}

pub fn permesso() -> pb::PermessoSoggiorno {
    pb::PermessoSoggiorno {
        numero: "I0123456".into(),
        motivo: "lavoro autonomo".into(),
        questura: "Milano".into(),
        data_rilascio: "2024-01-10".into(),
        data_scadenza: "2027-01-10".into(),
    }
}

pub fn domicilio_italia(comune: &str, cap: &str) -> pb::Domicilio {
    pb::Domicilio {
        luogo: Some(pb::domicilio::Luogo::Italia(pb::DomicilioItalia {
            comune: comune.into(),
            indirizzo: "Via Garibaldi 1".into(),
            cap: cap.into(),
        })),
    }
}

pub fn domicilio_estero(stato: &str, citta: &str) -> pb::Domicilio {
    pb::Domicilio {
        luogo: Some(pb::domicilio::Luogo::Estero(pb::DomicilioEstero {
            stato: stato.into(),
            citta: citta.into(),
            indirizzo: "Rue de Rivoli 10".into(),
        })),
    }
}

pub fn committente(cf: &str) -> pb::Committente {
    pb::Committente {
        codice_fiscale: cf.into(),
        denominazione: "Officine Meccaniche Lombarde SpA".into(),
        comune: "F205".into(),
        indirizzo: "Via Torino 10".into(),
        cap: "20123".into(),
        email: "amministrazione@oml.example.it".into(),
    }
}

pub fn luogo(comune: &str, indirizzo: &str, cap: &str) -> pb::LuogoLavoro {
    pb::LuogoLavoro {
        comune: comune.into(),
        indirizzo: indirizzo.into(),
        cap: cap.into(),
    }
}

pub fn rapporto(data_inizio: &str, compenso: &str) -> pb::Rapporto {
    pb::Rapporto {
        data_inizio: data_inizio.into(),
        durata: pb::DurataRapporto::Giorni15 as i32,
        data_fine: String::new(),
        descrizione: "Manutenzione straordinaria impianto elettrico".into(),
        compenso_stimato: compenso.into(),
        luoghi_lavoro: vec![luogo("058091", "Via dei Fori Imperiali 1", "00186")],
    }
}

/// A valid P for committente `cf` (empty: prefilled from an azienda profile).
pub fn preventiva(cf: &str, l: pb::Lavoratore) -> pb::InsertComunicazioneRequest {
    pb::InsertComunicazioneRequest {
        request_id: String::new(),
        committente: Some(committente(cf)),
        lavoratore: Some(l),
        rapporto: Some(rapporto("2026-06-20", "1500.00")),
        compilatore_email: "compilatore@example.it".into(),
    }
}

/// A V of `codice` carrying the sections of `c` (to be changed by the test).
pub fn variazione(codice: &str, c: &pb::Comunicazione) -> pb::VaryComunicazioneRequest {
    pb::VaryComunicazioneRequest {
        request_id: String::new(),
        codice_comunicazione: codice.into(),
        committente: c.committente.clone(),
        lavoratore: c.lavoratore.clone(),
        rapporto: c.rapporto.clone(),
        compilatore_email: "compilatore@example.it".into(),
    }
}

pub fn annullamento(codice: &str) -> pb::CancelComunicazioneRequest {
    pb::CancelComunicazioneRequest {
        request_id: String::new(),
        codice_comunicazione: codice.into(),
        compilatore_email: "compilatore@example.it".into(),
        ..Default::default()
    }
}

pub fn get(codice: &str) -> pb::GetComunicazioneRequest {
    pb::GetComunicazioneRequest {
        codice_comunicazione: codice.into(),
        ..Default::default()
    }
}

pub fn get3(codice: &str, committente: &str, lavoratore: &str) -> pb::GetComunicazioneRequest {
    pb::GetComunicazioneRequest {
        codice_comunicazione: codice.into(),
        committente_cf: committente.into(),
        lavoratore_cf: lavoratore.into(),
    }
}

pub fn ricevuta_di(codice: &str) -> pb::DownloadRicevutaRequest {
    pb::DownloadRicevutaRequest {
        codice_comunicazione: codice.into(),
        ..Default::default()
    }
}

pub fn per_lavoratore(cf: &str) -> pb::SearchComunicazioniRequest {
    pb::SearchComunicazioniRequest {
        lavoratore_cf: cf.into(),
        ..Default::default()
    }
}

pub fn per_committente(cf: &str) -> pb::SearchComunicazioniRequest {
    pb::SearchComunicazioniRequest {
        committente_cf: cf.into(),
        ..Default::default()
    }
}

pub fn per_codice(codice: &str) -> pb::SearchComunicazioniRequest {
    pb::SearchComunicazioniRequest {
        codice_comunicazione: codice.into(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading results

pub fn codice(c: &pb::Comunicazione) -> String {
    c.dati_invio
        .as_ref()
        .map(|d| d.codice_comunicazione.clone())
        .unwrap_or_default()
}

pub fn invio(c: &pb::Comunicazione) -> pb::DatiInvio {
    c.dati_invio.clone().expect("dati invio")
}

/// The same code with one character changed (the check character then fails).
pub fn refuso(codice: &str) -> String {
    let mut b = codice.as_bytes().to_vec();
    b[3] = if b[3] == b'7' { b'8' } else { b'7' };
    String::from_utf8(b).expect("ascii")
}

// ---------------------------------------------------------------------------------------------
// Assertions

/// INVALID_ARGUMENT carrying exactly these (field, reason) pairs, in any order: comunicazioni
/// names the reason of each field (the kit's [`invalid`](occasionali_runtime::testing::invalid)
/// checks the fields and the rule).
#[track_caller]
pub fn invalid_motivi<T: std::fmt::Debug>(
    r: Result<Response<T>, Status>,
    expected: &[(&str, &str)],
) -> Status {
    let s = err(r, Code::InvalidArgument);
    let mut got = violazioni(&s);
    got.sort();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(f, r)| ((*f).to_string(), (*r).to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want, "{}", s.message());
    s
}

/// The text of a PDF, extracted by poppler's pdftotext (installed in CI).
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("lao-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ricevuta.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "pdftotext failed: {:?}", out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}
