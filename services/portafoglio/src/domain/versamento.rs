//! POR-2 / POR-3: deposits (versamenti) from the payments feed, their automatic match to a
//! wallet, the unmatched queue and the operators' abbinamento manuale.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::Euro;

use super::accesso::Ambito;
use super::conti::{
    Causale, Conto, PortafoglioRef, SaldiPortafoglio, Scritture, TipoConto, TipoPortafoglio,
    accredita_disponibile, differenza,
};
use super::errore::Errore;
use super::registro::SoggettoRegistrato;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canale {
    F24Elide,
    F24Ep,
    PagoPa,
}

impl Canale {
    pub fn code(self) -> &'static str {
        match self {
            Canale::F24Elide => "F24_ELIDE",
            Canale::F24Ep => "F24_EP",
            Canale::PagoPa => "PAGOPA",
        }
    }

    pub fn from_code(s: &str) -> Option<Canale> {
        [Canale::F24Elide, Canale::F24Ep, Canale::PagoPa]
            .into_iter()
            .find(|c| c.code() == s)
    }
}

/// The F24 causale: it selects the wallet type (POR-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodiceTributo {
    /// Libretto Famiglia.
    Lifa,
    /// Contratto di Prestazione Occasionale.
    Cloc,
}

impl CodiceTributo {
    pub fn code(self) -> &'static str {
        match self {
            CodiceTributo::Lifa => "LIFA",
            CodiceTributo::Cloc => "CLOC",
        }
    }

    pub fn from_code(s: &str) -> Option<CodiceTributo> {
        match s {
            "LIFA" => Some(CodiceTributo::Lifa),
            "CLOC" => Some(CodiceTributo::Cloc),
            _ => None,
        }
    }

    pub fn tipo_portafoglio(self) -> TipoPortafoglio {
        match self {
            CodiceTributo::Lifa => TipoPortafoglio::LibrettoFamiglia,
            CodiceTributo::Cloc => TipoPortafoglio::Cpo,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatoVersamento {
    NonAbbinato,
    Accreditato,
    Restituito,
    Trasferito,
}

impl StatoVersamento {
    pub fn code(self) -> &'static str {
        match self {
            StatoVersamento::NonAbbinato => "NON_ABBINATO",
            StatoVersamento::Accreditato => "ACCREDITATO",
            StatoVersamento::Restituito => "RESTITUITO",
            StatoVersamento::Trasferito => "TRASFERITO",
        }
    }

    pub fn from_code(s: &str) -> Option<StatoVersamento> {
        [
            StatoVersamento::NonAbbinato,
            StatoVersamento::Accreditato,
            StatoVersamento::Restituito,
            StatoVersamento::Trasferito,
        ]
        .into_iter()
        .find(|c| c.code() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modalita {
    Automatico,
    Manuale,
    Trasferimento,
}

impl Modalita {
    pub fn code(self) -> &'static str {
        match self {
            Modalita::Automatico => "AUTOMATICO",
            Modalita::Manuale => "MANUALE",
            Modalita::Trasferimento => "TRASFERIMENTO",
        }
    }

    pub fn from_code(s: &str) -> Option<Modalita> {
        [Modalita::Automatico, Modalita::Manuale, Modalita::Trasferimento]
            .into_iter()
            .find(|c| c.code() == s)
    }
}

/// A payment as the feed describes it, decoded and valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatiVersamento {
    pub id_pagamento: String,
    pub canale: Canale,
    pub cf_versante: String,
    /// F24 only.
    pub codice_tributo: Option<CodiceTributo>,
    /// The wallet type the payment is meant for (F24: by codice; pagoPA: by the notice).
    pub tipo_portafoglio: TipoPortafoglio,
    /// F24 ELIDE only.
    pub anno: Option<i32>,
    /// F24 EP only: "00MM" and "AAAA".
    pub riferimento_a: String,
    pub riferimento_b: String,
    /// pagoPA only.
    pub iuv: String,
    pub importo: Euro,
    pub data_versamento: NaiveDate,
}

impl DatiVersamento {
    /// The content a payment id stands for: the same id with another fingerprint is a feed
    /// anomaly, counted as a duplicate and never credited twice (docs/decisions.md).
    pub fn impronta(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.canale.code(),
            self.cf_versante,
            self.codice_tributo.map(|c| c.code()).unwrap_or(""),
            self.tipo_portafoglio.code(),
            self.anno.unwrap_or(0),
            self.riferimento_a,
            self.riferimento_b,
            self.iuv,
            self.importo.cents(),
            self.data_versamento
        )
    }
}

/// Why a versamento waits in the queue (POR-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MotivoNonAbbinato {
    /// The payer CF is not registered at all.
    VersanteNonRegistrato,
    /// Registered, but not as an utilizzatore of the wallet type the payment is meant for.
    VersanteNonUtilizzatore(TipoPortafoglio),
}

impl MotivoNonAbbinato {
    pub fn code(self) -> &'static str {
        match self {
            MotivoNonAbbinato::VersanteNonRegistrato => "POR_2_PAYER_NOT_REGISTERED",
            MotivoNonAbbinato::VersanteNonUtilizzatore(TipoPortafoglio::LibrettoFamiglia) => {
                "POR_2_PAYER_NOT_UTILIZZATORE_LF"
            }
            MotivoNonAbbinato::VersanteNonUtilizzatore(TipoPortafoglio::Cpo) => {
                "POR_2_PAYER_NOT_UTILIZZATORE_CPO"
            }
        }
    }

    pub fn from_code(s: &str) -> Option<MotivoNonAbbinato> {
        [
            MotivoNonAbbinato::VersanteNonRegistrato,
            MotivoNonAbbinato::VersanteNonUtilizzatore(TipoPortafoglio::LibrettoFamiglia),
            MotivoNonAbbinato::VersanteNonUtilizzatore(TipoPortafoglio::Cpo),
        ]
        .into_iter()
        .find(|m| m.code() == s)
    }

    pub fn descrizione(self) -> &'static str {
        match self {
            MotivoNonAbbinato::VersanteNonRegistrato => "the payer's codice fiscale is not registered",
            MotivoNonAbbinato::VersanteNonUtilizzatore(TipoPortafoglio::LibrettoFamiglia) => {
                "the payer is registered, but not as a Libretto Famiglia utilizzatore"
            }
            MotivoNonAbbinato::VersanteNonUtilizzatore(TipoPortafoglio::Cpo) => {
                "the payer is registered, but not as a CPO utilizzatore"
            }
        }
    }
}

/// A versamento as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versamento {
    pub id: String,
    pub dati: DatiVersamento,
    pub ricevuto_il: DateTime<Utc>,
    pub stato: StatoVersamento,
    pub portafoglio: Option<PortafoglioRef>,
    pub modalita: Option<Modalita>,
    pub abbinato_da_cf: String,
    pub nota_abbinamento: String,
    pub abbinato_il: Option<DateTime<Utc>>,
    /// Competent sede for the operators' queue (docs/decisions.md): once credited, the wallet's
    /// utilizzatore's; while unmatched, the sede of the companies the payer legally represents
    /// (several joined by `,`, sorted: every one of them sees it, POR-3), else the payer's own
    /// sede in any role; empty when neither is known (DG only).
    pub sede: String,
    pub importo_stornato: Euro,
    pub motivo_non_abbinato: Option<MotivoNonAbbinato>,
}

impl Versamento {
    /// The sedi whose queue holds this versamento (POR-3: several when the payer represents
    /// companies of several sedi).
    pub fn sedi(&self) -> impl Iterator<Item = &str> {
        self.sede.split(',')
    }

    /// Whether an operator (or the platform) of `ambito` reaches this versamento.
    pub fn in_coda_di(&self, ambito: &Ambito) -> bool {
        self.sedi().any(|s| ambito.copre(s))
    }

    /// What is left to return or transfer (POR-7).
    pub fn residuo(&self) -> Result<Euro, Errore> {
        differenza(self.dati.importo, self.importo_stornato)
    }
}

/// POR-2: the wallet a payment is credited to automatically, or why it waits in the queue.
pub fn abbinamento_automatico(
    dati: &DatiVersamento,
    versante: Option<&SoggettoRegistrato>,
) -> Result<PortafoglioRef, MotivoNonAbbinato> {
    let tipo = dati.tipo_portafoglio;
    match versante {
        None => Err(MotivoNonAbbinato::VersanteNonRegistrato),
        Some(s) if s.utilizzatore(tipo) => Ok(PortafoglioRef::new(s.cf.clone(), tipo)),
        Some(_) => Err(MotivoNonAbbinato::VersanteNonUtilizzatore(tipo)),
    }
}

/// POR-3: the queue an unmatched payment waits in: the sedi of the companies the payer legally
/// represents (`sedi_rappresentate`, sorted), when any, since only a match to such a company is
/// allowed; else the payer's own sede in any role; else none (DG only).
pub fn sede_coda(versante: Option<&SoggettoRegistrato>, sedi_rappresentate: &[String]) -> String {
    if sedi_rappresentate.is_empty() {
        versante.map(|s| s.sede.clone()).unwrap_or_default()
    } else {
        sedi_rappresentate.join(",")
    }
}

/// A payment received: matched automatically (sede: the payer's) or queued (sede:
/// [`sede_coda`]) (POR-2, POR-3).
pub fn ricevi(
    id: String,
    dati: DatiVersamento,
    versante: Option<&SoggettoRegistrato>,
    sedi_rappresentate: &[String],
    ora: DateTime<Utc>,
) -> Versamento {
    let abbinamento = abbinamento_automatico(&dati, versante);
    let sede = match abbinamento {
        Ok(_) => versante.map(|s| s.sede.clone()).unwrap_or_default(),
        Err(_) => sede_coda(versante, sedi_rappresentate),
    };
    let (stato, portafoglio, modalita, abbinato_il, motivo) = match abbinamento {
        Ok(w) => (
            StatoVersamento::Accreditato,
            Some(w),
            Some(Modalita::Automatico),
            Some(ora),
            None,
        ),
        Err(m) => (StatoVersamento::NonAbbinato, None, None, None, Some(m)),
    };
    Versamento {
        id,
        dati,
        ricevuto_il: ora,
        stato,
        portafoglio,
        modalita,
        abbinato_da_cf: String::new(),
        nota_abbinamento: String::new(),
        abbinato_il,
        sede,
        importo_stornato: Euro::ZERO,
        motivo_non_abbinato: motivo,
    }
}

/// The movements of a received payment: the treasury's receipt goes to the wallet (covering its
/// debt first) or to the unmatched queue's account. `saldi` are the wallet's locked balances.
pub fn scritture_ricezione(
    v: &Versamento,
    saldi: Option<&mut SaldiPortafoglio>,
) -> Result<Scritture, Errore> {
    let mut s = Scritture::new();
    let incassi = Conto::Piattaforma(TipoConto::Incassi);
    match (&v.portafoglio, saldi) {
        (Some(w), Some(saldi)) => accredita_disponibile(
            &mut s,
            saldi,
            w,
            incassi,
            v.dati.importo,
            Causale::Versamento,
            &v.id,
        )?,
        (Some(_), None) => return Err(Errore::Incoerenza("crediting a wallet without its balances")),
        (None, _) => s.sposta(
            incassi,
            Conto::Piattaforma(TipoConto::VersamentiNonAbbinati),
            v.dati.importo,
            Causale::Versamento,
            &v.id,
        )?,
    }
    Ok(s)
}

/// Outcome of an abbinamento manuale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Abbinamento {
    /// A retry of the same match: nothing to do.
    Invariato,
    /// Matched: the versamento after the match and the amount to credit.
    Abbinato(Box<Versamento>, Euro),
}

/// POR-3: an operator matches a queued versamento to a CPO utilizzatore, allowed only when the
/// payer CF is that company's legal representative's (seed 001 §4). `destinatario` is the
/// registry record of the chosen utilizzatore (`None`: not registered).
pub fn abbina(
    v: &Versamento,
    utilizzatore_cf: &str,
    destinatario: Option<&SoggettoRegistrato>,
    operatore_cf: &str,
    nota: &str,
    ora: DateTime<Utc>,
) -> Result<Abbinamento, Errore> {
    let w = PortafoglioRef::new(utilizzatore_cf, TipoPortafoglio::Cpo);
    if v.stato == StatoVersamento::Accreditato
        && v.modalita == Some(Modalita::Manuale)
        && v.portafoglio.as_ref() == Some(&w)
    {
        return Ok(Abbinamento::Invariato);
    }
    if v.stato != StatoVersamento::NonAbbinato {
        return Err(Errore::NonInCoda { stato: v.stato });
    }
    if v.dati.tipo_portafoglio != TipoPortafoglio::Cpo {
        return Err(Errore::NonPagamentoCpo);
    }
    let Some(d) = destinatario.filter(|d| d.utilizzatore_cpo) else {
        return Err(Errore::NonUtilizzatoreCpo);
    };
    if d.legale_rappresentante_cf.as_deref() != Some(v.dati.cf_versante.as_str()) {
        return Err(Errore::VersanteNonLegaleRappresentante);
    }
    let importo = v.residuo()?;
    let mut dopo = v.clone();
    dopo.stato = StatoVersamento::Accreditato;
    dopo.portafoglio = Some(w);
    dopo.modalita = Some(Modalita::Manuale);
    dopo.abbinato_da_cf = operatore_cf.to_string();
    dopo.nota_abbinamento = nota.to_string();
    dopo.abbinato_il = Some(ora);
    dopo.sede = d.sede.clone();
    Ok(Abbinamento::Abbinato(Box::new(dopo), importo))
}

/// The movements of a manual match: from the queue's account to the wallet (covering its debt).
pub fn scritture_abbinamento(
    v: &Versamento,
    importo: Euro,
    saldi: &mut SaldiPortafoglio,
) -> Result<Scritture, Errore> {
    let w = v
        .portafoglio
        .clone()
        .ok_or(Errore::Incoerenza("matched versamento without wallet"))?;
    let mut s = Scritture::new();
    accredita_disponibile(
        &mut s,
        saldi,
        &w,
        Conto::Piattaforma(TipoConto::VersamentiNonAbbinati),
        importo,
        Causale::Abbinamento,
        &v.id,
    )?;
    Ok(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LEGALE: &str = "RSSMRA85T10A562S";
    const AZIENDA: &str = "00743110157";

    fn ora() -> DateTime<Utc> {
        "2026-06-15T10:00:00Z".parse().unwrap()
    }

    fn dati(tipo: TipoPortafoglio) -> DatiVersamento {
        DatiVersamento {
            id_pagamento: "F24-1".into(),
            canale: Canale::F24Elide,
            cf_versante: LEGALE.into(),
            codice_tributo: Some(match tipo {
                TipoPortafoglio::LibrettoFamiglia => CodiceTributo::Lifa,
                TipoPortafoglio::Cpo => CodiceTributo::Cloc,
            }),
            tipo_portafoglio: tipo,
            anno: Some(2026),
            riferimento_a: String::new(),
            riferimento_b: String::new(),
            iuv: String::new(),
            importo: Euro::from_cents(10_000),
            data_versamento: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        }
    }

    fn soggetto(cf: &str, lf: bool, cpo: bool, legale: Option<&str>) -> SoggettoRegistrato {
        SoggettoRegistrato {
            cf: cf.into(),
            sede: "RM".into(),
            utilizzatore_lf: lf,
            utilizzatore_cpo: cpo,
            legale_rappresentante_cf: legale.map(str::to_string),
            metodo_pagamento: None,
        }
    }

    #[test]
    fn por_2_automatic_match_needs_the_right_role() {
        let lf = soggetto(LEGALE, true, false, None);
        assert!(abbinamento_automatico(&dati(TipoPortafoglio::LibrettoFamiglia), Some(&lf)).is_ok());
        assert_eq!(
            abbinamento_automatico(&dati(TipoPortafoglio::Cpo), Some(&lf)),
            Err(MotivoNonAbbinato::VersanteNonUtilizzatore(TipoPortafoglio::Cpo))
        );
        assert_eq!(
            abbinamento_automatico(&dati(TipoPortafoglio::Cpo), None),
            Err(MotivoNonAbbinato::VersanteNonRegistrato)
        );
        let v = ricevi("ver_1".into(), dati(TipoPortafoglio::Cpo), Some(&lf), &[], ora());
        assert_eq!(v.stato, StatoVersamento::NonAbbinato);
        assert_eq!(v.sede, "RM");
        let s = scritture_ricezione(&v, None).unwrap();
        assert_eq!(
            s.movimenti[0].accredito,
            Conto::Piattaforma(TipoConto::VersamentiNonAbbinati)
        );
    }

    #[test]
    fn por_3_only_to_the_company_of_the_legal_representative() {
        let v = ricevi("ver_1".into(), dati(TipoPortafoglio::Cpo), None, &[], ora());
        let azienda = soggetto(AZIENDA, false, true, Some(LEGALE));
        let altra = soggetto(AZIENDA, false, true, Some("BNCLRA75B41F205X"));
        let Abbinamento::Abbinato(dopo, importo) =
            abbina(&v, AZIENDA, Some(&azienda), "OP", "nota", ora()).unwrap()
        else {
            panic!("matched")
        };
        assert_eq!(importo, Euro::from_cents(10_000));
        assert_eq!(dopo.modalita, Some(Modalita::Manuale));
        assert_eq!(
            abbina(&dopo, AZIENDA, Some(&azienda), "OP", "nota", ora()).unwrap(),
            Abbinamento::Invariato
        );
        for (other, rifiuto) in [
            (Some(&altra), Errore::VersanteNonLegaleRappresentante),
            (None, Errore::NonUtilizzatoreCpo),
        ] {
            assert_eq!(
                abbina(&v, AZIENDA, other, "OP", "nota", ora()),
                Err(rifiuto.clone())
            );
            assert_eq!(rifiuto.regola(), Some("POR-3"));
        }
        let lifa = ricevi(
            "ver_2".into(),
            dati(TipoPortafoglio::LibrettoFamiglia),
            None,
            &[],
            ora(),
        );
        assert!(abbina(&lifa, AZIENDA, Some(&azienda), "OP", "nota", ora()).is_err());
    }

    #[test]
    fn por_3_unmatched_waits_in_the_sede_of_the_represented_companies() {
        let milano = SoggettoRegistrato {
            sede: "MI".into(),
            ..soggetto(LEGALE, false, false, None)
        };
        let v = ricevi(
            "v".into(),
            dati(TipoPortafoglio::Cpo),
            Some(&milano),
            &["RM".into()],
            ora(),
        );
        assert_eq!(v.sede, "RM");
        let v = ricevi(
            "v".into(),
            dati(TipoPortafoglio::Cpo),
            None,
            &["MI".into(), "RM".into()],
            ora(),
        );
        assert_eq!(v.sede, "MI,RM");
        assert!(v.in_coda_di(&Ambito::Sede("RM".into())));
        assert!(v.in_coda_di(&Ambito::Sede("MI".into())));
        assert!(!v.in_coda_di(&Ambito::Sede("NA".into())));
        assert!(v.in_coda_di(&Ambito::Tutto));
        assert_eq!(
            ricevi("v".into(), dati(TipoPortafoglio::Cpo), Some(&milano), &[], ora()).sede,
            "MI"
        );
        assert_eq!(
            ricevi("v".into(), dati(TipoPortafoglio::Cpo), None, &[], ora()).sede,
            ""
        );
        // Credited automatically: the wallet's sede.
        let lf = SoggettoRegistrato {
            sede: "MI".into(),
            ..soggetto(LEGALE, true, false, None)
        };
        let v = ricevi(
            "v".into(),
            dati(TipoPortafoglio::LibrettoFamiglia),
            Some(&lf),
            &["RM".into()],
            ora(),
        );
        assert_eq!(v.sede, "MI");
    }

    #[test]
    fn por_2_fingerprint_changes_with_content() {
        let a = dati(TipoPortafoglio::Cpo);
        let mut b = a.clone();
        b.importo = Euro::from_cents(10_001);
        assert_ne!(a.impronta(), b.impronta());
        assert_eq!(a.impronta(), dati(TipoPortafoglio::Cpo).impronta());
    }
}
