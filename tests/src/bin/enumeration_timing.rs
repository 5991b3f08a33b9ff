//! Whether timing tells an account from no account: the medians of the five routes an
//! attacker would probe (a wrong-password login, login-code, forgot-password, resend,
//! sign-up) for an address with an account, without one, with a pending sign-up and
//! locked, against the DynamoDB store on moto. A benchmark, not a test: the goal is a
//! difference within max(3 ms, 6 %) between the kinds that get the same answer.
//!
//! Run by `scripts/bench/enumeration-timing [ITERATIONS]`, which starts moto. Each iteration moves
//! the app's clock a day on (so cooldowns, windows and failure counts start afresh), then
//! sends each route once per kind, the kinds in a rotating order. For scale, the median of a
//! bare DynamoDB `GetItem` on the same moto is printed too.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};
use stepauth::config::{Config, SourceLimits};
use stepauth_tests::{TestApp, moto_config, moto_table, unique_email};

const WRONG: &str = "Wrong-Password-1";

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(30);
    let sources = SourceLimits { failed_logins_per_hour: u32::MAX, mails_per_hour: u32::MAX };
    let app = TestApp::spawn_with(Config { sources, ..Config::default() }).await;

    let account = unique_email("timing-account");
    app.sign_up(&account).await;
    let locked = unique_email("timing-locked");
    app.sign_up(&locked).await;
    for _ in 0..3 {
        app.post("/auth/login", json!({"email": locked, "password": WRONG})).await;
    }
    let unknown = unique_email("timing-unknown");
    let pending = unique_email("timing-pending");

    type Body = fn(&str) -> Value;
    let routes: [(&str, &str, Body); 5] = [
        ("login (wrong password)", "/auth/login", |e| json!({"email": e, "password": WRONG})),
        ("login-code", "/auth/login/code", |e| json!({"email": e})),
        ("password-forgot", "/auth/password/forgot", |e| json!({"email": e})),
        ("code-resend", "/auth/code/resend", |e| json!({"email": e, "purpose": "login"})),
        ("signup", "/auth/signup", |e| json!({"name": "Someone", "email": e})),
    ];
    let kinds = [("account", &account), ("unknown", &unknown), ("pending", &pending), ("locked", &locked)];
    let mut times: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    let mut statuses: BTreeMap<(&str, &str), u16> = BTreeMap::new();
    for iteration in 0..iterations {
        app.clock.advance(86_401);
        app.post("/auth/signup", json!({"name": "Pending", "email": pending})).await;
        for (name, path, body) in routes {
            app.clock.advance(61); // past the cooldown of the route before, for every kind
            for k in 0..kinds.len() {
                let (kind, email) = kinds[(k + iteration) % kinds.len()];
                let started = Instant::now();
                let answer = app.post(path, body(email)).await;
                times.entry((name, kind)).or_default().push(started.elapsed().as_secs_f64() * 1000.0);
                statuses.insert((name, kind), answer.status);
            }
        }
    }

    // For scale, on the same moto: a GetItem of a key with no item, and of the account's
    // user item (the account lookup's second read, for an address with an account).
    let client = aws_sdk_dynamodb::Client::new(&moto_config().await);
    let key = |v: String| aws_sdk_dynamodb::types::AttributeValue::S(v);
    let address = stepauth::model::Email::parse(&account).expect("an email");
    let user = app.app.store.user_by_email(&address).await.expect("a read").expect("the account");
    let table = moto_table().await;
    let mut missing = Vec::new();
    let mut present = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let _ = client
            .get_item()
            .table_name(&table)
            .key("pk", key("USER#none".into()))
            .key("sk", key("USER".into()))
            .send()
            .await;
        missing.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let request = app.app.store.user(&user.id);
        let _ = request.await;
        present.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    println!("median ms over {iterations} iterations, DynamoDB store on moto (one request at a time)");
    println!(
        "reference: GetItem of a missing key {:.2} ms; the store's read of the account's user item {:.2} ms",
        median(&mut missing),
        median(&mut present)
    );
    println!(
        "{:<24}{:>10}{:>10}{:>10}{:>10}   same-answer spread (goal: within max(3 ms, 6 %))",
        "route", "account", "unknown", "pending", "locked"
    );
    for (name, _, _) in routes {
        let mut row = format!("{name:<24}");
        let mut same = Vec::new();
        for (kind, _) in kinds {
            let m = median(times.get_mut(&(name, kind)).expect("measured"));
            row.push_str(&format!("{m:>7.2}{:>3}", statuses[&(name, kind)]));
            if statuses[&(name, kind)] == statuses[&(name, "account")] {
                same.push(m);
            }
        }
        let (low, high) = same.iter().fold((f64::MAX, 0f64), |(lo, hi), m| (lo.min(*m), hi.max(*m)));
        let spread = high - low;
        let goal = (0.06 * low).max(3.0);
        row.push_str(&format!(
            "   {spread:.2} ms ({:.1} %) {}",
            100.0 * spread / low,
            if spread <= goal { "within" } else { "OVER" }
        ));
        println!("{row}");
    }
}
