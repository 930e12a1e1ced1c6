//! The guide behind a campaign notice (NOT-3, NOT-4) and what its readers did (NOT-5). The
//! token is the only key: unguessable (two random UUIDs, 244 random bits), never derived from
//! the person.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_proto::common::Periodo;
use occasionali_proto::notifiche as pb;
use occasionali_runtime::AppError;
use occasionali_runtime::db::begin_write;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::App;
use crate::domain::campagna::{LavoratoreInGuida, StatoRapporto};
use crate::domain::guida::{ISTRUZIONI_RAPPORTO_SOSPESO_CESSATO, Link, SANZIONI, scaduta, voto_valido};
use crate::domain::trimestre::Trimestre;
use crate::store::consegne::Stato;
use crate::store::{consegne, guide};

pub fn nuovo_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// What a guide says, fixed when it is issued (later imports do not rewrite a sent guide).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contenuto {
    pub datore_nome: String,
    pub lavoratori: Vec<LavoratoreSalvato>,
    pub finestra_dal: NaiveDate,
    pub finestra_al: NaiveDate,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LavoratoreSalvato {
    pub nome: String,
    pub trimestri: Vec<TrimestreSalvato>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrimestreSalvato {
    pub anno: i32,
    pub numero: i32,
    pub stato: String,
    #[serde(default)]
    pub dovuti: Option<Decimal>,
    #[serde(default)]
    pub pagati: Option<Decimal>,
}

impl Contenuto {
    pub fn new(nome: &str, lavoratori: &[LavoratoreInGuida], t: Trimestre) -> Contenuto {
        let (finestra_dal, finestra_al) = t.finestra_pagamento();
        Contenuto {
            datore_nome: nome.to_string(),
            lavoratori: lavoratori
                .iter()
                .map(|l| LavoratoreSalvato {
                    nome: l.nome.clone(),
                    trimestri: l
                        .non_pagati
                        .iter()
                        .map(|s| TrimestreSalvato {
                            anno: s.trimestre.anno,
                            numero: i32::from(s.trimestre.numero),
                            stato: s.stato.as_str().into(),
                            dovuti: s.dovuti,
                            pagati: s.pagati,
                        })
                        .collect(),
                })
                .collect(),
            finestra_dal,
            finestra_al,
        }
    }
}

fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    let t = DateTime::<Utc>::from_timestamp_millis(ms)?;
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

pub fn link_pb(l: Link) -> pb::GuidaLink {
    match l {
        Link::PortalePagamenti => pb::GuidaLink::PaymentsPortal,
        Link::CassettoPrevidenziale => pb::GuidaLink::CassettoPrevidenziale,
        Link::EstrattoConto => pb::GuidaLink::EstrattoConto,
        Link::ServiziDomestici => pb::GuidaLink::DomesticServices,
        Link::AppInpsMobile => pb::GuidaLink::InpsMobileApp,
    }
}

pub fn link_da_pb(l: pb::GuidaLink) -> Option<Link> {
    Link::ALL.into_iter().find(|x| link_pb(*x) == l)
}

fn stato_pb(s: &str) -> pb::StatoRapportoDomestico {
    match StatoRapporto::parse(s) {
        Some(StatoRapporto::Attivo) => pb::StatoRapportoDomestico::Active,
        Some(StatoRapporto::Sospeso) => pb::StatoRapportoDomestico::Suspended,
        Some(StatoRapporto::Cessato) => pb::StatoRapportoDomestico::Ended,
        None => pb::StatoRapportoDomestico::Unspecified,
    }
}

fn campagna_pb(c: &str) -> pb::TipoCampagna {
    match c {
        "lavoro_domestico" => pb::TipoCampagna::LavoroDomestico,
        _ => pb::TipoCampagna::Unspecified,
    }
}

fn guida_pb(g: &guide::RigaGuida, adesso: DateTime<Utc>, base_url: &str) -> Result<pb::Guida, AppError> {
    let scade = DateTime::<Utc>::from_timestamp_millis(g.scade_ms).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut out = pb::Guida {
        token: g.token.clone(),
        scade_il: ts(g.scade_ms),
        scaduta: scaduta(scade, adesso),
        ..Default::default()
    };
    if out.scaduta {
        return Ok(out);
    }
    let c: Contenuto = serde_json::from_str(&g.contenuto).map_err(AppError::internal)?;
    out.campagna = campagna_pb(&g.campagna) as i32;
    out.trimestre = Some(pb::Trimestre {
        anno: g.anno,
        numero: g.trimestre,
    });
    out.emessa_il = ts(g.emessa_ms);
    out.datore_nome = c.datore_nome;
    out.lavoratori = c
        .lavoratori
        .into_iter()
        .map(|l| pb::GuidaLavoratore {
            nome: l.nome,
            trimestri_non_pagati: l
                .trimestri
                .into_iter()
                .map(|t| pb::SituazioneTrimestre {
                    trimestre: Some(pb::Trimestre {
                        anno: t.anno,
                        numero: t.numero,
                    }),
                    stato: stato_pb(&t.stato) as i32,
                    contributi_dovuti: t.dovuti.map(|d| format!("{:.2}", d)).unwrap_or_default(),
                    contributi_pagati: t.pagati.map(|d| format!("{:.2}", d)).unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    out.finestra_pagamento = Some(Periodo {
        dal: c.finestra_dal.to_string(),
        al: c.finestra_al.to_string(),
    });
    out.istruzioni_rapporto_sospeso_cessato = ISTRUZIONI_RAPPORTO_SOSPESO_CESSATO.into();
    out.sanzioni = SANZIONI.into();
    out.links = Link::ALL
        .into_iter()
        .map(|l| pb::LinkGuida {
            link: link_pb(l) as i32,
            url: format!("{base_url}/guida/{}/link/{}", g.token, l.as_str()),
        })
        .collect();
    out.voto = g.voto;
    Ok(out)
}

fn non_trovata() -> AppError {
    AppError::NotFound("guida".into())
}

fn scaduta_err() -> AppError {
    AppError::precondition(
        "NOT-4",
        "NOT_4_GUIDA_SCADUTA",
        "the guide has expired (six months after the notice)",
    )
}

impl App {
    async fn riga_guida(&self, token: &str) -> Result<guide::RigaGuida, AppError> {
        if token.is_empty() || token.len() > 128 {
            return Err(non_trovata());
        }
        guide::leggi(&self.db, token).await?.ok_or_else(non_trovata)
    }

    fn scaduta(&self, g: &guide::RigaGuida) -> bool {
        g.scade_ms <= self.adesso_ms()
    }

    pub async fn apri_guida(&self, token: &str) -> Result<pb::Guida, AppError> {
        let g = self.riga_guida(token).await?;
        if !self.scaduta(&g) {
            guide::evento(&self.db, &g, "aperta", None, None, None, self.adesso_ms()).await?;
        }
        guida_pb(&g, self.adesso(), &self.base_url)
    }

    pub async fn vota_guida(&self, token: &str, voto: i32) -> Result<pb::Guida, AppError> {
        if !voto_valido(voto) {
            return Err(AppError::invalid(
                "voto",
                "NOT-4",
                "NOT_4_VOTO_FUORI_SCALA",
                "the rating must be between 1 and 5",
            ));
        }
        let mut g = self.riga_guida(token).await?;
        if self.scaduta(&g) {
            return Err(scaduta_err());
        }
        let txn = begin_write(&self.db).await?;
        let precedente = guide::leggi(&txn, token).await?.map(|x| x.voto).unwrap_or(0);
        guide::vota(&txn, token, voto).await?;
        guide::evento(
            &txn,
            &g,
            "voto",
            None,
            Some(voto),
            Some(precedente),
            self.adesso_ms(),
        )
        .await?;
        txn.commit().await?;
        g.voto = voto;
        guida_pb(&g, self.adesso(), &self.base_url)
    }

    pub async fn segui_link(&self, token: &str, link: Link) -> Result<String, AppError> {
        let g = self.riga_guida(token).await?;
        if self.scaduta(&g) {
            return Err(scaduta_err());
        }
        guide::evento(
            &self.db,
            &g,
            "link",
            Some(link.as_str()),
            None,
            None,
            self.adesso_ms(),
        )
        .await?;
        Ok(link.url().to_string())
    }

    /// The dashboard rows of a campaign (every quarter it has notices for, or one), live.
    pub async fn cruscotto(
        &self,
        campagna: &str,
        trimestre: Option<Trimestre>,
    ) -> Result<Vec<pb::CampagnaDashboard>, AppError> {
        let quarti = match trimestre {
            Some(t) => vec![(t.anno, i32::from(t.numero))],
            None => guide::trimestri(&self.db, campagna).await?,
        };
        let mut righe = Vec::new();
        for (anno, numero) in quarti {
            let conteggi = consegne::conteggi(&self.db, campagna, anno, numero).await?;
            let per = |canale, stato| {
                conteggi
                    .iter()
                    .filter(|(c, s, _)| *c == canale && *s == stato)
                    .map(|(_, _, n)| *n)
                    .sum::<i64>()
            };
            use crate::domain::canali::Canale;
            let per_canale = [
                (Canale::Sms, pb::Channel::Sms),
                (Canale::Email, pb::Channel::Email),
                (Canale::AppIo, pb::Channel::AppIo),
                (Canale::Inbox, pb::Channel::MyinpsInbox),
            ]
            .into_iter()
            .map(|(c, p)| pb::ConteggioCanale {
                channel: p as i32,
                inviati: per(c, Stato::Sent),
                falliti: per(c, Stato::Failed),
                saltati: per(c, Stato::Skipped),
            })
            .collect();
            let l = guide::letture(&self.db, campagna, anno, numero).await?;
            let link_seguiti = Link::ALL
                .into_iter()
                .map(|k| pb::ConteggioLink {
                    link: link_pb(k) as i32,
                    numero: l
                        .link
                        .iter()
                        .filter(|(n, _)| n == k.as_str())
                        .map(|(_, c)| *c)
                        .sum(),
                })
                .collect();
            let media = if l.valutazioni > 0 {
                format!(
                    "{:.2}",
                    Decimal::from(l.somma_voti) / Decimal::from(l.valutazioni)
                )
            } else {
                String::new()
            };
            righe.push(pb::CampagnaDashboard {
                campagna: campagna_pb(campagna) as i32,
                trimestre: Some(pb::Trimestre { anno, numero }),
                per_canale,
                guide_aperte: l.aperte,
                link_seguiti,
                valutazioni_numero: l.valutazioni,
                valutazioni_media: media,
                aggiornato_il: ts(self.adesso_ms()),
            });
        }
        Ok(righe)
    }
}

#[tonic::async_trait]
impl crate::web::Guide for App {
    async fn apri(&self, token: &str) -> Result<pb::Guida, AppError> {
        self.apri_guida(token).await
    }

    async fn vota(&self, token: &str, voto: i32) -> Result<pb::Guida, AppError> {
        self.vota_guida(token, voto).await
    }

    async fn segui(&self, token: &str, link: pb::GuidaLink) -> Result<String, AppError> {
        let l = link_da_pb(link).ok_or_else(|| {
            AppError::invalid(
                "link",
                "NOT-5",
                "NOT_5_LINK_SCONOSCIUTO",
                "unknown link of the guide",
            )
        })?;
        self.segui_link(token, l).await
    }

    async fn cruscotto(
        &self,
        campagna: pb::TipoCampagna,
        trimestre: Option<pb::Trimestre>,
    ) -> Result<Vec<pb::CampagnaDashboard>, AppError> {
        if campagna != pb::TipoCampagna::LavoroDomestico {
            return Err(AppError::invalid(
                "campagna",
                "NOT-5",
                "NOT_5_CAMPAGNA",
                "unknown campaign",
            ));
        }
        let t = match trimestre {
            Some(t) => Some(Trimestre::new(t.anno, t.numero).ok_or_else(|| {
                AppError::invalid(
                    "trimestre",
                    "NOT-5",
                    "NOT_5_TRIMESTRE",
                    "not a quarter (numero 1-4)",
                )
            })?),
            None => None,
        };
        App::cruscotto(self, "lavoro_domestico", t).await
    }
}
