//! Notifiche's domain, pure: no database, no gRPC. Who may read and act on what (NOT-1, NOT-5,
//! NOT-6), and what is refused ([`Errore`]); who is told what, on which channel (NOT-1, NOT-2,
//! PRE-13), who a campaign addresses and what its guide says (NOT-3, NOT-4),
//! and the quarters and payment windows of domestic work (NOT-7).

pub mod accesso;
pub mod avvisi;
pub mod campagna;
pub mod canali;
pub mod errore;
pub mod guida;
pub mod trimestre;

pub use errore::Errore;

use std::fmt;

/// What a notice is about (the proto's TipoNotifica, stored by name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tipo {
    PrestazioneRevocata,
    PrestazioneInserita,
    PagamentoEseguito,
    DelegaCreata,
    DelegaInScadenza,
    CampagnaLavoroDomestico,
}

impl Tipo {
    pub const ALL: [Tipo; 6] = [
        Tipo::PrestazioneRevocata,
        Tipo::PrestazioneInserita,
        Tipo::PagamentoEseguito,
        Tipo::DelegaCreata,
        Tipo::DelegaInScadenza,
        Tipo::CampagnaLavoroDomestico,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tipo::PrestazioneRevocata => "prestazione_revocata",
            Tipo::PrestazioneInserita => "prestazione_inserita",
            Tipo::PagamentoEseguito => "pagamento_eseguito",
            Tipo::DelegaCreata => "delega_creata",
            Tipo::DelegaInScadenza => "delega_in_scadenza",
            Tipo::CampagnaLavoroDomestico => "campagna_lavoro_domestico",
        }
    }

    pub fn parse(s: &str) -> Option<Tipo> {
        Tipo::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for Tipo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The campaigns (NOT-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Campagna {
    LavoroDomestico,
}

impl Campagna {
    pub fn as_str(self) -> &'static str {
        match self {
            Campagna::LavoroDomestico => "lavoro_domestico",
        }
    }

    pub fn parse(s: &str) -> Option<Campagna> {
        (s == "lavoro_domestico").then_some(Campagna::LavoroDomestico)
    }
}
