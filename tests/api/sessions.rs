//! Login, refresh rotation and reuse detection, logout, logout-all, the profile.

use serde_json::{Value, json};
use stepauth_tests::{PASSWORD, TestApp, unique_email};

#[tokio::test]
async fn login_fails_alike_for_unknown_emails_and_wrong_passwords() {
    let app = TestApp::spawn().await;
    let email = unique_email("login");
    app.sign_up(&email).await;
    let wrong = app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    let unknown = app.post("/auth/login", json!({"email": unique_email("nobody"), "password": PASSWORD})).await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"));
    assert_eq!((wrong.status, &wrong.text), (unknown.status, &unknown.text));
    assert!(wrong.cookies().is_empty() && unknown.cookies().is_empty());
    let right = app.log_in(&email).await;
    assert!(right.body["user"]["last_login"].is_string());
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    let email = unique_email("rotate");
    let first = app.sign_up(&email).await;
    let r1 = first.str("refresh_token");

    let second = app.post("/auth/token/refresh", json!({"refresh_token": r1})).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let r2 = second.str("refresh_token");
    assert_ne!(r1, r2, "every refresh rotates");
    assert_eq!(second.headers["cache-control"], "no-store");
    assert_eq!(second.cookie("__Secure-stepauth_refresh"), Some(r2.clone()));

    let reuse = app.post("/auth/token/refresh", json!({"refresh_token": r1})).await;
    assert_eq!((reuse.status, reuse.error()), (401, "invalid_token"));
    assert!(reuse.cookies().iter().any(|c| c.starts_with("__Secure-stepauth_refresh=;")));
    let after = app.post("/auth/token/refresh", json!({"refresh_token": r2})).await;
    assert_eq!(after.status, 401, "the newer token of the family died too");
    let me = app.get_as("/users/me", &second.str("access_token")).await;
    assert_eq!(me.status, 401, "and so did the family's access token");
}

#[tokio::test]
async fn refresh_and_logout_work_from_the_cookie() {
    let app = TestApp::spawn().await;
    let email = unique_email("cookie");
    let created = app.sign_up(&email).await;
    let cookie = format!("__Secure-stepauth_refresh={}", created.str("refresh_token"));
    let refreshed = app.request("POST", "/auth/token/refresh", Value::Null, &[("cookie", &cookie)]).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let access = format!("__Host-stepauth_access={}", refreshed.str("access_token"));
    let me = app.request("GET", "/users/me", Value::Null, &[("cookie", &access)]).await;
    assert_eq!(me.status, 200, "the access cookie authenticates");

    let cookie = format!("__Secure-stepauth_refresh={}", refreshed.str("refresh_token"));
    let out = app.request("POST", "/auth/logout", Value::Null, &[("cookie", &cookie)]).await;
    assert_eq!(out.status, 200);
    let again = app.request("POST", "/auth/token/refresh", Value::Null, &[("cookie", &cookie)]).await;
    assert_eq!(again.status, 401);
}

#[tokio::test]
async fn session_cookies_are_locked_down() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("flags")).await;
    let cookies = created.cookies();
    assert_eq!(cookies.len(), 3);
    for cookie in &cookies {
        for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(flag), "{cookie} lacks {flag}");
        }
    }
    assert!(cookies[0].starts_with("__Host-stepauth_access=") && cookies[0].contains("Path=/;"));
    assert!(cookies[1].contains("Path=/auth/token/refresh;"));
    assert!(cookies[2].contains("Path=/auth/logout;"));
}

#[tokio::test]
async fn refresh_needs_a_token() {
    let app = TestApp::spawn().await;
    let none = app.request("POST", "/auth/token/refresh", Value::Null, &[]).await;
    assert_eq!((none.status, none.error()), (401, "authentication_required"));
    let junk = app.post("/auth/token/refresh", json!({"refresh_token": "not-a-token"})).await;
    assert_eq!((junk.status, junk.error()), (401, "invalid_token"));
}

/// Found by schemathesis (scripts/fuzz-api): a logout given a value that cannot be a refresh
/// token (not printable ASCII, white space around it, too long) answered "Logged out." and
/// ended nothing, so a client sending a mangled token believed it had logged out. It is
/// refused, and the session it meant to end is still there to end properly.
#[tokio::test]
async fn logout_refuses_what_cannot_be_a_refresh_token() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("mangled")).await;
    let refresh = created.str("refresh_token");
    for mangled in [format!("{refresh}\u{e9}"), format!(" {refresh} "), "x".repeat(4097), String::new()] {
        let answer = app.post("/auth/logout", json!({ "refresh_token": mangled })).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{mangled:?}: {}", answer.text);
        assert!(answer.body["fields"]["refresh_token"].is_array(), "{}", answer.text);
    }
    let out = app.post("/auth/logout", json!({ "refresh_token": refresh })).await;
    assert_eq!(out.status, 200);
    let again = app.post("/auth/token/refresh", json!({ "refresh_token": refresh })).await;
    assert_eq!((again.status, again.error()), (401, "invalid_token"), "the proper logout ended it");
}

#[tokio::test]
async fn sessions_end_at_their_absolute_expiry() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("expiry")).await;
    let mut refresh = created.str("refresh_token");
    for _ in 0..3 {
        app.clock.advance(10 * 24 * 3600 - 10);
        let answer = app.post("/auth/token/refresh", json!({"refresh_token": refresh})).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        refresh = answer.str("refresh_token");
    }
    app.clock.advance(31);
    let answer = app.post("/auth/token/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(answer.status, 401, "rotation does not extend the thirty days");
}

#[tokio::test]
async fn logout_all_kills_every_session_and_older_access_tokens() {
    let app = TestApp::spawn().await;
    let email = unique_email("everywhere");
    let phone = app.sign_up(&email).await;
    let laptop = app.log_in(&email).await;

    let out = app
        .request(
            "POST",
            "/auth/logout/all",
            Value::Null,
            &[("authorization", &format!("Bearer {}", laptop.str("access_token")))],
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    for session in [&phone, &laptop] {
        assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 401);
        let refresh = app.post("/auth/token/refresh", json!({"refresh_token": session.str("refresh_token")})).await;
        assert_eq!(refresh.status, 401);
    }
    let fresh = app.log_in(&email).await;
    assert_eq!(app.get_as("/users/me", &fresh.str("access_token")).await.status, 200);
}

#[tokio::test]
async fn logout_all_needs_an_access_token() {
    let app = TestApp::spawn().await;
    let answer = app.request("POST", "/auth/logout/all", Value::Null, &[]).await;
    assert_eq!((answer.status, answer.error()), (401, "authentication_required"));
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn logout_with_only_an_access_token_ends_that_session() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("logout-access")).await;
    let auth = format!("Bearer {}", created.str("access_token"));
    let out = app.request("POST", "/auth/logout", Value::Null, &[("authorization", &auth)]).await;
    assert_eq!(out.status, 200);
    let refresh = app.post("/auth/token/refresh", json!({"refresh_token": created.str("refresh_token")})).await;
    assert_eq!(refresh.status, 401);
    let idempotent = app.request("POST", "/auth/logout", Value::Null, &[]).await;
    assert_eq!(idempotent.status, 200);
}

/// The session id is no secret (it is every access token's `sid`): logout with the id and any
/// other secret, a forged one or one already rotated, ends nothing; the current one does.
#[tokio::test]
async fn logout_needs_the_current_refresh_secret_not_just_the_session_id() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("logout-forged")).await;
    let refresh = created.str("refresh_token");
    let (id, _) = refresh.split_once('.').expect("id.secret");
    let forged = format!("{id}.{}", "A".repeat(43));
    let out = app.post("/auth/logout", json!({"refresh_token": forged})).await;
    assert_eq!(out.status, 200, "logout stays idempotent and says nothing");
    let rotated = app.post("/auth/token/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(rotated.status, 200, "the session lives on: {}", rotated.text);
    let out = app.post("/auth/logout", json!({"refresh_token": refresh})).await;
    assert_eq!(out.status, 200);
    let current = rotated.str("refresh_token");
    let still = app.post("/auth/token/refresh", json!({"refresh_token": current})).await;
    assert_eq!(still.status, 200, "a spent secret ends nothing either: {}", still.text);
    app.post("/auth/logout", json!({"refresh_token": still.str("refresh_token")})).await;
    let ended = app.post("/auth/token/refresh", json!({"refresh_token": still.str("refresh_token")})).await;
    assert_eq!(ended.status, 401, "the current secret ends it");
}

/// A browser sends the session cookies with cross-site requests too (SameSite is the first
/// barrier): a cookie-authenticated state change whose `Origin` or `Sec-Fetch-Site` names
/// another site is refused and changes nothing, on every route that takes a cookie; reads,
/// same-origin requests and bearer clients go through. A body-less POST typed as a form or
/// as text is refused whatever authenticates it.
#[tokio::test]
async fn cross_site_cookie_requests_change_nothing() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("csrf")).await;
    let access = format!("__Host-stepauth_access={}", created.str("access_token"));
    let refresh = format!("__Secure-stepauth_refresh={}", created.str("refresh_token"));
    let evil = ("origin", "https://evil.example");
    let refused = [
        ("/auth/logout/all", &access, evil),
        ("/auth/totp/setup", &access, evil),
        ("/auth/totp/setup", &access, ("origin", "null")),
        ("/auth/totp/setup", &access, ("sec-fetch-site", "cross-site")),
        ("/auth/totp/setup", &access, ("sec-fetch-site", "same-site")),
        ("/auth/logout", &access, evil),
        ("/auth/logout", &refresh, evil),
        ("/auth/token/refresh", &refresh, evil),
        ("/auth/token/refresh", &refresh, ("sec-fetch-site", "cross-site")),
    ];
    for (path, cookie, header) in refused {
        let answer = app.request("POST", path, Value::Null, &[("cookie", cookie), header]).await;
        assert_eq!((answer.status, answer.error()), (403, "cross_site_request"), "{path} {header:?}");
    }
    let me = app.request("GET", "/users/me", Value::Null, &[("cookie", &access), evil]).await;
    assert_eq!(me.status, 200, "the session lives on, and reads are not state changes: {}", me.text);
    let profile = app.request("PATCH", "/users/me", json!({"name": "Mallory"}), &[("cookie", &access), evil]).await;
    assert_eq!(profile.error(), "cross_site_request", "a JSON body does not make it same-site");

    let here = app.address.clone();
    let same = [("origin", here.as_str()), ("sec-fetch-site", "same-origin")];
    let setup = app
        .request("POST", "/auth/totp/setup", json!({"password": PASSWORD}), &[("cookie", &access), same[0], same[1]])
        .await;
    assert_eq!(setup.status, 200, "the page of this origin: {}", setup.text);
    let bearer = format!("Bearer {}", created.str("access_token"));
    let setup = app
        .request("POST", "/auth/totp/setup", json!({"password": PASSWORD}), &[("authorization", &bearer), evil])
        .await;
    assert_eq!(setup.status, 200, "bearer clients are not checked: {}", setup.text);
    let rotated = app.request("POST", "/auth/token/refresh", Value::Null, &[("cookie", &refresh), same[0]]).await;
    assert_eq!(rotated.status, 200, "the refresh cookie was never spent: {}", rotated.text);

    let token = rotated.str("access_token");
    for content_type in ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"] {
        let answer = app.raw_as("POST", "/auth/logout/all", content_type, Vec::new(), Some(&token)).await;
        assert_eq!((answer.status, answer.error()), (415, "unsupported_media_type"), "{content_type}");
    }
    assert_eq!(app.get_as("/users/me", &token).await.status, 200, "still signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_refreshes_of_one_token_give_at_most_one_success() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let created = app.sign_up(&unique_email("race-refresh")).await;
    let token = created.str("refresh_token");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, token) = (app.clone(), token.clone());
        tasks.spawn(async move { app.post("/auth/token/refresh", json!({"refresh_token": token})).await });
    }
    let answers = tasks.join_all().await;
    let winners: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    assert!(winners.len() <= 1, "{} successes", winners.len());
    assert!(answers.iter().all(|a| a.status == 200 || a.status == 401));
    for winner in winners {
        let next = app.post("/auth/token/refresh", json!({"refresh_token": winner.str("refresh_token")})).await;
        assert_eq!(next.status, 401, "the reuse revoked the family, winner included");
    }
}

#[tokio::test]
async fn the_profile_needs_a_valid_access_token() {
    let app = TestApp::spawn().await;
    let none = app.request("GET", "/users/me", Value::Null, &[]).await;
    assert_eq!((none.status, none.error()), (401, "authentication_required"));
    let junk = app.get_as("/users/me", "junk").await;
    assert_eq!((junk.status, junk.error()), (401, "invalid_token"));
}
