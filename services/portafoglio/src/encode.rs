//! Domain → wire.

use chrono::{DateTime, Utc};
use occasionali_proto::portafoglio as pb;

use crate::domain::conti::Causale;
use crate::domain::payout::{EsitoPayout, OrdinePagamento};
use crate::domain::rimborso::{Rimborso, StatoRimborso};
use crate::domain::riserva::{Costo, Riserva, StatoRiserva};
use crate::domain::storno::{Destinazione, Storno};
use crate::domain::versamento::{Canale, CodiceTributo, Modalita, StatoVersamento, Versamento};
use crate::domain::{Conto, MetodoPagamento, PortafoglioRef, TipoConto, TipoPortafoglio};
use crate::store::conti::MovimentoRegistrato;

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn tipo_portafoglio(t: TipoPortafoglio) -> pb::TipoPortafoglio {
    match t {
        TipoPortafoglio::LibrettoFamiglia => pb::TipoPortafoglio::LibrettoFamiglia,
        TipoPortafoglio::Cpo => pb::TipoPortafoglio::Cpo,
    }
}

pub fn portafoglio(w: &PortafoglioRef) -> pb::PortafoglioRef {
    pb::PortafoglioRef {
        utilizzatore_cf: w.cf.clone(),
        tipo: tipo_portafoglio(w.tipo) as i32,
    }
}

pub fn costo(c: &Costo) -> pb::CostoPrestazione {
    pb::CostoPrestazione {
        compenso: c.compenso.to_string(),
        contributi_ivs: c.contributi_ivs.to_string(),
        premio_inail: c.premio_inail.to_string(),
        oneri_gestione: c.oneri_gestione.to_string(),
        totale: c.totale.to_string(),
    }
}

fn canale(c: Canale) -> pb::CanaleVersamento {
    match c {
        Canale::F24Elide => pb::CanaleVersamento::F24Elide,
        Canale::F24Ep => pb::CanaleVersamento::F24Ep,
        Canale::PagoPa => pb::CanaleVersamento::Pagopa,
    }
}

fn codice(c: Option<CodiceTributo>) -> i32 {
    match c {
        Some(CodiceTributo::Lifa) => pb::CodiceTributo::Lifa as i32,
        Some(CodiceTributo::Cloc) => pb::CodiceTributo::Cloc as i32,
        None => pb::CodiceTributo::Unspecified as i32,
    }
}

fn stato_versamento(s: StatoVersamento) -> pb::StatoVersamento {
    match s {
        StatoVersamento::NonAbbinato => pb::StatoVersamento::NonAbbinato,
        StatoVersamento::Accreditato => pb::StatoVersamento::Accreditato,
        StatoVersamento::Restituito => pb::StatoVersamento::Restituito,
        StatoVersamento::Trasferito => pb::StatoVersamento::Trasferito,
    }
}

pub fn modalita(m: Option<Modalita>) -> i32 {
    match m {
        Some(Modalita::Automatico) => pb::ModalitaAbbinamento::Automatico as i32,
        Some(Modalita::Manuale) => pb::ModalitaAbbinamento::Manuale as i32,
        Some(Modalita::Trasferimento) => pb::ModalitaAbbinamento::Trasferimento as i32,
        None => pb::ModalitaAbbinamento::Unspecified as i32,
    }
}

/// A versamento. While it waits in the queue, `nota_abbinamento` carries why it was not matched
/// ("POR_2_PAYER_NOT_REGISTERED: …"), as the API has no field of its own for it yet
/// (docs/decisions.md).
pub fn versamento(v: &Versamento) -> pb::Versamento {
    let d = &v.dati;
    let nota = match (v.stato, v.motivo_non_abbinato) {
        (StatoVersamento::NonAbbinato, Some(m)) => format!("{}: {}", m.code(), m.descrizione()),
        _ => v.nota_abbinamento.clone(),
    };
    pb::Versamento {
        id: v.id.clone(),
        id_pagamento: d.id_pagamento.clone(),
        canale: canale(d.canale) as i32,
        codice_fiscale_versante: d.cf_versante.clone(),
        codice_tributo: codice(d.codice_tributo),
        anno: d.anno.unwrap_or(0),
        riferimento_a: d.riferimento_a.clone(),
        riferimento_b: d.riferimento_b.clone(),
        importo: d.importo.to_string(),
        data_versamento: d.data_versamento.to_string(),
        ricevuto_il: Some(timestamp(v.ricevuto_il)),
        stato: stato_versamento(v.stato) as i32,
        portafoglio: v.portafoglio.as_ref().map(portafoglio),
        modalita_abbinamento: modalita(v.modalita),
        abbinato_da_cf: v.abbinato_da_cf.clone(),
        nota_abbinamento: nota,
        abbinato_il: v.abbinato_il.map(timestamp),
        sede: v.sede.clone(),
        importo_stornato: v.importo_stornato.to_string(),
    }
}

fn stato_riserva(s: StatoRiserva) -> pb::ReservationState {
    match s {
        StatoRiserva::Riservata => pb::ReservationState::Reserved,
        StatoRiserva::Rilasciata => pb::ReservationState::Released,
        StatoRiserva::Consumata => pb::ReservationState::Consumed,
    }
}

pub fn riserva(r: &Riserva) -> pb::Reservation {
    pb::Reservation {
        prestazione_id: r.prestazione_id.clone(),
        portafoglio: Some(portafoglio(&r.portafoglio)),
        prestatore_cf: r.prestatore_cf.clone(),
        data_prestazione: r.data_prestazione.to_string(),
        costo: Some(costo(&r.costo)),
        stato: stato_riserva(r.stato) as i32,
        debito: r.debito.to_string(),
        riservata_il: Some(timestamp(r.riservata_il)),
        rilasciata_il: r.rilasciata_il.map(timestamp),
        consumata_il: r.consumata_il.map(timestamp),
        payout_order_id: r.payout_order_id.clone().unwrap_or_default(),
    }
}

pub fn addebito(r: &Riserva) -> pb::AddebitoPrestazione {
    pb::AddebitoPrestazione {
        prestazione_id: r.prestazione_id.clone(),
        prestatore_cf: r.prestatore_cf.clone(),
        data_prestazione: r.data_prestazione.to_string(),
        costo: Some(costo(&r.costo)),
        stato: stato_riserva(r.stato) as i32,
    }
}

/// "IBAN, masked except the last 4 characters".
pub fn iban_mascherato(iban: &str) -> String {
    let n = iban.chars().count();
    iban.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 >= n { c } else { '*' })
        .collect()
}

fn metodo(m: &MetodoPagamento) -> pb::MetodoPagamento {
    use pb::TipoMetodoPagamento as T;
    let tipo = match m {
        MetodoPagamento::ContoCorrente { .. } => T::ContoCorrente,
        MetodoPagamento::LibrettoPostale { .. } => T::LibrettoPostale,
        MetodoPagamento::CartaPagamento { .. } => T::CartaPagamento,
        MetodoPagamento::BonificoDomiciliato => T::BonificoDomiciliato,
    };
    pb::MetodoPagamento {
        tipo: tipo as i32,
        iban: m.iban().map(iban_mascherato).unwrap_or_default(),
    }
}

pub fn ordine(o: &OrdinePagamento) -> pb::PayoutOrder {
    pb::PayoutOrder {
        id: o.id.clone(),
        prestatore_cf: o.prestatore_cf.clone(),
        anno: o.anno,
        mese: o.mese as i32,
        data_pagamento: o.data_pagamento.to_string(),
        righe: o
            .righe
            .iter()
            .map(|r| pb::RigaPayoutOrder {
                prestazione_id: r.prestazione_id.clone(),
                utilizzatore_cf: r.portafoglio.cf.clone(),
                data_prestazione: r.data_prestazione.to_string(),
                compenso: r.costo.compenso.to_string(),
            })
            .collect(),
        importo_lordo: o.importo_lordo.to_string(),
        commissione: o.commissione.to_string(),
        importo_netto: o.importo_netto.to_string(),
        metodo_pagamento: Some(metodo(&o.metodo)),
        eseguito_il: Some(timestamp(o.eseguito_il)),
    }
}

pub fn esito_payout(e: &EsitoPayout) -> pb::PayoutRun {
    pb::PayoutRun {
        anno: e.anno,
        mese: e.mese as i32,
        gia_eseguito: e.gia_eseguito,
        numero_ordini: e.numero_ordini,
        numero_prestazioni: e.numero_prestazioni,
        totale_netto: e.totale_netto.to_string(),
        totale_contributi_ivs: e.totale_ivs.to_string(),
        totale_premi_inail: e.totale_inail.to_string(),
        totale_oneri_gestione: e.totale_oneri.to_string(),
        totale_commissioni: e.totale_commissioni.to_string(),
        eseguito_il: e.eseguito_il.map(timestamp),
    }
}

pub fn stato_rimborso(s: StatoRimborso) -> pb::StatoRimborso {
    match s {
        StatoRimborso::Richiesto => pb::StatoRimborso::Richiesto,
        StatoRimborso::Pagato => pb::StatoRimborso::Pagato,
        StatoRimborso::Respinto => pb::StatoRimborso::Respinto,
    }
}

pub fn rimborso(r: &Rimborso) -> pb::Rimborso {
    pb::Rimborso {
        id: r.id.clone(),
        portafoglio: Some(portafoglio(&r.portafoglio)),
        importo_richiesto: r.importo_richiesto.to_string(),
        iban_richiesto: r.iban_richiesto.clone(),
        importo_pagato: r.importo_pagato.map(|e| e.to_string()).unwrap_or_default(),
        iban_pagato: r.iban_pagato.clone().unwrap_or_default(),
        stato: stato_rimborso(r.stato) as i32,
        richiesto_il: Some(timestamp(r.richiesto_il)),
        deciso_il: r.deciso_il.map(timestamp),
        deciso_da_cf: r.deciso_da_cf.clone(),
        nota: r.nota.clone(),
        sede: r.sede.clone(),
    }
}

pub fn storno(s: &Storno) -> pb::Storno {
    let (tipo, iban, destinazione) = match &s.destinazione {
        Destinazione::Restituzione { iban } => (pb::TipoStorno::Restituzione, iban.clone(), None),
        Destinazione::Trasferimento { portafoglio: w } => {
            (pb::TipoStorno::Trasferimento, String::new(), Some(portafoglio(w)))
        }
    };
    pb::Storno {
        id: s.id.clone(),
        versamento_id: s.versamento_id.clone(),
        tipo: tipo as i32,
        importo: s.importo.to_string(),
        iban,
        destinazione,
        operatore_cf: s.operatore_cf.clone(),
        nota: s.nota.clone(),
        eseguito_il: Some(timestamp(s.eseguito_il)),
    }
}

pub fn tipo_conto(t: TipoConto) -> pb::TipoConto {
    match t {
        TipoConto::Incassi => pb::TipoConto::Incassi,
        TipoConto::VersamentiNonAbbinati => pb::TipoConto::VersamentiNonAbbinati,
        TipoConto::Disponibile => pb::TipoConto::PortafoglioDisponibile,
        TipoConto::Riservato => pb::TipoConto::PortafoglioRiservato,
        TipoConto::Debito => pb::TipoConto::PortafoglioDebito,
        TipoConto::RimborsoRichiesto => pb::TipoConto::PortafoglioRimborsoRichiesto,
        TipoConto::CompensiPrestatori => pb::TipoConto::CompensiPrestatori,
        TipoConto::GestioneSeparata => pb::TipoConto::GestioneSeparata,
        TipoConto::Inail => pb::TipoConto::Inail,
        TipoConto::OneriGestione => pb::TipoConto::OneriGestione,
        TipoConto::CommissioniBonificoDomiciliato => pb::TipoConto::CommissioniBonificoDomiciliato,
        TipoConto::Rimborsi => pb::TipoConto::Rimborsi,
        TipoConto::Restituzioni => pb::TipoConto::Restituzioni,
    }
}

pub fn conto(c: &Conto) -> pb::Conto {
    pb::Conto {
        tipo: tipo_conto(c.tipo()) as i32,
        portafoglio: c.portafoglio().map(portafoglio),
    }
}

fn causale(c: Causale) -> pb::CausaleMovimento {
    match c {
        Causale::Versamento => pb::CausaleMovimento::Versamento,
        Causale::Abbinamento => pb::CausaleMovimento::Abbinamento,
        Causale::Riserva => pb::CausaleMovimento::Riserva,
        Causale::Rilascio => pb::CausaleMovimento::Rilascio,
        Causale::Consumo => pb::CausaleMovimento::Consumo,
        Causale::Pagamento => pb::CausaleMovimento::Pagamento,
        Causale::Rimborso => pb::CausaleMovimento::Rimborso,
        Causale::Storno => pb::CausaleMovimento::Storno,
        Causale::Debito => pb::CausaleMovimento::Debito,
        Causale::StornoContabile => pb::CausaleMovimento::StornoContabile,
    }
}

pub fn movimento(m: &MovimentoRegistrato) -> pb::Movimento {
    pb::Movimento {
        id: m.id.clone(),
        registrato_il: Some(timestamp(m.registrato_il)),
        conto_addebito: Some(conto(&m.addebito)),
        conto_accredito: Some(conto(&m.accredito)),
        importo: m.importo.to_string(),
        causale: causale(m.causale) as i32,
        riferimento: m.riferimento.clone(),
        storno_di: m.storno_di.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_shows_only_the_last_four() {
        assert_eq!(
            iban_mascherato("IT60X0542811101000000123456"),
            "***********************3456"
        );
        assert_eq!(iban_mascherato("ABC"), "ABC");
    }
}
