//! Who may do what with notifiche (NOT-1, NOT-3, NOT-5, NOT-6, NOT-7).
//!
//! A person's contacts, consents and inbox are its own: the person reads them, or who acts for
//! it (a delegato the gateway verified, its legal representative), and INPS operators and the
//! platform read them too. Giving consent and marking messages read are the person's own acts,
//! never an operator's. Campaigns and the domestic-work archive are the Direzione Generale's;
//! the campaign dashboard is for operators.

use occasionali_kernel::identita::{Identity, Profile};

use super::Errore;

/// NOT-1: a person's own contacts, consents and inbox — the person (or who acts for it under a
/// delega, as the gateway verified), an operator, or the platform.
pub fn legge(id: &Identity, cf: &str) -> Result<(), Errore> {
    if id.acts_for(cf) || id.is_operator() || id.is_system() {
        Ok(())
    } else {
        Err(Errore::NonTuo)
    }
}

/// NOT-1: consent is the person's own act (or its delegato's): operators read it, never give it.
pub fn consensi(id: &Identity, cf: &str) -> Result<(), Errore> {
    if id.acts_for(cf) {
        Ok(())
    } else {
        Err(Errore::ConsensoNonTuo)
    }
}

/// NOT-1: reading is the person's act: an operator looking at the inbox does not mark it read.
pub fn segna_letta(id: &Identity, cf: &str) -> Result<(), Errore> {
    if id.acts_for(cf) {
        Ok(())
    } else {
        Err(Errore::LetturaNonTua)
    }
}

/// NOT-6: operators and the platform see every delivery; a person only its own, and so must
/// name itself (`cf`, the filter of the listing).
pub fn consegne(id: &Identity, cf: Option<&str>) -> Result<(), Errore> {
    if id.is_operator() || id.is_system() {
        return Ok(());
    }
    match cf {
        Some(cf) if id.acts_for(cf) => Ok(()),
        _ => Err(Errore::ConsegneNonTue),
    }
}

/// The Direzione Generale, or the platform on its behalf.
fn dg_o_sistema(id: &Identity) -> bool {
    id.is_system() || id.profile() == Profile::OperatoreDg
}

/// NOT-3: a campaign is run by the Direzione Generale or the platform.
pub fn campagna(id: &Identity) -> Result<(), Errore> {
    if dg_o_sistema(id) {
        Ok(())
    } else {
        Err(Errore::CampagnaSoloDg)
    }
}

/// NOT-7: the domestic-work archive is imported, and its discards read, by the Direzione
/// Generale or the platform.
pub fn importa(id: &Identity) -> Result<(), Errore> {
    if dg_o_sistema(id) {
        Ok(())
    } else {
        Err(Errore::ImportSoloDg)
    }
}

/// NOT-5: the campaign dashboard's figures, for operators and the platform.
pub fn cruscotto(id: &Identity) -> Result<(), Errore> {
    if id.is_operator() || id.is_system() {
        Ok(())
    } else {
        Err(Errore::CruscottoSoloOperatori)
    }
}

/// NOT-5: the dashboard's web page, for INPS operators signed in with their own token.
pub fn pagina_cruscotto(id: &Identity) -> Result<(), Errore> {
    if id.is_operator() {
        Ok(())
    } else {
        Err(Errore::PaginaCruscottoSoloOperatori)
    }
}

#[cfg(test)]
mod tests {
    use occasionali_kernel::identita::{OnBehalf, Principal};

    use super::*;

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

    #[test]
    fn not_1_the_person_its_delegato_operators_and_the_platform_read() {
        assert!(legge(&id(Profile::Prestatore, "A"), "A").is_ok());
        assert!(legge(&per_conto_di(id(Profile::Intermediario, "B"), "A"), "A").is_ok());
        assert!(legge(&id(Profile::OperatoreSede, "OP"), "A").is_ok());
        assert!(legge(&id(Profile::Sistema, "S"), "A").is_ok());
        assert_eq!(legge(&id(Profile::Prestatore, "X"), "A"), Err(Errore::NonTuo));
    }

    #[test]
    fn not_1_consent_and_reading_are_the_persons_own_acts() {
        let delegato = per_conto_di(id(Profile::Intermediario, "B"), "A");
        assert!(consensi(&id(Profile::Prestatore, "A"), "A").is_ok());
        assert!(consensi(&delegato, "A").is_ok());
        assert!(segna_letta(&delegato, "A").is_ok());
        for chi in [
            id(Profile::OperatoreDg, "OP"),
            id(Profile::Sistema, "S"),
            id(Profile::Prestatore, "X"),
        ] {
            assert_eq!(consensi(&chi, "A"), Err(Errore::ConsensoNonTuo));
            assert_eq!(segna_letta(&chi, "A"), Err(Errore::LetturaNonTua));
        }
    }

    #[test]
    fn not_6_a_person_lists_only_its_own_deliveries() {
        assert!(consegne(&id(Profile::OperatoreSede, "OP"), None).is_ok());
        assert!(consegne(&id(Profile::Sistema, "S"), None).is_ok());
        assert!(consegne(&id(Profile::Prestatore, "A"), Some("A")).is_ok());
        assert_eq!(
            consegne(&id(Profile::Prestatore, "A"), None),
            Err(Errore::ConsegneNonTue)
        );
        assert_eq!(
            consegne(&id(Profile::Prestatore, "A"), Some("B")),
            Err(Errore::ConsegneNonTue)
        );
    }

    #[test]
    fn not_3_and_not_7_are_the_direzione_generales() {
        for ok in [id(Profile::OperatoreDg, "OP"), id(Profile::Sistema, "S")] {
            assert!(campagna(&ok).is_ok());
            assert!(importa(&ok).is_ok());
        }
        for no in [id(Profile::OperatoreSede, "OP"), id(Profile::Utilizzatore, "A")] {
            assert_eq!(campagna(&no), Err(Errore::CampagnaSoloDg));
            assert_eq!(importa(&no), Err(Errore::ImportSoloDg));
        }
    }

    #[test]
    fn not_5_the_dashboard_is_for_operators() {
        assert!(cruscotto(&id(Profile::OperatoreSede, "OP")).is_ok());
        assert!(cruscotto(&id(Profile::Sistema, "S")).is_ok());
        assert_eq!(
            cruscotto(&id(Profile::Prestatore, "A")),
            Err(Errore::CruscottoSoloOperatori)
        );
        assert!(pagina_cruscotto(&id(Profile::OperatoreDg, "OP")).is_ok());
        assert_eq!(
            pagina_cruscotto(&id(Profile::Sistema, "S")),
            Err(Errore::PaginaCruscottoSoloOperatori)
        );
    }
}
