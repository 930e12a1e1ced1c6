//! ANA-8: who may see and change which record.
//!
//! A person reaches only their own record (an organisation's also its legal representative);
//! an intermediary only its clients', through a delega verified by the gateway (the identity
//! then carries the delegante as subject); a sede operator the records of its sede; DG and the
//! platform's own services every record.

use occasionali_kernel::identita::{Identity, Profile, mask};

use super::{Errore, Registrazione, Soggetto};

/// How the caller relates to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accesso {
    /// The subject itself (or its legal representative, or a delegato acting for it).
    Titolare,
    /// An INPS operator within scope.
    Operatore,
    /// Another context of the platform.
    Sistema,
}

fn is_titolare(id: &Identity, cf: &str, legale_rappresentante: Option<&str>) -> bool {
    let subject = id.subject_cf();
    subject == cf || legale_rappresentante.is_some_and(|lr| lr == subject)
}

/// The access the caller has to `soggetto`, or why it has none (ANA-8).
pub fn accesso(id: &Identity, soggetto: &Soggetto) -> Result<Accesso, Errore> {
    accesso_a(id, &soggetto.cf, soggetto.legale_rappresentante(), &soggetto.sede)
}

/// As [`accesso`], for a record described by its keys (registration, before it exists).
pub fn accesso_a(
    id: &Identity,
    cf: &str,
    legale_rappresentante: Option<&str>,
    sede: &str,
) -> Result<Accesso, Errore> {
    match id.profile() {
        Profile::Sistema => Ok(Accesso::Sistema),
        Profile::OperatoreDg => Ok(Accesso::Operatore),
        Profile::OperatoreSede if id.operator_sede() == Some(sede) => Ok(Accesso::Operatore),
        Profile::OperatoreSede => Err(Errore::FuoriSede),
        _ if is_titolare(id, cf, legale_rappresentante) => Ok(Accesso::Titolare),
        _ => Err(Errore::NonTuo),
    }
}

/// ANA-8 for a registration: on the stored record when there is one, so that a request can
/// neither move a record into the caller's scope nor learn about a company by naming itself its
/// representative; a new organisation is registered by itself or by an operator, never by
/// whoever names itself its legal representative. The subject itself may add a role but not
/// move its record to another sede (ANA-6).
pub fn accesso_alla_registrazione(
    id: &Identity,
    reg: &Registrazione,
    esistente: Option<&Soggetto>,
) -> Result<Accesso, Errore> {
    let Some(s) = esistente else {
        return accesso_a(id, &reg.cf, None, &reg.sede_nuovo_soggetto()?);
    };
    let a = accesso(id, s)?;
    if a == Accesso::Titolare && reg.sede.as_ref().is_some_and(|sede| *sede != s.sede) {
        return Err(Errore::CambioSedeSoloOperatore);
    }
    Ok(a)
}

/// Who may list the organisations `cf` legally represents: the person itself (its own identity,
/// not a delegato's: representation is not delegated), DG and the platform all, a sede operator
/// those of its sede (the `Some` returned).
pub fn rappresentate_visibili<'a>(id: &'a Identity, cf: &str) -> Result<Option<&'a str>, Errore> {
    match id.profile() {
        Profile::Sistema | Profile::OperatoreDg => Ok(None),
        Profile::OperatoreSede => Ok(Some(id.operator_sede().unwrap_or(""))),
        _ if id.on_behalf_of.is_none() && id.caller.cf == cf => Ok(None),
        _ => Err(Errore::RappresentateAltrui),
    }
}

/// Whether a NOT_FOUND may be told to this caller for `cf` (others learn nothing about
/// which codici fiscali are registered).
pub fn puo_sapere_se_esiste(id: &Identity, cf: &str) -> bool {
    matches!(
        id.profile(),
        Profile::Sistema | Profile::OperatoreDg | Profile::OperatoreSede
    ) || id.subject_cf() == cf
}

/// The refusal for a codice fiscale that is not registered: NOT_FOUND to whom may know, to
/// anyone else the same refusal as for a record that is not theirs.
pub fn sconosciuto(id: &Identity, cf: &str) -> Errore {
    if puo_sapere_se_esiste(id, cf) {
        Errore::NonTrovato { cf: cf.to_string() }
    } else {
        Errore::NonTuo
    }
}

/// GW-5: the audit of operators' reads is for the Direzione Generale.
pub fn vede_accessi_operatori(id: &Identity) -> Result<(), Errore> {
    if id.profile() == Profile::OperatoreDg {
        Ok(())
    } else {
        Err(Errore::AccessiSoloDg)
    }
}

/// The author of a change as the caller sees it in the history: operators' CFs are shown to
/// the subject masked (GW-5); the subject's own changes, and every author to operators and the
/// platform, in full.
pub fn autore_mostrato(accesso: Accesso, cf_soggetto: &str, autore_cf: String) -> String {
    if accesso != Accesso::Titolare || autore_cf == cf_soggetto {
        autore_cf
    } else {
        mask(&autore_cf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use occasionali_kernel::identita::{OnBehalf, Principal};

    fn id(profile: Profile, cf: &str, sede: Option<&str>) -> Identity {
        Identity::new(Principal {
            cf: cf.into(),
            profile,
            sede: sede.map(str::to_string),
        })
    }

    #[test]
    fn ana_8_person_reaches_only_own_record() {
        assert_eq!(
            accesso_a(&id(Profile::Prestatore, "A", None), "A", None, "RM").ok(),
            Some(Accesso::Titolare)
        );
        assert!(accesso_a(&id(Profile::Prestatore, "B", None), "A", None, "RM").is_err());
        assert!(accesso_a(&id(Profile::Intermediario, "B", None), "A", None, "RM").is_err());
    }

    #[test]
    fn ana_8_legal_representative_reaches_the_company() {
        assert_eq!(
            accesso_a(
                &id(Profile::Utilizzatore, "LR", None),
                "00743110157",
                Some("LR"),
                "MI"
            )
            .ok(),
            Some(Accesso::Titolare)
        );
    }

    #[test]
    fn ana_8_sede_operator_only_its_sede() {
        assert_eq!(
            accesso_a(&id(Profile::OperatoreSede, "OP", Some("RM")), "A", None, "RM").ok(),
            Some(Accesso::Operatore)
        );
        assert!(accesso_a(&id(Profile::OperatoreSede, "OP", Some("MI")), "A", None, "RM").is_err());
        assert_eq!(
            accesso_a(&id(Profile::OperatoreDg, "OP", None), "A", None, "RM").ok(),
            Some(Accesso::Operatore)
        );
    }

    #[test]
    fn ana_8_delegato_acts_for_the_delegante() {
        let mut i = id(Profile::Intermediario, "CONSULENTE", None);
        i.on_behalf_of = Some(OnBehalf {
            cf: "A".into(),
            ruolo: "intermediario_utilizzatore".into(),
            delega_id: "del_1".into(),
        });
        assert_eq!(accesso_a(&i, "A", None, "RM").ok(), Some(Accesso::Titolare));
        assert!(accesso_a(&i, "B", None, "RM").is_err());
    }

    #[test]
    fn ana_8_who_lists_the_organisations_a_person_represents() {
        let anna = id(Profile::Utilizzatore, "BNCNNA75M70F205S", None);
        assert_eq!(rappresentate_visibili(&anna, "BNCNNA75M70F205S").ok(), Some(None));
        assert!(rappresentate_visibili(&anna, "RSSMRA85T10A562S").is_err());
        let rm = id(Profile::OperatoreSede, "OP", Some("RM"));
        assert_eq!(rappresentate_visibili(&rm, "X").ok(), Some(Some("RM")));
        assert_eq!(
            rappresentate_visibili(&id(Profile::Sistema, "S", None), "X").ok(),
            Some(None)
        );
    }
}
