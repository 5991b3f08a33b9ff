//! Whether an address has an account must not show, in the answer or in the time it takes
//! (docs/SECURITY.md, "Enumeration"). Time follows the work done, so this records the store
//! operations each route makes (a recording wrapper around the DynamoDB store on moto) and
//! requires the same sequence for an address with an account, without one, with a pending
//! sign-up, and locked. `scripts/bench/enumeration-timing` measures the times themselves.

use std::sync::Arc;

use serde_json::{Value, json};
use stepauth::config::{Config, SourceLimits};
use stepauth_tests::recording_store::RecordingStore;
use stepauth_tests::{TestApp, moto_store, unique_email};

const WRONG: &str = "Wrong-Password-1";

#[tokio::test]
async fn every_kind_of_address_costs_the_same_store_operations() {
    let recorder = Arc::new(RecordingStore::new(Arc::new(moto_store().await)));
    let sources = SourceLimits { failed_logins_per_hour: 1000, mails_per_hour: 1000 };
    let app = TestApp::spawn_with_store(Config { sources, ..Config::default() }, recorder.clone()).await;

    let account = unique_email("kind-account");
    app.sign_up(&account).await;
    let unknown = unique_email("kind-unknown");
    let pending = unique_email("kind-pending");
    app.post("/auth/signup", json!({"name": "Pending", "email": pending})).await;
    let locked = unique_email("kind-locked");
    app.sign_up(&locked).await;
    let locked_unknown = unique_email("kind-locked-unknown");
    for email in [&locked, &locked_unknown] {
        for _ in 0..3 {
            app.post("/auth/login", json!({"email": email, "password": WRONG})).await;
        }
    }
    let kinds = [("account", &account), ("unknown", &unknown), ("pending", &pending), ("locked", &locked)];

    type Body = fn(&str) -> Value;
    let routes: [(&str, Body); 4] = [
        ("/auth/signup", |email| json!({"name": "Someone", "email": email})),
        ("/auth/login/code", |email| json!({"email": email})),
        ("/auth/password/forgot", |email| json!({"email": email})),
        ("/auth/code/resend", |email| json!({"email": email, "purpose": "login"})),
    ];
    for (path, body) in routes {
        app.clock.advance(61); // past every address's cooldown
        let mut seen = Vec::new();
        for (kind, email) in kinds {
            recorder.take();
            let answer = app.post(path, body(email)).await;
            seen.push((kind, answer.status, answer.text.clone(), recorder.take()));
        }
        assert!(seen.iter().all(|s| s.1 == 202), "{path}: {seen:?}");
        for other in &seen[1..] {
            assert_eq!(
                (other.1, &other.2, &other.3),
                (seen[0].1, &seen[0].2, &seen[0].3),
                "{path}: {} vs account",
                other.0
            );
        }
    }

    // A wrong password: the same for an account, no account and a pending sign-up; a locked
    // account the same as a locked address without one.
    let mut seen = Vec::new();
    for (kind, email) in [("account", &account), ("unknown", &unknown), ("pending", &pending)] {
        recorder.take();
        let answer = app.post("/auth/login", json!({"email": email, "password": WRONG})).await;
        seen.push((kind, answer.status, answer.text.clone(), recorder.take()));
    }
    assert_eq!(seen[0].1, 401, "{seen:?}");
    for other in &seen[1..] {
        assert_eq!((other.1, &other.2, &other.3), (seen[0].1, &seen[0].2, &seen[0].3), "login: {} vs account", other.0);
    }
    let mut locked_seen = Vec::new();
    for email in [&locked, &locked_unknown] {
        recorder.take();
        let answer = app.post("/auth/login", json!({"email": email, "password": WRONG})).await;
        locked_seen.push((answer.status, answer.text.clone(), recorder.take()));
    }
    assert_eq!(locked_seen[0].0, 423);
    assert_eq!(locked_seen[0], locked_seen[1], "login: a locked account vs a locked address without one");
}
