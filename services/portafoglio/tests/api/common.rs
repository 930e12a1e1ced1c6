//! The test harness: the real portafoglio service on a throw-away database (SQLite or
//! PostgreSQL), the real anagrafica on its own database, the builders and readings of
//! portafoglio's own requests and answers, and the ledger checks run after every scenario.
//! Callers, people and answers come from the one test kit (`occasionali_runtime::testing`).

use std::collections::HashMap;
use std::sync::Arc;

use occasionali_kernel::clock::FixedClock;
use occasionali_proto::anagrafica as ana;
use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
use occasionali_proto::portafoglio as pb;
use occasionali_proto::portafoglio::portafoglio_internal_service_client::PortafoglioInternalServiceClient;
use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
use occasionali_runtime::app::ContextDeps;
use occasionali_runtime::context::Context;
pub use occasionali_runtime::testing::persone::{
    IBAN, OP_DG, OP_RM, PIVA, cf_sconosciuto, contatti, conto, impresa, istante, milano, ora, persona,
    persona_n, roma,
};
pub use occasionali_runtime::testing::{Chi, invalid, metadata_of, ok, reason_of, rule_of};
use occasionali_runtime::testing::{Chiamanti, TestDb, err};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};

/// Nobody listens here: prestazioni is not part of these tests (its limits are absent).
const PRESTAZIONI_ASSENTE: &str = "http://127.0.0.1:9";

// ---------------------------------------------------------------------------------------------
// Servers

type Server = occasionali_runtime::testing::TestServer;

async fn spawn_server(name: &str, service: &str, routes: Routes) -> anyhow::Result<(String, Server)> {
    let s = Server::spawn(name, service, routes).await?;
    Ok((s.url.clone(), s))
}

occasionali_runtime::deref_chiamanti!(Harness, chi);

/// A running portafoglio (one or more instances on the same database) with a real anagrafica.
pub struct Harness {
    pub url: String,
    client: PortafoglioServiceClient<Channel>,
    interno: PortafoglioInternalServiceClient<Channel>,
    anagrafica_client: AnagraficaServiceClient<Channel>,
    /// The callers (`h.dg()`, `h.op("RM")`, `h.flusso()`, `h.prestazioni()`, …),
    /// signed with the harness's key.
    chi: Chiamanti,
    pub clock: Arc<FixedClock>,
    pub db: DatabaseConnection,
    pub anagrafica_url: String,
    servers: Vec<Server>,
    anagrafica_db: Option<TestDb>,
    extra_dbs: Vec<DatabaseConnection>,
}

impl Harness {
    pub async fn start(t: &TestDb) -> anyhow::Result<Harness> {
        // Each context signs with its own key (issue 14).
        let tokens = occasionali_runtime::testing::tokens_di_prova(Context::Portafoglio);
        let clock = Arc::new(FixedClock::at(ora()));
        let anagrafica_db = TestDb::new::<occasionali_anagrafica::Migrator>(t.engine, "anagrafica")
            .await?
            .ok_or_else(|| anyhow::anyhow!("the engine of the test is available"))?;
        let (anagrafica_url, anagrafica) = spawn_server(
            "anagrafica",
            "occasionali.anagrafica.v1.AnagraficaService",
            occasionali_anagrafica::routes(ContextDeps {
                db: anagrafica_db.db.clone(),
                clock: clock.clone(),
                tokens: occasionali_runtime::testing::tokens_di_prova(Context::Anagrafica),
                endpoints: HashMap::from([(Context::Prestazioni, PRESTAZIONI_ASSENTE.to_string())]),
                relay: None,
            })?,
        )
        .await?;
        let mut h = Harness {
            url: String::new(),
            client: PortafoglioServiceClient::new(Channel::from_static("http://127.0.0.1:9").connect_lazy()),
            interno: PortafoglioInternalServiceClient::new(
                Channel::from_static("http://127.0.0.1:9").connect_lazy(),
            ),
            anagrafica_client: AnagraficaServiceClient::new(
                Channel::from_shared(anagrafica_url.clone())?.connect().await?,
            ),
            chi: Chiamanti::new(tokens),
            clock,
            db: t.db.clone(),
            anagrafica_url,
            servers: vec![anagrafica],
            anagrafica_db: Some(anagrafica_db),
            extra_dbs: Vec::new(),
        };
        h.url = h.add_instance(t.db.clone()).await?;
        let channel = Channel::from_shared(h.url.clone())?.connect().await?;
        h.client = PortafoglioServiceClient::new(channel.clone());
        h.interno = PortafoglioInternalServiceClient::new(channel);
        Ok(h)
    }

    pub fn deps(&self, db: DatabaseConnection) -> ContextDeps {
        ContextDeps {
            db,
            clock: self.clock.clone(),
            tokens: self.chi.tokens().clone(),
            // No prestazioni: the riepilogo shows no limits and the payout has no contests to
            // close nor prestazioni to mark (the cluster e2e covers both with the real context).
            endpoints: HashMap::from([(Context::Anagrafica, self.anagrafica_url.clone())]),
            relay: None,
        }
    }

    /// Serves one more portafoglio instance on `db`; returns its URL.
    pub async fn add_instance(&mut self, db: DatabaseConnection) -> anyhow::Result<String> {
        let (url, server) = spawn_server(
            "portafoglio",
            "occasionali.portafoglio.v1.PortafoglioService",
            occasionali_portafoglio::routes(self.deps(db))?,
        )
        .await?;
        self.servers.push(server);
        Ok(url)
    }

    /// A second replica: its own connection pool on the same database, its own server.
    pub async fn add_replica(&mut self, t: &TestDb) -> anyhow::Result<String> {
        let db = occasionali_runtime::db::connect(&t.url, 8).await?;
        self.extra_dbs.push(db.clone());
        self.add_instance(db).await
    }

    /// A client (cheap: clones share the connection).
    pub fn c(&self) -> PortafoglioServiceClient<Channel> {
        self.client.clone()
    }

    /// A client on its own new connection.
    pub async fn c_nuovo(&self, url: &str) -> PortafoglioServiceClient<Channel> {
        PortafoglioServiceClient::new(
            Channel::from_shared(url.to_string())
                .expect("url")
                .connect()
                .await
                .expect("connect"),
        )
    }

    /// The internal service (GW-6: the saga's steps, `sistema` only), on the same connection.
    pub fn i(&self) -> PortafoglioInternalServiceClient<Channel> {
        self.interno.clone()
    }

    /// The internal service on its own new connection.
    pub async fn i_nuovo(&self, url: &str) -> PortafoglioInternalServiceClient<Channel> {
        PortafoglioInternalServiceClient::new(
            Channel::from_shared(url.to_string())
                .expect("url")
                .connect()
                .await
                .expect("connect"),
        )
    }

    pub fn a(&self) -> AnagraficaServiceClient<Channel> {
        self.anagrafica_client.clone()
    }

    /// Checks the ledger (POR-1), then stops everything.
    pub async fn fine(mut self) {
        verifica_libro(&self).await;
        for s in self.servers.drain(..).rev() {
            s.stop().await;
        }
        for db in self.extra_dbs.drain(..) {
            occasionali_runtime::db::close(db, std::time::Duration::from_secs(5)).await;
        }
        if let Some(a) = self.anagrafica_db.take() {
            a.close().await.expect("anagrafica db closed");
        }
    }

    // --- callers -----------------------------------------------------------------------------

    /// Prestazioni, the caller of the internal service (the saga's steps), and the platform
    /// service these tests call as: `sistema` named SISTEMA-PRESTAZIONI.
    pub fn prestazioni(&self) -> Chi {
        self.servizio("prestazioni")
    }

    /// Prestazioni calling for its client `origin` (GW-6: the client's scope travels with it).
    pub fn prestazioni_per(&self, origin: &Chi) -> Chi {
        self.servizio("prestazioni").per(origin)
    }

    // --- registry ----------------------------------------------------------------------------

    /// Registers a Libretto Famiglia utilizzatore (by the person) domiciled in `dom`.
    pub async fn registra_lf(&self, p: &ana::PersonaFisica, dom: ana::Domicilio) {
        let r = ana::RegisterUtilizzatoreRequest {
            tipo: ana::TipoUtilizzatore::LibrettoFamiglia as i32,
            persona: Some(p.clone()),
            domicilio: Some(dom),
            contatti: Some(contatti()),
            ..Default::default()
        };
        ok(self
            .a()
            .register_utilizzatore(self.utilizzatore(&p.codice_fiscale).req(r))
            .await);
    }

    /// Registers a CPO company (by DG, with the note operators must give).
    pub async fn registra_azienda(&self, piva: &str, legale: &str, dom: ana::Domicilio) {
        let r = ana::RegisterUtilizzatoreRequest {
            nota: "registrazione d'ufficio per il test".into(),
            ..impresa(piva, legale, dom)
        };
        ok(self.a().register_utilizzatore(self.dg().req(r)).await);
    }

    /// Registers a prestatore (by the person), paid on `metodo`.
    pub async fn registra_prestatore(&self, p: &ana::PersonaFisica, metodo: ana::MetodoPagamento) {
        let r = ana::RegisterPrestatoreRequest {
            persona: Some(p.clone()),
            domicilio: Some(roma()),
            contatti: Some(contatti()),
            metodo_pagamento: Some(metodo),
            ..Default::default()
        };
        ok(self
            .a()
            .register_prestatore(self.prestatore(&p.codice_fiscale).req(r))
            .await);
    }

    // --- wallet calls ------------------------------------------------------------------------

    /// A pagoPA payment by the feed, credited to `cf`'s wallet of type `tipo`.
    pub async fn paga(
        &self,
        id_pagamento: &str,
        cf: &str,
        tipo: pb::TipoPortafoglio,
        importo: &str,
    ) -> pb::NotifyPagoPaResponse {
        ok(self
            .c()
            .notify_pago_pa(self.flusso().req(pagopa(id_pagamento, cf, tipo, importo)))
            .await)
    }

    /// Imports F24 records as the payments feed.
    pub async fn importa(&self, records: Vec<pb::RecordF24>) -> Result<pb::ImportF24Response, Status> {
        self.importa_come(&self.flusso(), records).await
    }

    pub async fn importa_come(
        &self,
        who: &Chi,
        records: Vec<pb::RecordF24>,
    ) -> Result<pb::ImportF24Response, Status> {
        let msgs: Vec<pb::ImportF24Request> = records
            .into_iter()
            .map(|r| pb::ImportF24Request { record: Some(r) })
            .collect();
        self.c()
            .import_f24(who.req(tokio_stream::iter(msgs)))
            .await
            .map(Response::into_inner)
    }

    pub async fn riserva(&self, r: pb::ReserveFundsRequest) -> Result<pb::Reservation, Status> {
        self.i()
            .reserve_funds(self.prestazioni().req(r))
            .await
            .map(|r| r.into_inner().reservation.expect("reservation"))
    }

    pub async fn riepilogo(&self, cf: &str, tipo: pb::TipoPortafoglio) -> pb::Riepilogo {
        ok(self
            .c()
            .get_riepilogo(self.dg().req(pb::GetRiepilogoRequest {
                portafoglio: Some(w(cf, tipo)),
                anno: 2026,
            }))
            .await)
        .riepilogo
        .expect("riepilogo")
    }

    /// (disponibile, riservato, debito, rimborso_richiesto) of a wallet.
    pub async fn saldi(&self, cf: &str, tipo: pb::TipoPortafoglio) -> (String, String, String, String) {
        let r = self.riepilogo(cf, tipo).await;
        (r.disponibile, r.riservato, r.debito, r.rimborso_richiesto)
    }

    pub async fn movimenti(&self, cf: &str, tipo: pb::TipoPortafoglio) -> Vec<pb::Movimento> {
        ok(self
            .c()
            .list_movimenti(self.dg().req(pb::ListMovimentiRequest {
                portafoglio: Some(w(cf, tipo)),
                periodo: None,
                page_size: 500,
                page_token: String::new(),
            }))
            .await)
        .movimenti
    }

    /// The ledger balance by account kind, as DG sees it.
    pub async fn bilancio(&self) -> pb::GetLedgerBalanceResponse {
        ok(self
            .c()
            .get_ledger_balance(self.dg().req(pb::GetLedgerBalanceRequest::default()))
            .await)
    }

    pub async fn saldo_conto(&self, tipo: pb::TipoConto) -> String {
        self.bilancio()
            .await
            .saldi
            .into_iter()
            .find(|s| s.conto.as_ref().map(|c| c.tipo) == Some(tipo as i32))
            .map(|s| s.saldo)
            .unwrap_or_default()
    }

    /// The outbox events of a topic, decoded.
    pub async fn eventi<M: Message + Default>(&self, topic: &str) -> Vec<M> {
        occasionali_runtime::outbox::read_all(&self.db)
            .await
            .expect("outbox")
            .into_iter()
            .filter(|e| e.topic == topic)
            .map(|e| M::decode(e.payload.expect("payload").value.as_slice()).expect("payload decodes"))
            .collect()
    }
}

/// POR-1 after every scenario: the ledger sums to zero, every cached balance equals the sum of
/// its entries, no wallet balance is out of sign, and the API agrees.
pub async fn verifica_libro(h: &Harness) {
    let db = &h.db;
    let q = |sql: &str| Statement::from_string(db.get_database_backend(), sql.to_string());
    let rows = db
        .query_all_raw(q(
            "SELECT id, tipo, CAST(saldo AS BIGINT) AS saldo FROM conti ORDER BY id",
        ))
        .await
        .expect("balances");
    let mut totale: i64 = 0;
    for r in &rows {
        let id: String = r.try_get("", "id").expect("id");
        let tipo: String = r.try_get("", "tipo").expect("tipo");
        let saldo: i64 = r.try_get("", "saldo").expect("saldo");
        totale += saldo;
        let p = |col: &str| {
            format!(
                "SELECT CAST(COALESCE(SUM(importo), 0) AS BIGINT) AS s FROM movimenti WHERE {col} = '{id}'"
            )
        };
        let cr: i64 = db
            .query_one_raw(q(&p("conto_accredito")))
            .await
            .expect("credits")
            .expect("row")
            .try_get("", "s")
            .expect("sum");
        let de: i64 = db
            .query_one_raw(q(&p("conto_addebito")))
            .await
            .expect("debits")
            .expect("row")
            .try_get("", "s")
            .expect("sum");
        assert_eq!(saldo, cr - de, "cached balance of {id} differs from its entries");
        match tipo.as_str() {
            "DISPONIBILE" | "RISERVATO" | "RIMBORSO_RICHIESTO" => assert!(saldo >= 0, "{id} below zero"),
            "DEBITO" => assert!(saldo <= 0, "{id} above zero"),
            _ => {}
        }
    }
    assert_eq!(totale, 0, "POR-1: the ledger does not sum to zero");
    let b = h.bilancio().await;
    assert_eq!(b.totale, "0.00");
    assert!(b.bilanciato, "GetLedgerBalance says the ledger is not balanced");
}

// ---------------------------------------------------------------------------------------------
// Builders

pub fn bonifico_domiciliato() -> ana::MetodoPagamento {
    ana::MetodoPagamento {
        tipo: ana::TipoMetodoPagamento::BonificoDomiciliato as i32,
        iban: String::new(),
    }
}

pub const LF: pb::TipoPortafoglio = pb::TipoPortafoglio::LibrettoFamiglia;
pub const CPO: pb::TipoPortafoglio = pb::TipoPortafoglio::Cpo;

pub fn w(cf: &str, tipo: pb::TipoPortafoglio) -> pb::PortafoglioRef {
    pb::PortafoglioRef {
        utilizzatore_cf: cf.into(),
        tipo: tipo as i32,
    }
}

pub fn pagopa(id: &str, cf: &str, tipo: pb::TipoPortafoglio, importo: &str) -> pb::NotifyPagoPaRequest {
    pb::NotifyPagoPaRequest {
        id_pagamento: id.into(),
        iuv: format!("IUV-{id}"),
        codice_fiscale_versante: cf.into(),
        tipo_portafoglio: tipo as i32,
        importo: importo.into(),
        pagato_il: Some(istante(ora())),
    }
}

/// An F24 ELIDE record: tipo I, codice LIFA or CLOC, year 2026.
pub fn f24(id: &str, cf: &str, codice: pb::CodiceTributo, importo: &str) -> pb::RecordF24 {
    pb::RecordF24 {
        id_pagamento: id.into(),
        modello: pb::ModelloF24::Elide as i32,
        codice_fiscale_versante: cf.into(),
        tipo: "I".into(),
        codice_tributo: codice as i32,
        anno: 2026,
        importo: importo.into(),
        riferimento_a: String::new(),
        riferimento_b: String::new(),
        data_versamento: "2026-06-01".into(),
    }
}

/// An F24 EP record of a public administration: CLOC, rif. A 00MM, rif. B AAAA.
pub fn f24_ep(id: &str, cf: &str, importo: &str, mese: &str, anno: &str) -> pb::RecordF24 {
    pb::RecordF24 {
        modello: pb::ModelloF24::Ep as i32,
        codice_tributo: pb::CodiceTributo::Cloc as i32,
        anno: 0,
        riferimento_a: mese.into(),
        riferimento_b: anno.into(),
        ..f24(id, cf, pb::CodiceTributo::Cloc, importo)
    }
}

/// A Libretto Famiglia titolo: 8.00 + 1.65 + 0.25 + 0.10 = 10.00 (SPEC §3).
pub fn costo_lf() -> pb::CostoPrestazione {
    costo("8.00", "1.65", "0.25", "0.10", "10.00")
}

/// One CPO hour at the minimum: 9.00 + 2.97 + 0.32 + 0.12 = 12.41 (SPEC §3).
pub fn costo_ora_cpo() -> pb::CostoPrestazione {
    costo("9.00", "2.97", "0.32", "0.12", "12.41")
}

/// A CPO day at the minimum: 36.00 + 11.88 + 1.26 + 0.49 = 49.63 (SPEC §3).
pub fn costo_giorno_cpo() -> pb::CostoPrestazione {
    costo("36.00", "11.88", "1.26", "0.49", "49.63")
}

pub fn costo(compenso: &str, ivs: &str, inail: &str, oneri: &str, totale: &str) -> pb::CostoPrestazione {
    pb::CostoPrestazione {
        compenso: compenso.into(),
        contributi_ivs: ivs.into(),
        premio_inail: inail.into(),
        oneri_gestione: oneri.into(),
        totale: totale.into(),
    }
}

pub fn riserva(
    pid: &str,
    utilizzatore: &str,
    tipo: pb::TipoPortafoglio,
    prestatore: &str,
    giorno: &str,
    costo: pb::CostoPrestazione,
) -> pb::ReserveFundsRequest {
    pb::ReserveFundsRequest {
        prestazione_id: pid.into(),
        portafoglio: Some(w(utilizzatore, tipo)),
        prestatore_cf: prestatore.into(),
        data_prestazione: giorno.into(),
        costo: Some(costo),
        reintegro: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Assertions

/// The status of a failed call, checked to carry `code` and the rule (every error of
/// portafoglio names it). Takes any result, so it also checks the harness's own calls
/// (`h.riserva`, `h.importa`), which answer the message rather than the response.
#[track_caller]
pub fn rifiuto<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, rule: &str) -> Status {
    let s = err(r.map(Response::new), code);
    let rules = rule_of(&s);
    assert!(
        rules.split(',').any(|r| r == rule),
        "rule {rule} not in ErrorInfo rule {rules:?} ({})",
        s.message()
    );
    s
}

/// The FondiInsufficienti detail of a POR-4 refusal.
pub fn fondi_insufficienti(s: &Status) -> Option<pb::FondiInsufficienti> {
    let status = tonic_types::pb::Status::decode(s.details()).ok()?;
    status
        .details
        .iter()
        .find(|a| {
            a.type_url
                .ends_with("occasionali.portafoglio.v1.FondiInsufficienti")
        })
        .and_then(|a| pb::FondiInsufficienti::decode(a.value.as_slice()).ok())
}
