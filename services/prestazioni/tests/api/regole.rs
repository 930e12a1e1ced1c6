//! PRE-20: the rule table.

use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::TestDb;

use crate::common::*;

both_engines!(pre_20_rule_tables_hold_both_periods_with_reasons);

async fn pre_20_rule_tables_hold_both_periods_with_reasons(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let get = |anno| {
        let h = &h;
        async move {
            ok(h.c()
                .get_rule_table(
                    h.prestatore(&persona_n(1).codice_fiscale)
                        .req(pb::GetRuleTableRequest { anno }),
                )
                .await)
            .rule_table
            .expect("table")
        }
    };
    let r2017 = get(2017).await;
    assert_eq!(
        (
            r2017.limite_utilizzatore.as_str(),
            r2017.dipendenti_max,
            r2017.agricoltura_ammessa
        ),
        ("5000.00", 5, true)
    );
    let r2022 = get(2022).await;
    assert_eq!(r2022.limite_utilizzatore, "5000.00");
    let r2023 = get(2023).await;
    assert_eq!(r2023.limite_utilizzatore, "10000.00");
    assert_eq!(r2023.limite_utilizzatore_settori_speciali, "15000.00");
    assert!(r2023.variazioni.iter().any(|v| v.motivo == "L. 197/2022"));
    assert!(r2023.variazioni.iter().any(|v| v.motivo == "DL 48/2023"));
    let r2026 = get(2026).await;
    assert_eq!(r2026.anno, 2026);
    assert_eq!(
        (
            r2026.titolo_valore.as_str(),
            r2026.titolo_compenso.as_str(),
            r2026.titolo_contributi_ivs.as_str(),
            r2026.titolo_premio_inail.as_str(),
            r2026.titolo_oneri_gestione.as_str()
        ),
        ("10.00", "8.00", "1.65", "0.25", "0.10")
    );
    assert_eq!(
        (
            r2026.compenso_orario_minimo.as_str(),
            r2026.compenso_giornaliero_minimo.as_str(),
            r2026.aliquota_ivs.as_str(),
            r2026.aliquota_inail.as_str(),
            r2026.aliquota_oneri_gestione.as_str()
        ),
        ("9.00", "36.00", "33.00", "3.50", "1.00")
    );
    assert_eq!(
        (
            r2026.dipendenti_max,
            r2026.dipendenti_max_settori_speciali,
            r2026.ore_coppia
        ),
        (10, 25, 280)
    );
    assert!(!r2026.agricoltura_ammessa);
    assert!(r2026.ateco_settori_speciali.contains(&"82.30.00".to_string()));
    assert!(r2026.ateco_esclusi.contains(&"43".to_string()));
    let all = ok(h
        .c()
        .list_rule_tables(h.dg().req(pb::ListRuleTablesRequest {}))
        .await)
    .rule_tables;
    let anni: Vec<i32> = all.iter().map(|r| r.anno).collect();
    assert_eq!(anni, (2017..=2026).collect::<Vec<_>>());
    h.fine().await;
    Ok(())
}
