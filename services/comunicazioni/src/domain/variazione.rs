//! What a variation may change (LAO-7, LAO-8).
//!
//! Up to the start date (inclusive) everything may change except the committente's and the
//! worker's CF, and the committente's other data when that company is bound to an access
//! profile (it then comes from the profile, not from whoever compiles). From the day after the
//! start date only the identity document, the residence permit and the domicile may change.

use occasionali_kernel::violazioni::Violations;

use super::catena::Fase;
use super::{Contenuto, Errore, Identificazione};

/// The fields still open after the start date (LAO-8).
const APERTI_DOPO_INIZIO: [&str; 3] = [
    "lavoratore.documento",
    "lavoratore.permesso_soggiorno",
    "lavoratore.domicilio",
];

fn identificazione_path(i: &Identificazione) -> &'static str {
    match i {
        Identificazione::Documento(_) => "lavoratore.documento",
        Identificazione::Permesso(_) => "lavoratore.permesso_soggiorno",
    }
}

/// The request paths of the fields in which `a` and `b` differ.
pub fn differenze(a: &Contenuto, b: &Contenuto) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut diff = |changed: bool, path: &'static str| {
        if changed && !out.contains(&path) {
            out.push(path);
        }
    };
    let (ca, cb) = (&a.committente, &b.committente);
    diff(ca.cf != cb.cf, "committente.codice_fiscale");
    diff(ca.denominazione != cb.denominazione, "committente.denominazione");
    diff(ca.comune_istat != cb.comune_istat, "committente.comune");
    diff(ca.indirizzo != cb.indirizzo, "committente.indirizzo");
    diff(ca.cap != cb.cap, "committente.cap");
    diff(ca.email != cb.email, "committente.email");
    let (la, lb) = (&a.lavoratore, &b.lavoratore);
    diff(la.cf != lb.cf, "lavoratore.codice_fiscale");
    diff(la.cognome != lb.cognome, "lavoratore.cognome");
    diff(la.nome != lb.nome, "lavoratore.nome");
    diff(la.data_nascita != lb.data_nascita, "lavoratore.data_nascita");
    diff(la.sesso != lb.sesso, "lavoratore.sesso");
    diff(la.luogo_nascita != lb.luogo_nascita, "lavoratore.luogo_nascita");
    diff(la.cittadinanza != lb.cittadinanza, "lavoratore.cittadinanza");
    if la.identificazione != lb.identificazione {
        // A switch from document to permit names both.
        diff(true, identificazione_path(&la.identificazione));
        diff(true, identificazione_path(&lb.identificazione));
    }
    diff(la.domicilio != lb.domicilio, "lavoratore.domicilio");
    let (ra, rb) = (&a.rapporto, &b.rapporto);
    diff(ra.data_inizio != rb.data_inizio, "rapporto.data_inizio");
    diff(ra.durata != rb.durata, "rapporto.durata");
    diff(ra.descrizione != rb.descrizione, "rapporto.descrizione");
    diff(
        ra.compenso_stimato != rb.compenso_stimato,
        "rapporto.compenso_stimato",
    );
    diff(ra.luoghi_lavoro != rb.luoghi_lavoro, "rapporto.luoghi_lavoro");
    out
}

/// LAO-7, LAO-8: refuses a variation that changes what may not change now, naming every such
/// field (one violation each), or that changes nothing (LAO-6).
pub fn controlla(
    testa: &Contenuto,
    nuovo: &Contenuto,
    fase: Fase,
    committente_vincolato: bool,
) -> Result<(), Errore> {
    let diff = differenze(testa, nuovo);
    if diff.is_empty() {
        return Err(Errore::NienteDaVariare);
    }
    let mut v = Violations::new();
    for path in diff {
        if path == "committente.codice_fiscale" || path == "lavoratore.codice_fiscale" {
            v.add(
                path,
                "LAO-7",
                "LAO_7_CF_FIXED",
                "the codice fiscale never changes in a variation: cancel and send a new communication",
            );
        } else if fase == Fase::DopoLInizio && !APERTI_DOPO_INIZIO.contains(&path) {
            v.add(
                path,
                "LAO-8",
                "LAO_8_FIXED_AFTER_START",
                "from the day after the start date only the identity document, the residence permit and the domicile may change",
            );
        } else if committente_vincolato && path.starts_with("committente.") {
            v.add(
                path,
                "LAO-7",
                "LAO_7_COMMITTENTE_BOUND",
                "the committente is bound to an access profile: its data comes from the profile and cannot be varied",
            );
        }
    }
    if v.is_empty() {
        return Ok(());
    }
    Err(Errore::CampiNonVariabili {
        violazioni: v.into_vec(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use occasionali_kernel::{Euro, Sesso};

    use super::*;
    use crate::domain::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    pub fn contenuto() -> Contenuto {
        Contenuto {
            committente: Committente {
                cf: "00743110157".into(),
                denominazione: "ACME SPA".into(),
                comune_istat: "058091".into(),
                indirizzo: "Via Roma 1".into(),
                cap: "00100".into(),
                email: "acme@example.it".into(),
            },
            lavoratore: Lavoratore {
                cf: "RSSMRA85T10A562S".into(),
                cognome: "ROSSI".into(),
                nome: "MARIO".into(),
                data_nascita: d("1985-12-10"),
                sesso: Sesso::M,
                luogo_nascita: "A562".into(),
                cittadinanza: "IT".into(),
                identificazione: Identificazione::Documento(Documento {
                    tipo: TipoDocumento::CartaIdentita,
                    numero: "CA00000AA".into(),
                    rilasciato_da: "Comune di Roma".into(),
                    data_rilascio: d("2020-01-01"),
                    data_scadenza: d("2030-01-01"),
                }),
                domicilio: Domicilio::Italia {
                    comune_istat: "058091".into(),
                    indirizzo: "Via Appia 2".into(),
                    cap: "00179".into(),
                },
            },
            rapporto: Rapporto {
                data_inizio: d("2026-06-20"),
                durata: Durata::Giorni7,
                descrizione: "Consulenza".into(),
                compenso_stimato: Euro::from_cents(100_000),
                luoghi_lavoro: vec![LuogoLavoro {
                    comune_istat: "058091".into(),
                    indirizzo: "Via Roma 1".into(),
                    cap: "00100".into(),
                }],
            },
        }
    }

    fn campi(e: Errore) -> Vec<(String, &'static str)> {
        match e {
            Errore::CampiNonVariabili { violazioni } => {
                violazioni.into_iter().map(|f| (f.field, f.rule)).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lao_7_before_start_everything_but_the_cfs() {
        let a = contenuto();
        let mut b = a.clone();
        b.rapporto.descrizione = "Altro".into();
        b.rapporto.luoghi_lavoro.push(b.rapporto.luoghi_lavoro[0].clone());
        b.lavoratore.cognome = "VERDI".into();
        b.committente.denominazione = "ACME SRL".into();
        assert!(controlla(&a, &b, Fase::FinoAllInizio, false).is_ok());
        b.lavoratore.cf = "VRDMRA85T10A562X".into();
        b.committente.cf = "01234567897".into();
        assert_eq!(
            campi(controlla(&a, &b, Fase::FinoAllInizio, false).unwrap_err()),
            vec![
                ("committente.codice_fiscale".to_string(), "LAO-7"),
                ("lavoratore.codice_fiscale".to_string(), "LAO-7"),
            ]
        );
    }

    #[test]
    fn lao_7_bound_committente_keeps_its_data() {
        let a = contenuto();
        let mut b = a.clone();
        b.committente.email = "altro@example.it".into();
        b.rapporto.compenso_stimato = Euro::from_cents(1);
        assert!(controlla(&a, &b, Fase::FinoAllInizio, false).is_ok());
        assert_eq!(
            campi(controlla(&a, &b, Fase::FinoAllInizio, true).unwrap_err()),
            vec![("committente.email".to_string(), "LAO-7")]
        );
    }

    #[test]
    fn lao_8_after_start_only_document_permit_domicile() {
        let a = contenuto();
        let mut b = a.clone();
        b.lavoratore.domicilio = Domicilio::Estero {
            stato: "Z110".into(),
            citta: "Paris".into(),
            indirizzo: "Rue X".into(),
        };
        b.lavoratore.identificazione = Identificazione::Permesso(Permesso {
            numero: "X".into(),
            motivo: "lavoro".into(),
            questura: "Roma".into(),
            data_rilascio: d("2025-01-01"),
            data_scadenza: d("2027-01-01"),
        });
        assert!(controlla(&a, &b, Fase::DopoLInizio, true).is_ok());
        b.rapporto.durata = Durata::Giorni30;
        b.rapporto.data_inizio = d("2026-06-25");
        b.lavoratore.nome = "LUIGI".into();
        b.committente.indirizzo = "Via Nuova 3".into();
        assert_eq!(
            campi(controlla(&a, &b, Fase::DopoLInizio, false).unwrap_err()),
            vec![
                ("committente.indirizzo".to_string(), "LAO-8"),
                ("lavoratore.nome".to_string(), "LAO-8"),
                ("rapporto.data_inizio".to_string(), "LAO-8"),
                ("rapporto.durata".to_string(), "LAO-8"),
            ]
        );
    }

    #[test]
    fn lao_6_a_variation_must_change_something() {
        let a = contenuto();
        assert!(controlla(&a, &a, Fase::FinoAllInizio, false).is_err());
    }
}
