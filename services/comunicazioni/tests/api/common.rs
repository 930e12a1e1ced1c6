//! The test harness: the real comunicazioni service on a throw-away database (SQLite or
//! PostgreSQL), clients carrying the identity the gateway would forward, a movable clock,
//! small builders and assertions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::clock::FixedClock;
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::comunicazioni as pb;
use occasionali_proto::comunicazioni::comunicazioni_service_client::ComunicazioniServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::config::Secret;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens};
use occasionali_runtime::server::{ServeOptions, bind, serve};
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
use occasionali_runtime::testing::TestDb;
use occasionali_runtime::{Identity, Principal, Profile};
use prost::Message;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

pub type Client = ComunicazioniServiceClient<Channel>;

/// The platform time of every test: Monday 2026-06-15, 12:00 in Rome.
pub fn ora() -> DateTime<Utc> {
    "2026-06-15T10:00:00Z".parse().expect("a valid instant")
}

pub const OGGI: &str = "2026-06-15";

/// The two companies (committenti). PIVA is the example.
pub const PIVA: &str = "00743110157";
pub const PIVA_B: &str = "01234567897";
/// Operators are natural persons too.
pub const OP_DG: &str = "NRELSN68C12H501Z";
pub const OP_RM: &str = "VRDGPP70A01H501U";

pub const SERVICE: &str = "occasionali.comunicazioni.v1.ComunicazioniService";

/// The legal representative of PIVA in the registry.
pub const LEGALE: &str = "BNCNNA75M70F205S";

/// A running comunicazioni, with a real anagrafica (the registry) on its own database where PIVA
/// and PIVA_B are registered with the data of [`committente`].
pub struct Harness {
    client: Client,
    anagrafica: AnagraficaServiceClient<Channel>,
    anagrafica_server: occasionali_runtime::testing::TestServer,
    _anagrafica_db: TestDb,
    pub url: String,
    pub tokens: InternalTokens,
    pub clock: Arc<FixedClock>,
    pub db: sea_orm::DatabaseConnection,
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        let tokens = InternalTokens::new(Secret::new(vec![7u8; 48]));
        let clock = Arc::new(FixedClock::at(ora()));
        let anagrafica_db = TestDb::new::<occasionali_anagrafica::Migrator>(t.engine, "anagrafica")
            .await?
            .ok_or_else(|| anyhow::anyhow!("the engine of the test is available"))?;
        let anagrafica_server = occasionali_runtime::testing::TestServer::spawn(
            "anagrafica",
            "occasionali.anagrafica.v1.AnagraficaService",
            occasionali_anagrafica::routes(ContextDeps {
                db: anagrafica_db.db.clone(),
                clock: clock.clone(),
                tokens: tokens.clone(),
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
        let listener = bind("127.0.0.1:0".parse()?).await?;
        let addr = listener.local_addr()?;
        let (trigger, signal) = shutdown::channel();
        let options = ServeOptions {
            name: "comunicazioni".into(),
            services: vec![SERVICE.into()],
            drain: Duration::ZERO,
        };
        let task = tokio::spawn(serve(
            listener,
            options,
            occasionali_comunicazioni::routes(deps)?,
            signal,
        ));
        let url = format!("http://{addr}");
        let channel = Channel::from_shared(url.clone())?.connect().await?;
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
            url,
            tokens,
            clock,
            db: t.db.clone(),
            trigger,
            task,
        };
        for piva in [PIVA, PIVA_B] {
            h.registra_azienda(&committente(piva)).await;
        }
        Ok(h)
    }

    /// Registers a company in the registry with the data of `c` (by DG).
    pub async fn registra_azienda(&self, c: &pb::Committente) {
        let r = ana::RegisterUtilizzatoreRequest {
            tipo: ana::TipoUtilizzatore::Cpo as i32,
            organizzazione: Some(ana::Organizzazione {
                codice_fiscale: c.codice_fiscale.clone(),
                denominazione: c.denominazione.clone(),
                legale_rappresentante_cf: LEGALE.into(),
            }),
            domicilio: Some(ana::Domicilio {
                comune: c.comune.clone(),
                indirizzo: c.indirizzo.clone(),
                cap: c.cap.clone(),
                ..Default::default()
            }),
            contatti: Some(ana::Contatti {
                cellulare: "+393331234567".into(),
                email: c.email.clone(),
            }),
            categoria: ana::CategoriaUtilizzatore::Impresa as i32,
            ateco: "56.10.11".into(),
            dipendenti_tempo_indeterminato: 3,
            nota: "registrazione d'ufficio per il test".into(),
            ..Default::default()
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
        let channel = Channel::from_shared(self.url.clone())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        ComunicazioniServiceClient::new(channel)
    }

    pub async fn stop(self) {
        self.trigger.trigger();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        self.anagrafica_server.stop().await;
    }

    /// Moves the platform clock to a Rome local time, e.g. "2026-06-20 23:30".
    pub fn alle(&self, rome_local: &str) {
        let local =
            chrono::NaiveDateTime::parse_from_str(rome_local, "%Y-%m-%d %H:%M").expect("a local time");
        let t = occasionali_kernel::calendar::rome_local_to_utc(local).expect("an existing local time");
        self.clock.set(t);
    }

    pub fn who(&self, profile: Profile, cf: &str) -> Who {
        Who {
            tokens: self.tokens.clone(),
            identity: Identity::new(Principal {
                cf: cf.into(),
                profile,
                sede: (profile == Profile::OperatoreSede).then(|| "RM".to_string()),
            }),
        }
    }

    pub fn azienda(&self, cf: &str) -> Who {
        self.who(Profile::Azienda, cf)
    }

    pub fn sa(&self, cf: &str) -> Who {
        self.who(Profile::SoggettoAbilitato, cf)
    }

    pub fn dg(&self) -> Who {
        self.who(Profile::OperatoreDg, OP_DG)
    }

    pub fn sede(&self) -> Who {
        self.who(Profile::OperatoreSede, OP_RM)
    }

    // --- common calls ------------------------------------------------------------------------

    pub async fn inserisci(&self, by: &Who, r: pb::InsertComunicazioneRequest) -> pb::Comunicazione {
        ok(self.c().insert_comunicazione(by.req(r)).await)
            .comunicazione
            .expect("comunicazione")
    }

    pub async fn varia(&self, by: &Who, r: pb::VaryComunicazioneRequest) -> pb::Comunicazione {
        ok(self.c().vary_comunicazione(by.req(r)).await)
            .comunicazione
            .expect("comunicazione")
    }

    pub async fn annulla(&self, by: &Who, codice: &str) -> pb::Comunicazione {
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
    pub async fn ricevuta(&self, by: &Who, r: pb::DownloadRicevutaRequest) -> Result<Ricevuta, Status> {
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

/// A caller: every request gets a freshly minted internal identity token.
#[derive(Clone)]
pub struct Who {
    tokens: InternalTokens,
    pub identity: Identity,
}

impl Who {
    pub fn req<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        let token = self.tokens.mint(&self.identity).expect("mint a token");
        r.metadata_mut()
            .insert(IDENTITY_HEADER, token.parse().expect("an ascii token"));
        r
    }

    pub fn cf(&self) -> String {
        self.identity.caller.cf.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Builders

pub fn data(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

/// An Italian worker with the codice fiscale of its data, an identity card and a domicile in
/// Roma.
pub fn lavoratore(cognome: &str, nome: &str, nascita: &str, sesso: Sesso, luogo: &str) -> pb::Lavoratore {
    let cf = cf::genera(&DatiAnagrafici {
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: data(nascita),
        sesso,
        luogo_nascita: luogo.into(),
    });
    pb::Lavoratore {
        codice_fiscale: cf.as_str().into(),
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: nascita.into(),
        sesso: match sesso {
            Sesso::M => pb::Sesso::M,
            Sesso::F => pb::Sesso::F,
        } as i32,
        luogo_nascita: luogo.into(),
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

#[track_caller]
pub fn ok<T>(r: Result<Response<T>, Status>) -> T {
    match r {
        Ok(r) => r.into_inner(),
        Err(s) => panic!(
            "expected OK, got {:?}: {} {:?}",
            s.code(),
            s.message(),
            violazioni(&s)
        ),
    }
}

#[track_caller]
pub fn err<T: std::fmt::Debug>(r: Result<Response<T>, Status>, code: Code) -> Status {
    match r {
        Ok(v) => panic!("expected {code:?}, got OK: {:?}", v.into_inner()),
        Err(s) => {
            assert_eq!(s.code(), code, "{}: {:?}", s.message(), violazioni(&s));
            s
        }
    }
}

/// (field, reason) of every BadRequest field violation.
pub fn violazioni(s: &Status) -> Vec<(String, String)> {
    s.get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|f| (f.field.clone(), f.reason.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The field violations' descriptions (they start with the rule, e.g. "[LAO-3]").
pub fn descrizioni(s: &Status) -> Vec<(String, String)> {
    s.get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|f| (f.field.clone(), f.description.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// INVALID_ARGUMENT carrying exactly these (field, reason) pairs, in any order.
#[track_caller]
pub fn invalid<T: std::fmt::Debug>(r: Result<Response<T>, Status>, expected: &[(&str, &str)]) -> Status {
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

pub fn reason(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

pub fn metadata(s: &Status, key: &str) -> String {
    s.get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get(key).cloned())
        .unwrap_or_default()
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
