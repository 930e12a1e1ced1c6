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

fn reason(o: &occasionali_e2e::Outcome) -> String {
    o.reason()
}

/// Issue 12, point 5: tokens are checked per RFC 7519 (`nbf`, `iat` with a small leeway, `aud`
/// a string or an array naming us), and each refusal says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_1_tokens_are_checked_per_rfc_7519() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let body = json!({"codice_fiscale": "RSSMRA85T10A562S"});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let claims = |edit: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut v = json!({
            "sub": "DGXOPR80A01H501X", "profile": "operatore_dg",
            "iss": "occasionali-dev", "aud": "occasionali-api",
            "iat": now, "exp": now + 600,
        });
        if let Some(m) = v.as_object_mut() {
            edit(m);
        }
        v
    };
    // (what changes, the reason expected; "" = accepted: NOT_FOUND, nobody registered yet)
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("as minted", claims(&|_| {}), ""),
        (
            "aud array naming us",
            claims(&|m| {
                m.insert("aud".into(), json!(["portale-inps", "occasionali-api"]));
            }),
            "",
        ),
        (
            "iat within the leeway",
            claims(&|m| {
                m.insert("iat".into(), json!(now + 5));
            }),
            "",
        ),
        (
            "nbf passed",
            claims(&|m| {
                m.insert("nbf".into(), json!(now - 60));
            }),
            "",
        ),
        (
            "nbf in an hour",
            claims(&|m| {
                m.insert("nbf".into(), json!(now + 3600));
            }),
            "GW_1_TOKEN_NOT_YET_VALID",
        ),
        (
            "iat in an hour",
            claims(&|m| {
                m.insert("iat".into(), json!(now + 3600));
            }),
            "GW_1_TOKEN_ISSUED_IN_FUTURE",
        ),
        (
            "expired an hour ago",
            claims(&|m| {
                m.insert("exp".into(), json!(now - 3600));
            }),
            "GW_1_TOKEN_EXPIRED",
        ),
        (
            "aud array not naming us",
            claims(&|m| {
                m.insert("aud".into(), json!(["portale-inps"]));
            }),
            "GW_1_TOKEN_AUDIENCE",
        ),
        (
            "the internal audience",
            claims(&|m| {
                m.insert("aud".into(), json!("occasionali-internal"));
            }),
            "GW_1_TOKEN_AUDIENCE",
        ),
        (
            "aud a number",
            claims(&|m| {
                m.insert("aud".into(), json!(42));
            }),
            "GW_1_TOKEN_CLAIM_MALFORMED",
        ),
        (
            "no exp",
            claims(&|m| {
                m.remove("exp");
            }),
            "GW_1_TOKEN_CLAIM_MISSING",
        ),
        (
            "no iat",
            claims(&|m| {
                m.remove("iat");
            }),
            "GW_1_TOKEN_CLAIM_MISSING",
        ),
        (
            "exp a string",
            claims(&|m| {
                m.insert("exp".into(), json!("domani"));
            }),
            "GW_1_TOKEN_CLAIM_MALFORMED",
        ),
        (
            "another issuer",
            claims(&|m| {
                m.insert("iss".into(), json!("altro"));
            }),
            "GW_1_TOKEN_ISSUER",
        ),
        (
            "an unknown profile",
            claims(&|m| {
                m.insert("profile".into(), json!("amministratore"));
            }),
            "GW_1_TOKEN_PROFILE_UNMAPPED",
        ),
    ];
    for (what, claims, expected) in cases {
        let token = c.signed_token(&claims)?;
        let o = c.grpcurl().call(Some(&token), GET, &body).await?;
        if expected.is_empty() {
            assert_eq!(o.code, 5, "{what}: {o:?}");
        } else {
            assert_eq!(o.code, 16, "{what}: {o:?}");
            assert_eq!(reason(&o), expected, "{what}: {o:?}");
            assert!(o.rules().contains("GW-1"), "{what}: {o:?}");
        }
    }
    // No algorithm ("alg": "none") with our claims, an HS256 token (no shared secret is ever
    // accepted, issue 14), and our claims with our key's kid over another signature.
    let ours = c.signed_token(&claims(&|_| {}))?;
    let payload = ours.split('.').nth(1).unwrap_or_default();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let o = c.grpcurl().call(Some(&unsigned), GET, &body).await?;
    assert_eq!(
        (o.code, reason(&o).as_str()),
        (16, "GW_1_TOKEN_ALGORITHM"),
        "{o:?}"
    );
    let hs256 = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl");
    let o = c.grpcurl().call(Some(&hs256), GET, &body).await?;
    assert_eq!(
        (o.code, reason(&o).as_str()),
        (16, "GW_1_TOKEN_ALGORITHM"),
        "{o:?}"
    );
    let other = c.signed_token(&claims(&|m| {
        m.insert("sub".into(), json!("RSSMRA85T10A562S"));
    }))?;
    let (head, sig) = (
        ours.split('.').next().unwrap_or_default(),
        other.split('.').nth(2).unwrap_or_default(),
    );
    let forged = format!("{head}.{payload}.{sig}");
    let o = c.grpcurl().call(Some(&forged), GET, &body).await?;
    assert_eq!(
        (o.code, reason(&o).as_str()),
        (16, "GW_1_TOKEN_SIGNATURE"),
        "{o:?}"
    );
    let o = c.grpcurl().call(None, GET, &body).await?;
    assert_eq!((o.code, reason(&o).as_str()), (16, "GW_1_TOKEN_MISSING"), "{o:?}");
    // What `occasionali token` mints is accepted.
    let minted = c.token(Profile::OperatoreDg, "DGXOPR80A01H501X", None)?;
    let o = c.grpcurl().call(Some(&minted), GET, &body).await?;
    assert_eq!(o.code, 5, "{o:?}");
    c.stop().await
}

/// The RetryInfo delay of a grpcurl `-format-error` answer, e.g. "0.734s".
fn retry_delay(o: &occasionali_e2e::Outcome) -> Option<String> {
    o.json().ok().and_then(|v| {
        v["details"].as_array().and_then(|ds| {
            ds.iter()
                .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
                .and_then(|d| d["retryDelay"].as_str().map(str::to_string))
        })
    })
}

/// Issue 12, point 6: a caller over its rate gets RESOURCE_EXHAUSTED with the time to wait,
/// while another caller is served; calls beyond the cap in flight are shed at once, feeds
/// holding one slot each; health and reflection answer throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_admission_limits_a_flooding_caller_and_sheds_beyond_capacity() -> anyhow::Result<()> {
    use occasionali_proto::anagrafica as ana;
    use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
    use occasionali_proto::portafoglio as por;
    use occasionali_proto::portafoglio::portafoglio_service_client::PortafoglioServiceClient;
    use occasionali_runtime::config::AdmissionConfig;

    let c = Cluster::start_with(None, |config| {
        config.gateway.admission = AdmissionConfig {
            caller_rate_per_second: Some(1),
            caller_burst: Some(3),
            feed_rate_per_second: None,
            feed_burst: None,
            max_in_flight: Some(2),
            max_callers: Some(1000),
        };
    })
    .await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", c.gateway))?
        .connect()
        .await?;
    let with = |token: &str| -> anyhow::Result<tonic::Request<ana::GetSoggettoRequest>> {
        let mut r = tonic::Request::new(ana::GetSoggettoRequest {
            codice_fiscale: "RSSMRA85T10A562S".into(),
        });
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        Ok(r)
    };
    // Operators, who may read any record: every call admitted reaches anagrafica.
    let flooder = c.token(Profile::OperatoreDg, "DGXOPR80A01H501F", None)?;
    let anna = c.token(Profile::OperatoreDg, "DGXNNA75M70F205S", None)?;
    // The flood: served (NOT_FOUND: nobody registered) up to the burst, then refused.
    let mut client = AnagraficaServiceClient::new(channel.clone());
    let started = std::time::Instant::now();
    let mut served = 0;
    let refused = loop {
        match client.get_soggetto(with(&flooder)?).await {
            Err(s) if s.code() == tonic::Code::NotFound => served += 1,
            Err(s) if s.code() == tonic::Code::ResourceExhausted => break s,
            other => anyhow::bail!("unexpected {other:?}"),
        }
        anyhow::ensure!(served < 50, "never refused");
    };
    // The burst, plus what the rate refilled meanwhile (1/s).
    let refilled = started.elapsed().as_secs_f64().ceil() as usize;
    assert!(
        (3..=3 + refilled).contains(&served),
        "served {served} in {:?}",
        started.elapsed()
    );
    // What the flooder is told: the reason and when to come back.
    use tonic_types::StatusExt;
    assert_eq!(
        refused.get_details_error_info().map(|i| i.reason).as_deref(),
        Some("GW_RATE_LIMITED"),
        "{refused:?}"
    );
    let wait = refused
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap_or_default();
    assert!(
        wait > std::time::Duration::ZERO && wait <= std::time::Duration::from_secs(1),
        "{refused:?}"
    );
    // The same answer as a client tool shows it.
    let g = c.grpcurl();
    let body = json!({"codice_fiscale": "RSSMRA85T10A562S"});
    let shown = async {
        for _ in 0..20 {
            let o = g.call(Some(&flooder), GET, &body).await?;
            if o.code == 8 {
                return Ok::<_, anyhow::Error>(o);
            }
        }
        anyhow::bail!("grpcurl never saw the refusal")
    }
    .await?;
    assert_eq!(reason(&shown), "GW_RATE_LIMITED", "{shown:?}");
    assert!(retry_delay(&shown).is_some(), "{shown:?}");
    // Meanwhile another caller is served, and health and reflection answer.
    let o = g.call(Some(&anna), GET, &body).await?;
    assert_eq!(o.code, 5, "{o:?}");
    let h = g.call(None, "grpc.health.v1.Health/Check", &json!({})).await?;
    assert_eq!(h.json()?["status"], "SERVING");
    assert!(g.list().await?.contains(&"grpc.health.v1.Health".to_string()));
    // Waiting as told (at most a second at this rate), the flooder is served again.
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    assert_eq!(
        client.get_soggetto(with(&flooder)?).await.err().map(|s| s.code()),
        Some(tonic::Code::NotFound)
    );

    // Two feeds streaming (kept open) fill the two slots in flight.
    let mut feeds = Vec::new();
    for feed in ["AGENZIA-ENTRATE", "PAGOPA"] {
        let token = c.token(Profile::FlussoPagamenti, feed, None)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<por::ImportF24Request>(1);
        let mut r = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        let mut portafoglio = PortafoglioServiceClient::new(channel.clone());
        let call = tokio::spawn(async move { portafoglio.import_f24(r).await });
        feeds.push((tx, call));
    }
    // The third call is shed at once, whoever makes it (each a new caller here, within its
    // rate), with its reason and a retry delay.
    let shed = async {
        for i in 0..100 {
            let someone = c.token(Profile::OperatoreDg, &format!("DGXOPR80A01H{i:03}X"), None)?;
            let o = g.call(Some(&someone), GET, &body).await?;
            if o.code == 8 {
                return Ok::<_, anyhow::Error>(o);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        anyhow::bail!("never shed")
    }
    .await?;
    assert_eq!(reason(&shed), "GW_OVERLOADED", "{shed:?}");
    assert!(retry_delay(&shed).is_some(), "{shed:?}");
    let h = g.call(None, "grpc.health.v1.Health/Check", &json!({})).await?;
    assert_eq!(h.json()?["status"], "SERVING", "health is never shed");
    // The feeds end (an empty stream: nothing imported); their slots are free again.
    for (tx, call) in feeds {
        drop(tx);
        let answer = call.await?;
        assert!(answer.is_ok(), "{answer:?}");
    }
    let someone = c.token(Profile::OperatoreDg, "DGXOPR80A01H501X", None)?;
    let o = g.call(Some(&someone), GET, &body).await?;
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
        let header = c
            .identity_token(id, ctx)
            .map(|t| format!("{IDENTITY_HEADER}: {t}"));
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

/// Issue 14, point 2: on the running cluster each process signs with its own key, created under
/// `<data_dir>/secrets/internal/`. A token prestazioni signed for portafoglio passes there and is
/// refused when replayed to anagrafica (its audience is portafoglio); a key nobody provisioned
/// is refused; calls through the gateway still reach the contexts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_1_an_internal_token_is_good_for_its_destination_only() -> anyhow::Result<()> {
    use occasionali_proto::anagrafica as ana;
    use occasionali_proto::anagrafica::anagrafica_internal_service_client::AnagraficaInternalServiceClient;
    use occasionali_proto::anagrafica::anagrafica_service_client::AnagraficaServiceClient;
    use occasionali_proto::portafoglio as por;
    use occasionali_proto::portafoglio::portafoglio_internal_service_client::PortafoglioInternalServiceClient;
    use occasionali_runtime::firme::{Firmatario, Portachiavi};
    use tonic_types::StatusExt;

    let c = Cluster::start().await?;
    let reason = |s: &tonic::Status| s.get_details_error_info().map(|i| i.reason).unwrap_or_default();
    let with_identity = |token: &str| -> anyhow::Result<tonic::Request<_>> {
        let mut r = tonic::Request::new(ana::GetSoggettiRequest {
            codici_fiscali: vec!["RSSMRA85T10A562S".into()],
        });
        r.metadata_mut().insert(IDENTITY_HEADER, token.parse()?);
        Ok(r)
    };
    let url = |ctx: Context| format!("http://{}", c.backends[&ctx]);
    let mut anagrafica = AnagraficaInternalServiceClient::connect(url(Context::Anagrafica)).await?;
    let mut portafoglio = PortafoglioInternalServiceClient::connect(url(Context::Portafoglio)).await?;
    // Prestazioni's own key, as the cluster created it.
    let prestazioni = c.internal_tokens(Firmatario::Contesto(Context::Prestazioni))?;
    let per_portafoglio = prestazioni
        .system_call(Context::Portafoglio, None)?
        .to_str()?
        .to_string();
    let mut r = tonic::Request::new(por::ReleaseFundsRequest {
        prestazione_id: "pre_none".into(),
    });
    r.metadata_mut().insert(IDENTITY_HEADER, per_portafoglio.parse()?);
    let e = portafoglio.release_funds(r).await.err();
    assert_eq!(
        e.as_ref().map(|s| s.code()),
        Some(tonic::Code::NotFound),
        "accepted by portafoglio, no such reservation: {e:?}"
    );
    // The same token replayed to anagrafica.
    let e = anagrafica
        .get_soggetti(with_identity(&per_portafoglio)?)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("a token for portafoglio accepted by anagrafica"))?;
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    assert_eq!(reason(&e), "GW_1_TOKEN_AUDIENCE", "{e:?}");
    // Signed for anagrafica, it passes.
    let per_anagrafica = prestazioni
        .system_call(Context::Anagrafica, None)?
        .to_str()?
        .to_string();
    anagrafica.get_soggetti(with_identity(&per_anagrafica)?).await?;
    // A prestazioni key the cluster never trusted.
    let sistema = Identity::new(Principal {
        cf: "SISTEMA-PRESTAZIONI".into(),
        profile: Profile::Sistema,
        sede: None,
    });
    let forged = Portachiavi::generated().mint_for(&sistema, Context::Anagrafica)?;
    let e = anagrafica
        .get_soggetti(with_identity(&forged)?)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("an untrusted key accepted"))?;
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");
    assert_eq!(reason(&e), "GW_1_TOKEN_KEY_UNTRUSTED", "{e:?}");
    // Through the gateway: the client's identity, signed by the gateway for anagrafica.
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let mut gw = AnagraficaServiceClient::connect(format!("http://{}", c.gateway)).await?;
    let e = gw
        .get_soggetto(occasionali_e2e::with(
            &dg,
            ana::GetSoggettoRequest {
                codice_fiscale: "RSSMRA85T10A562S".into(),
            },
        )?)
        .await
        .err();
    assert_eq!(
        e.map(|s| s.code()),
        Some(tonic::Code::NotFound),
        "reached anagrafica"
    );
    c.stop().await
}

/// Issue 14: `occasionali serve` uses provisioned internal keys only. Without its key it does
/// not start (no key invented); with a key `occasionali keygen` made but whose public key is not
/// in the trust directory it does not start either (trust first, then sign).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gw_1_serve_refuses_to_start_without_its_internal_key_and_trust() -> anyhow::Result<()> {
    let bin = occasionali_e2e::occasionali_binary()?;
    let dir = std::env::temp_dir().join(format!("occasionali-serve-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let serve = |extra: &[(&str, std::path::PathBuf)]| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.arg("--data-dir").arg(&dir).args(["serve", "prestazioni"]);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OCCASIONALI_") {
                cmd.env_remove(k);
            }
        }
        // Nothing else of prestazioni may be reached before the keys are checked.
        cmd.env("OCCASIONALI_PRESTAZIONI_LISTEN", "127.0.0.1:9");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output()
    };
    let o = serve(&[])?;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "started without a key: {err}");
    assert!(err.contains("internal signing key of prestazioni"), "{err}");
    assert!(!dir.join("secrets").exists(), "no key invented");
    // A key made by keygen, its public key not (yet) trusted.
    let out = std::process::Command::new(&bin)
        .args(["keygen", "prestazioni", "--out"])
        .arg(dir.join("nuove"))
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("nuove"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    let key = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".key.pem"))
        .ok_or_else(|| anyhow::anyhow!("no private key written: {files:?}"))?;
    let trust = dir.join("fiducia");
    std::fs::create_dir_all(&trust)?;
    let altra = dir.join("altra");
    std::process::Command::new(&bin)
        .args(["keygen", "gateway", "--out"])
        .arg(&altra)
        .output()?;
    for f in std::fs::read_dir(&altra)? {
        let f = f?.path();
        if f.to_string_lossy().ends_with(".pub.pem") {
            std::fs::copy(&f, trust.join(f.file_name().unwrap_or_default()))?;
        }
    }
    let o = serve(&[
        ("OCCASIONALI_INTERNAL_KEY_FILE", key.clone()),
        ("OCCASIONALI_INTERNAL_TRUST_DIR", trust.clone()),
    ])?;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "started with an untrusted key: {err}");
    assert!(err.contains("is not in the trust set"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
