//! What users moved in from Django cost at login, and what their timing tells (issue 15;
//! docs/SECURITY.md, "Enumeration"): the median of a wrong-password login for an address
//! without an account, an Argon2id account and a moved-in PBKDF2 account (Django's own hash,
//! 1,000,000 iterations), with the PBKDF2 pad off and on; and a moved-in account's right
//! login before its upgrade (PBKDF2, then the new Argon2id hash written) and after.
//!
//! With moto running: `STEPAUTH_TEST_MOTO=http://127.0.0.1:5999 cargo run --release -p
//! stepauth-tests --bin legacy_login_timing -- [iterations]`. A benchmark, not a test.

use std::num::NonZeroU32;
use std::time::Instant;

use serde_json::json;
use stepauth::clock::Clock as _;
use stepauth::config::{Config, SourceLimits};
use stepauth::migration::{self, DjangoUser};
use stepauth_tests::{TestApp, django, unique_email};

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn timed(app: &TestApp, email: &str, password: &str) -> (f64, u16) {
    let started = Instant::now();
    let answer = app.post("/auth/login", json!({"email": email, "password": password})).await;
    (started.elapsed().as_secs_f64() * 1000.0, answer.status)
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20);
    let export = django::export().await;
    let (hash, password) = {
        let users: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&export.json).expect("the export")).expect("json");
        let pbkdf2 = users[0]["fields"]["password"].as_str().expect("a hash").to_owned();
        (pbkdf2, export.password("pbkdf2"))
    };
    let started = Instant::now();
    let cost = stepauth::password::django::Hash::parse(&hash).expect("Django's hash");
    assert!(cost.verify(&password));
    println!(
        "reference: one verification of Django's PBKDF2 hash (1,000,000 iterations): {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    for pad in [None, NonZeroU32::new(1_000_000)] {
        let config = Config {
            max_login_failures: u32::MAX,
            sources: SourceLimits { failed_logins_per_hour: u32::MAX, mails_per_hour: u32::MAX },
            legacy_pbkdf2_iterations: pad,
            ..Config::default()
        };
        let app = TestApp::spawn_with(config).await;
        let argon2 = unique_email("timing-argon2");
        app.sign_up(&argon2).await;
        let move_in = |label: &str| {
            let old = DjangoUser {
                email: unique_email(label),
                name: "Moved".into(),
                password: hash.clone(),
                is_active: true,
                ..DjangoUser::default()
            };
            migration::moving_in(
                &old,
                stepauth::random::uuid_v4(&stepauth::random::SystemRandom::default()),
                app.clock.now(),
            )
            .expect("a user that may move in")
        };
        let legacy = move_in("timing-legacy");
        migration::move_in(&*app.app.store, &legacy).await.expect("moved in");
        let unknown = unique_email("timing-unknown");

        let kinds = [
            ("unknown", unknown.as_str()),
            ("Argon2id account", argon2.as_str()),
            ("PBKDF2 account", legacy.user.email.as_str()),
        ];
        let mut wrong = vec![Vec::new(); kinds.len()];
        let (mut first, mut after) = (Vec::new(), Vec::new());
        for i in 0..iterations {
            for k in 0..kinds.len() {
                let (_, email) = kinds[(k + i) % kinds.len()];
                let (ms, status) = timed(&app, email, "Wrong-Password-1!").await;
                assert_eq!(status, 401);
                wrong[(k + i) % kinds.len()].push(ms);
            }
            let fresh = move_in("timing-first");
            migration::move_in(&*app.app.store, &fresh).await.expect("moved in");
            let (ms, status) = timed(&app, fresh.user.email.as_str(), &password).await;
            assert_eq!(status, 200);
            first.push(ms);
            let (ms, status) = timed(&app, fresh.user.email.as_str(), &password).await;
            assert_eq!(status, 200);
            after.push(ms);
        }
        let label = pad.map_or("pad off".to_owned(), |n| format!("pad on ({n} iterations)"));
        let medians: Vec<f64> = wrong.iter_mut().map(|w| median(w)).collect();
        println!("{label}, median of {iterations}: wrong-password login");
        for ((kind, _), m) in kinds.iter().zip(&medians) {
            println!("  {kind:<18} {m:8.1} ms  ({:.2} x unknown)", m / medians[0]);
        }
        println!(
            "  right login of a moved-in account: first (PBKDF2, then upgraded) {:.1} ms, after the upgrade {:.1} ms",
            median(&mut first),
            median(&mut after)
        );
    }
}
