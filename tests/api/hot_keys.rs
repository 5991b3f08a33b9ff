//! The items many requests write (docs/DESIGN.md, "Hot keys"): the users index partitions,
//! the lockout counters, the code windows. DynamoDB throttles a partition that is over its
//! rate; each throttle, injected between the app's real SDK calls and moto, answers 503 with
//! `Retry-After` within seconds, never a 500, lets nothing through that the limit it counts
//! should stop, and leaves nothing half-done: once the throttle is over, the same request
//! succeeds. The per-source counters' throttle is in `source_limits`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use stepauth::config::Config;
use stepauth::model::Email;
use stepauth_tests::fault_proxy::{Fault, FaultProxy, TRANSACT};
use stepauth_tests::{Answer, PASSWORD, TestApp, enrolled, moto_endpoint, totp_code, unique_email};

const UPDATE: &str = "DynamoDB_20120810.UpdateItem";
const PUT: &str = "DynamoDB_20120810.PutItem";
const DELETE: &str = "DynamoDB_20120810.DeleteItem";

/// The answer is a 503 with a short `Retry-After`.
fn busy(answer: &Answer, what: &str) {
    assert_eq!((answer.status, answer.error()), (503, "service_unavailable"), "{what}: {}", answer.text);
    assert_eq!(answer.headers["retry-after"], "1", "{what}");
}

/// `count` copies of the same request at once.
async fn concurrently(app: &Arc<TestApp>, count: usize, path: &str, body: serde_json::Value) -> Vec<Answer> {
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (app, path, body) = (app.clone(), path.to_owned(), body.clone());
        requests.spawn(async move { app.post(&path, body).await });
    }
    requests.join_all().await
}

/// An account signed up while `fault` is off, and its app behind the proxy: call
/// `break_again` to start the fault.
async fn account_behind(fault: Fault, label: &str) -> (FaultProxy, Arc<TestApp>, String) {
    let proxy = FaultProxy::start(moto_endpoint(), fault).await;
    proxy.heal();
    let app = Arc::new(TestApp::spawn_through(Config::default(), &proxy.endpoint).await);
    let email = unique_email(label);
    app.sign_up(&email).await;
    (proxy, app, email)
}

/// A login code mailed to `email`.
async fn login_code(app: &TestApp, email: &str) -> String {
    assert_eq!(app.post("/auth/login/code", json!({"email": email})).await.status, 202);
    app.last_code(email).await
}

/// The sign-up's last step writes the user item, which is also a write to its users index
/// partition. Throttled, the creation transaction is cancelled: 503 (not the 409 a failed
/// condition would give, and not a 500), no account, and the same sign-up token completes
/// once the throttle is over, however many times it was tried meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_users_partition_answers_503_and_the_sign_up_completes_after() {
    let proxy = FaultProxy::start(moto_endpoint(), Fault::throttle(TRANSACT, "USERS#")).await;
    let app = Arc::new(TestApp::spawn_through(Config::default(), &proxy.endpoint).await);
    let email = unique_email("hot-users");
    let token = app.verified_signup("Hot Users", &email).await;
    let complete = json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD});
    let started = Instant::now();
    busy(&app.post("/auth/signup/complete", complete.clone()).await, "one");
    for answer in concurrently(&app, 4, "/auth/signup/complete", complete.clone()).await {
        busy(&answer, "four at once");
    }
    assert!(started.elapsed() < Duration::from_secs(20), "within seconds: {:?}", started.elapsed());
    let address = Email::parse(&email).unwrap();
    assert!(app.app.store.user_by_email(&address).await.unwrap().is_none(), "no account, no claim");
    assert!(proxy.injected() >= 5, "the fault was met: {}", proxy.injected());

    proxy.heal();
    let created = app.post("/auth/signup/complete", complete).await;
    assert_eq!(created.status, 201, "the sign-up token was not spent: {}", created.text);
    let users = app.app.store.users(10, None).await.unwrap();
    assert_eq!(users.items.iter().filter(|u| u.email == address).count(), 1, "listed once");
}

/// A login writes the user item (its last login), also a write to its users index
/// partition. Throttled: 503, and no session starts; once over, the same password logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_login_record_starts_no_session() {
    let (proxy, app, email) = account_behind(Fault::throttle(UPDATE, "last_login"), "hot-login").await;
    let user = app.app.store.user_by_email(&Email::parse(&email).unwrap()).await.unwrap().unwrap();
    let (user_id, version) = (user.id, user.token_version);
    let live = || async { app.app.store.user_sessions(&user_id, version, app.app.now(), 50, None).await.unwrap() };
    let before = live().await.items.len();

    proxy.break_again();
    let login = json!({"email": email, "password": PASSWORD});
    busy(&app.post("/auth/login", login.clone()).await, "one");
    for answer in concurrently(&app, 4, "/auth/login", login.clone()).await {
        busy(&answer, "four at once");
    }
    assert_eq!(live().await.items.len(), before, "no session started");

    proxy.heal();
    assert_eq!(app.post("/auth/login", login).await.status, 200);
    assert_eq!(live().await.items.len(), before + 1);
}

/// The lockout counter of an address is written before any password or code is checked.
/// Throttled, every login answers 503, the right password included, by password and by
/// code, one at a time and many at once, far past the failure limit: no guess is checked
/// while it cannot be counted. Once over, the count is where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_lockout_counter_lets_no_guess_through() {
    let (proxy, app, email) = account_behind(Fault::throttle(UPDATE, "\"LOCKOUT\""), "hot-lockout").await;
    let code = login_code(&app, &email).await;

    proxy.break_again();
    let max = app.app.config.max_login_failures as usize;
    for round in 0..max + 2 {
        let wrong = app.post("/auth/login", json!({"email": email, "password": format!("Wrong-{round}-pass")})).await;
        busy(&wrong, "a wrong password");
    }
    busy(&app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await, "the right password");
    let right = json!({"email": email, "code": code});
    busy(&app.post("/auth/login/code/verify", right.clone()).await, "the right code");
    let many = json!({"email": email, "password": PASSWORD});
    for answer in concurrently(&app, 8, "/auth/login", many).await {
        busy(&answer, "eight at once");
    }

    proxy.heal();
    let address = Email::parse(&email).unwrap();
    assert_eq!(app.app.store.failures(&[address], app.app.now()).await.unwrap(), [0], "nothing counted");
    let login = app.post("/auth/login/code/verify", right).await;
    assert_eq!(login.status, 200, "the code was not spent: {}", login.text);
}

/// Issuing a code writes its address's code window. Throttled, every route that mails a
/// code, for every purpose, answers 503 and sends nothing, and no cooldown is spent: once
/// over, the first request mails at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_code_window_mails_nothing_and_spends_no_cooldown() {
    let (proxy, app, email) = account_behind(Fault::throttle(PUT, "CODE#"), "hot-codes").await;
    let mailed = app.mails_to(&email).await.len();
    let fresh = unique_email("hot-codes-new");

    proxy.break_again();
    let routes = [
        ("/auth/login/code", json!({"email": email})),
        ("/auth/password/forgot", json!({"email": email})),
        ("/auth/code/resend", json!({"email": email, "purpose": "login"})),
        ("/auth/signup", json!({"name": "Hot Codes", "email": fresh})),
    ];
    for (path, body) in &routes {
        busy(&app.post(path, body.clone()).await, path);
        for answer in concurrently(&app, 3, path, body.clone()).await {
            busy(&answer, path);
        }
    }
    assert_eq!(app.mails_to(&email).await.len(), mailed, "no mail left");
    assert!(app.mails_to(&fresh).await.is_empty(), "no mail left");

    proxy.heal();
    // The resend is left out: the login code just mailed starts its cooldown.
    for (path, body) in routes.into_iter().filter(|(path, _)| *path != "/auth/code/resend") {
        let answer = app.post(path, body).await;
        assert_eq!(answer.status, 202, "{path}: {}", answer.text);
    }
    assert_eq!(app.mails_to(&email).await.len(), mailed + 2, "the login and reset codes went out at once");
    assert_eq!(app.mails_to(&fresh).await.len(), 1, "the sign-up code went out at once");
}

/// Redeeming a code writes its window. Throttled: 503, no session, and the code is not
/// spent: once over, it logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_code_redemption_spends_nothing() {
    let (proxy, app, email) = account_behind(Fault::throttle(UPDATE, "CODE#login"), "hot-redeem").await;
    let code = login_code(&app, &email).await;

    proxy.break_again();
    let right = json!({"email": email, "code": code});
    busy(&app.post("/auth/login/code/verify", right.clone()).await, "the right code");
    for answer in concurrently(&app, 4, "/auth/login/code/verify", right.clone()).await {
        busy(&answer, "four at once");
    }
    busy(&app.post("/auth/login/code/verify", json!({"email": email, "code": "000000"})).await, "a wrong code");

    proxy.heal();
    let login = app.post("/auth/login/code/verify", right).await;
    assert_eq!(login.status, 200, "{}", login.text);
}

/// The last write of a second-factor login (taking its MFA token) throttled, three times
/// with three right authenticator codes: each a 503, and none keeps a lockout slot, so once
/// the throttle is over the next right code logs in at once instead of waiting out the
/// slots' leases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_mfa_token_take_holds_no_lockout_slot() {
    let proxy = FaultProxy::start(moto_endpoint(), Fault::throttle(DELETE, "GRANT#")).await;
    proxy.heal();
    let app = Arc::new(TestApp::spawn_through(Config::default(), &proxy.endpoint).await);
    let user = enrolled(&app, "hot-mfa").await;
    let login = app.post("/auth/login", json!({"email": user.email, "password": PASSWORD})).await;
    let token = login.str("mfa_token");
    // Past the step the enrolment used, and the one after it.
    app.clock.advance(60);

    proxy.break_again();
    // As many right codes as there are slots: the three steps the check accepts now.
    for offset in [-1, 0, 1] {
        let code = totp_code(&app, &user.email, &user.secret, offset);
        busy(&app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": code})).await, "a right code");
    }

    proxy.heal();
    app.clock.advance(30);
    let code = totp_code(&app, &user.email, &user.secret, 1);
    let started = Instant::now();
    let session = app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": code})).await;
    assert_eq!(session.status, 200, "{}", session.text);
    assert!(started.elapsed() < Duration::from_secs(3), "no wait for held slots: {:?}", started.elapsed());
}
