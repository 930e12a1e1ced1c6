//! The people, companies and operators of every suite: one set of codici fiscali (valid, each
//! generated from its data by the kernel, ANA-2), addresses and contacts, so a test of one
//! context reads like a test of another.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::{DatiAnagrafici, Sesso, cf};
use occasionali_proto::anagrafica as ana;

/// The platform time of every suite unless moved: 2026-06-15 12:00 in Rome.
#[allow(clippy::expect_used)]
pub fn ora() -> DateTime<Utc> {
    "2026-06-15T10:00:00Z".parse().expect("a valid instant")
}

/// A company (its codice fiscale is its partita IVA).
pub const PIVA: &str = "00743110157";
pub const IBAN: &str = "IT60X0542811101000000123456";
/// A restaurant (56.10.11): not a special sector, not excluded.
pub const ATECO: &str = "56.10.11";
/// The operators of the Rome and Milan sedi, and of the central direction.
pub const OP_RM: &str = "VRDGPP70A01H501U";
pub const OP_MI: &str = "BNCLRA75B41F205X";
pub const OP_DG: &str = "NRELSN68C12H501Z";
/// The payments feed's service identity (POR-2).
pub const FLUSSO: &str = "AGENZIA-ENTRATE";

#[allow(clippy::expect_used)]
pub fn data(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
}

/// An RFC 3339 instant as a protobuf timestamp.
#[allow(clippy::expect_used)]
pub fn ts(s: &str) -> prost_types::Timestamp {
    let t: DateTime<Utc> = s.parse().expect("an RFC 3339 instant");
    istante(t)
}

pub fn istante(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn sesso_pb(s: Sesso) -> ana::Sesso {
    match s {
        Sesso::M => ana::Sesso::M,
        Sesso::F => ana::Sesso::F,
    }
}

/// A person born in `luogo` (Belfiore code), with the codice fiscale of its data.
pub fn persona_di(cognome: &str, nome: &str, nascita: &str, sesso: Sesso, luogo: &str) -> ana::PersonaFisica {
    let cf = cf::genera(&DatiAnagrafici {
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: data(nascita),
        sesso,
        luogo_nascita: luogo.into(),
    });
    ana::PersonaFisica {
        codice_fiscale: cf.as_str().into(),
        cognome: cognome.into(),
        nome: nome.into(),
        data_nascita: nascita.into(),
        sesso: sesso_pb(sesso) as i32,
        luogo_nascita: luogo.into(),
        luogo_nascita_nome: String::new(),
    }
}

/// A person born in Rome.
pub fn persona(cognome: &str, nome: &str, nascita: &str, sesso: Sesso) -> ana::PersonaFisica {
    persona_di(cognome, nome, nascita, sesso, "H501")
}

/// The surnames and given names the kit's people are made of.
pub const COGNOMI: [&str; 10] = [
    "Rossi", "Bianchi", "Verdi", "Russo", "Ferrari", "Esposito", "Romano", "Colombo", "Ricci", "Marino",
];
pub const NOMI: [(&str, Sesso); 6] = [
    ("Luca", Sesso::M),
    ("Giulia", Sesso::F),
    ("Marco", Sesso::M),
    ("Sara", Sesso::F),
    ("Paolo", Sesso::M),
    ("Elena", Sesso::F),
];

/// The `i`-th of many distinct people (distinct birth dates).
pub fn persona_n(i: usize) -> ana::PersonaFisica {
    let (nome, sesso) = NOMI[i % NOMI.len()];
    let nascita = format!("{}-{:02}-{:02}", 1950 + i, i % 12 + 1, i % 28 + 1);
    persona(COGNOMI[i % COGNOMI.len()], nome, &nascita, sesso)
}

/// The codice fiscale of the `i`-th person.
pub fn cf_n(i: usize) -> String {
    persona_n(i).codice_fiscale
}

/// A valid codice fiscale nobody registered.
pub fn cf_sconosciuto() -> String {
    persona("Sconosciuto", "Nessuno", "1977-07-07", Sesso::M).codice_fiscale
}

pub fn domicilio(comune: &str, cap: &str) -> ana::Domicilio {
    ana::Domicilio {
        comune: comune.into(),
        indirizzo: "Via Garibaldi 1".into(),
        cap: cap.into(),
        ..Default::default()
    }
}

/// Rome (ISTAT code), sede RM.
pub fn roma() -> ana::Domicilio {
    domicilio("058091", "00184")
}

/// Milan (cadastral code), sede MI.
pub fn milano() -> ana::Domicilio {
    domicilio("F205", "20121")
}

pub fn contatti() -> ana::Contatti {
    ana::Contatti {
        cellulare: "+393331234567".into(),
        email: "persona@example.it".into(),
    }
}

/// Paid on a bank account (ANA-4).
pub fn conto(iban: &str) -> ana::MetodoPagamento {
    ana::MetodoPagamento {
        tipo: ana::TipoMetodoPagamento::ContoCorrente as i32,
        iban: iban.into(),
    }
}

/// A company as the registry knows it: a CPO utilizzatore (a restaurant, [`ATECO`], categoria
/// impresa, three permanent employees) with its legal representative, domiciled at
/// `domicilio`. Suites whose context needs a company in the registry change what they must
/// (its name, contacts, an operator's note) with `..impresa(…)`.
pub fn impresa(cf: &str, legale: &str, domicilio: ana::Domicilio) -> ana::RegisterUtilizzatoreRequest {
    ana::RegisterUtilizzatoreRequest {
        tipo: ana::TipoUtilizzatore::Cpo as i32,
        organizzazione: Some(ana::Organizzazione {
            codice_fiscale: cf.into(),
            denominazione: "Trattoria Da Mario S.r.l.".into(),
            legale_rappresentante_cf: legale.into(),
        }),
        domicilio: Some(domicilio),
        contatti: Some(contatti()),
        categoria: ana::CategoriaUtilizzatore::Impresa as i32,
        ateco: ATECO.into(),
        dipendenti_tempo_indeterminato: 3,
        ..Default::default()
    }
}

/// A prestatore as the registry knows it: `p` domiciled in Rome, paid on a bank account
/// ([`IBAN`]), no category declared. Suites change what they must (the categories, another
/// domicile) with `..prestatore(…)`.
pub fn prestatore(p: ana::PersonaFisica) -> ana::RegisterPrestatoreRequest {
    ana::RegisterPrestatoreRequest {
        persona: Some(p),
        domicilio: Some(roma()),
        contatti: Some(contatti()),
        metodo_pagamento: Some(conto(IBAN)),
        ..Default::default()
    }
}

/// A family as the registry knows it: `p` a Libretto Famiglia utilizzatore living at
/// `domicilio` (its sede follows it).
pub fn famiglia(p: ana::PersonaFisica, domicilio: ana::Domicilio) -> ana::RegisterUtilizzatoreRequest {
    ana::RegisterUtilizzatoreRequest {
        tipo: ana::TipoUtilizzatore::LibrettoFamiglia as i32,
        persona: Some(p),
        domicilio: Some(domicilio),
        contatti: Some(contatti()),
        ..Default::default()
    }
}
