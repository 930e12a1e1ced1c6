//! The test harness: the real anagrafica service on a throw-away database (SQLite or
//! PostgreSQL), a fake prestazioni service it calls, and the builders and readings of
//! anagrafica's own requests and answers. Callers, people and answers come from the one test
//! kit (`occasionali_runtime::testing`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use occasionali_kernel::CodiceFiscale;
use occasionali_kernel::clock::FixedClock;
use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::common::Periodo;
use occasionali_proto::prestazioni as pp;
use occasionali_proto::prestazioni::prestazioni_internal_service_server::{
    PrestazioniInternalService, PrestazioniInternalServiceServer,
};
use occasionali_runtime::Identity;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens};
use occasionali_runtime::testing::TestDb;
pub use occasionali_runtime::testing::persone::{
    ATECO, IBAN, OP_RM, PIVA, cf_sconosciuto, contatti, conto, domicilio, famiglia, impresa, istante, milano,
    ora, persona, persona_di, persona_n, prestatore, roma,
};
pub use occasionali_runtime::testing::{
    Chi, Chiamanti, err, fields, invalid, ok, reason_of, reason_of_field, rule_of,
};
use prost::Message;
use tonic::codegen::BoxStream;
use tonic::metadata::MetadataMap;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Request, Response, Status, Streaming};

// ---------------------------------------------------------------------------------------------
// The fake prestazioni service

/// A request the fake received, with the identity its metadata carried (verified with the
/// platform's internal key; `None` when missing or not verifiable).
#[derive(Clone, Debug)]
pub struct Seen<T> {
    pub request: T,
    pub identity: Option<Identity>,
}

/// What the fake answers, and what it was asked.
#[derive(Default)]
pub struct FakeState {
    pub has_prestazioni: AtomicBool,
    pub incoerenti: Mutex<Vec<pp::PrestazioneIncoerente>>,
    /// (codice fiscale, numero prestazioni) streamed by StreamSoggettiAttivi, whatever the role.
    pub attivi: Mutex<Vec<(String, i64)>>,
    /// Stream `attivi` in reverse order (order independence of samples).
    pub reverse: AtomicBool,
    pub checks: Mutex<Vec<Seen<pp::CheckCategoriaChangeRequest>>>,
    pub streams: Mutex<Vec<Seen<pp::StreamSoggettiAttiviRequest>>>,
}

impl FakeState {
    pub fn set_has_prestazioni(&self, v: bool) {
        self.has_prestazioni.store(v, Ordering::SeqCst);
    }

    pub fn set_incoerenti(&self, list: &[(&str, &str, &str)]) {
        *self.incoerenti.lock().expect("lock") = list
            .iter()
            .map(|(id, rule, d)| pp::PrestazioneIncoerente {
                prestazione_id: (*id).into(),
                rule_id: (*rule).into(),
                description: (*d).into(),
            })
            .collect();
    }

    pub fn set_attivi(&self, list: &[(&str, i64)]) {
        *self.attivi.lock().expect("lock") = list.iter().map(|(cf, n)| ((*cf).to_string(), *n)).collect();
    }

    pub fn set_reverse(&self, v: bool) {
        self.reverse.store(v, Ordering::SeqCst);
    }

    pub fn checks(&self) -> Vec<Seen<pp::CheckCategoriaChangeRequest>> {
        self.checks.lock().expect("lock").clone()
    }

    pub fn streams(&self) -> Vec<Seen<pp::StreamSoggettiAttiviRequest>> {
        self.streams.lock().expect("lock").clone()
    }
}

struct FakePrestazioni {
    state: Arc<FakeState>,
    tokens: InternalTokens,
}

fn verified(tokens: &InternalTokens, md: &MetadataMap) -> Option<Identity> {
    let token = md.get(IDENTITY_HEADER)?.to_str().ok()?;
    tokens.verify(token).ok()
}

#[tonic::async_trait]
impl PrestazioniInternalService for FakePrestazioni {
    occasionali_runtime::rpc_non_simulate! {
        close_contestazioni(pp::CloseContestazioniRequest) -> pp::CloseContestazioniResponse;
        list_due_prestazioni(pp::ListDuePrestazioniRequest) -> pp::ListDuePrestazioniResponse;
        mark_paid(pp::MarkPaidRequest) -> pp::MarkPaidResponse;
    }
    type StreamSoggettiAttiviStream =
        occasionali_runtime::testing::FlussoVuoto<pp::StreamSoggettiAttiviResponse>;

    async fn check_categoria_change(
        &self,
        request: Request<pp::CheckCategoriaChangeRequest>,
    ) -> Result<Response<pp::CheckCategoriaChangeResponse>, Status> {
        let identity = verified(&self.tokens, request.metadata());
        self.state.checks.lock().expect("lock").push(Seen {
            request: request.into_inner(),
            identity,
        });
        Ok(Response::new(pp::CheckCategoriaChangeResponse {
            has_prestazioni: self.state.has_prestazioni.load(Ordering::SeqCst),
            incoerenti: self.state.incoerenti.lock().expect("lock").clone(),
        }))
    }

    async fn stream_soggetti_attivi(
        &self,
        request: Request<pp::StreamSoggettiAttiviRequest>,
    ) -> Result<Response<BoxStream<pp::StreamSoggettiAttiviResponse>>, Status> {
        let identity = verified(&self.tokens, request.metadata());
        self.state.streams.lock().expect("lock").push(Seen {
            request: request.into_inner(),
            identity,
        });
        let mut list = self.state.attivi.lock().expect("lock").clone();
        if self.state.reverse.load(Ordering::SeqCst) {
            list.reverse();
        }
        let items: Vec<Result<pp::StreamSoggettiAttiviResponse, Status>> = list
            .into_iter()
            .map(|(codice_fiscale, numero_prestazioni)| {
                Ok(pp::StreamSoggettiAttiviResponse {
                    codice_fiscale,
                    numero_prestazioni,
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(items))))
    }
}

// ---------------------------------------------------------------------------------------------
// Servers and the harness

type Server = occasionali_runtime::testing::TestServer;

async fn spawn_server(name: &str, service: &str, routes: Routes) -> anyhow::Result<(String, Server)> {
    let s = Server::spawn(name, service, routes).await?;
    Ok((s.url.clone(), s))
}

occasionali_runtime::deref_chiamanti!(Harness, chi);

/// A running anagrafica with its fake prestazioni.
pub struct Harness {
    client: AnagraficaServiceClient<Channel>,
    /// Where anagrafica listens (its internal service too).
    pub url: String,
    /// The callers (`h.dg()`, `h.op("RM")`, `h.prestatore(cf)`, …), signed with the harness's key.
    chi: Chiamanti,
    pub fake: Arc<FakeState>,
    pub clock: Arc<FixedClock>,
    pub db: sea_orm::DatabaseConnection,
    anagrafica: Option<Server>,
    prestazioni: Option<Server>,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        let tokens = occasionali_runtime::testing::tokens_di_prova(Context::Anagrafica);
        let fake = Arc::new(FakeState::default());
        // What anagrafica calls is prestazioni's internal service (GW-6); the fake verifies
        // the calls as prestazioni would, with its own key (issue 14).
        let routes = Routes::new(PrestazioniInternalServiceServer::new(FakePrestazioni {
            state: fake.clone(),
            tokens: occasionali_runtime::testing::tokens_di_prova(Context::Prestazioni),
        }));
        let (prestazioni_url, prestazioni) = spawn_server(
            "prestazioni-fake",
            "occasionali.prestazioni.v1.PrestazioniInternalService",
            routes,
        )
        .await?;
        let clock = Arc::new(FixedClock::at(ora()));
        let deps = ContextDeps {
            db: t.db.clone(),
            clock: clock.clone(),
            tokens: tokens.clone(),
            endpoints: HashMap::from([(Context::Prestazioni, prestazioni_url)]),
            relay: None,
        };
        let (url, anagrafica) = spawn_server(
            "anagrafica",
            "occasionali.anagrafica.v1.AnagraficaService",
            occasionali_anagrafica::routes(deps)?,
        )
        .await?;
        let channel = Channel::from_shared(url.clone())?.connect().await?;
        Ok(Harness {
            client: AnagraficaServiceClient::new(channel),
            url,
            chi: Chiamanti::new(tokens),
            fake,
            clock,
            db: t.db.clone(),
            anagrafica: Some(anagrafica),
            prestazioni: Some(prestazioni),
        })
    }

    /// A client (cheap: clones share the connection).
    pub fn c(&self) -> AnagraficaServiceClient<Channel> {
        self.client.clone()
    }

    /// Stops the fake prestazioni service: anagrafica's calls to it then fail.
    pub async fn stop_prestazioni(&mut self) {
        if let Some(s) = self.prestazioni.take() {
            s.stop().await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.anagrafica.take() {
            s.stop().await;
        }
        self.stop_prestazioni().await;
    }

    // --- common calls ------------------------------------------------------------------------

    /// Registers `p` as a prestatore, by the person itself.
    pub async fn registra_prestatore(&self, r: pb::RegisterPrestatoreRequest) -> pb::Soggetto {
        let cf = r
            .persona
            .as_ref()
            .map(|p| p.codice_fiscale.clone())
            .unwrap_or_default();
        let res = self.c().register_prestatore(self.prestatore(&cf).req(r)).await;
        ok(res).soggetto.expect("soggetto")
    }

    /// Registers an utilizzatore on behalf of `by`.
    pub async fn registra_utilizzatore(&self, by: &Chi, r: pb::RegisterUtilizzatoreRequest) -> pb::Soggetto {
        ok(self.c().register_utilizzatore(by.req(r)).await)
            .soggetto
            .expect("soggetto")
    }

    /// The record as DG sees it.
    pub async fn leggi(&self, cf: &str) -> pb::Soggetto {
        ok(self.c().get_soggetto(self.dg().req(get(cf))).await)
            .soggetto
            .expect("soggetto")
    }

    /// The whole history as DG sees it, newest first.
    pub async fn storia(&self, cf: &str) -> Vec<pb::Modifica> {
        ok(self
            .c()
            .list_modifiche(self.dg().req(pb::ListModificheRequest {
                codice_fiscale: cf.into(),
                page_size: 500,
                page_token: String::new(),
            }))
            .await)
        .modifiche
    }

    /// The outbox events about `cf`: (topic, payload).
    pub async fn eventi(&self, cf: &str) -> Vec<(String, pb::SoggettoModificato)> {
        occasionali_runtime::outbox::read_all(&self.db)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|e| e.aggregate_id == cf)
            .map(|e| {
                let any = e.payload.expect("payload");
                assert_eq!(
                    any.type_url,
                    "type.googleapis.com/occasionali.anagrafica.v1.SoggettoModificato"
                );
                let p = pb::SoggettoModificato::decode(any.value.as_slice()).expect("payload decodes");
                (e.topic, p)
            })
            .collect()
    }

    /// Version, history length and outbox length of a record: what a refused change must leave
    /// as it was.
    pub async fn stato(&self, cf: &str) -> (i64, usize, usize) {
        (
            self.leggi(cf).await.versione,
            self.storia(cf).await.len(),
            self.eventi(cf).await.len(),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Builders

/// The same person's code with `n` omocodia substitutions.
pub fn omocodico(cf: &str, n: usize) -> String {
    CodiceFiscale::parse(cf)
        .expect("a valid CF")
        .with_omocodia(n)
        .as_str()
        .to_string()
}

/// A valid partita IVA built from its first ten digits (the check digit computed here, as in
/// the Agenzia delle Entrate algorithm, independently of the kernel).
pub fn piva(first10: u64) -> String {
    let digits = format!("{first10:010}");
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

pub fn estero() -> pb::Domicilio {
    pb::Domicilio {
        stato_estero: "Z404".into(),
        citta_estera: "New York".into(),
        indirizzo: "5th Avenue 1, NY 10001".into(),
        ..Default::default()
    }
}

pub fn categoria(tipo: pb::TipoCategoria, dal: &str, al: &str) -> pb::CategoriaDichiarata {
    pb::CategoriaDichiarata {
        tipo: tipo as i32,
        validita: Some(periodo(dal, al)),
        dettaglio: "autocertificazione".into(),
    }
}

pub fn periodo(dal: &str, al: &str) -> Periodo {
    Periodo {
        dal: dal.into(),
        al: al.into(),
    }
}

/// A Libretto Famiglia utilizzatore domiciled in Roma (the kit's [`famiglia`]).
pub fn lf(p: pb::PersonaFisica) -> pb::RegisterUtilizzatoreRequest {
    famiglia(p, roma())
}

/// A CPO natural person (professionista) domiciled in Roma.
pub fn cpo_persona(p: pb::PersonaFisica) -> pb::RegisterUtilizzatoreRequest {
    pb::RegisterUtilizzatoreRequest {
        tipo: pb::TipoUtilizzatore::Cpo as i32,
        persona: Some(p),
        domicilio: Some(roma()),
        contatti: Some(contatti()),
        categoria: pb::CategoriaUtilizzatore::Professionista as i32,
        ateco: ATECO.into(),
        dipendenti_tempo_indeterminato: 0,
        ..Default::default()
    }
}

pub fn get(cf: &str) -> pb::GetSoggettoRequest {
    pb::GetSoggettoRequest {
        codice_fiscale: cf.into(),
    }
}

/// An UpdateSoggetto of the fields in `mask` to the values in `soggetto`.
pub fn update(cf: &str, soggetto: pb::Soggetto, mask: &[&str], nota: &str) -> pb::UpdateSoggettoRequest {
    pb::UpdateSoggettoRequest {
        codice_fiscale: cf.into(),
        soggetto: Some(soggetto),
        update_mask: Some(prost_types::FieldMask {
            paths: mask.iter().map(|p| (*p).to_string()).collect(),
        }),
        nota: nota.into(),
        expected_versione: 0,
    }
}

pub fn con_cognome(cognome: &str) -> pb::Soggetto {
    pb::Soggetto {
        identita: Some(pb::soggetto::Identita::Persona(pb::PersonaFisica {
            cognome: cognome.into(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

pub fn con_email(email: &str) -> pb::Soggetto {
    pb::Soggetto {
        contatti: Some(pb::Contatti {
            email: email.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn con_categoria_cpo(c: pb::CategoriaUtilizzatore) -> pb::Soggetto {
    pb::Soggetto {
        utilizzatore_cpo: Some(pb::Utilizzatore {
            categoria: c as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading answers

/// Every subject of an ANA-9 stream, or the first error.
pub async fn raccogli<M>(
    r: Result<Response<Streaming<M>>, Status>,
    soggetto: impl Fn(M) -> Option<pb::SoggettoAttivo>,
) -> Result<Vec<pb::SoggettoAttivo>, Status> {
    let mut stream = r?.into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.message().await? {
        out.push(soggetto(m).expect("soggetto"));
    }
    Ok(out)
}

/// The codici fiscali of a list, sorted.
pub fn cfs(list: &[pb::SoggettoAttivo]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.codice_fiscale.clone()).collect();
    v.sort();
    v
}

/// The natural person a record is about.
pub fn persona_del(s: &pb::Soggetto) -> &pb::PersonaFisica {
    match &s.identita {
        Some(pb::soggetto::Identita::Persona(p)) => p,
        other => panic!("not a person: {other:?}"),
    }
}
