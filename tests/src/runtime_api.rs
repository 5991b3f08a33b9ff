//! A minimal Lambda Runtime API, enough to run a function binary as Lambda would: it hands
//! out the events a test sends on `GET /2018-06-01/runtime/invocation/next`, one at a time,
//! and collects the answers; the function's standard output (its log lines) is kept.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::mpsc;

/// The answer a function gave to one invocation.
#[derive(Debug)]
pub struct Invocation {
    /// The response document the runtime posted (for HTTP functions, the API Gateway response).
    pub response: Result<Value, String>,
    /// From spawning the process to receiving its answer.
    pub elapsed: Duration,
    /// The process's peak resident set size when it answered (Linux `VmHWM`), in KiB.
    pub peak_rss_kib: Option<u64>,
}

/// The function binaries with a deployment's environment, against moto (through a proxy
/// where a test puts one in between).
#[derive(Debug, Clone)]
pub struct Lambda {
    /// The binaries' environment.
    pub env: Vec<(String, String)>,
    logs: Arc<Mutex<String>>,
}

impl Lambda {
    /// The binaries' environment as a deployment's: the signing key and code pepper come
    /// from a Secrets Manager secret (in moto), read once at start.
    pub async fn new() -> Self {
        let local = crate::moto_local_aws().await;
        let env = local.env().await.expect("the environment").into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Self { env, logs: Arc::default() }
    }

    /// The same resources, every AWS call going through `endpoint` (a fault proxy).
    pub fn through(&self, endpoint: &str) -> Self {
        let mut env = self.env.clone();
        for (name, value) in &mut env {
            if name == "AWS_ENDPOINT_URL" {
                *value = endpoint.to_owned();
            }
        }
        Self { env, logs: Arc::default() }
    }

    /// `function`'s events/ file, the body, bearer token and cookies replaced.
    pub fn event(function: &str, body: Option<Value>, bearer: Option<&str>, cookies: &[String]) -> String {
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
            event["cookies"] = serde_json::json!(cookies);
        }
        event.to_string()
    }

    /// Invokes `function` (a fresh process) with its events/ file, the body, bearer token
    /// and cookies replaced: the status, the JSON body and the `Set-Cookie`s.
    pub async fn call(
        &self,
        function: &str,
        body: Option<Value>,
        bearer: Option<&str>,
        cookies: &[String],
    ) -> (u16, Value, Vec<String>) {
        let mut running = self.start(function).await;
        let invocation = running.invoke(&Self::event(function, body, bearer, cookies)).await;
        let logs = running.stop().await;
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).push_str(&logs);
        let response = invocation.response.unwrap_or_else(|e| panic!("{function} failed: {e}"));
        answer_of(&response)
    }

    /// Everything the functions [`Lambda::call`] ran wrote to standard output: their logs.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts `function`'s binary, to be invoked as often as a test likes.
    pub async fn start(&self, function: &str) -> Function {
        Function::start(&binary(function), &self.env).await
    }
}

/// The status, JSON body and `Set-Cookie`s of an API Gateway response.
pub fn answer_of(response: &Value) -> (u16, Value, Vec<String>) {
    let status = response["statusCode"].as_u64().expect("a status") as u16;
    let body = serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    let cookies = response["cookies"].as_array().cloned().unwrap_or_default();
    let cookies = cookies.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect();
    (status, body, cookies)
}

/// Where `cargo build` put the function binaries.
pub fn binary(name: &str) -> PathBuf {
    binary_in("debug", name)
}

/// Where `cargo build` put a function binary of `profile` (`debug`, `release`).
pub fn binary_in(profile: &str, name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join(profile).join(name);
    assert!(path.exists(), "{} is missing: scripts/test builds the function binaries first", path.display());
    path
}

/// Runs `binary` as a Lambda function with `env`, serves it `event`, and returns its answer.
pub async fn invoke(binary: &Path, env: &[(String, String)], event: &str) -> Invocation {
    let mut function = Function::start(binary, env).await;
    let invocation = function.invoke(event).await;
    function.stop().await;
    invocation
}

/// A function binary running as Lambda runs it, served one event at a time.
#[derive(Debug)]
pub struct Function {
    events: mpsc::UnboundedSender<String>,
    answered: mpsc::UnboundedReceiver<Result<Value, String>>,
    child: tokio::process::Child,
    stdout: Arc<Mutex<String>>,
    reader: Option<tokio::task::JoinHandle<()>>,
    server: tokio::task::JoinHandle<()>,
    started: Instant,
    invoked: bool,
}

impl Function {
    /// Starts `binary` with `env` and a Runtime API of its own; it initialises at once and
    /// waits for its first event.
    pub async fn start(binary: &Path, env: &[(String, String)]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("bound");
        let (events, pending) = mpsc::unbounded_channel::<String>();
        let pending = Arc::new(tokio::sync::Mutex::new(pending));
        let (answers, answered) = mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (pending, answers) = (pending.clone(), answers.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| runtime_api(req, pending.clone(), answers.clone()));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });

        let started = Instant::now();
        let mut child = tokio::process::Command::new(binary)
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", binary.file_name().and_then(|n| n.to_str()).unwrap_or("function"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the function binary starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let mut reader = None;
        if let Some(out) = child.stdout.take() {
            let stdout = stdout.clone();
            reader = Some(tokio::spawn(async move {
                let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(out));
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut stdout = stdout.lock().unwrap_or_else(|p| p.into_inner());
                    stdout.push_str(&line);
                    stdout.push('\n');
                }
            }));
        }
        Self { events, answered, child, stdout, reader, server, started, invoked: false }
    }

    /// Serves `event` and waits for the answer (60 s at most). The first invocation's
    /// `elapsed` counts from the start of the process (a cold start), later ones from the event.
    pub async fn invoke(&mut self, event: &str) -> Invocation {
        let started = if self.invoked { Instant::now() } else { self.started };
        self.invoked = true;
        let _ = self.events.send(event.to_owned());
        let response = tokio::select! {
            answer = self.answered.recv() => answer.expect("the runtime API is up"),
            status = self.child.wait() => Err(format!("the function exited before answering: {status:?}")),
            _ = tokio::time::sleep(Duration::from_secs(60)) => Err("no answer within 60 s".to_owned()),
        };
        let elapsed = started.elapsed();
        let peak_rss_kib = self.child.id().and_then(peak_rss_kib);
        Invocation { response, elapsed, peak_rss_kib }
    }

    /// Everything the function wrote to standard output so far (its log lines).
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the process: everything it wrote to standard output.
    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        self.server.abort();
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        self.stdout()
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

type Answers = mpsc::UnboundedSender<Result<Value, String>>;

async fn runtime_api(
    req: Request<hyper::body::Incoming>,
    pending: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>>,
    answers: Answers,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let parsed = || serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string());
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        // The next event, once the test sends one; until then the poll waits, as Lambda's does.
        let Some(event) = pending.lock().await.recv().await else {
            std::future::pending::<()>().await;
            unreachable!("pending never completes");
        };
        let deadline = (time_ms() + 30_000).to_string();
        let response = Response::builder()
            .header("lambda-runtime-aws-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
            .header("lambda-runtime-deadline-ms", deadline)
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:test")
            .header(
                "lambda-runtime-trace-id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
            )
            .body(Full::new(Bytes::from(event)))
            .expect("a response");
        return Ok(response);
    }
    if method == Method::POST && path.ends_with("/response") {
        let _ = answers.send(parsed());
    } else if method == Method::POST && (path.ends_with("/error") || path.ends_with("/init/error")) {
        let _ = answers.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    Ok(Response::builder().status(202).body(Full::new(Bytes::new())).expect("a response"))
}

fn time_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}
