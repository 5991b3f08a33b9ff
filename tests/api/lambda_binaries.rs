//! The real Lambda binaries, each started as Lambda starts it (Runtime API, environment,
//! `AWS_ENDPOINT_URL` pointing at moto) and given its events/ file: the whole sign-up to
//! logout flow, one binary per step.

use serde_json::{Value, json};
use stepauth::tokens::Keys;
use stepauth_tests::runtime_api::{Lambda, binary, invoke};
use stepauth_tests::{PASSWORD, find_code, moto_mails, unique_email};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_binaries_walk_the_whole_flow_against_moto() {
    let lambda = Lambda::new().await;
    let email = unique_email("lambda");

    let (status, body, _) = lambda.call("signup", Some(json!({"name": "Lambda", "email": email})), None, &[]).await;
    assert_eq!(status, 202, "{body}");
    let mails = moto_mails(&email).await;
    let code = find_code(&mails.last().expect("a mail through SES").body).expect("a code");

    let (status, body, _) = lambda.call("signup-verify", Some(json!({"email": email, "code": code})), None, &[]).await;
    assert_eq!(status, 200, "{body}");
    let signup_token = body["signup_token"].as_str().expect("a sign-up token").to_owned();
    let signup = json!({"signup_token": signup_token, "password": PASSWORD, "confirm_password": PASSWORD});
    let (status, body, cookies) = lambda.call("signup-complete", Some(signup), None, &[]).await;
    assert_eq!((status, body["message"].as_str()), (201, Some("User created successfully")), "{body}");
    assert_eq!(cookies.len(), 3, "API Gateway 2.0 responses carry Set-Cookie as `cookies`");

    let wrong = json!({"email": email, "password": "not the password at all"});
    let (status, _, _) = lambda.call("login", Some(wrong), None, &[]).await;
    assert_eq!(status, 401);

    let (status, login, _) = lambda.call("login", Some(json!({"email": email, "password": PASSWORD})), None, &[]).await;
    assert_eq!(status, 200, "{login}");
    let access = login["access_token"].as_str().expect("a token");
    let (status, me, _) = lambda.call("profile-get", None, Some(access), &[]).await;
    assert_eq!((status, me["email"].as_str()), (200, Some(email.as_str())), "{me}");

    let cookie = format!("__Secure-stepauth_refresh={}", login["refresh_token"].as_str().expect("a token"));
    let (status, refreshed, _) = lambda.call("token-refresh", None, None, &[cookie]).await;
    assert_eq!(status, 200, "{refreshed}");

    let (status, jwks, _) = lambda.call("jwks", None, None, &[]).await;
    assert_eq!((status, jwks["keys"].as_array().map(Vec::len)), (200, Some(1)));
    let kid = jsonwebtoken::decode_header(access).expect("a JWT").kid.expect("a kid");
    assert_eq!(jwks["keys"][0]["kid"].as_str(), Some(kid.as_str()), "the published key verifies what login signed");

    let access = refreshed["access_token"].as_str().expect("a token");
    let (status, _, cleared) = lambda.call("logout-all", None, Some(access), &[]).await;
    assert_eq!(status, 200);
    assert!(cleared.iter().all(|c| c.contains("Max-Age=0")));
    let (status, _, _) = lambda.call("profile-get", None, Some(access), &[]).await;
    assert_eq!(status, 401, "logout-all ended the session");
    let (status, _, _) =
        lambda.call("logout", Some(json!({"refresh_token": refreshed["refresh_token"]})), None, &[]).await;
    assert_eq!(status, 200);

    // The logs: one JSON line per request, with its metrics, and none of the secrets the
    // flow used (docs/SECURITY.md, rule 75).
    let logs = lambda.logs();
    let mut secrets =
        vec![email.clone(), PASSWORD.to_owned(), "not the password at all".to_owned(), code, signup_token];
    for tokens in [&login, &refreshed] {
        secrets.extend(["access_token", "refresh_token"].map(|t| tokens[t].as_str().expect("a token").to_owned()));
    }
    secrets.extend(cookies.iter().map(|c| c.split(';').next().expect("a cookie").to_owned()));
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs: {secret}");
    }
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(requests.len(), 11, "one line per request: {logs}");
    let line = |route: &str, status: u16| {
        *requests.iter().find(|l| l["Route"] == route && l["status"] == status).unwrap_or_else(|| panic!("{route}"))
    };
    let failed = line("POST /auth/login", 401);
    assert_eq!((failed["LoginFailed"].as_u64(), failed["error"].as_str()), (Some(1), Some("invalid_credentials")));
    let logged_in = line("POST /auth/login", 200);
    assert_eq!(logged_in["LoginSucceeded"], 1);
    assert_eq!(logged_in["userId"], me["id"]);
    assert_eq!(logged_in["coldStart"], true);
    assert_eq!(logged_in["requestId"], "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    assert!(logged_in["traceId"].as_str().is_some_and(|t| t.starts_with("Root=")), "{logged_in}");
    assert!(logged_in["Latency"].is_number() && logged_in["_aws"]["CloudWatchMetrics"].is_array(), "{logged_in}");
    assert_eq!(line("POST /auth/signup", 202)["CodeSent"], 1);
}

/// The other flows, through the real binaries with their logs kept: a login by emailed
/// code, a password reset, turning the authenticator on and a login with it, a wrong
/// authenticator code. No log line of any step holds the address, a password, a code, a
/// token, the authenticator's secret or a recovery code (docs/SECURITY.md, rule 75); the
/// metrics of each outcome are in its line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_every_flow_hold_none_of_its_secrets() {
    let lambda = Lambda::new().await;
    let email = unique_email("lambda-logs");
    let last_code = async |email: &str| {
        let mails = moto_mails(email).await;
        find_code(&mails.last().expect("a mail through SES").body).expect("a code")
    };
    let mut secrets: Vec<String> = vec![email.clone(), PASSWORD.to_owned()];
    let mut keep = |value: &Value| secrets.push(value.as_str().expect("a string").to_owned());

    lambda.call("signup", Some(json!({"name": "Logs", "email": email})), None, &[]).await;
    let code = last_code(&email).await;
    let (_, verified, _) = lambda.call("signup-verify", Some(json!({"email": email, "code": code})), None, &[]).await;
    let complete =
        json!({"signup_token": verified["signup_token"], "password": PASSWORD, "confirm_password": PASSWORD});
    let (status, done, _) = lambda.call("signup-complete", Some(complete), None, &[]).await;
    assert_eq!(status, 201, "{done}");
    keep(&json!(code));
    keep(&verified["signup_token"]);

    // A login by emailed code.
    let (status, _, _) = lambda.call("login-code", Some(json!({"email": email})), None, &[]).await;
    assert_eq!(status, 202);
    let code = last_code(&email).await;
    let (status, by_code, _) =
        lambda.call("login-code-verify", Some(json!({"email": email, "code": code})), None, &[]).await;
    assert_eq!(status, 200, "{by_code}");
    keep(&json!(code));
    keep(&by_code["access_token"]);
    keep(&by_code["refresh_token"]);

    // A password reset.
    let new_password = "Another-Horse-8-Staple";
    lambda.call("password-forgot", Some(json!({"email": email})), None, &[]).await;
    let code = last_code(&email).await;
    let (_, verified, _) = lambda.call("password-verify", Some(json!({"email": email, "code": code})), None, &[]).await;
    let reset =
        json!({"reset_token": verified["reset_token"], "password": new_password, "confirm_password": new_password});
    let (status, answer, _) = lambda.call("password-reset", Some(reset), None, &[]).await;
    assert_eq!(status, 200, "{answer}");
    keep(&json!(code));
    keep(&verified["reset_token"]);
    keep(&json!(new_password));

    // The authenticator turned on, then a login with it: one wrong code, one right.
    let login = json!({"email": email, "password": new_password});
    let (_, session, _) = lambda.call("login", Some(login.clone()), None, &[]).await;
    let access = session["access_token"].as_str().expect("a token").to_owned();
    keep(&session["access_token"]);
    keep(&session["refresh_token"]);
    let (status, setup, _) =
        lambda.call("totp-setup", Some(json!({"password": new_password})), Some(&access), &[]).await;
    assert_eq!(status, 200, "{setup}");
    let secret = setup["secret"].as_str().expect("a secret").to_owned();
    let totp = stepauth::totp::totp(&secret, "stepauth", &email).expect("the secret");
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_secs() as i64;
    let code = stepauth::totp::code_at(&totp, now());
    let (status, confirmed, _) = lambda.call("totp-confirm", Some(json!({"code": code})), Some(&access), &[]).await;
    assert_eq!(status, 200, "{confirmed}");
    keep(&json!(secret));
    for recovery in confirmed["recovery_codes"].as_array().expect("recovery codes") {
        keep(recovery);
    }
    let (_, asked, _) = lambda.call("login", Some(login), None, &[]).await;
    assert_eq!(asked["mfa_required"], true, "{asked}");
    keep(&asked["mfa_token"]);
    let wrong = json!({"mfa_token": asked["mfa_token"], "code": "000000"});
    let (status, refused, _) = lambda.call("mfa-verify", Some(wrong), None, &[]).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_code")), "{refused}");
    let next_step = stepauth::totp::code_at(&totp, now() + stepauth::totp::STEP as i64);
    let right = json!({"mfa_token": asked["mfa_token"], "code": next_step});
    let (status, verified, _) = lambda.call("mfa-verify", Some(right), None, &[]).await;
    assert_eq!(status, 200, "{verified}");
    keep(&verified["access_token"]);
    keep(&verified["refresh_token"]);
    keep(&json!(next_step));

    let logs = lambda.logs();
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs: {secret}\n{logs}");
    }
    let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect();
    let line = |route: &str, status: u16| {
        lines
            .iter()
            .find(|l| l["message"] == "request" && l["Route"] == route && l["status"] == status)
            .unwrap_or_else(|| panic!("no line for {route} {status}: {logs}"))
    };
    let asked = lines.iter().filter(|l| l["Route"] == "POST /auth/login" && l["SecondFactorAsked"] == 1).count();
    assert_eq!(asked, 1, "the second login asked for the second factor");
    let failed = line("POST /auth/mfa/verify", 400);
    assert_eq!((failed["SecondFactorFailed"].as_u64(), failed["LoginFailed"].as_u64()), (Some(1), Some(1)));
    assert_eq!(line("POST /auth/mfa/verify", 200)["LoginSucceeded"], 1);
    assert_eq!(line("POST /auth/login/code/verify", 200)["LoginSucceeded"], 1);
    assert_eq!(line("POST /auth/password/forgot", 202)["CodeSent"], 1);
}

/// `jwks` starts with nothing but the key given at deploy time: no secret, no AWS client
/// (its endpoint here leads nowhere), so its role allows nothing.
#[tokio::test]
async fn the_jwks_function_publishes_the_deployed_key_without_the_secret() {
    let keys = Keys::generate("stepauth", "stepauth-api").expect("keys");
    let env = [
        ("STEPAUTH_SIGNING_PUBLIC_KEY".to_owned(), keys.public_key().to_base64_der()),
        ("AWS_ENDPOINT_URL".to_owned(), "http://127.0.0.1:9".to_owned()),
    ];
    let event = include_str!("../../events/jwks.json");
    let response = invoke(&binary("jwks"), &env, event).await.response.expect("jwks serves");
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["body"].as_str(), Some(keys.jwks()), "the same document the signing functions' key makes");
    assert!(invoke(&binary("jwks"), &[], event).await.response.is_err(), "no key given, no start");
}

/// A deployment whose published key is not its signing key would issue tokens no verifier
/// accepts: every signing function refuses to start instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_whose_signing_key_is_not_the_published_one_fails_at_start() {
    let other = Keys::generate("stepauth", "stepauth-api").expect("keys");
    let mut lambda = Lambda::new().await;
    let (status, _, _) = lambda.call("profile-get", None, None, &[]).await;
    assert_eq!(status, 401, "with the right key it starts");
    for (name, value) in &mut lambda.env {
        if name == "STEPAUTH_SIGNING_PUBLIC_KEY" {
            *value = other.public_key().to_base64_der();
        }
    }
    let event = include_str!("../../events/profile-get.json");
    let invocation = invoke(&binary("profile-get"), &lambda.env, event).await;
    assert!(invocation.response.is_err(), "a mismatched key refuses to serve");
}

#[tokio::test]
async fn a_function_without_its_configuration_fails_at_start() {
    let invocation = invoke(&binary("login"), &[("STEPAUTH_TABLE".into(), String::new())], "{}").await;
    assert!(invocation.response.is_err(), "a misconfigured function refuses to serve");
}

/// The `web` binary starts with no configuration at all (its role allows nothing), and as
/// API Gateway's `$default` route answers every unrouted request with the API's own errors.
#[tokio::test]
async fn the_web_function_needs_nothing_and_answers_unrouted_requests() {
    let event = |method: &str, path: &str| {
        let mut event: Value = serde_json::from_str(include_str!("../../events/web.json")).expect("JSON");
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["method"] = json!(method);
        event["requestContext"]["http"]["path"] = json!(path);
        event.to_string()
    };
    let cases = [("GET", "/", 200, None), ("GET", "/nowhere", 404, None), ("GET", "/auth/login", 405, Some("POST"))];
    for (method, path, status, allow) in cases {
        let invocation = invoke(&binary("web"), &[], &event(method, path)).await;
        let response = invocation.response.unwrap_or_else(|e| panic!("web failed: {e}"));
        assert_eq!(response["statusCode"], status, "{method} {path}: {response}");
        assert_eq!(response["headers"]["allow"].as_str(), allow, "{method} {path}");
        if status != 200 {
            let body: Value = serde_json::from_str(response["body"].as_str().expect("a body")).expect("JSON");
            assert!(body["error"].is_string(), "{body}");
        }
    }
}
