//! Who may see and send what (LAO-1).
//!
//! - **Azienda** acts for one company (its identity's subject CF is the company's): it sees and
//!   sends only communications whose committente is that company. The company's registered legal
//!   representative acting for it (verified by the gateway, "Who acts for an organisation" in
//!   docs/decisions.md) has the same profile for that company.
//! - **Soggetto Abilitato** sees those it compiled; any other only by giving committente CF,
//!   worker CF and codice comunicazione together.
//! - **Operators** (sede and DG) see everything and send nothing.
//! - Every other profile is refused.

use occasionali_kernel::identita::{Identity, Profile};

use super::{CodiceComunicazione, Errore};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Profilo {
    Azienda { cf: String },
    SoggettoAbilitato { cf: String },
    Operatore,
}

/// The LAO profile of a caller.
pub fn profilo(id: &Identity) -> Result<Profilo, Errore> {
    match id.profile() {
        Profile::Azienda => Ok(Profilo::Azienda {
            cf: id.subject_cf().trim().to_ascii_uppercase(),
        }),
        Profile::SoggettoAbilitato => Ok(Profilo::SoggettoAbilitato {
            cf: id.caller.cf.trim().to_ascii_uppercase(),
        }),
        Profile::OperatoreSede | Profile::OperatoreDg => Ok(Profilo::Operatore),
        _ if id.is_legale_rappresentante() => Ok(Profilo::Azienda {
            cf: id.subject_cf().trim().to_ascii_uppercase(),
        }),
        other => Err(Errore::ProfiloNonAmmesso { profilo: other }),
    }
}

/// The person behind an azienda profile who must show the registry it represents the company
/// it names (ANA-8): a natural person (16-character CF) with the azienda profile in its own
/// token. A company's own token, or a legal representative the gateway already verified (acting
/// on behalf of the company), needs nothing more.
pub fn rappresentante_da_verificare<'a>(id: &Identity, p: &'a Profilo) -> Option<&'a str> {
    match p {
        Profilo::Azienda { cf } if id.on_behalf_of.is_none() && cf.len() == 16 => Some(cf),
        _ => None,
    }
}

/// The company such a person names (in the request's `campo`), normalised; naming none is
/// refused.
pub fn azienda_indicata(campo: &str, committente: &str) -> Result<String, Errore> {
    let azienda = committente.trim().to_ascii_uppercase();
    if azienda.is_empty() {
        return Err(Errore::AziendaNonIndicata {
            campo: campo.to_string(),
        });
    }
    Ok(azienda)
}

/// Sending (P, V, A) is for Azienda and Soggetto Abilitato; operators only read.
pub fn puo_inviare(p: &Profilo) -> Result<(), Errore> {
    match p {
        Profilo::Operatore => Err(Errore::OperatoreSoloLettura),
        _ => Ok(()),
    }
}

/// The committente CF an Azienda sends for: its own, prefilled when the request leaves it
/// empty; another company's is refused. Other profiles send what they give.
pub fn committente_inviabile(p: &Profilo, richiesto: &str) -> Result<String, Errore> {
    let richiesto = richiesto.trim().to_ascii_uppercase();
    match p {
        Profilo::Azienda { cf } if richiesto.is_empty() || richiesto == *cf => Ok(cf.clone()),
        Profilo::Azienda { .. } => Err(Errore::AltroCommittente),
        _ => Ok(richiesto),
    }
}

/// The keys of one communication, as stored.
#[derive(Clone, Copy, Debug)]
pub struct Chiavi<'a> {
    pub committente_cf: &'a str,
    pub lavoratore_cf: &'a str,
    pub compilatore_cf: &'a str,
}

/// The keys a caller gave to open a communication (besides its codice).
#[derive(Clone, Debug, Default)]
pub struct ChiaviDate {
    pub committente_cf: Option<String>,
    pub lavoratore_cf: Option<String>,
}

impl ChiaviDate {
    /// Every given key matches the communication.
    pub fn combaciano(&self, c: &Chiavi<'_>) -> bool {
        self.committente_cf
            .as_deref()
            .is_none_or(|k| k == c.committente_cf)
            && self.lavoratore_cf.as_deref().is_none_or(|k| k == c.lavoratore_cf)
    }

    /// Both CFs were given (with the codice: the three keys of LAO-1).
    pub fn complete(&self) -> bool {
        self.committente_cf.is_some() && self.lavoratore_cf.is_some()
    }
}

/// What a caller gives to open one communication: its codice and the CFs it knows.
#[derive(Clone, Debug)]
pub struct Apertura {
    pub codice: CodiceComunicazione,
    pub date: ChiaviDate,
}

/// May `p` open a communication with these keys, reached by its codice plus `date` (which
/// the caller checked match)?
pub fn puo_aprire(p: &Profilo, c: &Chiavi<'_>, date: &ChiaviDate) -> Result<(), Errore> {
    match p {
        Profilo::Operatore => Ok(()),
        Profilo::Azienda { cf } if c.committente_cf == cf => Ok(()),
        Profilo::Azienda { .. } => Err(Errore::AltroCommittente),
        Profilo::SoggettoAbilitato { cf } if c.compilatore_cf == cf || date.complete() => Ok(()),
        Profilo::SoggettoAbilitato { .. } => Err(Errore::TreChiaviNecessarie),
    }
}

/// May `p` send a V or A on the head with keys `testa`? A Soggetto Abilitato needs to have
/// compiled a communication of the chain, or (a V carries both CFs) to know the three keys.
pub fn puo_sostituire(
    p: &Profilo,
    testa: &Chiavi<'_>,
    compilata_nella_catena: bool,
    date: &ChiaviDate,
) -> Result<(), Errore> {
    match p {
        Profilo::Operatore => puo_inviare(p),
        Profilo::Azienda { cf } if testa.committente_cf == cf => Ok(()),
        Profilo::Azienda { .. } => Err(Errore::AltroCommittente),
        Profilo::SoggettoAbilitato { .. } if compilata_nella_catena => Ok(()),
        Profilo::SoggettoAbilitato { .. } if date.complete() && date.combaciano(testa) => Ok(()),
        Profilo::SoggettoAbilitato { .. } => Err(Errore::TreChiaviNecessarie),
    }
}

/// The restriction a profile adds to a search (LAO-1, LAO-2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restrizione {
    pub committente_cf: Option<String>,
    pub compilatore_cf: Option<String>,
}

/// What a search by `p` may return. An Azienda naming another company is refused; a Soggetto
/// Abilitato giving all three keys may find that communication, otherwise only its own.
pub fn restrizione_ricerca(
    p: &Profilo,
    committente_cf: Option<&str>,
    tre_chiavi: bool,
) -> Result<Restrizione, Errore> {
    match p {
        Profilo::Operatore => Ok(Restrizione::default()),
        Profilo::Azienda { cf } => {
            if committente_cf.is_some_and(|c| c != cf) {
                return Err(Errore::AltroCommittente);
            }
            Ok(Restrizione {
                committente_cf: Some(cf.clone()),
                compilatore_cf: None,
            })
        }
        Profilo::SoggettoAbilitato { .. } if tre_chiavi => Ok(Restrizione::default()),
        Profilo::SoggettoAbilitato { cf } => Ok(Restrizione {
            committente_cf: None,
            compilatore_cf: Some(cf.clone()),
        }),
    }
}

/// The kinds of "Scegli per chi intendi operare" (LAO-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TipoProfiloOperativo {
    Cittadino,
    SoggettoAbilitato,
    Azienda,
    Delega,
}

/// One answer to "Scegli per chi intendi operare": for whom the caller may act, with which
/// profile, and, under a delega, the ruolo and delega id it then names (DEL-2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfiloOperativo {
    pub tipo: TipoProfiloOperativo,
    pub cf: String,
    pub denominazione: String,
    pub profilo: Profile,
    pub ruolo: String,
    pub delega_id: String,
}

impl ProfiloOperativo {
    fn proprio(
        tipo: TipoProfiloOperativo,
        cf: &str,
        denominazione: &str,
        profilo: Profile,
    ) -> ProfiloOperativo {
        ProfiloOperativo {
            tipo,
            cf: cf.to_string(),
            denominazione: denominazione.to_string(),
            profilo,
            ruolo: String::new(),
            delega_id: String::new(),
        }
    }

    /// A company the caller legally represents (ANA-8).
    pub fn rappresentata(cf: &str, denominazione: &str) -> ProfiloOperativo {
        ProfiloOperativo::proprio(TipoProfiloOperativo::Azienda, cf, denominazione, Profile::Azienda)
    }

    /// A client under a valid delega: the caller keeps its own token and profile and names the
    /// client with the on-behalf-of headers (DEL-2).
    pub fn cliente(
        id: &Identity,
        delegante_cf: String,
        denominazione: String,
        ruolo: String,
        delega_id: String,
    ) -> ProfiloOperativo {
        ProfiloOperativo {
            tipo: TipoProfiloOperativo::Delega,
            cf: delegante_cf,
            denominazione,
            profilo: id.profile(),
            ruolo,
            delega_id,
        }
    }
}

/// What the identity alone answers to "Scegli per chi intendi operare".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scelta {
    /// The caller itself: a company's own token only its azienda profile; a person as
    /// cittadino, and as soggetto abilitato when its token has that profile.
    pub propri: Vec<ProfiloOperativo>,
    /// The person whose represented companies and delega clients come next (none for a
    /// company's token).
    pub persona: Option<String>,
}

/// Operators and the platform's services act as themselves: they choose nobody.
pub fn per_chi_operare(id: &Identity) -> Result<Scelta, Errore> {
    use TipoProfiloOperativo as T;
    if id.is_operator() || matches!(id.profile(), Profile::Sistema | Profile::FlussoPagamenti) {
        return Err(Errore::SceltaNonAmmessa {
            profilo: id.profile(),
        });
    }
    let cf = id.caller.cf.trim().to_ascii_uppercase();
    if cf.len() != 16 {
        return Ok(Scelta {
            propri: vec![ProfiloOperativo::proprio(T::Azienda, &cf, &cf, Profile::Azienda)],
            persona: None,
        });
    }
    let mut propri = vec![ProfiloOperativo::proprio(
        T::Cittadino,
        &cf,
        &cf,
        Profile::Prestatore,
    )];
    if id.profile() == Profile::SoggettoAbilitato {
        propri.push(ProfiloOperativo::proprio(
            T::SoggettoAbilitato,
            &cf,
            &cf,
            Profile::SoggettoAbilitato,
        ));
    }
    Ok(Scelta {
        propri,
        persona: Some(cf),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use occasionali_kernel::identita::{OnBehalf, Principal, RUOLO_LEGALE_RAPPRESENTANTE};

    use super::*;

    const AZ: &str = "00743110157";
    const ALTRA: &str = "01234567897";
    const SA: &str = "RSSMRA85T10A562S";

    fn id(profile: Profile, cf: &str) -> Identity {
        Identity::new(Principal {
            cf: cf.into(),
            profile,
            sede: None,
        })
    }

    fn chiavi<'a>(committente: &'a str, compilatore: &'a str) -> Chiavi<'a> {
        Chiavi {
            committente_cf: committente,
            lavoratore_cf: "BNCLRA90A41H501X",
            compilatore_cf: compilatore,
        }
    }

    #[test]
    fn lao_1_profiles() {
        assert_eq!(
            profilo(&id(Profile::Azienda, AZ)).unwrap(),
            Profilo::Azienda { cf: AZ.into() }
        );
        assert_eq!(
            profilo(&id(Profile::OperatoreDg, SA)).unwrap(),
            Profilo::Operatore
        );
        for p in [
            Profile::Prestatore,
            Profile::Utilizzatore,
            Profile::Intermediario,
            Profile::Sistema,
        ] {
            assert!(profilo(&id(p, SA)).is_err(), "{p}");
        }
    }

    #[test]
    fn lao_1_azienda_prefills_and_refuses_other_companies() {
        let az = Profilo::Azienda { cf: AZ.into() };
        assert_eq!(committente_inviabile(&az, "").unwrap(), AZ);
        assert_eq!(committente_inviabile(&az, AZ).unwrap(), AZ);
        assert!(committente_inviabile(&az, ALTRA).is_err());
        let sa = Profilo::SoggettoAbilitato { cf: SA.into() };
        assert_eq!(committente_inviabile(&sa, ALTRA).unwrap(), ALTRA);
    }

    #[test]
    fn lao_1_opening_table() {
        let az = Profilo::Azienda { cf: AZ.into() };
        let sa = Profilo::SoggettoAbilitato { cf: SA.into() };
        let nessuna = ChiaviDate::default();
        let tre = ChiaviDate {
            committente_cf: Some(AZ.into()),
            lavoratore_cf: Some("BNCLRA90A41H501X".into()),
        };
        let cases: [(&Profilo, Chiavi<'_>, &ChiaviDate, bool); 7] = [
            (&Profilo::Operatore, chiavi(ALTRA, "X"), &nessuna, true),
            (&az, chiavi(AZ, "X"), &nessuna, true),
            (&az, chiavi(ALTRA, "X"), &tre, false),
            (&sa, chiavi(ALTRA, SA), &nessuna, true),
            (&sa, chiavi(AZ, "X"), &nessuna, false),
            (&sa, chiavi(AZ, "X"), &tre, true),
            (
                &sa,
                chiavi(AZ, "X"),
                &ChiaviDate {
                    committente_cf: Some(AZ.into()),
                    lavoratore_cf: None,
                },
                false,
            ),
        ];
        for (i, (p, c, d, ok)) in cases.into_iter().enumerate() {
            assert_eq!(puo_aprire(p, &c, d).is_ok(), ok, "case {i}");
        }
    }

    #[test]
    fn lao_1_sending_table() {
        let az = Profilo::Azienda { cf: AZ.into() };
        let sa = Profilo::SoggettoAbilitato { cf: SA.into() };
        let nessuna = ChiaviDate::default();
        let tre = ChiaviDate {
            committente_cf: Some(AZ.into()),
            lavoratore_cf: Some("BNCLRA90A41H501X".into()),
        };
        assert!(puo_sostituire(&Profilo::Operatore, &chiavi(AZ, SA), true, &tre).is_err());
        assert!(puo_sostituire(&az, &chiavi(AZ, SA), false, &nessuna).is_ok());
        assert!(puo_sostituire(&az, &chiavi(ALTRA, SA), true, &tre).is_err());
        assert!(puo_sostituire(&sa, &chiavi(AZ, "X"), true, &nessuna).is_ok());
        assert!(puo_sostituire(&sa, &chiavi(AZ, "X"), false, &nessuna).is_err());
        assert!(puo_sostituire(&sa, &chiavi(AZ, "X"), false, &tre).is_ok());
        assert!(puo_sostituire(&sa, &chiavi(ALTRA, "X"), false, &tre).is_err());
    }

    #[test]
    fn lao_2_search_restrictions() {
        let az = Profilo::Azienda { cf: AZ.into() };
        let sa = Profilo::SoggettoAbilitato { cf: SA.into() };
        assert_eq!(
            restrizione_ricerca(&az, None, false)
                .unwrap()
                .committente_cf
                .as_deref(),
            Some(AZ)
        );
        assert!(restrizione_ricerca(&az, Some(ALTRA), false).is_err());
        assert_eq!(
            restrizione_ricerca(&sa, Some(ALTRA), false)
                .unwrap()
                .compilatore_cf
                .as_deref(),
            Some(SA)
        );
        assert_eq!(
            restrizione_ricerca(&sa, Some(ALTRA), true).unwrap(),
            Restrizione::default()
        );
        assert_eq!(
            restrizione_ricerca(&Profilo::Operatore, None, false).unwrap(),
            Restrizione::default()
        );
    }

    #[test]
    fn lao_1_a_legal_representative_acting_for_the_company_is_its_azienda() {
        let mut anna = id(Profile::Utilizzatore, SA);
        assert!(profilo(&anna).is_err());
        anna.on_behalf_of = Some(OnBehalf {
            cf: AZ.into(),
            ruolo: RUOLO_LEGALE_RAPPRESENTANTE.into(),
            delega_id: String::new(),
        });
        assert_eq!(profilo(&anna).unwrap(), Profilo::Azienda { cf: AZ.into() });
        // A delega is not a legal representation.
        anna.on_behalf_of = Some(OnBehalf {
            cf: AZ.into(),
            ruolo: "caf".into(),
            delega_id: "d".into(),
        });
        assert!(profilo(&anna).is_err());
    }
    #[test]
    fn lao_1_a_person_with_the_azienda_profile_names_its_company() {
        let persona = id(Profile::Azienda, SA);
        let p = profilo(&persona).unwrap();
        assert_eq!(rappresentante_da_verificare(&persona, &p), Some(SA));
        assert_eq!(azienda_indicata("committente_cf", " 00743110157 ").unwrap(), AZ);
        assert_eq!(
            azienda_indicata("committente_cf", " "),
            Err(Errore::AziendaNonIndicata {
                campo: "committente_cf".into()
            })
        );
        let azienda = id(Profile::Azienda, AZ);
        assert_eq!(
            rappresentante_da_verificare(&azienda, &profilo(&azienda).unwrap()),
            None
        );
    }

    #[test]
    fn lao_1_whom_to_act_for() {
        let sa = per_chi_operare(&id(Profile::SoggettoAbilitato, SA)).unwrap();
        let tipi: Vec<TipoProfiloOperativo> = sa.propri.iter().map(|p| p.tipo).collect();
        assert_eq!(
            tipi,
            [
                TipoProfiloOperativo::Cittadino,
                TipoProfiloOperativo::SoggettoAbilitato
            ]
        );
        assert_eq!(sa.persona.as_deref(), Some(SA));
        let azienda = per_chi_operare(&id(Profile::Azienda, AZ)).unwrap();
        assert_eq!(azienda.propri, [ProfiloOperativo::rappresentata(AZ, AZ)]);
        assert_eq!(azienda.persona, None);
        for p in [Profile::OperatoreSede, Profile::Sistema, Profile::FlussoPagamenti] {
            assert_eq!(
                per_chi_operare(&id(p, SA)),
                Err(Errore::SceltaNonAmmessa { profilo: p })
            );
        }
    }
}
