//! Issue 14, point 1: client identity from configured issuers' JWKS, through the real gateway.
//! A local identity provider serves its JWKS over HTTP on loopback and rotates its key while the
//! cluster runs; a machine-token issuer's JWKS is a file; a third issuer is unreachable.

use std::sync::{Arc, Mutex};

use occasionali_e2e::Cluster;
use occasionali_runtime::identity::Profile;
use occasionali_runtime::issuers::{DevIssuer, IssuerConfig};
use serde_json::{Value, json};

const GET: &str = "occasionali.anagrafica.v1.AnagraficaService/GetSoggetto";
const IDP: &str = "https://idp.inps.test/realms/occasionali";
const PDND: &str = "https://auth.pdnd.test";
const OFFLINE: &str = "https://offline.test";

/// An identity provider's JWKS endpoint on loopback, its keys swapped by the test.
async fn jwks_server(keys: Arc<Mutex<String>>) -> anyhow::Result<std::net::SocketAddr> {
    let app = axum::Router::new().route(
        "/certs",
        axum::routing::get(move || {
            let keys = keys.clone();
            async move { keys.lock().map(|k| k.clone()).unwrap_or_default() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

fn jwks(key: &DevIssuer) -> String {
    serde_json::to_string(&key.jwks()).unwrap_or_default()
}

fn issuer(name: &str, iss: &str) -> IssuerConfig {
    let mut c = DevIssuer::issuer_config(String::new());
    c.name = name.into();
    c.issuer = iss.into();
    c
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// SPID/CIE-like claims of the IdP for `cf`, with `extra` merged in.
fn spid(cf: &str, extra: Value) -> Value {
    let mut c = json!({
        "iss": IDP, "aud": "occasionali-api", "sub": "pairwise-7f3a",
        "fiscal_number": format!("TINIT-{cf}"), "roles": ["occasionali.operatore_dg"],
        "iat": now(), "exp": now() + 600,
    });
    if let (Some(m), Value::Object(e)) = (c.as_object_mut(), extra) {
        m.extend(e);
    }
    c
}

fn reason(o: &occasionali_e2e::Outcome) -> String {
    o.reason()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gw_1_tokens_of_configured_issuers_with_a_key_rotated_while_running() -> anyhow::Result<()> {
    let old = DevIssuer::generate()?;
    let new = DevIssuer::generate()?;
    let published = Arc::new(Mutex::new(jwks(&old)));
    let idp = jwks_server(published.clone()).await?;
    // A machine-token authority whose key set is a file.
    let pdnd_key = DevIssuer::generate()?;
    let dir = std::env::temp_dir().join(format!("occasionali-e2e-pdnd-{}-{}", std::process::id(), now()));
    std::fs::create_dir_all(&dir)?;
    let pdnd_jwks = dir.join("pdnd.json");
    std::fs::write(&pdnd_jwks, jwks(&pdnd_key))?;
    // An issuer whose JWKS nobody serves: the gateway starts all the same.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let c = Cluster::start_with(None, |config| {
        let mut inps = issuer("inps-idp", IDP);
        inps.jwks_url = Some(format!("http://{idp}/certs"));
        inps.algorithms = vec!["RS256".into(), "ES256".into()];
        inps.subject_claim = "fiscal_number".into();
        inps.subject_prefix = Some("TINIT-".into());
        inps.profile_claim = Some("roles".into());
        inps.profiles = [
            ("occasionali.operatore_dg".to_string(), Profile::OperatoreDg),
            ("occasionali.prestatore".to_string(), Profile::Prestatore),
        ]
        .into_iter()
        .collect();
        inps.sede_claim = None;
        let mut pdnd = issuer("pdnd", PDND);
        pdnd.jwks_url = None;
        pdnd.jwks_file = Some(pdnd_jwks.clone());
        pdnd.profile_claim = None;
        pdnd.profile = Some(Profile::FlussoPagamenti);
        pdnd.subject_claim = "client_id".into();
        pdnd.audiences = vec!["occasionali-pagamenti".into()];
        let mut offline = issuer("offline", OFFLINE);
        offline.jwks_url = Some(format!("http://{closed}/certs"));
        config.auth.issuers.extend([inps, pdnd, offline]);
        // On-demand fetches are rate limited: a long interval shows the rotation is picked up
        // by the first token naming the new kid, and no more.
        config.auth.jwks_min_refresh_seconds = 3600;
    })
    .await?;
    let body = json!({"codice_fiscale": "RSSMRA85T10A562S"});
    let call = |token: String| {
        let g = c.grpcurl();
        let body = body.clone();
        async move { g.call(Some(&token), GET, &body).await }
    };
    let old_token = old.sign(&spid("DGXOPR80A01H501X", json!({})))?;
    // Accepted: an operatore_dg asking for nobody registered is NOT_FOUND.
    let o = call(old_token.clone()).await?;
    assert_eq!(o.code, 5, "{o:?}");
    // `occasionali token` keeps working: the cluster's dev issuer is trusted too.
    let dev = c.token(Profile::OperatoreDg, "DGXOPR80A01H501X", None)?;
    assert_eq!(call(dev).await?.code, 5);

    // The IdP rotates its key: the new one in, the old one removed. No restart.
    if let Ok(mut p) = published.lock() {
        *p = jwks(&new);
    }
    let new_token = new.sign(&spid("DGXOPR80A01H501X", json!({})))?;
    let o = call(new_token).await?;
    assert_eq!(o.code, 5, "the rotated key is accepted: {o:?}");
    let o = call(old_token).await?;
    assert_eq!(
        (o.code, reason(&o).as_str()),
        (16, "GW_1_TOKEN_KEY_UNKNOWN"),
        "{o:?}"
    );

    // SPID's fiscal_number is the caller's codice fiscale: a prestatore may learn that their own
    // CF is not registered (NOT_FOUND), not whether another one is (PERMISSION_DENIED).
    let prestatore = new.sign(&spid(
        "RSSMRA85T10A562S",
        json!({"roles": ["offline_access", "occasionali.prestatore"]}),
    ))?;
    let o = call(prestatore.clone()).await?;
    assert_eq!(o.code, 5, "their own CF: {o:?}");
    let other = c
        .grpcurl()
        .call(
            Some(&prestatore),
            GET,
            &json!({"codice_fiscale": "BNCNNA75M70F205S"}),
        )
        .await?;
    assert_eq!(other.code, 7, "someone else's: {other:?}");

    let refusals: Vec<(&str, String, i32, &str)> = vec![
        (
            "signed by a key the IdP never published",
            DevIssuer::generate()?.sign(&spid("DGXOPR80A01H501X", json!({})))?,
            16,
            "GW_1_TOKEN_KEY_UNKNOWN",
        ),
        (
            "the IdP's claims under the machine authority's key",
            pdnd_key.sign(&spid("DGXOPR80A01H501X", json!({})))?,
            16,
            "GW_1_TOKEN_KEY_UNKNOWN",
        ),
        (
            "an issuer not configured",
            new.sign(&spid("DGXOPR80A01H501X", json!({"iss": "https://altro.test"})))?,
            16,
            "GW_1_TOKEN_ISSUER",
        ),
        (
            "a fiscal_number without TINIT-",
            new.sign(&spid(
                "DGXOPR80A01H501X",
                json!({"fiscal_number": "DGXOPR80A01H501X"}),
            ))?,
            16,
            "GW_1_TOKEN_CLAIM_MALFORMED",
        ),
        (
            "a role the mapping does not know",
            new.sign(&spid("DGXOPR80A01H501X", json!({"roles": ["admin"]})))?,
            16,
            "GW_1_TOKEN_PROFILE_UNMAPPED",
        ),
        (
            "the issuer's keys never arrived",
            new.sign(&spid(
                "DGXOPR80A01H501X",
                json!({"iss": OFFLINE, "sub": "X", "profile": "prestatore"}),
            ))?,
            14,
            "GW_1_ISSUER_KEYS_UNAVAILABLE",
        ),
    ];
    for (what, token, code, expected) in refusals {
        let o = call(token).await?;
        assert_eq!((o.code, reason(&o).as_str()), (code, expected), "{what}: {o:?}");
        assert!(o.rules().contains("GW-1"), "{what}: {o:?}");
    }

    // A machine client (client credentials, a PDND-like voucher): its configured profile. A
    // payments feed may not read the registry: past authentication, refused for what it is.
    let voucher = pdnd_key.sign(&json!({
        "iss": PDND, "aud": "occasionali-pagamenti", "sub": "b1c2d3", "client_id": "pagopa-nodo",
        "iat": now(), "exp": now() + 60,
    }))?;
    let o = call(voucher).await?;
    assert_eq!(o.code, 7, "authenticated as a feed, denied the registry: {o:?}");
    let _ = std::fs::remove_dir_all(&dir);
    c.stop().await
}
