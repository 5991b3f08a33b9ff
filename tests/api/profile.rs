//! Profile updates and the activity log.

use serde_json::{Value, json};
use stepauth_tests::{PASSWORD, TestApp, unique_email};

async fn patch(app: &TestApp, token: &str, body: Value) -> stepauth_tests::Answer {
    app.request("PATCH", "/users/me", body, &[("authorization", &format!("Bearer {token}"))]).await
}

#[tokio::test]
async fn the_name_can_change_and_nothing_else() {
    let app = TestApp::spawn().await;
    let email = unique_email("profile");
    let token = app.sign_up(&email).await.str("access_token");
    let renamed = patch(&app, &token, json!({"name": "  Zoë Renamed  "})).await;
    assert_eq!((renamed.status, renamed.body["name"].as_str()), (200, Some("Zoë Renamed")), "{}", renamed.text);
    assert_eq!(app.get_as("/users/me", &token).await.body["name"], "Zoë Renamed");

    let unknown = patch(&app, &token, json!({"email": "other@example.com"})).await;
    assert_eq!((unknown.status, unknown.body["fields"]["email"][0].as_str()), (400, Some("is not a recognised field")));
    for bad in
        [json!({"name": 5}), json!({"name": ""}), json!({"name": "a\u{202E}b"}), json!({"name": "x".repeat(101)})]
    {
        let answer = patch(&app, &token, bad.clone()).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{bad}");
    }
    let nothing = patch(&app, &token, json!({})).await;
    assert_eq!((nothing.status, nothing.body["name"].as_str()), (200, Some("Zoë Renamed")));
    let anonymous = app.request("PATCH", "/users/me", json!({"name": "X"}), &[]).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn activity_lists_auth_events_newest_first_with_their_source() {
    let app = TestApp::spawn().await;
    let email = unique_email("activity");
    app.sign_up(&email).await;
    app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    let session = app
        .request(
            "POST",
            "/auth/login",
            json!({"email": email, "password": PASSWORD}),
            &[("user-agent", "activity-test/1.0"), ("x-forwarded-for", "198.51.100.7")],
        )
        .await;
    let token = session.str("access_token");
    patch(&app, &token, json!({"name": "Active"})).await;

    let log = app.get_as("/users/me/activity", &token).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let items = log.body["items"].as_array().expect("items");
    let events: Vec<&str> = items.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["profile_update", "login_success", "login_failure", "signup_completed"]);
    let login = &items[1];
    assert_eq!((&login["method"], &items[3]["method"]), (&json!("password"), &json!("password")));
    assert!(items[0]["method"].is_null() && items[2]["method"].is_null(), "only sign-ups and logins have one");
    assert_eq!(login["user_agent"], "activity-test/1.0");
    assert_eq!(login["source_ip"], "127.0.0.1", "from the connection, never from X-Forwarded-For");
    assert!(login["at"].as_str().expect("time").ends_with('Z'));
    assert!(log.body["next_cursor"].is_null());

    let first = app.get_as("/users/me/activity?limit=3", &token).await;
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(3));
    let cursor = first.body["next_cursor"].as_str().expect("more to come");
    let rest = app.get_as(&format!("/users/me/activity?limit=3&cursor={cursor}"), &token).await;
    assert_eq!(rest.body["items"][0]["event"], "signup_completed");
    assert!(rest.body["next_cursor"].is_null());

    for bad in ["?limit=0", "?limit=abc", "?sort=asc", "?limit=1&limit=2", "?cursor=a&cursor=b"] {
        let answer = app.get_as(&format!("/users/me/activity{bad}"), &token).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{bad}: {}", answer.text);
    }
    // A cursor the list did not give out: well formed or not, it is not one of its own.
    for bad in ["?cursor=bm90LWEta2V5", "?cursor=%%%", "?cursor=_w"] {
        let answer = app.get_as(&format!("/users/me/activity{bad}"), &token).await;
        assert_eq!((answer.status, answer.error()), (400, "invalid_cursor"), "{bad}: {}", answer.text);
    }
    app.clock.advance(91 * 24 * 3600);
    let fresh = app.log_in(&email).await.str("access_token");
    let later = app.get_as("/users/me/activity", &fresh).await;
    let events: Vec<&str> =
        later.body["items"].as_array().expect("items").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["login_success"], "entries are kept 90 days");
}

#[tokio::test]
async fn logouts_and_code_sends_are_recorded() {
    let app = TestApp::spawn().await;
    let email = unique_email("activity-more");
    let first = app.sign_up(&email).await;
    app.post("/auth/logout", json!({"refresh_token": first.str("refresh_token")})).await;
    app.post("/auth/login/code", json!({"email": email})).await;
    let code = app.last_code(&email).await;
    let session = app.post("/auth/login/code/verify", json!({"email": email, "code": code})).await;
    let token = session.str("access_token");
    let auth = format!("Bearer {token}");
    app.request("POST", "/auth/logout/all", Value::Null, &[("authorization", &auth)]).await;
    let token = app.log_in(&email).await.str("access_token");
    let log = app.get_as("/users/me/activity", &token).await;
    let events: Vec<&str> =
        log.body["items"].as_array().expect("items").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["login_success", "logout_all", "login_success", "code_sent", "logout", "signup_completed"]);
    assert_eq!(log.body["items"][2]["method"], "email_code", "{}", log.text);
}
