//! Forgotten passwords and password changes (docs/SECURITY.md, "Passwords" and "Emailed codes").

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_tests::{PASSWORD, TestApp, unique_email};

const NEW: &str = "Brand-New-Horse-8!";

/// Forgot → code → verify: the reset token.
async fn reset_token(app: &TestApp, email: &str) -> String {
    let forgot = app.post("/auth/password/forgot", json!({"email": email})).await;
    assert_eq!(forgot.status, 202, "{}", forgot.text);
    let code = app.last_code(email).await;
    let verified = app.post("/auth/password/verify", json!({"email": email, "code": code})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.body["expires_in"], 900);
    verified.str("reset_token")
}

fn reset_body(token: &str, password: &str) -> Value {
    json!({"reset_token": token, "password": password, "confirm_password": password})
}

#[tokio::test]
async fn a_reset_replaces_the_password_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let email = unique_email("reset");
    let first = app.sign_up(&email).await;
    let second = app.log_in(&email).await;

    let token = reset_token(&app, &email).await;
    let reset = app.post("/auth/password/reset", reset_body(&token, NEW)).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert!(reset.body.get("access_token").is_none() && reset.cookies().is_empty(), "no automatic login");
    assert!(app.mails_to(&email).await.last().expect("a mail").subject.contains("password was changed"));

    for session in [&first, &second] {
        let refresh = app.post("/auth/token/refresh", json!({"refresh_token": session.str("refresh_token")})).await;
        assert_eq!(refresh.status, 401, "a reset kills existing refresh tokens");
        assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 401);
    }
    let old = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(old.status, 401);
    let new = app.post("/auth/login", json!({"email": email, "password": NEW})).await;
    assert_eq!(new.status, 200);

    let again = app.post("/auth/password/reset", reset_body(&token, "Third-Horse-9-Battery")).await;
    assert_eq!((again.status, again.error()), (400, "invalid_reset_token"), "single use");
}

#[tokio::test]
async fn forgot_answers_alike_for_unknown_emails() {
    let app = TestApp::spawn().await;
    let existing = unique_email("forgot");
    app.sign_up(&existing).await;
    app.clock.advance(61);
    let unknown = unique_email("forgot-unknown");
    let a = app.post("/auth/password/forgot", json!({"email": existing})).await;
    let b = app.post("/auth/password/forgot", json!({"email": unknown})).await;
    assert_eq!((a.status, &a.text), (b.status, &b.text));
    assert!(stepauth_tests::find_code(&app.mails_to(&unknown).await[0].body).is_none(), "no code for no account");
    let soon = app.post("/auth/password/forgot", json!({"email": unknown})).await;
    assert_eq!((soon.status, soon.error()), (429, "too_many_requests"), "the cooldown applies to unknown emails too");
    assert!(soon.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn reset_tokens_expire_and_codes_of_other_purposes_fail() {
    let app = TestApp::spawn().await;
    let email = unique_email("reset-expiry");
    app.sign_up(&email).await;
    let token = reset_token(&app, &email).await;
    app.clock.advance(15 * 60);
    let late = app.post("/auth/password/reset", reset_body(&token, NEW)).await;
    assert_eq!(late.error(), "invalid_reset_token");

    app.post("/auth/login/code", json!({"email": email})).await;
    let login_code = app.last_code(&email).await;
    let wrong_purpose = app.post("/auth/password/verify", json!({"email": email, "code": login_code})).await;
    assert_eq!(wrong_purpose.error(), "invalid_code", "a login code is no reset code");
    let signup_token = app.post("/auth/password/reset", reset_body("not-a-reset-token", NEW)).await;
    assert_eq!(signup_token.error(), "invalid_reset_token");
}

#[tokio::test]
async fn new_passwords_follow_the_policy_and_may_not_repeat_the_last_five() {
    let app = TestApp::spawn().await;
    let email = unique_email("history");
    app.sign_up(&email).await;
    let token = reset_token(&app, &email).await;
    let weak = app.post("/auth/password/reset", reset_body(&token, "short")).await;
    assert_eq!(weak.error(), "validation_failed");
    assert!(weak.body["password_rules"].as_array().expect("rules").contains(&json!("min_length")));
    let same = app.post("/auth/password/reset", reset_body(&token, PASSWORD)).await;
    assert_eq!((same.error(), &same.body["password_rules"]), ("validation_failed", &json!(["not_reused"])));

    let mut session = app.log_in(&email).await;
    let mut current = PASSWORD.to_owned();
    let passwords: Vec<String> = (1..=6).map(|i| format!("Rotation-Horse-{i}!")).collect();
    for next in &passwords {
        let auth = format!("Bearer {}", session.str("access_token"));
        let body = json!({"current_password": current, "password": next, "confirm_password": next});
        session = app.request("POST", "/auth/password/change", body, &[("authorization", &auth)]).await;
        assert_eq!(session.status, 200, "{}", session.text);
        current = next.clone();
    }
    let auth = format!("Bearer {}", session.str("access_token"));
    let original = PASSWORD.to_owned();
    for (old, reusable) in
        [(&passwords[0], false), (&passwords[4], false), (&current.clone(), false), (&original, true)]
    {
        let body = json!({"current_password": current, "password": old, "confirm_password": old});
        let answer = app.request("POST", "/auth/password/change", body, &[("authorization", &auth)]).await;
        if reusable {
            assert_eq!(answer.status, 200, "six changes ago is allowed again: {}", answer.text);
            return;
        }
        assert_eq!(answer.body["password_rules"], json!(["not_reused"]), "{old}");
    }
}

#[tokio::test]
async fn a_change_needs_the_current_password_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let email = unique_email("change");
    let other = app.sign_up(&email).await;
    let this = app.log_in(&email).await;
    let auth = format!("Bearer {}", this.str("access_token"));

    let wrong = json!({"current_password": "Not-The-Password-1", "password": NEW, "confirm_password": NEW});
    let refused = app.request("POST", "/auth/password/change", wrong, &[("authorization", &auth)]).await;
    assert_eq!(
        (refused.status, refused.error(), refused.body["attempts_remaining"].as_u64()),
        (401, "invalid_credentials", Some(2))
    );
    let missing = app
        .request(
            "POST",
            "/auth/password/change",
            json!({"password": NEW, "confirm_password": NEW}),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(missing.body["fields"]["current_password"][0], "is required");
    let anonymous = app
        .post("/auth/password/change", json!({"current_password": PASSWORD, "password": NEW, "confirm_password": NEW}))
        .await;
    assert_eq!(anonymous.status, 401);

    let body = json!({"current_password": PASSWORD, "password": NEW, "confirm_password": NEW});
    let changed = app.request("POST", "/auth/password/change", body, &[("authorization", &auth)]).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert!(changed.cookie("__Host-stepauth_access").is_some(), "this client continues with a fresh session");
    assert_eq!(app.get_as("/users/me", &changed.str("access_token")).await.status, 200);
    assert_eq!(app.get_as("/users/me", &other.str("access_token")).await.status, 401, "other sessions end");
    let refresh = app.post("/auth/token/refresh", json!({"refresh_token": other.str("refresh_token")})).await;
    assert_eq!(refresh.status, 401);
    assert!(app.mails_to(&email).await.last().expect("a mail").subject.contains("password was changed"));
    assert_eq!(app.post("/auth/login", json!({"email": email, "password": NEW})).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_reset_completions_change_the_password_once() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("reset-race");
    app.sign_up(&email).await;
    let token = reset_token(&app, &email).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (app, token) = (app.clone(), token.clone());
        tasks.spawn(async move {
            let answer = app.post("/auth/password/reset", reset_body(&token, &format!("Racing-Horse-{i}!"))).await;
            (answer.status, answer.error().to_owned(), i)
        });
    }
    let answers = tasks.join_all().await;
    let winners: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, e, _)| *s == 200 || e == "invalid_reset_token" || e == "conflict"), "{answers:?}");
    let password = format!("Racing-Horse-{}!", winners[0].2);
    assert_eq!(app.post("/auth/login", json!({"email": email, "password": password})).await.status, 200);
}

#[tokio::test]
async fn guessing_reset_codes_across_resends_stops_within_the_budget() {
    let app = TestApp::spawn().await;
    let email = unique_email("reset-brute");
    app.sign_up(&email).await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        let sent = app.post("/auth/code/resend", json!({"email": email, "purpose": "password_reset"})).await;
        assert_eq!(sent.status, 202, "{}", sent.text);
        let code = app.last_code(&email).await;
        for guess in 1..=5u32 {
            let wrong = format!("{:06}", (code.parse::<u32>().unwrap_or(0) + guess) % 1_000_000);
            answers.push(app.post("/auth/password/verify", json!({"email": email, "code": wrong})).await.status);
        }
        app.clock.advance(61);
    }
    assert_eq!(answers.iter().filter(|s| **s == 400).count(), 9, "{answers:?}");
    assert!(answers[9..].iter().all(|s| *s == 429), "the budget is spent after ten: {answers:?}");
    let code = app.last_code(&email).await;
    let right = app.post("/auth/password/verify", json!({"email": email, "code": code})).await;
    assert_eq!(right.status, 429, "even the right code waits for the window");
    app.clock.advance(3_600);
    let token = reset_token(&app, &email).await;
    assert!(!token.is_empty(), "a new window works again");
}

#[tokio::test]
async fn locked_accounts_cannot_reset_unless_configured() {
    for unlocks in [false, true] {
        let app = TestApp::spawn_with(Config { reset_unlocks: unlocks, ..Config::default() }).await;
        let email = unique_email("locked-reset");
        app.sign_up(&email).await;
        for _ in 0..3 {
            app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
        }
        let forgot = app.post("/auth/password/forgot", json!({"email": email})).await;
        assert_eq!(forgot.status, 202);
        let mail = app.mails_to(&email).await.pop().expect("a mail");
        if !unlocks {
            assert!(
                mail.subject.contains("locked") && stepauth_tests::find_code(&mail.body).is_none(),
                "{}",
                mail.subject
            );
            continue;
        }
        let code = stepauth_tests::find_code(&mail.body).expect("a reset code");
        let verified = app.post("/auth/password/verify", json!({"email": email, "code": code})).await;
        let reset = app.post("/auth/password/reset", reset_body(&verified.str("reset_token"), NEW)).await;
        assert_eq!(reset.status, 200, "{}", reset.text);
        assert_eq!(
            app.post("/auth/login", json!({"email": email, "password": NEW})).await.status,
            200,
            "the reset unlocked"
        );
    }
}

/// A reset token is bound to the state it was issued in: a password change, logout-all or
/// another completed reset since then kills it.
#[tokio::test]
async fn reset_tokens_die_with_a_change_logout_all_or_another_reset() {
    let app = TestApp::spawn().await;
    let email = unique_email("reset-bound");
    let access = app.sign_up(&email).await.str("access_token");
    let bearer = format!("Bearer {access}");

    let before_change = reset_token(&app, &email).await;
    app.clock.advance(60);
    let change = json!({"current_password": PASSWORD, "password": NEW, "confirm_password": NEW});
    let changed = app.request("POST", "/auth/password/change", change, &[("authorization", &bearer)]).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let stale = app.post("/auth/password/reset", reset_body(&before_change, "Third-Horse-9-Battery")).await;
    assert_eq!((stale.status, stale.error()), (400, "invalid_reset_token"), "a change kills it");

    app.clock.advance(60);
    let before_logout_all = reset_token(&app, &email).await;
    let bearer = format!("Bearer {}", changed.str("access_token"));
    let all = app.request("POST", "/auth/logout/all", Value::Null, &[("authorization", &bearer)]).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let stale = app.post("/auth/password/reset", reset_body(&before_logout_all, "Third-Horse-9-Battery")).await;
    assert_eq!(stale.error(), "invalid_reset_token", "logout-all kills it");

    app.clock.advance(60);
    let first = reset_token(&app, &email).await;
    app.clock.advance(60);
    let second = reset_token(&app, &email).await;
    assert_eq!(app.post("/auth/password/reset", reset_body(&second, "Third-Horse-9-Battery")).await.status, 200);
    let stale = app.post("/auth/password/reset", reset_body(&first, "Fourth-Horse-10-Battery")).await;
    assert_eq!(stale.error(), "invalid_reset_token", "another reset kills it");
}

/// A reset token obtained before the account locked does not reset (or unlock) it while
/// resets may not unlock; the account stays locked with its password unchanged.
#[tokio::test]
async fn a_reset_token_from_before_the_lock_does_not_unlock() {
    let app = TestApp::spawn().await;
    let email = unique_email("reset-before-lock");
    app.sign_up(&email).await;
    let token = reset_token(&app, &email).await;
    for _ in 0..3 {
        app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    }
    let reset = app.post("/auth/password/reset", reset_body(&token, NEW)).await;
    assert_eq!((reset.status, reset.error()), (423, "account_locked"), "{}", reset.text);
    let login = app.post("/auth/login", json!({"email": email, "password": NEW})).await;
    assert_eq!(login.status, 423, "still locked, and the new password was never set");
}
