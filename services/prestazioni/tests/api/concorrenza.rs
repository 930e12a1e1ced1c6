//! PRE-9: concurrent insertions never cross a limit together, on two replicas.

use occasionali_proto::portafoglio as por;
use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::TestDb;

use crate::common::*;

both_engines!(pre_9_concurrent_insertions_never_cross_the_pair_limit);

async fn pre_9_concurrent_insertions_never_cross_the_pair_limit(t: &TestDb) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "9000.00", 1).await;
    let replica = h.add_replica(t).await?;
    let urls = [h.url.clone(), replica];
    // 30 clients × 100.00 on one pair (limit 2,500.00): exactly 25 may pass.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let mut c = h.c_nuovo(&urls[i % 2]).await;
        let who = h.azienda(PIVA);
        let giorno = 16 + (i % 10);
        let d = cpo(
            &p[0],
            &format!("2026-06-{giorno:02}T{:02}:00:00Z", 5 + i / 10 * 5),
            &format!("2026-06-{giorno:02}T{:02}:00:00Z", 9 + i / 10 * 5),
            "100.00",
        );
        tasks.push(tokio::spawn(async move {
            c.insert_prestazione(who.req(pb::InsertPrestazioneRequest {
                request_id: format!("conc-{i}"),
                prestazione: Some(d),
            }))
            .await
        }));
    }
    let mut accettate = 0;
    for t in tasks {
        match t.await? {
            Ok(_) => accettate += 1,
            Err(s) => assert_eq!(errore(&s).1, "PRE_8_LIMIT_COPPIA", "{s:?}"),
        }
    }
    assert_eq!(accettate, 25);
    let l = h.headroom(2026, &p[0], PIVA).await;
    let coppia = l
        .iter()
        .find(|x| x.tipo == pb::TipoLimite::Coppia as i32)
        .unwrap();
    assert_eq!(
        (coppia.utilizzato.as_str(), coppia.residuo.as_str()),
        ("2500.00", "0.00")
    );
    // 25 × (100.00 + 33.00 + 3.50 + 1.37) = 25 × 137.87 = 3446.75 reserved, to the cent.
    let w = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert_eq!(
        (w.riservato.as_str(), w.disponibile.as_str()),
        ("3446.75", "5553.25")
    );
    h.fine().await;
    Ok(())
}

both_engines!(pre_9_concurrent_insertions_never_cross_the_utilizzatore_limit);

async fn pre_9_concurrent_insertions_never_cross_the_utilizzatore_limit(t: &TestDb) -> anyhow::Result<()> {
    let mut h = Harness::start(t).await?;
    let p = scenario_cpo(&h, "20000.00", 24).await;
    let replica = h.add_replica(t).await?;
    let urls = [h.url.clone(), replica];
    // 24 prestatori × 500.00 (limit 10,000.00): exactly 20 may pass, whatever the order.
    let mut tasks = Vec::new();
    for (i, cf) in p.iter().enumerate() {
        let mut c = h.c_nuovo(&urls[i % 2]).await;
        let who = h.azienda(PIVA);
        let d = cpo(cf, "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z", "500.00");
        tasks.push(tokio::spawn(async move {
            c.insert_prestazione(who.req(pb::InsertPrestazioneRequest {
                request_id: format!("u-{i}"),
                prestazione: Some(d),
            }))
            .await
        }));
    }
    let mut accettate = 0;
    for t in tasks {
        match t.await? {
            Ok(_) => accettate += 1,
            Err(s) => assert_eq!(errore(&s).1, "PRE_8_LIMIT_UTILIZZATORE", "{s:?}"),
        }
    }
    assert_eq!(accettate, 20);
    let u = h.headroom(2026, "", PIVA).await;
    assert_eq!(
        (u[0].utilizzato.as_str(), u[0].residuo.as_str()),
        ("10000.00", "0.00")
    );
    // 20 × (500.00 + 165.00 + 17.50 + 6.83) = 20 × 689.33 = 13786.60.
    let w = h.riepilogo(PIVA, por::TipoPortafoglio::Cpo).await;
    assert_eq!(w.riservato, "13786.60");
    h.fine().await;
    Ok(())
}
