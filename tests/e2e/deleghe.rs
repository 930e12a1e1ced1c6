//! SPEC §5 through the gateway: an intermediary reaching every context under a delega (DEL-2),
//! the audit of every use (DEL-4) and the composite position with a context down (DEL-3).

use occasionali_e2e::Cluster;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::Profile;
use serde_json::{Value, json};

use crate::persona;

const ANA: &str = "occasionali.anagrafica.v1.AnagraficaService";
const DEL: &str = "occasionali.deleghe.v1.DelegheService";
const POS: &str = "occasionali.gateway.v1.PosizioneService/GetPosizione";

fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-06-15T10:00:00+02:00")
        .map(|t| t.to_utc())
        .unwrap_or_default()
}

/// grpcurl call acting on behalf of `delegante` in `ruolo`.
async fn on_behalf(
    c: &Cluster,
    token: &str,
    delegante: &str,
    ruolo: &str,
    method: &str,
    body: &Value,
) -> anyhow::Result<occasionali_e2e::Outcome> {
    let data = body.to_string();
    let auth = format!("authorization: Bearer {token}");
    let obo = format!("x-occasionali-on-behalf-of: {delegante}");
    let ruolo = format!("x-occasionali-ruolo: {ruolo}");
    let gw = c.gateway.to_string();
    c.grpcurl()
        .run(&[
            "-format-error",
            "-H",
            &auth,
            "-H",
            &obo,
            "-H",
            &ruolo,
            "-d",
            &data,
            &gw,
            method,
        ])
        .await
}

fn reason(o: &occasionali_e2e::Outcome) -> String {
    o.reason()
}

async fn register_prestatore(c: &Cluster, p: &crate::Persona) -> anyhow::Result<()> {
    let t = c.token(Profile::Prestatore, &p.cf, None)?;
    let o = c
        .grpcurl()
        .call(
            Some(&t),
            &format!("{ANA}/RegisterPrestatore"),
            &json!({
                "persona": p.json(),
                "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
                "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_BONIFICO_DOMICILIATO"}
            }),
        )
        .await?;
    anyhow::ensure!(o.code == 0, "register: {o:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn del_2_intermediary_reaches_every_context_only_with_a_valid_delega() -> anyhow::Result<()> {
    let c = Cluster::start_at(Some(start())).await?;
    let g = c.grpcurl();
    let p = persona("Russo", "Giulia", "1992-03-08", true, "H501");
    register_prestatore(&c, &p).await?;
    let consulente = persona("Esposito", "Marco", "1970-11-20", false, "F839");
    let t_int = c.token(Profile::Intermediario, &consulente.cf, None)?;
    let t_p = c.token(Profile::Prestatore, &p.cf, None)?;
    let get = json!({"codice_fiscale": p.cf});
    let get_m = format!("{ANA}/GetSoggetto");

    // Without a delega: refused at the gateway, saying it is missing.
    let o = on_behalf(&c, &t_int, &p.cf, "intermediario_prestatore", &get_m, &get).await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(reason(&o), "DEL_2_DELEGA_MISSING");
    // Without acting on behalf, the intermediary is just another person (ANA-8).
    let o = g.call(Some(&t_int), &get_m, &get).await?;
    assert_eq!(o.code, 7, "{o:?}");

    // The prestatore delegates the consultant.
    let o = g
        .call(
            Some(&t_p),
            &format!("{DEL}/CreateDelega"),
            &json!({"delegante_cf": p.cf, "delegato_cf": consulente.cf, "ruolo": "RUOLO_INTERMEDIARIO_PRESTATORE",
                    "validita": {"dal": "2026-06-15", "al": "2026-06-30"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let delega_id = o.json()?["delega"]["id"].as_str().unwrap_or_default().to_string();

    // Now the consultant reads the client's record ...
    let o = on_behalf(&c, &t_int, &p.cf, "intermediario_prestatore", &get_m, &get).await?;
    assert_eq!(o.code, 0, "{o:?}");
    // ... but not under another ruolo.
    let o = on_behalf(&c, &t_int, &p.cf, "consulente_lavoro", &get_m, &get).await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(reason(&o), "DEL_2_DELEGA_WRONG_RUOLO");

    // Every context honours DEL-2 at the gateway: with the delega the call reaches the context
    // (which may not implement it yet: UNIMPLEMENTED), without it the gateway refuses.
    let stranger = persona("Gallo", "Paolo", "1980-05-05", false, "H501");
    let t_stranger = c.token(Profile::Intermediario, &stranger.cf, None)?;
    for ctx in Context::ALL {
        let method = match ctx {
            Context::Anagrafica => get_m.clone(),
            Context::Portafoglio => "occasionali.portafoglio.v1.PortafoglioService/GetRiepilogo".into(),
            Context::Prestazioni => "occasionali.prestazioni.v1.PrestazioniService/ListPrestazioni".into(),
            Context::Comunicazioni => {
                "occasionali.comunicazioni.v1.ComunicazioniService/SearchComunicazioni".into()
            }
            Context::Deleghe => format!("{DEL}/ListDeleghe"),
            Context::Notifiche => "occasionali.notifiche.v1.NotificheService/ListInbox".into(),
        };
        let body = if ctx == Context::Anagrafica {
            get.clone()
        } else {
            json!({})
        };
        let with = on_behalf(&c, &t_int, &p.cf, "intermediario_prestatore", &method, &body).await?;
        assert_ne!(with.code, 7, "{ctx} with delega: {with:?}");
        assert_ne!(with.code, 16, "{ctx} with delega: {with:?}");
        let without = on_behalf(&c, &t_stranger, &p.cf, "intermediario_prestatore", &method, &body).await?;
        assert_eq!(without.code, 7, "{ctx} without delega: {without:?}");
        assert_eq!(reason(&without), "DEL_2_DELEGA_MISSING", "{ctx}");
    }

    // Revocation takes effect for the very next call.
    let o = g
        .call(
            Some(&t_p),
            &format!("{DEL}/RevokeDelega"),
            &json!({"delega_id": delega_id, "motivo": "cambio consulente"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = on_behalf(&c, &t_int, &p.cf, "intermediario_prestatore", &get_m, &get).await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(reason(&o), "DEL_2_DELEGA_REVOKED");

    // A delega to another consultant ending today expires when the clock passes its end.
    let patronato = persona("Ferrari", "Elena", "1968-02-14", true, "L219");
    let t_pat = c.token(Profile::Intermediario, &patronato.cf, None)?;
    let o = g
        .call(
            Some(&t_p),
            &format!("{DEL}/CreateDelega"),
            &json!({"delegante_cf": p.cf, "delegato_cf": patronato.cf, "ruolo": "RUOLO_PATRONATO",
                    "validita": {"dal": "2026-06-15", "al": "2026-06-15"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let o = g
        .call(
            Some(&dg),
            "occasionali.gateway.v1.DevClockService/AdvanceClock",
            &json!({"seconds": 2 * 86400}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = on_behalf(&c, &t_pat, &p.cf, "patronato", &get_m, &get).await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(reason(&o), "DEL_2_DELEGA_EXPIRED");
    // The revoked one stays revoked whatever the date.
    let o = on_behalf(&c, &t_int, &p.cf, "intermediario_prestatore", &get_m, &get).await?;
    assert_eq!(reason(&o), "DEL_2_DELEGA_REVOKED");

    // DEL-4: creation, revocation, uses and denials are in the audit, for operators.
    let o = g
        .call(
            Some(&dg),
            &format!("{DEL}/ListAuditDelega"),
            &json!({"delegante_cf": p.cf, "page_size": 500}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let voci = o.json()?["voci"].as_array().cloned().unwrap_or_default();
    let actions: Vec<&str> = voci.iter().filter_map(|v| v["action"].as_str()).collect();
    for a in [
        "AUDIT_ACTION_CREATED",
        "AUDIT_ACTION_REVOKED",
        "AUDIT_ACTION_USED",
        "AUDIT_ACTION_DENIED",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(
        voci.iter()
            .any(|v| v["action"] == "AUDIT_ACTION_USED" && v["rpcPath"] == format!("/{get_m}")),
        "{voci:?}"
    );
    let o = g
        .call(
            Some(&t_p),
            &format!("{DEL}/ListAuditDelega"),
            &json!({"delegante_cf": p.cf}),
        )
        .await?;
    assert_eq!(o.code, 7, "audit is for operators: {o:?}");
    c.stop().await
}

/// The audit entries of uses and denials (not creations or revocations) for `delegante`, oldest
/// first, as (action, outcome).
async fn uses(c: &Cluster, delegante: &str) -> anyhow::Result<Vec<(String, String)>> {
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let o = c
        .grpcurl()
        .call(
            Some(&dg),
            &format!("{DEL}/ListAuditDelega"),
            &json!({"delegante_cf": delegante, "page_size": 500}),
        )
        .await?;
    anyhow::ensure!(o.code == 0, "audit: {o:?}");
    let mut voci = o.json()?["voci"].as_array().cloned().unwrap_or_default();
    voci.retain(|v| v["action"] == "AUDIT_ACTION_USED" || v["action"] == "AUDIT_ACTION_DENIED");
    // Listed newest first.
    voci.reverse();
    Ok(voci
        .iter()
        .map(|v| {
            (
                v["action"].as_str().unwrap_or_default().to_string(),
                v["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// DEL-2/DEL-4 with the gateway's default configuration: a delega just created lets the very next
/// call through and one just revoked refuses it, and the audit records for every call what that
/// caller got (no decision reused from an earlier call, no use recorded from another decision).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn del_2_del_4_creation_and_revocation_hold_for_the_next_call_and_the_audit_says_what_the_caller_got()
-> anyhow::Result<()> {
    let c = Cluster::start_at(Some(start())).await?;
    let g = c.grpcurl();
    let p = persona("Conti", "Sara", "1994-07-21", true, "H501");
    register_prestatore(&c, &p).await?;
    let consulente = persona("Marino", "Luca", "1975-01-30", false, "F205");
    let t_int = c.token(Profile::Intermediario, &consulente.cf, None)?;
    let t_p = c.token(Profile::Prestatore, &p.cf, None)?;
    let get = json!({"codice_fiscale": p.cf});
    let get_m = format!("{ANA}/GetSoggetto");
    let call = || on_behalf(&c, &t_int, &p.cf, "intermediario_prestatore", &get_m, &get);
    let denied_missing = (
        "AUDIT_ACTION_DENIED".to_string(),
        "CHECK_DELEGA_OUTCOME_MISSING".to_string(),
    );
    let used = (
        "AUDIT_ACTION_USED".to_string(),
        "CHECK_DELEGA_OUTCOME_VALID".to_string(),
    );
    let denied_revoked = (
        "AUDIT_ACTION_DENIED".to_string(),
        "CHECK_DELEGA_OUTCOME_REVOKED".to_string(),
    );

    // Refused without a delega (a refusal a cache would keep serving).
    let o = call().await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(reason(&o), "DEL_2_DELEGA_MISSING");
    assert_eq!(uses(&c, &p.cf).await?, vec![denied_missing.clone()]);

    // Created: the very next call goes through, and the audit says USED.
    let o = g
        .call(
            Some(&t_p),
            &format!("{DEL}/CreateDelega"),
            &json!({"delegante_cf": p.cf, "delegato_cf": consulente.cf, "ruolo": "RUOLO_INTERMEDIARIO_PRESTATORE",
                    "validita": {"dal": "2026-06-15", "al": "2026-12-31"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let delega_id = o.json()?["delega"]["id"].as_str().unwrap_or_default().to_string();
    let o = call().await?;
    assert_eq!(o.code, 0, "just after creation: {o:?}");
    let o = call().await?;
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(
        uses(&c, &p.cf).await?,
        vec![denied_missing.clone(), used.clone(), used.clone()]
    );

    // Revoked: the very next call is refused as revoked, and the audit says DENIED/REVOKED.
    let o = g
        .call(
            Some(&t_p),
            &format!("{DEL}/RevokeDelega"),
            &json!({"delega_id": delega_id, "motivo": "cambio consulente"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = call().await?;
    assert_eq!(o.code, 7, "just after revocation: {o:?}");
    assert_eq!(reason(&o), "DEL_2_DELEGA_REVOKED");
    // Nothing more is recorded later (no background record of another decision).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        uses(&c, &p.cf).await?,
        vec![denied_missing, used.clone(), used, denied_revoked]
    );
    c.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn del_3_position_is_partial_and_says_what_is_missing_when_a_context_is_down() -> anyhow::Result<()> {
    // comunicazioni is unreachable: its endpoint points at a closed port.
    let c = Cluster::start_with(Some(start()), |config| {
        config
            .services
            .entry(Context::Comunicazioni)
            .or_default()
            .endpoint = Some("http://127.0.0.1:9".into());
    })
    .await?;
    let p = persona("Romano", "Luca", "1985-07-21", false, "H501");
    register_prestatore(&c, &p).await?;
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let started = std::time::Instant::now();
    let o = c
        .grpcurl()
        .call(Some(&dg), POS, &json!({"codice_fiscale": p.cf}))
        .await?;
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "no hang");
    assert_eq!(o.code, 0, "{o:?}");
    let v = o.json()?;
    assert_eq!(v["anagrafica"]["codiceFiscale"], p.cf.as_str());
    assert!(v["deleghe"].is_object(), "{v}");
    let mancanti = v["mancanti"].as_array().cloned().unwrap_or_default();
    let parti: Vec<&str> = mancanti.iter().filter_map(|m| m["parte"].as_str()).collect();
    assert!(
        parti.contains(&"comunicazioni_committente") && parti.contains(&"comunicazioni_lavoratore"),
        "{parti:?}"
    );
    assert!(
        mancanti
            .iter()
            .any(|m| m["context"] == "comunicazioni" && m["code"] == "Unavailable"),
        "{mancanti:?}"
    );
    // A prestatore is not an utilizzatore: no wallet parts asked, none missing.
    assert!(!parti.contains(&"portafoglio_lf"), "{parti:?}");

    // From a delega to its delegante's whole position, in one call.
    let consulente = persona("Marino", "Ugo", "1966-06-06", false, "H501");
    let t_p = c.token(Profile::Prestatore, &p.cf, None)?;
    let o = c
        .grpcurl()
        .call(
            Some(&t_p),
            &format!("{DEL}/CreateDelega"),
            &json!({"delegante_cf": p.cf, "delegato_cf": consulente.cf, "ruolo": "RUOLO_INTERMEDIARIO_PRESTATORE",
                    "validita": {"dal": "2026-06-15"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let delega_id = o.json()?["delega"]["id"].as_str().unwrap_or_default().to_string();
    let o = c
        .grpcurl()
        .call(Some(&dg), POS, &json!({"delega_id": delega_id}))
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let v = o.json()?;
    assert_eq!(v["codiceFiscale"], p.cf.as_str(), "{v}");
    assert_eq!(v["deleghe"]["deleghe"][0]["id"], delega_id.as_str(), "{v}");

    // Another person may not see this position (ANA-8 decides, through the registry).
    let other = persona("Greco", "Sara", "1990-09-09", true, "H501");
    let t = c.token(Profile::Prestatore, &other.cf, None)?;
    let o = c
        .grpcurl()
        .call(Some(&t), POS, &json!({"codice_fiscale": p.cf}))
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    c.stop().await
}
