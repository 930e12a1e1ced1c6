//! What the registry (anagrafica) says of the parties, as the checks need it (ANA-*).

use chrono::{Datelike, NaiveDate};
use occasionali_kernel::CodiceFiscale;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CategoriaUtilizzatore {
    Impresa,
    Professionista,
    ImpresaAgricola,
    PubblicaAmministrazione,
    AssociazioneEnte,
    Altro,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfiloUtilizzatore {
    pub categoria: Option<CategoriaUtilizzatore>,
    pub ateco: String,
    pub dipendenti: i32,
}

/// The utilizzatore's profiles (ANA-*): one per kind of prestazione it is registered for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Utilizzatore {
    pub lf: Option<ProfiloUtilizzatore>,
    pub cpo: Option<ProfiloUtilizzatore>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Categoria {
    Pensionato,
    Studente,
    Disoccupato,
    SostegnoReddito,
    ElenchiAgricoli,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoriaValida {
    pub categoria: Categoria,
    pub dal: Option<NaiveDate>,
    pub al: Option<NaiveDate>,
}

impl CategoriaValida {
    fn copre(&self, d: NaiveDate) -> bool {
        self.dal.is_none_or(|x| x <= d) && self.al.is_none_or(|x| d <= x)
    }

    fn interseca_anno(&self, anno: i32) -> bool {
        self.dal.is_none_or(|x| x.year() <= anno) && self.al.is_none_or(|x| x.year() >= anno)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Prestatore {
    pub registrato: bool,
    pub categorie: Vec<CategoriaValida>,
}

impl Prestatore {
    /// ANA-4 special categories valid on `d` (students only under 25 on that day): what counts
    /// at 75 % toward the utilizzatore's limit (PRE-8) and what an agricultural utilizzatore may
    /// employ (PRE-7).
    pub fn speciale(&self, cf: &str, d: NaiveDate) -> bool {
        self.categorie.iter().any(|c| {
            c.copre(d)
                && match c.categoria {
                    Categoria::Pensionato | Categoria::Disoccupato | Categoria::SostegnoReddito => true,
                    Categoria::Studente => sotto_25(cf, d),
                    Categoria::ElenchiAgricoli => false,
                }
        })
    }

    /// PRE-7: in the agricultural lists at some point of `anno`.
    pub fn negli_elenchi_agricoli(&self, anno: i32) -> bool {
        self.categorie
            .iter()
            .any(|c| c.categoria == Categoria::ElenchiAgricoli && c.interseca_anno(anno))
    }
}

fn sotto_25(cf: &str, d: NaiveDate) -> bool {
    let Ok(cf) = CodiceFiscale::parse(cf) else {
        return false;
    };
    let nascita = cf.data_nascita(d);
    let mut anni = d.year() - nascita.year();
    if (d.month(), d.day()) < (nascita.month(), nascita.day()) {
        anni -= 1;
    }
    anni < 25
}
