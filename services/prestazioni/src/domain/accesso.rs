//! Who reaches which prestazioni (PRE-19, GW-6). A person reaches its own (the utilizzatore or
//! prestatore side, also through a delega); DG and the platform every one; a sede operator only
//! those whose utilizzatore or prestatore belongs to its sede, and declares only for an
//! utilizzatore of its sede. The sede limit travels with the saga: a `sistema` call made for a
//! sede operator (its origin) is limited the same way.

use occasionali_runtime::{AppError, Identity, Profile};

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

pub fn fuori_sede(message: &str) -> AppError {
    AppError::denied("PRE-19", "PRE_19_OUTSIDE_SEDE", message)
}

/// Reading (or acting on) a stored prestazione: a sede operator only when a party is of its sede.
pub fn vede(id: &Identity, sedi: &Sedi) -> Result<(), AppError> {
    match sede_limite(id) {
        Some(s) if !sedi.comprende(s) => Err(fuori_sede(
            "neither the utilizzatore nor the prestatore belongs to the operator's sede",
        )),
        _ => Ok(()),
    }
}

/// Declaring (or checking) a prestazione: a sede operator only for an utilizzatore of its sede,
/// whose wallet it charges (portafoglio applies the same rule to the reservation).
pub fn dichiara_per(id: &Identity, sede_utilizzatore: Option<&str>) -> Result<(), AppError> {
    match sede_limite(id) {
        Some(s) if sede_utilizzatore != Some(s) => {
            Err(fuori_sede("the utilizzatore belongs to another sede"))
        }
        _ => Ok(()),
    }
}

/// Reading a subject's aggregates (limits, statement, payments): a sede operator only when one
/// of the named subjects belongs to its sede.
pub fn vede_soggetti(id: &Identity, sedi: &[Option<String>]) -> Result<(), AppError> {
    match sede_limite(id) {
        Some(s) if !sedi.iter().any(|x| x.as_deref() == Some(s)) => {
            Err(fuori_sede("the subject belongs to another sede"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use occasionali_runtime::Principal;

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
        assert_eq!(e.err().map(|e| e.code()), Some(tonic::Code::PermissionDenied));
    }

    #[test]
    fn pre_19_aggregates_need_one_subject_of_the_sede() {
        let rm = id(Profile::OperatoreSede, Some("RM"));
        assert!(vede_soggetti(&rm, &[Some("MI".into()), Some("RM".into())]).is_ok());
        assert!(vede_soggetti(&rm, &[Some("MI".into()), None]).is_err());
        assert!(vede_soggetti(&id(Profile::Prestatore, None), &[None]).is_ok());
    }
}
