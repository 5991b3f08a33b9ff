//! Limits per source address (docs/SECURITY.md, "Source limits"): password spraying and
//! mail flooding across many addresses meet a 429, by any route, sequentially or at once;
//! another source address is unaffected; a throttled counter answers 503, never 500 and
//! never a pass.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;
use stepauth::config::{Config, SourceLimits};
use stepauth_tests::fault_proxy::{Fault, FaultProxy};
use stepauth_tests::{PASSWORD, TestApp, moto_endpoint, unique_email};

const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn limits(failed_logins_per_hour: u32, mails_per_hour: u32) -> Config {
    Config { sources: SourceLimits { failed_logins_per_hour, mails_per_hour }, ..Config::default() }
}

/// One client tries one password on many accounts, by password and by emailed code: the
/// failures count across addresses and routes, and the next check gets 429 with
/// `Retry-After` before anything is checked. Right logins do not count. Another source
/// address goes on as before.
#[tokio::test]
async fn password_spraying_across_addresses_and_routes_meets_a_429() {
    let app = TestApp::spawn_with(limits(6, 100)).await;
    let known = unique_email("spray-known");
    app.sign_up(&known).await;
    for _ in 0..8 {
        assert_eq!(app.post("/auth/login", json!({"email": known, "password": PASSWORD})).await.status, 200);
    }
    let mut statuses = Vec::new();
    for n in 0..4 {
        let body = json!({"email": unique_email(&format!("spray-{n}")), "password": "Summer-2026-Password!"});
        statuses.push(app.post("/auth/login", body).await.status);
        let body = json!({"email": unique_email(&format!("spray-code-{n}")), "code": "123456"});
        statuses.push(app.post("/auth/login/code/verify", body).await.status);
    }
    assert_eq!(statuses, [401, 400, 401, 400, 401, 400, 429, 429], "six failures, then the limit");
    let limited = app.post("/auth/login", json!({"email": known, "password": PASSWORD})).await;
    assert_eq!((limited.status, limited.error()), (429, "too_many_requests"), "{}", limited.text);
    let retry: u64 = limited.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");

    let elsewhere = app.post_from(OTHER, "/auth/login", json!({"email": known, "password": PASSWORD})).await;
    assert_eq!(elsewhere.status, 200, "another source address is unaffected: {}", elsewhere.text);
    app.clock.advance(3600);
    assert_eq!(app.post("/auth/login", json!({"email": known, "password": PASSWORD})).await.status, 200, "a new hour");
}

/// Fifty wrong passwords for fifty addresses at once: exactly the limit is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_spraying_gets_exactly_the_limit() {
    let app = std::sync::Arc::new(TestApp::spawn_with(limits(5, 100)).await);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..50 {
        let app = app.clone();
        tasks.spawn(async move {
            let body = json!({"email": unique_email(&format!("spray-race-{n}")), "password": "Summer-2026-Password!"});
            app.post("/auth/login", body).await.status
        });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 45, "{statuses:?}");
}

/// One client asks for codes for many addresses, by every route that mails one: the mails
/// stop at the limit with 429, and nothing more is sent. Another source address is
/// unaffected; a request that the address's own cooldown refuses sends nothing and spends
/// nothing.
#[tokio::test]
async fn mail_flooding_across_addresses_and_routes_meets_a_429() {
    let app = TestApp::spawn_with(limits(100, 4)).await;
    let first = unique_email("flood-0");
    assert_eq!(app.post("/auth/signup", json!({"name": "N", "email": first})).await.status, 202);
    let cooled = app.post("/auth/code/resend", json!({"email": first, "purpose": "signup"})).await;
    assert_eq!(cooled.status, 429, "the address's own cooldown");
    let routes = [
        ("/auth/login/code", json!({"email": unique_email("flood-1")})),
        ("/auth/password/forgot", json!({"email": unique_email("flood-2")})),
        ("/auth/code/resend", json!({"email": unique_email("flood-3"), "purpose": "login"})),
        ("/auth/signup", json!({"name": "N", "email": unique_email("flood-4")})),
        ("/auth/login/code", json!({"email": unique_email("flood-5")})),
    ];
    let mut statuses = Vec::new();
    for (path, body) in routes {
        statuses.push(app.post(path, body).await.status);
    }
    assert_eq!(statuses, [202, 202, 202, 429, 429], "four mails an hour, the cooled-down request not counted");
    assert!(app.mails_to(&unique_email("flood-5")).await.is_empty());
    let elsewhere = app.post_from(OTHER, "/auth/login/code", json!({"email": unique_email("flood-6")})).await;
    assert_eq!(elsewhere.status, 202, "another source address is unaffected");
}

/// DynamoDB throttles the hot counter item: the answer is 503 with `Retry-After` within
/// seconds, never a 500 and never a pass (no password is checked, no mail sent).
#[tokio::test]
async fn a_throttled_counter_answers_503_and_lets_nothing_through() {
    let fault = Fault::throttle("DynamoDB_20120810.UpdateItem", "SOURCE#");
    let proxy = FaultProxy::start(moto_endpoint(), fault).await;
    let app = TestApp::spawn_through(Config::default(), &proxy.endpoint).await;
    let email = unique_email("throttled");
    let started = std::time::Instant::now();
    let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!((login.status, login.error()), (503, "service_unavailable"), "{}", login.text);
    assert_eq!(login.headers["retry-after"], "1");
    let code = app.post("/auth/login/code", json!({"email": email})).await;
    assert_eq!((code.status, code.error()), (503, "service_unavailable"), "{}", code.text);
    assert!(app.mails_to(&email).await.is_empty(), "no mail left");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "within seconds: {:?}", started.elapsed());
    assert!(proxy.injected() >= 2, "the fault was met: {}", proxy.injected());
}

/// The same for any other throttled read on the way: the account lookup (the email claim)
/// throttled answers 503 with `Retry-After`, for a login and a code request alike, and no
/// failure is counted against the address for a check that never happened.
#[tokio::test]
async fn any_throttled_store_call_answers_503_not_500() {
    let fault = Fault::throttle("DynamoDB_20120810.GetItem", "\"CLAIM\"");
    let proxy = FaultProxy::start(moto_endpoint(), fault).await;
    let app = TestApp::spawn_through(Config::default(), &proxy.endpoint).await;
    let email = unique_email("throttled-read");
    for (path, body) in [
        ("/auth/login", json!({"email": email, "password": PASSWORD})),
        ("/auth/password/forgot", json!({"email": email})),
    ] {
        let answer = app.post(path, body).await;
        assert_eq!((answer.status, answer.error()), (503, "service_unavailable"), "{path}: {}", answer.text);
        assert_eq!(answer.headers["retry-after"], "1", "{path}");
    }
    let address = stepauth::model::Email::parse(&email).expect("an email");
    let counted = app.app.store.failures(std::slice::from_ref(&address), app.app.now()).await.expect("failures");
    assert_eq!(counted, [0], "no failure counted for a check that never happened");
    assert!(proxy.injected() >= 2);
}
