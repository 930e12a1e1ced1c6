//! The guide of a campaign notice (NOT-3, NOT-4): its fixed texts, its links, its lifetime,
//! its rating.

use chrono::{DateTime, Months, Utc};

use super::Errore;

/// The services a guide links to (NOT-3), in the order the guide shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    PortalePagamenti,
    CassettoPrevidenziale,
    EstrattoConto,
    ServiziDomestici,
    AppInpsMobile,
}

impl Link {
    pub const ALL: [Link; 5] = [
        Link::PortalePagamenti,
        Link::CassettoPrevidenziale,
        Link::EstrattoConto,
        Link::ServiziDomestici,
        Link::AppInpsMobile,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Link::PortalePagamenti => "payments_portal",
            Link::CassettoPrevidenziale => "cassetto_previdenziale",
            Link::EstrattoConto => "estratto_conto",
            Link::ServiziDomestici => "domestic_services",
            Link::AppInpsMobile => "inps_mobile_app",
        }
    }

    pub fn parse(s: &str) -> Option<Link> {
        Link::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The INPS page the link leads to (through the redirect that counts it, NOT-5).
    pub fn url(self) -> &'static str {
        match self {
            Link::PortalePagamenti => "https://www.inps.it/it/it/dati-e-bilanci/portale-dei-pagamenti.html",
            Link::CassettoPrevidenziale => {
                "https://www.inps.it/it/it/servizi/cassetto-previdenziale-per-datori-di-lavoro-domestico.html"
            }
            Link::EstrattoConto => {
                "https://www.inps.it/it/it/servizi/estratto-conto-datori-di-lavoro-domestico.html"
            }
            Link::ServiziDomestici => "https://www.inps.it/it/it/servizi/lavoratori-domestici.html",
            Link::AppInpsMobile => "https://www.inps.it/it/it/inps-comunica/app-inps-mobile.html",
        }
    }
}

/// How long a guide can be read (NOT-4).
pub const DURATA_MESI: u32 = 6;

pub fn scadenza(emessa: DateTime<Utc>) -> DateTime<Utc> {
    emessa
        .checked_add_months(Months::new(DURATA_MESI))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub fn scaduta(scade: DateTime<Utc>, adesso: DateTime<Utc>) -> bool {
    adesso >= scade
}

/// An expired guide is no longer rated nor followed (NOT-4).
pub fn leggibile(scade: DateTime<Utc>, adesso: DateTime<Utc>) -> Result<(), Errore> {
    if scaduta(scade, adesso) {
        Err(Errore::GuidaScaduta)
    } else {
        Ok(())
    }
}

/// A rating is 1 to 5 (NOT-4).
pub fn voto_valido(voto: i32) -> bool {
    (1..=5).contains(&voto)
}

/// A rating as given, when it is one (NOT-4).
pub fn voto(voto: i32) -> Result<i32, Errore> {
    if voto_valido(voto) {
        Ok(voto)
    } else {
        Err(Errore::VotoFuoriScala)
    }
}

pub const ISTRUZIONI_RAPPORTO_SOSPESO_CESSATO: &str = "Se il rapporto di lavoro è cessato e non lo hai \
comunicato, fallo subito con il servizio online \"Lavoratori domestici\" (comunicazione di cessazione): \
la cessazione va comunicata all'INPS entro 5 giorni. Per i trimestri successivi alla cessazione non sono \
dovuti contributi. Se il rapporto è stato sospeso (per esempio per aspettativa non retribuita), comunica \
la variazione con lo stesso servizio: per i periodi di sospensione senza retribuzione non sono dovuti \
contributi. Finché l'INPS non riceve la comunicazione, i contributi del rapporto risultano dovuti.";

pub const SANZIONI: &str = "Se i contributi sono pagati dopo la scadenza sono dovute le sanzioni civili \
(art. 116, comma 8, lettera a, della legge 388/2000): un interesse annuo pari al tasso ufficiale di \
riferimento maggiorato di 5,5 punti, fino al 40% dei contributi dovuti. Se il rapporto di lavoro non è \
stato denunciato la sanzione è più alta (evasione contributiva). Pagare entro la scadenza evita le \
sanzioni e assicura al lavoratore la copertura previdenziale e assicurativa.";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn not_4_a_guide_lasts_six_months() {
        let emessa = Utc
            .with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let scade = scadenza(emessa);
        assert_eq!(
            scade,
            Utc.with_ymd_and_hms(2026, 9, 1, 9, 0, 0)
                .single()
                .unwrap_or_default()
        );
        assert!(!scaduta(scade, scade - chrono::Duration::seconds(1)));
        assert!(scaduta(scade, scade));
        assert_eq!(leggibile(scade, scade - chrono::Duration::seconds(1)), Ok(()));
        assert_eq!(leggibile(scade, scade), Err(Errore::GuidaScaduta));
    }

    #[test]
    fn not_4_ratings_are_one_to_five() {
        assert!(!voto_valido(0));
        assert!(voto_valido(1));
        assert!(voto_valido(5));
        assert!(!voto_valido(6));
        assert!(!voto_valido(-1));
        assert_eq!(voto(4), Ok(4));
        assert_eq!(voto(0), Err(Errore::VotoFuoriScala));
    }
}
