//! Sign-in with Google, against a real OpenID provider on loopback (tests/oidc: panva's
//! oidc-provider) standing in for Google's issuer: both flows end to end, and each way an
//! ID token or a redirect flow must be refused (docs/SECURITY.md, "Google sign-in").

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use stepauth::clock::Clock as _;
use stepauth::config::{Config, GoogleConfig};
use stepauth::totp;
use stepauth_tests::oidc_provider::{CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, OidcProvider};
use stepauth_tests::{Answer, PASSWORD, TestApp, enrolled, post_as, totp_code, unique_email};

/// The redirect URI the app sends; the tests take the provider's redirect and call the app.
const REDIRECT: &str = "http://127.0.0.1/auth/google/callback";

async fn app_for(provider: &OidcProvider) -> TestApp {
    app_configured(provider, Config::default()).await
}

/// An app signing in with `provider`, in `config` otherwise.
async fn app_configured(provider: &OidcProvider, config: Config) -> TestApp {
    let google = GoogleConfig {
        issuer: provider.issuer.clone(),
        client_ids: vec![CLIENT_ID.into()],
        redirect_uri: REDIRECT.into(),
        jwks_refetch_interval: Duration::ZERO,
        ..GoogleConfig::default()
    };
    TestApp::spawn_with(Config { google, ..config }).await
}

async fn app() -> (TestApp, &'static OidcProvider) {
    let provider = OidcProvider::shared().await;
    (app_for(provider).await, provider)
}

/// An account login at the provider, fresh for each test: `<label>-<random>@example.com`.
fn google_login(label: &str) -> String {
    unique_email(label)
}

async fn with_token(app: &TestApp, token: &str, nonce: &str) -> Answer {
    app.post("/auth/google/id-token", json!({"id_token": token, "nonce": nonce})).await
}

/// The redirect flow as a browser runs it: start (302 to the provider, a binding cookie), the
/// provider's sign-in page, and the callback with that browser's cookie. The callback's answer.
async fn redirect_flow(app: &TestApp, provider: &OidcProvider, login: &str) -> Answer {
    let (callback, cookie) = begin(app, provider, login).await;
    app.request("GET", &callback, Value::Null, &[("cookie", &cookie)]).await
}

/// Start and the provider's page: the callback path the provider sends the browser to, and
/// the browser's binding cookie.
async fn begin(app: &TestApp, provider: &OidcProvider, login: &str) -> (String, String) {
    let start = app.request("GET", "/auth/google/start", Value::Null, &[]).await;
    assert_eq!(start.status, 302, "{}", start.text);
    let location = start.headers["location"].to_str().expect("ascii").to_owned();
    assert!(location.starts_with(&format!("{}/auth?", provider.issuer)), "{location}");
    for part in ["code_challenge_method=S256", "code_challenge=", "nonce=", "state=", "client_id=stepauth"] {
        assert!(location.contains(part), "{part} in {location}");
    }
    let cookie = start.cookie("__Host-stepauth_google").expect("the binding cookie");
    let back = provider.sign_in(&location, login).await;
    let callback = back.strip_prefix("http://127.0.0.1").expect("the app's redirect URI").to_owned();
    (callback, format!("__Host-stepauth_google={cookie}"))
}

fn landed(answer: &Answer) -> String {
    assert_eq!(answer.status, 302, "{}", answer.text);
    answer.headers["location"].to_str().expect("ascii").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_flow_makes_an_account_and_signs_it_in() {
    let (app, provider) = app().await;
    let login = google_login("redirect");
    let callback = redirect_flow(&app, provider, &login).await;
    assert_eq!(landed(&callback), "/#signed_in=google", "back to the front end");
    let access = callback.cookie("__Host-stepauth_access").expect("a session");
    let me =
        app.request("GET", "/users/me", Value::Null, &[("cookie", &format!("__Host-stepauth_access={access}"))]).await;
    assert_eq!((me.status, me.body["email"].as_str()), (200, Some(login.as_str())), "{}", me.text);
    assert_eq!(me.body["identities"][0]["issuer"], provider.issuer.as_str(), "{}", me.text);
    let second = redirect_flow(&app, provider, &login).await;
    assert!(second.cookie("__Host-stepauth_access").is_some(), "the identity signs in again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_token_endpoint_signs_in_with_the_providers_token() {
    let (app, provider) = app().await;
    let login = google_login("gis");
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &login, "nonce-1").await;
    let signed_in = with_token(&app, &token, "nonce-1").await;
    assert_eq!(
        (signed_in.status, signed_in.body["user"]["email"].as_str()),
        (200, Some(login.as_str())),
        "{}",
        signed_in.text
    );
    let me = app.get_as("/users/me", &signed_in.str("access_token")).await;
    assert_eq!(me.status, 200);
    let activity = app.get_as("/users/me/activity", &signed_in.str("access_token")).await;
    let entries: Vec<(&str, &str)> = activity.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| Some((e["event"].as_str()?, e["method"].as_str()?)))
        .collect();
    assert_eq!(entries, [("login_success", "google"), ("signup_completed", "google")], "{}", activity.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_with_the_email_is_linked_and_its_owner_told() {
    let (app, provider) = app().await;
    let email = unique_email("owner");
    let created = app.sign_up(&email).await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "n").await;
    let signed_in = with_token(&app, &token, "n").await;
    assert_eq!((signed_in.status, signed_in.body["user"]["id"].clone()), (200, created.body["user"]["id"].clone()));
    let mails = app.mails_to(&email).await;
    assert!(mails.iter().any(|m| m.subject.contains("Sign-in with Google was linked")), "the owner is told");
    let again = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "m").await;
    assert_eq!(with_token(&app, &again, "m").await.status, 200, "the link signs in");
    let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(login.status, 200, "the password still works");
}

/// Someone typed the address at sign-up but never proved it: Google's verified sign-in makes
/// the account, and that pending sign-up's code no longer works (GHSA-g38m-r43w-p2q7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_sign_up_for_the_address_is_discarded_not_linked() {
    let (app, provider) = app().await;
    let email = unique_email("victim");
    assert_eq!(app.post("/auth/signup", json!({"name": "Mallory", "email": email})).await.status, 202);
    let pending_code = app.last_code(&email).await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "n").await;
    let signed_in = with_token(&app, &token, "n").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_ne!(signed_in.body["user"]["name"], "Mallory", "nothing of the pending sign-up is kept");
    let verify = app.post("/auth/signup/verify", json!({"email": email, "code": pending_code})).await;
    assert_eq!((verify.status, verify.error()), (400, "invalid_code"), "the pending code died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_email_is_refused() {
    let (app, provider) = app().await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("unverified"), "n").await;
    let answer = with_token(&app, &token, "n").await;
    assert_eq!((answer.status, answer.error()), (403, "email_not_verified"), "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_audience_is_refused() {
    let (app, provider) = app().await;
    let token = provider.id_token(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, &google_login("aud"), "n").await;
    let answer = with_token(&app, &token, "n").await;
    assert_eq!((answer.status, answer.error()), (401, "invalid_id_token"), "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_issuer_is_refused() {
    let (app, _) = app().await;
    let other = OidcProvider::other().await;
    let token = other.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("iss"), "n").await;
    let answer = with_token(&app, &token, "n").await;
    assert_eq!((answer.status, answer.error()), (401, "invalid_id_token"), "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused() {
    let (app, provider) = app().await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("exp"), "n").await;
    // The provider's ID tokens live ten minutes; the skew allowed is a minute.
    app.clock.advance(600 + 61);
    let answer = with_token(&app, &token, "n").await;
    assert_eq!((answer.status, answer.error()), (401, "invalid_id_token"), "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_signature_is_refused() {
    let (app, provider) = app().await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("sig"), "n").await;
    let (signed, signature) = token.rsplit_once('.').expect("a JWT");
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    bytes[0] ^= 1;
    let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
    let answer = with_token(&app, &forged, "n").await;
    assert_eq!((answer.status, answer.error()), (401, "invalid_id_token"), "{}", answer.text);
}

/// The provider's own claims under `alg: none`, and under HS256 keyed with the client secret
/// (the classic confusion: a verifier that takes the header's word).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_and_hs256_tokens_are_refused() {
    let (app, provider) = app().await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("alg"), "n").await;
    let mut parts = token.split('.');
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().expect("a header")).expect("b64")).expect("JSON");
    let payload = parts.next().expect("a payload");
    let kid = header["kid"].as_str().expect("a kid");
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()));
    let hs_header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": kid, "typ": "JWT"}).to_string());
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, CLIENT_SECRET.as_bytes());
    let mac = aws_lc_rs::hmac::sign(&key, format!("{hs_header}.{payload}").as_bytes());
    let hs256 = format!("{hs_header}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
    for forged in [none, hs256] {
        let answer = with_token(&app, &forged, "n").await;
        assert_eq!((answer.status, answer.error()), (401, "invalid_id_token"), "{forged}: {}", answer.text);
    }
    assert_eq!(with_token(&app, &token, "n").await.status, 200, "the genuine token works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_and_its_nonce_work_once() {
    let (app, provider) = app().await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("replay"), "once").await;
    assert_eq!(with_token(&app, &token, "other").await.error(), "invalid_id_token", "another nonce");
    let first = with_token(&app, &token, "once").await;
    assert_eq!(first.status, 200, "{}", first.text);
    let replay = with_token(&app, &token, "once").await;
    assert_eq!((replay.status, replay.error()), (401, "invalid_id_token"), "replayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_must_be_present_unused_and_this_browsers() {
    let (app, provider) = app().await;
    let (callback, cookie) = begin(&app, provider, &google_login("state")).await;
    let without_state = callback.split("&state=").next().expect("the path").to_owned();
    let missing = app.request("GET", &without_state, Value::Null, &[("cookie", &cookie)]).await;
    assert_eq!(landed(&missing), "/#google_error=invalid_state");
    let other_browser =
        app.request("GET", &callback, Value::Null, &[("cookie", "__Host-stepauth_google=another")]).await;
    assert_eq!(landed(&other_browser), "/#google_error=invalid_state");
    let reused = app.request("GET", &callback, Value::Null, &[("cookie", &cookie)]).await;
    assert_eq!(landed(&reused), "/#google_error=invalid_state", "a state is taken by its first try, whoever made it");

    let (callback, cookie) = begin(&app, provider, &google_login("state")).await;
    let first = app.request("GET", &callback, Value::Null, &[("cookie", &cookie)]).await;
    assert!(first.cookie("__Host-stepauth_access").is_some(), "{}", first.text);
    let again = app.request("GET", &callback, Value::Null, &[("cookie", &cookie)]).await;
    assert_eq!(landed(&again), "/#google_error=invalid_state", "used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_at_the_provider_works_after_a_refetch() {
    let (app, provider) = app().await;
    let before = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("rotate"), "n").await;
    assert_eq!(with_token(&app, &before, "n").await.status, 200, "the first key is cached");
    let kid = provider.rotate().await;
    let after = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("rotate"), "n").await;
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(after.split('.').next().expect("a header")).expect("b64"))
            .expect("JSON");
    assert_eq!(header["kid"], kid.as_str(), "signed with the new key");
    let answer = with_token(&app, &after, "n").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_cannot_sign_in_with_google() {
    let (app, provider) = app().await;
    let email = unique_email("locked");
    app.sign_up(&email).await;
    for _ in 0..3 {
        app.post("/auth/login", json!({"email": email, "password": "Wrong-Horse-7-Battery"})).await;
    }
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "n").await;
    let answer = with_token(&app, &token, "n").await;
    assert_eq!((answer.status, answer.error()), (423, "account_locked"), "{}", answer.text);
    let mails = app.mails_to(&email).await;
    assert!(!mails.iter().any(|m| m.subject.contains("Sign-in with Google was linked")), "nothing is linked or mailed");
    let again = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "m").await;
    assert_eq!(with_token(&app, &again, "m").await.status, 423, "a new token does not get round the lock");
}

/// Google sign-in for the account `email`, with a fresh ID token (and nonce).
async fn sign_in_afresh(app: &TestApp, provider: &OidcProvider, email: &str) -> Answer {
    let nonce = stepauth::random::token::<16>(&stepauth::random::SystemRandom::default());
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, email, &nonce).await;
    with_token(app, &token, &nonce).await
}

/// Someone holding the Google account but not the authenticator starts over: a fresh ID
/// token, so a fresh MFA token, before every wrong second factor, and a password login in
/// between (another way to the same step). The count reaches the lock at the configured
/// number all the same, and Google sign-in then meets the lock, by either flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_google_sign_ins_buy_no_more_second_factor_guesses() {
    let (app, provider) = app().await;
    let user = enrolled(&app, "google-relogin").await;
    let mut answers = Vec::new();
    for round in 0..5 {
        let first = if round == 1 {
            app.post("/auth/login", json!({"email": user.email, "password": PASSWORD})).await
        } else {
            sign_in_afresh(&app, provider, &user.email).await
        };
        if first.status != 200 {
            answers.push((first.status, "sign-in"));
            continue;
        }
        assert_eq!(first.body["mfa_required"].as_bool(), Some(true), "{}", first.text);
        let wrong = app.post("/auth/mfa/verify", json!({"mfa_token": first.str("mfa_token"), "code": "000000"}));
        answers.push((wrong.await.status, "verify"));
    }
    assert_eq!(answers, [(400, "verify"), (400, "verify"), (423, "verify"), (423, "sign-in"), (423, "sign-in")]);
    assert_eq!(landed(&redirect_flow(&app, provider, &user.email).await), "/#google_error=account_locked");
}

/// The same, six attackers at once, each signing in with Google afresh before every wrong
/// code: at most the configured number of wrong codes is checked, and the account ends locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_fresh_google_sign_ins_buy_no_more_second_factor_guesses() {
    let (app, provider) = app().await;
    let app = std::sync::Arc::new(app);
    let user = enrolled(&app, "google-relogin-race").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (app, email) = (app.clone(), user.email.clone());
        tasks.spawn(async move {
            let mut checked = Vec::new();
            for _ in 0..4 {
                let first = sign_in_afresh(&app, provider, &email).await;
                if first.status != 200 {
                    break;
                }
                let wrong =
                    app.post("/auth/mfa/verify", json!({"mfa_token": first.str("mfa_token"), "code": "000000"}));
                checked.push(wrong.await.status);
            }
            checked
        });
    }
    let statuses: Vec<u16> = tasks.join_all().await.into_iter().flatten().collect();
    assert!(statuses.iter().filter(|s| **s == 400).count() <= 2, "{statuses:?}");
    assert_eq!(sign_in_afresh(&app, provider, &user.email).await.status, 423, "{statuses:?}");
}

/// What a Google sign-in issues is bound to the account's state: its pending MFA token dies
/// with logout-all, and with an admin's deactivation, after which Google sign-in answers as
/// for a locked account; reactivated, the account signs in with Google again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_mfa_tokens_die_with_logout_all_and_deactivation_stops_google_sign_in() {
    let provider = OidcProvider::shared().await;
    let admin = unique_email("google-admin");
    let app = app_configured(provider, Config { admin_emails: vec![admin.clone()], ..Config::default() }).await;
    let admin = app.sign_up(&admin).await.str("access_token");
    let user = enrolled(&app, "google-bound").await;
    let me = app.get_as("/users/me", &user.session.str("access_token")).await;
    let id = me.str("id");
    let verify = |token: String| {
        let code = totp_code(&app, &user.email, &user.secret, 0);
        app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": code}))
    };

    let pending = sign_in_afresh(&app, provider, &user.email).await.str("mfa_token");
    let all = post_as(&app, "/auth/logout/all", &user.session.str("access_token"), Value::Null).await;
    assert_eq!(all.status, 200, "{}", all.text);
    app.clock.advance(30);
    assert_eq!(verify(pending).await.error(), "invalid_mfa_token", "logout-all kills it");

    let pending = sign_in_afresh(&app, provider, &user.email).await.str("mfa_token");
    let off = post_as(&app, &format!("/admin/users/{id}/deactivate"), &admin, Value::Null).await;
    assert_eq!(off.status, 200, "{}", off.text);
    app.clock.advance(30);
    assert_eq!(verify(pending).await.error(), "invalid_mfa_token", "the deactivation kills it");
    let refused = sign_in_afresh(&app, provider, &user.email).await;
    assert_eq!((refused.status, refused.error()), (423, "account_locked"), "{}", refused.text);
    assert_eq!(landed(&redirect_flow(&app, provider, &user.email).await), "/#google_error=account_locked");

    let on = post_as(&app, &format!("/admin/users/{id}/reactivate"), &admin, Value::Null).await;
    assert_eq!(on.status, 200, "{}", on.text);
    let pending = sign_in_afresh(&app, provider, &user.email).await.str("mfa_token");
    app.clock.advance(30);
    assert_eq!(verify(pending).await.status, 200, "reactivated, the account signs in again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_with_an_authenticator_is_asked_for_it() {
    let (app, provider) = app().await;
    let email = unique_email("mfa");
    let token = app.sign_up(&email).await.str("access_token");
    let bearer = format!("Bearer {token}");
    let setup =
        app.request("POST", "/auth/totp/setup", json!({"password": PASSWORD}), &[("authorization", &bearer)]).await;
    let secret = setup.str("secret");
    let code = |offset: i64| {
        let t = totp::totp(&secret, "stepauth", &email).expect("the secret");
        totp::code_at(&t, app.clock.now() + offset * totp::STEP as i64)
    };
    let confirm =
        app.request("POST", "/auth/totp/confirm", json!({"code": code(0)}), &[("authorization", &bearer)]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    app.clock.advance(totp::STEP as i64);

    let id_token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "n").await;
    let answer = with_token(&app, &id_token, "n").await;
    assert_eq!((answer.status, answer.body["mfa_required"].as_bool()), (200, Some(true)), "{}", answer.text);
    assert!(answer.body.get("access_token").is_none(), "no session before the second factor");
    let verified = app.post("/auth/mfa/verify", json!({"mfa_token": answer.str("mfa_token"), "code": code(0)})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let activity = app.get_as("/users/me/activity?limit=1", &verified.str("access_token")).await;
    let login = &activity.body["items"][0];
    assert_eq!((&login["event"], &login["method"]), (&json!("login_success"), &json!("google+authenticator")));

    let redirected = redirect_flow(&app, provider, &email).await;
    let location = landed(&redirected);
    assert!(location.starts_with("/#mfa_token="), "the front end's authenticator card: {location}");
    assert!(redirected.cookie("__Host-stepauth_access").is_none());
}

#[tokio::test]
async fn google_sign_in_is_off_without_client_ids() {
    let app = TestApp::spawn().await;
    let start = app.request("GET", "/auth/google/start", Value::Null, &[]).await;
    assert_eq!((start.status, start.error()), (404, "google_sign_in_off"));
    let token = app.post("/auth/google/id-token", json!({"id_token": "x.y.z"})).await;
    assert_eq!((token.status, token.error()), (404, "google_sign_in_off"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_hosted_domains_sign_in_when_some_are_configured() {
    let provider = OidcProvider::shared().await;
    let google = GoogleConfig {
        issuer: provider.issuer.clone(),
        client_ids: vec![CLIENT_ID.into()],
        redirect_uri: REDIRECT.into(),
        hosted_domains: vec!["corp.example".into()],
        ..GoogleConfig::default()
    };
    let app = TestApp::spawn_with(Config { google, ..Config::default() }).await;
    let staff = format!("staff-{}", unique_email("hd").replace("@example.com", "@corp.example"));
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &staff, "n").await;
    assert_eq!(with_token(&app, &token, "n").await.status, 200, "hd = corp.example");
    let outsider = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("outsider"), "n").await;
    let answer = with_token(&app, &outsider, "n").await;
    assert_eq!((answer.status, answer.error()), (403, "hosted_domain_not_allowed"), "{}", answer.text);
}

/// Google Identity Services' double submit: `g_csrf_token` in the body must match its cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_g_csrf_token_must_match_its_cookie() {
    let (app, provider) = app().await;
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("csrf"), "n").await;
    let body = json!({"credential": token, "nonce": "n", "g_csrf_token": "abc123"});
    let missing = app.request("POST", "/auth/google/id-token", body.clone(), &[]).await;
    assert_eq!((missing.status, missing.error()), (403, "csrf_token_mismatch"));
    let other = app.request("POST", "/auth/google/id-token", body.clone(), &[("cookie", "g_csrf_token=zzz")]).await;
    assert_eq!((other.status, other.error()), (403, "csrf_token_mismatch"));
    let matching = app.request("POST", "/auth/google/id-token", body, &[("cookie", "g_csrf_token=abc123")]).await;
    assert_eq!(matching.status, 200, "{}", matching.text);
}

async fn unlink(app: &TestApp, access: &str, id: &Value) -> Answer {
    let auth = format!("Bearer {access}");
    app.request("POST", "/users/me/identities/unlink", json!({"id": id}), &[("authorization", &auth)]).await
}

/// An account made by Google has no password: unlinking would lock its owner out, so it is
/// refused until a password is set (through the reset flow); then it unlinks, once, and the
/// owner is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_unlinks_only_while_the_account_keeps_a_password() {
    let (app, provider) = app().await;
    let email = google_login("unlink");
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "n").await;
    let signed_in = with_token(&app, &token, "n").await;
    let access = signed_in.str("access_token");
    let id = signed_in.body["user"]["identities"][0]["id"].clone();
    assert!(id.is_string(), "{}", signed_in.text);

    let refused = unlink(&app, &access, &id).await;
    assert_eq!((refused.status, refused.error()), (409, "password_required"), "{}", refused.text);
    assert_eq!(app.get_as("/users/me", &access).await.body["identities"].as_array().map(Vec::len), Some(1));

    // The way the 409 points to: "Forgot your password?" sets one.
    assert_eq!(app.post("/auth/password/forgot", json!({"email": email})).await.status, 202);
    let code = app.last_code(&email).await;
    let verified = app.post("/auth/password/verify", json!({"email": email, "code": code})).await;
    let reset = json!({"reset_token": verified.str("reset_token"), "password": PASSWORD, "confirm_password": PASSWORD});
    assert_eq!(app.post("/auth/password/reset", reset).await.status, 200);
    let access = app.log_in(&email).await.str("access_token");

    let unlinked = unlink(&app, &access, &id).await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.text);
    assert_eq!(unlinked.body["identities"], json!([]));
    assert_eq!(app.get_as("/users/me", &access).await.body["identities"], json!([]));
    let again = unlink(&app, &access, &id).await;
    assert_eq!((again.status, again.error()), (404, "identity_not_found"), "once");
    let mails = app.mails_to(&email).await;
    assert!(mails.iter().any(|m| m.subject.contains("Sign-in with Google was removed")), "the owner is told");
    let activity = app.get_as("/users/me/activity", &access).await;
    assert_eq!(activity.body["items"][0]["event"], "google_unlinked", "{}", activity.text);
    app.log_in(&email).await;

    // The Google account proves the address again: it links again, and the owner is told again.
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "m").await;
    assert_eq!(with_token(&app, &token, "m").await.status, 200);
    let links = app.mails_to(&email).await.iter().filter(|m| m.subject.contains("was linked")).count();
    assert_eq!(links, 1, "linked again, and said so (the account was made by Google: no link mail then)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinking_needs_a_session_an_id_of_ones_own_and_happens_once_under_concurrency() {
    let (app, provider) = app().await;
    let email = unique_email("unlink-race");
    let access = app.sign_up(&email).await.str("access_token");
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &email, "n").await;
    let id = with_token(&app, &token, "n").await.body["user"]["identities"][0]["id"].clone();

    let anonymous = app.post("/users/me/identities/unlink", json!({"id": id})).await;
    assert_eq!((anonymous.status, anonymous.error()), (401, "authentication_required"));
    let other = app.sign_up(&unique_email("unlink-other")).await.str("access_token");
    let not_theirs = unlink(&app, &other, &id).await;
    assert_eq!((not_theirs.status, not_theirs.error()), (404, "identity_not_found"), "only one's own");
    let missing = unlink(&app, &access, &Value::Null).await;
    assert_eq!((missing.status, missing.error()), (400, "validation_failed"), "{}", missing.text);

    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, access, id) = (app.clone(), access.clone(), id.clone());
        tasks.spawn(async move { unlink(&app, &access, &id).await.status });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 404, 409].contains(s)), "{statuses:?}");
    let removed = app.mails_to(&email).await.iter().filter(|m| m.subject.contains("was removed")).count();
    assert_eq!(removed, 1, "one unlink, one mail");
}

/// A provider that accepts connections and never answers, and one that answers every request
/// with a 500: each Google route answers 503 with `Retry-After` within seconds (the calls time
/// out at 4 s), never a 500 or the function's timeout, and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_or_failing_provider_answers_503_within_seconds() {
    let real = OidcProvider::shared().await;
    let token = real.id_token(CLIENT_ID, CLIENT_SECRET, &google_login("hung"), "n").await;
    for (what, issuer) in [("hung", hung_server().await), ("failing", failing_server().await)] {
        let moto = std::sync::Arc::new(stepauth_tests::moto_store().await);
        let store = std::sync::Arc::new(stepauth_tests::recording_store::RecordingStore::new(moto));
        let google = GoogleConfig {
            issuer,
            client_ids: vec![CLIENT_ID.into()],
            redirect_uri: REDIRECT.into(),
            ..GoogleConfig::default()
        };
        let app = TestApp::spawn_with_store(Config { google, ..Config::default() }, store.clone()).await;
        let started = std::time::Instant::now();
        let start = app.request("GET", "/auth/google/start", Value::Null, &[]).await;
        assert_eq!((start.status, start.error()), (503, "service_unavailable"), "{what}: {}", start.text);
        assert_eq!(start.headers["retry-after"], "1", "{what}");
        assert!(start.cookie("__Host-stepauth_google").is_none(), "{what}: no flow begun");
        let signed_in = with_token(&app, &token, "n").await;
        assert_eq!((signed_in.status, signed_in.error()), (503, "service_unavailable"), "{what}: {}", signed_in.text);
        assert!(started.elapsed() < Duration::from_secs(12), "{what}: within seconds: {:?}", started.elapsed());
        let writes: Vec<&str> =
            store.take().into_iter().filter(|c| c.starts_with("put") || c.starts_with("use")).collect();
        assert!(writes.is_empty(), "{what}: nothing stored: {writes:?}");
    }
}

/// `http://127.0.0.1:<port>` of a server that accepts connections and never answers.
async fn hung_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    address
}

/// `http://127.0.0.1:<port>` of a server that answers every request `500`.
async fn failing_server() -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request).await;
                let answer = "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    address
}

/// Google Identity Services puts the hex SHA-256 of the client's nonce in the token: the raw
/// nonce the client sends must match it, and another one must not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_carrying_the_hashed_nonce_matches_the_raw_one() {
    let (app, provider) = app().await;
    let login = google_login("hashed-nonce");
    let hashed = stepauth::tokens::sha256_hex("raw-nonce");
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &login, &hashed).await;
    let wrong = with_token(&app, &token, "other-nonce").await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_id_token"), "{}", wrong.text);
    let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &login, &hashed).await;
    let signed_in = with_token(&app, &token, "raw-nonce").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}
