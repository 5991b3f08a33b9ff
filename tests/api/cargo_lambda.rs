//! The real Lambda binaries behind `cargo lambda watch` (cargo-lambda from PyPI, which
//! `scripts/test` installs and names in `STEPAUTH_TEST_CARGO_LAMBDA`), routed by the router
//! table in the workspace's Cargo.toml, against moto: sign-up → verify → complete → login →
//! refresh → logout over HTTP, as a browser would call API Gateway. Then `cargo lambda invoke`
//! with an events/ file against the same emulator.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use stepauth_tests::{PASSWORD, find_code, free_port, moto_local_aws, moto_mails, unique_email};
use tokio::process::{Child, Command};

fn cargo_lambda() -> PathBuf {
    std::env::var_os("STEPAUTH_TEST_CARGO_LAMBDA")
        .expect("STEPAUTH_TEST_CARGO_LAMBDA is not set: run the tests with scripts/test, which installs cargo-lambda")
        .into()
}

fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `cargo lambda watch` in its own process group, ended with everything it started.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Watch {
    async fn start(env_file: &Path) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("stepauth-watch-{port}.log"));
        let output = std::fs::File::create(&log).expect("a log file");
        let child = Command::new(cargo_lambda())
            .args(["lambda", "watch", "--ignore-changes", "--disable-cors", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string(), "--env-file"])
            .arg(env_file)
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("the log file"))
            .stderr(output)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("starting cargo lambda watch");
        let watch = Self { child, port, log };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "cargo lambda watch did not start:\n{}", watch.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        watch
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // cargo-lambda runs each function under `cargo run`: end the whole group.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", "--", &format!("-{pid}")]).status();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A browser: keeps the cookies the API sets (by name), sends them back.
struct Browser {
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new() -> Self {
        // The first request to each function builds it (cargo-lambda's own cargo build, which
        // builds the SDK crates again, aws-sdk-s3 among them): over 300 s on two busy cores in
        // two CI runs on 2026-12-02, so up to 15 minutes.
        let client = stepauth_tests::http_client_builder()
            .no_proxy()
            .timeout(Duration::from_secs(900))
            .build()
            .expect("an HTTP client");
        Self { client, cookies: Vec::new() }
    }

    async fn call(
        &mut self,
        method: &str,
        url: &str,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if !self.cookies.is_empty() {
            let header: Vec<String> = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
            request = request.header("cookie", header.join("; "));
        }
        let response = request.send().await.expect("cargo lambda watch answers");
        let status = response.status();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().expect("ASCII").split(';').next().expect("a pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn has_cookie(&self, name: &str) -> bool {
        self.cookies.iter().any(|(n, _)| n == name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watch_runs_the_binaries_through_the_whole_flow() {
    let local = moto_local_aws().await;
    let env_file = std::env::temp_dir().join(format!("stepauth-watch-{}.env", std::process::id()));
    let lines: Vec<String> = local
        .env()
        .await
        .expect("the environment")
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    std::fs::write(&env_file, lines.join("\n") + "\n").expect("the env file");
    let watch = Watch::start(&env_file).await;
    let mut browser = Browser::new();
    let email = unique_email("watch");

    let (status, body) =
        browser.call("POST", &watch.url("/auth/signup"), Some(json!({"name": "Watch", "email": email})), None).await;
    assert_eq!(status, 202, "{body}\n{}", watch.log());
    let mails = moto_mails(&email).await;
    let code = find_code(&mails.last().expect("a mail through SES").body).expect("a code");

    let verify = json!({"email": email, "code": code});
    let (status, body) = browser.call("POST", &watch.url("/auth/signup/verify"), Some(verify), None).await;
    assert_eq!(status, 200, "{body}");
    let complete = json!({"signup_token": body["signup_token"], "password": PASSWORD, "confirm_password": PASSWORD});
    let (status, body) = browser.call("POST", &watch.url("/auth/signup/complete"), Some(complete), None).await;
    assert_eq!(status, 201, "{body}");

    let login = json!({"email": email, "password": PASSWORD});
    let (status, body) = browser.call("POST", &watch.url("/auth/login"), Some(login), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(browser.has_cookie("__Secure-stepauth_refresh"), "the refresh cookie is set");
    let access = body["access_token"].as_str().expect("an access token").to_owned();
    let (status, me) = browser.call("GET", &watch.url("/users/me"), None, Some(&access)).await;
    assert_eq!((status, me["email"].as_str()), (StatusCode::OK, Some(email.as_str())), "{me}");

    // The refresh token travels as the cookie, as from the browser.
    let (status, body) = browser.call("POST", &watch.url("/auth/token/refresh"), None, None).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().expect("a new access token").to_owned();

    let before_logout = browser.cookies.clone();
    let (status, body) = browser.call("POST", &watch.url("/auth/logout"), None, Some(&access)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!browser.has_cookie("__Secure-stepauth_refresh"), "logout clears the refresh cookie");
    let (status, body) = browser.call("POST", &watch.url("/auth/token/refresh"), None, None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_required")));
    browser.cookies = before_logout;
    let (status, body) = browser.call("POST", &watch.url("/auth/token/refresh"), None, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token")),
        "a replayed cookie"
    );

    // A wrong method reaches the function, which answers as it does behind API Gateway.
    let (status, body) = browser.call("GET", &watch.url("/auth/login"), None, None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));

    // `cargo lambda invoke` with an events/ file, against the same emulator.
    let output = Command::new(cargo_lambda())
        .args(["lambda", "invoke", "jwks", "--data-file", "events/jwks.json", "--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &watch.port.to_string()])
        .current_dir(workspace_root())
        .output()
        .await
        .expect("cargo lambda invoke");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let response: Value = serde_json::from_slice(&output.stdout).expect("the function's response as JSON");
    assert_eq!(response["statusCode"], 200, "{response}");
    let jwks: Value = serde_json::from_str(response["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(jwks["keys"][0]["alg"], "RS256", "{jwks}");

    drop(watch);
    let _ = std::fs::remove_file(env_file);
}
