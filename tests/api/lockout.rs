//! Lockout (docs/SECURITY.md, "Lockout") and the admin routes that undo it.

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_tests::{Answer, PASSWORD, TestApp, unique_email};

fn comparable(answer: &Answer) -> (u16, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = answer
        .headers
        .iter()
        // The date, and the local server's own measurement of the handler (scripts/bench/route-times).
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "server-timing"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
        .collect();
    headers.sort();
    (answer.status, answer.text.clone(), headers)
}

async fn admin_app() -> (TestApp, String, String) {
    let admin = unique_email("admin");
    let app = TestApp::spawn_with(Config { admin_emails: vec![admin.clone()], ..Config::default() }).await;
    let token = app.sign_up(&admin).await.str("access_token");
    (app, admin, token)
}

#[tokio::test]
async fn lockout_answers_are_identical_for_existing_and_unknown_emails() {
    let app = TestApp::spawn().await;
    let existing = unique_email("locked");
    app.sign_up(&existing).await;
    let unknown = unique_email("never-signed-up");
    let expected = [
        (401, "Invalid credentials. 2 attempts remaining."),
        (401, "Invalid credentials. 1 attempt remaining."),
        (423, "Account locked. Contact admin."),
        (423, "Account locked. Contact admin."),
    ];
    for (status, message) in expected {
        let a = app.post("/auth/login", json!({"email": existing, "password": "Wrong-Password-1"})).await;
        let b = app.post("/auth/login", json!({"email": unknown, "password": "Wrong-Password-1"})).await;
        assert_eq!((a.status, a.body["message"].as_str()), (status, Some(message)), "{}", a.text);
        assert_eq!(comparable(&a), comparable(&b), "byte-identical but for the date and timing");
    }
    let right = app.post("/auth/login", json!({"email": existing, "password": PASSWORD})).await;
    assert_eq!((right.status, right.error()), (423, "account_locked"), "the right password does not open a lock");
    let mails = app.mails_to(&existing).await;
    assert!(mails.last().expect("a mail").subject.contains("locked"), "the owner is told");
    assert!(app.mails_to(&unknown).await.is_empty(), "nobody else is mailed");
}

#[tokio::test]
async fn a_successful_login_resets_the_count() {
    let app = TestApp::spawn().await;
    let email = unique_email("reset-count");
    app.sign_up(&email).await;
    for _ in 0..2 {
        app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    }
    app.log_in(&email).await;
    let wrong = app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    assert_eq!(wrong.body["attempts_remaining"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_guesses_get_three_tries() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("guess-race");
    app.sign_up(&email).await;
    fifty_concurrent_wrong_guesses(&app, &email).await;
}

/// Fifty concurrent wrong guesses: two answered "invalid", the third locks, and every other
/// is refused unchecked, as locked (423) or, while checks were still in flight when its
/// wait ran out, as busy (429). The account ends locked.
async fn fifty_concurrent_wrong_guesses(app: &std::sync::Arc<TestApp>, email: &str) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, email) = (app.clone(), email.to_owned());
        tasks.spawn(async move {
            app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await.status
        });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 2, "{statuses:?}");
    assert!(statuses.contains(&423), "the third failure locks: {statuses:?}");
    assert!(statuses.iter().all(|s| [401, 423, 429].contains(s)), "{statuses:?}");
    let after = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(after.status, 423, "the rest were refused unchecked: {statuses:?}");
}

#[tokio::test]
async fn wrong_emailed_codes_count_toward_the_lockout() {
    let app = TestApp::spawn().await;
    let email = unique_email("code-lock");
    app.sign_up(&email).await;
    app.post("/auth/login/code", json!({"email": email})).await;
    let code = app.last_code(&email).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap_or(0) + 1) % 1_000_000);
    let first = app.post("/auth/login/code/verify", json!({"email": email, "code": wrong})).await;
    assert_eq!(
        (first.status, first.error(), first.body["attempts_remaining"].as_u64()),
        (400, "invalid_code", Some(2))
    );
    app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    let third = app.post("/auth/login/code/verify", json!({"email": email, "code": wrong})).await;
    assert_eq!(third.status, 423, "code and password failures share one count");
    let right = app.post("/auth/login/code/verify", json!({"email": email, "code": code})).await;
    assert_eq!(right.status, 423);
}

#[tokio::test]
async fn an_admin_unlocks_and_the_account_logs_in_again() {
    let (app, _, admin_token) = admin_app().await;
    let email = unique_email("to-unlock");
    app.sign_up(&email).await;
    for _ in 0..3 {
        app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    }
    assert_eq!(app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await.status, 423);

    let list = app.get_as("/admin/users", &admin_token).await;
    let row = list.body["items"].as_array().expect("items").iter().find(|u| u["email"] == email.as_str()).cloned();
    assert_eq!(row.expect("listed")["locked"], true);

    let auth = format!("Bearer {admin_token}");
    let unlocked = app
        .request("POST", "/admin/users/unlock", json!({"email": email.to_uppercase()}), &[("authorization", &auth)])
        .await;
    assert_eq!(unlocked.status, 200, "{}", unlocked.text);
    let login = app.log_in(&email).await;
    let activity = app.get_as("/users/me/activity", &login.str("access_token")).await;
    let events: Vec<&str> =
        activity.body["items"].as_array().expect("items").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(&events[..3], ["login_success", "unlocked", "locked"], "{events:?}");

    let nobody = app
        .request("POST", "/admin/users/unlock", json!({"email": unique_email("nobody")}), &[("authorization", &auth)])
        .await;
    assert_eq!((nobody.status, nobody.error()), (404, "user_not_found"));
}

#[tokio::test]
async fn non_admins_cannot_unlock_or_list() {
    let (app, _, _) = admin_app().await;
    let user = app.sign_up(&unique_email("plain")).await.str("access_token");
    let auth = format!("Bearer {user}");
    let unlock = app
        .request("POST", "/admin/users/unlock", json!({"email": "x@example.com"}), &[("authorization", &auth)])
        .await;
    assert_eq!((unlock.status, unlock.error()), (403, "forbidden"));
    let list = app.get_as("/admin/users", &user).await;
    assert_eq!((list.status, list.error()), (403, "forbidden"));
    let anonymous = app.request("GET", "/admin/users", Value::Null, &[]).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn admins_page_through_users_newest_first() {
    let (app, admin, token) = admin_app().await;
    let mut emails = vec![admin];
    for i in 0..4 {
        app.clock.advance(1);
        let email = unique_email(&format!("listed{i}"));
        app.sign_up(&email).await;
        emails.push(email);
    }
    let mut seen = Vec::new();
    let mut path = "/admin/users?limit=2".to_owned();
    loop {
        let page = app.get_as(&path, &token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        for item in items {
            for field in ["id", "email", "name", "created_at", "last_login", "locked", "mfa_enabled"] {
                assert!(item.get(field).is_some(), "{field}");
            }
            seen.push(item["email"].as_str().expect("email").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/admin/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    emails.reverse();
    assert_eq!(seen, emails);
    for bad in ["/admin/users?limit=0", "/admin/users?limit=101", "/admin/users?limit=x", "/admin/users?page=2"] {
        let answer = app.get_as(bad, &token).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{bad}");
    }
    let answer = app.get_as("/admin/users?cursor=zzz", &token).await;
    assert_eq!((answer.status, answer.error()), (400, "invalid_cursor"));
}

/// Failures below the lock are forgotten a window (24 hours by default) after the last one:
/// two old failures and one typo a day later do not lock. A reached lock stays.
#[tokio::test]
async fn failures_below_the_lock_decay_but_a_lock_stays() {
    let app = TestApp::spawn().await;
    let email = unique_email("decay");
    app.sign_up(&email).await;
    let wrong = || app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"}));
    for _ in 0..2 {
        wrong().await;
    }
    app.clock.advance(24 * 60 * 60 - 1);
    let address = stepauth::model::Email::parse(&email).expect("an email");
    let counted = app.app.store.failures(std::slice::from_ref(&address), app.app.now()).await.expect("failures");
    assert_eq!(counted, [2], "within the window the count holds");
    app.clock.advance(1);
    let typo = wrong().await;
    assert_eq!((typo.status, typo.body["attempts_remaining"].as_u64()), (401, Some(2)), "{}", typo.text);
    wrong().await;
    assert_eq!(wrong().await.status, 423);
    app.clock.advance(30 * 24 * 60 * 60);
    assert_eq!(
        app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await.status,
        423,
        "locked until an admin unlocks"
    );
}

/// Concurrent logins of one account: ten right ones all get a session (none is told the
/// account is locked), and fifty wrong ones get exactly the configured number of checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_right_logins_all_succeed_and_wrong_ones_get_exactly_the_limit() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("concurrent-right");
    app.sign_up(&email).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (app, email) = (app.clone(), email.clone());
        tasks.spawn(async move { app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await.status });
    }
    let statuses = tasks.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    fifty_concurrent_wrong_guesses(&app, &email).await;
}
