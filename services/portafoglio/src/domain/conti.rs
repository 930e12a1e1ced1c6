//! POR-1: the double-entry ledger. Every movement debits one account and credits another by the
//! same positive amount; an account's balance is its credits minus its debits, so the sum of
//! every balance is zero by construction. Wallet accounts belong to one utilizzatore and wallet
//! type; the platform's accounts are shared.

use std::collections::BTreeMap;
use std::fmt;

use occasionali_kernel::Euro;
use occasionali_kernel::identita::mask;

use super::errore::{Errore, traboccamento};

/// Which of an utilizzatore's wallets (a CF may hold both roles, hence both wallets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TipoPortafoglio {
    LibrettoFamiglia,
    Cpo,
}

impl TipoPortafoglio {
    pub fn code(self) -> &'static str {
        match self {
            TipoPortafoglio::LibrettoFamiglia => "LF",
            TipoPortafoglio::Cpo => "CPO",
        }
    }

    pub fn from_code(s: &str) -> Option<TipoPortafoglio> {
        match s {
            "LF" => Some(TipoPortafoglio::LibrettoFamiglia),
            "CPO" => Some(TipoPortafoglio::Cpo),
            _ => None,
        }
    }
}

/// One wallet: the utilizzatore's codice fiscale and the wallet type.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortafoglioRef {
    pub cf: String,
    pub tipo: TipoPortafoglio,
}

impl PortafoglioRef {
    pub fn new(cf: impl Into<String>, tipo: TipoPortafoglio) -> PortafoglioRef {
        PortafoglioRef { cf: cf.into(), tipo }
    }
}

/// Masked: codici fiscali never reach logs (GW-5).
impl fmt::Debug for PortafoglioRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Portafoglio({}, {})", mask(&self.cf), self.tipo.code())
    }
}

/// How an account's balance may move (enforced again by the database).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segno {
    /// Never below zero: a wallet's available, reserved and held-for-refund funds (POR-8).
    NonNegativo,
    /// Never above zero: a wallet's debt is a negative balance (PRE-15, POR-8).
    NonPositivo,
    /// Platform accounts.
    Libero,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TipoConto {
    Incassi,
    VersamentiNonAbbinati,
    Disponibile,
    Riservato,
    Debito,
    RimborsoRichiesto,
    CompensiPrestatori,
    GestioneSeparata,
    Inail,
    OneriGestione,
    CommissioniBonificoDomiciliato,
    Rimborsi,
    Restituzioni,
}

impl TipoConto {
    /// The platform-wide accounts, created with the schema.
    pub const PIATTAFORMA: [TipoConto; 9] = [
        TipoConto::Incassi,
        TipoConto::VersamentiNonAbbinati,
        TipoConto::CompensiPrestatori,
        TipoConto::GestioneSeparata,
        TipoConto::Inail,
        TipoConto::OneriGestione,
        TipoConto::CommissioniBonificoDomiciliato,
        TipoConto::Rimborsi,
        TipoConto::Restituzioni,
    ];

    /// The accounts of every wallet, created with its first movement.
    pub const PORTAFOGLIO: [TipoConto; 4] = [
        TipoConto::Disponibile,
        TipoConto::Riservato,
        TipoConto::Debito,
        TipoConto::RimborsoRichiesto,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TipoConto::Incassi => "INCASSI",
            TipoConto::VersamentiNonAbbinati => "VERSAMENTI_NON_ABBINATI",
            TipoConto::Disponibile => "DISPONIBILE",
            TipoConto::Riservato => "RISERVATO",
            TipoConto::Debito => "DEBITO",
            TipoConto::RimborsoRichiesto => "RIMBORSO_RICHIESTO",
            TipoConto::CompensiPrestatori => "COMPENSI_PRESTATORI",
            TipoConto::GestioneSeparata => "GESTIONE_SEPARATA",
            TipoConto::Inail => "INAIL",
            TipoConto::OneriGestione => "ONERI_GESTIONE",
            TipoConto::CommissioniBonificoDomiciliato => "COMMISSIONI_BONIFICO_DOMICILIATO",
            TipoConto::Rimborsi => "RIMBORSI",
            TipoConto::Restituzioni => "RESTITUZIONI",
        }
    }

    pub fn from_code(s: &str) -> Option<TipoConto> {
        TipoConto::PIATTAFORMA
            .into_iter()
            .chain(TipoConto::PORTAFOGLIO)
            .find(|t| t.code() == s)
    }

    pub fn di_portafoglio(self) -> bool {
        TipoConto::PORTAFOGLIO.contains(&self)
    }

    pub fn segno(self) -> Segno {
        match self {
            TipoConto::Disponibile | TipoConto::Riservato | TipoConto::RimborsoRichiesto => {
                Segno::NonNegativo
            }
            TipoConto::Debito => Segno::NonPositivo,
            _ => Segno::Libero,
        }
    }
}

/// One ledger account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Conto {
    Piattaforma(TipoConto),
    Portafoglio(PortafoglioRef, TipoConto),
}

impl Conto {
    pub fn disponibile(w: &PortafoglioRef) -> Conto {
        Conto::Portafoglio(w.clone(), TipoConto::Disponibile)
    }

    pub fn riservato(w: &PortafoglioRef) -> Conto {
        Conto::Portafoglio(w.clone(), TipoConto::Riservato)
    }

    pub fn debito(w: &PortafoglioRef) -> Conto {
        Conto::Portafoglio(w.clone(), TipoConto::Debito)
    }

    pub fn rimborso_richiesto(w: &PortafoglioRef) -> Conto {
        Conto::Portafoglio(w.clone(), TipoConto::RimborsoRichiesto)
    }

    pub fn tipo(&self) -> TipoConto {
        match self {
            Conto::Piattaforma(t) | Conto::Portafoglio(_, t) => *t,
        }
    }

    pub fn portafoglio(&self) -> Option<&PortafoglioRef> {
        match self {
            Conto::Piattaforma(_) => None,
            Conto::Portafoglio(w, _) => Some(w),
        }
    }

    /// The stored key: `P:INCASSI`, `W:CPO:00743110157:DISPONIBILE`. Sorting keys gives the
    /// order in which balance rows are locked, the same in every transaction.
    pub fn id(&self) -> String {
        match self {
            Conto::Piattaforma(t) => format!("P:{}", t.code()),
            Conto::Portafoglio(w, t) => format!("W:{}:{}:{}", w.tipo.code(), w.cf, t.code()),
        }
    }
}

/// Why a movement was posted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Causale {
    Versamento,
    Abbinamento,
    Riserva,
    Rilascio,
    Consumo,
    Pagamento,
    Rimborso,
    Storno,
    Debito,
    StornoContabile,
}

impl Causale {
    pub const ALL: [Causale; 10] = [
        Causale::Versamento,
        Causale::Abbinamento,
        Causale::Riserva,
        Causale::Rilascio,
        Causale::Consumo,
        Causale::Pagamento,
        Causale::Rimborso,
        Causale::Storno,
        Causale::Debito,
        Causale::StornoContabile,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Causale::Versamento => "VERSAMENTO",
            Causale::Abbinamento => "ABBINAMENTO",
            Causale::Riserva => "RISERVA",
            Causale::Rilascio => "RILASCIO",
            Causale::Consumo => "CONSUMO",
            Causale::Pagamento => "PAGAMENTO",
            Causale::Rimborso => "RIMBORSO",
            Causale::Storno => "STORNO",
            Causale::Debito => "DEBITO",
            Causale::StornoContabile => "STORNO_CONTABILE",
        }
    }

    pub fn from_code(s: &str) -> Option<Causale> {
        Causale::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// A movement to post: debit `addebito`, credit `accredito`, by `importo` > 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movimento {
    pub addebito: Conto,
    pub accredito: Conto,
    pub importo: Euro,
    pub causale: Causale,
    /// The versamento, prestazione, payout order, rimborso or storno it belongs to.
    pub riferimento: String,
    /// A reversal names the movement it reverses (POR-1: corrections never update).
    pub storno_di: Option<String>,
}

impl Movimento {
    /// The reversing movement of this one.
    pub fn storno(&self, id_originale: &str) -> Movimento {
        Movimento {
            addebito: self.accredito.clone(),
            accredito: self.addebito.clone(),
            importo: self.importo,
            causale: Causale::StornoContabile,
            riferimento: self.riferimento.clone(),
            storno_di: Some(id_originale.to_string()),
        }
    }
}

/// The movements of one command, posted together in its transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scritture {
    pub movimenti: Vec<Movimento>,
}

impl Scritture {
    pub fn new() -> Scritture {
        Scritture::default()
    }

    /// Moves `importo` from `da` to `a`. Zero amounts post nothing; a negative amount is a bug
    /// of the caller and is refused.
    pub fn sposta(
        &mut self,
        da: Conto,
        a: Conto,
        importo: Euro,
        causale: Causale,
        riferimento: &str,
    ) -> Result<(), Errore> {
        if importo.is_zero() {
            return Ok(());
        }
        if importo.is_negative() || da == a {
            return Err(Errore::MovimentoRifiutato {
                importo,
                da: da.tipo(),
                a: a.tipo(),
            });
        }
        self.movimenti.push(Movimento {
            addebito: da,
            accredito: a,
            importo,
            causale,
            riferimento: riferimento.to_string(),
            storno_di: None,
        });
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.movimenti.is_empty()
    }

    pub fn extend(&mut self, other: Scritture) {
        self.movimenti.extend(other.movimenti);
    }

    /// Net change of every account touched, in cents (credits +, debits −), in key order.
    pub fn variazioni(&self) -> Result<BTreeMap<String, (Conto, i64)>, Errore> {
        let mut out: BTreeMap<String, (Conto, i64)> = BTreeMap::new();
        for m in &self.movimenti {
            let c = m.importo.cents();
            for (conto, delta) in [(&m.addebito, -c), (&m.accredito, c)] {
                let entry = out.entry(conto.id()).or_insert_with(|| (conto.clone(), 0));
                entry.1 = entry
                    .1
                    .checked_add(delta)
                    .ok_or(Errore::Traboccamento("ledger amount overflow"))?;
            }
        }
        Ok(out)
    }
}

/// The balances of one wallet's accounts, as amounts (the debt as a positive amount owed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaldiPortafoglio {
    pub disponibile: Euro,
    pub riservato: Euro,
    pub debito: Euro,
    pub rimborso_richiesto: Euro,
}

pub fn somma(a: Euro, b: Euro) -> Result<Euro, Errore> {
    a.checked_add(b).ok_or_else(traboccamento)
}

pub fn differenza(a: Euro, b: Euro) -> Result<Euro, Errore> {
    a.checked_sub(b).ok_or_else(traboccamento)
}

/// Credits `importo` to the wallet's available balance from `da`, then covers any debt first
/// (POR-8: a later deposit covers the debt). Every credit to an available balance goes through
/// here, so a wallet never holds available funds while it has a debt.
pub fn accredita_disponibile(
    s: &mut Scritture,
    saldi: &mut SaldiPortafoglio,
    w: &PortafoglioRef,
    da: Conto,
    importo: Euro,
    causale: Causale,
    riferimento: &str,
) -> Result<(), Errore> {
    s.sposta(da, Conto::disponibile(w), importo, causale, riferimento)?;
    saldi.disponibile = somma(saldi.disponibile, importo)?;
    copri_debito(s, saldi, w, riferimento)
}

/// Moves available funds to cover the wallet's debt, as far as they go.
pub fn copri_debito(
    s: &mut Scritture,
    saldi: &mut SaldiPortafoglio,
    w: &PortafoglioRef,
    riferimento: &str,
) -> Result<(), Errore> {
    let copertura = saldi.disponibile.min(saldi.debito);
    if copertura.is_positive() {
        s.sposta(
            Conto::disponibile(w),
            Conto::debito(w),
            copertura,
            Causale::Debito,
            riferimento,
        )?;
        saldi.disponibile = differenza(saldi.disponibile, copertura)?;
        saldi.debito = differenza(saldi.debito, copertura)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w() -> PortafoglioRef {
        PortafoglioRef::new("00743110157", TipoPortafoglio::Cpo)
    }

    #[test]
    fn por_1_account_keys_are_stable_and_parse_back() {
        assert_eq!(Conto::Piattaforma(TipoConto::Incassi).id(), "P:INCASSI");
        assert_eq!(Conto::disponibile(&w()).id(), "W:CPO:00743110157:DISPONIBILE");
        for t in TipoConto::PIATTAFORMA.into_iter().chain(TipoConto::PORTAFOGLIO) {
            assert_eq!(TipoConto::from_code(t.code()), Some(t));
        }
        for c in Causale::ALL {
            assert_eq!(Causale::from_code(c.code()), Some(c));
        }
        assert!(!format!("{:?}", w()).contains("00743110157"));
    }

    #[test]
    fn por_1_zero_amounts_post_nothing_and_negative_are_refused() {
        let mut s = Scritture::new();
        s.sposta(
            Conto::Piattaforma(TipoConto::Incassi),
            Conto::disponibile(&w()),
            Euro::ZERO,
            Causale::Versamento,
            "v",
        )
        .unwrap();
        assert!(s.is_empty());
        assert!(
            s.sposta(
                Conto::Piattaforma(TipoConto::Incassi),
                Conto::disponibile(&w()),
                Euro::from_cents(-1),
                Causale::Versamento,
                "v",
            )
            .is_err()
        );
        assert!(
            s.sposta(
                Conto::disponibile(&w()),
                Conto::disponibile(&w()),
                Euro::from_cents(1),
                Causale::Versamento,
                "v",
            )
            .is_err()
        );
    }

    #[test]
    fn por_8_a_deposit_covers_the_debt_first() {
        let mut s = Scritture::new();
        let mut saldi = SaldiPortafoglio {
            debito: Euro::from_cents(300),
            ..Default::default()
        };
        accredita_disponibile(
            &mut s,
            &mut saldi,
            &w(),
            Conto::Piattaforma(TipoConto::Incassi),
            Euro::from_cents(1000),
            Causale::Versamento,
            "ver_1",
        )
        .unwrap();
        assert_eq!(saldi.disponibile, Euro::from_cents(700));
        assert_eq!(saldi.debito, Euro::ZERO);
        assert_eq!(s.movimenti.len(), 2);
        assert_eq!(s.movimenti[1].causale, Causale::Debito);
        let v = s.variazioni().unwrap();
        assert_eq!(v["W:CPO:00743110157:DEBITO"].1, 300);
        assert_eq!(v["W:CPO:00743110157:DISPONIBILE"].1, 700);
        assert_eq!(v["P:INCASSI"].1, -1000);
    }

    #[test]
    fn por_1_a_reversal_undoes_the_movement() {
        let mut s = Scritture::new();
        s.sposta(
            Conto::Piattaforma(TipoConto::Incassi),
            Conto::disponibile(&w()),
            Euro::from_cents(500),
            Causale::Versamento,
            "ver_1",
        )
        .unwrap();
        let storno = s.movimenti[0].storno("mov_1");
        assert_eq!(storno.causale, Causale::StornoContabile);
        assert_eq!(storno.storno_di.as_deref(), Some("mov_1"));
        s.movimenti.push(storno);
        assert!(s.variazioni().unwrap().values().all(|(_, d)| *d == 0));
    }

    proptest! {
        /// POR-1: whatever is posted, the changes sum to zero: no cent created or lost.
        #[test]
        fn por_1_every_batch_sums_to_zero(amounts in proptest::collection::vec(1i64..10_000_000, 1..40)) {
            let mut s = Scritture::new();
            let conti = [
                Conto::Piattaforma(TipoConto::Incassi),
                Conto::disponibile(&w()),
                Conto::riservato(&w()),
                Conto::Piattaforma(TipoConto::GestioneSeparata),
            ];
            for (i, a) in amounts.iter().enumerate() {
                let da = conti[i % conti.len()].clone();
                let a_ = conti[(i + 1) % conti.len()].clone();
                s.sposta(da, a_, Euro::from_cents(*a), Causale::Versamento, "x").unwrap();
            }
            let total: i64 = s.variazioni().unwrap().values().map(|(_, d)| *d).sum();
            prop_assert_eq!(total, 0);
        }
    }
}
