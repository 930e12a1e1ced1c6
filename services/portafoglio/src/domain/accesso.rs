//! Who may do what with wallets (SPEC §7 and the issue): a person or company reaches only its own
//! wallets (the subject, also when an intermediary acts under a delega), a sede operator the
//! wallets and queues of its sede, DG and the platform's own services everything. A platform
//! call made for a sede operator (the origin of a `sistema` identity, e.g. prestazioni's
//! reservation for an operator's insertion) keeps that operator's sede (GW-6). Payments come
//! only from the payments feeds (POR-2).

use occasionali_kernel::identita::{Identity, Profile};

use super::errore::Errore;

/// An operator's or the platform's reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ambito {
    /// DG and the platform's services (sistema).
    Tutto,
    /// A sede operator: its sede.
    Sede(String),
}

impl Ambito {
    pub fn copre(&self, sede: &str) -> bool {
        match self {
            Ambito::Tutto => true,
            Ambito::Sede(s) => s == sede,
        }
    }

    pub fn sede(&self) -> Option<&str> {
        match self {
            Ambito::Tutto => None,
            Ambito::Sede(s) => Some(s),
        }
    }
}

/// The reach of operators and of the platform's services; `None` for everyone else. A
/// `sistema` call carrying a sede operator as origin reaches that sede only (GW-6: the scope
/// travels with the saga); one without origin (recovery, relay, scheduler) or made for anyone
/// else is the platform itself, whose calling context has authorized the client.
pub fn ambito(id: &Identity) -> Option<Ambito> {
    match id.profile() {
        Profile::Sistema => match id.author() {
            a if a.profile() == Profile::OperatoreSede => {
                a.operator_sede().map(|s| Ambito::Sede(s.to_string()))
            }
            _ => Some(Ambito::Tutto),
        },
        Profile::OperatoreDg => Some(Ambito::Tutto),
        Profile::OperatoreSede => id.operator_sede().map(|s| Ambito::Sede(s.to_string())),
        _ => None,
    }
}

/// POR-2: payments arrive from the payments feeds (profile `flusso_pagamenti`) or the platform,
/// never from a person, operators included: they correct with AbbinaVersamento,
/// StornaVersamento and refunds, each with a note.
pub fn flusso_pagamenti(id: &Identity, cosa: &str) -> Result<(), Errore> {
    if id.is_flusso_pagamenti() || id.is_system() {
        Ok(())
    } else {
        Err(Errore::SoloFlussiPagamento {
            cosa: cosa.to_string(),
        })
    }
}

/// Operators and the platform's services only.
pub fn operatori(id: &Identity, rule: &'static str, cosa: &str) -> Result<Ambito, Errore> {
    ambito(id).ok_or_else(|| Errore::SoloOperatori {
        regola: rule,
        cosa: cosa.to_string(),
    })
}

/// DG and the platform's services only.
pub fn dg_o_sistema(id: &Identity, rule: &'static str, cosa: &str) -> Result<(), Errore> {
    match ambito(id) {
        Some(Ambito::Tutto) => Ok(()),
        _ => Err(Errore::SoloDg {
            regola: rule,
            cosa: cosa.to_string(),
        }),
    }
}

/// The wallet's owner, an intermediary acting for it under a delega, or its legal representative
/// acting for it, both verified by the gateway ("Who acts for an organisation").
pub fn titolare(id: &Identity, cf: &str) -> bool {
    id.acts_for(cf)
}

pub fn fuori_sede(rule: &'static str) -> Errore {
    Errore::FuoriSede { regola: rule }
}

pub fn non_titolare(rule: &'static str) -> Errore {
    Errore::NonTitolare { regola: rule }
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
    fn scopes() {
        assert_eq!(ambito(&id(Profile::OperatoreDg, "OP", None)), Some(Ambito::Tutto));
        assert_eq!(
            ambito(&id(Profile::Sistema, "SISTEMA", None)),
            Some(Ambito::Tutto)
        );
        assert_eq!(
            ambito(&id(Profile::OperatoreSede, "OP", Some("RM"))),
            Some(Ambito::Sede("RM".into()))
        );
        assert_eq!(ambito(&id(Profile::Utilizzatore, "A", None)), None);
        assert!(Ambito::Sede("RM".into()).copre("RM"));
        assert!(!Ambito::Sede("RM".into()).copre(""));
        assert!(operatori(&id(Profile::Prestatore, "A", None), "POR-2", "x").is_err());
        assert!(dg_o_sistema(&id(Profile::OperatoreSede, "OP", Some("RM")), "POR-5", "x").is_err());
        // A feed is no operator.
        assert_eq!(
            ambito(&id(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)),
            None
        );
    }

    fn per(origin: Identity) -> Identity {
        let mut s = id(Profile::Sistema, "SISTEMA-PRESTAZIONI", None);
        s.origin = Some(Box::new(origin));
        s
    }

    #[test]
    fn gw_6_a_system_call_keeps_its_operator_origin_sede() {
        let rm = id(Profile::OperatoreSede, "OP", Some("RM"));
        assert_eq!(ambito(&per(rm.clone())), Some(Ambito::Sede("RM".into())));
        // Nested: prestazioni called for the operator, then portafoglio called for that.
        assert_eq!(ambito(&per(per(rm))), Some(Ambito::Sede("RM".into())));
        assert_eq!(
            ambito(&per(id(Profile::OperatoreDg, "OP", None))),
            Some(Ambito::Tutto)
        );
        // A client (checked by the calling context) or no origin: the platform itself.
        assert_eq!(
            ambito(&per(id(Profile::Utilizzatore, "A", None))),
            Some(Ambito::Tutto)
        );
        assert!(dg_o_sistema(&per(id(Profile::OperatoreSede, "OP", Some("RM"))), "POR-5", "x").is_err());
    }

    #[test]
    fn por_2_only_feeds_and_the_platform_bring_payments() {
        assert!(flusso_pagamenti(&id(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None), "x").is_ok());
        assert!(flusso_pagamenti(&id(Profile::Sistema, "SISTEMA", None), "x").is_ok());
        for p in [
            Profile::OperatoreDg,
            Profile::OperatoreSede,
            Profile::Utilizzatore,
            Profile::Azienda,
            Profile::Prestatore,
            Profile::Intermediario,
            Profile::SoggettoAbilitato,
        ] {
            assert!(flusso_pagamenti(&id(p, "X", Some("RM")), "x").is_err(), "{p}");
        }
    }

    #[test]
    fn owner_and_delegato() {
        assert!(titolare(&id(Profile::Utilizzatore, "A", None), "A"));
        assert!(!titolare(&id(Profile::Utilizzatore, "B", None), "A"));
        let mut i = id(Profile::Intermediario, "CONSULENTE", None);
        i.on_behalf_of = Some(OnBehalf {
            cf: "A".into(),
            ruolo: "intermediario_utilizzatore".into(),
            delega_id: "del_1".into(),
        });
        assert!(titolare(&i, "A"));
        assert!(!titolare(&i, "CONSULENTE"));
    }
}
