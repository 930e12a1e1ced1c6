//! Event notices (NOT-2, PRE-13): what happened elsewhere, who is told, in which words. The
//! texts are short enough for one SMS where they can be, and carry no other person's data.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::Tipo;

/// A fact of another context that someone must hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fatto {
    /// PRE-13: the utilizzatore revoked an unconfirmed prestazione.
    PrestazioneRevocata {
        prestazione_id: String,
        prestatore_cf: String,
        data: Option<NaiveDate>,
        libretto: bool,
    },
    /// A prestazione was declared for the prestatore.
    PrestazioneInserita {
        prestazione_id: String,
        prestatore_cf: String,
        data: Option<NaiveDate>,
        compenso: Option<Decimal>,
        libretto: bool,
    },
    /// POR-5: the month's compensations were paid.
    PagamentoEseguito {
        prestatore_cf: String,
        anno: i32,
        mese: u32,
        importo_netto: Option<Decimal>,
        data_pagamento: Option<NaiveDate>,
    },
    /// DEL-*: the delegante hears that someone may now act for it.
    DelegaCreata {
        delega_id: String,
        delegante_cf: String,
        delegato_cf: String,
        fine: Option<NaiveDate>,
    },
    /// DEL-*: a delega ends soon (the scheduler's own fact, once per delega and end date).
    DelegaInScadenza {
        delega_id: String,
        delegante_cf: String,
        delegato_cf: String,
        fine: NaiveDate,
    },
}

/// A notice for one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Avviso {
    pub destinatario_cf: String,
    pub tipo: Tipo,
    pub titolo: String,
    pub testo: String,
}

pub fn data_it(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// "412,50": the Italian way of writing an amount.
pub fn euro(importo: Decimal) -> String {
    let s = format!("{:.2}", importo.round_dp(2));
    let (intera, decimali) = s.split_once('.').unwrap_or((&s, "00"));
    let (segno, cifre) = intera.strip_prefix('-').map_or(("", intera), |c| ("-", c));
    let mut gruppi = Vec::new();
    let mut resto = cifre;
    while resto.len() > 3 {
        let (a, b) = resto.split_at(resto.len() - 3);
        gruppi.push(b);
        resto = a;
    }
    gruppi.push(resto);
    gruppi.reverse();
    format!("{segno}{},{decimali}", gruppi.join("."))
}

const MESI: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

fn strumento(libretto: bool) -> &'static str {
    if libretto {
        "Libretto Famiglia"
    } else {
        "Contratto di prestazione occasionale"
    }
}

fn del_giorno(data: Option<NaiveDate>) -> String {
    data.map(|d| format!(" del {}", data_it(d))).unwrap_or_default()
}

pub fn avviso(f: &Fatto) -> Avviso {
    match f {
        Fatto::PrestazioneRevocata {
            prestazione_id,
            prestatore_cf,
            data,
            libretto,
        } => Avviso {
            destinatario_cf: prestatore_cf.clone(),
            tipo: Tipo::PrestazioneRevocata,
            titolo: "Prestazione occasionale revocata".into(),
            testo: format!(
                "INPS: la prestazione{} ({}, {prestazione_id}) è stata revocata dall'utilizzatore. \
                 Se l'hai svolta, puoi contestare la revoca nel servizio Prestazioni occasionali.",
                del_giorno(*data),
                strumento(*libretto)
            ),
        },
        Fatto::PrestazioneInserita {
            prestazione_id,
            prestatore_cf,
            data,
            compenso,
            libretto,
        } => Avviso {
            destinatario_cf: prestatore_cf.clone(),
            tipo: Tipo::PrestazioneInserita,
            titolo: "Nuova prestazione occasionale".into(),
            testo: format!(
                "INPS: è stata dichiarata una prestazione{} a tuo favore ({}, {prestazione_id}){}.",
                del_giorno(*data),
                strumento(*libretto),
                compenso
                    .map(|c| format!(", compenso € {}", euro(c)))
                    .unwrap_or_default()
            ),
        },
        Fatto::PagamentoEseguito {
            prestatore_cf,
            anno,
            mese,
            importo_netto,
            data_pagamento,
        } => Avviso {
            destinatario_cf: prestatore_cf.clone(),
            tipo: Tipo::PagamentoEseguito,
            titolo: "Pagamento delle prestazioni occasionali".into(),
            testo: format!(
                "INPS: abbiamo disposto il pagamento{} delle prestazioni di {} {anno}{}.",
                importo_netto
                    .map(|i| format!(" di € {}", euro(i)))
                    .unwrap_or_default(),
                MESI.get((*mese as usize).wrapping_sub(1))
                    .copied()
                    .unwrap_or("mese sconosciuto"),
                data_pagamento
                    .map(|d| format!(", valuta {}", data_it(d)))
                    .unwrap_or_default()
            ),
        },
        Fatto::DelegaCreata {
            delega_id,
            delegante_cf,
            delegato_cf,
            fine,
        } => Avviso {
            destinatario_cf: delegante_cf.clone(),
            tipo: Tipo::DelegaCreata,
            titolo: "Nuova delega".into(),
            testo: format!(
                "INPS: è stata registrata una delega ({delega_id}) a {delegato_cf} per operare per tuo conto{}. \
                 Se non l'hai conferita tu, contatta l'INPS.",
                fine.map(|d| format!(" fino al {}", data_it(d)))
                    .unwrap_or_default()
            ),
        },
        Fatto::DelegaInScadenza {
            delega_id,
            delegante_cf,
            delegato_cf,
            fine,
        } => Avviso {
            destinatario_cf: delegante_cf.clone(),
            tipo: Tipo::DelegaInScadenza,
            titolo: "Delega in scadenza".into(),
            testo: format!(
                "INPS: la delega {delega_id} a {delegato_cf} scade il {}. Se serve ancora, rinnovala prima della scadenza.",
                data_it(*fine)
            ),
        },
    }
}

/// How many days before its end a delega's holder is told (DEL-*, NOT-2).
pub const PREAVVISO_SCADENZA_GIORNI: i64 = 30;

/// Is a delega ending on `fine` to be announced on `oggi`? From 30 days before to its last day.
pub fn in_scadenza(fine: NaiveDate, oggi: NaiveDate) -> bool {
    let giorni = (fine - oggi).num_days();
    (0..=PREAVVISO_SCADENZA_GIORNI).contains(&giorni)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn euro_amounts_are_written_the_italian_way() {
        assert_eq!(euro(dec!(412.5)), "412,50");
        assert_eq!(euro(dec!(1234567.891)), "1.234.567,89");
        assert_eq!(euro(dec!(0)), "0,00");
        assert_eq!(euro(dec!(-1000)), "-1.000,00");
    }

    #[test]
    fn pre_13_the_revocation_goes_to_the_prestatore() {
        let a = avviso(&Fatto::PrestazioneRevocata {
            prestazione_id: "pre_1".into(),
            prestatore_cf: "RSSMRA80A01H501U".into(),
            data: NaiveDate::from_ymd_opt(2026, 3, 2),
            libretto: true,
        });
        assert_eq!(a.destinatario_cf, "RSSMRA80A01H501U");
        assert_eq!(a.tipo, Tipo::PrestazioneRevocata);
        assert!(a.testo.contains("02/03/2026"), "{}", a.testo);
        assert!(a.testo.contains("revocata"), "{}", a.testo);
    }

    #[test]
    fn not_2_a_delega_is_announced_from_thirty_days_before_its_end() {
        let fine = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default();
        let giorno = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap_or_default();
        assert!(!in_scadenza(fine, giorno(5, 30)));
        assert!(in_scadenza(fine, giorno(5, 31)));
        assert!(in_scadenza(fine, giorno(6, 30)));
        assert!(!in_scadenza(fine, giorno(7, 1)));
    }
}
