//! Domain → wire.

use chrono::{DateTime, Utc};
use occasionali_kernel::{Sesso, luoghi};
use occasionali_proto::anagrafica as pb;

use crate::domain::estrazione::SoggettoAttivo;
use crate::domain::*;
use crate::store::{AccessoRegistrato, ModificaRegistrata};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn persona(cf: &str, p: &Persona) -> pb::PersonaFisica {
    pb::PersonaFisica {
        codice_fiscale: cf.to_string(),
        cognome: p.cognome.clone(),
        nome: p.nome.clone(),
        data_nascita: p.data_nascita.to_string(),
        sesso: match p.sesso {
            Sesso::M => pb::Sesso::M,
            Sesso::F => pb::Sesso::F,
        } as i32,
        luogo_nascita: p.luogo_nascita.clone(),
        luogo_nascita_nome: luoghi::belfiore_valid_on(&p.luogo_nascita, p.data_nascita)
            .map(|l| l.name.clone())
            .unwrap_or_default(),
    }
}

pub fn domicilio(d: &Domicilio) -> pb::Domicilio {
    match d {
        Domicilio::Italia {
            comune_istat,
            indirizzo,
            cap,
        } => {
            let c = luoghi::comune_by_istat(comune_istat);
            pb::Domicilio {
                comune: comune_istat.clone(),
                indirizzo: indirizzo.clone(),
                cap: cap.clone(),
                comune_nome: c.map(|c| c.name.clone()).unwrap_or_default(),
                provincia: c.map(|c| c.province.clone()).unwrap_or_default(),
                ..Default::default()
            }
        }
        Domicilio::Estero {
            stato,
            citta,
            indirizzo,
        } => pb::Domicilio {
            stato_estero: stato.clone(),
            citta_estera: citta.clone(),
            indirizzo: indirizzo.clone(),
            ..Default::default()
        },
    }
}

fn metodo(m: &MetodoPagamento) -> pb::MetodoPagamento {
    use pb::TipoMetodoPagamento as T;
    let (tipo, iban) = match m {
        MetodoPagamento::ContoCorrente { iban } => (T::ContoCorrente, iban.clone()),
        MetodoPagamento::LibrettoPostale { iban } => (T::LibrettoPostale, iban.clone()),
        MetodoPagamento::CartaPagamento { iban } => (T::CartaPagamento, iban.clone()),
        MetodoPagamento::BonificoDomiciliato => (T::BonificoDomiciliato, String::new()),
    };
    pb::MetodoPagamento {
        tipo: tipo as i32,
        iban,
    }
}

pub fn tipo_categoria(t: TipoCategoria) -> pb::TipoCategoria {
    match t {
        TipoCategoria::Pensionato => pb::TipoCategoria::Pensionato,
        TipoCategoria::Studente => pb::TipoCategoria::Studente,
        TipoCategoria::Disoccupato => pb::TipoCategoria::Disoccupato,
        TipoCategoria::PercettoreSostegnoReddito => pb::TipoCategoria::PercettoreSostegnoReddito,
        TipoCategoria::IscrittoElenchiAgricoli => pb::TipoCategoria::IscrittoElenchiAgricoli,
    }
}

fn categoria_utilizzatore(c: CategoriaUtilizzatore) -> pb::CategoriaUtilizzatore {
    use pb::CategoriaUtilizzatore as C;
    match c {
        CategoriaUtilizzatore::Impresa => C::Impresa,
        CategoriaUtilizzatore::Professionista => C::Professionista,
        CategoriaUtilizzatore::ImpresaAgricola => C::ImpresaAgricola,
        CategoriaUtilizzatore::PubblicaAmministrazione => C::PubblicaAmministrazione,
        CategoriaUtilizzatore::AssociazioneEnte => C::AssociazioneEnte,
        CategoriaUtilizzatore::Altro => C::Altro,
    }
}

fn utilizzatore(u: &RuoloUtilizzatore) -> pb::Utilizzatore {
    pb::Utilizzatore {
        tipo: match u.tipo {
            TipoUtilizzatore::LibrettoFamiglia => pb::TipoUtilizzatore::LibrettoFamiglia,
            TipoUtilizzatore::Cpo => pb::TipoUtilizzatore::Cpo,
        } as i32,
        categoria: u
            .categoria
            .map(|c| categoria_utilizzatore(c) as i32)
            .unwrap_or_default(),
        ateco: u.ateco.clone().unwrap_or_default(),
        dipendenti_tempo_indeterminato: i32::try_from(u.dipendenti).unwrap_or(i32::MAX),
        registrato_il: Some(timestamp(u.registrato_il)),
    }
}

pub fn soggetto(s: &Soggetto) -> pb::Soggetto {
    use pb::soggetto::Identita as W;
    pb::Soggetto {
        codice_fiscale: s.cf.clone(),
        identita: Some(match &s.identita {
            Identita::Persona(p) => W::Persona(persona(&s.cf, p)),
            Identita::Organizzazione(o) => W::Organizzazione(pb::Organizzazione {
                codice_fiscale: s.cf.clone(),
                denominazione: o.denominazione.clone(),
                legale_rappresentante_cf: o.legale_rappresentante_cf.clone(),
            }),
        }),
        domicilio: s.domicilio.as_ref().map(domicilio),
        contatti: Some(pb::Contatti {
            cellulare: s.contatti.cellulare.clone().unwrap_or_default(),
            email: s.contatti.email.clone().unwrap_or_default(),
        }),
        sede: s.sede.clone(),
        prestatore: s.prestatore.as_ref().map(|p| pb::Prestatore {
            metodo_pagamento: Some(metodo(&p.metodo_pagamento)),
            categorie: p
                .categorie
                .iter()
                .map(|c| pb::CategoriaDichiarata {
                    tipo: tipo_categoria(c.tipo) as i32,
                    validita: Some(occasionali_proto::common::Periodo {
                        dal: c.dal.to_string(),
                        al: c.al.map(|d| d.to_string()).unwrap_or_default(),
                    }),
                    dettaglio: c.dettaglio.clone(),
                })
                .collect(),
            registrato_il: Some(timestamp(p.registrato_il)),
        }),
        utilizzatore_lf: s.utilizzatore_lf.as_ref().map(utilizzatore),
        utilizzatore_cpo: s.utilizzatore_cpo.as_ref().map(utilizzatore),
        intermediario: s.intermediario.as_ref().map(|i| pb::Intermediario {
            tipo: match i.tipo {
                TipoIntermediario::ConsulenteLavoro => pb::TipoIntermediario::ConsulenteLavoro,
                TipoIntermediario::Patronato => pb::TipoIntermediario::Patronato,
                TipoIntermediario::Caf => pb::TipoIntermediario::Caf,
                TipoIntermediario::AssociazioneCategoria => pb::TipoIntermediario::AssociazioneCategoria,
            } as i32,
            numero_iscrizione: i.numero_iscrizione.clone(),
            registrato_il: Some(timestamp(i.registrato_il)),
        }),
        versione: s.versione,
        aggiornato_il: Some(timestamp(s.aggiornato_il)),
    }
}

pub fn soggetto_attivo(a: SoggettoAttivo) -> pb::SoggettoAttivo {
    pb::SoggettoAttivo {
        codice_fiscale: a.cf,
        nominativo: a.nominativo,
        sede: a.sede,
        numero_prestazioni: a.numero_prestazioni,
        categorie: a
            .categorie
            .into_iter()
            .map(|t| tipo_categoria(t) as i32)
            .collect(),
    }
}

/// An organisation `s` (ANA-8), as a line of the list of those a person represents.
pub fn rappresentata(s: &Soggetto) -> pb::Rappresentata {
    pb::Rappresentata {
        codice_fiscale: s.cf.clone(),
        denominazione: s.nominativo(),
        sede: s.sede.clone(),
    }
}

pub fn organizzazione(cf: String, o: Organizzazione) -> pb::Organizzazione {
    pb::Organizzazione {
        codice_fiscale: cf,
        denominazione: o.denominazione,
        legale_rappresentante_cf: o.legale_rappresentante_cf,
    }
}

pub fn modifica(m: ModificaRegistrata) -> pb::Modifica {
    pb::Modifica {
        id: m.id,
        eseguita_il: Some(timestamp(m.eseguita_il)),
        autore_cf: m.autore_cf,
        autore_profilo: m.autore_profilo,
        azione: m.azione,
        campi: m
            .campi
            .into_iter()
            .map(|c| pb::CampoModificato {
                campo: c.campo,
                prima: c.prima,
                dopo: c.dopo,
            })
            .collect(),
        nota: m.nota,
    }
}

pub fn accesso_operatore(a: AccessoRegistrato) -> pb::AccessoOperatore {
    pb::AccessoOperatore {
        eseguito_il: Some(timestamp(a.eseguito_il)),
        autore_cf: a.autore_cf,
        autore_profilo: a.autore_profilo,
        autore_sede: a.autore_sede,
        azione: a.azione,
        codice_fiscale: a.cf,
        dettaglio: a.dettaglio,
    }
}
