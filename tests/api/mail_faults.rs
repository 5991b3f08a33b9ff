//! SES falters (issue 21): throttled (`429 TooManyRequestsException`) or rejecting
//! (`MessageRejected`), injected between the app's real SES client and moto. A mail that did
//! not leave spends nothing: not the code's send or cooldown, not the hourly cap, not the
//! source address's slot, and the code mailed before it still works (docs/SECURITY.md,
//! rule 74).

use std::time::{Duration, Instant};

use serde_json::json;
use stepauth::config::Config;
use stepauth_tests::fault_proxy::{Fault, FaultProxy, Kind};
use stepauth_tests::{TestApp, moto_endpoint, unique_email};

const SEND: &str = "/v2/email/outbound-emails";

/// Every route that mails a code, tried more often than the hourly cap allows while SES
/// fails: each answers `status` and `error`, quickly, and no mail leaves; the code mailed
/// before the fault still logs in; once SES is back, each route mails at once.
async fn nothing_is_spent(fault: Fault, status: u16, error: &str) {
    let proxy = FaultProxy::start(moto_endpoint(), fault).await;
    proxy.heal();
    let app = TestApp::spawn_through(Config::default(), &proxy.endpoint).await;
    let email = unique_email("mail-fault");
    app.sign_up(&email).await;
    assert_eq!(app.post("/auth/login/code", json!({"email": email})).await.status, 202);
    let before = app.last_code(&email).await;
    let mailed = app.mails_to(&email).await.len();
    let fresh = unique_email("mail-fault-new");
    app.clock.advance(61);

    proxy.break_again();
    let started = Instant::now();
    let routes = [
        ("/auth/login/code", json!({"email": email})),
        ("/auth/password/forgot", json!({"email": email})),
        ("/auth/signup", json!({"name": "Mail Fault", "email": fresh})),
    ];
    let cap = app.app.config.codes.max_sends_per_window as usize;
    for (path, body) in &routes {
        for _ in 0..cap + 1 {
            let answer = app.post(path, body.clone()).await;
            assert_eq!((answer.status, answer.error()), (status, error), "{path}: {}", answer.text);
            if status == 503 {
                assert_eq!(answer.headers["retry-after"], "1", "{path}");
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60), "quickly: {:?}", started.elapsed());
    assert!(proxy.injected() > 3 * cap, "the fault was met: {}", proxy.injected());
    assert_eq!(app.mails_to(&email).await.len(), mailed, "no mail left");
    let login = app.post("/auth/login/code/verify", json!({"email": email, "code": before})).await;
    assert_eq!(login.status, 200, "the code mailed before the fault still works: {}", login.text);

    proxy.heal();
    for (path, body) in routes {
        let answer = app.post(path, body).await;
        assert_eq!(answer.status, 202, "{path} at once: {}", answer.text);
    }
    assert_eq!(app.mails_to(&email).await.len(), mailed + 2, "the login and reset codes left");
    assert_eq!(app.mails_to(&fresh).await.len(), 1, "the sign-up code left");
}

/// SES throttles the account's sending: 503 with `Retry-After`, nothing spent.
#[tokio::test]
async fn a_throttled_mail_service_answers_503_and_spends_nothing() {
    let fault = Fault::every(SEND, Kind::Error { status: 429, error_type: "TooManyRequestsException" });
    nothing_is_spent(fault, 503, "service_unavailable").await;
}

/// SES rejects the message (an operator's matter: an unverified sender, the sandbox): a
/// 500, which no retry soon would cure, and still nothing spent.
#[tokio::test]
async fn a_rejected_mail_spends_nothing() {
    let fault = Fault::every(SEND, Kind::Error { status: 400, error_type: "MessageRejected" });
    nothing_is_spent(fault, 500, "internal_error").await;
}
