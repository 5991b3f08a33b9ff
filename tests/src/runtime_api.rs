//! A minimal Lambda Runtime API, enough to run a function binary as Lambda would: it hands
//! out one event on `GET /2018-06-01/runtime/invocation/next` and collects the answer.

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("bound");
    let pending = Arc::new(Mutex::new(Some(event.to_owned())));
    let (answers, mut answered) = mpsc::unbounded_channel();
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
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the function binary starts");
    let response = tokio::select! {
        answer = answered.recv() => answer.expect("the runtime API is up"),
        status = child.wait() => Err(format!("the function exited before answering: {status:?}")),
        _ = tokio::time::sleep(Duration::from_secs(60)) => Err("no answer within 60 s".to_owned()),
    };
    let elapsed = started.elapsed();
    let peak_rss_kib = child.id().and_then(peak_rss_kib);
    let _ = child.kill().await;
    server.abort();
    Invocation { response, elapsed, peak_rss_kib }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

type Answers = mpsc::UnboundedSender<Result<Value, String>>;

async fn runtime_api(
    req: Request<hyper::body::Incoming>,
    pending: Arc<Mutex<Option<String>>>,
    answers: Answers,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let parsed = || serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string());
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let event = pending.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(event) = event else {
            // One event per run: later polls wait until the process is stopped.
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
