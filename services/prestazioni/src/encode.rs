//! Domain → proto.

use occasionali_kernel::Euro;
use occasionali_proto::prestazioni as pb;
use rust_decimal::Decimal;

use crate::domain::regole::{Regole, percento};
use crate::domain::{Costo, Quota, Stato, TipoLimite};

pub fn euro(cents: i64) -> String {
    Euro::from_cents(cents).to_string()
}

pub fn ore(minuti: i64) -> String {
    (Decimal::from(minuti) / Decimal::from(60))
        .round_dp(2)
        .normalize()
        .to_string()
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

pub fn pagamento(s: Stato) -> pb::StatoPagamento {
    match s {
        Stato::Pending | Stato::Accepted | Stato::Contested => pb::StatoPagamento::Due,
        Stato::Paid => pb::StatoPagamento::Paid,
        Stato::Rejected | Stato::Revoked => pb::StatoPagamento::NotDue,
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

/// A limit's status; `richiesto` is None for plain headroom.
pub fn stato_limite(q: &Quota, usato: i64, richiesto: Option<i64>) -> pb::StatoLimite {
    let ore_l = q.tipo == TipoLimite::OreCoppia;
    let f = |v: i64| if ore_l { ore(v) } else { euro(v) };
    let residuo = (q.limite - usato).max(0);
    let (pc, uc) = match q.tipo {
        TipoLimite::Prestatore => (q.prestatore_cf.clone(), String::new()),
        TipoLimite::Utilizzatore => (String::new(), q.utilizzatore_cf.clone()),
        _ => (q.prestatore_cf.clone(), q.utilizzatore_cf.clone()),
    };
    pb::StatoLimite {
        tipo: tipo_limite(q.tipo) as i32,
        unita: if ore_l {
            pb::UnitaLimite::Ore
        } else {
            pb::UnitaLimite::Euro
        } as i32,
        anno: q.anno,
        prestatore_cf: pc,
        utilizzatore_cf: uc,
        limite: f(q.limite),
        utilizzato: f(usato),
        residuo: f(residuo),
        richiesto: richiesto.map(f).unwrap_or_default(),
        superato: richiesto.is_some_and(|r| r > residuo),
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
            pubblicata_il: p.pubblicata_il.map(crate::decode::timestamp),
        }),
        ..regole(&riga.regole, anno)
    }
}
