//! A payout order as the wallet tells it (POR-5, PRE-16): recorded once per order id, shown in
//! the prestatore's payment history.

use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pagamento {
    pub payout_order_id: String,
    pub prestatore_cf: String,
    /// The month of the prestazioni paid.
    pub anno: i32,
    pub mese: i32,
    /// The value date and the amounts as the wallet computed and wrote them (YYYY-MM-DD, decimal
    /// euro): recorded and shown, never computed here.
    pub data_pagamento: String,
    pub importo_lordo: String,
    pub commissione: String,
    pub importo_netto: String,
    pub prestazione_ids: Vec<String>,
    /// When the order was executed (the recording time when the wallet did not say).
    pub pagato_il: Option<DateTime<Utc>>,
}
