//! The registry's aggregate: one subject (by codice fiscale) with every role it holds (ANA-1).

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::violazioni::Violations;
use occasionali_kernel::{CodiceFiscale, DatiAnagrafici, Sesso};
use serde::{Deserialize, Serialize};

use super::Errore;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Soggetto {
    pub cf: String,
    pub identita: Identita,
    pub domicilio: Option<Domicilio>,
    pub contatti: Contatti,
    /// Competent INPS sede: a province abbreviation (docs/decisions.md).
    pub sede: String,
    pub prestatore: Option<RuoloPrestatore>,
    pub utilizzatore_lf: Option<RuoloUtilizzatore>,
    pub utilizzatore_cpo: Option<RuoloUtilizzatore>,
    pub intermediario: Option<RuoloIntermediario>,
    pub versione: i64,
    pub aggiornato_il: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Identita {
    Persona(Persona),
    Organizzazione(Organizzazione),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persona {
    pub cognome: String,
    pub nome: String,
    pub data_nascita: NaiveDate,
    pub sesso: Sesso,
    /// Belfiore code of the birth comune or Z-code of the foreign state.
    pub luogo_nascita: String,
}

/// ANA-3: every conflict between the CF and a person's data, one violation per field under
/// `prefix`; whether there was none.
pub fn coerente(v: &mut Violations, prefix: &str, cf: &CodiceFiscale, p: &Persona) -> bool {
    let dati = DatiAnagrafici {
        cognome: p.cognome.clone(),
        nome: p.nome.clone(),
        data_nascita: p.data_nascita,
        sesso: p.sesso,
        luogo_nascita: p.luogo_nascita.clone(),
    };
    let conflicts = cf.conflicts(&dati);
    for c in &conflicts {
        v.add(
            format!("{prefix}.{}", c.field),
            "ANA-3",
            "ANA_3_CF_DATA_CONFLICT",
            c.description.clone(),
        );
    }
    conflicts.is_empty()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organizzazione {
    pub denominazione: String,
    pub legale_rappresentante_cf: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Domicilio {
    Italia {
        /// ISTAT code of the comune.
        comune_istat: String,
        indirizzo: String,
        cap: String,
    },
    Estero {
        /// Z-code of the state.
        stato: String,
        citta: String,
        indirizzo: String,
    },
}

impl Domicilio {
    /// The province of an Italian domicile (its INPS sede).
    pub fn provincia(&self) -> Option<String> {
        match self {
            Domicilio::Italia { comune_istat, .. } => {
                occasionali_kernel::luoghi::comune_by_istat(comune_istat).map(|c| c.province.clone())
            }
            Domicilio::Estero { .. } => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contatti {
    pub cellulare: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuoloPrestatore {
    pub metodo_pagamento: MetodoPagamento,
    pub categorie: Vec<CategoriaDichiarata>,
    pub registrato_il: DateTime<Utc>,
}

/// ANA-4: where compensations are paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetodoPagamento {
    ContoCorrente { iban: String },
    LibrettoPostale { iban: String },
    CartaPagamento { iban: String },
    BonificoDomiciliato,
}

impl MetodoPagamento {
    pub fn iban(&self) -> Option<&str> {
        match self {
            MetodoPagamento::ContoCorrente { iban }
            | MetodoPagamento::LibrettoPostale { iban }
            | MetodoPagamento::CartaPagamento { iban } => Some(iban),
            MetodoPagamento::BonificoDomiciliato => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TipoCategoria {
    Pensionato,
    Studente,
    Disoccupato,
    PercettoreSostegnoReddito,
    IscrittoElenchiAgricoli,
}

/// A self-certification with its validity (ANA-4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoriaDichiarata {
    pub tipo: TipoCategoria,
    pub dal: NaiveDate,
    pub al: Option<NaiveDate>,
    pub dettaglio: String,
}

impl CategoriaDichiarata {
    /// Does the validity overlap the closed period [dal, al]?
    pub fn valida_nel(&self, dal: NaiveDate, al: NaiveDate) -> bool {
        self.dal <= al && self.al.is_none_or(|fine| fine >= dal)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TipoUtilizzatore {
    LibrettoFamiglia,
    Cpo,
}

/// ANA-5 categories of a CPO utilizzatore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CategoriaUtilizzatore {
    Impresa,
    Professionista,
    ImpresaAgricola,
    PubblicaAmministrazione,
    AssociazioneEnte,
    Altro,
}

impl CategoriaUtilizzatore {
    /// The name other contexts use (prestazioni's CheckCategoriaChange).
    pub fn as_str(self) -> &'static str {
        match self {
            CategoriaUtilizzatore::Impresa => "impresa",
            CategoriaUtilizzatore::Professionista => "professionista",
            CategoriaUtilizzatore::ImpresaAgricola => "impresa_agricola",
            CategoriaUtilizzatore::PubblicaAmministrazione => "pubblica_amministrazione",
            CategoriaUtilizzatore::AssociazioneEnte => "associazione_ente",
            CategoriaUtilizzatore::Altro => "altro",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuoloUtilizzatore {
    pub tipo: TipoUtilizzatore,
    /// CPO only.
    pub categoria: Option<CategoriaUtilizzatore>,
    /// CPO only: ATECO code.
    pub ateco: Option<String>,
    /// CPO only: employees on open-ended contracts.
    pub dipendenti: u32,
    pub registrato_il: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TipoIntermediario {
    ConsulenteLavoro,
    Patronato,
    Caf,
    AssociazioneCategoria,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuoloIntermediario {
    pub tipo: TipoIntermediario,
    pub numero_iscrizione: String,
    pub registrato_il: DateTime<Utc>,
}

/// A role a subject can be registered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ruolo {
    Prestatore,
    UtilizzatoreLf,
    UtilizzatoreCpo,
    Intermediario,
}

impl Ruolo {
    pub fn azione_registrazione(self) -> &'static str {
        match self {
            Ruolo::Prestatore => "registrazione_prestatore",
            Ruolo::UtilizzatoreLf => "registrazione_utilizzatore_lf",
            Ruolo::UtilizzatoreCpo => "registrazione_utilizzatore_cpo",
            Ruolo::Intermediario => "registrazione_intermediario",
        }
    }
}

impl Soggetto {
    pub fn ha_ruolo(&self, ruolo: Ruolo) -> bool {
        match ruolo {
            Ruolo::Prestatore => self.prestatore.is_some(),
            Ruolo::UtilizzatoreLf => self.utilizzatore_lf.is_some(),
            Ruolo::UtilizzatoreCpo => self.utilizzatore_cpo.is_some(),
            Ruolo::Intermediario => self.intermediario.is_some(),
        }
    }

    /// Surname and name, or the organisation's name: for lists (ANA-9).
    pub fn nominativo(&self) -> String {
        match &self.identita {
            Identita::Persona(p) => format!("{} {}", p.cognome, p.nome),
            Identita::Organizzazione(o) => o.denominazione.clone(),
        }
    }

    /// The legal representative of an organisation, who may act for it (ANA-8).
    pub fn legale_rappresentante(&self) -> Option<&str> {
        match &self.identita {
            Identita::Organizzazione(o) => Some(&o.legale_rappresentante_cf),
            Identita::Persona(_) => None,
        }
    }
}

/// What a registration request brings: the shared registry part and one role.
#[derive(Clone, Debug)]
pub struct Registrazione {
    pub cf: String,
    pub identita: Identita,
    pub domicilio: Option<Domicilio>,
    pub contatti: Contatti,
    /// The sede asked for, if any; otherwise the stored one or the domicile's (ANA-5).
    pub sede: Option<String>,
    pub ruolo: DatiRuolo,
}

impl Registrazione {
    /// The sede of a new subject: the one asked for, else its Italian domicile's province.
    pub fn sede_nuovo_soggetto(&self) -> Result<String, Errore> {
        self.sede
            .clone()
            .or_else(|| self.domicilio.as_ref().and_then(Domicilio::provincia))
            .ok_or(Errore::SedeMancante)
    }
}

#[derive(Clone, Debug)]
pub enum DatiRuolo {
    Prestatore {
        metodo_pagamento: MetodoPagamento,
        categorie: Vec<CategoriaDichiarata>,
    },
    Utilizzatore(
        TipoUtilizzatore,
        Option<CategoriaUtilizzatore>,
        Option<String>,
        u32,
    ),
    Intermediario(TipoIntermediario, String),
}

impl DatiRuolo {
    pub fn ruolo(&self) -> Ruolo {
        match self {
            DatiRuolo::Prestatore { .. } => Ruolo::Prestatore,
            DatiRuolo::Utilizzatore(TipoUtilizzatore::LibrettoFamiglia, ..) => Ruolo::UtilizzatoreLf,
            DatiRuolo::Utilizzatore(TipoUtilizzatore::Cpo, ..) => Ruolo::UtilizzatoreCpo,
            DatiRuolo::Intermediario(..) => Ruolo::Intermediario,
        }
    }
}
