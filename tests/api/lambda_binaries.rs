//! The real Lambda binaries, each started as Lambda starts it (Runtime API, environment,
//! `AWS_ENDPOINT_URL` pointing at moto) and given its events/ file: the whole sign-up to
//! logout flow, one binary per step.

use serde_json::{Value, json};
use stepauth::tokens::Keys;
use stepauth_tests::runtime_api::{binary, invoke};
use stepauth_tests::{PASSWORD, find_code, moto_local_aws, moto_mails, unique_email};

struct Lambda {
    env: Vec<(String, String)>,
}

impl Lambda {
    /// The binaries' environment as a deployment's: the signing key and code pepper come
    /// from a Secrets Manager secret (in moto), read once at start.
    async fn new() -> Self {
        let local = moto_local_aws().await;
        Self { env: local.env().await.expect("the environment").into_iter().map(|(k, v)| (k.to_owned(), v)).collect() }
    }

    /// Invokes `function` with its events/ file, the body, bearer token and cookies replaced.
    async fn call(
        &self,
        function: &str,
        body: Option<Value>,
        bearer: Option<&str>,
        cookies: &[String],
    ) -> (u16, Value, Vec<String>) {
        let path = format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR"));
        let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("the event")).expect("JSON");
        if let Some(body) = body {
            event["body"] = Value::String(body.to_string());
            event["headers"]["content-type"] = Value::String("application/json".into());
        }
        if let Some(token) = bearer {
            event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
        }
        if !cookies.is_empty() {
            event["cookies"] = json!(cookies);
        }
        let invocation = invoke(&binary(function), &self.env, &event.to_string()).await;
        let response = invocation.response.unwrap_or_else(|e| panic!("{function} failed: {e}"));
        let status = response["statusCode"].as_u64().expect("a status") as u16;
        let body = serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        let cookies = response["cookies"].as_array().cloned().unwrap_or_default();
        let cookies = cookies.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect();
        (status, body, cookies)
    }
}

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
    let signup = json!({"signup_token": body["signup_token"], "password": PASSWORD, "confirm_password": PASSWORD});
    let (status, body, cookies) = lambda.call("signup-complete", Some(signup), None, &[]).await;
    assert_eq!((status, body["message"].as_str()), (201, Some("User created successfully")), "{body}");
    assert_eq!(cookies.len(), 3, "API Gateway 2.0 responses carry Set-Cookie as `cookies`");

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
