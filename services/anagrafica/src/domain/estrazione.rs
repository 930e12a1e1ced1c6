//! ANA-9: the lists of active subjects INPS operators draw for their checks, whole or sampled.

use chrono::NaiveDate;
use occasionali_kernel::identita::{Identity, Profile};

use super::{Errore, Ruolo, Soggetto, TipoCategoria};

/// What an extraction is about, once the caller may ask it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estrazione {
    pub ruolo: Ruolo,
    pub dal: NaiveDate,
    pub al: NaiveDate,
    /// `None`: every sede.
    pub sede: Option<String>,
}

impl Estrazione {
    /// The filters, for the operators' audit (GW-5).
    pub fn descrizione(&self) -> String {
        format!(
            "ruolo {:?} dal {} al {} sede {}",
            self.ruolo,
            self.dal,
            self.al,
            self.sede.as_deref().unwrap_or("tutte")
        )
    }

    /// A registered subject of the list, with its prestazioni in the period.
    pub fn attivo(&self, s: &Soggetto, numero_prestazioni: i64) -> SoggettoAttivo {
        SoggettoAttivo {
            cf: s.cf.clone(),
            nominativo: s.nominativo(),
            sede: s.sede.clone(),
            numero_prestazioni,
            categorie: self.categorie_nel_periodo(s),
        }
    }

    /// A prestatore's self-certified categories valid at some point of the period: what the
    /// check is about (the other roles have none).
    fn categorie_nel_periodo(&self, s: &Soggetto) -> Vec<TipoCategoria> {
        s.prestatore
            .as_ref()
            .filter(|_| self.ruolo == Ruolo::Prestatore)
            .map(|p| {
                p.categorie
                    .iter()
                    .filter(|c| c.valida_nel(self.dal, self.al))
                    .map(|c| c.tipo)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One line of an extraction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoggettoAttivo {
    pub cf: String,
    pub nominativo: String,
    pub sede: String,
    pub numero_prestazioni: i64,
    pub categorie: Vec<TipoCategoria>,
}

/// Who may extract, and from which sede: INPS operators and the platform only; a sede operator
/// only its own sede, which is also what it gets when it names none. `richiesta` is the sede
/// asked for (`None`: every sede).
pub fn sede_estraibile(id: &Identity, richiesta: Option<String>) -> Result<Option<String>, Errore> {
    if !(id.is_operator() || id.is_system()) {
        return Err(Errore::EstrazioneSoloOperatori);
    }
    match (id.profile(), richiesta) {
        (Profile::OperatoreSede, Some(s)) if Some(s.as_str()) != id.operator_sede() => {
            Err(Errore::EstrazioneFuoriSede)
        }
        (Profile::OperatoreSede, _) => Ok(id.operator_sede().map(str::to_string)),
        (_, richiesta) => Ok(richiesta),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use occasionali_kernel::identita::Principal;

    fn id(profile: Profile, sede: Option<&str>) -> Identity {
        Identity::new(Principal {
            cf: "OP".into(),
            profile,
            sede: sede.map(str::to_string),
        })
    }

    #[test]
    fn ana_9_lists_are_for_operators_within_their_sede() {
        assert_eq!(
            sede_estraibile(&id(Profile::Prestatore, None), None),
            Err(Errore::EstrazioneSoloOperatori)
        );
        let rm = id(Profile::OperatoreSede, Some("RM"));
        assert_eq!(sede_estraibile(&rm, None), Ok(Some("RM".into())));
        assert_eq!(sede_estraibile(&rm, Some("RM".into())), Ok(Some("RM".into())));
        assert_eq!(
            sede_estraibile(&rm, Some("MI".into())),
            Err(Errore::EstrazioneFuoriSede)
        );
        let dg = id(Profile::OperatoreDg, None);
        assert_eq!(sede_estraibile(&dg, None), Ok(None));
        assert_eq!(sede_estraibile(&dg, Some("MI".into())), Ok(Some("MI".into())));
    }
}
