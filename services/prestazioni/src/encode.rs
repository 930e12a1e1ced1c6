//! Domain → proto.

use chrono::{DateTime, Utc};
use occasionali_proto::common::Periodo;
use occasionali_proto::prestazioni as pb;

use crate::domain::coerenza::Incoerenza;
use crate::domain::dichiarazione::{AttivitaLf, FinalitaPa, LavoroCpo, LavoroLf, TempoCpo};
use crate::domain::estratto::{Estratto, Somme};
use crate::domain::regole::{Regole, percento};
use crate::domain::{
    Costo, Lavoro, Pagamento, Prestazione, Stato, StatoLimite, StatoPagamento, Tipo, TipoLimite, Violazione,
};

pub use crate::domain::limiti::euro;

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn costo(c: &Costo) -> pb::CostoPrestazione {
    pb::CostoPrestazione {
        compenso: c.compenso.to_string(),
        contributi_ivs: c.ivs.to_string(),
        premio_inail: c.inail.to_string(),
        oneri_gestione: c.oneri.to_string(),
        totale: c.totale().to_string(),
    }
}

pub fn stato(s: Stato) -> pb::StatoPrestazione {
    match s {
        Stato::Pending => pb::StatoPrestazione::Pending,
        Stato::Accepted => pb::StatoPrestazione::Accepted,
        Stato::Rejected => pb::StatoPrestazione::Rejected,
        Stato::Revoked => pb::StatoPrestazione::Revoked,
        Stato::Contested => pb::StatoPrestazione::Contested,
        Stato::Paid => pb::StatoPrestazione::Paid,
    }
}

pub fn pagamento(s: StatoPagamento) -> pb::StatoPagamento {
    match s {
        StatoPagamento::Dovuto => pb::StatoPagamento::Due,
        StatoPagamento::Pagato => pb::StatoPagamento::Paid,
        StatoPagamento::NonDovuto => pb::StatoPagamento::NotDue,
    }
}

pub fn tipo(t: Tipo) -> pb::TipoPrestazione {
    match t {
        Tipo::Lf => pb::TipoPrestazione::LibrettoFamiglia,
        Tipo::Cpo => pb::TipoPrestazione::Cpo,
    }
}

pub fn tipo_limite(t: TipoLimite) -> pb::TipoLimite {
    match t {
        TipoLimite::Prestatore => pb::TipoLimite::Prestatore,
        TipoLimite::Utilizzatore => pb::TipoLimite::Utilizzatore,
        TipoLimite::Coppia => pb::TipoLimite::Coppia,
        TipoLimite::OreCoppia => pb::TipoLimite::OreCoppia,
    }
}

/// A limit's status; `richiesto` is empty for plain headroom.
pub fn stato_limite(l: &StatoLimite) -> pb::StatoLimite {
    let q = &l.quota;
    let (pc, uc) = match q.tipo {
        TipoLimite::Prestatore => (q.prestatore_cf.clone(), String::new()),
        TipoLimite::Utilizzatore => (String::new(), q.utilizzatore_cf.clone()),
        _ => (q.prestatore_cf.clone(), q.utilizzatore_cf.clone()),
    };
    pb::StatoLimite {
        tipo: tipo_limite(q.tipo) as i32,
        unita: if l.in_ore() {
            pb::UnitaLimite::Ore
        } else {
            pb::UnitaLimite::Euro
        } as i32,
        anno: q.anno,
        prestatore_cf: pc,
        utilizzatore_cf: uc,
        limite: l.cifra(q.limite),
        utilizzato: l.cifra(l.usato),
        residuo: l.cifra(l.residuo()),
        richiesto: l.richiesto.map(|r| l.cifra(r)).unwrap_or_default(),
        superato: l.superato,
    }
}

pub fn violazione(v: &Violazione) -> pb::ViolazioneRegola {
    pb::ViolazioneRegola {
        rule_id: v.rule.to_string(),
        reason: v.reason.to_string(),
        field: v.field.to_string(),
        description: v.description.clone(),
    }
}

fn attivita(a: AttivitaLf) -> pb::AttivitaLf {
    match a {
        AttivitaLf::LavoriDomestici => pb::AttivitaLf::LavoriDomestici,
        AttivitaLf::AssistenzaDomiciliare => pb::AttivitaLf::AssistenzaDomiciliare,
        AttivitaLf::InsegnamentoPrivato => pb::AttivitaLf::InsegnamentoPrivato,
    }
}

fn finalita_pa(f: Option<FinalitaPa>) -> i32 {
    match f {
        None => pb::FinalitaPa::Unspecified as i32,
        Some(FinalitaPa::ProgettiSpeciali) => pb::FinalitaPa::ProgettiSpeciali as i32,
        Some(FinalitaPa::Emergenze) => pb::FinalitaPa::Emergenze as i32,
        Some(FinalitaPa::Solidarieta) => pb::FinalitaPa::Solidarieta as i32,
        Some(FinalitaPa::Manifestazioni) => pb::FinalitaPa::Manifestazioni as i32,
        Some(FinalitaPa::NonPrevista(n)) => n,
    }
}

fn giorno(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn dettaglio_lf(lf: &LavoroLf) -> pb::DettaglioLf {
    pb::DettaglioLf {
        attivita: attivita(lf.attivita) as i32,
        data: giorno(lf.data),
        durata_minuti: i32::try_from(lf.minuti).unwrap_or(i32::MAX),
        titoli: i32::try_from(lf.titoli).unwrap_or(i32::MAX),
    }
}

fn dettaglio_cpo(c: &LavoroCpo) -> pb::DettaglioCpo {
    let (inizio, fine, finestra_agricola) = match &c.tempo {
        TempoCpo::Orario { inizio, fine } => (Some(timestamp(*inizio)), Some(timestamp(*fine)), None),
        TempoCpo::Finestra { dal, al, minuti } => (
            None,
            None,
            Some(pb::FinestraAgricola {
                periodo: Some(Periodo {
                    dal: giorno(*dal),
                    al: giorno(*al),
                }),
                durata_minuti: i32::try_from(*minuti).unwrap_or(i32::MAX),
            }),
        ),
    };
    pb::DettaglioCpo {
        descrizione: c.descrizione.clone(),
        inizio,
        fine,
        finestra_agricola,
        finalita_pa: finalita_pa(c.finalita_pa),
    }
}

pub fn prestazione(p: &Prestazione) -> pb::Prestazione {
    let d = &p.dichiarazione;
    pb::Prestazione {
        id: p.id.clone(),
        tipo: tipo(d.tipo()) as i32,
        utilizzatore_cf: d.utilizzatore_cf.clone(),
        prestatore_cf: d.prestatore_cf.clone(),
        luogo: Some(pb::Luogo {
            comune: d.luogo.comune.clone(),
            indirizzo: d.luogo.indirizzo.clone(),
            comune_nome: d.luogo.nome_comune.clone(),
        }),
        dettaglio: Some(match &d.lavoro {
            Lavoro::Lf(lf) => pb::prestazione::Dettaglio::Lf(dettaglio_lf(lf)),
            Lavoro::Cpo(c) => pb::prestazione::Dettaglio::Cpo(dettaglio_cpo(c)),
        }),
        compenso: p.costo.compenso.to_string(),
        dichiarazioni: Some(pb::Dichiarazioni {
            appalto: Some(d.appalto),
            rapporto_lavoro_recente: Some(d.rapporto_recente),
        }),
        costo: Some(costo(&p.costo)),
        stato: stato(p.stato) as i32,
        stato_pagamento: pagamento(p.stato.pagamento()) as i32,
        confermata: p.confermata(),
        data_prestazione: giorno(p.data()),
        durata_minuti: i32::try_from(p.minuti()).unwrap_or(i32::MAX),
        revocabile_fino_al: Some(timestamp(p.revocabile_fino_al)),
        inserita_da_cf: p.inserita_da_cf.clone(),
        request_id: p.request_id.clone(),
        inserita_il: Some(timestamp(p.inserita_il)),
        accettata_il: p.accettata_il.map(timestamp),
        motivo_rifiuto: p.rifiuto.as_ref().map(|r| r.motivo.clone()).unwrap_or_default(),
        revocata_il: p.revoca.as_ref().map(|r| timestamp(r.il)),
        motivo_revoca: p.revoca.as_ref().map(|r| r.motivo.clone()).unwrap_or_default(),
        confermata_il: p.confermata_il.map(timestamp),
        contestata_il: p.contestazione.as_ref().map(|c| timestamp(c.il)),
        nota_contestazione: p
            .contestazione
            .as_ref()
            .map(|c| c.nota.clone())
            .unwrap_or_default(),
        pagata_il: p.pagamento.as_ref().map(|x| timestamp(x.il)),
        payout_order_id: p
            .pagamento
            .as_ref()
            .map(|x| x.payout_order_id.clone())
            .unwrap_or_default(),
    }
}

/// A due prestazione as the payout reads it (POR-5).
pub fn dovuta(p: &Prestazione) -> pb::PrestazioneDovuta {
    pb::PrestazioneDovuta {
        prestazione_id: p.id.clone(),
        tipo: tipo(p.dichiarazione.tipo()) as i32,
        utilizzatore_cf: p.dichiarazione.utilizzatore_cf.clone(),
        prestatore_cf: p.dichiarazione.prestatore_cf.clone(),
        data_prestazione: giorno(p.data()),
        costo: Some(costo(&p.costo)),
        reintegrata: p.stato == Stato::Contested,
    }
}

pub fn pagamento_registrato(p: &Pagamento) -> pb::Pagamento {
    pb::Pagamento {
        payout_order_id: p.payout_order_id.clone(),
        prestatore_cf: p.prestatore_cf.clone(),
        anno: p.anno,
        mese: p.mese,
        data_pagamento: p.data_pagamento.clone(),
        importo_lordo: p.importo_lordo.clone(),
        commissione: p.commissione.clone(),
        importo_netto: p.importo_netto.clone(),
        prestazione_ids: p.prestazione_ids.clone(),
        pagato_il: p.pagato_il.map(timestamp),
    }
}

pub fn estratto(
    e: &Estratto,
    prestatore_cf: String,
    anno: i32,
    generato_il: DateTime<Utc>,
) -> pb::AnnualStatement {
    pb::AnnualStatement {
        prestatore_cf,
        anno,
        numero_prestazioni: e.totale.numero,
        totale_compensi: euro(e.totale.compensi),
        totale_incassato: euro(e.totale.incassato),
        totale_da_incassare: e.da_incassare().to_string(),
        totale_contributi_ivs: euro(e.contributi_ivs),
        totale_premi_inail: euro(e.premi_inail),
        per_utilizzatore: e
            .per_utilizzatore
            .iter()
            .map(
                |((u, t), s): (&(String, Tipo), &Somme)| pb::RigaStatementUtilizzatore {
                    utilizzatore_cf: u.clone(),
                    tipo: tipo(*t) as i32,
                    numero_prestazioni: s.numero,
                    compensi: euro(s.compensi),
                    incassato: euro(s.incassato),
                },
            )
            .collect(),
        per_mese: e
            .per_mese
            .iter()
            .map(|(m, s)| pb::RigaStatementMese {
                mese: *m as i32,
                numero_prestazioni: s.numero,
                compensi: euro(s.compensi),
                incassato: euro(s.incassato),
            })
            .collect(),
        generato_il: Some(timestamp(generato_il)),
    }
}

pub fn incoerenza(i: &Incoerenza) -> pb::PrestazioneIncoerente {
    pb::PrestazioneIncoerente {
        prestazione_id: i.prestazione_id.clone(),
        rule_id: i.rule.to_string(),
        description: i.description.to_string(),
    }
}

pub fn regole(r: &Regole, anno: i32) -> pb::RuleTable {
    pb::RuleTable {
        anno,
        titolo_valore: euro(r.titolo_valore()),
        titolo_compenso: euro(r.titolo_compenso),
        titolo_contributi_ivs: euro(r.titolo_ivs),
        titolo_premio_inail: euro(r.titolo_inail),
        titolo_oneri_gestione: euro(r.titolo_oneri),
        compenso_orario_minimo: euro(r.orario_minimo),
        compenso_giornaliero_minimo: euro(r.giornaliero_minimo),
        ore_soglia_minimo_giornaliero: r.ore_soglia_giornaliero,
        compenso_orario_minimo_agricolo: r.orario_minimo_agricolo.map(euro).unwrap_or_default(),
        aliquota_ivs: percento(r.aliquota_ivs),
        aliquota_inail: percento(r.aliquota_inail),
        aliquota_oneri_gestione: percento(r.aliquota_oneri),
        limite_prestatore: euro(r.limite_prestatore),
        limite_utilizzatore: euro(r.limite_utilizzatore),
        limite_utilizzatore_settori_speciali: euro(r.limite_utilizzatore_speciali),
        limite_coppia: euro(r.limite_coppia),
        ore_coppia: r.ore_coppia,
        percentuale_categorie_speciali: percento(r.percentuale_categorie_speciali),
        dipendenti_max: r.dipendenti_max,
        dipendenti_max_settori_speciali: r.dipendenti_max_speciali,
        ateco_settori_speciali: r.ateco_speciali.clone(),
        ateco_esclusi: r.ateco_esclusi.clone(),
        agricoltura_ammessa: r.agricoltura_ammessa,
        giorni_finestra_agricola: r.giorni_finestra_agricola,
        preavviso_cpo_minuti: r.preavviso_cpo_minuti,
        giorno_scadenza_lf: r.giorno_scadenza_lf,
        giorni_revoca: r.giorni_revoca,
        mesi_rapporto_lavoro_recente: r.mesi_rapporto_recente,
        giorno_pagamento: r.giorno_pagamento,
        commissione_bonifico_domiciliato: euro(r.commissione_bonifico),
        riferimento_normativo: r.riferimento.clone(),
        // The changes belong to the year the row starts.
        variazioni: if r.anno == anno {
            r.variazioni
                .iter()
                .map(|v| pb::VariazioneRegola {
                    campo: v.campo.clone(),
                    valore_precedente: v.precedente.clone(),
                    valore: v.valore.clone(),
                    motivo: v.motivo.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        pubblicazione: None,
    }
}

/// A year's table with the provenance of its row in force; the author is shown to operators
/// and the platform only (a person's codice fiscale is not everyone's to read).
pub fn tabella(riga: &crate::store::RigaRegole, anno: i32, autore_visibile: bool) -> pb::RuleTable {
    let p = &riga.pubblicazione;
    pb::RuleTable {
        pubblicazione: Some(pb::PubblicazioneRegole {
            versione: p.versione,
            origine: p.origine.clone(),
            motivo: p.motivo.clone(),
            autore_cf: if autore_visibile {
                p.autore_cf.clone()
            } else {
                String::new()
            },
            pubblicata_il: p.pubblicata_il.map(timestamp),
        }),
        ..regole(&riga.regole, anno)
    }
}
