//! The harness: prestazioni on a throw-away database, the real anagrafica and portafoglio on
//! theirs, clients carrying the identity the gateway would forward, and builders.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::clock::FixedClock;
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_internal_service_client::PrestazioniInternalServiceClient;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::config::Secret;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens};
use occasionali_runtime::server::{ServeOptions, bind, serve};
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
use occasionali_runtime::testing::TestDb;
use occasionali_runtime::{Identity, Principal, Profile};
use prost::Message;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

/// The platform time of every test unless moved: 2026-06-15 12:00 in Rome.
pub fn ora() -> DateTime<Utc> {
    "2026-06-15T10:00:00Z".parse().expect("a valid instant")
}

pub const PIVA: &str = "00743110157";
pub const OP_DG: &str = "NRELSN68C12H501Z";
pub const OP_RM: &str = "VRDGPP70A01H501U";
pub const OP_MI: &str = "BNCLRA75B41F205X";
/// The payments feed's id (profile flusso_pagamenti, POR-2).
pub const FLUSSO: &str = "AGENZIA-ENTRATE";
pub const IBAN: &str = "IT60X0542811101000000123456";

struct Server {
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
}

async fn spawn_server(name: &str, service: &str, routes: Routes) -> anyhow::Result<(String, Server)> {
    let listener = bind("127.0.0.1:0".parse()?).await?;
    let addr = listener.local_addr()?;
    let (trigger, signal) = shutdown::channel();
    let options = ServeOptions {
        name: name.into(),
        services: vec![service.into()],
        drain: Duration::ZERO,
    };
    let task = tokio::spawn(serve(listener, options, routes, signal));
    Ok((format!("http://{addr}"), Server { trigger, task }))
}

pub struct Harness {
    pub url: String,
    client: PrestazioniServiceClient<Channel>,
    interno: PrestazioniInternalServiceClient<Channel>,
    pub anagrafica: AnagraficaServiceClient<Channel>,
    pub portafoglio: PortafoglioServiceClient<Channel>,
    pub tokens: InternalTokens,
    pub clock: Arc<FixedClock>,
    pub db: DatabaseConnection,
    endpoints: HashMap<Context, String>,
    servers: Vec<Server>,
    dbs: Vec<TestDb>,
    extra: Vec<DatabaseConnection>,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        let tokens = InternalTokens::new(Secret::new(vec![7u8; 48]));
        let clock = Arc::new(FixedClock::at(ora()));
        let ana_db = TestDb::new::<occasionali_anagrafica::Migrator>(t.engine, "anagrafica")
            .await?
            .ok_or_else(|| anyhow::anyhow!("engine available"))?;
        let por_db = TestDb::new::<occasionali_portafoglio::Migrator>(t.engine, "portafoglio")
            .await?
            .ok_or_else(|| anyhow::anyhow!("engine available"))?;
        // Prestazioni's own address is only known once it listens: bind it first.
        let listener = bind("127.0.0.1:0".parse()?).await?;
        let pre_url = format!("http://{}", listener.local_addr()?);
        let nessuno = "http://127.0.0.1:9".to_string();
        let mut endpoints = HashMap::from([
            (Context::Prestazioni, pre_url.clone()),
            (Context::Notifiche, nessuno.clone()),
            (Context::Deleghe, nessuno.clone()),
            (Context::Comunicazioni, nessuno.clone()),
        ]);
        let deps = |db: DatabaseConnection, endpoints: &HashMap<Context, String>| ContextDeps {
            db,
            clock: clock.clone(),
            tokens: tokens.clone(),
            endpoints: endpoints.clone(),
            relay: None,
        };
        let (ana_url, ana) = spawn_server(
            "anagrafica",
            "occasionali.anagrafica.v1.AnagraficaService",
            occasionali_anagrafica::routes(deps(ana_db.db.clone(), &endpoints))?,
        )
        .await?;
        endpoints.insert(Context::Anagrafica, ana_url.clone());
        let (por_url, por) = spawn_server(
            "portafoglio",
            "occasionali.portafoglio.v1.PortafoglioService",
            occasionali_portafoglio::routes(deps(por_db.db.clone(), &endpoints))?,
        )
        .await?;
        endpoints.insert(Context::Portafoglio, por_url.clone());
        let (trigger, signal) = shutdown::channel();
        let options = ServeOptions {
            name: "prestazioni".into(),
            services: vec!["occasionali.prestazioni.v1.PrestazioniService".into()],
            drain: Duration::ZERO,
        };
        let task = tokio::spawn(serve(
            listener,
            options,
            occasionali_prestazioni::routes(deps(t.db.clone(), &endpoints))?,
            signal,
        ));
        let pre = Server { trigger, task };
        let channel = Channel::from_shared(pre_url.clone())?.connect().await?;
        Ok(Harness {
            client: PrestazioniServiceClient::new(channel.clone()),
            interno: PrestazioniInternalServiceClient::new(channel),
            url: pre_url,
            anagrafica: AnagraficaServiceClient::new(Channel::from_shared(ana_url)?.connect().await?),
            portafoglio: PortafoglioServiceClient::new(Channel::from_shared(por_url)?.connect().await?),
            tokens,
            clock,
            db: t.db.clone(),
            endpoints,
            servers: vec![ana, por, pre],
            dbs: vec![ana_db, por_db],
            extra: Vec::new(),
        })
    }

    pub fn deps(&self, db: DatabaseConnection) -> ContextDeps {
        ContextDeps {
            db,
            clock: self.clock.clone(),
            tokens: self.tokens.clone(),
            endpoints: self.endpoints.clone(),
            relay: None,
        }
    }

    /// A second prestazioni replica on the same database with its own pool; returns its URL.
    pub async fn add_replica(&mut self, t: &TestDb) -> anyhow::Result<String> {
        let db = occasionali_runtime::db::connect(&t.url, 8).await?;
        self.extra.push(db.clone());
        let (url, server) = spawn_server(
            "prestazioni",
            "occasionali.prestazioni.v1.PrestazioniService",
            occasionali_prestazioni::routes(self.deps(db))?,
        )
        .await?;
        self.servers.push(server);
        Ok(url)
    }

    /// A prestazioni instance on the same database whose portafoglio is down (a crash mid-saga).
    pub async fn add_instance_senza_portafoglio(&mut self) -> anyhow::Result<String> {
        let mut deps = self.deps(self.db.clone());
        deps.endpoints
            .insert(Context::Portafoglio, "http://127.0.0.1:9".into());
        let (url, server) = spawn_server(
            "prestazioni",
            "occasionali.prestazioni.v1.PrestazioniService",
            occasionali_prestazioni::routes(deps)?,
        )
        .await?;
        self.servers.push(server);
        Ok(url)
    }

    pub fn c(&self) -> PrestazioniServiceClient<Channel> {
        self.client.clone()
    }

    /// The internal service (GW-6), on the same connection.
    pub fn interno(&self) -> PrestazioniInternalServiceClient<Channel> {
        self.interno.clone()
    }

    pub async fn c_nuovo(&self, url: &str) -> PrestazioniServiceClient<Channel> {
        PrestazioniServiceClient::new(
            Channel::from_shared(url.to_string())
                .unwrap()
                .connect()
                .await
                .unwrap(),
        )
    }

    pub async fn fine(mut self) {
        for s in self.servers.drain(..).rev() {
            s.trigger.trigger();
            let _ = tokio::time::timeout(Duration::from_secs(10), s.task).await;
        }
        for db in self.extra.drain(..) {
            occasionali_runtime::db::close(db, Duration::from_secs(5)).await;
        }
        for d in self.dbs.drain(..) {
            d.close().await.expect("db closed");
        }
    }

    pub fn set_ora(&self, t: &str) {
        self.clock.set(t.parse().expect("instant"));
    }

    // --- identities ----------------------------------------------------------------------------

    pub fn who(&self, profile: Profile, cf: &str) -> Who {
        Who {
            tokens: self.tokens.clone(),
            identity: Identity::new(Principal {
                cf: cf.into(),
                profile,
                sede: None,
            }),
        }
    }

    /// A sede operator (RM or MI).
    pub fn op(&self, sede: &str) -> Who {
        let cf = if sede == "MI" { OP_MI } else { OP_RM };
        let mut w = self.who(Profile::OperatoreSede, cf);
        w.identity.caller.sede = Some(sede.to_string());
        w
    }

    /// The payments feed (POR-2): the only client that imports F24s.
    pub fn flusso(&self) -> Who {
        self.who(Profile::FlussoPagamenti, FLUSSO)
    }

    /// A call of the platform's `sistema` identity made for `origin` (the saga's calls).
    pub fn sistema_per(&self, origin: &Who) -> Who {
        let mut w = self.sistema();
        w.identity.origin = Some(Box::new(origin.identity.clone()));
        w
    }

    pub fn utilizzatore(&self, cf: &str) -> Who {
        self.who(Profile::Utilizzatore, cf)
    }

    pub fn azienda(&self) -> Who {
        self.who(Profile::Azienda, PIVA)
    }

    pub fn prestatore(&self, cf: &str) -> Who {
        self.who(Profile::Prestatore, cf)
    }

    pub fn dg(&self) -> Who {
        self.who(Profile::OperatoreDg, OP_DG)
    }

    pub fn sistema(&self) -> Who {
        self.who(Profile::Sistema, "SISTEMA-PORTAFOGLIO")
    }

    // --- registry and wallets -----------------------------------------------------------------

    /// A CPO company (partita IVA [`PIVA`]) with this ATECO code and employees.
    pub async fn azienda_cpo(&self, categoria: ana::CategoriaUtilizzatore, ateco: &str, dipendenti: i32) {
        let r = ana::RegisterUtilizzatoreRequest {
            tipo: ana::TipoUtilizzatore::Cpo as i32,
            organizzazione: Some(ana::Organizzazione {
                codice_fiscale: PIVA.into(),
                denominazione: "Trattoria Da Mario S.r.l.".into(),
                legale_rappresentante_cf: persona_n(40).codice_fiscale,
            }),
            domicilio: Some(roma()),
            contatti: Some(contatti()),
            categoria: categoria as i32,
            ateco: ateco.into(),
            dipendenti_tempo_indeterminato: dipendenti,
            nota: "registrazione d'ufficio per il test".into(),
            ..Default::default()
        };
        ok(self
            .anagrafica
            .clone()
            .register_utilizzatore(self.dg().req(r))
            .await);
    }

    /// A Libretto Famiglia utilizzatore (a person) living in Rome (sede RM).
    pub async fn famiglia(&self, p: &ana::PersonaFisica) {
        self.famiglia_a(p, roma()).await
    }

    /// A Libretto Famiglia utilizzatore living at `domicilio` (its sede follows it).
    pub async fn famiglia_a(&self, p: &ana::PersonaFisica, domicilio: ana::Domicilio) {
        let r = ana::RegisterUtilizzatoreRequest {
            tipo: ana::TipoUtilizzatore::LibrettoFamiglia as i32,
            persona: Some(p.clone()),
            domicilio: Some(domicilio),
            contatti: Some(contatti()),
            ..Default::default()
        };
        ok(self
            .anagrafica
            .clone()
            .register_utilizzatore(self.utilizzatore(&p.codice_fiscale).req(r))
            .await);
    }

    pub async fn registra_prestatore(
        &self,
        p: &ana::PersonaFisica,
        categorie: Vec<ana::CategoriaDichiarata>,
    ) {
        let r = ana::RegisterPrestatoreRequest {
            persona: Some(p.clone()),
            domicilio: Some(roma()),
            contatti: Some(contatti()),
            metodo_pagamento: Some(ana::MetodoPagamento {
                tipo: ana::TipoMetodoPagamento::ContoCorrente as i32,
                iban: IBAN.into(),
            }),
            categorie,
            ..Default::default()
        };
        ok(self
            .anagrafica
            .clone()
            .register_prestatore(self.prestatore(&p.codice_fiscale).req(r))
            .await);
    }

    /// Funds a wallet by an F24 imported by the payments feed.
    pub async fn finanzia(&self, id: &str, cf: &str, codice: por::CodiceTributo, importo: &str) {
        let rec = por::RecordF24 {
            id_pagamento: id.into(),
            modello: por::ModelloF24::Elide as i32,
            codice_fiscale_versante: cf.into(),
            tipo: "I".into(),
            codice_tributo: codice as i32,
            anno: 2026,
            importo: importo.into(),
            riferimento_a: String::new(),
            riferimento_b: String::new(),
            data_versamento: "2026-06-01".into(),
        };
        let msgs = vec![por::ImportF24Request { record: Some(rec) }];
        ok(self
            .portafoglio
            .clone()
            .import_f24(self.flusso().req(tokio_stream::iter(msgs)))
            .await);
    }

    pub async fn riepilogo(&self, cf: &str, tipo: por::TipoPortafoglio) -> por::Riepilogo {
        ok(self
            .portafoglio
            .clone()
            .get_riepilogo(self.dg().req(por::GetRiepilogoRequest {
                portafoglio: Some(por::PortafoglioRef {
                    utilizzatore_cf: cf.into(),
                    tipo: tipo as i32,
                }),
                anno: 2026,
            }))
            .await)
        .riepilogo
        .expect("riepilogo")
    }

    // --- prestazioni ---------------------------------------------------------------------------

    pub async fn inserisci(
        &self,
        who: &Who,
        request_id: &str,
        d: pb::DatiPrestazione,
    ) -> Result<pb::Prestazione, Status> {
        self.c()
            .insert_prestazione(who.req(pb::InsertPrestazioneRequest {
                request_id: request_id.into(),
                prestazione: Some(d),
            }))
            .await
            .map(|r| r.into_inner().prestazione.expect("prestazione"))
    }

    pub async fn verifica(&self, who: &Who, d: pb::DatiPrestazione) -> pb::CheckPrestazioneResponse {
        ok(self
            .c()
            .check_prestazione(who.req(pb::CheckPrestazioneRequest { prestazione: Some(d) }))
            .await)
    }

    pub async fn headroom(&self, anno: i32, p: &str, u: &str) -> Vec<pb::StatoLimite> {
        ok(self
            .c()
            .get_headroom(self.dg().req(pb::GetHeadroomRequest {
                anno,
                prestatore_cf: p.into(),
                utilizzatore_cf: u.into(),
            }))
            .await)
        .limiti
    }

    pub async fn eventi<M: Message + Default>(&self, topic: &str) -> Vec<M> {
        occasionali_runtime::outbox::read_all(&self.db)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|e| e.topic == topic)
            .map(|e| M::decode(e.payload.expect("payload").value.as_slice()).expect("decodes"))
            .collect()
    }
}

#[derive(Clone)]
pub struct Who {
    tokens: InternalTokens,
    pub identity: Identity,
}

impl Who {
    pub fn req<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        let token = self.tokens.mint(&self.identity).expect("mint");
        r.metadata_mut()
            .insert(IDENTITY_HEADER, token.parse().expect("ascii"));
        r
    }
}

pub fn ok<T>(r: Result<Response<T>, Status>) -> T {
    match r {
        Ok(r) => r.into_inner(),
        Err(s) => panic!(
            "unexpected error {:?}: {} {:?}",
            s.code(),
            s.message(),
            s.get_error_details()
        ),
    }
}

/// The error's code, ErrorInfo reason and metadata, and the BadRequest fields' reasons.
pub fn errore(s: &Status) -> (Code, String, HashMap<String, String>, Vec<String>) {
    let d = s.get_error_details();
    let (reason, md) = d
        .error_info()
        .map(|i| (i.reason.clone(), i.metadata.clone()))
        .unwrap_or_default();
    let fields = d
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.description.clone()).collect())
        .unwrap_or_default();
    (s.code(), reason, md, fields)
}

pub fn data(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

pub fn persona(cognome: &str, nome: &str, nascita: &str, sesso: Sesso) -> ana::PersonaFisica {
    let cf = cf::genera(&DatiAnagrafici {
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: data(nascita),
        sesso,
        luogo_nascita: "H501".into(),
    });
    ana::PersonaFisica {
        codice_fiscale: cf.as_str().into(),
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: nascita.into(),
        sesso: match sesso {
            Sesso::M => ana::Sesso::M,
            Sesso::F => ana::Sesso::F,
        } as i32,
        luogo_nascita: "H501".into(),
        luogo_nascita_nome: String::new(),
    }
}

pub fn persona_n(i: usize) -> ana::PersonaFisica {
    const COGNOMI: [&str; 10] = [
        "Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito", "Romano", "Colombo", "Ricci", "Marino",
    ];
    const NOMI: [(&str, Sesso); 6] = [
        ("Luca", Sesso::M),
        ("Giulia", Sesso::F),
        ("Marco", Sesso::M),
        ("Sara", Sesso::F),
        ("Paolo", Sesso::M),
        ("Elena", Sesso::F),
    ];
    let (nome, sesso) = NOMI[i % NOMI.len()];
    let nascita = format!("{}-{:02}-{:02}", 1950 + i, i % 12 + 1, i % 28 + 1);
    persona(COGNOMI[i % COGNOMI.len()], nome, &nascita, sesso)
}

pub fn roma() -> ana::Domicilio {
    ana::Domicilio {
        comune: "058091".into(),
        indirizzo: "Via Garibaldi 1".into(),
        cap: "00184".into(),
        ..Default::default()
    }
}

/// A domicile in Milan (sede MI).
pub fn milano() -> ana::Domicilio {
    ana::Domicilio {
        comune: "F205".into(),
        indirizzo: "Corso Como 1".into(),
        cap: "20154".into(),
        ..Default::default()
    }
}

pub fn contatti() -> ana::Contatti {
    ana::Contatti {
        cellulare: "+393331234567".into(),
        email: "persona@example.it".into(),
    }
}

pub fn ts(s: &str) -> prost_types::Timestamp {
    let t: DateTime<Utc> = s.parse().expect("instant");
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

fn dichiarazioni() -> pb::Dichiarazioni {
    pb::Dichiarazioni {
        appalto: Some(false),
        rapporto_lavoro_recente: Some(false),
    }
}

fn luogo() -> pb::Luogo {
    pb::Luogo {
        comune: "058091".into(),
        indirizzo: "Via Roma 1".into(),
        comune_nome: String::new(),
    }
}

/// A CPO of the company [`PIVA`] for `prestatore` from `inizio` to `fine` (UTC instants).
pub fn cpo(prestatore: &str, inizio: &str, fine: &str, compenso: &str) -> pb::DatiPrestazione {
    pb::DatiPrestazione {
        tipo: pb::TipoPrestazione::Cpo as i32,
        utilizzatore_cf: PIVA.into(),
        prestatore_cf: prestatore.into(),
        luogo: Some(luogo()),
        dettaglio: Some(pb::dati_prestazione::Dettaglio::Cpo(pb::DettaglioCpo {
            descrizione: "servizio ai tavoli".into(),
            inizio: Some(ts(inizio)),
            fine: Some(ts(fine)),
            finestra_agricola: None,
            finalita_pa: 0,
        })),
        compenso: compenso.into(),
        dichiarazioni: Some(dichiarazioni()),
    }
}

/// An LF prestazione of `famiglia` for `prestatore` on `giorno` lasting `minuti`.
pub fn lf(famiglia: &str, prestatore: &str, giorno: &str, minuti: i32) -> pb::DatiPrestazione {
    pb::DatiPrestazione {
        tipo: pb::TipoPrestazione::LibrettoFamiglia as i32,
        utilizzatore_cf: famiglia.into(),
        prestatore_cf: prestatore.into(),
        luogo: Some(luogo()),
        dettaglio: Some(pb::dati_prestazione::Dettaglio::Lf(pb::DettaglioLf {
            attivita: pb::AttivitaLf::LavoriDomestici as i32,
            data: giorno.into(),
            durata_minuti: minuti,
            titoli: 0,
        })),
        compenso: String::new(),
        dichiarazioni: Some(dichiarazioni()),
    }
}

/// A CPO setting: the company (restaurant, 3 employees) funded with `fondi` euro and `n` prestatori.
pub async fn scenario_cpo(h: &Harness, fondi: &str, n: usize) -> Vec<String> {
    h.azienda_cpo(ana::CategoriaUtilizzatore::Impresa, "56.10.11", 3)
        .await;
    h.finanzia("F24-CPO-1", PIVA, por::CodiceTributo::Cloc, fondi)
        .await;
    let mut out = Vec::new();
    for i in 0..n {
        let p = persona_n(i);
        h.registra_prestatore(&p, Vec::new()).await;
        out.push(p.codice_fiscale);
    }
    out
}
