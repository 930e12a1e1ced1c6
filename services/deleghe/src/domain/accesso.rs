//! Who may do what with deleghe (DEL-1, DEL-2, DEL-4).
//!
//! A delega is granted by the delegante itself or by an INPS operator; revoked by either party
//! or an operator; read by its parties and operators (and the platform's own services). A
//! delega never grants deleghe: a caller acting on behalf of a delegante may read its deleghe
//! but may not create or revoke them in its name. Only the platform (the gateway, profile
//! `sistema`) checks deleghe, and only operators read the audit trail.

use occasionali_kernel::identita::{Identity, Profile};

use super::{Delega, Errore};

/// How the caller relates to a delega.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accesso {
    /// The delegante or the delegato (or, for reading, someone acting for one of them).
    Parte,
    /// An INPS operator (sede or DG).
    Operatore,
    /// Another service of the platform.
    Sistema,
}

/// DEL-1: the delegante for itself (its own identity, not through a delega) or an operator.
pub fn creazione(id: &Identity, delegante_cf: &str) -> Result<Accesso, Errore> {
    match id.profile() {
        Profile::OperatoreSede | Profile::OperatoreDg => Ok(Accesso::Operatore),
        Profile::Sistema => Err(Errore::NonDelegante),
        _ if id.caller.cf == delegante_cf => Ok(Accesso::Parte),
        _ if id.on_behalf_of.is_some() && id.subject_cf() == delegante_cf => Err(Errore::PerDelega),
        _ => Err(Errore::NonDelegante),
    }
}

/// DEL-1 (as ANA-6): an operator acting on a delega must say why.
pub fn nota_obbligatoria(id: &Identity) -> bool {
    id.is_operator()
}

/// DEL-1: either party (its own identity) or an operator.
pub fn revoca(id: &Identity, d: &Delega) -> Result<Accesso, Errore> {
    match id.profile() {
        Profile::OperatoreSede | Profile::OperatoreDg => Ok(Accesso::Operatore),
        Profile::Sistema => Err(Errore::NonParte),
        _ if d.ha_parte(&id.caller.cf) => Ok(Accesso::Parte),
        _ => Err(Errore::NonParte),
    }
}

/// DEL-1, DEL-3: its parties (or someone acting for one of them), operators, the platform.
pub fn lettura(id: &Identity, d: &Delega) -> Result<Accesso, Errore> {
    match id.profile() {
        Profile::OperatoreSede | Profile::OperatoreDg => Ok(Accesso::Operatore),
        Profile::Sistema => Ok(Accesso::Sistema),
        _ if d.ha_parte(id.subject_cf()) => Ok(Accesso::Parte),
        _ => Err(Errore::NonParte),
    }
}

/// Operators and the platform see every delega, and may learn that an id does not exist;
/// anyone else sees only its own and learns nothing about others' (PERMISSION_DENIED either way).
pub fn vede_tutte(id: &Identity) -> bool {
    id.is_operator() || id.is_system()
}

/// What a refused caller is told about a delega id that does not exist.
pub fn sconosciuta(id: &Identity, delega_id: &str) -> Errore {
    if vede_tutte(id) {
        Errore::Sconosciuta {
            delega_id: delega_id.to_string(),
        }
    } else {
        Errore::NonParte
    }
}

/// DEL-2: only the platform checks deleghe (the gateway, before an on-behalf-of call).
pub fn verifica(id: &Identity) -> Result<(), Errore> {
    if id.is_system() {
        Ok(())
    } else {
        Err(Errore::SoloPiattaforma)
    }
}

/// DEL-4: the audit trail is for INPS operators (sede and DG).
pub fn audit(id: &Identity) -> Result<(), Errore> {
    if id.is_operator() {
        Ok(())
    } else {
        Err(Errore::SoloOperatori)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NuovaDelega, Ruolo, Validita};
    use chrono::{DateTime, NaiveDate};
    use occasionali_kernel::identita::{OnBehalf, Principal};

    fn id(profile: Profile, cf: &str) -> Identity {
        Identity::new(Principal {
            cf: cf.into(),
            profile,
            sede: (profile == Profile::OperatoreSede).then(|| "RM".to_string()),
        })
    }

    fn per_conto_di(mut i: Identity, cf: &str) -> Identity {
        i.on_behalf_of = Some(OnBehalf {
            cf: cf.into(),
            ruolo: "caf".into(),
            delega_id: "del_x".into(),
        });
        i
    }

    fn delega() -> Delega {
        NuovaDelega {
            delegante_cf: "A".into(),
            delegato_cf: "B".into(),
            ruolo: Ruolo::Caf,
            validita: Validita {
                dal: NaiveDate::MIN,
                al: None,
            },
            nota: String::new(),
            request_id: None,
        }
        .crea("del_1".into(), DateTime::UNIX_EPOCH, "A")
    }

    #[test]
    fn del_1_creation_by_delegante_or_operator() {
        assert_eq!(
            creazione(&id(Profile::Prestatore, "A"), "A").ok(),
            Some(Accesso::Parte)
        );
        assert_eq!(
            creazione(&id(Profile::OperatoreSede, "OP"), "A").ok(),
            Some(Accesso::Operatore)
        );
        assert_eq!(
            creazione(&id(Profile::OperatoreDg, "OP"), "A").ok(),
            Some(Accesso::Operatore)
        );
        assert!(creazione(&id(Profile::Prestatore, "X"), "A").is_err());
        assert!(creazione(&id(Profile::Sistema, "A"), "A").is_err());
        assert!(nota_obbligatoria(&id(Profile::OperatoreSede, "OP")));
        assert!(!nota_obbligatoria(&id(Profile::Utilizzatore, "A")));
    }

    #[test]
    fn del_1_a_delega_does_not_grant_deleghe() {
        let i = per_conto_di(id(Profile::Intermediario, "B"), "A");
        let e = creazione(&i, "A");
        assert_eq!(e, Err(Errore::PerDelega));
        assert!(revoca(&per_conto_di(id(Profile::Intermediario, "C"), "A"), &delega()).is_err());
        // Reading the delegante's deleghe through the delega is fine.
        assert_eq!(lettura(&i, &delega()).ok(), Some(Accesso::Parte));
    }

    #[test]
    fn del_1_revocation_by_either_party_or_operator() {
        let d = delega();
        assert!(revoca(&id(Profile::Prestatore, "A"), &d).is_ok());
        assert!(revoca(&id(Profile::Intermediario, "B"), &d).is_ok());
        assert!(revoca(&id(Profile::OperatoreDg, "OP"), &d).is_ok());
        assert!(revoca(&id(Profile::Prestatore, "X"), &d).is_err());
        assert!(revoca(&id(Profile::Sistema, "S"), &d).is_err());
    }

    #[test]
    fn del_2_and_del_4_profiles() {
        assert!(verifica(&id(Profile::Sistema, "S")).is_ok());
        assert!(verifica(&id(Profile::OperatoreDg, "OP")).is_err());
        assert!(verifica(&id(Profile::Intermediario, "B")).is_err());
        assert!(audit(&id(Profile::OperatoreSede, "OP")).is_ok());
        assert!(audit(&id(Profile::OperatoreDg, "OP")).is_ok());
        assert!(audit(&id(Profile::Sistema, "S")).is_err());
        assert!(audit(&id(Profile::Prestatore, "A")).is_err());
    }
}
