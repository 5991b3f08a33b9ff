//! Pages of the allowed origins (`STEPAUTH_ALLOWED_ORIGINS`: a site's `www` beside the API's
//! `auth`) may call the API from a browser, with the session cookies; every other origin
//! gets no CORS header, `null` and look-alikes included (docs/SECURITY.md, "Cross-site
//! requests").

use serde_json::{Value, json};
use stepauth::config::{AllowedOrigins, Config};
use stepauth_tests::{Answer, PASSWORD, TestApp, unique_email};

const SITE: &str = "https://www.example.com";

async fn app_allowing_the_site() -> TestApp {
    let config = Config { allowed_origins: AllowedOrigins::parse(SITE).expect("an origin"), ..Config::default() };
    TestApp::spawn_with(config).await
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|value| value.to_str().ok())
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Answer {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", method),
        ("access-control-request-headers", "content-type"),
    ];
    app.request("OPTIONS", path, Value::Null, &headers).await
}

#[tokio::test]
async fn preflights_are_answered_for_the_allowed_origins_alone() {
    let app = app_allowing_the_site().await;
    let answer = preflight(&app, "/auth/login", SITE, "POST").await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(SITE), "the origin itself, never *");
    assert_eq!(header(&answer, "access-control-allow-credentials"), Some("true"));
    assert_eq!(header(&answer, "access-control-allow-methods"), Some("POST"));
    assert_eq!(header(&answer, "access-control-allow-headers"), Some("authorization, content-type"));
    assert_eq!(header(&answer, "vary"), Some("origin"));
    let profile = preflight(&app, "/users/me", SITE, "PATCH").await;
    assert_eq!(header(&profile, "access-control-allow-methods"), Some("GET, PATCH, DELETE"));
    let device = preflight(&app, "/users/me/sessions/Kq3xV0b8N2rYt6WmZ1pL4a", SITE, "DELETE").await;
    assert_eq!(header(&device, "access-control-allow-methods"), Some("DELETE"), "a path of a route's template");

    for other in ["https://evil.example", "null", "https://www.example.com.evil.example", "http://www.example.com"] {
        let answer = preflight(&app, "/auth/login", other, "POST").await;
        assert_eq!((answer.status, answer.error()), (403, "origin_not_allowed"), "{other}");
        assert_eq!(header(&answer, "access-control-allow-origin"), None, "{other}");
        assert_eq!(header(&answer, "access-control-allow-credentials"), None, "{other}");
    }
    let nowhere = preflight(&app, "/nowhere", SITE, "POST").await;
    assert_eq!((nowhere.status, nowhere.error()), (404, "not_found"));
    let not_a_preflight = app.request("OPTIONS", "/auth/login", Value::Null, &[("origin", SITE)]).await;
    assert_eq!((not_a_preflight.status, not_a_preflight.error()), (405, "method_not_allowed"));
}

#[tokio::test]
async fn answers_carry_cors_headers_for_the_allowed_origins_alone() {
    let app = app_allowing_the_site().await;
    let login = json!({ "email": unique_email("cors"), "password": PASSWORD });
    let allowed = app.request("POST", "/auth/login", login.clone(), &[("origin", SITE)]).await;
    assert_eq!(allowed.status, 401);
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(SITE));
    assert_eq!(header(&allowed, "access-control-expose-headers"), Some("retry-after"));
    let other = app.request("POST", "/auth/login", login.clone(), &[("origin", "https://evil.example")]).await;
    assert_eq!(other.status, 401);
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    assert_eq!(header(&other, "vary"), Some("origin"), "caches keep the two apart");
    let page = app.request("GET", "/", Value::Null, &[("origin", SITE)]).await;
    assert_eq!(header(&page, "access-control-allow-origin"), Some(SITE), "the static function too");

    // None allowed (the default): no preflight is answered, no answer is readable elsewhere.
    let closed = TestApp::spawn().await;
    let answer = preflight(&closed, "/auth/login", SITE, "POST").await;
    assert_eq!((answer.status, answer.error()), (403, "origin_not_allowed"));
    let answer = closed.request("POST", "/auth/login", login, &[("origin", SITE)]).await;
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
    assert_eq!(header(&answer, "vary"), None);
}

/// The allowed sibling's page signs in with the session cookies, so its cookie-borne state
/// changes pass the cross-site check (`Sec-Fetch-Site: same-site`, `Origin` allowed); the
/// same request from any other origin is still refused.
#[tokio::test]
async fn a_cookie_state_change_from_an_allowed_origin_is_not_cross_site() {
    let app = app_allowing_the_site().await;
    let created = app.sign_up(&unique_email("sibling")).await;
    let access = format!("__Host-stepauth_access={}", created.str("access_token"));
    let body = json!({ "password": PASSWORD });
    for (origin, site) in
        [("https://evil.example", "same-site"), ("null", "same-site"), ("https://evil.example", "cross-site")]
    {
        let headers = [("cookie", access.as_str()), ("origin", origin), ("sec-fetch-site", site)];
        let answer = app.request("POST", "/auth/totp/setup", body.clone(), &headers).await;
        assert_eq!((answer.status, answer.error()), (403, "cross_site_request"), "{origin} {site}");
    }
    let headers = [("cookie", access.as_str()), ("origin", SITE), ("sec-fetch-site", "same-site")];
    let answer = app.request("POST", "/auth/totp/setup", body, &headers).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(SITE));
}
