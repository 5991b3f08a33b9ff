//! The events/ files: one real API Gateway HTTP API (2.0) event per function, each parsed as
//! the Lambda runtime parses it and run through its function's handler.

use lambda_http::RequestExt as _;
use stepauth::routes::{EVENT_FUNCTIONS, ROUTES, handler};
use stepauth_tests::embedded_app;

/// Every file in events/, by the function it is named for (`<function>.json`), read from the
/// folder so that a new function's event is picked up without a list to edit.
fn events() -> Vec<(String, String)> {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut events: Vec<(String, String)> = std::fs::read_dir(folder)
        .expect("events/")
        .map(|entry| entry.expect("an entry").path())
        // A folder holds the further shapes of one function's events (events/mail-events/).
        .filter(|path| !path.is_dir())
        .map(|path| {
            let name = path.file_name().expect("a name").to_string_lossy().into_owned();
            let function = name.strip_suffix(".json").unwrap_or_else(|| panic!("events/{name} is not a .json file"));
            (function.to_owned(), std::fs::read_to_string(&path).expect("readable"))
        })
        .collect();
    events.sort();
    events
}

fn event(function: &str) -> String {
    events().into_iter().find(|(f, _)| f == function).unwrap_or_else(|| panic!("events/{function}.json")).1
}

#[test]
fn every_function_has_one_event_for_its_route() {
    let events = events();
    let named: Vec<&str> = events.iter().map(|(f, _)| f.as_str()).collect();
    let mut functions: Vec<&str> =
        ROUTES.iter().map(|r| r.function).chain(EVENT_FUNCTIONS.iter().map(|f| f.function)).collect();
    functions.sort_unstable();
    functions.dedup();
    assert_eq!(named, functions, "events/ holds exactly one file per function");
    for (function, text) in &events {
        let event: serde_json::Value = serde_json::from_str(text).expect("JSON");
        if EVENT_FUNCTIONS.iter().any(|f| f.function == function) {
            assert_eq!(event["source"], "aws.ses", "{function}: an EventBridge event from SES");
            continue;
        }
        let route_key = event["routeKey"].as_str().expect("a route key");
        let ours = ROUTES.iter().filter(|r| r.function == *function);
        assert!(ours.clone().any(|r| format!("{} {}", r.method, r.path) == route_key), "{function}: {route_key}");
        assert_eq!(event["version"], "2.0");
    }
}

async fn run_raw(function: &str) -> (u16, String) {
    let text = event(function);
    let request = lambda_http::request::from_str(&text).expect("the runtime parses the event");
    let (app, _) = embedded_app();
    let route = ROUTES.iter().find(|r| r.function == function).expect("a route");
    let response = (route.handler)(&app, request).await;
    (response.status().as_u16(), String::from_utf8_lossy(response.body().as_ref()).into_owned())
}

async fn run(function: &str) -> (u16, serde_json::Value) {
    let text = event(function);
    let request = lambda_http::request::from_str(&text).expect("the runtime parses the event");
    assert!(request.request_context_ref().is_some(), "{function}: the API Gateway context is there");
    let (app, _) = embedded_app();
    let route = ROUTES.iter().find(|r| r.function == function).expect("a route");
    let response = (route.handler)(&app, request).await;
    let body = serde_json::from_slice(response.body().as_ref()).expect("a JSON body");
    (response.status().as_u16(), body)
}

#[tokio::test]
async fn each_event_runs_through_its_handler() {
    let expected = [
        ("signup", 202, None),
        ("signup-verify", 400, Some("invalid_code")),
        ("signup-complete", 400, Some("invalid_signup_token")),
        ("login", 401, Some("invalid_credentials")),
        ("token-refresh", 401, Some("invalid_token")),
        ("logout", 200, None),
        ("logout-all", 401, Some("invalid_token")),
        ("profile-get", 401, Some("invalid_token")),
        ("jwks", 200, None),
        ("login-code", 202, None),
        ("login-code-verify", 400, Some("invalid_code")),
        ("code-resend", 202, None),
        ("password-forgot", 202, None),
        ("password-verify", 400, Some("invalid_code")),
        ("password-reset", 400, Some("invalid_reset_token")),
        ("password-change", 401, Some("invalid_token")),
        ("profile-update", 401, Some("invalid_token")),
        ("activity", 401, Some("invalid_token")),
        ("admin-unlock", 401, Some("invalid_token")),
        ("admin-users", 401, Some("invalid_token")),
        ("admin-mfa-reset", 401, Some("invalid_token")),
        ("totp-setup", 401, Some("invalid_token")),
        ("totp-confirm", 401, Some("invalid_token")),
        ("totp-disable", 401, Some("invalid_token")),
        ("mfa-verify", 401, Some("invalid_mfa_token")),
    ];
    let (status, _) = run_raw("web").await;
    assert_eq!(status, 200, "the front end's event serves the page");
    for (function, status, error) in expected {
        let (got, body) = run(function).await;
        assert_eq!(got, status, "{function}: {body}");
        if let Some(error) = error {
            assert_eq!(body["error"], error, "{function}");
        }
    }
    // A function not listed above (one just made by scripts/new-function) answers its event
    // with something other than a server error.
    let http = |f: &str| !EVENT_FUNCTIONS.iter().any(|e| e.function == f);
    for (function, _) in
        events().iter().filter(|(f, _)| f != "web" && http(f) && !expected.iter().any(|(e, _, _)| e == f))
    {
        let (got, body) = run_raw(function).await;
        assert!(got < 500, "{function}: {got} {body}");
    }
    // A function an event starts takes its event: SES's bounce of a mail this app never sent
    // stops mail to the address all the same.
    for function in EVENT_FUNCTIONS {
        let (app, _) = embedded_app();
        let event = serde_json::from_str(&event(function.function)).expect("JSON");
        (function.handler)(&app, event).await.unwrap_or_else(|e| panic!("{}: {e:#}", function.function));
        assert!(app.store.is_suppressed("ann@example.com").await.expect("the store"), "{}", function.function);
    }
}

#[tokio::test]
async fn the_signup_event_mails_a_code_and_records_the_source() {
    let text = event("signup");
    let request = lambda_http::request::from_str(&text).expect("parses");
    assert_eq!(stepauth::http::origin(&request).source_ip.as_deref(), Some("203.0.113.24"));
    let (app, outbox) = embedded_app();
    let response = handler::signup(&app, request).await;
    assert_eq!(response.status(), 202);
    let sent = outbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ann@example.com");
}
