//! Forged and misused access tokens (docs/SECURITY.md, "Tokens"), and the JWKS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use stepauth::clock::Clock as _;
use stepauth::tokens::{Claims, Keys, TokenUse};
use stepauth_tests::{TestApp, signing_key_pem, unique_email};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn signed_up(app: &TestApp) -> (Claims, String, String) {
    let created = app.sign_up(&unique_email("forge")).await;
    let token = created.str("access_token");
    let claims = app.app.keys.verify(&token, TokenUse::Access, app.clock.now()).expect("a valid token");
    let kid = jsonwebtoken::decode_header(&token).expect("header").kid.expect("kid");
    (claims, kid, token)
}

async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let answer = app.get_as("/users/me", token).await;
    assert_eq!((answer.status, answer.error()), (401, "invalid_token"), "{what}: {}", answer.text);
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (claims, kid, genuine) = signed_up(&app).await;
    assert_eq!(app.get_as("/users/me", &genuine).await.status, 200);
    let payload = serde_json::to_value(&claims).expect("claims");
    let rsa = EncodingKey::from_rsa_pem(signing_key_pem().as_bytes()).expect("the test key");
    let with_header = |header: Header, claims: &Value| jsonwebtoken::encode(&header, claims, &rsa).expect("encode");
    let mut rs256 = Header::new(Algorithm::RS256);
    rs256.kid = Some(kid.clone());
    rs256.typ = Some("at+jwt".into());
    assert_eq!(app.get_as("/users/me", &with_header(rs256.clone(), &payload)).await.status, 200, "control");
    // RFC 8725 §3.11: an access token says so in its header (RFC 9068's at+jwt).
    for typ in [Some("JWT"), Some("id_token+jwt"), None] {
        let mut other = rs256.clone();
        other.typ = typ.map(str::to_owned);
        assert_refused(&app, &with_header(other, &payload), &format!("typ {typ:?}")).await;
    }

    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})), b64(&payload));
    assert_refused(&app, &none, "alg none").await;

    let jwks: Value = serde_json::from_str(app.app.keys.jwks()).expect("jwks");
    for secret in
        [app.app.keys.jwks().as_bytes().to_vec(), jwks["keys"][0]["n"].as_str().expect("n").as_bytes().to_vec()]
    {
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&hs, &payload, &EncodingKey::from_secret(&secret)).expect("encode");
        assert_refused(&app, &token, "HS256 keyed with the public key").await;
    }

    let stripped = genuine.rsplit_once('.').map(|(head, _)| format!("{head}.")).expect("three parts");
    assert_refused(&app, &stripped, "stripped signature").await;
    let (head, signature) = genuine.rsplit_once('.').expect("three parts");
    let mut elsewhere = payload.clone();
    elsewhere["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{signature}", head.split('.').next().expect("header"), b64(&elsewhere));
    assert_refused(&app, &tampered, "payload changed under a genuine signature").await;

    let mut other = payload.clone();
    other["aud"] = json!("another-api");
    assert_refused(&app, &with_header(rs256.clone(), &other), "wrong aud").await;
    let mut other = payload.clone();
    other["iss"] = json!("https://evil.example");
    assert_refused(&app, &with_header(rs256.clone(), &other), "wrong iss").await;
    let mut other = payload.clone();
    other["token_use"] = json!("refresh");
    assert_refused(&app, &with_header(rs256.clone(), &other), "not an access token").await;
    let mut other = payload.clone();
    other.as_object_mut().expect("object").remove("exp");
    assert_refused(&app, &with_header(rs256.clone(), &other), "no exp").await;

    let mut unknown = rs256.clone();
    unknown.kid = Some("not-a-key-we-have".into());
    assert_refused(&app, &with_header(unknown, &payload), "unknown kid").await;
    let mut no_kid = rs256.clone();
    no_kid.kid = None;
    assert_refused(&app, &with_header(no_kid, &payload), "no kid").await;
    let mut jku = rs256.clone();
    jku.jku = Some("https://evil.example/jwks.json".into());
    assert_refused(&app, &with_header(jku, &payload), "jku header").await;
    let mut x5u = rs256.clone();
    x5u.x5u = Some("https://evil.example/cert.pem".into());
    assert_refused(&app, &with_header(x5u, &payload), "x5u header").await;

    let stranger = Keys::generate("stepauth", "stepauth-api").expect("another key");
    assert_refused(&app, &stranger.sign(&claims).expect("sign"), "signed by another key").await;
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (_, _, token) = signed_up(&app).await;
    app.clock.advance(599);
    assert_eq!(app.get_as("/users/me", &token).await.status, 200);
    app.clock.advance(1);
    assert_refused(&app, &token, "expired").await;
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("refresh-as-access")).await;
    assert_refused(&app, &created.str("refresh_token"), "refresh token as access token").await;
}

#[tokio::test]
async fn the_jwks_verifies_issued_tokens() {
    let app = TestApp::spawn().await;
    let (_, kid, token) = signed_up(&app).await;
    let jwks = app.request("GET", "/.well-known/jwks.json", Value::Null, &[]).await;
    assert_eq!(jwks.status, 200);
    assert!(jwks.headers["cache-control"].to_str().expect("ascii").starts_with("public"));
    let key = jwks.body["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == kid.as_str()).expect("the kid");
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str(), key["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().expect("n"), key["e"].as_str().expect("e")).expect("key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["stepauth-api"]);
    validation.set_issuer(&["stepauth"]);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).expect("verifies with the JWKS");
    assert_eq!(data.claims["token_use"], "access");
    assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
}

/// A verifier nobody here wrote (jose's `createRemoteJWKSet`, tests/oidc/relying-party.mjs)
/// starts from a token's `iss`, reads `/.well-known/openid-configuration`, fetches the keys
/// it names and verifies a fresh access token; it refuses one for another audience and an
/// expired one (docs/SECURITY.md, "Tokens").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relying_party_discovers_the_keys_from_iss_and_verifies_access_tokens() {
    stepauth_tests::oidc_provider::install().await;
    let app = TestApp::spawn_as_issuer(stepauth::config::Config::default()).await;
    let discovery = app.request("GET", "/.well-known/openid-configuration", Value::Null, &[]).await;
    assert_eq!(discovery.status, 200, "{}", discovery.text);
    assert_eq!(discovery.body["issuer"], app.address.as_str());
    assert_eq!(discovery.body["jwks_uri"], format!("{}/.well-known/jwks.json", app.address));
    assert_eq!(discovery.body["id_token_signing_alg_values_supported"], json!(["RS256"]));

    let email = unique_email("relying-party");
    let signed_up = app.sign_up(&email).await;
    let verify = |token: String, audience: &'static str| async move {
        let output = tokio::process::Command::new("node")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/oidc/relying-party.mjs"))
            .args([token.as_str(), audience])
            .output()
            .await
            .expect("node");
        serde_json::from_slice::<Value>(&output.stdout).unwrap_or_else(|_| panic!("{output:?}"))
    };
    let fresh = verify(signed_up.str("access_token"), "stepauth-api").await;
    assert_eq!(fresh, json!({"ok": true, "sub": signed_up.body["user"]["id"]}));
    let other = verify(signed_up.str("access_token"), "another-api").await;
    assert_eq!(other, json!({"ok": false, "error": "ERR_JWT_CLAIM_VALIDATION_FAILED"}), "another audience");
    app.clock.advance(-2 * 3600);
    let old = app.log_in(&email).await.str("access_token");
    let expired = verify(old, "stepauth-api").await;
    assert_eq!(expired, json!({"ok": false, "error": "ERR_JWT_EXPIRED"}));
}
