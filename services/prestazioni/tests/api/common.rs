//! The harness: prestazioni on a throw-away database, the real anagrafica and portafoglio on
//! theirs, and the builders and calls of prestazioni's own requests. Callers, people and answers
//! come from the one test kit (`occasionali_runtime::testing`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use occasionali_kernel::clock::FixedClock;
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as por;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_proto::prestazioni as pb;
use occasionali_proto::prestazioni::prestazioni_internal_service_client::PrestazioniInternalServiceClient;
use occasionali_proto::prestazioni::prestazioni_service_client::PrestazioniServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
use occasionali_runtime::server::{ServeOptions, bind, serve};
use occasionali_runtime::shutdown::{self, ShutdownTrigger};
pub use occasionali_runtime::testing::persone::{
    OP_DG, OP_MI, PIVA, famiglia, impresa, milano, ora, persona_n, prestatore, roma, ts,
};
pub use occasionali_runtime::testing::{Chi, Chiamanti, errore, fields, ok, violazioni};
use occasionali_runtime::testing::{TestDb, TestServer};
use prost::Message;
use sea_orm::DatabaseConnection;
use tokio::task::JoinHandle;
use tonic::Status;
use tonic::transport::Channel;

/// Prestazioni itself: served on a listener bound before anagrafica and portafoglio start, as
/// they call it back (its address is in their endpoints).
struct Prestazioni {
    trigger: ShutdownTrigger,
    task: JoinHandle<anyhow::Result<()>>,
}

occasionali_runtime::deref_chiamanti!(Harness, chi);

pub struct Harness {
    pub url: String,
    client: PrestazioniServiceClient<Channel>,
    interno: PrestazioniInternalServiceClient<Channel>,
    pub anagrafica: AnagraficaServiceClient<Channel>,
    pub portafoglio: PortafoglioServiceClient<Channel>,
    /// The callers (`h.dg()`, `h.op("RM")`, `h.prestatore(cf)`, …), signed with the harness's key.
    chi: Chiamanti,
    pub clock: Arc<FixedClock>,
    pub db: DatabaseConnection,
    endpoints: HashMap<Context, String>,
    /// Anagrafica and portafoglio.
    altri: Vec<TestServer>,
    prestazioni: Prestazioni,
    /// Replicas and instances added by a test.
    repliche: Vec<TestServer>,
    dbs: Vec<TestDb>,
    extra: Vec<DatabaseConnection>,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        // Each context signs with its own key (issue 14).
        let tokens = occasionali_runtime::testing::tokens_di_prova(Context::Prestazioni);
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
        let deps = |ctx: Context, db: DatabaseConnection, endpoints: &HashMap<Context, String>| ContextDeps {
            db,
            clock: clock.clone(),
            tokens: occasionali_runtime::testing::tokens_di_prova(ctx),
            endpoints: endpoints.clone(),
            relay: None,
        };
        let ana = TestServer::spawn(
            "anagrafica",
            "occasionali.anagrafica.v1.AnagraficaService",
            occasionali_anagrafica::routes(deps(Context::Anagrafica, ana_db.db.clone(), &endpoints))?,
        )
        .await?;
        endpoints.insert(Context::Anagrafica, ana.url.clone());
        let por = TestServer::spawn(
            "portafoglio",
            "occasionali.portafoglio.v1.PortafoglioService",
            occasionali_portafoglio::routes(deps(Context::Portafoglio, por_db.db.clone(), &endpoints))?,
        )
        .await?;
        endpoints.insert(Context::Portafoglio, por.url.clone());
        let (trigger, signal) = shutdown::channel();
        let options = ServeOptions {
            name: "prestazioni".into(),
            services: vec!["occasionali.prestazioni.v1.PrestazioniService".into()],
            drain: Duration::ZERO,
            tls: None,
        };
        let task = tokio::spawn(serve(
            listener,
            options,
            occasionali_prestazioni::routes(deps(Context::Prestazioni, t.db.clone(), &endpoints))?,
            signal,
        ));
        let channel = Channel::from_shared(pre_url.clone())?.connect().await?;
        Ok(Harness {
            client: PrestazioniServiceClient::new(channel.clone()),
            interno: PrestazioniInternalServiceClient::new(channel),
            url: pre_url,
            anagrafica: AnagraficaServiceClient::new(Channel::from_shared(ana.url.clone())?.connect().await?),
            portafoglio: PortafoglioServiceClient::new(
                Channel::from_shared(por.url.clone())?.connect().await?,
            ),
            chi: Chiamanti::new(tokens),
            clock,
            db: t.db.clone(),
            endpoints,
            altri: vec![ana, por],
            prestazioni: Prestazioni { trigger, task },
            repliche: Vec::new(),
            dbs: vec![ana_db, por_db],
            extra: Vec::new(),
        })
    }

    pub fn deps(&self, db: DatabaseConnection) -> ContextDeps {
        ContextDeps {
            db,
            clock: self.clock.clone(),
            tokens: self.tokens().clone(),
            endpoints: self.endpoints.clone(),
            relay: None,
        }
    }

    /// A second prestazioni replica on the same database with its own pool; returns its URL.
    pub async fn add_replica(&mut self, t: &TestDb) -> anyhow::Result<String> {
        let db = occasionali_runtime::db::connect(&t.url, 8).await?;
        self.extra.push(db.clone());
        let server = TestServer::spawn(
            "prestazioni",
            "occasionali.prestazioni.v1.PrestazioniService",
            occasionali_prestazioni::routes(self.deps(db))?,
        )
        .await?;
        let url = server.url.clone();
        self.repliche.push(server);
        Ok(url)
    }

    /// A prestazioni instance on the same database whose portafoglio is down (a crash mid-saga).
    pub async fn add_instance_senza_portafoglio(&mut self) -> anyhow::Result<String> {
        let mut deps = self.deps(self.db.clone());
        deps.endpoints
            .insert(Context::Portafoglio, "http://127.0.0.1:9".into());
        let server = TestServer::spawn(
            "prestazioni",
            "occasionali.prestazioni.v1.PrestazioniService",
            occasionali_prestazioni::routes(deps)?,
        )
        .await?;
        let url = server.url.clone();
        self.repliche.push(server);
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
        for s in self.repliche.drain(..).rev() {
            s.stop().await;
        }
        self.prestazioni.trigger.trigger();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.prestazioni.task).await;
        for s in self.altri.drain(..).rev() {
            s.stop().await;
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

    // --- registry and wallets -----------------------------------------------------------------

    /// A CPO company (partita IVA [`PIVA`], the kit's [`impresa`]) with this ATECO code and
    /// employees.
    pub async fn azienda_cpo(&self, categoria: ana::CategoriaUtilizzatore, ateco: &str, dipendenti: i32) {
        let r = ana::RegisterUtilizzatoreRequest {
            categoria: categoria as i32,
            ateco: ateco.into(),
            dipendenti_tempo_indeterminato: dipendenti,
            nota: "registrazione d'ufficio per il test".into(),
            ..impresa(PIVA, &persona_n(40).codice_fiscale, roma())
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
        let r = famiglia(p.clone(), domicilio);
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
            categorie,
            ..prestatore(p.clone())
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
        who: &Chi,
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

    pub async fn verifica(&self, who: &Chi, d: pb::DatiPrestazione) -> pb::CheckPrestazioneResponse {
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
