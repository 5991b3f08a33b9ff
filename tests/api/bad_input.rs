//! Bad input never gets a 500: every route answers malformed, missing, mistyped, oversized
//! and odd input with a 4xx and the error shape `{"error", "message"[, "fields"]}`.

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth::routes::ROUTES;
use stepauth_tests::{Answer, TestApp, unique_email};

fn assert_client_error(answer: &Answer, what: &str) {
    assert!((400..500).contains(&answer.status), "{what}: {} {}", answer.status, answer.text);
    assert!(answer.body["error"].is_string() && answer.body["message"].is_string(), "{what}: {}", answer.text);
    assert_eq!(answer.headers["content-type"], "application/json", "{what}");
}

#[tokio::test]
async fn every_route_refuses_malformed_bodies() {
    let admin = unique_email("admin");
    let app = TestApp::spawn_with(Config { admin_emails: vec![admin.clone()], ..Config::default() }).await;
    let token = app.sign_up(&admin).await.str("access_token");
    let token = Some(token.as_str());
    for route in ROUTES.iter().filter(|r| r.method == "POST" || r.method == "PATCH") {
        let path = route.path;
        for (body, code) in [
            ("{", "invalid_json"),
            ("[1,2]", "invalid_json"),
            ("\"text\"", "invalid_json"),
            ("{\"a\":\"\\ud800\"}", "invalid_json"),
            ("nul\u{0}l", "invalid_json"),
        ] {
            let method = route.method.as_str();
            let answer = app.raw_as(method, path, "application/json", body.as_bytes().to_vec(), token).await;
            assert_client_error(&answer, &format!("{path} {body:?}"));
            assert_eq!(answer.error(), code, "{path} {body:?}");
        }
        let answer =
            app.raw_as(route.method.as_str(), path, "application/json", vec![0xff, 0xfe, b'{', b'}'], token).await;
        assert_eq!(answer.error(), "invalid_json", "{path}: bytes that are not UTF-8");
        let answer = app.raw_as(route.method.as_str(), path, "text/plain", b"{}".to_vec(), token).await;
        assert_eq!((answer.status, answer.error()), (415, "unsupported_media_type"), "{path}");
        let huge = format!("{{\"email\":\"{}\"}}", "a".repeat(1024 * 1024));
        let answer = app.raw_as(route.method.as_str(), path, "application/json", huge.into_bytes(), token).await;
        assert_eq!((answer.status, answer.error()), (413, "payload_too_large"), "{path}");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let answer = app.raw_as(route.method.as_str(), path, "application/json", deep.into_bytes(), token).await;
        assert_client_error(&answer, &format!("{path} deeply nested"));
    }
}

#[tokio::test]
async fn missing_and_mistyped_fields_are_named() {
    let app = TestApp::spawn().await;
    let cases = [
        ("/auth/signup", json!({}), vec!["name", "email"]),
        ("/auth/signup", json!({"name": 5, "email": ["a@b.co"]}), vec!["name", "email"]),
        ("/auth/signup", json!({"name": "A", "email": "a@example.com", "admin": true}), vec!["admin"]),
        ("/auth/signup/verify", json!({"email": null, "code": 123456}), vec!["email", "code"]),
        ("/auth/signup/verify", json!({"email": "a@example.com", "code": "12345"}), vec!["code"]),
        (
            "/auth/signup/complete",
            json!({"signup_token": {}, "password": 1}),
            vec!["signup_token", "password", "confirm_password"],
        ),
        ("/auth/login", json!({"email": "not an email", "password": ""}), vec!["email", "password"]),
        ("/auth/login", json!({"email": "a@example.com", "password": "x".repeat(129)}), vec!["password"]),
        ("/auth/token/refresh", json!({"refresh_token": 42}), vec!["refresh_token"]),
        ("/auth/logout", json!({"refresh_token": false, "extra": 1}), vec!["refresh_token", "extra"]),
    ];
    for (path, body, fields) in cases {
        let answer = app.post(path, body.clone()).await;
        assert_client_error(&answer, &format!("{path} {body}"));
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{path} {body}");
        let named: Vec<&str> = answer.body["fields"].as_object().expect("fields").keys().map(String::as_str).collect();
        for field in fields {
            assert!(named.contains(&field), "{path} {body}: {field} not in {named:?}");
        }
    }
}

#[tokio::test]
async fn odd_unicode_is_refused_or_kept_exactly() {
    let app = TestApp::spawn().await;
    // Control and format characters (Cc, Cf) and line or paragraph separators, wherever
    // they stand: direction overrides and marks, zero-width characters, tags, the BOM.
    let refused = [
        "\u{202E}gnp.exe",
        "a\u{0007}b",
        "\u{FEFF}",
        "x\u{2066}y",
        "\u{0}",
        "Ann\u{061C}",
        "A\u{200B}nn",
        "A\u{200D}nn",
        "Ann\u{200E}",
        "Ann\u{200F}",
        "Ann\u{2028}Support",
        "Ann\u{2029}Lee",
        "Ann\u{2060}",
        "Ann\u{E0041}\u{E007F}",
        "Ann\u{00AD}",
        "Ann\u{180E}",
    ];
    for name in refused {
        let answer = app.post("/auth/signup", json!({"name": name, "email": unique_email("odd")})).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{name:?}");
        assert!(answer.body["fields"]["name"].is_array());
    }
    for email in ["ünï@example.com", "a@exämple.com", "a\u{200B}@example.com", "\u{FF41}@example.com"] {
        let answer = app.post("/auth/signup", json!({"name": "N", "email": email})).await;
        assert_eq!(answer.error(), "validation_failed", "{email:?}");
    }
    let email = unique_email("emoji");
    let token = app.verified_signup("Zoë 山田 👩🏽 ❤️", &email).await;
    let password = "Pässwörd-😀-ünïcode-9";
    let created = app
        .post(
            "/auth/signup/complete",
            json!({"signup_token": token, "password": password, "confirm_password": password}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["user"]["name"], "Zoë 山田 👩🏽 ❤️");
    let login = app.post("/auth/login", json!({"email": email, "password": password})).await;
    assert_eq!(login.status, 200, "unicode passwords are neither truncated nor changed");
    let nfd = "Pa\u{0308}sswo\u{0308}rd-😀-ünïcode-9";
    let other = app.post("/auth/login", json!({"email": email, "password": nfd})).await;
    assert_eq!(other.status, 401, "a differently encoded password is a different password");
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_answer_json() {
    let app = TestApp::spawn().await;
    for route in ROUTES {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            // A method some route takes on this path (a template's included: a DELETE of
            // `/users/me/sessions/end-others` is `DELETE /users/me/sessions/{id}`'s).
            if stepauth::routes::find(&method.parse().expect("a method"), route.path).is_ok() {
                continue;
            }
            let answer = app.request(method, route.path, Value::Null, &[]).await;
            assert_eq!((answer.status, answer.error()), (405, "method_not_allowed"), "{method} {}", route.path);
            let allow = answer.headers["allow"].to_str().expect("ascii");
            assert!(allow.split(", ").any(|m| m == route.method.as_str()), "{allow}");
        }
    }
    for path in ["/auth", "/auth/signup/", "/users/me/x", "/%ff", "/app.jsx"] {
        let answer = app.request("GET", path, Value::Null, &[]).await;
        assert_eq!((answer.status, answer.error()), (404, "not_found"), "{path}");
    }
}

/// Every answer tells the browser to use HTTPS only: the page, its assets, JSON successes,
/// errors of every kind and unknown routes (docs/SECURITY.md, "Transport").
#[tokio::test]
async fn every_answer_carries_strict_transport_security() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("hsts")).await;
    let mut answers = vec![("sign-up", created)];
    let static_paths = ["/", "/app.js", "/app.css", "/docs", "/docs.js", "/docs.css", "/openapi.json"];
    for path in
        static_paths.into_iter().chain(["/.well-known/jwks.json", "/.well-known/openid-configuration", "/nowhere"])
    {
        answers.push((path, app.request("GET", path, Value::Null, &[]).await));
    }
    answers.push(("wrong method", app.request("DELETE", "/auth/login", Value::Null, &[]).await));
    answers.push(("bad JSON", app.raw("POST", "/auth/login", "application/json", b"{".to_vec()).await));
    answers.push(("no token", app.request("GET", "/users/me", Value::Null, &[]).await));
    for (what, answer) in answers {
        let hsts = answer.headers.get("strict-transport-security").map(|v| v.to_str().expect("ascii").to_owned());
        assert_eq!(hsts.as_deref(), Some("max-age=63072000; includeSubDomains"), "{what}");
    }
}
