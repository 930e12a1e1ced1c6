//! What the registry (anagrafica, SPEC §1) tells the wallet about a codice fiscale: the roles
//! that decide automatic and manual matching (POR-2, POR-3), the competent sede (operators'
//! scopes) and the prestatore's payment method (POR-5).

use std::fmt;

use occasionali_kernel::identita::mask;

/// How a prestatore is paid (ANA-4).
#[derive(Clone, PartialEq, Eq)]
pub enum MetodoPagamento {
    ContoCorrente { iban: String },
    LibrettoPostale { iban: String },
    CartaPagamento { iban: String },
    BonificoDomiciliato,
}

impl MetodoPagamento {
    pub fn code(&self) -> &'static str {
        match self {
            MetodoPagamento::ContoCorrente { .. } => "CONTO_CORRENTE",
            MetodoPagamento::LibrettoPostale { .. } => "LIBRETTO_POSTALE",
            MetodoPagamento::CartaPagamento { .. } => "CARTA_PAGAMENTO",
            MetodoPagamento::BonificoDomiciliato => "BONIFICO_DOMICILIATO",
        }
    }

    pub fn from_code(code: &str, iban: &str) -> Option<MetodoPagamento> {
        let iban = iban.to_string();
        match code {
            "CONTO_CORRENTE" => Some(MetodoPagamento::ContoCorrente { iban }),
            "LIBRETTO_POSTALE" => Some(MetodoPagamento::LibrettoPostale { iban }),
            "CARTA_PAGAMENTO" => Some(MetodoPagamento::CartaPagamento { iban }),
            "BONIFICO_DOMICILIATO" => Some(MetodoPagamento::BonificoDomiciliato),
            _ => None,
        }
    }

    pub fn iban(&self) -> Option<&str> {
        match self {
            MetodoPagamento::ContoCorrente { iban }
            | MetodoPagamento::LibrettoPostale { iban }
            | MetodoPagamento::CartaPagamento { iban } => Some(iban),
            MetodoPagamento::BonificoDomiciliato => None,
        }
    }
}

/// IBANs never reach logs (GW-5).
impl fmt::Debug for MetodoPagamento {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A registered subject, as far as the wallet needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct SoggettoRegistrato {
    pub cf: String,
    pub sede: String,
    pub utilizzatore_lf: bool,
    pub utilizzatore_cpo: bool,
    /// Organisations: the legal representative's CF (POR-3).
    pub legale_rappresentante_cf: Option<String>,
    /// Prestatori: where compensations are paid.
    pub metodo_pagamento: Option<MetodoPagamento>,
}

impl SoggettoRegistrato {
    pub fn utilizzatore(&self, tipo: super::conti::TipoPortafoglio) -> bool {
        match tipo {
            super::conti::TipoPortafoglio::LibrettoFamiglia => self.utilizzatore_lf,
            super::conti::TipoPortafoglio::Cpo => self.utilizzatore_cpo,
        }
    }
}

impl fmt::Debug for SoggettoRegistrato {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoggettoRegistrato")
            .field("cf", &mask(&self.cf))
            .field("sede", &self.sede)
            .field("utilizzatore_lf", &self.utilizzatore_lf)
            .field("utilizzatore_cpo", &self.utilizzatore_cpo)
            .field("metodo_pagamento", &self.metodo_pagamento)
            .finish()
    }
}
