//! The gRPC adapter: decode → decide (domain) → persist (store, one transaction with its
//! outbox event) → encode.

use occasionali_runtime::RequestIdentity;
use std::pin::Pin;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures::Stream;
use occasionali_kernel::{SharedClock, calendar};
use occasionali_proto::comunicazioni as pb;
use occasionali_proto::comunicazioni::comunicazioni_service_server::ComunicazioniService;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity, Profile, Violations};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use tonic::{Request, Response, Status};

use crate::decode;
use crate::domain::accesso::{self, Chiavi, ChiaviDate, Profilo};
use crate::domain::catena::{self, Azione, Bersaglio, Fase};
use crate::domain::soglia::{Avviso, TotaleAnno};
use crate::domain::*;
use crate::encode;
use crate::events;
use crate::ricevuta;
use crate::store::{self, Registrata, Richiesta};
use occasionali_runtime::pagina::{Pagina, impronta};

pub struct Comunicazioni {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub registro: crate::anagrafica::Registro,
    pub deleghe: Option<crate::deleghe::Deleghe>,
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Receipt chunk size for DownloadRicevuta.
const CHUNK: usize = 16 * 1024;
/// Longest client request id.
const MAX_REQUEST_ID: usize = 128;

/// Every violation collected, or the decoded value. A `None` without a violation would be a
/// decoder bug: it is still the caller's request that is incomplete, never INTERNAL.
fn completo<T>(v: Violations, x: Option<T>) -> Result<T, AppError> {
    v.check()?;
    x.ok_or_else(|| AppError::invalid("", "LAO-3", "LAO_3_INCOMPLETE", "the request is incomplete"))
}

fn chiavi(r: &Registrata) -> Chiavi<'_> {
    Chiavi {
        committente_cf: &r.com.contenuto.committente.cf,
        lavoratore_cf: &r.com.contenuto.lavoratore.cf,
        compilatore_cf: &r.com.invio.compilatore_cf,
    }
}

fn non_trovata(codice: &str) -> AppError {
    AppError::NotFound(format!("comunicazione {codice}"))
}

impl Comunicazioni {
    /// The caller's LAO profile (LAO-1). A natural person using the azienda profile (not under
    /// a delega) acts for a company it legally represents in the registry (ANA-8), named as the
    /// request's committente CF (`field`); it stays the compilatore of what it sends.
    async fn profilo(&self, id: &Identity, field: &str, committente: &str) -> Result<Profilo, AppError> {
        let profilo = accesso::profilo(id)?;
        let Profilo::Azienda { cf: persona } = &profilo else {
            return Ok(profilo);
        };
        if id.on_behalf_of.is_some() || persona.len() != 16 {
            return Ok(profilo);
        }
        let azienda = committente.trim().to_ascii_uppercase();
        if azienda.is_empty() {
            return Err(AppError::invalid(
                field,
                "LAO-1",
                "LAO_1_COMPANY_REQUIRED",
                "a person with the azienda profile names the company it acts for (see ListProfiliOperativi)",
            ));
        }
        if !self.registro.rappresenta(persona, &azienda, id).await? {
            return Err(AppError::denied(
                "LAO-1",
                "LAO_1_NOT_LEGAL_REPRESENTATIVE",
                format!("the registry does not hold the caller as legal representative of {azienda}"),
            ));
        }
        Ok(Profilo::Azienda { cf: azienda })
    }

    /// "Scegli per chi intendi operare" (LAO-1): the caller itself, as soggetto abilitato when
    /// its token has that profile, and each company it legally represents (ANA-8). A company's
    /// own token: its azienda profile only.
    async fn profili(&self, id: &Identity) -> Result<Vec<pb::ProfiloOperativo>, AppError> {
        use pb::TipoProfiloOperativo as T;
        if id.is_operator() || matches!(id.profile(), Profile::Sistema | Profile::FlussoPagamenti) {
            return Err(AppError::denied(
                "LAO-1",
                "LAO_1_PROFILE",
                format!("{} does not choose whom to act for", id.profile()),
            ));
        }
        let cf = id.caller.cf.trim().to_ascii_uppercase();
        let profilo = |tipo: T, cf: &str, denominazione: &str, p: Profile| pb::ProfiloOperativo {
            tipo: tipo as i32,
            codice_fiscale: cf.to_string(),
            denominazione: denominazione.to_string(),
            profilo: p.as_str().to_string(),
            ..Default::default()
        };
        if cf.len() != 16 {
            return Ok(vec![profilo(T::Azienda, &cf, &cf, Profile::Azienda)]);
        }
        let mut out = vec![profilo(T::Cittadino, &cf, &cf, Profile::Prestatore)];
        if id.profile() == Profile::SoggettoAbilitato {
            out.push(profilo(
                T::SoggettoAbilitato,
                &cf,
                &cf,
                Profile::SoggettoAbilitato,
            ));
        }
        for (azienda, denominazione) in self.registro.rappresentate(&cf, id).await? {
            out.push(profilo(T::Azienda, &azienda, &denominazione, Profile::Azienda));
        }
        // Clients under a valid delega (consulente del lavoro, intermediary): the caller keeps
        // its own token and names the client with the on-behalf-of headers (DEL-2).
        if let Some(deleghe) = &self.deleghe {
            for c in deleghe.clienti(&cf, id).await? {
                let denominazione = self
                    .registro
                    .denominazione(&c.delegante_cf, id)
                    .await?
                    .unwrap_or_else(|| c.delegante_cf.clone());
                out.push(pb::ProfiloOperativo {
                    tipo: T::Delega as i32,
                    codice_fiscale: c.delegante_cf,
                    denominazione,
                    profilo: id.profile().as_str().to_string(),
                    ruolo: c.ruolo,
                    delega_id: c.delega_id,
                });
            }
        }
        Ok(out)
    }

    /// Section 1 as sent: for an Azienda, its company's record in the registry, whatever the
    /// request says (LAO-1, LAO-7), the same for a P and a V; for others, the request's.
    async fn sezione_committente(
        &self,
        id: &Identity,
        profilo: &Profilo,
        richiesto: Option<&pb::Committente>,
    ) -> Result<Option<pb::Committente>, AppError> {
        match profilo {
            Profilo::Azienda { cf } => {
                let email = richiesto.map(|c| c.email.as_str()).unwrap_or_default();
                Ok(Some(self.registro.committente(cf, email, id).await?))
            }
            _ => Ok(richiesto.cloned()),
        }
    }

    fn adesso(&self) -> (DateTime<Utc>, NaiveDate) {
        let ora = self.clock.now();
        (ora, calendar::rome_date(ora))
    }

    /// The caller-scoped request key of an optional request id (AIP-155), with the request's
    /// fingerprint.
    fn richiesta(
        id: &Identity,
        rpc: &str,
        request_id: &str,
        request: &impl Message,
    ) -> Result<Option<Richiesta>, AppError> {
        let request_id = request_id.trim();
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.chars().count() > MAX_REQUEST_ID || request_id.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "request_id",
                "LAO-5",
                "LAO_5_REQUEST_ID",
                format!("at most {MAX_REQUEST_ID} printable characters"),
            ));
        }
        let mut bytes = rpc.as_bytes().to_vec();
        bytes.extend(request.encode_to_vec());
        Ok(Some(Richiesta {
            key: format!("{}|{request_id}", id.caller.cf),
            impronta: format!("{:016x}", occasionali_kernel::ids::fnv1a(&bytes)),
        }))
    }

    /// A retry of a request already carried out: the communication it produced.
    async fn rigioca(&self, q: &Richiesta) -> Result<Option<pb::Comunicazione>, AppError> {
        let Some((codice, impronta)) = store::per_richiesta(&self.db, &q.key).await? else {
            return Ok(None);
        };
        if impronta != q.impronta {
            return Err(AppError::already_exists(
                "LAO-5",
                "LAO_5_REQUEST_ID_REUSED",
                "this request_id was already used for a different request",
            ));
        }
        let r = store::carica(&self.db, &codice)
            .await?
            .ok_or_else(|| non_trovata(&codice))?;
        let avvisi = self.avvisi(&self.db, &r.com).await?;
        Ok(Some(encode::registrata(&r, self.adesso().1, avvisi)))
    }

    /// The Gestione Separata warning for the worker and year of `c`.
    async fn avvisi(&self, db: &impl ConnectionTrait, c: &Comunicazione) -> Result<Vec<Avviso>, AppError> {
        if c.tipo() == Tipo::A {
            return Ok(Vec::new());
        }
        let t: TotaleAnno = store::totale_anno(
            db,
            &c.contenuto.lavoratore.cf,
            c.contenuto.rapporto.data_inizio.year(),
        )
        .await?;
        Ok(t.avviso().into_iter().collect())
    }

    /// A fresh codice, checked unused (LAO-5).
    async fn nuovo_codice(txn: &DatabaseTransaction) -> Result<CodiceComunicazione, AppError> {
        for _ in 0..5 {
            let codice = CodiceComunicazione::genera(&mut rand::rng());
            if !store::esiste(txn, codice.as_str()).await? {
                return Ok(codice);
            }
        }
        Err(AppError::internal("no unused codice comunicazione after 5 draws"))
    }

    /// Writes a new communication with its event (and binds an azienda's company, LAO-7), in
    /// `txn`; replaces `testa` first for a V or A (LAO-11). Returns the warnings.
    async fn scrivi(
        &self,
        txn: DatabaseTransaction,
        com: &Comunicazione,
        origine: &str,
        testa: Option<&Registrata>,
        profilo: &Profilo,
        richiesta: Option<&Richiesta>,
    ) -> Result<Vec<Avviso>, AppError> {
        if let Some(t) = testa
            && !store::sostituisci(&txn, t.com.codice(), com.codice()).await?
        {
            let ora_testa = store::testa(&txn, &t.origine).await?.unwrap_or_default();
            return Err(AppError::aborted(
                "LAO-11",
                "LAO_11_NO_LONGER_HEAD",
                format!(
                    "{} was varied or cancelled concurrently: the head of the chain is now {ora_testa}",
                    t.com.codice()
                ),
            ));
        }
        store::inserisci(&txn, com, origine, richiesta).await?;
        if let Profilo::Azienda { cf } = profilo {
            store::vincola(&txn, cf, com.invio.inviata_il).await?;
        }
        events::inviata(&txn, com).await?;
        let avvisi = self.avvisi(&txn, com).await?;
        txn.commit().await?;
        tracing::info!(
            codice = %com.codice(),
            tipo = com.tipo().as_str(),
            precedente = com.invio.codice_precedente.as_deref().unwrap_or(""),
            "comunicazione inviata"
        );
        Ok(avvisi)
    }

    /// A lost race on a request with an id may be our own retry that won: answer as a retry.
    async fn dopo_errore(
        &self,
        e: AppError,
        richiesta: Option<&Richiesta>,
    ) -> Result<pb::Comunicazione, AppError> {
        if let (AppError::Aborted { .. }, Some(q)) = (&e, richiesta)
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        Err(e)
    }

    async fn inserisci(
        &self,
        id: &Identity,
        r: pb::InsertComunicazioneRequest,
    ) -> Result<pb::Comunicazione, AppError> {
        let richiesto = r
            .committente
            .as_ref()
            .map(|c| c.codice_fiscale.as_str())
            .unwrap_or_default();
        let profilo = self.profilo(id, "committente.codice_fiscale", richiesto).await?;
        accesso::puo_inviare(&profilo)?;
        let committente_cf = accesso::committente_inviabile(&profilo, richiesto)?;
        let richiesta = Self::richiesta(id, "InsertComunicazione", &r.request_id, &r)?;
        if let Some(q) = &richiesta
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        let committente = self
            .sezione_committente(id, &profilo, r.committente.as_ref())
            .await?;
        let (ora, oggi) = self.adesso();
        let mut v = Violations::new();
        let contenuto = decode::contenuto(
            &mut v,
            committente.as_ref(),
            &committente_cf,
            r.lavoratore.as_ref(),
            r.rapporto.as_ref(),
            oggi,
            Some(InizioMinimo::preventiva(oggi)),
        );
        let email = decode::email(&mut v, "compilatore_email", "LAO-5", &r.compilatore_email);
        let (contenuto, email) = completo(v, contenuto.zip(email))?;
        let invio = Invio {
            compilatore_cf: id.caller.cf.trim().to_ascii_uppercase(),
            compilatore_email: email,
            ora,
            oggi,
        };
        let result = async {
            let txn = begin_write(&self.db).await?;
            let codice = Self::nuovo_codice(&txn).await?;
            let com = Comunicazione::preventiva(contenuto, invio, codice);
            let avvisi = self
                .scrivi(txn, &com, com.codice(), None, &profilo, richiesta.as_ref())
                .await?;
            Ok::<_, AppError>(encode::comunicazione(&com, None, oggi, avvisi))
        }
        .await;
        match result {
            Ok(c) => Ok(c),
            Err(e) => self.dopo_errore(e, richiesta.as_ref()).await,
        }
    }

    /// The head a V or A targets, checked for access (LAO-1) and chain state (LAO-6, LAO-9).
    async fn bersaglio(
        &self,
        txn: &DatabaseTransaction,
        profilo: &Profilo,
        codice: &CodiceComunicazione,
        date: &ChiaviDate,
        azione: Azione,
        oggi: NaiveDate,
    ) -> Result<(Registrata, Fase), AppError> {
        let testa = store::carica(txn, codice.as_str())
            .await?
            .ok_or_else(|| non_trovata(codice.as_str()))?;
        // An A's keys are looked up as a search's (LAO-1, LAO-2): keys that do not match answer
        // NOT_FOUND, as an unknown codice does. A V's CFs are its new sections, checked by LAO-7.
        if azione == Azione::Annullamento && !date.combaciano(&chiavi(&testa)) {
            return Err(non_trovata(codice.as_str()));
        }
        let compilata = match profilo {
            Profilo::SoggettoAbilitato { cf } => {
                store::compilata_nella_catena(txn, &testa.origine, cf).await?
            }
            _ => false,
        };
        accesso::puo_sostituire(profilo, &chiavi(&testa), compilata, date)?;
        let attuale = match &testa.successiva {
            Some(_) => store::testa(txn, &testa.origine).await?.unwrap_or_default(),
            None => testa.com.codice().to_string(),
        };
        let fase = catena::transizione(
            azione,
            &Bersaglio {
                tipo: testa.com.tipo(),
                successiva: testa.successiva.as_deref(),
                testa_attuale: &attuale,
                data_inizio: testa.com.contenuto.rapporto.data_inizio,
            },
            oggi,
        )?;
        Ok((testa, fase))
    }

    async fn varia(
        &self,
        id: &Identity,
        r: pb::VaryComunicazioneRequest,
    ) -> Result<pb::Comunicazione, AppError> {
        let profilo = self
            .profilo(
                id,
                "committente.codice_fiscale",
                r.committente
                    .as_ref()
                    .map(|c| c.codice_fiscale.as_str())
                    .unwrap_or_default(),
            )
            .await?;
        accesso::puo_inviare(&profilo)?;
        let mut v = Violations::new();
        let codice = decode::codice(&mut v, "codice_comunicazione", &r.codice_comunicazione);
        let codice = completo(v, codice)?;
        let richiesta = Self::richiesta(id, "VaryComunicazione", &r.request_id, &r)?;
        if let Some(q) = &richiesta
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        // The committente CF an azienda may act for; for a soggetto abilitato the two CFs of
        // the request are the other two of the three keys (LAO-1).
        let richiesto = r
            .committente
            .as_ref()
            .map(|c| c.codice_fiscale.as_str())
            .unwrap_or_default();
        let committente_cf = accesso::committente_inviabile(&profilo, richiesto)?;
        let mut v = Violations::new();
        let date = ChiaviDate {
            committente_cf: decode::cf_chiave(&mut v, "committente.codice_fiscale", &committente_cf),
            lavoratore_cf: decode::cf_chiave(
                &mut v,
                "lavoratore.codice_fiscale",
                r.lavoratore
                    .as_ref()
                    .map(|l| l.codice_fiscale.as_str())
                    .unwrap_or_default(),
            ),
        };
        v.check()?;
        let dal_registro = match profilo {
            Profilo::Azienda { .. } => {
                self.sezione_committente(id, &profilo, r.committente.as_ref())
                    .await?
            }
            _ => None,
        };
        let (ora, oggi) = self.adesso();
        let result = async {
            let txn = begin_write(&self.db).await?;
            let (testa, fase) = self
                .bersaglio(&txn, &profilo, &codice, &date, Azione::Variazione, oggi)
                .await?;
            // A section left out is unchanged; section 1 given without its CF keeps the
            // head's (it never changes).
            let attuale = &testa.com.contenuto;
            let committente = match (&dal_registro, &r.committente) {
                (Some(c), _) => c.clone(),
                (None, None) => encode::committente(&attuale.committente),
                (None, Some(c)) => c.clone(),
            };
            let lavoratore = match &r.lavoratore {
                None => encode::lavoratore(&attuale.lavoratore),
                Some(l) => l.clone(),
            };
            let rapporto = match &r.rapporto {
                None => encode::rapporto(&attuale.rapporto),
                Some(ra) => ra.clone(),
            };
            let committente_cf = if committente_cf.is_empty() {
                attuale.committente.cf.clone()
            } else {
                committente_cf.clone()
            };
            let minimo = match fase {
                Fase::FinoAllInizio => Some(InizioMinimo::variazione(oggi, attuale.rapporto.data_inizio)),
                Fase::DopoLInizio => None,
            };
            let mut v = Violations::new();
            let nuovo = decode::contenuto(
                &mut v,
                Some(&committente),
                &committente_cf,
                Some(&lavoratore),
                Some(&rapporto),
                oggi,
                minimo,
            );
            let email = decode::email(&mut v, "compilatore_email", "LAO-5", &r.compilatore_email);
            let (nuovo, email) = completo(v, nuovo.zip(email))?;
            // An Azienda's section 1 is the registry's, not the caller's: nothing to refuse.
            // Others may not change a bound committente's data (LAO-7).
            let vincolato = dal_registro.is_none() && store::vincolato(&txn, &attuale.committente.cf).await?;
            variazione::controlla(attuale, &nuovo, fase, vincolato)?;
            let codice = Self::nuovo_codice(&txn).await?;
            let invio = Invio {
                compilatore_cf: id.caller.cf.trim().to_ascii_uppercase(),
                compilatore_email: email,
                ora,
                oggi,
            };
            let com = testa.com.successiva(Tipo::V, nuovo, invio, codice);
            let avvisi = self
                .scrivi(
                    txn,
                    &com,
                    &testa.origine,
                    Some(&testa),
                    &profilo,
                    richiesta.as_ref(),
                )
                .await?;
            Ok::<_, AppError>(encode::comunicazione(&com, None, oggi, avvisi))
        }
        .await;
        match result {
            Ok(c) => Ok(c),
            Err(e) => self.dopo_errore(e, richiesta.as_ref()).await,
        }
    }

    async fn annulla(
        &self,
        id: &Identity,
        r: pb::CancelComunicazioneRequest,
    ) -> Result<pb::Comunicazione, AppError> {
        let profilo = self.profilo(id, "committente_cf", &r.committente_cf).await?;
        accesso::puo_inviare(&profilo)?;
        let mut v = Violations::new();
        let codice = decode::codice(&mut v, "codice_comunicazione", &r.codice_comunicazione);
        let email = decode::email(&mut v, "compilatore_email", "LAO-5", &r.compilatore_email);
        // The other two of the three keys, as GetComunicazione and a search take them (LAO-1).
        let date = ChiaviDate {
            committente_cf: decode::cf_chiave(&mut v, "committente_cf", &r.committente_cf),
            lavoratore_cf: decode::cf_chiave(&mut v, "lavoratore_cf", &r.lavoratore_cf),
        };
        let (codice, email) = completo(v, codice.zip(email))?;
        let richiesta = Self::richiesta(id, "CancelComunicazione", &r.request_id, &r)?;
        if let Some(q) = &richiesta
            && let Some(c) = self.rigioca(q).await?
        {
            return Ok(c);
        }
        let (ora, oggi) = self.adesso();
        let result = async {
            let txn = begin_write(&self.db).await?;
            let (testa, _) = self
                .bersaglio(&txn, &profilo, &codice, &date, Azione::Annullamento, oggi)
                .await?;
            let codice = Self::nuovo_codice(&txn).await?;
            let invio = Invio {
                compilatore_cf: id.caller.cf.trim().to_ascii_uppercase(),
                compilatore_email: email,
                ora,
                oggi,
            };
            // LAO-9: sections 1-3 copied unchanged; the send date is the cancellation date.
            let com = testa
                .com
                .successiva(Tipo::A, testa.com.contenuto.clone(), invio, codice);
            let avvisi = self
                .scrivi(
                    txn,
                    &com,
                    &testa.origine,
                    Some(&testa),
                    &profilo,
                    richiesta.as_ref(),
                )
                .await?;
            Ok::<_, AppError>(encode::comunicazione(&com, None, oggi, avvisi))
        }
        .await;
        match result {
            Ok(c) => Ok(c),
            Err(e) => self.dopo_errore(e, richiesta.as_ref()).await,
        }
    }

    /// A communication the caller may open with these keys (LAO-1). Keys that do not match
    /// answer NOT_FOUND, as an unknown codice does.
    async fn apribile(
        &self,
        id: &Identity,
        codice: &str,
        committente_cf: &str,
        lavoratore_cf: &str,
    ) -> Result<Registrata, AppError> {
        let mut v = Violations::new();
        let codice = decode::codice(&mut v, "codice_comunicazione", codice);
        let date = ChiaviDate {
            committente_cf: decode::cf_chiave(&mut v, "committente_cf", committente_cf),
            lavoratore_cf: decode::cf_chiave(&mut v, "lavoratore_cf", lavoratore_cf),
        };
        let codice = completo(v, codice)?;
        let profilo = self.profilo(id, "committente_cf", committente_cf).await?;
        let r = store::carica(&self.db, codice.as_str())
            .await?
            .ok_or_else(|| non_trovata(codice.as_str()))?;
        if !date.combaciano(&chiavi(&r)) {
            return Err(non_trovata(codice.as_str()));
        }
        accesso::puo_aprire(&profilo, &chiavi(&r), &date)?;
        Ok(r)
    }

    async fn cerca(
        &self,
        id: &Identity,
        r: pb::SearchComunicazioniRequest,
    ) -> Result<pb::SearchComunicazioniResponse, AppError> {
        // The request is checked before the profile: a search without keys is malformed
        // whoever sends it.
        let mut v = Violations::new();
        let codice = decode::codice_chiave(&mut v, "codice_comunicazione", &r.codice_comunicazione);
        let committente = decode::cf_chiave(&mut v, "committente_cf", &r.committente_cf);
        let lavoratore = decode::cf_chiave(&mut v, "lavoratore_cf", &r.lavoratore_cf);
        let given = [&r.codice_comunicazione, &r.committente_cf, &r.lavoratore_cf];
        if given.iter().all(|k| k.trim().is_empty()) {
            for field in ["codice_comunicazione", "committente_cf", "lavoratore_cf"] {
                v.add(
                    field,
                    "LAO-2",
                    "LAO_2_KEY_REQUIRED",
                    "give at least one of codice_comunicazione, committente_cf, lavoratore_cf",
                );
            }
        }
        let impronta = impronta(&[
            codice.as_deref().unwrap_or_default(),
            committente.as_deref().unwrap_or_default(),
            lavoratore.as_deref().unwrap_or_default(),
            &id.caller.cf,
            id.profile().as_str(),
        ]);
        let pagina = Pagina::decodifica(&mut v, "LAO-2", r.page_size, &r.page_token, impronta);
        v.check()?;
        let profilo = self.profilo(id, "committente_cf", &r.committente_cf).await?;
        let tre_chiavi = codice.is_some() && committente.is_some() && lavoratore.is_some();
        let restrizione = accesso::restrizione_ricerca(&profilo, committente.as_deref(), tre_chiavi)?;
        let filtro = store::Filtro {
            codice,
            committente_cf: restrizione.committente_cf.or(committente),
            lavoratore_cf: lavoratore,
            compilatore_cf: restrizione.compilatore_cf,
        };
        let (_, oggi) = self.adesso();
        let righe = store::cerca(&self.db, &filtro, pagina.cursore, pagina.da_leggere()).await?;
        let (comunicazioni, next_page_token) =
            pagina.taglia(righe.iter().map(|s| (s.seq, encode::sintesi(s, oggi))).collect());
        Ok(pb::SearchComunicazioniResponse {
            comunicazioni,
            next_page_token,
        })
    }

    async fn riepilogo(
        &self,
        id: &Identity,
        r: pb::GetLavoratoreSummaryRequest,
    ) -> Result<pb::GetLavoratoreSummaryResponse, AppError> {
        let mut v = Violations::new();
        let cf = decode::cf(&mut v, "lavoratore_cf", &r.lavoratore_cf);
        let anno = match r.anno {
            0 => None,
            a if (1900..=9999).contains(&a) => Some(a),
            _ => {
                v.add(
                    "anno",
                    "LAO-3",
                    "LAO_3_YEAR",
                    "is a calendar year (0 for every year)",
                );
                None
            }
        };
        let cf = completo(v, cf)?.as_str().to_string();
        // The worker's own view; operators any worker; an azienda or a soggetto abilitato only
        // a worker of some communication it may see (LAO-1).
        let visibile = if id.profile() == Profile::Prestatore {
            id.subject_cf().eq_ignore_ascii_case(&cf)
        } else {
            match self.profilo(id, "", "").await? {
                Profilo::Operatore => true,
                Profilo::Azienda { cf: az } => {
                    store::lavoratore_visibile(&self.db, &cf, Some(&az), None).await?
                }
                Profilo::SoggettoAbilitato { cf: sa } => {
                    store::lavoratore_visibile(&self.db, &cf, None, Some(&sa)).await?
                }
            }
        };
        if !visibile {
            return Err(AppError::denied(
                "LAO-1",
                "LAO_1_WORKER_NOT_VISIBLE",
                "a worker's summary is for the worker, operators, and who sees one of the worker's communications",
            ));
        }
        let mut anni = store::totali(&self.db, &cf, anno).await?;
        if let (Some(a), true) = (anno, anni.is_empty()) {
            anni.push(TotaleAnno {
                anno: a,
                numero: 0,
                totale_cents: 0,
            });
        }
        Ok(pb::GetLavoratoreSummaryResponse {
            anni: anni.iter().map(encode::anno).collect(),
            avvisi: anni
                .iter()
                .filter_map(TotaleAnno::avviso)
                .map(encode::avviso)
                .collect(),
        })
    }
}

#[tonic::async_trait]
impl ComunicazioniService for Comunicazioni {
    type DownloadRicevutaStream = Stream_<pb::DownloadRicevutaResponse>;

    async fn search_comunicazioni(
        &self,
        request: Request<pb::SearchComunicazioniRequest>,
    ) -> Result<Response<pb::SearchComunicazioniResponse>, Status> {
        let id = request.identity()?;
        Ok(Response::new(self.cerca(&id, request.into_inner()).await?))
    }

    async fn get_comunicazione(
        &self,
        request: Request<pb::GetComunicazioneRequest>,
    ) -> Result<Response<pb::GetComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let c = self
            .apribile(&id, &r.codice_comunicazione, &r.committente_cf, &r.lavoratore_cf)
            .await?;
        let catena = store::catena(&self.db, &c.origine).await.map_err(Status::from)?;
        let (_, oggi) = self.adesso();
        Ok(Response::new(pb::GetComunicazioneResponse {
            comunicazione: Some(encode::registrata(&c, oggi, Vec::new())),
            catena: catena.iter().map(|s| encode::sintesi(s, oggi)).collect(),
        }))
    }

    async fn insert_comunicazione(
        &self,
        request: Request<pb::InsertComunicazioneRequest>,
    ) -> Result<Response<pb::InsertComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let c = self.inserisci(&id, request.into_inner()).await?;
        Ok(Response::new(pb::InsertComunicazioneResponse {
            comunicazione: Some(c),
        }))
    }

    async fn vary_comunicazione(
        &self,
        request: Request<pb::VaryComunicazioneRequest>,
    ) -> Result<Response<pb::VaryComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let c = self.varia(&id, request.into_inner()).await?;
        Ok(Response::new(pb::VaryComunicazioneResponse {
            comunicazione: Some(c),
        }))
    }

    async fn cancel_comunicazione(
        &self,
        request: Request<pb::CancelComunicazioneRequest>,
    ) -> Result<Response<pb::CancelComunicazioneResponse>, Status> {
        let id = request.identity()?;
        let c = self.annulla(&id, request.into_inner()).await?;
        Ok(Response::new(pb::CancelComunicazioneResponse {
            comunicazione: Some(c),
        }))
    }

    async fn download_ricevuta(
        &self,
        request: Request<pb::DownloadRicevutaRequest>,
    ) -> Result<Response<Stream_<pb::DownloadRicevutaResponse>>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let c = self
            .apribile(&id, &r.codice_comunicazione, &r.committente_cf, &r.lavoratore_cf)
            .await?
            .com;
        let filename = ricevuta::nome_file(&c);
        // Rendering and font subsetting take milliseconds of CPU: off the async workers.
        let pdf = tokio::task::spawn_blocking(move || ricevuta::genera(&c))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?;
        let messages: Vec<Result<pb::DownloadRicevutaResponse, Status>> = pdf
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, chunk)| {
                Ok(pb::DownloadRicevutaResponse {
                    content_type: if i == 0 {
                        "application/pdf".into()
                    } else {
                        String::new()
                    },
                    filename: if i == 0 { filename.clone() } else { String::new() },
                    chunk: chunk.to_vec(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(messages))))
    }

    async fn list_profili_operativi(
        &self,
        request: Request<pb::ListProfiliOperativiRequest>,
    ) -> Result<Response<pb::ListProfiliOperativiResponse>, Status> {
        let id = request.identity()?;
        Ok(Response::new(pb::ListProfiliOperativiResponse {
            profili: self.profili(&id).await?,
        }))
    }

    async fn get_lavoratore_summary(
        &self,
        request: Request<pb::GetLavoratoreSummaryRequest>,
    ) -> Result<Response<pb::GetLavoratoreSummaryResponse>, Status> {
        let id = request.identity()?;
        Ok(Response::new(self.riepilogo(&id, request.into_inner()).await?))
    }
}
