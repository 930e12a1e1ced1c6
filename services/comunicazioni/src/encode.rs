//! Domain → wire.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::Sesso;
use occasionali_proto::comunicazioni as pb;

use crate::app::Esito;
use crate::domain::accesso::{ProfiloOperativo, TipoProfiloOperativo};
use crate::domain::catena;
use crate::domain::soglia::{Avviso, TotaleAnno};
use crate::domain::*;
use crate::store::{Registrata, Sintesi};

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub fn tipo(t: Tipo) -> pb::TipoComunicazione {
    match t {
        Tipo::P => pb::TipoComunicazione::Preventiva,
        Tipo::V => pb::TipoComunicazione::Variazione,
        Tipo::A => pb::TipoComunicazione::Annullamento,
    }
}

pub fn durata(d: Durata) -> pb::DurataRapporto {
    match d {
        Durata::Giorni7 => pb::DurataRapporto::Giorni7,
        Durata::Giorni15 => pb::DurataRapporto::Giorni15,
        Durata::Giorni30 => pb::DurataRapporto::Giorni30,
    }
}

pub fn committente(c: &Committente) -> pb::Committente {
    pb::Committente {
        codice_fiscale: c.cf.clone(),
        denominazione: c.denominazione.clone(),
        comune: c.comune_istat.clone(),
        indirizzo: c.indirizzo.clone(),
        cap: c.cap.clone(),
        email: c.email.clone(),
    }
}

fn tipo_documento(t: TipoDocumento) -> pb::TipoDocumento {
    match t {
        TipoDocumento::CartaIdentita => pb::TipoDocumento::CartaIdentita,
        TipoDocumento::Passaporto => pb::TipoDocumento::Passaporto,
        TipoDocumento::Patente => pb::TipoDocumento::Patente,
        TipoDocumento::Altro => pb::TipoDocumento::Altro,
    }
}

pub fn lavoratore(l: &Lavoratore) -> pb::Lavoratore {
    use pb::lavoratore::Identificazione as I;
    let identificazione = match &l.identificazione {
        Identificazione::Documento(d) => I::Documento(pb::DocumentoIdentita {
            tipo: tipo_documento(d.tipo) as i32,
            numero: d.numero.clone(),
            rilasciato_da: d.rilasciato_da.clone(),
            data_rilascio: d.data_rilascio.to_string(),
            data_scadenza: d.data_scadenza.to_string(),
        }),
        Identificazione::Permesso(p) => I::PermessoSoggiorno(pb::PermessoSoggiorno {
            numero: p.numero.clone(),
            motivo: p.motivo.clone(),
            questura: p.questura.clone(),
            data_rilascio: p.data_rilascio.to_string(),
            data_scadenza: p.data_scadenza.to_string(),
        }),
    };
    let luogo = match &l.domicilio {
        Domicilio::Italia {
            comune_istat,
            indirizzo,
            cap,
        } => pb::domicilio::Luogo::Italia(pb::DomicilioItalia {
            comune: comune_istat.clone(),
            indirizzo: indirizzo.clone(),
            cap: cap.clone(),
        }),
        Domicilio::Estero {
            stato,
            citta,
            indirizzo,
        } => pb::domicilio::Luogo::Estero(pb::DomicilioEstero {
            stato: stato.clone(),
            citta: citta.clone(),
            indirizzo: indirizzo.clone(),
        }),
    };
    pb::Lavoratore {
        codice_fiscale: l.cf.clone(),
        cognome: l.cognome.clone(),
        nome: l.nome.clone(),
        data_nascita: l.data_nascita.to_string(),
        sesso: match l.sesso {
            Sesso::M => pb::Sesso::M,
            Sesso::F => pb::Sesso::F,
        } as i32,
        luogo_nascita: l.luogo_nascita.clone(),
        cittadinanza: l.cittadinanza.clone(),
        identificazione: Some(identificazione),
        domicilio: Some(pb::Domicilio { luogo: Some(luogo) }),
    }
}

pub fn rapporto(r: &Rapporto) -> pb::Rapporto {
    pb::Rapporto {
        data_inizio: r.data_inizio.to_string(),
        durata: durata(r.durata) as i32,
        data_fine: r.data_fine().to_string(),
        descrizione: r.descrizione.clone(),
        compenso_stimato: r.compenso_stimato.to_string(),
        luoghi_lavoro: r
            .luoghi_lavoro
            .iter()
            .map(|l| pb::LuogoLavoro {
                comune: l.comune_istat.clone(),
                indirizzo: l.indirizzo.clone(),
                cap: l.cap.clone(),
            })
            .collect(),
    }
}

pub fn avviso(a: Avviso) -> pb::Avviso {
    pb::Avviso {
        codice: a.codice,
        messaggio: a.messaggio,
    }
}

/// A communication as sent, with where it stands in its chain, the actions it allows on `oggi`
/// and any warnings.
pub fn comunicazione(
    c: &Comunicazione,
    successiva: Option<&str>,
    oggi: NaiveDate,
    avvisi: Vec<Avviso>,
) -> pb::Comunicazione {
    let i = &c.invio;
    let azioni = catena::consentite(i.tipo, successiva, c.contenuto.rapporto.data_inizio, oggi);
    pb::Comunicazione {
        dati_invio: Some(pb::DatiInvio {
            compilatore_cf: i.compilatore_cf.clone(),
            compilatore_email: i.compilatore_email.clone(),
            data_invio: i.data_invio.to_string(),
            inviata_il: Some(timestamp(i.inviata_il)),
            tipo: tipo(i.tipo) as i32,
            codice_comunicazione: i.codice.clone(),
            codice_comunicazione_precedente: i.codice_precedente.clone().unwrap_or_default(),
        }),
        committente: Some(committente(&c.contenuto.committente)),
        lavoratore: Some(lavoratore(&c.contenuto.lavoratore)),
        rapporto: Some(rapporto(&c.contenuto.rapporto)),
        is_head: successiva.is_none(),
        codice_comunicazione_successiva: successiva.unwrap_or_default().to_string(),
        avvisi: avvisi.into_iter().map(avviso).collect(),
        variabile: azioni.variabile,
        annullabile: azioni.annullabile,
    }
}

/// What a send answers (InsertComunicazione, VaryComunicazione, CancelComunicazione).
pub fn esito(e: Esito) -> pb::Comunicazione {
    comunicazione(&e.com, e.successiva.as_deref(), e.oggi, e.avvisi)
}

pub fn registrata(r: &Registrata, oggi: NaiveDate, avvisi: Vec<Avviso>) -> pb::Comunicazione {
    comunicazione(&r.com, r.successiva.as_deref(), oggi, avvisi)
}

/// A search or chain row, with the actions it allows on `oggi`.
pub fn sintesi(s: &Sintesi, oggi: NaiveDate) -> pb::SintesiComunicazione {
    let azioni = catena::consentite(s.tipo, s.successiva.as_deref(), s.data_inizio, oggi);
    pb::SintesiComunicazione {
        codice_comunicazione: s.codice.clone(),
        tipo: tipo(s.tipo) as i32,
        is_head: s.successiva.is_none(),
        codice_comunicazione_precedente: s.precedente.clone().unwrap_or_default(),
        data_invio: s.data_invio.to_string(),
        committente_cf: s.committente_cf.clone(),
        committente_denominazione: s.committente_denominazione.clone(),
        lavoratore_cf: s.lavoratore_cf.clone(),
        lavoratore_nominativo: s.lavoratore_nominativo.clone(),
        data_inizio: s.data_inizio.to_string(),
        durata: durata(s.durata) as i32,
        compilatore_cf: s.compilatore_cf.clone(),
        variabile: azioni.variabile,
        annullabile: azioni.annullabile,
    }
}

pub fn anno(t: &TotaleAnno) -> pb::RiepilogoAnnoLavoratore {
    pb::RiepilogoAnnoLavoratore {
        anno: t.anno,
        numero_comunicazioni: t.numero,
        compenso_stimato_totale: t.totale().to_string(),
        soglia_gestione_separata_superata: t.supera_soglia(),
    }
}

pub fn profilo_operativo(p: ProfiloOperativo) -> pb::ProfiloOperativo {
    use pb::TipoProfiloOperativo as T;
    let tipo = match p.tipo {
        TipoProfiloOperativo::Cittadino => T::Cittadino,
        TipoProfiloOperativo::SoggettoAbilitato => T::SoggettoAbilitato,
        TipoProfiloOperativo::Azienda => T::Azienda,
        TipoProfiloOperativo::Delega => T::Delega,
    };
    pb::ProfiloOperativo {
        tipo: tipo as i32,
        codice_fiscale: p.cf,
        denominazione: p.denominazione,
        profilo: p.profilo.as_str().to_string(),
        ruolo: p.ruolo,
        delega_id: p.delega_id,
    }
}
