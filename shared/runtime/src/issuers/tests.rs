//! The verifier against real key sets: files on disk and a JWKS served over HTTP on loopback,
//! rotated while the verifier runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::*;
use crate::identity::Profile;

const NOW: u64 = 1_800_000_000;
const LEEWAY: u64 = 30;

fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "occasionali-issuers-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn ec_key() -> DevIssuer {
    DevIssuer::random_pem()
        .and_then(|p| DevIssuer::from_pem(&p))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The RSA test key (2048 bits, PKCS#1 DER): generating one in a debug test takes too long.
struct Rsa {
    key: EncodingKey,
    jwk: Jwk,
    kid: String,
}

fn rsa_key() -> Rsa {
    let key = EncodingKey::from_rsa_der(include_bytes!("testdata/rsa-2048.der"));
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap_or_else(|e| panic!("{e}"));
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).unwrap_or_default();
    jwk.common.key_id = Some(kid.clone());
    Rsa { key, jwk, kid }
}

impl Rsa {
    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(self.kid.clone());
        encode(&h, claims, &self.key).unwrap_or_default()
    }
}

fn write_jwks(path: &std::path::Path, keys: Vec<Jwk>) {
    let body = serde_json::to_string(&JwkSet { keys }).unwrap_or_default();
    std::fs::write(path, body).unwrap_or_else(|e| panic!("{e}"));
}

fn issuer(name: &str, iss: &str, jwks: Source) -> IssuerConfig {
    let mut c = DevIssuer::issuer_config(String::new());
    c.name = name.into();
    c.issuer = iss.into();
    c.algorithms = vec!["RS256".into(), "ES256".into()];
    match jwks {
        Source::Url(u) => c.jwks_url = Some(u),
        Source::File(f) => {
            c.jwks_url = None;
            c.jwks_file = Some(f);
        }
        Source::Static(_) => unreachable!("tests configure URLs and files"),
    }
    c
}

fn options(issuers: Vec<IssuerConfig>) -> VerifierOptions {
    VerifierOptions {
        leeway_seconds: LEEWAY,
        ..VerifierOptions::new(issuers)
    }
}

/// A verifier trusting `key` (and the RSA test key) as issuer `idp`, from a JWKS file.
async fn file_verifier(key: &DevIssuer) -> ClientVerifier {
    let dir = scratch("file");
    let path = dir.join("jwks.json");
    let mut keys = key.jwks().keys;
    keys.push(rsa_key().jwk);
    write_jwks(&path, keys);
    let v = ClientVerifier::new(&options(vec![issuer(
        "idp",
        "https://idp.test",
        Source::File(path),
    )]))
    .unwrap_or_else(|e| panic!("{e}"));
    v.refresh_all().await;
    v
}

fn claims() -> Value {
    json!({
        "sub": "RSSMRA85T10A562S", "profile": "prestatore",
        "iss": "https://idp.test", "aud": "occasionali-api",
        "iat": NOW - 10, "exp": NOW + 600,
    })
}

fn edited(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = claims();
    if let Some(m) = c.as_object_mut() {
        edit(m);
    }
    c
}

fn set(name: &'static str, v: Value) -> impl FnOnce(&mut serde_json::Map<String, Value>) {
    move |m| {
        m.insert(name.into(), v);
    }
}

fn unset(name: &'static str) -> impl FnOnce(&mut serde_json::Map<String, Value>) {
    move |m| {
        m.remove(name);
    }
}

/// Verifies `claims()` changed by `edit`, signed by `key`, at [`NOW`].
async fn verdict(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Result<Principal, TokenError> {
    let key = ec_key();
    let v = file_verifier(&key).await;
    v.verify_at(&key.sign(&edited(edit)).unwrap_or_default(), NOW)
}

#[tokio::test]
async fn gw_1_a_token_of_a_configured_issuer_is_accepted_with_either_algorithm() {
    let key = ec_key();
    let v = file_verifier(&key).await;
    let p = v.verify_at(&key.sign(&claims()).unwrap_or_default(), NOW);
    assert_eq!(p.as_ref().map(|p| p.cf.as_str()), Ok("RSSMRA85T10A562S"));
    assert_eq!(p.map(|p| p.profile), Ok(Profile::Prestatore));
    assert!(v.verify_at(&rsa_key().sign(&claims()), NOW).is_ok(), "RS256");
    // Minted tokens carry the dev issuer's claims.
    let dev = ClientVerifier::new(&options(vec![{
        let dir = scratch("dev");
        write_jwks(&dir.join("jwks.json"), key.jwks().keys);
        issuer(DEV_ISSUER_NAME, DEV_ISSUER, Source::File(dir.join("jwks.json")))
    }]))
    .unwrap_or_else(|e| panic!("{e}"));
    dev.refresh_all().await;
    let op = Principal {
        cf: "OPRSDE80A01H501U".into(),
        profile: Profile::OperatoreSede,
        sede: Some("rm".into()),
    };
    let got = dev.verify(&key.mint(&op, 60).unwrap_or_default()).await;
    assert_eq!(got.map(|p| p.sede), Ok(Some("RM".to_string())));
}

#[tokio::test]
async fn gw_1_nbf_in_the_future_is_refused_beyond_the_leeway() {
    assert!(verdict(set("nbf", (NOW - 100).into())).await.is_ok());
    assert!(
        verdict(set("nbf", (NOW + LEEWAY).into())).await.is_ok(),
        "at the leeway's edge"
    );
    assert_eq!(
        verdict(set("nbf", (NOW + LEEWAY + 1).into())).await,
        Err(TokenError::NotYetValid)
    );
    assert_eq!(
        verdict(set("nbf", json!("tomorrow")))
            .await
            .map_err(|e| e.reason()),
        Err("GW_1_TOKEN_CLAIM_MALFORMED")
    );
}

#[tokio::test]
async fn gw_1_iat_in_the_future_is_refused_beyond_the_leeway() {
    assert!(verdict(set("iat", NOW.into())).await.is_ok());
    assert!(verdict(set("iat", (NOW + LEEWAY).into())).await.is_ok());
    assert_eq!(
        verdict(set("iat", (NOW + LEEWAY + 1).into())).await,
        Err(TokenError::IssuedInFuture)
    );
    assert_eq!(verdict(unset("iat")).await, Err(TokenError::MissingClaim("iat")));
}

#[tokio::test]
async fn gw_1_exp_allows_the_same_leeway_and_no_more() {
    assert!(verdict(set("exp", NOW.into())).await.is_ok(), "within the leeway");
    assert!(verdict(set("exp", (NOW - LEEWAY + 1).into())).await.is_ok());
    assert_eq!(
        verdict(set("exp", (NOW - LEEWAY).into())).await,
        Err(TokenError::Expired)
    );
    assert_eq!(
        verdict(unset("exp")).await.map_err(|e| e.reason()),
        Err("GW_1_TOKEN_CLAIM_MISSING")
    );
    assert!(verdict(set("exp", json!(NOW as f64 + 0.5))).await.is_ok());
    assert!(matches!(
        verdict(set("exp", json!("1800000600"))).await,
        Err(TokenError::BadClaim("exp", _))
    ));
}

#[tokio::test]
async fn gw_1_aud_is_a_string_or_an_array_naming_us() {
    assert!(
        verdict(set("aud", json!(["portale", "occasionali-api"])))
            .await
            .is_ok()
    );
    assert_eq!(
        verdict(set("aud", json!(["portale"]))).await,
        Err(TokenError::Audience)
    );
    assert_eq!(verdict(set("aud", json!([]))).await, Err(TokenError::Audience));
    assert_eq!(
        verdict(set("aud", "occasionali-internal".into())).await,
        Err(TokenError::Audience)
    );
    assert!(matches!(
        verdict(set("aud", json!(["occasionali-api", 7]))).await,
        Err(TokenError::BadClaim("aud", _))
    ));
    assert_eq!(verdict(unset("aud")).await, Err(TokenError::MissingClaim("aud")));
}

#[tokio::test]
async fn gw_1_missing_or_garbled_claims_are_refused_precisely() {
    assert_eq!(verdict(unset("iss")).await, Err(TokenError::MissingClaim("iss")));
    assert!(matches!(
        verdict(set("iss", 1.into())).await,
        Err(TokenError::BadClaim("iss", _))
    ));
    assert_eq!(
        verdict(unset("sub")).await,
        Err(TokenError::MissingMappedClaim("sub".into()))
    );
    assert!(matches!(
        verdict(set("sub", 5.into())).await,
        Err(TokenError::BadMappedClaim(c, _)) if c == "sub"
    ));
    assert_eq!(
        verdict(unset("profile")).await.map_err(|e| e.reason()),
        Err("GW_1_TOKEN_CLAIM_MISSING")
    );
    match verdict(set("profile", "x".repeat(10_000).into())).await {
        Err(e @ TokenError::ProfileUnmapped(_)) => {
            assert!(e.to_string().len() < 400, "the message is bounded: {e}");
            assert_eq!(e.reason(), "GW_1_TOKEN_PROFILE_UNMAPPED");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        verdict(set("profile", "sistema".into()))
            .await
            .map_err(|e| e.reason()),
        Err("GW_1_TOKEN_PRINCIPAL_INVALID")
    );
    assert_eq!(
        verdict(set("profile", "operatore_sede".into()))
            .await
            .map_err(|e| e.reason()),
        Err("GW_1_TOKEN_PRINCIPAL_INVALID"),
        "an operatore_sede token names its sede"
    );
    let key = ec_key();
    let v = file_verifier(&key).await;
    for garbage in ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJFUzI1NiJ9.e30"] {
        assert_eq!(
            v.verify_at(garbage, NOW).map_err(|e| e.reason()),
            Err("GW_1_TOKEN_MALFORMED"),
            "{garbage:?}"
        );
    }
    // Claims that are not an object.
    assert!(matches!(
        v.verify_at(&key.sign(&json!([1, 2])).unwrap_or_default(), NOW),
        Err(TokenError::Malformed(_))
    ));
}

#[tokio::test]
async fn por_2_a_machine_client_is_mapped_to_its_configured_profile() {
    // A PDND-like voucher: client credentials, the client's id as subject, no profile claim.
    let key = ec_key();
    let dir = scratch("pdnd");
    write_jwks(&dir.join("jwks.json"), key.jwks().keys);
    let mut pdnd = issuer("pdnd", "https://pdnd.test", Source::File(dir.join("jwks.json")));
    pdnd.profile_claim = None;
    pdnd.profile = Some(Profile::FlussoPagamenti);
    pdnd.subject_claim = "client_id".into();
    pdnd.sede_claim = None;
    pdnd.audiences = vec!["occasionali-pagamenti".into()];
    let v = ClientVerifier::new(&options(vec![pdnd])).unwrap_or_else(|e| panic!("{e}"));
    v.refresh_all().await;
    let voucher = |client_id: &str, extra: Value| {
        let mut c = json!({"iss": "https://pdnd.test", "aud": "occasionali-pagamenti",
            "sub": "f0e1d2c3", "client_id": client_id, "iat": NOW, "exp": NOW + 60,
            "profile": "operatore_dg"});
        if let (Some(m), Value::Object(e)) = (c.as_object_mut(), extra) {
            m.extend(e);
        }
        key.sign(&c).unwrap_or_default()
    };
    let p = v.verify_at(&voucher("pagopa-nodo", json!({})), NOW);
    assert_eq!(
        p.map(|p| (p.cf, p.profile)),
        Ok(("PAGOPA-NODO".to_string(), Profile::FlussoPagamenti)),
        "the issuer's profile, whatever a profile claim says"
    );
    // Still the feed rules: an id, not a sentence.
    assert_eq!(
        v.verify_at(&voucher("agenzia entrate", json!({})), NOW)
            .map_err(|e| e.reason()),
        Err("GW_1_TOKEN_PRINCIPAL_INVALID")
    );
    assert_eq!(
        v.verify_at(&voucher("x", json!({"aud": "occasionali-api"})), NOW),
        Err(TokenError::Audience)
    );
}

#[tokio::test]
async fn spid_fiscal_number_is_mapped_to_the_codice_fiscale() {
    let key = ec_key();
    let dir = scratch("spid");
    write_jwks(&dir.join("jwks.json"), key.jwks().keys);
    let mut spid = issuer(
        "inps",
        "https://idp.inps.test",
        Source::File(dir.join("jwks.json")),
    );
    spid.subject_claim = "fiscal_number".into();
    spid.subject_prefix = Some("TINIT-".into());
    spid.profile_claim = Some("roles".into());
    spid.profiles = [
        ("occasionali.prestatore", Profile::Prestatore),
        ("occasionali.utilizzatore", Profile::Utilizzatore),
        ("inps.operatore", Profile::OperatoreSede),
    ]
    .into_iter()
    .map(|(k, p)| (k.to_string(), p))
    .collect();
    spid.sede_claim = Some("inps_sede".into());
    let v = ClientVerifier::new(&options(vec![spid])).unwrap_or_else(|e| panic!("{e}"));
    v.refresh_all().await;
    let token = |extra: Value| {
        let mut c = json!({"iss": "https://idp.inps.test", "aud": "occasionali-api",
            "sub": "a8f3-pairwise-id", "fiscal_number": "TINIT-RSSMRA85T10A562S",
            "roles": ["offline_access", "occasionali.prestatore"], "iat": NOW, "exp": NOW + 60});
        if let (Some(m), Value::Object(e)) = (c.as_object_mut(), extra) {
            m.extend(e);
        }
        key.sign(&c).unwrap_or_default()
    };
    let p = v.verify_at(&token(json!({})), NOW);
    assert_eq!(
        p.map(|p| (p.cf, p.profile)),
        Ok(("RSSMRA85T10A562S".to_string(), Profile::Prestatore))
    );
    assert!(matches!(
        v.verify_at(&token(json!({"fiscal_number": "RSSMRA85T10A562S"})), NOW),
        Err(TokenError::BadMappedClaim(c, _)) if c == "fiscal_number"
    ));
    assert_eq!(
        v.verify_at(&token(json!({"fiscal_number": null})), NOW),
        Err(TokenError::MissingMappedClaim("fiscal_number".into()))
    );
    assert_eq!(
        v.verify_at(&token(json!({"roles": ["offline_access"]})), NOW)
            .map_err(|e| e.reason()),
        Err("GW_1_TOKEN_PROFILE_UNMAPPED")
    );
    assert_eq!(
        v.verify_at(
            &token(json!({"roles": ["occasionali.prestatore", "occasionali.utilizzatore"]})),
            NOW
        )
        .map_err(|e| e.reason()),
        Err("GW_1_TOKEN_PROFILE_UNMAPPED"),
        "two profiles: the IdP must say which"
    );
    // An operator's sede from its own claim.
    let op = v.verify_at(&token(json!({"roles": "inps.operatore", "inps_sede": "mi"})), NOW);
    assert_eq!(
        op.map(|p| (p.profile, p.sede)),
        Ok((Profile::OperatoreSede, Some("MI".into())))
    );
}

/// The JWKS attacks: forged keys, algorithm confusion, `none`, strangers.
#[tokio::test]
async fn gw_1_forged_and_confused_tokens_are_refused() {
    let key = ec_key();
    let v = file_verifier(&key).await;
    let reason = |t: &str| v.verify_at(t, NOW).map_err(|e| e.reason());
    assert_eq!(
        reason(&key.sign(&claims()).unwrap_or_default()).map(|p| p.profile),
        Ok(Profile::Prestatore)
    );
    // Another key claiming our key's kid: the signature does not verify.
    let forger = ec_key();
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(key.kid().to_string());
    let pem = DevIssuer::random_pem().unwrap_or_default();
    let der = {
        use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
        p256::SecretKey::from_pkcs8_pem(&pem)
            .ok()
            .and_then(|s| s.to_pkcs8_der().ok())
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    };
    let forged = encode(&h, &claims(), &EncodingKey::from_ec_der(&der)).unwrap_or_default();
    assert_eq!(reason(&forged), Err("GW_1_TOKEN_SIGNATURE"));
    // ...or its own kid, which the issuer never published.
    assert_eq!(
        reason(&forger.sign(&claims()).unwrap_or_default()),
        Err("GW_1_TOKEN_KEY_UNKNOWN")
    );
    // No kid at all.
    let no_kid = encode(
        &Header::new(Algorithm::ES256),
        &claims(),
        &EncodingKey::from_ec_der(&der),
    )
    .unwrap_or_default();
    assert_eq!(reason(&no_kid), Err("GW_1_TOKEN_KEY_UNKNOWN"));
    // HS256 "signed" with the issuer's public key (the JWK as published, or its x coordinate):
    // refused for its algorithm before any key is looked at.
    let public = serde_json::to_string(&key.jwks()).unwrap_or_default();
    for secret in [public.as_bytes(), key.kid().as_bytes()] {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(key.kid().to_string());
        let t = encode(&h, &claims(), &EncodingKey::from_secret(secret)).unwrap_or_default();
        assert_eq!(v.verify_at(&t, NOW), Err(TokenError::Algorithm("HS256".into())));
    }
    // alg none, with our claims and no signature.
    let good = key.sign(&claims()).unwrap_or_default();
    let payload = good.split('.').nth(1).unwrap_or_default();
    let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid()));
    assert_eq!(
        v.verify_at(&format!("{none_header}.{payload}."), NOW),
        Err(TokenError::Algorithm("none".into()))
    );
    // An RS256 header on an EC key's kid (and the reverse): the key decides the algorithm.
    let rsa = rsa_key();
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(key.kid().to_string());
    let t = encode(&h, &claims(), &rsa.key).unwrap_or_default();
    assert_eq!(reason(&t), Err("GW_1_TOKEN_ALGORITHM"));
    // An issuer limited to ES256 refuses RS256 even with a published RSA key.
    let dir = scratch("es-only");
    let mut keys = key.jwks().keys;
    keys.push(rsa.jwk.clone());
    write_jwks(&dir.join("jwks.json"), keys);
    let mut es_only = issuer("idp", "https://idp.test", Source::File(dir.join("jwks.json")));
    es_only.algorithms = vec!["ES256".into()];
    let v2 = ClientVerifier::new(&options(vec![es_only])).unwrap_or_else(|e| panic!("{e}"));
    v2.refresh_all().await;
    assert_eq!(
        v2.verify_at(&rsa.sign(&claims()), NOW),
        Err(TokenError::Algorithm("RS256".into()))
    );
    // A token of an issuer not configured here, signed by a key we know.
    let stranger = edited(set("iss", "https://altro.test".into()));
    assert_eq!(
        reason(&key.sign(&stranger).unwrap_or_default()),
        Err("GW_1_TOKEN_ISSUER")
    );
}

/// A JWKS endpoint on loopback whose keys a test swaps, counting the fetches.
struct Idp {
    addr: SocketAddr,
    body: Arc<Mutex<(u16, String)>>,
    fetches: Arc<AtomicUsize>,
    _stop: crate::shutdown::ShutdownTrigger,
}

impl Idp {
    async fn start(keys: Vec<Jwk>) -> Idp {
        let body = Arc::new(Mutex::new((
            200,
            serde_json::to_string(&JwkSet { keys }).unwrap_or_default(),
        )));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (b, f) = (body.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (b, f) = (b.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = b.lock().map(|g| g.clone()).unwrap_or_default();
                    (
                        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK),
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let (trigger, stop) = crate::shutdown::channel();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.wait())
                .await;
        });
        Idp {
            addr,
            body,
            fetches,
            _stop: trigger,
        }
    }

    fn publish(&self, status: u16, keys: Vec<Jwk>) {
        if let Ok(mut g) = self.body.lock() {
            *g = (
                status,
                serde_json::to_string(&JwkSet { keys }).unwrap_or_default(),
            );
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn config(&self) -> IssuerConfig {
        issuer(
            "idp",
            "https://idp.test",
            Source::Url(format!("http://{}/jwks", self.addr)),
        )
    }
}

fn live_claims() -> Value {
    let now = now_seconds();
    edited(|m| {
        m.insert("iat".into(), now.into());
        m.insert("exp".into(), (now + 600).into());
    })
}

/// A token of the test issuer naming key `kid`, with a signature that is not one.
fn forged_kid(kid: &str) -> String {
    let b64 = |v: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let header = b64(format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#));
    format!("{header}.{}.c2lnbmF0dXJl", b64(live_claims().to_string()))
}

#[tokio::test]
async fn gw_1_a_rotated_key_is_accepted_and_the_removed_one_refused_without_restart() {
    let old = ec_key();
    let new = ec_key();
    let idp = Idp::start(old.jwks().keys).await;
    let (_trigger, stop) = crate::shutdown::channel();
    let opts = VerifierOptions {
        min_refresh_seconds: 3600,
        ..options(vec![idp.config()])
    };
    let v = ClientVerifier::start(&opts, stop)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(idp.fetches(), 1, "fetched at start");
    let old_token = old.sign(&live_claims()).unwrap_or_default();
    let new_token = new.sign(&live_claims()).unwrap_or_default();
    assert!(v.verify(&old_token).await.is_ok());
    // The IdP rotates: the new key in, the old one out.
    idp.publish(200, new.jwks().keys);
    // The first token with the new kid makes one fetch and is accepted.
    assert_eq!(
        v.verify(&new_token).await.map(|p| p.profile),
        Ok(Profile::Prestatore)
    );
    assert_eq!(idp.fetches(), 2);
    // The removed key is gone with the old set: refused, and no further fetch so soon.
    assert_eq!(
        v.verify(&old_token).await.map_err(|e| e.reason()),
        Err("GW_1_TOKEN_KEY_UNKNOWN")
    );
    // Garbage kids cannot make us hammer the IdP: at most one fetch per interval.
    for i in 0..20 {
        let t = forged_kid(&format!("garbage-{i}"));
        assert_eq!(
            v.verify(&t).await.map_err(|e| e.reason()),
            Err("GW_1_TOKEN_KEY_UNKNOWN")
        );
        assert!(v.verify_cached(&t).is_err());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(idp.fetches(), 2, "the on-demand refresh is rate limited");
}

#[tokio::test]
async fn gw_1_keys_are_refreshed_in_the_background_and_a_failed_refresh_keeps_the_last_good_set() {
    let old = ec_key();
    let new = ec_key();
    let idp = Idp::start(old.jwks().keys).await;
    let (_trigger, stop) = crate::shutdown::channel();
    let opts = VerifierOptions {
        refresh_seconds: 1,
        min_refresh_seconds: 3600,
        ..options(vec![idp.config()])
    };
    let v = ClientVerifier::start(&opts, stop)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let old_token = old.sign(&live_claims()).unwrap_or_default();
    // Spend the on-demand fetch (one per hour here) on a key nobody has: what follows is the
    // periodic refresh's doing alone.
    let garbage = forged_kid("nobody");
    assert!(v.verify(&garbage).await.is_err());
    // The IdP fails: the keys we have keep working.
    idp.publish(503, old.jwks().keys);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(idp.fetches() >= 2, "refreshed in the background");
    assert!(v.verify_cached(&old_token).is_ok(), "the last good set stays");
    // A garbled answer too.
    idp.publish(200, Vec::new());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(v.verify_cached(&old_token).is_ok());
    // Rotation picked up by the periodic refresh.
    idp.publish(200, new.jwks().keys);
    let before = idp.fetches();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let new_token = new.sign(&live_claims()).unwrap_or_default();
    while v.verify_cached(&new_token).is_err() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        v.verify_cached(&new_token).is_ok(),
        "the new key arrived by itself"
    );
    assert!(idp.fetches() > before);
    assert_eq!(
        v.verify_cached(&old_token).map_err(|e| e.reason()),
        Err("GW_1_TOKEN_KEY_UNKNOWN")
    );
}

#[tokio::test]
async fn gw_1_without_the_issuers_keys_tokens_are_refused_unavailable_until_they_arrive() {
    let key = ec_key();
    let dir = scratch("late");
    let path = dir.join("jwks.json");
    let (_trigger, stop) = crate::shutdown::channel();
    let opts = options(vec![issuer(
        "idp",
        "https://idp.test",
        Source::File(path.clone()),
    )]);
    // The key set does not exist yet: the verifier starts all the same.
    let v = ClientVerifier::start(&opts, stop)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token = key.sign(&live_claims()).unwrap_or_default();
    let refused = v.verify(&token).await;
    assert_eq!(refused, Err(TokenError::KeysUnavailable("idp".into())));
    assert_eq!(
        refused.as_ref().map_err(|e| e.code()),
        Err(tonic::Code::Unavailable)
    );
    assert_eq!(
        refused.map_err(|e| e.reason()),
        Err("GW_1_ISSUER_KEYS_UNAVAILABLE")
    );
    // Another issuer's tokens are judged as ever meanwhile.
    assert_eq!(
        v.verify(
            &key.sign(&edited(set("iss", "https://altro.test".into())))
                .unwrap_or_default()
        )
        .await,
        Err(TokenError::Issuer)
    );
    write_jwks(&path, key.jwks().keys);
    // The background retries soon while an issuer has no keys.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while v.verify_cached(&token).is_err() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(v.verify_cached(&token).is_ok());
}

#[tokio::test]
async fn the_dev_issuer_key_is_created_once_and_named_by_its_thumbprint() {
    let dir = scratch("devkey");
    let path = dir.join("secrets").join("dev-issuer.pem");
    let a = DevIssuer::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
    let b = DevIssuer::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.kid(), b.kid(), "the same key on the second use");
    let jwk = &a.jwks().keys[0];
    assert_eq!(
        jwk.thumbprint(ThumbprintHash::SHA256).ok().as_deref(),
        Some(a.kid())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(mode, 0o600);
    }
    // Served over HTTP as a real JWKS, which a verifier reads.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}")),
        dev::JWKS_PATH
    );
    let (_trigger, stop) = crate::shutdown::channel();
    tokio::spawn(serve_jwks(listener, a.jwks(), stop.clone()));
    let v = ClientVerifier::start(&options(vec![DevIssuer::issuer_config(url)]), stop)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let p = Principal {
        cf: "RSSMRA85T10A562S".into(),
        profile: Profile::Prestatore,
        sede: None,
    };
    assert_eq!(v.verify(&b.mint(&p, 60).unwrap_or_default()).await, Ok(p));
}

#[tokio::test]
async fn gw_1_a_remembered_signature_counts_only_while_its_key_stays() {
    let real = ec_key();
    let idp = Idp::start(real.jwks().keys).await;
    let (_trigger, stop) = crate::shutdown::channel();
    let v = ClientVerifier::start(&options(vec![idp.config()]), stop)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token = real.sign(&live_claims()).unwrap_or_default();
    // Checked, then remembered: the same answer again.
    assert_eq!(v.verify(&token).await.map(|p| p.profile), Ok(Profile::Prestatore));
    assert_eq!(
        v.verify_cached(&token).map(|p| p.profile),
        Ok(Profile::Prestatore)
    );
    // The IdP now binds the same kid to another key: the token's signature no longer
    // verifies, whatever was remembered of it.
    let mut other = ec_key().jwks().keys;
    for k in &mut other {
        k.common.key_id = real.jwks().keys.first().and_then(|j| j.common.key_id.clone());
    }
    idp.publish(200, other);
    v.refresh_all().await;
    assert_eq!(
        v.verify(&token).await.map_err(|e| e.reason()),
        Err("GW_1_TOKEN_SIGNATURE")
    );
    // The registered claims are judged on every call, remembered or not.
    let expired = real
        .sign(&edited(|m| {
            m.insert("iat".into(), (now_seconds() - 100).into());
            m.insert("exp".into(), (now_seconds() - 60).into());
        }))
        .unwrap_or_default();
    idp.publish(200, real.jwks().keys);
    v.refresh_all().await;
    assert_eq!(v.verify(&token).await.map(|p| p.profile), Ok(Profile::Prestatore));
    assert_eq!(
        v.verify(&expired).await.map_err(|e| e.reason()),
        Err("GW_1_TOKEN_EXPIRED")
    );
    assert_eq!(
        v.verify(&expired).await.map_err(|e| e.reason()),
        Err("GW_1_TOKEN_EXPIRED")
    );
}
