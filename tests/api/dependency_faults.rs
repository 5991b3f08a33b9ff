//! AWS falters (issue 21): every function family against every fault kind, injected by the
//! fault proxy between stepauth's real SDK clients and moto: DynamoDB and SES throttled,
//! failing (500), cutting connections or hanging; Secrets Manager the same at a function's
//! start. Each answer is `503 service_unavailable` with `Retry-After: 1`, inside the
//! functions' 10 s timeout (docs/DESIGN.md, "Time budget"); nothing is left half-done, and
//! once the fault clears the same requests succeed at once (docs/SECURITY.md, rule 77).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_tests::fault_proxy::{DYNAMODB, Fault, FaultProxy, Kind, SECRETS_MANAGER, SES, TRANSACT, kinds};
use stepauth_tests::runtime_api::{Lambda, answer_of};
use stepauth_tests::{Answer, PASSWORD, TestApp, find_code, moto_endpoint, moto_mails, unique_email};

/// The longest a request may take while a dependency falters: well inside the functions'
/// 10 s timeout (two hung calls of 3 s, and the request's own work).
const BOUND: Duration = Duration::from_secs(8);

/// One request of a function family.
#[derive(Clone)]
struct Probe {
    family: &'static str,
    method: &'static str,
    path: &'static str,
    body: Value,
    /// Whether it goes with the account's access token.
    signed_in: bool,
    /// Whether it sends mail (so an SES fault reaches it).
    mails: bool,
}

/// An account (an admin, so the admin routes answer it) and its session, made while the
/// proxy lets everything through.
struct Account {
    email: String,
    access: String,
    refresh: String,
}

/// One request of each family (sign-up, login by password and code, password reset,
/// refresh and logout, profile, sessions, activity, authenticator, admin).
fn probes(account: &Account) -> Vec<Probe> {
    let probe =
        |family, method, path, body: Value, signed_in, mails| Probe { family, method, path, body, signed_in, mails };
    let fresh = unique_email("fault-signup");
    vec![
        probe("signup", "POST", "/auth/signup", json!({"name": "Fault", "email": fresh}), false, true),
        probe("signup-verify", "POST", "/auth/signup/verify", json!({"email": fresh, "code": "000000"}), false, false),
        probe("login", "POST", "/auth/login", json!({"email": account.email, "password": PASSWORD}), false, false),
        probe("login-code", "POST", "/auth/login/code", json!({"email": account.email}), false, true),
        probe("password-forgot", "POST", "/auth/password/forgot", json!({"email": account.email}), false, true),
        probe("token-refresh", "POST", "/auth/token/refresh", json!({"refresh_token": account.refresh}), false, false),
        probe("profile-get", "GET", "/users/me", Value::Null, true, false),
        probe("profile-update", "PATCH", "/users/me", json!({"name": "Renamed"}), true, false),
        probe("sessions-list", "GET", "/users/me/sessions", Value::Null, true, false),
        probe("activity", "GET", "/users/me/activity", Value::Null, true, false),
        probe("totp-setup", "POST", "/auth/totp/setup", json!({"password": PASSWORD}), true, false),
        probe("admin-users", "GET", "/admin/users", Value::Null, true, false),
        probe("logout-all", "POST", "/auth/logout/all", json!({}), true, false),
    ]
}

async fn send(app: &TestApp, account: &Account, probe: &Probe) -> (Answer, Duration) {
    let bearer = format!("Bearer {}", account.access);
    let headers: &[(&str, &str)] = if probe.signed_in { &[("authorization", &bearer)] } else { &[] };
    let started = Instant::now();
    let answer = app.request(probe.method, probe.path, probe.body.clone(), headers).await;
    (answer, started.elapsed())
}

/// For `service` (DynamoDB or SES) and each fault kind: every probe it reaches, all at once,
/// answers 503 with `Retry-After: 1` within [`BOUND`]; then, the fault cleared, every probe
/// answers as it would have (the session, refresh token and password of before still work:
/// nothing was half-done).
async fn every_family_answers_503(service: &'static str) {
    let label = if service == SES { "SES" } else { "DynamoDB" };
    for (name, kind) in kinds(service) {
        let proxy = FaultProxy::start(moto_endpoint(), Fault::every(service, kind)).await;
        proxy.heal();
        let email = unique_email("fault");
        let config = Config { admin_emails: vec![email.clone()], ..Config::default() };
        let app = Arc::new(TestApp::spawn_through(config, &proxy.endpoint).await);
        let signed_up = app.sign_up(&email).await;
        let account =
            Arc::new(Account { email, access: signed_up.str("access_token"), refresh: signed_up.str("refresh_token") });
        let probes: Vec<Probe> = probes(&account).into_iter().filter(|p| service == DYNAMODB || p.mails).collect();

        proxy.break_again();
        let mut requests = tokio::task::JoinSet::new();
        for (i, probe) in probes.iter().cloned().enumerate() {
            let (app, account) = (app.clone(), account.clone());
            requests.spawn(async move { (i, send(&app, &account, &probe).await) });
        }
        let mut answers = requests.join_all().await;
        answers.sort_by_key(|(i, _)| *i);
        for (probe, (_, (answer, took))) in probes.iter().zip(answers) {
            eprintln!("{label} {name}: {} {} in {} ms", probe.family, answer.status, took.as_millis());
            assert_eq!(
                (answer.status, answer.error()),
                (503, "service_unavailable"),
                "{service} {name}: {}: {}",
                probe.family,
                answer.text
            );
            assert_eq!(answer.headers["retry-after"], "1", "{service} {name}: {}", probe.family);
            assert!(took < BOUND, "{service} {name}: {} took {took:?}", probe.family);
        }
        assert!(proxy.injected() >= probes.len(), "{service} {name}: the fault was met");

        proxy.heal();
        // Nothing was half-done: the session, its refresh token and the password still work,
        // no failure was counted, and each family answers at once.
        for probe in &probes {
            let (answer, _) = send(&app, &account, probe).await;
            let served = match probe.family {
                "signup-verify" => answer.error() == "invalid_code",
                _ => (200..300).contains(&answer.status),
            };
            assert!(served, "{service} {name}, healed: {} {}: {}", probe.family, answer.status, answer.text);
        }
        if service == SES {
            let mails = app.mails_to(&account.email).await;
            assert!(mails.len() >= 3, "the login and reset codes left once SES was back: {}", mails.len());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_family_answers_503_when_dynamodb_falters() {
    every_family_answers_503(DYNAMODB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mailing_family_answers_503_when_ses_falters() {
    every_family_answers_503(SES).await;
}

/// The real Lambda binaries, each under the Runtime API, their AWS calls through the proxy:
/// login, refresh and sign-up (the probes of the report) answer 503 with `Retry-After` within
/// [`BOUND`] for each DynamoDB fault kind, sign-up for each SES one; after the fault, the same
/// process answers the same request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_binaries_answer_503_when_aws_falters() {
    let healthy = Lambda::new().await;
    let email = unique_email("fault-lambda");
    let (status, _, _) = healthy.call("signup", Some(json!({"name": "Fault", "email": email})), None, &[]).await;
    assert_eq!(status, 202);
    let code = find_code(&moto_mails(&email).await.last().expect("a mail").body).expect("a code");
    let (_, verified, _) = healthy.call("signup-verify", Some(json!({"email": email, "code": code})), None, &[]).await;
    let complete =
        json!({"signup_token": verified["signup_token"], "password": PASSWORD, "confirm_password": PASSWORD});
    let (status, done, _) = healthy.call("signup-complete", Some(complete), None, &[]).await;
    assert_eq!(status, 201, "{done}");
    let mut refresh = done["refresh_token"].as_str().expect("a refresh token").to_owned();

    for (service, function) in [(DYNAMODB, "login"), (DYNAMODB, "token-refresh"), (DYNAMODB, "signup"), (SES, "signup")]
    {
        for (name, kind) in kinds(service) {
            let body = match function {
                "login" => json!({"email": email, "password": PASSWORD}),
                "token-refresh" => json!({"refresh_token": refresh}),
                _ => json!({"name": "Fault", "email": unique_email("fault-lambda-new")}),
            };
            let proxy = FaultProxy::start(moto_endpoint(), Fault::every(service, kind)).await;
            proxy.heal();
            let mut running = healthy.through(&proxy.endpoint).start(function).await;
            let event = Lambda::event(function, Some(body.clone()), None, &[]);
            // A first invocation, healthy, so that the start (Secrets Manager) is behind us.
            let warm = running.invoke(&Lambda::event("profile-get", None, None, &[])).await;
            assert!(warm.response.is_ok(), "{function} starts");

            proxy.break_again();
            let invocation = running.invoke(&event).await;
            let response = invocation.response.unwrap_or_else(|e| panic!("{service} {name} {function}: {e}"));
            let (status, answer, _) = answer_of(&response);
            let label = if service == SES { "SES" } else { "DynamoDB" };
            eprintln!("lambda {label} {name}: {function} {status} in {} ms", invocation.elapsed.as_millis());
            assert_eq!((status, answer["error"].as_str()), (503, Some("service_unavailable")), "{name} {function}");
            assert_eq!(response["headers"]["retry-after"], "1", "{name} {function}");
            assert!(invocation.elapsed < BOUND, "{service} {name} {function}: {:?}", invocation.elapsed);

            proxy.heal();
            let again = running.invoke(&event).await.response.expect("an answer");
            let (status, answer, _) = answer_of(&again);
            assert!(matches!(status, 200 | 202), "{service} {name} {function}, healed: {status} {answer}");
            if let Some(rotated) = answer["refresh_token"].as_str() {
                refresh = rotated.to_owned();
            }
            running.stop().await;
        }
    }
}

/// Secrets Manager falters while a function starts: it does not crash (which API Gateway
/// would answer with its own 500), it answers 503 with `Retry-After`, and the first request
/// after the fault clears builds the function's app and is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_starting_while_secrets_manager_falters_answers_503_then_recovers() {
    let healthy = Lambda::new().await;
    for (name, kind) in kinds(SECRETS_MANAGER) {
        let body = json!({"email": unique_email("fault-secret"), "password": PASSWORD});
        let proxy = FaultProxy::start(moto_endpoint(), Fault::every(SECRETS_MANAGER, kind)).await;
        let mut running = healthy.through(&proxy.endpoint).start("login").await;
        let event = Lambda::event("login", Some(body.clone()), None, &[]);
        let invocation = running.invoke(&event).await;
        let response = invocation.response.unwrap_or_else(|e| panic!("{name}: the function failed: {e}"));
        let (status, answer, _) = answer_of(&response);
        eprintln!("lambda secrets {name}: login {status} in {} ms (cold)", invocation.elapsed.as_millis());
        assert_eq!((status, answer["error"].as_str()), (503, Some("service_unavailable")), "{name}: {answer}");
        assert_eq!(response["headers"]["retry-after"], "1", "{name}");
        assert!(invocation.elapsed < 2 * BOUND, "{name}: {:?}", invocation.elapsed);

        proxy.heal();
        let (status, answer, _) = answer_of(&running.invoke(&event).await.response.expect("an answer"));
        assert_eq!((status, answer["error"].as_str()), (401, Some("invalid_credentials")), "{name}, healed: {answer}");
        running.stop().await;
    }
}

/// The `X-Amz-Target` of a single-item update.
const UPDATE: &str = "DynamoDB_20120810.UpdateItem";

/// An app behind a proxy injecting `fault` (healed until `break_again`), and an account.
async fn behind(fault: Fault, label: &str) -> (FaultProxy, TestApp, String, Answer) {
    let proxy = FaultProxy::start(moto_endpoint(), fault).await;
    proxy.heal();
    let app = TestApp::spawn_through(Config::default(), &proxy.endpoint).await;
    let email = unique_email(label);
    let signed_up = app.sign_up(&email).await;
    (proxy, app, email, signed_up)
}

/// A refresh whose write went through but whose answer was lost: the SDK's retry of the
/// same rotation is the same rotation (its new hash is current already), so the client gets
/// its new tokens, not a revoked session; the token before stays spent (docs/SECURITY.md,
/// rule 76).
#[tokio::test]
async fn a_rotation_whose_answer_was_lost_is_retried_into_the_same_rotation() {
    let fault = Fault::matching(UPDATE, "token_hash = :new", Kind::LostAnswer).once();
    let (proxy, app, _, signed_up) = behind(fault, "lost-rotation").await;
    let first = signed_up.str("refresh_token");
    proxy.break_again();
    let rotated = app.post("/auth/token/refresh", json!({"refresh_token": first})).await;
    assert_eq!(proxy.injected(), 1, "the first answer was lost");
    assert_eq!(rotated.status, 200, "the retried rotation succeeded: {}", rotated.text);
    let next = app.post("/auth/token/refresh", json!({"refresh_token": rotated.str("refresh_token")})).await;
    assert_eq!(next.status, 200, "the new refresh token works: {}", next.text);
    let replayed = app.post("/auth/token/refresh", json!({"refresh_token": first})).await;
    assert_eq!(replayed.status, 401, "the token before stays spent");
}

/// The client repeats a refresh whose rotation was written but every answer lost (a 503):
/// its token is the one before, so the repeat is a reuse and the session ends; nothing is
/// left half-valid, and logging in again works at once.
#[tokio::test]
async fn a_refresh_repeated_after_a_lost_rotation_ends_the_session_and_nothing_else() {
    let fault = Fault::matching(UPDATE, "token_hash = :new", Kind::LostAnswer);
    let (proxy, app, email, signed_up) = behind(fault, "lost-rotations").await;
    let (refresh, access) = (signed_up.str("refresh_token"), signed_up.str("access_token"));
    proxy.break_again();
    let lost = app.post("/auth/token/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!((lost.status, lost.error()), (503, "service_unavailable"), "{}", lost.text);
    proxy.heal();
    let repeated = app.post("/auth/token/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(repeated.status, 401, "the token was rotated: a reuse: {}", repeated.text);
    assert_eq!(app.get_as("/users/me", &access).await.status, 401, "the session ended with it");
    app.log_in(&email).await;
}

/// A sign-up completion whose transaction went through but whose answer was lost: the
/// SDK's retry finds the account it made (moto, unlike DynamoDB, ignores the transaction's
/// idempotency token), so the person gets their account and session, and there is one
/// account for the address.
#[tokio::test]
async fn a_signup_whose_answer_was_lost_is_retried_into_the_same_account() {
    let fault = Fault::matching(TRANSACT, "USERS#", Kind::LostAnswer).once();
    let proxy = FaultProxy::start(moto_endpoint(), fault).await;
    let app = TestApp::spawn_through(Config::default(), &proxy.endpoint).await;
    let email = unique_email("lost-signup");
    let token = app.verified_signup("Lost Answer", &email).await;
    let complete = json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD});
    let created = app.post("/auth/signup/complete", complete.clone()).await;
    assert_eq!(proxy.injected(), 1, "the first answer was lost");
    assert_eq!(created.status, 201, "the retried transaction is the same account: {}", created.text);
    let me = app.get_as("/users/me", &created.str("access_token")).await;
    assert_eq!(me.str("email"), email);
    let again = app.post("/auth/signup/complete", complete).await;
    assert_eq!(again.error(), "invalid_signup_token", "the token is spent");
    assert_eq!(app.log_in(&email).await.body["user"]["id"], me.body["id"], "one account for the address");
}

/// A failed login whose count went through but whose answer was lost: the SDK's retry of
/// the same count counts nothing more (each attempt's id is in the counter), so a lost
/// answer costs the owner no extra attempt and gives an attacker none (docs/SECURITY.md,
/// rule 76).
#[tokio::test]
async fn a_failure_count_whose_answer_was_lost_counts_once() {
    let fault = Fault::matching(UPDATE, "ADD failures", Kind::LostAnswer).once();
    let (proxy, app, email, _) = behind(fault, "lost-failure").await;
    proxy.break_again();
    let max = app.app.config.max_login_failures;
    let wrong = app.post("/auth/login", json!({"email": email, "password": "not the password at all"})).await;
    assert_eq!(proxy.injected(), 1, "the first answer was lost");
    assert_eq!(wrong.error(), "invalid_credentials", "{}", wrong.text);
    assert_eq!(wrong.body["attempts_remaining"], max - 1, "{}", wrong.text);
    let address = stepauth::model::Email::parse(&email).expect("an email");
    let counted = app.app.store.failures(std::slice::from_ref(&address), app.app.now()).await.expect("failures");
    assert_eq!(counted, [1], "counted once");
    // The limit still holds: the remaining wrong guesses lock the account.
    for _ in 1..max {
        app.post("/auth/login", json!({"email": email, "password": "still not the password"})).await;
    }
    let locked = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(locked.error(), "account_locked", "{}", locked.text);
}
