//! PublishRuleTable's request into a domain [`Regole`]: every figure required, each bad one a
//! violation of its field (PRE-20); the figures' consistency is the domain's
//! ([`Regole::verifica`]).

use occasionali_kernel::Euro;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::Violations;

use crate::domain::regole::Regole;

const CAMPO: &str = "rule_table.";

/// The table to publish, or every violation of its fields and of its figures together.
pub fn tabella(t: Option<&pb::RuleTable>, motivo: &str) -> Result<(Regole, String), Violations> {
    let mut v = Violations::new();
    let motivo = motivo.trim();
    if motivo.is_empty() || motivo.chars().count() > 500 {
        v.add(
            "motivo",
            "PRE-20",
            "PRE_20_REASON_REQUIRED",
            "the legal source of the changes is required (at most 500 characters)",
        );
    }
    let Some(t) = t else {
        v.add(
            "rule_table",
            "PRE-20",
            "PRE_20_TABLE_REQUIRED",
            "the rule table is required",
        );
        return Err(v);
    };
    let mut euro = |campo: &str, s: &str| -> i64 {
        importo(&mut v, campo, s, "an amount in euro, e.g. \"9.00\"").unwrap_or(0)
    };
    let titolo_compenso = euro("titolo_compenso", &t.titolo_compenso);
    let titolo_ivs = euro("titolo_contributi_ivs", &t.titolo_contributi_ivs);
    let titolo_inail = euro("titolo_premio_inail", &t.titolo_premio_inail);
    let titolo_oneri = euro("titolo_oneri_gestione", &t.titolo_oneri_gestione);
    let orario_minimo = euro("compenso_orario_minimo", &t.compenso_orario_minimo);
    let giornaliero_minimo = euro("compenso_giornaliero_minimo", &t.compenso_giornaliero_minimo);
    let limite_prestatore = euro("limite_prestatore", &t.limite_prestatore);
    let limite_utilizzatore = euro("limite_utilizzatore", &t.limite_utilizzatore);
    let limite_utilizzatore_speciali = euro(
        "limite_utilizzatore_settori_speciali",
        &t.limite_utilizzatore_settori_speciali,
    );
    let limite_coppia = euro("limite_coppia", &t.limite_coppia);
    let commissione_bonifico = euro(
        "commissione_bonifico_domiciliato",
        &t.commissione_bonifico_domiciliato,
    );
    let mut percento = |campo: &str, s: &str| -> i64 {
        importo(
            &mut v,
            campo,
            s,
            "a percentage with at most two decimals, e.g. \"33.00\"",
        )
        .unwrap_or(0)
    };
    let aliquota_ivs = percento("aliquota_ivs", &t.aliquota_ivs);
    let aliquota_inail = percento("aliquota_inail", &t.aliquota_inail);
    let aliquota_oneri = percento("aliquota_oneri_gestione", &t.aliquota_oneri_gestione);
    let percentuale_categorie_speciali = percento(
        "percentuale_categorie_speciali",
        &t.percentuale_categorie_speciali,
    );
    let orario_minimo_agricolo = if t.compenso_orario_minimo_agricolo.trim().is_empty() {
        None
    } else {
        importo(
            &mut v,
            "compenso_orario_minimo_agricolo",
            &t.compenso_orario_minimo_agricolo,
            "an amount in euro, or empty when agriculture is excluded",
        )
    };
    if !t.titolo_valore.trim().is_empty() {
        let somma = titolo_compenso + titolo_ivs + titolo_inail + titolo_oneri;
        match Euro::parse(&t.titolo_valore) {
            Ok(e) if e.cents() == somma => {}
            _ => v.add(
                format!("{CAMPO}titolo_valore"),
                "PRE-20",
                "PRE_20_TITOLO_NOT_SUM",
                format!(
                    "the titolo's value is the sum of its split ({}); leave it empty or give that",
                    Euro::from_cents(somma)
                ),
            ),
        }
    }
    if !t.variazioni.is_empty() {
        v.add(
            format!("{CAMPO}variazioni"),
            "PRE-20",
            "PRE_20_COMPUTED_FIELD",
            "the changes are computed from the year before: leave them empty",
        );
    }
    if t.pubblicazione.is_some() {
        v.add(
            format!("{CAMPO}pubblicazione"),
            "PRE-20",
            "PRE_20_COMPUTED_FIELD",
            "the publication is recorded by the platform: leave it empty",
        );
    }
    let ateco = |l: &[String]| l.iter().map(|c| c.trim().to_string()).collect::<Vec<_>>();
    let r = Regole {
        anno: t.anno,
        titolo_compenso,
        titolo_ivs,
        titolo_inail,
        titolo_oneri,
        orario_minimo,
        giornaliero_minimo,
        ore_soglia_giornaliero: t.ore_soglia_minimo_giornaliero,
        orario_minimo_agricolo,
        aliquota_ivs,
        aliquota_inail,
        aliquota_oneri,
        limite_prestatore,
        limite_utilizzatore,
        limite_utilizzatore_speciali,
        limite_coppia,
        ore_coppia: t.ore_coppia,
        percentuale_categorie_speciali,
        dipendenti_max: t.dipendenti_max,
        dipendenti_max_speciali: t.dipendenti_max_settori_speciali,
        ateco_speciali: ateco(&t.ateco_settori_speciali),
        ateco_esclusi: ateco(&t.ateco_esclusi),
        agricoltura_ammessa: t.agricoltura_ammessa,
        giorni_finestra_agricola: t.giorni_finestra_agricola,
        preavviso_cpo_minuti: t.preavviso_cpo_minuti,
        giorno_scadenza_lf: t.giorno_scadenza_lf,
        giorni_revoca: t.giorni_revoca,
        mesi_rapporto_recente: t.mesi_rapporto_lavoro_recente,
        giorno_pagamento: t.giorno_pagamento,
        commissione_bonifico,
        riferimento: t.riferimento_normativo.trim().to_string(),
        variazioni: Vec::new(),
    };
    if v.is_empty() {
        // The figures' own consistency only once each of them reads: a figure that did not
        // parse would be reported twice.
        v.extend(r.verifica(CAMPO));
    }
    v.into_result((r, motivo.to_string()))
}

/// An amount with at most two decimals, in hundredths (cents of euro, hundredths of a point).
fn importo(v: &mut Violations, campo: &str, s: &str, atteso: &str) -> Option<i64> {
    if s.trim().is_empty() {
        v.add(
            format!("{CAMPO}{campo}"),
            "PRE-20",
            "PRE_20_FIGURE_REQUIRED",
            format!("{campo} is required: {atteso}"),
        );
        return None;
    }
    match Euro::parse(s) {
        Ok(e) => Some(e.cents()),
        Err(e) => {
            v.add(
                format!("{CAMPO}{campo}"),
                "PRE-20",
                format!("PRE_20_{}", e.reason()),
                format!("{campo}: {e} ({atteso})"),
            );
            None
        }
    }
}
