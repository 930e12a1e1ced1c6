//! POR-7: an operator returns to the payer, or transfers to another wallet, a sum paid with a
//! wrong F24 (wrong causale, wrong CF). From a wallet it never takes more than the available
//! balance: what is reserved for prestazioni (or held for a refund) stays.

use chrono::{DateTime, Utc};
use occasionali_kernel::Euro;

use super::conti::{
    Causale, Conto, PortafoglioRef, SaldiPortafoglio, Scritture, TipoConto, accredita_disponibile,
    differenza, somma,
};
use super::errore::Errore;
use super::versamento::{Modalita, StatoVersamento, Versamento};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destinazione {
    /// Back to the payer, on this IBAN.
    Restituzione { iban: String },
    /// To another wallet.
    Trasferimento { portafoglio: PortafoglioRef },
}

impl Destinazione {
    pub fn code(&self) -> &'static str {
        match self {
            Destinazione::Restituzione { .. } => "RESTITUZIONE",
            Destinazione::Trasferimento { .. } => "TRASFERIMENTO",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Storno {
    pub id: String,
    pub request_id: String,
    pub versamento_id: String,
    pub destinazione: Destinazione,
    pub importo: Euro,
    pub operatore_cf: String,
    pub nota: String,
    pub eseguito_il: DateTime<Utc>,
}

/// What the operator asks (decoded, valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RichiestaStorno {
    pub request_id: String,
    pub versamento_id: String,
    pub destinazione: Destinazione,
    /// `None`: the whole remaining amount.
    pub importo: Option<Euro>,
    pub nota: String,
}

impl Storno {
    /// AIP-155: the same request id with the same content is a retry; another content under
    /// it is refused.
    pub fn ripetizione(self, r: &RichiestaStorno) -> Result<Storno, Errore> {
        if self.stesso_contenuto(r) {
            Ok(self)
        } else {
            Err(Errore::RichiestaStornoRiusata)
        }
    }

    /// AIP-155: the same request id with the same content is a retry.
    pub fn stesso_contenuto(&self, r: &RichiestaStorno) -> bool {
        self.versamento_id == r.versamento_id
            && self.destinazione == r.destinazione
            && r.importo.is_none_or(|i| i == self.importo)
    }
}

/// Where the sum is taken from: the versamento's wallet, or the unmatched queue.
pub fn origine(v: &Versamento) -> Result<Option<PortafoglioRef>, Errore> {
    match v.stato {
        StatoVersamento::NonAbbinato => Ok(None),
        StatoVersamento::Accreditato => v
            .portafoglio
            .clone()
            .map(Some)
            .ok_or(Errore::Incoerenza("credited versamento without wallet")),
        StatoVersamento::Restituito | StatoVersamento::Trasferito => Err(Errore::NienteDaStornare),
    }
}

/// The storno, the versamento after it, and the movements. `saldi_origine` are the source
/// wallet's locked balances (`None` from the queue), `saldi_destinazione` the destination's.
#[allow(clippy::too_many_arguments)]
pub fn storna(
    id: String,
    v: &Versamento,
    r: &RichiestaStorno,
    saldi_origine: Option<&mut SaldiPortafoglio>,
    saldi_destinazione: Option<&mut SaldiPortafoglio>,
    operatore_cf: &str,
    ora: DateTime<Utc>,
) -> Result<(Storno, Versamento, Scritture), Errore> {
    let sorgente = origine(v)?;
    let residuo = v.residuo()?;
    let importo = r.importo.unwrap_or(residuo);
    if importo > residuo {
        return Err(Errore::OltreIlVersamento { residuo, importo });
    }
    if let Destinazione::Trasferimento { portafoglio } = &r.destinazione
        && sorgente.as_ref() == Some(portafoglio)
    {
        return Err(Errore::StessoPortafoglio);
    }
    let da = preleva(sorgente.as_ref(), saldi_origine, importo)?;
    let mut s = Scritture::new();
    versa(&mut s, da, &r.destinazione, saldi_destinazione, importo, &id)?;
    let dopo = versamento_dopo(v, r, sorgente.is_none(), importo, operatore_cf, ora)?;
    Ok((
        Storno {
            id,
            request_id: r.request_id.clone(),
            versamento_id: v.id.clone(),
            destinazione: r.destinazione.clone(),
            importo,
            operatore_cf: operatore_cf.to_string(),
            nota: r.nota.clone(),
            eseguito_il: ora,
        },
        dopo,
        s,
    ))
}

/// The account the sum leaves: the source wallet's available balance, never below what it
/// holds (reserved funds stay for the prestazioni), or the unmatched queue's.
fn preleva(
    sorgente: Option<&PortafoglioRef>,
    saldi_origine: Option<&mut SaldiPortafoglio>,
    importo: Euro,
) -> Result<Conto, Errore> {
    match (sorgente, saldi_origine) {
        (Some(w), Some(saldi)) => {
            if importo > saldi.disponibile {
                return Err(Errore::SottoIlRiservato {
                    disponibile: saldi.disponibile,
                    importo,
                });
            }
            saldi.disponibile = differenza(saldi.disponibile, importo)?;
            Ok(Conto::disponibile(w))
        }
        (Some(_), None) => Err(Errore::Incoerenza("storno from a wallet without its balances")),
        (None, _) => Ok(Conto::Piattaforma(TipoConto::VersamentiNonAbbinati)),
    }
}

/// The movement to the destination: the returns account, or the other wallet's available
/// balance (covering its debt first).
fn versa(
    s: &mut Scritture,
    da: Conto,
    destinazione: &Destinazione,
    saldi_destinazione: Option<&mut SaldiPortafoglio>,
    importo: Euro,
    id: &str,
) -> Result<(), Errore> {
    match (destinazione, saldi_destinazione) {
        (Destinazione::Restituzione { .. }, _) => s.sposta(
            da,
            Conto::Piattaforma(TipoConto::Restituzioni),
            importo,
            Causale::Storno,
            id,
        ),
        (Destinazione::Trasferimento { portafoglio }, Some(saldi)) => {
            accredita_disponibile(s, saldi, portafoglio, da, importo, Causale::Storno, id)
        }
        (Destinazione::Trasferimento { .. }, None) => {
            Err(Errore::Incoerenza("transfer without the destination's balances"))
        }
    }
}

/// The versamento after the storno: once nothing is left, returned or transferred; a transfer
/// of a whole queued versamento is what matched it to a wallet.
fn versamento_dopo(
    v: &Versamento,
    r: &RichiestaStorno,
    dalla_coda: bool,
    importo: Euro,
    operatore_cf: &str,
    ora: DateTime<Utc>,
) -> Result<Versamento, Errore> {
    let mut dopo = v.clone();
    dopo.importo_stornato = somma(v.importo_stornato, importo)?;
    if differenza(dopo.dati.importo, dopo.importo_stornato)?.is_zero() {
        dopo.stato = match &r.destinazione {
            Destinazione::Restituzione { .. } => StatoVersamento::Restituito,
            Destinazione::Trasferimento { portafoglio } => {
                if dalla_coda {
                    dopo.portafoglio = Some(portafoglio.clone());
                    dopo.modalita = Some(Modalita::Trasferimento);
                    dopo.abbinato_da_cf = operatore_cf.to_string();
                    dopo.nota_abbinamento = r.nota.clone();
                    dopo.abbinato_il = Some(ora);
                }
                StatoVersamento::Trasferito
            }
        };
    }
    Ok(dopo)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::conti::TipoPortafoglio;
    use crate::domain::versamento::{Canale, CodiceTributo, DatiVersamento, ricevi};
    use chrono::NaiveDate;

    fn ora() -> DateTime<Utc> {
        "2026-06-15T10:00:00Z".parse().unwrap()
    }

    fn w(cf: &str) -> PortafoglioRef {
        PortafoglioRef::new(cf, TipoPortafoglio::LibrettoFamiglia)
    }

    fn versamento(accreditato: bool) -> Versamento {
        let mut v = ricevi(
            "ver_1".into(),
            DatiVersamento {
                id_pagamento: "F24-1".into(),
                canale: Canale::F24Elide,
                cf_versante: "A".into(),
                codice_tributo: Some(CodiceTributo::Lifa),
                tipo_portafoglio: TipoPortafoglio::LibrettoFamiglia,
                anno: Some(2026),
                riferimento_a: String::new(),
                riferimento_b: String::new(),
                iuv: String::new(),
                importo: Euro::from_cents(10_000),
                data_versamento: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            },
            None,
            &[],
            ora(),
        );
        if accreditato {
            v.stato = StatoVersamento::Accreditato;
            v.portafoglio = Some(w("A"));
        }
        v
    }

    fn richiesta(dest: Destinazione, importo: Option<i64>) -> RichiestaStorno {
        RichiestaStorno {
            request_id: "r1".into(),
            versamento_id: "ver_1".into(),
            destinazione: dest,
            importo: importo.map(Euro::from_cents),
            nota: "F24 con causale errata".into(),
        }
    }

    #[test]
    fn por_7_never_below_reserved() {
        let v = versamento(true);
        let mut saldi = SaldiPortafoglio {
            disponibile: Euro::from_cents(4000),
            riservato: Euro::from_cents(6000),
            ..Default::default()
        };
        let r = richiesta(Destinazione::Restituzione { iban: "IT".into() }, None);
        match storna("sto_1".into(), &v, &r, Some(&mut saldi), None, "OP", ora()) {
            Err(Errore::SottoIlRiservato { disponibile, importo }) => {
                assert_eq!(disponibile, Euro::from_cents(4000));
                assert_eq!(importo, Euro::from_cents(10_000));
            }
            other => panic!("{other:?}"),
        }
        let r = richiesta(Destinazione::Restituzione { iban: "IT".into() }, Some(4000));
        let (st, dopo, s) = storna("sto_1".into(), &v, &r, Some(&mut saldi), None, "OP", ora()).unwrap();
        assert_eq!(st.importo, Euro::from_cents(4000));
        assert_eq!(dopo.stato, StatoVersamento::Accreditato);
        assert_eq!(dopo.importo_stornato, Euro::from_cents(4000));
        assert_eq!(s.movimenti.len(), 1);
        assert!(st.stesso_contenuto(&r));
    }

    #[test]
    fn por_7_transfer_from_the_queue_matches_it() {
        let v = versamento(false);
        let mut dest = SaldiPortafoglio::default();
        let r = richiesta(Destinazione::Trasferimento { portafoglio: w("B") }, None);
        let (_, dopo, s) = storna("sto_1".into(), &v, &r, None, Some(&mut dest), "OP", ora()).unwrap();
        assert_eq!(dopo.stato, StatoVersamento::Trasferito);
        assert_eq!(dopo.portafoglio, Some(w("B")));
        assert_eq!(dopo.modalita, Some(Modalita::Trasferimento));
        assert_eq!(dest.disponibile, Euro::from_cents(10_000));
        assert_eq!(
            s.movimenti[0].addebito,
            Conto::Piattaforma(TipoConto::VersamentiNonAbbinati)
        );
        assert!(storna("sto_2".into(), &dopo, &r, None, Some(&mut dest), "OP", ora()).is_err());
    }

    #[test]
    fn por_7_not_to_the_same_wallet_nor_more_than_left() {
        let v = versamento(true);
        let mut saldi = SaldiPortafoglio {
            disponibile: Euro::from_cents(20_000),
            ..Default::default()
        };
        let same = richiesta(Destinazione::Trasferimento { portafoglio: w("A") }, None);
        assert!(storna("s".into(), &v, &same, Some(&mut saldi), None, "OP", ora()).is_err());
        let too_much = richiesta(Destinazione::Restituzione { iban: "IT".into() }, Some(10_001));
        assert!(storna("s".into(), &v, &too_much, Some(&mut saldi), None, "OP", ora()).is_err());
    }
}
