//! GW-1, GW-2: one entry point, health and reflection for everything, identity required.
//! GW-6: internal services are neither routed nor advertised by the gateway, and a backend serves
//! them only to the platform's own identity.

use occasionali_e2e::Cluster;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, Identity, Principal, Profile};
use serde_json::json;

const GET: &str = "occasionali.anagrafica.v1.AnagraficaService/GetSoggetto";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_2_grpcurl_lists_describes_calls_and_checks_health() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let g = c.grpcurl();
    let services = g.list().await?;
    for ctx in Context::ALL {
        assert!(
            services.contains(&ctx.service_name().to_string()),
            "{services:?} lacks {ctx}"
        );
    }
    for s in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(services.contains(&s.to_string()), "{services:?} lacks {s}");
    }
    for ctx in Context::ALL {
        let d = g
            .run(&[&c.gateway.to_string(), "describe", ctx.service_name()])
            .await?;
        assert_eq!(d.code, 0, "describe {ctx}: {}", d.stderr);
        assert!(d.stdout.contains("rpc "), "{}", d.stdout);
    }
    let health = g.call(None, "grpc.health.v1.Health/Check", &json!({})).await?;
    assert_eq!(health.json()?["status"], "SERVING");
    for ctx in Context::ALL {
        let h = g
            .call(
                None,
                "grpc.health.v1.Health/Check",
                &json!({"service": ctx.service_name()}),
            )
            .await?;
        assert_eq!(h.json()?["status"], "SERVING", "{ctx}");
        // Each backend answers health and reflection too.
        let b = c.grpcurl_backend(ctx);
        assert!(b.list().await?.contains(&ctx.service_name().to_string()));
        let bh = b.call(None, "grpc.health.v1.Health/Check", &json!({})).await?;
        assert_eq!(bh.json()?["status"], "SERVING", "{ctx} backend");
    }
    // Every context answers through the gateway, notifiche too: a bad request is refused
    // precisely (GW-3), with the rule.
    let t = c.token(Profile::OperatoreDg, "DGXOPR80A01H501X", None)?;
    let u = g
        .call(
            Some(&t),
            "occasionali.notifiche.v1.NotificheService/ListInbox",
            &json!({}),
        )
        .await?;
    assert_eq!(u.code, 3, "{u:?}");
    assert_eq!(u.violations(), ["codice_fiscale"], "{u:?}");
    assert!(u.rules().contains("NOT-1"), "{u:?}");
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_1_identity_is_required_and_verified() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let body = json!({"codice_fiscale": "RSSMRA85T10A562S"});
    // No token at the gateway.
    let o = c.grpcurl().call(None, GET, &body).await?;
    assert_eq!(o.code, 16, "{o:?}");
    // A token signed with another key.
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJYIiwicHJvZmlsZSI6Im9wZXJhdG9yZV9kZyJ9.c2lnbmF0dXJl";
    let o = c.grpcurl().call(Some(forged), GET, &body).await?;
    assert_eq!(o.code, 16, "{o:?}");
    // Straight to a backend, without the gateway's identity: refused.
    let o = c
        .grpcurl_backend(Context::Anagrafica)
        .call(None, GET, &body)
        .await?;
    assert_eq!(o.code, 16, "{o:?}");
    // A client token presented directly to a backend is not an identity either.
    let t = c.token(Profile::OperatoreDg, "DGXOPR80A01H501X", None)?;
    let o = c
        .grpcurl_backend(Context::Anagrafica)
        .call(Some(&t), GET, &body)
        .await?;
    assert_eq!(o.code, 16, "{o:?}");
    let o = c
        .grpcurl_backend(Context::Anagrafica)
        .run(&[
            "-H",
            &format!("x-occasionali-identity: {t}"),
            "-d",
            &body.to_string(),
            &c.backends[&Context::Anagrafica].to_string(),
            GET,
        ])
        .await?;
    assert_eq!(o.code, 16, "{o:?}");
    // No client holds the platform's own `sistema` profile.
    let sistema = c.token(Profile::Sistema, "SISTEMA-X", None)?;
    let o = c.grpcurl().call(Some(&sistema), GET, &body).await?;
    assert_eq!(o.code, 16, "{o:?}");
    // A malformed on-behalf-of subject is the caller's mistake, said precisely (never INTERNAL).
    let o = c
        .grpcurl()
        .run(&[
            "-format-error",
            "-H",
            &format!("authorization: Bearer {t}"),
            "-H",
            "x-occasionali-on-behalf-of: RSSMRA85T10A562X",
            "-H",
            "x-occasionali-ruolo: consulente_lavoro",
            "-d",
            &body.to_string(),
            &c.gateway.to_string(),
            GET,
        ])
        .await?;
    assert_eq!(o.code, 3, "{o:?}");
    assert_eq!(o.violations(), vec!["x-occasionali-on-behalf-of".to_string()]);
    // With a valid token the call reaches the service (NOT_FOUND: nobody registered yet).
    let o = c.grpcurl().call(Some(&t), GET, &body).await?;
    assert_eq!(o.code, 5, "{o:?}");
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dev_clock_starts_where_asked_and_moves_for_every_context() -> anyhow::Result<()> {
    // The night Rome moves to summer time: 01:30 CET, one hour later it is 03:30 CEST.
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-29T01:30:00+01:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let svc = "occasionali.gateway.v1.DevClockService";
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let o = g.call(Some(&dg), &format!("{svc}/GetClock"), &json!({})).await?;
    let rome = o.json()?["clock"]["rome"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(rome.starts_with("2026-03-29T01:3"), "{rome}");
    let o = g
        .call(
            Some(&dg),
            &format!("{svc}/AdvanceClock"),
            &json!({"seconds": 3600}),
        )
        .await?;
    let rome = o.json()?["clock"]["rome"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        rome.starts_with("2026-03-29T03:3") && rome.ends_with("+02:00"),
        "{rome}"
    );
    // Only DG moves the clock.
    let p = c.token(Profile::Prestatore, "RSSMRA85T10A562S", None)?;
    let o = g
        .call(Some(&p), &format!("{svc}/AdvanceClock"), &json!({"seconds": 60}))
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    let o = g
        .call(
            Some(&p),
            &format!("{svc}/SetClock"),
            &json!({"now": "2026-01-01T00:00:00Z"}),
        )
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    // Anyone authenticated reads it (README); without a token, UNAUTHENTICATED.
    let o = g.call(None, &format!("{svc}/GetClock"), &json!({})).await?;
    assert_eq!(o.code, 16, "{o:?}");
    c.stop().await
}

/// README: GetClock is for every authenticated client, whatever the profile; SetClock and
/// AdvanceClock stay operatore_dg's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dev_clock_is_readable_by_every_authenticated_client() -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-05-04T10:00:00+02:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let svc = "occasionali.gateway.v1.DevClockService";
    for (profile, cf, sede) in [
        (Profile::Prestatore, "RSSMRA85T10A562S", None),
        (Profile::Utilizzatore, "RSSMRA85T10A562S", None),
        (Profile::Intermediario, "RSSMRA85T10A562S", None),
        (Profile::OperatoreSede, "OPRRMA70A01H501Z", Some("RM")),
        (Profile::Azienda, "RSSMRA85T10A562S", None),
        (Profile::SoggettoAbilitato, "RSSMRA85T10A562S", None),
        (Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None),
        (Profile::OperatoreDg, "DGXOPR70A01H501Z", None),
    ] {
        let t = c.token(profile, cf, sede)?;
        let o = g.call(Some(&t), &format!("{svc}/GetClock"), &json!({})).await?;
        assert_eq!(o.code, 0, "{profile:?}: {o:?}");
        let rome = o.json()?["clock"]["rome"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(rome.starts_with("2026-05-04T10:0"), "{profile:?}: {rome}");
    }
    c.stop().await
}

/// Every internal service with its RPCs and the backend serving it, as the backends' reflection
/// describes them (each context's own and the outbox service every context serves); checked
/// against the ones the platform is known to have, so the list is never silently empty.
async fn internal_rpcs(c: &Cluster) -> anyhow::Result<Vec<(Context, String)>> {
    let mut out = Vec::new();
    for ctx in Context::ALL {
        let b = c.grpcurl_backend(ctx);
        let listed = b.list().await?;
        for service in ctx.internal_service_name().into_iter().chain([OUTBOX]) {
            assert!(
                listed.contains(&service.to_string()),
                "{ctx} backend does not advertise {service}"
            );
            let d = b
                .run(&[&c.backends[&ctx].to_string(), "describe", service])
                .await?;
            assert_eq!(d.code, 0, "{d:?}");
            for line in d.stdout.lines() {
                if let Some(rest) = line.trim().strip_prefix("rpc ") {
                    let name = rest.split('(').next().unwrap_or_default().trim();
                    out.push((ctx, format!("{service}/{name}")));
                }
            }
        }
    }
    let rpcs: Vec<&str> = out.iter().map(|(_, r)| r.as_str()).collect();
    for known in [
        "occasionali.portafoglio.v1.PortafoglioInternalService/ReserveFunds",
        "occasionali.portafoglio.v1.PortafoglioInternalService/ReleaseFunds",
        "occasionali.portafoglio.v1.PortafoglioInternalService/ConsumeFunds",
        "occasionali.prestazioni.v1.PrestazioniInternalService/CloseContestazioni",
        "occasionali.prestazioni.v1.PrestazioniInternalService/ListDuePrestazioni",
        "occasionali.prestazioni.v1.PrestazioniInternalService/MarkPaid",
        "occasionali.prestazioni.v1.PrestazioniInternalService/CheckCategoriaChange",
        "occasionali.prestazioni.v1.PrestazioniInternalService/StreamSoggettiAttivi",
        "occasionali.anagrafica.v1.AnagraficaInternalService/ListOrganizzazioniRappresentate",
        "occasionali.notifiche.v1.NotificheInternalService/IngestEvent",
        "occasionali.deleghe.v1.DelegheInternalService/CheckDelega",
    ] {
        assert!(rpcs.contains(&known), "{known} missing from {rpcs:?}");
    }
    // The outbox service of every context: counts, lists and retries (RelayService's backend).
    assert_eq!(
        rpcs.iter().filter(|r| r.starts_with(OUTBOX)).count() % Context::ALL.len(),
        0,
        "{rpcs:?}"
    );
    assert!(rpcs.iter().any(|r| r.starts_with(OUTBOX)), "{rpcs:?}");
    Ok(out)
}

const OUTBOX: &str = "occasionali.common.v1.OutboxInternalService";

fn identity(profile: Profile, cf: &str, sede: Option<&str>) -> Identity {
    Identity::new(Principal {
        cf: cf.into(),
        profile,
        sede: sede.map(str::to_string),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_6_internal_services_are_not_routed() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let g = c.grpcurl();
    // Not advertised by the gateway.
    let services = g.list().await?;
    assert!(
        !services.iter().any(|s| s.ends_with("InternalService")),
        "{services:?}"
    );
    let tokens = [
        Some(c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?),
        Some(c.token(Profile::OperatoreSede, "OPRRMA70A01H501Z", Some("RM"))?),
        Some(c.token(Profile::Prestatore, "RSSMRA85T10A562S", None)?),
        Some(c.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?),
        None,
    ];
    let mut rpcs: Vec<String> = internal_rpcs(&c).await?.into_iter().map(|(_, r)| r).collect();
    rpcs.sort();
    rpcs.dedup();
    for rpc in rpcs {
        for t in &tokens {
            let o = g.call(t.as_deref(), &rpc, &json!({})).await?;
            assert_eq!(o.code, 12, "{rpc}: {o:?}");
            assert!(o.stderr.contains("not a public service"), "{rpc}: {o:?}");
        }
    }
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_6_backends_serve_internal_services_only_to_sistema() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let estranei = [
        identity(Profile::OperatoreDg, "DGXOPR70A01H501Z", None),
        identity(Profile::OperatoreSede, "OPRRMA70A01H501Z", Some("RM")),
        identity(Profile::Prestatore, "RSSMRA85T10A562S", None),
        identity(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None),
    ];
    let call = |ctx: Context, id: &Identity, rpc: &str, body: serde_json::Value| {
        let header = c.identity_token(id).map(|t| format!("{IDENTITY_HEADER}: {t}"));
        let target = c.backends[&ctx].to_string();
        let rpc = rpc.to_string();
        let b = c.grpcurl_backend(ctx);
        async move {
            let header = header?;
            let data = body.to_string();
            b.run(&["-format-error", "-H", &header, "-d", &data, &target, &rpc])
                .await
        }
    };
    for (ctx, rpc) in internal_rpcs(&c).await? {
        for id in &estranei {
            let o = call(ctx, id, &rpc, json!({})).await?;
            assert_eq!(o.code, 7, "{rpc} for {:?}: {o:?}", id.profile());
            assert!(o.stderr.contains("GW_6_INTERNAL_ONLY"), "{rpc}: {o:?}");
        }
    }
    // The platform's own identity passes the fence (and reaches the RPC).
    let sistema = identity(Profile::Sistema, "SISTEMA-PORTAFOGLIO", None);
    let o = call(
        Context::Prestazioni,
        &sistema,
        "occasionali.prestazioni.v1.PrestazioniInternalService/ListDuePrestazioni",
        json!({"anno": 2026, "mese": 6}),
    )
    .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let sistema = identity(Profile::Sistema, "SISTEMA-PRESTAZIONI", None);
    let o = call(
        Context::Portafoglio,
        &sistema,
        "occasionali.portafoglio.v1.PortafoglioInternalService/ReleaseFunds",
        json!({"prestazione_id": "pre_none"}),
    )
    .await?;
    assert_eq!(o.code, 5, "no such reservation, yet past the fence: {o:?}");
    c.stop().await
}
