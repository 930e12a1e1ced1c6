//! PRE-16 listings under the limits of issue 12: filters and paging run in SQL, so an answer costs
//! a page of rows whatever the history; a filter's list is capped (GW-3) and deduplicated.

use occasionali_proto::prestazioni as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

both_engines!(
    pre_16_listing_filters_and_pages_in_sql,
    gw_3_listing_filters_are_capped
);

/// Two at 09:00, one at 14:00 on the 16th, one on the 17th; the 14:00 one revoked.
async fn quattro(h: &Harness) -> Vec<pb::Prestazione> {
    let p = scenario_cpo(h, "1000.00", 2).await;
    let mut out = Vec::new();
    for (rid, cf, inizio, fine) in [
        ("r-1", &p[0], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z"),
        ("r-2", &p[1], "2026-06-16T07:00:00Z", "2026-06-16T11:00:00Z"),
        ("r-3", &p[0], "2026-06-16T12:00:00Z", "2026-06-16T16:00:00Z"),
        ("r-4", &p[0], "2026-06-17T07:00:00Z", "2026-06-17T11:00:00Z"),
    ] {
        out.push(
            h.inserisci(&h.azienda(PIVA), rid, cpo(cf, inizio, fine, "36.00"))
                .await
                .unwrap(),
        );
    }
    ok(h.c()
        .revoke_prestazione(h.azienda(PIVA).req(pb::RevokePrestazioneRequest {
            prestazione_id: out[2].id.clone(),
            motivo: "maltempo".into(),
        }))
        .await);
    out
}

async fn elenco(
    h: &Harness,
    r: pb::ListPrestazioniRequest,
) -> Result<pb::ListPrestazioniResponse, tonic::Status> {
    h.c()
        .list_prestazioni(h.azienda(PIVA).req(r))
        .await
        .map(tonic::Response::into_inner)
}

fn ids(r: &pb::ListPrestazioniResponse) -> Vec<String> {
    r.prestazioni.iter().map(|p| p.id.clone()).collect()
}

async fn pre_16_listing_filters_and_pages_in_sql(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let x = quattro(&h).await;
    let id = |i: usize| x[i].id.clone();
    // Newest first, two a page, the token naming the last one.
    let p1 = elenco(
        &h,
        pb::ListPrestazioniRequest {
            page_size: 2,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(ids(&p1), vec![id(3), id(2)]);
    assert!(!p1.next_page_token.is_empty());
    let p2 = elenco(
        &h,
        pb::ListPrestazioniRequest {
            page_size: 2,
            page_token: p1.next_page_token.clone(),
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(ids(&p2), vec![id(1), id(0)]);
    assert!(p2.next_page_token.is_empty(), "{p2:?}");
    // The token belongs to its filters.
    let e = elenco(
        &h,
        pb::ListPrestazioniRequest {
            page_size: 2,
            page_token: p1.next_page_token.clone(),
            stati: vec![pb::StatoPrestazione::Accepted as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(errore(&e).1, "PRE_16_PAGE_TOKEN");
    // States, deduplicated; payment state as its states; both together intersect.
    let revocate = elenco(
        &h,
        pb::ListPrestazioniRequest {
            stati: vec![pb::StatoPrestazione::Revoked as i32; 3],
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(ids(&revocate), vec![id(2)]);
    let dovute = elenco(
        &h,
        pb::ListPrestazioniRequest {
            stato_pagamento: pb::StatoPagamento::Due as i32,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(ids(&dovute), vec![id(3), id(1), id(0)]);
    let nessuna = elenco(
        &h,
        pb::ListPrestazioniRequest {
            stati: vec![pb::StatoPrestazione::Revoked as i32],
            stato_pagamento: pb::StatoPagamento::Due as i32,
            ..Default::default()
        },
    )
    .await?;
    assert!(nessuna.prestazioni.is_empty());
    // The scheduled day, both bounds inclusive; the kind.
    let sedici = elenco(
        &h,
        pb::ListPrestazioniRequest {
            periodo: Some(occasionali_proto::common::Periodo {
                dal: "2026-06-16".into(),
                al: "2026-06-16".into(),
            }),
            tipo: pb::TipoPrestazione::Cpo as i32,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(ids(&sedici), vec![id(2), id(1), id(0)]);
    let lf = elenco(
        &h,
        pb::ListPrestazioniRequest {
            tipo: pb::TipoPrestazione::LibrettoFamiglia as i32,
            ..Default::default()
        },
    )
    .await?;
    assert!(lf.prestazioni.is_empty());
    h.fine().await;
    Ok(())
}

/// GW-3: a list longer than the enum it filters on is refused before any row is read (before
/// issue 12, 1.9 M values became an `IN (...)` of 1.9 M terms and ~520 MiB), as are values
/// the enum does not have, a negative page size and a malformed day.
async fn gw_3_listing_filters_are_capped(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let e = elenco(
        &h,
        pb::ListPrestazioniRequest {
            stati: vec![pb::StatoPrestazione::Accepted as i32; 200_000],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let d = e.get_error_details();
    let v = &d.bad_request().unwrap().field_violations;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].field, "stati");
    assert_eq!(v[0].reason, "REQUEST_TOO_MANY_VALUES");
    assert!(
        v[0].description.contains("at most 6 values"),
        "{}",
        v[0].description
    );
    assert_eq!(
        d.error_info().unwrap().metadata.get("rule").map(String::as_str),
        Some("GW-3")
    );
    let e = elenco(
        &h,
        pb::ListPrestazioniRequest {
            stati: vec![99],
            page_size: -1,
            periodo: Some(occasionali_proto::common::Periodo {
                dal: "16/06/2026".into(),
                al: String::new(),
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let campi: Vec<String> = e
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|f| format!("{} {}", f.field, f.reason))
        .collect();
    assert_eq!(
        campi,
        vec![
            "stati[0] PRE_16_STATO_UNKNOWN",
            "periodo.dal PRE_1_DATE_FORMAT",
            "page_size PRE_16_PAGE_SIZE"
        ]
    );
    // Every state once is not too many.
    let tutti: Vec<i32> = (1..=6).collect();
    elenco(
        &h,
        pb::ListPrestazioniRequest {
            stati: tutti,
            ..Default::default()
        },
    )
    .await?;
    h.fine().await;
    Ok(())
}
