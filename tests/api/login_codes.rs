//! Login by emailed code, and resends.

use serde_json::json;
use stepauth_tests::{PASSWORD, TestApp, find_code, unique_email};

#[tokio::test]
async fn a_login_code_gives_a_session_like_a_password_login() {
    let app = TestApp::spawn().await;
    let email = unique_email("code-login");
    let created = app.sign_up(&email).await;
    let asked = app.post("/auth/login/code", json!({"email": email.to_uppercase()})).await;
    assert_eq!(asked.status, 202);
    let mail = app.mails_to(&email).await.pop().expect("a mail");
    assert!(mail.subject.contains("login code"), "{}", mail.subject);
    let code = find_code(&mail.body).expect("a code");

    let session = app.post("/auth/login/code/verify", json!({"email": email, "code": code})).await;
    assert_eq!(session.status, 200, "{}", session.text);
    assert_eq!(session.body["user"]["id"], created.body["user"]["id"]);
    assert_eq!(session.body["token_type"], "Bearer");
    assert!(session.cookie("__Host-stepauth_access").is_some());
    assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 200);
    let again = app.post("/auth/login/code/verify", json!({"email": email, "code": code})).await;
    assert_eq!(again.error(), "invalid_code", "once only");
    let signup_code_as_login = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!(signup_code_as_login.error(), "invalid_code", "a login code is no sign-up code");
}

#[tokio::test]
async fn login_codes_answer_alike_for_unknown_emails() {
    let app = TestApp::spawn().await;
    let existing = unique_email("code-existing");
    app.sign_up(&existing).await;
    let unknown = unique_email("code-unknown");
    let a = app.post("/auth/login/code", json!({"email": existing})).await;
    let b = app.post("/auth/login/code", json!({"email": unknown})).await;
    assert_eq!((a.status, &a.text), (b.status, &b.text));
    assert!(find_code(&app.mails_to(&unknown).await[0].body).is_none(), "an unknown address gets no code");
    let guess = app.post("/auth/login/code/verify", json!({"email": unknown, "code": "123456"})).await;
    let real = app.post("/auth/login/code/verify", json!({"email": existing, "code": "000000"})).await;
    if find_code(&app.mails_to(&existing).await.pop().expect("a mail").body).as_deref() != Some("000000") {
        assert_eq!((guess.status, &guess.text), (real.status, &real.text));
    }
}

#[tokio::test]
async fn a_resend_replaces_the_previous_code() {
    let app = TestApp::spawn().await;
    let email = unique_email("resend");
    app.sign_up(&email).await;
    app.post("/auth/login/code", json!({"email": email})).await;
    let first = app.last_code(&email).await;
    app.clock.advance(60);
    let resent = app.post("/auth/code/resend", json!({"email": email, "purpose": "login"})).await;
    assert_eq!(resent.status, 202, "{}", resent.text);
    let second = app.last_code(&email).await;
    if first != second {
        let old = app.post("/auth/login/code/verify", json!({"email": email, "code": first})).await;
        assert_eq!(old.error(), "invalid_code", "the old code is replaced");
    }
    let new = app.post("/auth/login/code/verify", json!({"email": email, "code": second})).await;
    assert_eq!(new.status, 200, "{}", new.text);
}

#[tokio::test]
async fn resends_are_limited_alike_for_every_address() {
    let app = TestApp::spawn().await;
    let existing = unique_email("resend-existing");
    app.sign_up(&existing).await;
    app.clock.advance(3_600);
    for email in [existing, unique_email("resend-unknown")] {
        for purpose in ["login", "password_reset", "signup"] {
            let first = app.post("/auth/code/resend", json!({"email": email, "purpose": purpose})).await;
            assert_eq!(first.status, 202, "{purpose}: {}", first.text);
            let soon = app.post("/auth/code/resend", json!({"email": email, "purpose": purpose})).await;
            assert_eq!((soon.status, soon.error()), (429, "too_many_requests"), "{purpose}");
            let retry: u64 = soon.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
            assert_eq!(retry, 60, "{purpose}");
        }
        for _ in 0..4 {
            app.clock.advance(60);
            assert_eq!(app.post("/auth/code/resend", json!({"email": email, "purpose": "login"})).await.status, 202);
        }
        app.clock.advance(60);
        let capped = app.post("/auth/code/resend", json!({"email": email, "purpose": "login"})).await;
        assert_eq!(capped.status, 429, "five an hour");
        let retry: u64 = capped.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert_eq!(retry, 3_600 - 5 * 60);
        app.clock.advance(3_600);
    }
}

#[tokio::test]
async fn a_signup_resend_keeps_the_name() {
    let app = TestApp::spawn().await;
    let email = unique_email("resend-signup");
    app.post("/auth/signup", json!({"name": "Resent Name", "email": email})).await;
    app.clock.advance(60);
    app.post("/auth/code/resend", json!({"email": email, "purpose": "signup"})).await;
    let code = app.last_code(&email).await;
    let verified = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    let body =
        json!({"signup_token": verified.str("signup_token"), "password": PASSWORD, "confirm_password": PASSWORD});
    let created = app.post("/auth/signup/complete", body).await;
    assert_eq!(created.body["user"]["name"], "Resent Name");
}

#[tokio::test]
async fn resend_needs_a_known_purpose() {
    let app = TestApp::spawn().await;
    for purpose in [json!("admin"), json!(""), json!(1), json!(null)] {
        let answer = app.post("/auth/code/resend", json!({"email": unique_email("p"), "purpose": purpose})).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{purpose}");
        assert!(answer.body["fields"]["purpose"].is_array());
    }
}
