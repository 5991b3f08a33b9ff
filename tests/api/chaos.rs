//! A chaos run (issue 21): one AWS call in five fails at random (DynamoDB and SES alike:
//! throttled, a 500 or a cut connection; fixed seed, flows one after another, so a failing
//! run repeats exactly). Every flow, from sign-up to logout, finishes with the client's
//! retries (after `Retry-After`), no answer is a 500, and the table afterwards holds exactly
//! what the same flows leave without faults: the users, their addresses, sessions, codes
//! and grants (docs/SECURITY.md, rule 77).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_tests::fault_proxy::{Chaos, FaultProxy, Kind};
use stepauth_tests::{Answer, PASSWORD, TestApp, moto_config, moto_endpoint, moto_table, unique_email};

/// The flows of one run.
const FLOWS: usize = 12;

/// `POST path` until it is not a 503 or 429 (waiting as `Retry-After` says, on the app's
/// clock for a 429's minutes): the answer, and how many tries it took.
async fn with_retries(app: &TestApp, path: &str, body: Value, bearer: Option<&str>) -> (Answer, usize) {
    let authorization = bearer.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = authorization.iter().map(|a| ("authorization", a.as_str())).collect();
    for tries in 1..=20 {
        let method = if body.is_null() { "GET" } else { "POST" };
        let answer = app.request(method, path, body.clone(), &headers).await;
        assert_ne!(answer.status, 500, "{path}: a 500 reached the client: {}", answer.text);
        let wait: i64 = answer.headers.get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(1);
        match answer.status {
            503 => tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await,
            429 => app.clock.advance(wait),
            _ => return (answer, tries),
        }
    }
    panic!("{path}: still failing after 20 tries");
}

/// One person's whole flow: sign up, verify, set the password, log in, refresh, read the
/// profile, log out. The client tries each step until it is answered.
async fn flow(app: &TestApp, email: &str) -> usize {
    let mut retries = 0;
    let mut step = async |path: &str, body: Value, bearer: Option<&str>, status: u16| {
        let (answer, tries) = with_retries(app, path, body, bearer).await;
        retries += tries - 1;
        assert_eq!(answer.status, status, "{email} {path}: {}", answer.text);
        answer
    };
    step("/auth/signup", json!({"name": "Chaos", "email": email}), None, 202).await;
    let code = app.last_code(email).await;
    let verified = step("/auth/signup/verify", json!({"email": email, "code": code}), None, 200).await;
    let complete =
        json!({"signup_token": verified.str("signup_token"), "password": PASSWORD, "confirm_password": PASSWORD});
    step("/auth/signup/complete", complete, None, 201).await;
    let login = step("/auth/login", json!({"email": email, "password": PASSWORD}), None, 200).await;
    let refreshed = step("/auth/token/refresh", json!({"refresh_token": login.str("refresh_token")}), None, 200).await;
    let me = step("/users/me", Value::Null, Some(&refreshed.str("access_token")), 200).await;
    assert_eq!(me.str("email"), email);
    step("/auth/logout", json!({"refresh_token": refreshed.str("refresh_token")}), None, 200).await;
    retries
}

/// How many items of each kind `table` holds (activity entries aside: they are best effort,
/// and a throttled one is skipped, not retried).
async fn kinds(table: &str) -> BTreeMap<String, usize> {
    let client = aws_sdk_dynamodb::Client::new(&moto_config().await);
    let mut counts = BTreeMap::new();
    let mut start = None;
    loop {
        let page = client.scan().table_name(table).set_exclusive_start_key(start).send().await.expect("a scan");
        for item in page.items() {
            let kind = item.get("kind").and_then(|k| k.as_s().ok()).cloned().unwrap_or_else(|| "counter".to_owned());
            if kind != "activity" && kind != "counter" {
                *counts.entry(kind).or_default() += 1;
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return counts;
        }
    }
}

/// The flows on a fresh table through `proxy`: the table's name and the client's retries.
async fn run(proxy: &FaultProxy, label: &str) -> (String, usize) {
    let table = moto_table().await;
    let app = TestApp::spawn_through_on(Config::default(), &proxy.endpoint, table.clone()).await;
    let mut retries = 0;
    for i in 0..FLOWS {
        retries += flow(&app, &unique_email(&format!("{label}-{i}"))).await;
    }
    (table, retries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_finishes_when_one_call_in_five_fails() {
    let failing = [
        Kind::Error { status: 400, error_type: "ProvisionedThroughputExceededException" },
        Kind::Error { status: 500, error_type: "InternalServerError" },
        Kind::Cut,
    ];
    let chaos = Chaos { seed: 21, fraction: 0.2, kinds: failing.to_vec() };
    let proxy = FaultProxy::chaos(moto_endpoint(), chaos).await;
    let (table, retries) = run(&proxy, "chaos").await;
    let injected = proxy.injected();

    let calm = FaultProxy::chaos(moto_endpoint(), Chaos { seed: 21, fraction: 0.0, kinds: failing.to_vec() }).await;
    let (reference, _) = run(&calm, "calm").await;
    assert_eq!(calm.injected(), 0);

    eprintln!("chaos: {injected} calls failed, {retries} client retries over {FLOWS} flows");
    assert!(injected >= 50, "the chaos was met: {injected}");
    let (left, expected) = (kinds(&table).await, kinds(&reference).await);
    eprintln!("items: {left:?}");
    assert_eq!(left, expected, "the same items as without faults");
    assert_eq!(left.get("user"), Some(&FLOWS));
    assert_eq!(left.get("session"), Some(&FLOWS), "the sign-up's session each; the login's ended");
}
