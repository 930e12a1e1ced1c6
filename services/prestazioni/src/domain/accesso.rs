//! Who reaches which prestazioni (PRE-19, GW-6). A person reaches its own (the utilizzatore or
//! prestatore side, also through a delega); DG and the platform every one; a sede operator only
//! those whose utilizzatore or prestatore belongs to its sede, and declares only for an
//! utilizzatore of its sede. The sede limit travels with the saga: a `sistema` call made for a
//! sede operator (its origin) is limited the same way.

use occasionali_kernel::identita::{Identity, Profile};

use super::errore::{AzionePrestatore, AzioneUtilizzatore, Errore, FuoriSede};
use super::prestazione::Prestazione;

/// The competent sede of each party, as the registry said at insertion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sedi {
    pub utilizzatore: Option<String>,
    pub prestatore: Option<String>,
}

impl Sedi {
    /// Whether either party belongs to `sede`.
    pub fn comprende(&self, sede: &str) -> bool {
        self.utilizzatore.as_deref() == Some(sede) || self.prestatore.as_deref() == Some(sede)
    }
}

/// The sede a caller is limited to: a sede operator's, also when the platform acts for one.
/// `None`: no sede limit (DG, the platform on its own, and persons, who are limited to their own
/// records by the other checks). A sede operator without a sede is limited to none.
pub fn sede_limite(id: &Identity) -> Option<&str> {
    let chi = if id.is_system() { id.author() } else { id };
    match chi.profile() {
        Profile::OperatoreSede => Some(chi.operator_sede().unwrap_or("")),
        _ => None,
    }
}

/// Reading (or acting on) a stored prestazione: a sede operator only when a party is of its sede.
pub fn vede(id: &Identity, sedi: &Sedi) -> Result<(), Errore> {
    match sede_limite(id) {
        Some(s) if !sedi.comprende(s) => Err(Errore::FuoriSede(FuoriSede::Parti)),
        _ => Ok(()),
    }
}

/// Reading a prestazione: its parties, operators and the platform (a sede operator within its
/// sede). To anyone else it does not exist.
pub fn legge(id: &Identity, p: &Prestazione) -> Result<(), Errore> {
    let s = id.subject_cf();
    let d = &p.dichiarazione;
    if id.is_operator() || id.is_system() || s == d.utilizzatore_cf || s == d.prestatore_cf {
        vede(id, &p.sedi)
    } else {
        Err(Errore::NonTrovata(p.id.clone()))
    }
}

/// Declaring (or checking) for an utilizzatore: itself, an intermediary with its delega, an
/// operator or the platform.
pub fn puo_dichiarare(id: &Identity, utilizzatore_cf: &str) -> Result<(), Errore> {
    if id.is_operator() || id.is_system() || id.subject_cf() == utilizzatore_cf {
        Ok(())
    } else {
        Err(Errore::NonLatoUtilizzatore(AzioneUtilizzatore::Dichiara))
    }
}

/// PRE-11: the utilizzatore's side revokes.
pub fn puo_revocare(id: &Identity, p: &Prestazione) -> Result<(), Errore> {
    if id.subject_cf() == p.dichiarazione.utilizzatore_cf {
        Ok(())
    } else {
        Err(Errore::NonLatoUtilizzatore(AzioneUtilizzatore::Revoca))
    }
}

/// PRE-12, PRE-14: the prestatore's side confirms and contests.
pub fn lato_prestatore(id: &Identity, p: &Prestazione, azione: AzionePrestatore) -> Result<(), Errore> {
    if id.subject_cf() == p.dichiarazione.prestatore_cf {
        Ok(())
    } else {
        Err(Errore::NonLatoPrestatore(azione))
    }
}

/// PRE-16: a prestatore's statement and payments, for its side, operators and the platform.
pub fn consulta_prestatore(id: &Identity, prestatore_cf: &str) -> Result<(), Errore> {
    if id.is_system() || id.is_operator() || id.subject_cf() == prestatore_cf {
        Ok(())
    } else {
        Err(Errore::NonLatoPrestatore(AzionePrestatore::Consulta))
    }
}

/// PRE-8: a person reads the limits it is named in; operators and the platform any.
pub fn consulta_limiti(
    id: &Identity,
    prestatore_cf: Option<&str>,
    utilizzatore_cf: Option<&str>,
) -> Result<(), Errore> {
    let s = id.subject_cf();
    if id.is_system() || id.is_operator() || prestatore_cf == Some(s) || utilizzatore_cf == Some(s) {
        Ok(())
    } else {
        Err(Errore::LimitiAltrui)
    }
}

/// PRE-16: whose prestazioni a listing reads, as (utilizzatore, prestatore). A person lists its
/// own (by default on its side: a prestatore's work, else what it declared); an operator or the
/// platform names a subject.
pub fn elenco(
    id: &Identity,
    utilizzatore_cf: Option<String>,
    prestatore_cf: Option<String>,
) -> Result<(Option<String>, Option<String>), Errore> {
    let (mut u, mut p) = (utilizzatore_cf, prestatore_cf);
    if !(id.is_operator() || id.is_system()) {
        let s = id.subject_cf().to_string();
        if u.is_none() && p.is_none() {
            if id.profile() == Profile::Prestatore {
                p = Some(s.clone());
            } else {
                u = Some(s.clone());
            }
        }
        if u.as_deref() != Some(s.as_str()) && p.as_deref() != Some(s.as_str()) {
            return Err(Errore::PrestazioniAltrui);
        }
    } else if u.is_none() && p.is_none() {
        return Err(Errore::ElencoSenzaSoggetto);
    }
    Ok((u, p))
}

/// Declaring (or checking) a prestazione: a sede operator only for an utilizzatore of its sede,
/// whose wallet it charges (portafoglio applies the same rule to the reservation).
pub fn dichiara_per(id: &Identity, sede_utilizzatore: Option<&str>) -> Result<(), Errore> {
    match sede_limite(id) {
        Some(s) if sede_utilizzatore != Some(s) => Err(Errore::FuoriSede(FuoriSede::Utilizzatore)),
        _ => Ok(()),
    }
}

/// Reading a subject's aggregates (limits, statement, payments): a sede operator only when one
/// of the named subjects belongs to its sede.
pub fn vede_soggetti(id: &Identity, sedi: &[Option<String>]) -> Result<(), Errore> {
    match sede_limite(id) {
        Some(s) if !sedi.iter().any(|x| x.as_deref() == Some(s)) => {
            Err(Errore::FuoriSede(FuoriSede::Soggetto))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use occasionali_kernel::identita::Principal;

    fn id(profile: Profile, sede: Option<&str>) -> Identity {
        Identity::new(Principal {
            cf: "X".into(),
            profile,
            sede: sede.map(str::to_string),
        })
    }

    fn per(origin: Identity) -> Identity {
        let mut s = id(Profile::Sistema, None);
        s.origin = Some(Box::new(origin));
        s
    }

    fn sedi(u: &str, p: &str) -> Sedi {
        Sedi {
            utilizzatore: Some(u.into()),
            prestatore: Some(p.into()),
        }
    }

    #[test]
    fn pre_19_a_sede_operator_sees_prestazioni_of_its_sede() {
        let rm = id(Profile::OperatoreSede, Some("RM"));
        assert!(vede(&rm, &sedi("RM", "MI")).is_ok());
        assert!(vede(&rm, &sedi("MI", "RM")).is_ok());
        assert!(vede(&rm, &sedi("MI", "MI")).is_err());
        assert!(vede(&rm, &Sedi::default()).is_err());
        assert!(vede(&id(Profile::OperatoreDg, None), &Sedi::default()).is_ok());
        assert!(vede(&id(Profile::Sistema, None), &Sedi::default()).is_ok());
        // The scope travels with the saga.
        assert!(vede(&per(rm.clone()), &sedi("MI", "MI")).is_err());
        assert!(vede(&per(per(rm.clone())), &sedi("MI", "MI")).is_err());
        assert!(vede(&per(id(Profile::OperatoreDg, None)), &sedi("MI", "MI")).is_ok());
        // A sede operator without a sede reaches nothing.
        assert!(vede(&id(Profile::OperatoreSede, None), &sedi("RM", "RM")).is_err());
    }

    #[test]
    fn pre_19_a_sede_operator_declares_only_for_its_utilizzatori() {
        let rm = id(Profile::OperatoreSede, Some("RM"));
        assert!(dichiara_per(&rm, Some("RM")).is_ok());
        assert!(dichiara_per(&rm, Some("MI")).is_err());
        assert!(dichiara_per(&rm, None).is_err());
        assert!(dichiara_per(&per(rm), Some("MI")).is_err());
        assert!(dichiara_per(&id(Profile::OperatoreDg, None), Some("MI")).is_ok());
        assert!(dichiara_per(&id(Profile::Azienda, None), None).is_ok());
        let e = dichiara_per(&id(Profile::OperatoreSede, Some("RM")), Some("MI"));
        assert_eq!(e, Err(Errore::FuoriSede(FuoriSede::Utilizzatore)));
    }

    #[test]
    fn pre_19_aggregates_need_one_subject_of_the_sede() {
        let rm = id(Profile::OperatoreSede, Some("RM"));
        assert!(vede_soggetti(&rm, &[Some("MI".into()), Some("RM".into())]).is_ok());
        assert!(vede_soggetti(&rm, &[Some("MI".into()), None]).is_err());
        assert!(vede_soggetti(&id(Profile::Prestatore, None), &[None]).is_ok());
    }
}
