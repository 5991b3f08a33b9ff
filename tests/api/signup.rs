//! Sign-up: codes, their rules, and account creation.

use serde_json::json;
use stepauth::config::Config;
use stepauth_tests::{PASSWORD, TestApp, unique_email};

#[tokio::test]
async fn the_whole_happy_path() {
    let app = TestApp::spawn().await;
    let email = unique_email("happy");

    let started = app.post("/auth/signup", json!({"name": "Ann Example", "email": email})).await;
    assert_eq!(started.status, 202);
    let mails = app.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("sign-up code"), "{}", mails[0].subject);

    let code = app.last_code(&email).await;
    let verified = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.body["expires_in"], 900);
    let token = verified.str("signup_token");

    let created = app
        .post(
            "/auth/signup/complete",
            json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["message"], "User created successfully");
    assert_eq!(created.body["user"]["email"], email);
    assert_eq!(created.body["user"]["name"], "Ann Example");
    assert_eq!(created.body["user"]["mfa_enabled"], false);
    assert_eq!(created.body["token_type"], "Bearer");
    assert_eq!(created.headers["cache-control"], "no-store");
    assert!(created.cookie("__Host-stepauth_access").is_some());
    assert_eq!(created.cookie("__Secure-stepauth_refresh"), Some(created.str("refresh_token")));

    let me = app.get_as("/users/me", &created.str("access_token")).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], email);
    for field in ["id", "email", "name", "mfa_enabled", "created_at", "last_login"] {
        assert!(me.body.get(field).is_some(), "profile has {field}");
    }

    let logged_in = app.log_in(&email).await;
    assert_eq!(logged_in.body["user"]["id"], created.body["user"]["id"]);
    let refreshed = app.post("/auth/token/refresh", json!({"refresh_token": logged_in.str("refresh_token")})).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let me = app.get_as("/users/me", &refreshed.str("access_token")).await;
    assert_eq!(me.status, 200);

    let out = app.post("/auth/logout", json!({"refresh_token": refreshed.str("refresh_token")})).await;
    assert_eq!(out.status, 200);
    assert!(out.cookies().iter().all(|c| c.contains("Max-Age=0")), "{:?}", out.cookies());
    let again = app.post("/auth/token/refresh", json!({"refresh_token": refreshed.str("refresh_token")})).await;
    assert_eq!((again.status, again.error()), (401, "invalid_token"));
    let me = app.get_as("/users/me", &refreshed.str("access_token")).await;
    assert_eq!(me.status, 401, "access tokens die with their session");
}

#[tokio::test]
async fn sign_up_answers_the_same_for_existing_accounts() {
    let app = TestApp::spawn().await;
    let existing = unique_email("existing");
    app.sign_up(&existing).await;
    app.clock.advance(61);
    let fresh = unique_email("fresh");

    let a = app.post("/auth/signup", json!({"name": "X", "email": existing})).await;
    let b = app.post("/auth/signup", json!({"name": "X", "email": fresh})).await;
    assert_eq!((a.status, &a.text), (b.status, &b.text));
    let names = |h: &reqwest::header::HeaderMap| {
        let mut n: Vec<String> = h.keys().map(|k| k.as_str().to_owned()).filter(|k| k != "date").collect();
        n.sort();
        n
    };
    assert_eq!(names(&a.headers), names(&b.headers));
    assert!(a.cookies().is_empty() && b.cookies().is_empty());

    let to_existing = app.mails_to(&existing).await;
    let last = to_existing.last().expect("a mail");
    assert!(last.subject.contains("already have"), "{}", last.subject);
    assert!(stepauth_tests::find_code(&last.body).is_none(), "no code goes to an existing account");
}

#[tokio::test]
async fn emails_are_case_folded_and_trimmed() {
    let app = TestApp::spawn().await;
    let email = unique_email("fold");
    let shouted = format!("  {}  ", email.to_uppercase());
    let token = app.verified_signup("Fold", &shouted).await;
    let created = app
        .post(
            "/auth/signup/complete",
            json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD}),
        )
        .await;
    assert_eq!(created.body["user"]["email"], email);
    let login = app.post("/auth/login", json!({"email": email.to_uppercase(), "password": PASSWORD})).await;
    assert_eq!(login.status, 200);
}

#[tokio::test]
async fn wrong_expired_and_reused_codes_fail() {
    let app = TestApp::spawn().await;
    let email = unique_email("codes");
    app.post("/auth/signup", json!({"name": "C", "email": email})).await;
    let code = app.last_code(&email).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };

    let answer = app.post("/auth/signup/verify", json!({"email": email, "code": wrong})).await;
    assert_eq!((answer.status, answer.error()), (400, "invalid_code"));

    let answer = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!(answer.status, 200, "one wrong guess does not kill the code");
    let reused = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!((reused.status, reused.error()), (400, "invalid_code"));

    app.clock.advance(61);
    app.post("/auth/signup", json!({"name": "C", "email": email})).await;
    let code = app.last_code(&email).await;
    app.clock.advance(600);
    let expired = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!((expired.status, expired.error()), (400, "invalid_code"), "ten minutes is the limit");
}

#[tokio::test]
async fn a_code_for_another_email_fails() {
    let app = TestApp::spawn().await;
    let (a, b) = (unique_email("a"), unique_email("b"));
    app.post("/auth/signup", json!({"name": "A", "email": a})).await;
    app.post("/auth/signup", json!({"name": "B", "email": b})).await;
    let code_a = app.last_code(&a).await;
    let answer = app.post("/auth/signup/verify", json!({"email": b, "code": code_a})).await;
    if app.last_code(&b).await != code_a {
        assert_eq!(answer.error(), "invalid_code");
    }
}

#[tokio::test]
async fn five_wrong_guesses_kill_the_code() {
    let app = TestApp::spawn().await;
    let email = unique_email("guess");
    app.post("/auth/signup", json!({"name": "G", "email": email})).await;
    let code = app.last_code(&email).await;
    let wrong: Vec<String> =
        (0..5).map(|i| format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1 + i) % 1_000_000)).collect();
    for guess in &wrong {
        let answer = app.post("/auth/signup/verify", json!({"email": email, "code": guess})).await;
        assert_eq!(answer.error(), "invalid_code");
    }
    let right = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!((right.status, right.error()), (400, "invalid_code"), "the right code fails after five wrong ones");
}

#[tokio::test]
async fn guesses_across_resends_stop_at_the_window_budget() {
    let app = TestApp::spawn().await;
    let email = unique_email("budget");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let sent = app.post("/auth/signup", json!({"name": "B", "email": email})).await;
        assert_eq!(sent.status, 202, "{}", sent.text);
        for _ in 0..5 {
            let code = app.last_code(&email).await;
            let wrong = format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1) % 1_000_000);
            statuses.push(app.post("/auth/signup/verify", json!({"email": email, "code": wrong})).await);
        }
        app.clock.advance(61);
    }
    let rejected = statuses.iter().filter(|a| a.error() == "invalid_code").count();
    let limited: Vec<_> = statuses.iter().filter(|a| a.status == 429).collect();
    assert_eq!(rejected, 9, "ten failures per hour: nine rejections, then the budget is spent");
    assert_eq!(limited.len(), 6);
    assert!(limited.iter().all(|a| a.headers.contains_key("retry-after")));
    let code = app.last_code(&email).await;
    let right = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!(right.status, 429, "a fresh code does not reset the budget");
}

#[tokio::test]
async fn resends_have_a_cooldown_and_an_hourly_cap_for_unknown_emails_too() {
    let app = TestApp::spawn().await;
    let existing = unique_email("cap-existing");
    app.sign_up(&existing).await;
    app.clock.advance(3_600);
    for email in [existing, unique_email("cap-unknown")] {
        let first = app.post("/auth/signup", json!({"name": "R", "email": email})).await;
        assert_eq!(first.status, 202, "{}", first.text);
        let soon = app.post("/auth/signup", json!({"name": "R", "email": email})).await;
        assert_eq!((soon.status, soon.error()), (429, "too_many_requests"));
        let retry: u64 = soon.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        for _ in 0..4 {
            app.clock.advance(60);
            assert_eq!(app.post("/auth/signup", json!({"name": "R", "email": email})).await.status, 202);
        }
        app.clock.advance(60);
        let capped = app.post("/auth/signup", json!({"name": "R", "email": email})).await;
        assert_eq!(capped.status, 429, "five sends an hour");
        app.clock.advance(3_600);
    }
}

#[tokio::test]
async fn fifty_concurrent_uses_of_one_code_give_one_success() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("race-code");
    app.post("/auth/signup", json!({"name": "R", "email": email})).await;
    let code = app.last_code(&email).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, email, code) = (app.clone(), email.clone(), code.clone());
        tasks.spawn(async move { app.post("/auth/signup/verify", json!({"email": email, "code": code})).await.status });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_completions_give_one_user() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("race-user");
    let token = app.verified_signup("Race", &email).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, token) = (app.clone(), token.clone());
        tasks.spawn(async move {
            let body = json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD});
            let answer = app.post("/auth/signup/complete", body).await;
            (answer.status, answer.error().to_owned())
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, e)| *s == 201 || e == "invalid_signup_token"), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_completions_for_case_variants_of_one_email_give_one_user() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("variants");
    let mut tokens = Vec::new();
    for variant in [email.clone(), email.to_uppercase(), format!(" {} ", email.replacen('v', "V", 1))] {
        tokens.push(app.verified_signup("Variant", &variant).await);
        app.clock.advance(61);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for token in tokens {
        let app = app.clone();
        tasks.spawn(async move {
            let body = json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD});
            let answer = app.post("/auth/signup/complete", body).await;
            (answer.status, answer.error().to_owned())
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1, "{answers:?}");
    assert!(answers.iter().all(|(s, e)| *s == 201 || (*s == 409 && e == "email_taken")), "{answers:?}");
}

#[tokio::test]
async fn a_sign_up_token_works_once_and_expires() {
    let app = TestApp::spawn().await;
    let email = unique_email("token-once");
    let token = app.verified_signup("Once", &email).await;
    let body = json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD});
    assert_eq!(app.post("/auth/signup/complete", body.clone()).await.status, 201);
    let again = app.post("/auth/signup/complete", body).await;
    assert_eq!((again.status, again.error()), (400, "invalid_signup_token"));

    let other = unique_email("token-late");
    let token = app.verified_signup("Late", &other).await;
    app.clock.advance(15 * 60);
    let late = app
        .post(
            "/auth/signup/complete",
            json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD}),
        )
        .await;
    assert_eq!((late.status, late.error()), (400, "invalid_signup_token"));
}

#[tokio::test]
async fn weak_passwords_name_every_failed_rule() {
    let app = TestApp::spawn().await;
    let email = unique_email("weak");
    let token = app.verified_signup("Weak", &email).await;
    let answer = app
        .post(
            "/auth/signup/complete",
            json!({"signup_token": token, "password": "password", "confirm_password": "passwort"}),
        )
        .await;
    assert_eq!((answer.status, answer.error()), (400, "validation_failed"));
    assert_eq!(answer.body["password_rules"], json!(["min_length", "uppercase", "digit", "symbol", "not_common"]));
    assert_eq!(answer.body["fields"]["password"].as_array().map(Vec::len), Some(5));
    assert_eq!(answer.body["fields"]["confirm_password"][0], "must match the password");
    let common = app
        .post(
            "/auth/signup/complete",
            json!({"signup_token": token, "password": "Password1234!", "confirm_password": "Password1234!"}),
        )
        .await;
    assert_eq!(common.body["password_rules"], json!(["not_common"]));
    let fine = app
        .post(
            "/auth/signup/complete",
            json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD}),
        )
        .await;
    assert_eq!(fine.status, 201, "a rejected password does not use up the token");
}

/// Anyone can start a sign-up for any address, so the code mail carries nothing the
/// requester wrote: a "name" that reads like a message from support never reaches the
/// stranger's inbox, by the first send or by a resend. The name is still the account's once
/// the address is proved.
#[tokio::test]
async fn the_sign_up_mail_carries_no_text_the_requester_chose() {
    let app = TestApp::spawn().await;
    let email = unique_email("phish");
    let name = "Support: your account is suspended, verify at https://evil.example";
    let started = app.post("/auth/signup", json!({"name": name, "email": email})).await;
    assert_eq!(started.status, 202, "{}", started.text);
    app.clock.advance(60);
    let resent = app.post("/auth/code/resend", json!({"email": email, "purpose": "signup"})).await;
    assert_eq!(resent.status, 202, "{}", resent.text);
    let mails = app.mails_to(&email).await;
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert!(!mail.body.contains("evil.example") && !mail.body.contains("Support"), "{}", mail.body);
        assert!(!mail.subject.contains("evil.example"), "{}", mail.subject);
    }
    let code = app.last_code(&email).await;
    let verified = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    let body =
        json!({"signup_token": verified.str("signup_token"), "password": PASSWORD, "confirm_password": PASSWORD});
    let created = app.post("/auth/signup/complete", body).await;
    assert_eq!((created.status, created.body["user"]["name"].as_str()), (201, Some(name)));
}

/// With the site's page configured, the code mail (through SES on moto) links to it with the
/// purpose, the address and the code in the fragment; the code in the link is the one that
/// works, and fetching the page uses nothing up (the fragment never reaches a server).
#[tokio::test]
async fn code_mails_link_to_the_site_with_the_code_in_the_fragment() {
    let config = Config { site_url: Some("https://www.example.com/".into()), ..Config::default() };
    let app = TestApp::spawn_with(config).await;
    let email = unique_email("link");
    app.post("/auth/signup", json!({"name": "Link", "email": email})).await;
    let code = app.last_code(&email).await;
    let mail = app.mails_to(&email).await.pop().expect("a mail");
    let encoded = email.replace('@', "%40").replace('+', "%2B");
    let link = format!("https://www.example.com/#stepauth=signup&email={encoded}&code={code}");
    // moto keeps the HTML part, where the link is an href escaped by the template engine
    // (`&` and `/` as character references, which every HTML reader decodes).
    assert!(mail.body.replace("&#x2f;", "/").contains(&link.replace('&', "&amp;")), "{}", mail.body);
    let verified = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
}
