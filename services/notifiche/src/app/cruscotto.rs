//! The campaign dashboard (NOT-5): per quarter, what was delivered on each channel and what the
//! readers did with their guides, counted live.

use occasionali_runtime::AppError;
use rust_decimal::Decimal;

use super::App;
use crate::domain::Campagna;
use crate::domain::canali::Canale;
use crate::domain::guida::Link;
use crate::domain::trimestre::Trimestre;
use crate::store::consegne::{self, Stato};
use crate::store::guide;

/// The deliveries of a channel by how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Esiti {
    pub inviati: i64,
    pub falliti: i64,
    pub saltati: i64,
}

/// One quarter of a campaign on the dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RigaCruscotto {
    pub campagna: Campagna,
    pub anno: i32,
    pub numero: i32,
    /// SMS, e-mail, App IO, inbox, in this order.
    pub per_canale: Vec<(Canale, Esiti)>,
    /// Guides opened at least once.
    pub guide_aperte: i64,
    /// Every link of the guide, in the guide's order, with how often it was followed.
    pub link_seguiti: Vec<(Link, i64)>,
    pub valutazioni: i64,
    /// The average of the current ratings, when there is one.
    pub media: Option<Decimal>,
    pub aggiornato_ms: i64,
}

const CANALI: [Canale; 4] = [Canale::Sms, Canale::Email, Canale::AppIo, Canale::Inbox];

impl App {
    /// The dashboard rows of a campaign (every quarter it has notices for, or one), live.
    pub async fn cruscotto(
        &self,
        campagna: Campagna,
        trimestre: Option<Trimestre>,
    ) -> Result<Vec<RigaCruscotto>, AppError> {
        let quarti = match trimestre {
            Some(t) => vec![(t.anno, i32::from(t.numero))],
            None => guide::trimestri(&self.db, campagna.as_str()).await?,
        };
        let mut righe = Vec::new();
        for (anno, numero) in quarti {
            righe.push(self.riga_cruscotto(campagna, anno, numero).await?);
        }
        Ok(righe)
    }

    async fn riga_cruscotto(
        &self,
        campagna: Campagna,
        anno: i32,
        numero: i32,
    ) -> Result<RigaCruscotto, AppError> {
        let conteggi = consegne::conteggi(&self.db, campagna.as_str(), anno, numero).await?;
        let per = |canale, stato| {
            conteggi
                .iter()
                .filter(|(c, s, _)| *c == canale && *s == stato)
                .map(|(_, _, n)| *n)
                .sum::<i64>()
        };
        let per_canale = CANALI
            .into_iter()
            .map(|c| {
                let esiti = Esiti {
                    inviati: per(c, Stato::Sent),
                    falliti: per(c, Stato::Failed),
                    saltati: per(c, Stato::Skipped),
                };
                (c, esiti)
            })
            .collect();
        let l = guide::letture(&self.db, campagna.as_str(), anno, numero).await?;
        let link_seguiti = Link::ALL
            .into_iter()
            .map(|k| {
                let n = l
                    .link
                    .iter()
                    .filter(|(n, _)| n == k.as_str())
                    .map(|(_, c)| *c)
                    .sum();
                (k, n)
            })
            .collect();
        let media = (l.valutazioni > 0).then(|| Decimal::from(l.somma_voti) / Decimal::from(l.valutazioni));
        Ok(RigaCruscotto {
            campagna,
            anno,
            numero,
            per_canale,
            guide_aperte: l.aperte,
            link_seguiti,
            valutazioni: l.valutazioni,
            media,
            aggiornato_ms: self.adesso_ms(),
        })
    }
}
