//! What each route of a month's usage costs in DynamoDB, SES and CPU: the input of
//! `scripts/cost` (BENCHMARKS.md, "The bill"). Each iteration takes a new person through
//! sign-up, a profile read, a refresh, logout, a password login, a login by emailed code
//! and a password reset, twice over:
//!
//! - on DynamoDB in moto through the metering proxy (`stepauth_tests::capacity`), which
//!   prices every request in on-demand read and write units from the sizes of the items it
//!   reads and writes, and counts the store calls and the mails each route makes;
//! - on the in-memory store, where `Server-Timing` gives each route's own CPU time (no
//!   store round trips; the mail goes to moto's SES).
//!
//! With moto running: `STEPAUTH_TEST_MOTO=http://127.0.0.1:5999 cargo run --release -p
//! stepauth-tests --bin capacity -- [iterations] > docs/capacity.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth::store::memory::MemoryStore;
use stepauth_tests::capacity::Meter;
use stepauth_tests::{Answer, PASSWORD, TestApp, moto_endpoint, unique_email};

const NEW_PASSWORD: &str = "Second-Horse-8-Battery";

#[derive(Default)]
struct Route {
    calls: Vec<f64>,
    reads: Vec<f64>,
    writes: Vec<f64>,
    mails: Vec<f64>,
    cpu_ms: Vec<f64>,
    operations: BTreeMap<String, usize>,
}

/// One person's month in miniature, each step named by its function.
async fn walk(app: &TestApp, mut step: impl AsyncFnMut(&'static str, &str, Answer)) {
    let email = unique_email("capacity");
    let started = app.post("/auth/signup", json!({"name": "Cap Acity", "email": email})).await;
    step("signup", &email, started).await;
    let code = app.last_code(&email).await;
    let verified = app.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
    let token = verified.str("signup_token");
    step("signup-verify", &email, verified).await;
    let body = json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD});
    let created = app.post("/auth/signup/complete", body).await;
    let (access, refresh) = (created.str("access_token"), created.str("refresh_token"));
    step("signup-complete", &email, created).await;
    step("profile-get", &email, app.get_as("/users/me", &access).await).await;
    let refreshed = app.post("/auth/token/refresh", json!({"refresh_token": refresh})).await;
    let refresh = refreshed.str("refresh_token");
    step("token-refresh", &email, refreshed).await;
    step("logout", &email, app.post("/auth/logout", json!({"refresh_token": refresh})).await).await;
    step("login", &email, app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await).await;
    step("login-code", &email, app.post("/auth/login/code", json!({"email": email})).await).await;
    let code = app.last_code(&email).await;
    let by_code = app.post("/auth/login/code/verify", json!({"email": email, "code": code})).await;
    step("login-code-verify", &email, by_code).await;
    step("password-forgot", &email, app.post("/auth/password/forgot", json!({"email": email})).await).await;
    let code = app.last_code(&email).await;
    let verified = app.post("/auth/password/verify", json!({"email": email, "code": code})).await;
    let token = verified.str("reset_token");
    step("password-verify", &email, verified).await;
    let body = json!({"reset_token": token, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD});
    step("password-reset", &email, app.post("/auth/password/reset", body).await).await;
}

fn config() -> Config {
    let mut config = Config::default();
    // Every request comes from 127.0.0.1: the per-source limits would stop the walk.
    config.sources.failed_logins_per_hour = 1_000_000;
    config.sources.mails_per_hour = 1_000_000;
    config
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(10);
    let meter = Meter::start(moto_endpoint()).await;
    let dynamo = TestApp::spawn_through(config(), &meter.endpoint).await;
    let memory = TestApp::spawn_with_store(config(), Arc::new(MemoryStore::new())).await;
    let mut routes: BTreeMap<&'static str, Route> = BTreeMap::new();
    for _ in 0..iterations {
        meter.take();
        let mut mailed = 0;
        walk(&dynamo, async |name, email, answer: Answer| {
            assert!(answer.status < 300, "{name}: {} {}", answer.status, answer.text);
            let calls = meter.take();
            let mails = dynamo.mails_to(email).await.len();
            let route = routes.entry(name).or_default();
            route.calls.push(calls.len() as f64);
            route.reads.push(calls.iter().map(|c| c.reads).sum());
            route.writes.push(calls.iter().map(|c| c.writes).sum());
            route.mails.push((mails - mailed) as f64);
            mailed = mails;
            for call in calls {
                *route.operations.entry(call.operation).or_default() += 1;
            }
        })
        .await;
        walk(&memory, async |name, _, answer: Answer| {
            assert!(answer.status < 300, "{name}: {} {}", answer.status, answer.text);
            let timing = answer.headers.get("server-timing").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let ms = timing.strip_prefix("handler;dur=").and_then(|d| d.parse().ok()).expect("Server-Timing: handler");
            routes.entry(name).or_default().cpu_ms.push(ms);
        })
        .await;
    }
    let routes: serde_json::Map<String, Value> = routes
        .into_iter()
        .map(|(name, r)| {
            let operations: BTreeMap<String, f64> =
                r.operations.into_iter().map(|(op, n)| (op, n as f64 / iterations as f64)).collect();
            let route = json!({
                "dynamodb_calls": median(&r.calls),
                "read_units": median(&r.reads),
                "write_units": median(&r.writes),
                "mails": median(&r.mails),
                "cpu_ms": (median(&r.cpu_ms) * 1000.0).round() / 1000.0,
                "operations": operations,
            });
            (name.to_owned(), route)
        })
        .collect();
    let out = json!({
        "about": "Per route, medians over the iterations: DynamoDB calls and on-demand read/write request units \
                  (priced from item sizes by tests/src/capacity.rs), SES mails, and the handler's CPU time on the \
                  in-memory store in ms (this machine, release build). Made by tests/src/bin/capacity.rs; read by \
                  scripts/cost.",
        "iterations": iterations,
        "routes": routes,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
}
