//! The embedded local server (README command one): the whole flow with curl-like requests,
//! codes read from `GET /_local/outbox`.

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_local::Server;
use stepauth_tests::{PASSWORD, find_code};

#[tokio::test]
async fn a_newcomer_can_sign_up_log_in_refresh_and_log_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let server = tokio::spawn(Server::embedded(Config::default()).await.expect("the embedded server").serve(listener));
    let client = stepauth_tests::http_client_builder().no_proxy().build().expect("client");
    let post = |path: &str, body: Value| {
        let request = client.post(format!("{base}{path}")).json(&body);
        async move {
            let response = request.send().await.expect("answers");
            (response.status().as_u16(), response.json::<Value>().await.expect("JSON"))
        }
    };

    let (status, _) = post("/auth/signup", json!({"name": "Newcomer", "email": "new@example.com"})).await;
    assert_eq!(status, 202);
    let outbox: Value =
        client.get(format!("{base}/_local/outbox")).send().await.expect("outbox").json().await.expect("JSON");
    let mail = &outbox.as_array().expect("a list")[0];
    assert_eq!(mail["to"], "new@example.com");
    for field in ["subject", "text", "html", "sent_at"] {
        assert!(mail[field].is_string(), "{field}");
    }
    let code = find_code(mail["text"].as_str().expect("text")).expect("a code");

    let (status, verified) = post("/auth/signup/verify", json!({"email": "new@example.com", "code": code})).await;
    assert_eq!(status, 200);
    let body = json!({"signup_token": verified["signup_token"], "password": PASSWORD, "confirm_password": PASSWORD});
    let (status, created) = post("/auth/signup/complete", body).await;
    assert_eq!((status, created["message"].as_str()), (201, Some("User created successfully")));

    let (status, login) = post("/auth/login", json!({"email": "new@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 200);
    let (status, refreshed) = post("/auth/token/refresh", json!({"refresh_token": login["refresh_token"]})).await;
    assert_eq!(status, 200);
    let me = client
        .get(format!("{base}/users/me"))
        .bearer_auth(refreshed["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("answers");
    assert_eq!(me.status(), 200);
    let (status, _) = post("/auth/logout", json!({"refresh_token": refreshed["refresh_token"]})).await;
    assert_eq!(status, 200);

    let (status, _) = post("/auth/login/code", json!({"email": "new@example.com"})).await;
    assert_eq!(status, 202);
    let outbox: Value =
        client.get(format!("{base}/_local/outbox")).send().await.expect("outbox").json().await.expect("JSON");
    let last = outbox.as_array().expect("a list").last().expect("a mail").clone();
    assert!(last["subject"].as_str().expect("subject").contains("login code"));
    let code = find_code(last["text"].as_str().expect("text")).expect("a code in the text part");
    assert!(last["html"].as_str().expect("html").contains(&code), "and in the HTML part");
    let (status, by_code) = post("/auth/login/code/verify", json!({"email": "new@example.com", "code": code})).await;
    assert_eq!((status, by_code["user"]["email"].as_str()), (200, Some("new@example.com")));

    let page = client.get(format!("{base}/")).send().await.expect("answers");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    assert!(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(page.text().await.expect("a page").contains("data-stepauth-login"), "a host page with the modal's button");
    for asset in ["/app.js", "/app.css"] {
        assert_eq!(client.get(format!("{base}{asset}")).send().await.expect("answers").status(), 200, "{asset}");
    }
    let script = client.get(format!("{base}/app.js")).send().await.expect("answers").text().await.expect("a script");
    assert!(script.contains("Google Authentication"), "the modal's cards are in its script");
    // The document it serves is the one the code describes, every route an operation.
    let served = client.get(format!("{base}/openapi.json")).send().await.expect("answers").text().await.expect("text");
    assert_eq!(served, stepauth::openapi::document_text());
    let document: Value = serde_json::from_str(&served).expect("JSON");
    for route in stepauth::routes::ROUTES {
        let method = route.method.as_str().to_ascii_lowercase();
        assert!(document["paths"][route.path][&method].is_object(), "{method} {} is in /openapi.json", route.path);
    }

    let wrong = client.delete(format!("{base}/_local/outbox")).send().await.expect("answers");
    assert_eq!(wrong.status(), 405);
    server.abort();
}
