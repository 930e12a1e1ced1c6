//! The gRPC adapter: decode → decide (domain) → persist (store, one transaction with its
//! history entry and outbox event) → encode.

use occasionali_runtime::RequestIdentity;
use std::collections::HashMap;
use std::pin::Pin;

use chrono::NaiveDate;
use futures::{Stream, StreamExt};
use occasionali_kernel::{SharedClock, calendar};
use occasionali_proto::anagrafica as pb;
use occasionali_proto::anagrafica::anagrafica_service_server::AnagraficaService;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::pagina::{Pagina, impronta};
use occasionali_runtime::{AppError, Identity, Profile, Violations};
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::decode;
use crate::domain::accesso::{self, Accesso};
use crate::domain::campione::{CampioneFisso, punteggio, soglia_percentuale};
use crate::domain::modifica::{self, Campo, CampoModificato, Valore};
use crate::domain::*;
use crate::encode;
use crate::events;
use crate::prestazioni::PrestazioniClient;
use crate::store;

mod errori;

pub struct Anagrafica {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub prestazioni: PrestazioniClient,
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The largest sample by size: it is held in memory until the list ends (ANA-9).
const MAX_CAMPIONE: i32 = 100_000;

/// How many CFs from prestazioni are looked up in one registry query (ANA-9 streaming).
const LOOKUP_BATCH: usize = 500;

impl Anagrafica {
    fn oggi(&self) -> NaiveDate {
        calendar::rome_date(self.clock.now())
    }

    /// Registers `reg` after the ANA-8 check, with its history entry and event.
    async fn registra(
        &self,
        id: &Identity,
        reg: Registrazione,
        nota: &str,
    ) -> Result<pb::Soggetto, AppError> {
        let ora = self.clock.now();
        let ruolo = reg.ruolo.ruolo();
        let txn = begin_write(&self.db).await?;
        let esistente = store::carica_per_modifica(&txn, &reg.cf).await?;
        // ANA-8 on the stored record when there is one: a request cannot move a record into the
        // caller's scope, nor learn about a company by naming itself its representative. A new
        // organisation is registered by itself or by an operator, never by whoever names
        // itself its legal representative.
        let accesso = match &esistente {
            Some(s) => {
                let a = accesso::accesso(id, s)?;
                if a == Accesso::Titolare && reg.sede.as_ref().is_some_and(|sede| *sede != s.sede) {
                    return Err(AppError::denied(
                        "ANA-6",
                        "ANA_6_OPERATOR_ONLY_FIELD",
                        "sede can be changed only by an INPS operator",
                    ));
                }
                a
            }
            None => accesso::accesso_a(id, &reg.cf, None, &reg.sede_nuovo_soggetto()?)?,
        };
        modifica::autorizza_modifica(accesso, &[], nota)?;
        let prima = esistente.clone();
        let s = modifica::registra(esistente, reg, ora)?;
        let campi = match &prima {
            Some(p) => {
                store::aggiorna(&txn, &s, p.versione).await?;
                modifica::differenze(p, &s)
            }
            None => {
                store::inserisci(&txn, &s).await?;
                Campo::ALL
                    .into_iter()
                    .map(|c| (c, modifica::mostra(&s, c)))
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(c, v)| CampoModificato {
                        campo: c.path().into(),
                        prima: String::new(),
                        dopo: v,
                    })
                    .collect()
            }
        };
        let azione = ruolo.azione_registrazione();
        store::registra_modifica(&txn, &s.cf, ora, id, azione, &campi, nota.trim()).await?;
        events::soggetto_modificato(&txn, &s, azione, &campi, ora).await?;
        txn.commit().await?;
        tracing::info!(azione, "registered");
        Ok(encode::soggetto(&s))
    }

    /// GW-5: records an operator's read (the original client for system calls). Reads by the
    /// subject itself are not operator actions and are not recorded.
    async fn traccia(&self, id: &Identity, azione: &str, cf: &str, dettaglio: &str) -> Result<(), AppError> {
        if !id.author().is_operator() {
            return Ok(());
        }
        store::registra_accesso(&self.db, self.clock.now(), id, azione, cf, dettaglio).await
    }

    /// A subject the caller may read, or the right refusal.
    async fn leggibile(&self, id: &Identity, cf: &str) -> Result<(Soggetto, Accesso), AppError> {
        let cf = cf.trim().to_uppercase();
        if cf.is_empty() {
            return Err(AppError::invalid(
                "codice_fiscale",
                "ANA-2",
                "ANA_2_CF_REQUIRED",
                "is required",
            ));
        }
        match store::carica(&self.db, &cf).await? {
            Some(s) => {
                let a = accesso::accesso(id, &s)?;
                Ok((s, a))
            }
            None if accesso::puo_sapere_se_esiste(id, &cf) => {
                Err(AppError::NotFound(format!("soggetto {}", mask(&cf))))
            }
            None => Err(AppError::denied(
                "ANA-8",
                "ANA_8_NOT_OWN_RECORD",
                "a person can reach only their own record (an intermediary only its clients', under a delega)",
            )),
        }
    }
}

fn mask(cf: &str) -> String {
    occasionali_runtime::identity::mask(cf)
}

fn decode_utilizzatore(
    r: &pb::RegisterUtilizzatoreRequest,
    oggi: NaiveDate,
) -> Result<Registrazione, AppError> {
    let mut v = Violations::new();
    let tipo = match pb::TipoUtilizzatore::try_from(r.tipo) {
        Ok(pb::TipoUtilizzatore::LibrettoFamiglia) => Some(TipoUtilizzatore::LibrettoFamiglia),
        Ok(pb::TipoUtilizzatore::Cpo) => Some(TipoUtilizzatore::Cpo),
        _ => {
            v.add(
                "tipo",
                "ANA-5",
                "ANA_5_TYPE_REQUIRED",
                "is required (LIBRETTO_FAMIGLIA or CPO)",
            );
            None
        }
    };
    let identita = match (&r.persona, &r.organizzazione, tipo) {
        (Some(_), Some(_), _) => {
            v.add(
                "organizzazione",
                "ANA-1",
                "ANA_1_PERSON_OR_ORGANISATION",
                "give either persona or organizzazione, not both",
            );
            None
        }
        (None, Some(_), Some(TipoUtilizzatore::LibrettoFamiglia)) => {
            v.add(
                "organizzazione",
                "ANA-1",
                "ANA_1_LF_NATURAL_PERSON",
                "a Libretto Famiglia utilizzatore is a natural person",
            );
            None
        }
        (None, Some(o), _) => decode::organizzazione(&mut v, "organizzazione", o)
            .map(|(cf, o)| (cf.as_str().to_string(), Identita::Organizzazione(o))),
        (p, None, _) => decode::persona(&mut v, "persona", p.as_ref(), oggi)
            .map(|(cf, p)| (cf.as_str().to_string(), Identita::Persona(p))),
    };
    let domicilio = decode::domicilio(&mut v, "domicilio", r.domicilio.as_ref());
    let contatti = decode::contatti(&mut v, "contatti", r.contatti.as_ref());
    let sede = decode::sede(&mut v, "sede", &r.sede);
    let dati = match tipo {
        Some(TipoUtilizzatore::LibrettoFamiglia) => {
            let given = [
                ("categoria", r.categoria != 0),
                ("ateco", !r.ateco.trim().is_empty()),
                (
                    "dipendenti_tempo_indeterminato",
                    r.dipendenti_tempo_indeterminato != 0,
                ),
            ];
            for (field, _) in given.iter().filter(|(_, set)| *set) {
                v.add(
                    *field,
                    "ANA-5",
                    "ANA_5_LF_NO_BUSINESS_DATA",
                    "applies to CPO utilizzatori only: a Libretto Famiglia utilizzatore is a family",
                );
            }
            Some(DatiRuolo::Utilizzatore(
                TipoUtilizzatore::LibrettoFamiglia,
                None,
                None,
                0,
            ))
        }
        Some(TipoUtilizzatore::Cpo) => {
            let categoria = decode::categoria_utilizzatore(&mut v, "categoria", r.categoria);
            let ateco = decode::ateco(&mut v, "ateco", &r.ateco);
            let dip = decode::dipendenti(
                &mut v,
                "dipendenti_tempo_indeterminato",
                r.dipendenti_tempo_indeterminato,
            );
            match (categoria, ateco, dip) {
                (Some(c), Some(a), Some(d)) => Some(DatiRuolo::Utilizzatore(
                    TipoUtilizzatore::Cpo,
                    Some(c),
                    Some(a),
                    d,
                )),
                _ => None,
            }
        }
        None => None,
    };
    finish(v, identita, domicilio, contatti, sede, dati)
}

/// Assembles a registration once every part decoded.
fn finish(
    v: Violations,
    identita: Option<(String, Identita)>,
    domicilio: Option<Option<Domicilio>>,
    contatti: Contatti,
    sede: Option<Option<String>>,
    dati: Option<DatiRuolo>,
) -> Result<Registrazione, AppError> {
    v.check()?;
    let (Some((cf, identita)), Some(domicilio), Some(sede), Some(ruolo)) = (identita, domicilio, sede, dati)
    else {
        return Err(AppError::internal("decoding produced no value and no violation"));
    };
    Ok(Registrazione {
        cf,
        identita,
        domicilio,
        contatti,
        sede,
        ruolo,
    })
}

/// Decodes the new values of the fields named in the mask.
fn decode_valori(r: &pb::UpdateSoggettoRequest, oggi: NaiveDate) -> Result<Vec<(Campo, Valore)>, AppError> {
    let mut v = Violations::new();
    // GW-3: a mask names each changeable field at most once (about fifteen, also written in
    // camelCase); a longer list is refused before any path is looked at.
    const MAX_PATHS: usize = 32;
    let paths = r
        .update_mask
        .as_ref()
        .map(|m| occasionali_runtime::decode::distinti(&mut v, "update_mask.paths", &m.paths, MAX_PATHS))
        .unwrap_or_default();
    if !v.is_empty() {
        return v.into_result(Vec::new()).map_err(AppError::from);
    }
    if paths.is_empty() {
        v.add(
            "update_mask",
            "ANA-6",
            "ANA_6_MASK_REQUIRED",
            "name the fields to change",
        );
        return v.into_result(Vec::new()).map_err(AppError::from);
    }
    let mut campi = Vec::new();
    for p in &paths {
        match Campo::from_path(p) {
            Some(cs) => campi.extend(cs),
            None => v.add(
                "update_mask",
                "ANA-6",
                "ANA_6_UNKNOWN_FIELD",
                format!("{p:?} is not a changeable field"),
            ),
        }
    }
    let s = r.soggetto.clone().unwrap_or_default();
    let persona = match &s.identita {
        Some(pb::soggetto::Identita::Persona(p)) => p.clone(),
        _ => pb::PersonaFisica::default(),
    };
    let org = match &s.identita {
        Some(pb::soggetto::Identita::Organizzazione(o)) => o.clone(),
        _ => pb::Organizzazione::default(),
    };
    let contatti = s.contatti.clone().unwrap_or_default();
    let prestatore = s.prestatore.clone().unwrap_or_default();
    let cpo = s.utilizzatore_cpo.clone().unwrap_or_default();
    let inter = s.intermediario.clone().unwrap_or_default();
    let mut out = Vec::new();
    for c in campi {
        let f = format!("soggetto.{}", c.path());
        let valore = match c {
            Campo::PersonaCognome => decode::name(&mut v, &f, "ANA-3", &persona.cognome).map(Valore::Cognome),
            Campo::PersonaNome => decode::name(&mut v, &f, "ANA-3", &persona.nome).map(Valore::Nome),
            Campo::PersonaDataNascita => decode::date(&mut v, &f, "ANA-3", &persona.data_nascita)
                .filter(|d| {
                    let ok = *d <= oggi;
                    if !ok {
                        v.add(&f, "ANA-3", "ANA_3_BIRTH_DATE_FUTURE", "is in the future");
                    }
                    ok
                })
                .map(Valore::DataNascita),
            Campo::PersonaSesso => decode::sesso(&mut v, &f, persona.sesso).map(Valore::Sesso),
            Campo::PersonaLuogoNascita => {
                decode::luogo_nascita(&mut v, &f, &persona.luogo_nascita).map(Valore::LuogoNascita)
            }
            Campo::OrganizzazioneDenominazione => {
                let d = org.denominazione.trim().to_string();
                if d.is_empty() {
                    v.add(&f, "ANA-5", "ANA_5_REQUIRED", "is required");
                    None
                } else {
                    Some(Valore::Denominazione(d))
                }
            }
            Campo::OrganizzazioneLegaleRappresentante => {
                decode::cf_persona(&mut v, &f, &org.legale_rappresentante_cf)
                    .map(|cf| Valore::LegaleRappresentante(cf.as_str().to_string()))
            }
            Campo::Domicilio => match decode::domicilio(&mut v, &f, s.domicilio.as_ref()) {
                // A registered subject always has a domicile (ANA-4): it can change, not vanish.
                Some(None) => {
                    v.add(
                        &f,
                        "ANA-4",
                        "ANA_4_DOMICILE_REQUIRED",
                        "is required: give the new domicile",
                    );
                    None
                }
                other => other.map(Valore::Domicilio),
            },
            Campo::ContattiCellulare => {
                let before = v.len();
                let c = decode::cellulare(&mut v, &f, &contatti.cellulare);
                (v.len() == before).then_some(Valore::Cellulare(c))
            }
            Campo::ContattiEmail => {
                let before = v.len();
                let e = decode::email(&mut v, &f, &contatti.email);
                (v.len() == before).then_some(Valore::Email(e))
            }
            Campo::Sede => match decode::sede(&mut v, &f, &s.sede) {
                Some(Some(sede)) => Some(Valore::Sede(sede)),
                Some(None) => {
                    v.add(&f, "ANA-5", "ANA_5_SEDE_REQUIRED", "is required");
                    None
                }
                None => None,
            },
            Campo::PrestatoreMetodoPagamento => {
                decode::metodo_pagamento(&mut v, &f, prestatore.metodo_pagamento.as_ref())
                    .map(Valore::MetodoPagamento)
            }
            Campo::PrestatoreCategorie => {
                let before = v.len();
                let c = decode::categorie(&mut v, &f, &prestatore.categorie);
                (v.len() == before).then_some(Valore::Categorie(c))
            }
            Campo::CpoCategoria => {
                decode::categoria_utilizzatore(&mut v, &f, cpo.categoria).map(Valore::CategoriaCpo)
            }
            Campo::CpoAteco => decode::ateco(&mut v, &f, &cpo.ateco).map(Valore::Ateco),
            Campo::CpoDipendenti => {
                decode::dipendenti(&mut v, &f, cpo.dipendenti_tempo_indeterminato).map(Valore::Dipendenti)
            }
            Campo::IntermediarioTipo => {
                decode::tipo_intermediario(&mut v, &f, inter.tipo).map(Valore::TipoIntermediario)
            }
            Campo::IntermediarioNumeroIscrizione => Some(Valore::NumeroIscrizione(
                inter.numero_iscrizione.trim().to_string(),
            )),
        };
        if let Some(valore) = valore {
            out.push((c, valore));
        }
    }
    v.into_result(out).map_err(AppError::from)
}

/// ANA-3 and ANA-2 on the record as it would be after a correction.
fn valida_dopo_correzione(s: &Soggetto) -> Result<(), AppError> {
    let mut v = Violations::new();
    if let Identita::Persona(p) = &s.identita
        && let Ok(cf) = occasionali_kernel::CodiceFiscale::parse(&s.cf)
    {
        crate::domain::coerente(&mut v, "soggetto.persona", &cf, p);
    }
    v.check().map_err(AppError::from)
}

fn ruolo_attivo(v: &mut Violations, value: i32) -> Option<Ruolo> {
    match pb::RuoloAttivo::try_from(value) {
        Ok(pb::RuoloAttivo::UtilizzatoreLf) => Some(Ruolo::UtilizzatoreLf),
        Ok(pb::RuoloAttivo::UtilizzatoreCpo) => Some(Ruolo::UtilizzatoreCpo),
        Ok(pb::RuoloAttivo::Prestatore) => Some(Ruolo::Prestatore),
        _ => {
            v.add("ruolo", "ANA-9", "ANA_9_ROLE_REQUIRED", "is required");
            None
        }
    }
}

/// What an ANA-9 extraction is about, after authorization.
struct Estrazione {
    ruolo: Ruolo,
    dal: NaiveDate,
    al: NaiveDate,
    sede: Option<String>,
}

impl Estrazione {
    /// The filters, for the operators' audit (GW-5).
    fn descrizione(&self) -> String {
        format!(
            "ruolo {:?} dal {} al {} sede {}",
            self.ruolo,
            self.dal,
            self.al,
            self.sede.as_deref().unwrap_or("tutte")
        )
    }
}

fn percentuale_testo(r: &pb::SampleSoggettiAttiviRequest) -> String {
    match &r.dimensione {
        Some(pb::sample_soggetti_attivi_request::Dimensione::Percentuale(p)) => p.clone(),
        _ => String::new(),
    }
}

fn estrazione(
    id: &Identity,
    ruolo: i32,
    periodo: Option<&occasionali_proto::common::Periodo>,
    sede: &str,
    v: &mut Violations,
) -> Result<Option<Estrazione>, AppError> {
    if !(id.is_operator() || id.is_system()) {
        return Err(AppError::denied(
            "ANA-9",
            "ANA_9_OPERATORS_ONLY",
            "lists for checks are for INPS operators",
        ));
    }
    let ruolo = ruolo_attivo(v, ruolo);
    let p = periodo.cloned().unwrap_or_default();
    let dal = decode::date(v, "periodo.dal", "ANA-9", &p.dal);
    let al = decode::date(v, "periodo.al", "ANA-9", &p.al);
    if let (Some(d), Some(a)) = (dal, al)
        && a < d
    {
        v.add(
            "periodo.al",
            "ANA-9",
            "ANA_9_PERIOD_REVERSED",
            "ends before it starts",
        );
    }
    let richiesta = decode::sede(v, "sede", sede);
    let sede = match (id.profile(), richiesta) {
        (Profile::OperatoreSede, Some(Some(s))) if Some(s.as_str()) != id.operator_sede() => {
            return Err(AppError::denied(
                "ANA-9",
                "ANA_9_OUTSIDE_SEDE",
                "a sede operator extracts only its own sede",
            ));
        }
        (Profile::OperatoreSede, Some(_)) => id.operator_sede().map(str::to_string),
        (_, Some(s)) => s,
        (_, None) => None,
    };
    Ok(match (ruolo, dal, al) {
        (Some(ruolo), Some(dal), Some(al)) => Some(Estrazione { ruolo, dal, al, sede }),
        _ => None,
    })
}

fn soggetto_attivo(s: &Soggetto, numero: i64, e: &Estrazione) -> pb::SoggettoAttivo {
    pb::SoggettoAttivo {
        codice_fiscale: s.cf.clone(),
        nominativo: s.nominativo(),
        sede: s.sede.clone(),
        numero_prestazioni: numero,
        categorie: s
            .prestatore
            .as_ref()
            .filter(|_| e.ruolo == Ruolo::Prestatore)
            .map(|p| {
                p.categorie
                    .iter()
                    .filter(|c| c.valida_nel(e.dal, e.al))
                    .map(|c| encode::tipo_categoria(c.tipo) as i32)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Streams the registered subjects of an extraction whose CF passes `keep`, batch by batch.
/// The bounded channel gives backpressure: a slow client slows the extraction instead of
/// filling memory.
fn attivi(
    db: DatabaseConnection,
    prestazioni: PrestazioniClient,
    id: Identity,
    e: Estrazione,
    keep: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> mpsc::Receiver<Result<pb::SoggettoAttivo, Status>> {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let result: Result<(), AppError> = async {
            let stream = prestazioni.soggetti_attivi(e.ruolo, e.dal, e.al, &id).await?;
            let mut chunks = std::pin::pin!(stream.chunks(LOOKUP_BATCH));
            while let Some(chunk) = chunks.next().await {
                let mut numeri = HashMap::with_capacity(chunk.len());
                for item in chunk {
                    let (cf, n) = item?;
                    if keep(&cf) {
                        numeri.insert(cf, n);
                    }
                }
                let cfs: Vec<String> = numeri.keys().cloned().collect();
                let mut trovati = store::soggetti_tra(&db, &cfs, e.ruolo, e.sede.as_deref()).await?;
                trovati.sort_by(|a, b| a.cf.cmp(&b.cf));
                for s in trovati {
                    let n = numeri.get(&s.cf).copied().unwrap_or_default();
                    if tx.send(Ok(soggetto_attivo(&s, n, &e))).await.is_err() {
                        return Ok(());
                    }
                }
            }
            Ok(())
        }
        .await;
        if let Err(err) = result {
            let _ = tx.send(Err(Status::from(err))).await;
        }
    });
    rx
}

/// "2.5" → 250 hundredths of a point, in (0, 100].
fn percentuale(v: &mut Violations, value: &str) -> Option<u32> {
    let d: rust_decimal::Decimal = match value.trim().parse() {
        Ok(d) => d,
        Err(_) => {
            v.add(
                "percentuale",
                "ANA-9",
                "ANA_9_PERCENT_FORMAT",
                "is not a decimal number",
            );
            return None;
        }
    };
    let hundredths = d * rust_decimal::Decimal::from(100);
    if d <= rust_decimal::Decimal::ZERO
        || d > rust_decimal::Decimal::from(100)
        || hundredths.fract() != rust_decimal::Decimal::ZERO
    {
        v.add(
            "percentuale",
            "ANA-9",
            "ANA_9_PERCENT_RANGE",
            "must be more than 0 and at most 100, with at most two decimals",
        );
        return None;
    }
    u32::try_from(hundredths.trunc().mantissa() / 10i128.pow(hundredths.trunc().scale())).ok()
}

#[tonic::async_trait]
impl AnagraficaService for Anagrafica {
    type StreamSoggettiAttiviStream = Stream_<pb::StreamSoggettiAttiviResponse>;
    type SampleSoggettiAttiviStream = Stream_<pb::SampleSoggettiAttiviResponse>;

    async fn register_prestatore(
        &self,
        request: Request<pb::RegisterPrestatoreRequest>,
    ) -> Result<Response<pb::RegisterPrestatoreResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let persona = decode::persona(&mut v, "persona", r.persona.as_ref(), self.oggi())
            .map(|(cf, p)| (cf.as_str().to_string(), Identita::Persona(p)));
        let domicilio = decode::domicilio(&mut v, "domicilio", r.domicilio.as_ref());
        let contatti = decode::contatti(&mut v, "contatti", r.contatti.as_ref());
        let metodo = decode::metodo_pagamento(&mut v, "metodo_pagamento", r.metodo_pagamento.as_ref());
        let categorie = decode::categorie(&mut v, "categorie", &r.categorie);
        let sede = decode::sede(&mut v, "sede", &r.sede);
        let dati = metodo.map(|m| DatiRuolo::Prestatore {
            metodo_pagamento: m,
            categorie,
        });
        let reg = finish(v, persona, domicilio, contatti, sede, dati)?;
        let soggetto = self.registra(&id, reg, &r.nota).await?;
        Ok(Response::new(pb::RegisterPrestatoreResponse {
            soggetto: Some(soggetto),
        }))
    }

    async fn register_utilizzatore(
        &self,
        request: Request<pb::RegisterUtilizzatoreRequest>,
    ) -> Result<Response<pb::RegisterUtilizzatoreResponse>, Status> {
        let id = request.identity()?;
        let reg = decode_utilizzatore(request.get_ref(), self.oggi())?;
        let soggetto = self.registra(&id, reg, &request.get_ref().nota).await?;
        Ok(Response::new(pb::RegisterUtilizzatoreResponse {
            soggetto: Some(soggetto),
        }))
    }

    async fn register_intermediario(
        &self,
        request: Request<pb::RegisterIntermediarioRequest>,
    ) -> Result<Response<pb::RegisterIntermediarioResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let identita = match (&r.persona, &r.organizzazione) {
            (Some(_), Some(_)) => {
                v.add(
                    "organizzazione",
                    "ANA-1",
                    "ANA_1_PERSON_OR_ORGANISATION",
                    "give either persona or organizzazione, not both",
                );
                None
            }
            (None, Some(o)) => decode::organizzazione(&mut v, "organizzazione", o)
                .map(|(cf, o)| (cf.as_str().to_string(), Identita::Organizzazione(o))),
            (p, None) => decode::persona(&mut v, "persona", p.as_ref(), self.oggi())
                .map(|(cf, p)| (cf.as_str().to_string(), Identita::Persona(p))),
        };
        let tipo = decode::tipo_intermediario(&mut v, "tipo", r.tipo);
        let domicilio = decode::domicilio(&mut v, "domicilio", r.domicilio.as_ref());
        let contatti = decode::contatti(&mut v, "contatti", r.contatti.as_ref());
        let sede = decode::sede(&mut v, "sede", &r.sede);
        let dati = tipo.map(|t| DatiRuolo::Intermediario(t, r.numero_iscrizione.trim().to_string()));
        let reg = finish(v, identita, domicilio, contatti, sede, dati)?;
        let soggetto = self.registra(&id, reg, &r.nota).await?;
        Ok(Response::new(pb::RegisterIntermediarioResponse {
            soggetto: Some(soggetto),
        }))
    }

    async fn get_soggetto(
        &self,
        request: Request<pb::GetSoggettoRequest>,
    ) -> Result<Response<pb::GetSoggettoResponse>, Status> {
        let id = request.identity()?;
        let (s, _) = self.leggibile(&id, &request.get_ref().codice_fiscale).await?;
        self.traccia(&id, "lettura_soggetto", &s.cf, "").await?;
        Ok(Response::new(pb::GetSoggettoResponse {
            soggetto: Some(encode::soggetto(&s)),
        }))
    }

    async fn list_rappresentate(
        &self,
        request: Request<pb::ListRappresentateRequest>,
    ) -> Result<Response<pb::ListRappresentateResponse>, Status> {
        let id = request.identity()?;
        let cf = request.get_ref().codice_fiscale.trim().to_uppercase();
        if cf.is_empty() {
            return Err(
                AppError::invalid("codice_fiscale", "ANA-2", "ANA_2_CF_REQUIRED", "is required").into(),
            );
        }
        let sede = accesso::rappresentate_visibili(&id, &cf).map_err(AppError::from)?;
        let rappresentate = store::rappresentate(&self.db, &cf)
            .await?
            .into_iter()
            .filter(|s| sede.is_none_or(|mia| s.sede == mia))
            .map(|s| pb::Rappresentata {
                codice_fiscale: s.cf.clone(),
                denominazione: s.nominativo(),
                sede: s.sede.clone(),
            })
            .collect();
        self.traccia(&id, "lettura_rappresentate", &cf, "").await?;
        Ok(Response::new(pb::ListRappresentateResponse { rappresentate }))
    }

    async fn update_soggetto(
        &self,
        request: Request<pb::UpdateSoggettoRequest>,
    ) -> Result<Response<pb::UpdateSoggettoResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let valori = decode_valori(&r, self.oggi())?;
        let campi: Vec<Campo> = valori.iter().map(|(c, _)| *c).collect();
        let (letto, accesso) = self.leggibile(&id, &r.codice_fiscale).await?;
        modifica::autorizza_modifica(accesso, &campi, &r.nota).map_err(AppError::from)?;
        let nuovo = modifica::applica(letto.clone(), valori).map_err(AppError::from)?;
        valida_dopo_correzione(&nuovo)?;
        let diff = modifica::differenze(&letto, &nuovo);
        // The record already says what the request asks: nothing to do, whatever its version. So
        // a retry of a change that took effect (its first answer lost) answers OK, not ABORTED
        // (README, "Retries and what an error means").
        if diff.is_empty() {
            return Ok(Response::new(pb::UpdateSoggettoResponse {
                soggetto: Some(encode::soggetto(&letto)),
            }));
        }
        if r.expected_versione > 0 && r.expected_versione != letto.versione {
            return Err(AppError::aborted(
                "ANA-6",
                "ANA_6_VERSION_MISMATCH",
                format!(
                    "the record is at version {}, not {}: read it again",
                    letto.versione, r.expected_versione
                ),
            )
            .into());
        }
        // ANA-7: ask prestazioni before taking the write lock (no network call inside a
        // transaction); the version check below makes sure nothing changed in between.
        let cambia_settore = diff
            .iter()
            .any(|c| c.campo == Campo::CpoCategoria.path() || c.campo == Campo::CpoAteco.path());
        if cambia_settore && let Some(cpo) = &nuovo.utilizzatore_cpo {
            let categoria = cpo.categoria.unwrap_or(CategoriaUtilizzatore::Altro);
            let ateco = cpo.ateco.clone().unwrap_or_default();
            let stato = self
                .prestazioni
                .stato_categoria(&nuovo.cf, categoria, &ateco, &id)
                .await?;
            modifica::decidi_categoria(&id, &stato).map_err(AppError::from)?;
        }
        let ora = self.clock.now();
        let mut nuovo = nuovo;
        nuovo.versione = letto.versione + 1;
        nuovo.aggiornato_il = ora;
        let azione = if accesso == Accesso::Titolare {
            "modifica"
        } else {
            "correzione"
        };
        let txn = begin_write(&self.db).await.map_err(AppError::from)?;
        store::aggiorna(&txn, &nuovo, letto.versione).await?;
        store::registra_modifica(&txn, &nuovo.cf, ora, &id, azione, &diff, r.nota.trim()).await?;
        events::soggetto_modificato(&txn, &nuovo, azione, &diff, ora).await?;
        txn.commit().await.map_err(AppError::from)?;
        tracing::info!(azione, fields = diff.len(), "record changed");
        Ok(Response::new(pb::UpdateSoggettoResponse {
            soggetto: Some(encode::soggetto(&nuovo)),
        }))
    }

    async fn list_modifiche(
        &self,
        request: Request<pb::ListModificheRequest>,
    ) -> Result<Response<pb::ListModificheResponse>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let (s, accesso) = self.leggibile(&id, &r.codice_fiscale).await?;
        self.traccia(&id, "lettura_storia", &s.cf, "").await?;
        // One paging rule for every listing (runtime::pagina): 0 → 50, capped at 500, negative
        // refused; the token is bound to the subject it was issued for.
        let mut v = Violations::new();
        let pagina = Pagina::decodifica(&mut v, "ANA-6", r.page_size, &r.page_token, impronta(&[&s.cf]));
        v.check().map_err(AppError::from)?;
        let righe = store::modifiche(&self.db, &s.cf, pagina.cursore, pagina.limite).await?;
        let next = pagina.prossima(righe.len(), righe.last().map(|m| m.seq));
        let vede_autori = accesso != Accesso::Titolare;
        let modifiche = righe
            .into_iter()
            .map(|m| pb::Modifica {
                id: m.id,
                eseguita_il: Some(encode::timestamp(m.eseguita_il)),
                // Operators' CFs are shown to the subject masked (GW-5); the subject's own
                // changes and operators' views show them in full.
                autore_cf: if vede_autori || m.autore_cf == s.cf {
                    m.autore_cf
                } else {
                    mask(&m.autore_cf)
                },
                autore_profilo: m.autore_profilo,
                azione: m.azione,
                campi: m
                    .campi
                    .into_iter()
                    .map(|c| pb::CampoModificato {
                        campo: c.campo,
                        prima: c.prima,
                        dopo: c.dopo,
                    })
                    .collect(),
                nota: m.nota,
            })
            .collect();
        Ok(Response::new(pb::ListModificheResponse {
            modifiche,
            next_page_token: next,
        }))
    }

    async fn stream_soggetti_attivi(
        &self,
        request: Request<pb::StreamSoggettiAttiviRequest>,
    ) -> Result<Response<Stream_<pb::StreamSoggettiAttiviResponse>>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let e = estrazione(&id, r.ruolo, r.periodo.as_ref(), &r.sede, &mut v)?;
        v.check().map_err(AppError::from)?;
        let e = e.ok_or_else(|| AppError::internal("extraction decoded without value"))?;
        self.traccia(&id, "estrazione_lista", "", &e.descrizione())
            .await?;
        let rx = attivi(self.db.clone(), self.prestazioni.clone(), id, e, |_| true);
        let out = ReceiverStream::new(rx)
            .map(|r| r.map(|s| pb::StreamSoggettiAttiviResponse { soggetto: Some(s) }));
        Ok(Response::new(Box::pin(out)))
    }

    async fn sample_soggetti_attivi(
        &self,
        request: Request<pb::SampleSoggettiAttiviRequest>,
    ) -> Result<Response<Stream_<pb::SampleSoggettiAttiviResponse>>, Status> {
        let id = request.identity()?;
        let r = request.into_inner();
        let mut v = Violations::new();
        let e = estrazione(&id, r.ruolo, r.periodo.as_ref(), &r.sede, &mut v)?;
        enum Dimensione {
            Numero(usize),
            Percentuale(u64),
        }
        let dimensione = match &r.dimensione {
            Some(pb::sample_soggetti_attivi_request::Dimensione::Numero(n))
                if (1..=MAX_CAMPIONE).contains(n) =>
            {
                Some(Dimensione::Numero(*n as usize))
            }
            Some(pb::sample_soggetti_attivi_request::Dimensione::Numero(_)) => {
                v.add(
                    "numero",
                    "ANA-9",
                    "ANA_9_SAMPLE_SIZE",
                    "must be between 1 and 100,000 (use percentuale for larger samples)",
                );
                None
            }
            Some(pb::sample_soggetti_attivi_request::Dimensione::Percentuale(p)) => {
                percentuale(&mut v, p).map(|p| Dimensione::Percentuale(soglia_percentuale(p)))
            }
            None => {
                v.add(
                    "numero",
                    "ANA-9",
                    "ANA_9_SAMPLE_SIZE_REQUIRED",
                    "give numero or percentuale",
                );
                None
            }
        };
        v.check().map_err(AppError::from)?;
        let (Some(e), Some(dimensione)) = (e, dimensione) else {
            return Err(AppError::internal("sample decoded without value").into());
        };
        let seed = r.seed;
        let misura = match &dimensione {
            Dimensione::Numero(n) => format!("numero {n}"),
            Dimensione::Percentuale(_) => format!("percentuale {}", percentuale_testo(&r)),
        };
        self.traccia(
            &id,
            "estrazione_campione",
            "",
            &format!("{} {misura} seed {seed}", e.descrizione()),
        )
        .await?;
        let out: Stream_<pb::SampleSoggettiAttiviResponse> = match dimensione {
            Dimensione::Percentuale(soglia) => {
                let rx = attivi(self.db.clone(), self.prestazioni.clone(), id, e, move |cf| {
                    punteggio(seed, cf) < soglia
                });
                Box::pin(
                    ReceiverStream::new(rx)
                        .map(|r| r.map(|s| pb::SampleSoggettiAttiviResponse { soggetto: Some(s) })),
                )
            }
            Dimensione::Numero(n) => {
                let mut rx = attivi(self.db.clone(), self.prestazioni.clone(), id, e, |_| true);
                let (tx, out) = mpsc::channel(256);
                tokio::spawn(async move {
                    let mut campione = CampioneFisso::new(n);
                    while let Some(item) = rx.recv().await {
                        match item {
                            Ok(s) => {
                                let cf = s.codice_fiscale.clone();
                                campione.offri(seed, &cf, s);
                            }
                            Err(status) => {
                                let _ = tx.send(Err(status)).await;
                                return;
                            }
                        }
                    }
                    for s in campione.estrai() {
                        if tx
                            .send(Ok(pb::SampleSoggettiAttiviResponse { soggetto: Some(s) }))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
                Box::pin(ReceiverStream::new(out))
            }
        };
        Ok(Response::new(out))
    }

    async fn list_accessi_operatori(
        &self,
        request: Request<pb::ListAccessiOperatoriRequest>,
    ) -> Result<Response<pb::ListAccessiOperatoriResponse>, Status> {
        let id = request.identity()?;
        if id.profile() != Profile::OperatoreDg {
            return Err(AppError::denied(
                "GW-5",
                "GW_5_DG_ONLY",
                "the audit of operators' reads is for the Direzione Generale",
            )
            .into());
        }
        let r = request.into_inner();
        let norm = |s: &str| Some(s.trim().to_uppercase()).filter(|s| !s.is_empty());
        let (autore, cf) = (norm(&r.autore_cf), norm(&r.codice_fiscale));
        let filtri = [
            autore.as_deref().unwrap_or_default(),
            cf.as_deref().unwrap_or_default(),
        ];
        let mut v = Violations::new();
        let pagina = Pagina::decodifica(&mut v, "GW-5", r.page_size, &r.page_token, impronta(&filtri));
        v.check().map_err(AppError::from)?;
        let righe = store::accessi(
            &self.db,
            autore.as_deref(),
            cf.as_deref(),
            pagina.cursore,
            pagina.limite,
        )
        .await?;
        let next = pagina.prossima(righe.len(), righe.last().map(|a| a.seq));
        Ok(Response::new(pb::ListAccessiOperatoriResponse {
            accessi: righe
                .into_iter()
                .map(|a| pb::AccessoOperatore {
                    eseguito_il: Some(encode::timestamp(a.eseguito_il)),
                    autore_cf: a.autore_cf,
                    autore_profilo: a.autore_profilo,
                    autore_sede: a.autore_sede,
                    azione: a.azione,
                    codice_fiscale: a.cf,
                    dettaglio: a.dettaglio,
                })
                .collect(),
            next_page_token: next,
        }))
    }
}
