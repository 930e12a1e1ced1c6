//! The Gestione Separata warning: a worker's estimated compensations over 5,000 euro in a
//! calendar year (heads of chains not cancelled, year of the start date).

use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    gestione_separata_warning_above_5000_in_a_year,
    worker_summary_is_visible_to_who_may_know_the_worker,
);

const SOGLIA: &str = "GESTIONE_SEPARATA_SOGLIA";

fn con_compenso(
    cf: &str,
    w: &pb::Lavoratore,
    inizio: &str,
    compenso: &str,
) -> pb::InsertComunicazioneRequest {
    let mut r = preventiva(cf, w.clone());
    r.rapporto = Some(rapporto(inizio, compenso));
    r
}

fn codici_avvisi(c: &pb::Comunicazione) -> Vec<String> {
    c.avvisi.iter().map(|a| a.codice.clone()).collect()
}

async fn riepilogo(h: &Harness, cf: &str, anno: i32) -> pb::GetLavoratoreSummaryResponse {
    ok(h.c()
        .get_lavoratore_summary(h.dg().req(pb::GetLavoratoreSummaryRequest {
            lavoratore_cf: cf.into(),
            anno,
        }))
        .await)
}

async fn gestione_separata_warning_above_5000_in_a_year(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let (a, b) = (h.azienda(PIVA), h.azienda(PIVA_B));
    let w = lavoratore_n(1);
    let cf = w.codice_fiscale.clone();
    let p1 = h
        .inserisci(&a, con_compenso("", &w, "2026-06-20", "3000.00"))
        .await;
    assert!(p1.avvisi.is_empty());
    // Exactly 5,000.00 in the year, from two committenti: not above the threshold.
    let p2 = h
        .inserisci(&b, con_compenso("", &w, "2026-09-01", "2000.00"))
        .await;
    assert!(p2.avvisi.is_empty());
    // Another year does not count toward 2026.
    h.inserisci(&b, con_compenso("", &w, "2027-01-04", "4000.00"))
        .await;
    // One cent more: a warning, not a refusal.
    let p3 = h.inserisci(&a, con_compenso("", &w, "2026-12-31", "0.01")).await;
    assert_eq!(codici_avvisi(&p3), [SOGLIA]);
    assert!(
        p3.avvisi[0].messaggio.contains("5000.01"),
        "{}",
        p3.avvisi[0].messaggio
    );

    let s = riepilogo(&h, &cf, 0).await;
    let anni: Vec<(i32, i64, String, bool)> = s
        .anni
        .iter()
        .map(|y| {
            (
                y.anno,
                y.numero_comunicazioni,
                y.compenso_stimato_totale.clone(),
                y.soglia_gestione_separata_superata,
            )
        })
        .collect();
    assert_eq!(
        anni,
        [
            (2026, 3, "5000.01".to_string(), true),
            (2027, 1, "4000.00".to_string(), false),
        ]
    );
    assert_eq!(s.avvisi.len(), 1);
    assert_eq!(s.avvisi[0].codice, SOGLIA);

    // Cancelled chains do not count.
    h.annulla(&a, &codice(&p3)).await;
    let s = riepilogo(&h, &cf, 2026).await;
    assert_eq!(s.anni[0].compenso_stimato_totale, "5000.00");
    assert!(!s.anni[0].soglia_gestione_separata_superata && s.avvisi.is_empty());
    // Only the head of a chain counts: a V raising the P from 3,000 to 3,500 counts 3,500.
    let mut r = variazione(&codice(&p1), &p1);
    r.rapporto.as_mut().unwrap().compenso_stimato = "3500.00".into();
    let v = h.varia(&a, r).await;
    assert_eq!(codici_avvisi(&v), [SOGLIA]);
    let s = riepilogo(&h, &cf, 2026).await;
    assert_eq!(
        (
            s.anni[0].numero_comunicazioni,
            s.anni[0].compenso_stimato_totale.as_str()
        ),
        (2, "5500.00")
    );
    // A year with nothing: zero.
    let s = riepilogo(&h, &cf, 2025).await;
    assert_eq!(s.anni.len(), 1);
    assert_eq!(s.anni[0].compenso_stimato_totale, "0.00");
    h.stop().await;
    Ok(())
}

async fn worker_summary_is_visible_to_who_may_know_the_worker(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let sa = h.soggetto_abilitato(OP_RM);
    let w = lavoratore_n(2);
    let cf = w.codice_fiscale.clone();
    h.inserisci(&sa, preventiva(PIVA, w.clone())).await;
    let req = |anno| pb::GetLavoratoreSummaryRequest {
        lavoratore_cf: cf.clone(),
        anno,
    };
    for who in [sa.clone(), h.dg(), h.op("RM"), h.prestatore(&cf)] {
        let s = ok(h.c().get_lavoratore_summary(who.req(req(0))).await);
        assert_eq!(s.anni.len(), 1);
    }
    for who in [
        h.soggetto_abilitato(OP_DG),
        h.azienda(PIVA_B),
        h.prestatore(&lavoratore_n(3).codice_fiscale),
        h.utilizzatore(&cf),
    ] {
        err(
            h.c().get_lavoratore_summary(who.req(req(0))).await,
            Code::PermissionDenied,
        );
    }
    invalid_motivi(
        h.c()
            .get_lavoratore_summary(h.dg().req(pb::GetLavoratoreSummaryRequest {
                lavoratore_cf: String::new(),
                anno: 20_260,
            }))
            .await,
        &[("lavoratore_cf", "ANA_2_CF_REQUIRED"), ("anno", "LAO_3_YEAR")],
    );
    h.stop().await;
    Ok(())
}
