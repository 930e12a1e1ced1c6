//! Registration and correction of records (ANA-1, ANA-6, ANA-7), with the field-by-field
//! history every change leaves behind.

use chrono::{DateTime, Utc};
use occasionali_kernel::CodiceFiscale;
use occasionali_kernel::identita::{Identity, Profile};
use occasionali_kernel::violazioni::Violations;

use super::accesso::Accesso;
use super::*;

/// A changeable field of the record, by its path in the API (`update_mask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Campo {
    PersonaCognome,
    PersonaNome,
    PersonaDataNascita,
    PersonaSesso,
    PersonaLuogoNascita,
    OrganizzazioneDenominazione,
    OrganizzazioneLegaleRappresentante,
    Domicilio,
    ContattiCellulare,
    ContattiEmail,
    Sede,
    PrestatoreMetodoPagamento,
    PrestatoreCategorie,
    CpoCategoria,
    CpoAteco,
    CpoDipendenti,
    IntermediarioTipo,
    IntermediarioNumeroIscrizione,
}

impl Campo {
    pub const ALL: [Campo; 18] = [
        Campo::PersonaCognome,
        Campo::PersonaNome,
        Campo::PersonaDataNascita,
        Campo::PersonaSesso,
        Campo::PersonaLuogoNascita,
        Campo::OrganizzazioneDenominazione,
        Campo::OrganizzazioneLegaleRappresentante,
        Campo::Domicilio,
        Campo::ContattiCellulare,
        Campo::ContattiEmail,
        Campo::Sede,
        Campo::PrestatoreMetodoPagamento,
        Campo::PrestatoreCategorie,
        Campo::CpoCategoria,
        Campo::CpoAteco,
        Campo::CpoDipendenti,
        Campo::IntermediarioTipo,
        Campo::IntermediarioNumeroIscrizione,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Campo::PersonaCognome => "persona.cognome",
            Campo::PersonaNome => "persona.nome",
            Campo::PersonaDataNascita => "persona.data_nascita",
            Campo::PersonaSesso => "persona.sesso",
            Campo::PersonaLuogoNascita => "persona.luogo_nascita",
            Campo::OrganizzazioneDenominazione => "organizzazione.denominazione",
            Campo::OrganizzazioneLegaleRappresentante => "organizzazione.legale_rappresentante_cf",
            Campo::Domicilio => "domicilio",
            Campo::ContattiCellulare => "contatti.cellulare",
            Campo::ContattiEmail => "contatti.email",
            Campo::Sede => "sede",
            Campo::PrestatoreMetodoPagamento => "prestatore.metodo_pagamento",
            Campo::PrestatoreCategorie => "prestatore.categorie",
            Campo::CpoCategoria => "utilizzatore_cpo.categoria",
            Campo::CpoAteco => "utilizzatore_cpo.ateco",
            Campo::CpoDipendenti => "utilizzatore_cpo.dipendenti_tempo_indeterminato",
            Campo::IntermediarioTipo => "intermediario.tipo",
            Campo::IntermediarioNumeroIscrizione => "intermediario.numero_iscrizione",
        }
    }

    /// Accepts the paths above, `contatti` for both contacts, and camelCase spellings (grpcurl
    /// users type the JSON names).
    pub fn from_path(path: &str) -> Option<Vec<Campo>> {
        let snake = camel_to_snake(path.trim());
        if snake == "contatti" {
            return Some(vec![Campo::ContattiCellulare, Campo::ContattiEmail]);
        }
        Campo::ALL
            .into_iter()
            .find(|c| c.path() == snake)
            .map(|c| vec![c])
    }

    /// Fields only an operator may correct (ANA-6): identity data, the competent sede, and
    /// what decides which rules apply to an utilizzatore (ANA-7).
    pub fn solo_operatore(self) -> bool {
        !matches!(
            self,
            Campo::Domicilio
                | Campo::ContattiCellulare
                | Campo::ContattiEmail
                | Campo::PrestatoreMetodoPagamento
                | Campo::PrestatoreCategorie
                | Campo::CpoDipendenti
                | Campo::IntermediarioNumeroIscrizione
        )
    }
}

fn camel_to_snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A new value for one field.
#[derive(Clone, Debug)]
pub enum Valore {
    Cognome(String),
    Nome(String),
    DataNascita(chrono::NaiveDate),
    Sesso(occasionali_kernel::Sesso),
    LuogoNascita(String),
    Denominazione(String),
    LegaleRappresentante(String),
    Domicilio(Option<Domicilio>),
    Cellulare(Option<String>),
    Email(Option<String>),
    Sede(String),
    MetodoPagamento(MetodoPagamento),
    Categorie(Vec<CategoriaDichiarata>),
    CategoriaCpo(CategoriaUtilizzatore),
    Ateco(String),
    Dipendenti(u32),
    TipoIntermediario(TipoIntermediario),
    NumeroIscrizione(String),
}

/// One field's change, as the history shows it (ANA-6).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CampoModificato {
    pub campo: String,
    pub prima: String,
    pub dopo: String,
}

/// The text of a field for the history.
pub fn mostra(s: &Soggetto, c: Campo) -> String {
    let persona = match &s.identita {
        Identita::Persona(p) => Some(p),
        Identita::Organizzazione(_) => None,
    };
    let org = match &s.identita {
        Identita::Organizzazione(o) => Some(o),
        Identita::Persona(_) => None,
    };
    let cpo = s.utilizzatore_cpo.as_ref();
    let int = s.intermediario.as_ref();
    match c {
        Campo::PersonaCognome => persona.map(|p| p.cognome.clone()).unwrap_or_default(),
        Campo::PersonaNome => persona.map(|p| p.nome.clone()).unwrap_or_default(),
        Campo::PersonaDataNascita => persona.map(|p| p.data_nascita.to_string()).unwrap_or_default(),
        Campo::PersonaSesso => persona.map(|p| format!("{:?}", p.sesso)).unwrap_or_default(),
        Campo::PersonaLuogoNascita => persona.map(|p| p.luogo_nascita.clone()).unwrap_or_default(),
        Campo::OrganizzazioneDenominazione => org.map(|o| o.denominazione.clone()).unwrap_or_default(),
        Campo::OrganizzazioneLegaleRappresentante => org
            .map(|o| o.legale_rappresentante_cf.clone())
            .unwrap_or_default(),
        Campo::Domicilio => match &s.domicilio {
            None => String::new(),
            Some(Domicilio::Italia {
                comune_istat,
                indirizzo,
                cap,
            }) => match occasionali_kernel::luoghi::comune_by_istat(comune_istat) {
                Some(c) => format!("{indirizzo}, {cap} {} ({})", c.name, c.province),
                None => format!("{indirizzo}, {cap} {comune_istat}"),
            },
            Some(Domicilio::Estero {
                stato,
                citta,
                indirizzo,
            }) => format!("{indirizzo}, {citta} ({stato})"),
        },
        Campo::ContattiCellulare => s.contatti.cellulare.clone().unwrap_or_default(),
        Campo::ContattiEmail => s.contatti.email.clone().unwrap_or_default(),
        Campo::Sede => s.sede.clone(),
        Campo::PrestatoreMetodoPagamento => match s.prestatore.as_ref().map(|p| &p.metodo_pagamento) {
            None => String::new(),
            Some(MetodoPagamento::BonificoDomiciliato) => "bonifico domiciliato".into(),
            Some(MetodoPagamento::ContoCorrente { iban }) => format!("conto corrente {iban}"),
            Some(MetodoPagamento::LibrettoPostale { iban }) => format!("libretto postale {iban}"),
            Some(MetodoPagamento::CartaPagamento { iban }) => format!("carta {iban}"),
        },
        Campo::PrestatoreCategorie => s
            .prestatore
            .as_ref()
            .map(|p| {
                p.categorie
                    .iter()
                    .map(|c| {
                        let al = c.al.map(|d| d.to_string()).unwrap_or_default();
                        format!("{:?} {}..{}", c.tipo, c.dal, al)
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default(),
        Campo::CpoCategoria => cpo
            .and_then(|u| u.categoria)
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        Campo::CpoAteco => cpo.and_then(|u| u.ateco.clone()).unwrap_or_default(),
        Campo::CpoDipendenti => cpo.map(|u| u.dipendenti.to_string()).unwrap_or_default(),
        Campo::IntermediarioTipo => int.map(|i| format!("{:?}", i.tipo)).unwrap_or_default(),
        Campo::IntermediarioNumeroIscrizione => int.map(|i| i.numero_iscrizione.clone()).unwrap_or_default(),
    }
}

/// Every field that differs between two versions of a record.
pub fn differenze(prima: &Soggetto, dopo: &Soggetto) -> Vec<CampoModificato> {
    Campo::ALL
        .into_iter()
        .filter_map(|c| {
            let (a, b) = (mostra(prima, c), mostra(dopo, c));
            (a != b).then(|| CampoModificato {
                campo: c.path().into(),
                prima: a,
                dopo: b,
            })
        })
        .collect()
}

/// The fields a new subject starts with, as the history shows them: every field it has.
pub fn campi_iniziali(s: &Soggetto) -> Vec<CampoModificato> {
    Campo::ALL
        .into_iter()
        .map(|c| (c, mostra(s, c)))
        .filter(|(_, v)| !v.is_empty())
        .map(|(c, v)| CampoModificato {
            campo: c.path().into(),
            prima: String::new(),
            dopo: v,
        })
        .collect()
}

fn non_applicabile(campo: Campo, perche: &'static str) -> Errore {
    Errore::CampoNonApplicabile { campo, perche }
}

/// Applies new values to a record (validated values, checked for applicability here).
pub fn applica(mut s: Soggetto, valori: Vec<(Campo, Valore)>) -> Result<Soggetto, Errore> {
    for (campo, valore) in valori {
        match (&mut s.identita, valore) {
            (Identita::Persona(p), Valore::Cognome(v)) => p.cognome = v,
            (Identita::Persona(p), Valore::Nome(v)) => p.nome = v,
            (Identita::Persona(p), Valore::DataNascita(v)) => p.data_nascita = v,
            (Identita::Persona(p), Valore::Sesso(v)) => p.sesso = v,
            (Identita::Persona(p), Valore::LuogoNascita(v)) => p.luogo_nascita = v,
            (Identita::Organizzazione(o), Valore::Denominazione(v)) => o.denominazione = v,
            (Identita::Organizzazione(o), Valore::LegaleRappresentante(v)) => o.legale_rappresentante_cf = v,
            (
                _,
                Valore::Cognome(_)
                | Valore::Nome(_)
                | Valore::DataNascita(_)
                | Valore::Sesso(_)
                | Valore::LuogoNascita(_),
            ) => return Err(non_applicabile(campo, "the subject is an organisation")),
            (_, Valore::Denominazione(_) | Valore::LegaleRappresentante(_)) => {
                return Err(non_applicabile(campo, "the subject is a natural person"));
            }
            (_, Valore::Domicilio(v)) => s.domicilio = v,
            (_, Valore::Cellulare(v)) => s.contatti.cellulare = v,
            (_, Valore::Email(v)) => s.contatti.email = v,
            (_, Valore::Sede(v)) => s.sede = v,
            (_, Valore::MetodoPagamento(v)) => match s.prestatore.as_mut() {
                Some(p) => p.metodo_pagamento = v,
                None => return Err(non_applicabile(campo, "the subject is not a prestatore")),
            },
            (_, Valore::Categorie(v)) => match s.prestatore.as_mut() {
                Some(p) => p.categorie = v,
                None => return Err(non_applicabile(campo, "the subject is not a prestatore")),
            },
            (_, Valore::CategoriaCpo(v)) => match s.utilizzatore_cpo.as_mut() {
                Some(u) => u.categoria = Some(v),
                None => return Err(non_applicabile(campo, "the subject is not a CPO utilizzatore")),
            },
            (_, Valore::Ateco(v)) => match s.utilizzatore_cpo.as_mut() {
                Some(u) => u.ateco = Some(v),
                None => return Err(non_applicabile(campo, "the subject is not a CPO utilizzatore")),
            },
            (_, Valore::Dipendenti(v)) => match s.utilizzatore_cpo.as_mut() {
                Some(u) => u.dipendenti = v,
                None => return Err(non_applicabile(campo, "the subject is not a CPO utilizzatore")),
            },
            (_, Valore::TipoIntermediario(v)) => match s.intermediario.as_mut() {
                Some(i) => i.tipo = v,
                None => return Err(non_applicabile(campo, "the subject is not an intermediario")),
            },
            (_, Valore::NumeroIscrizione(v)) => match s.intermediario.as_mut() {
                Some(i) => i.numero_iscrizione = v,
                None => return Err(non_applicabile(campo, "the subject is not an intermediario")),
            },
        }
    }
    Ok(s)
}

/// ANA-6: who may change which fields, and the note operators must give.
pub fn autorizza_modifica(accesso: Accesso, campi: &[Campo], nota: &str) -> Result<(), Errore> {
    match accesso {
        Accesso::Titolare => match campi.iter().find(|c| c.solo_operatore()) {
            Some(&campo) => Err(Errore::SoloOperatore { campo }),
            None => Ok(()),
        },
        // The platform's own contexts act for a client recorded as the author.
        Accesso::Sistema => Ok(()),
        Accesso::Operatore if nota.trim().is_empty() => Err(Errore::NotaMancante),
        Accesso::Operatore => Ok(()),
    }
}

/// ANA-2 and ANA-3 on the record as it would be after a correction: a person's data must still
/// agree with its codice fiscale.
pub fn valida_dopo_correzione(s: &Soggetto) -> Result<(), Violations> {
    let mut v = Violations::new();
    if let Identita::Persona(p) = &s.identita
        && let Ok(cf) = CodiceFiscale::parse(&s.cf)
    {
        coerente(&mut v, "soggetto.persona", &cf, p);
    }
    v.check()
}

/// ANA-6: a correction applies to the version the caller read, when it names one (0: any).
pub fn verifica_versione(attuale: i64, attesa: i64) -> Result<(), Errore> {
    if attesa > 0 && attesa != attuale {
        return Err(Errore::VersioneSuperata { attuale, attesa });
    }
    Ok(())
}

/// ANA-7: does the change touch what decides which rules apply to an utilizzatore?
pub fn cambia_settore(diff: &[CampoModificato]) -> bool {
    diff.iter()
        .any(|c| c.campo == Campo::CpoCategoria.path() || c.campo == Campo::CpoAteco.path())
}

/// The corrected record as the next version of the one read.
pub fn nuova_versione(mut nuovo: Soggetto, letto: &Soggetto, ora: DateTime<Utc>) -> Soggetto {
    nuovo.versione = letto.versione + 1;
    nuovo.aggiornato_il = ora;
    nuovo
}

/// The history's name of a change: the subject's own, or an operator's (or the platform's)
/// correction.
pub fn azione(accesso: Accesso) -> &'static str {
    if accesso == Accesso::Titolare {
        "modifica"
    } else {
        "correzione"
    }
}

/// What prestazioni says about the utilizzatore (ANA-7).
#[derive(Clone, Debug, Default)]
pub struct StatoPrestazioni {
    pub has_prestazioni: bool,
    /// The prestazioni that would not fit the new categoria.
    pub incoerenti: Vec<Incoerenza>,
}

/// ANA-7: a sede operator may change the categoria only while there are no prestazioni; once
/// there are, only DG, and only when every prestazione fits the new categoria.
pub fn decidi_categoria(id: &Identity, stato: &StatoPrestazioni) -> Result<(), Errore> {
    if !stato.has_prestazioni {
        return Ok(());
    }
    if id.profile() != Profile::OperatoreDg {
        return Err(Errore::CategoriaSoloDg);
    }
    if stato.incoerenti.is_empty() {
        return Ok(());
    }
    Err(Errore::PrestazioniIncoerenti {
        incoerenti: stato.incoerenti.clone(),
    })
}

/// ANA-1: registering a role on a new or existing subject. The identity of an existing subject
/// must match what the request says (a correction is an operator's job, ANA-6); a domicile,
/// contacts or sede given with the new role replace the stored ones and are recorded.
pub fn registra(
    esistente: Option<Soggetto>,
    reg: Registrazione,
    ora: DateTime<Utc>,
) -> Result<Soggetto, Errore> {
    let mut s = match esistente {
        Some(s) => aggiorna_registrato(s, &reg)?,
        None => nuovo_soggetto(&reg, ora)?,
    };
    assegna_ruolo(&mut s, reg.ruolo, ora);
    s.versione += 1;
    s.aggiornato_il = ora;
    Ok(s)
}

/// A new role on a registered subject: a role it does not hold yet, under the identity it is
/// registered with; the domicile, contacts and sede given replace the stored ones.
fn aggiorna_registrato(mut s: Soggetto, reg: &Registrazione) -> Result<Soggetto, Errore> {
    if s.ha_ruolo(reg.ruolo.ruolo()) {
        return Err(Errore::GiaRegistrato);
    }
    if s.identita != reg.identita {
        let mut probe = s.clone();
        probe.identita = reg.identita.clone();
        let campi = differenze(&s, &probe).into_iter().map(|c| c.campo).collect();
        return Err(Errore::IdentitaDiversa { campi });
    }
    if reg.domicilio.is_some() {
        s.domicilio = reg.domicilio.clone();
    }
    if reg.contatti.cellulare.is_some() {
        s.contatti.cellulare = reg.contatti.cellulare.clone();
    }
    if reg.contatti.email.is_some() {
        s.contatti.email = reg.contatti.email.clone();
    }
    if let Some(sede) = &reg.sede {
        s.sede = sede.clone();
    }
    Ok(s)
}

/// A subject registered for the first time (ANA-4: with a domicile; ANA-5: with a sede), still
/// without roles.
fn nuovo_soggetto(reg: &Registrazione, ora: DateTime<Utc>) -> Result<Soggetto, Errore> {
    let domicilio = reg.domicilio.clone().ok_or(Errore::DomicilioMancante)?;
    Ok(Soggetto {
        cf: reg.cf.clone(),
        identita: reg.identita.clone(),
        domicilio: Some(domicilio),
        contatti: reg.contatti.clone(),
        sede: reg.sede_nuovo_soggetto()?,
        prestatore: None,
        utilizzatore_lf: None,
        utilizzatore_cpo: None,
        intermediario: None,
        versione: 0,
        aggiornato_il: ora,
    })
}

fn assegna_ruolo(s: &mut Soggetto, ruolo: DatiRuolo, ora: DateTime<Utc>) {
    match ruolo {
        DatiRuolo::Prestatore {
            metodo_pagamento,
            categorie,
        } => {
            s.prestatore = Some(RuoloPrestatore {
                metodo_pagamento,
                categorie,
                registrato_il: ora,
            })
        }
        DatiRuolo::Utilizzatore(tipo, categoria, ateco, dipendenti) => {
            let r = RuoloUtilizzatore {
                tipo,
                categoria,
                ateco,
                dipendenti,
                registrato_il: ora,
            };
            match tipo {
                TipoUtilizzatore::LibrettoFamiglia => s.utilizzatore_lf = Some(r),
                TipoUtilizzatore::Cpo => s.utilizzatore_cpo = Some(r),
            }
        }
        DatiRuolo::Intermediario(tipo, numero_iscrizione) => {
            s.intermediario = Some(RuoloIntermediario {
                tipo,
                numero_iscrizione,
                registrato_il: ora,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use occasionali_kernel::identita::Principal;

    fn persona() -> Identita {
        Identita::Persona(Persona {
            cognome: "ROSSI".into(),
            nome: "MARIO".into(),
            data_nascita: NaiveDate::from_ymd_opt(1985, 12, 10).unwrap_or_default(),
            sesso: occasionali_kernel::Sesso::M,
            luogo_nascita: "A562".into(),
        })
    }

    fn reg(ruolo: DatiRuolo) -> Registrazione {
        Registrazione {
            cf: "RSSMRA85T10A562S".into(),
            identita: persona(),
            domicilio: Some(Domicilio::Italia {
                comune_istat: "058091".into(),
                indirizzo: "Via Roma 1".into(),
                cap: "00100".into(),
            }),
            contatti: Contatti::default(),
            sede: Some("RM".into()),
            ruolo,
        }
    }

    fn prestatore() -> DatiRuolo {
        DatiRuolo::Prestatore {
            metodo_pagamento: MetodoPagamento::BonificoDomiciliato,
            categorie: vec![],
        }
    }

    fn id(profile: Profile) -> Identity {
        Identity::new(Principal {
            cf: "OP".into(),
            profile,
            sede: Some("RM".into()),
        })
    }

    #[test]
    fn ana_1_one_cf_many_roles_but_each_once() {
        let ora = Utc::now();
        let s = registra(None, reg(prestatore()), ora).unwrap_or_else(|e| panic!("{e}"));
        let lf = DatiRuolo::Utilizzatore(TipoUtilizzatore::LibrettoFamiglia, None, None, 0);
        let s = registra(Some(s), reg(lf), ora).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.prestatore.is_some() && s.utilizzatore_lf.is_some());
        assert_eq!(s.versione, 2);
        let again = registra(Some(s), reg(prestatore()), ora);
        assert!(matches!(again, Err(Errore::GiaRegistrato)));
    }

    #[test]
    fn ana_4_new_subject_needs_a_domicile_and_gets_its_sede() {
        let mut r = reg(prestatore());
        r.sede = None;
        let s = registra(None, r.clone(), Utc::now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.sede, "RM");
        r.domicilio = None;
        assert!(matches!(
            registra(None, r, Utc::now()),
            Err(Errore::DomicilioMancante)
        ));
    }

    #[test]
    fn ana_1_second_role_with_other_identity_is_refused() {
        let ora = Utc::now();
        let s = registra(None, reg(prestatore()), ora).unwrap_or_else(|e| panic!("{e}"));
        let mut r = reg(DatiRuolo::Utilizzatore(
            TipoUtilizzatore::LibrettoFamiglia,
            None,
            None,
            0,
        ));
        if let Identita::Persona(p) = &mut r.identita {
            p.nome = "MARIA".into();
        }
        assert!(matches!(
            registra(Some(s), r, ora),
            Err(Errore::IdentitaDiversa { .. })
        ));
    }

    #[test]
    fn ana_6_owner_cannot_touch_identity_and_operator_needs_a_note() {
        assert!(autorizza_modifica(Accesso::Titolare, &[Campo::ContattiEmail], "").is_ok());
        assert!(matches!(
            autorizza_modifica(Accesso::Titolare, &[Campo::PersonaCognome], "x"),
            Err(Errore::SoloOperatore { .. })
        ));
        assert!(matches!(
            autorizza_modifica(Accesso::Operatore, &[Campo::PersonaCognome], "  "),
            Err(Errore::NotaMancante)
        ));
        assert!(autorizza_modifica(Accesso::Operatore, &[Campo::PersonaCognome], "documento").is_ok());
    }

    #[test]
    fn ana_6_history_lists_each_changed_field() {
        let ora = Utc::now();
        let s = registra(None, reg(prestatore()), ora).unwrap_or_else(|e| panic!("{e}"));
        let t = applica(
            s.clone(),
            vec![
                (Campo::ContattiEmail, Valore::Email(Some("a@b.it".into()))),
                (Campo::Sede, Valore::Sede("MI".into())),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let d = differenze(&s, &t);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].campo, "contatti.email");
        assert_eq!(d[1].prima, "RM");
        assert_eq!(d[1].dopo, "MI");
    }

    #[test]
    fn ana_6_fields_of_missing_roles_are_refused() {
        let ora = Utc::now();
        let s = registra(None, reg(prestatore()), ora).unwrap_or_else(|e| panic!("{e}"));
        assert!(applica(s.clone(), vec![(Campo::CpoDipendenti, Valore::Dipendenti(3))]).is_err());
        assert!(
            applica(
                s,
                vec![(
                    Campo::OrganizzazioneDenominazione,
                    Valore::Denominazione("X".into())
                )]
            )
            .is_err()
        );
    }

    #[test]
    fn ana_7_categoria_change_rules() {
        let none = StatoPrestazioni::default();
        assert!(decidi_categoria(&id(Profile::OperatoreSede), &none).is_ok());
        let some = StatoPrestazioni {
            has_prestazioni: true,
            incoerenti: vec![],
        };
        assert!(matches!(
            decidi_categoria(&id(Profile::OperatoreSede), &some),
            Err(Errore::CategoriaSoloDg)
        ));
        assert!(decidi_categoria(&id(Profile::OperatoreDg), &some).is_ok());
        let bad = StatoPrestazioni {
            has_prestazioni: true,
            incoerenti: vec![Incoerenza {
                prestazione_id: "pre_1".into(),
                regola: "PRE-6".into(),
                descrizione: "not a PA purpose".into(),
            }],
        };
        match decidi_categoria(&id(Profile::OperatoreDg), &bad) {
            Err(e @ Errore::PrestazioniIncoerenti { .. }) => assert!(e.to_string().contains("pre_1")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mask_paths_accept_camel_case() {
        assert_eq!(
            Campo::from_path("contatti.email"),
            Some(vec![Campo::ContattiEmail])
        );
        assert_eq!(
            Campo::from_path("persona.dataNascita"),
            Some(vec![Campo::PersonaDataNascita])
        );
        assert_eq!(Campo::from_path("contatti").map(|v| v.len()), Some(2));
        assert_eq!(Campo::from_path("codice_fiscale"), None);
    }
}
