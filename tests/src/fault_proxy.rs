//! A fault-injecting HTTP proxy between stepauth's AWS clients and moto: every request goes
//! on to moto unchanged, except those a [`Fault`] matches, which meet what a faltering AWS
//! does: an error AWS itself would send (throttling, a 500), a connection cut before any
//! answer, a connection that hangs, or an answer lost after the request did its work. The
//! code under test runs its real SDK calls, retries and timeouts included. [`Chaos`] makes a
//! fraction of all calls fail at random, from a fixed seed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// What a faulted request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An error answer: its HTTP status and AWS error type (e.g. 400
    /// `ProvisionedThroughputExceededException`).
    Error {
        /// The HTTP status.
        status: u16,
        /// The AWS error type.
        error_type: &'static str,
    },
    /// The connection is closed before any answer.
    Cut,
    /// No answer, ever (until the client gives up).
    Hang,
    /// The request reaches moto and does its work; the answer is lost (the connection is
    /// closed instead): a write that may or may not have happened, as the client sees it.
    LostAnswer,
}

/// Which requests fail, and how.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The `X-Amz-Target` of the operation, e.g. `DynamoDB_20120810.UpdateItem`, or a prefix
    /// of it ending in `.` ([`DYNAMODB`]: every DynamoDB call), or the path (prefix) of a
    /// REST call, e.g. SES v2's `/v2/email/outbound-emails`.
    pub target: &'static str,
    /// Text the request body must contain, e.g. a key prefix.
    pub body_contains: &'static str,
    /// What the request meets.
    pub kind: Kind,
    /// How many requests meet it, at most (then the fault is over); `None`: every one.
    pub limit: Option<usize>,
}

/// Every DynamoDB call.
pub const DYNAMODB: &str = "DynamoDB_20120810.";
/// Every SES v2 call.
pub const SES: &str = "/v2/email/";
/// Every Secrets Manager call.
pub const SECRETS_MANAGER: &str = "secretsmanager.";
/// The `X-Amz-Target` of a transaction.
pub const TRANSACT: &str = "DynamoDB_20120810.TransactWriteItems";

impl Fault {
    /// DynamoDB throttles the requests of `target` (`UpdateItem`, say) whose body contains
    /// `body_contains`: the partition of the item they write is over its rate. For
    /// `TransactWriteItems`, the transaction is cancelled with `ThrottlingError` as the
    /// reason of the step that contains the text, as DynamoDB does.
    pub fn throttle(target: &'static str, body_contains: &'static str) -> Self {
        let error_type =
            if target == TRANSACT { "TransactionCanceledException" } else { "ProvisionedThroughputExceededException" };
        Self::matching(target, body_contains, Kind::Error { status: 400, error_type })
    }

    /// `target` meets `kind`, whatever the body.
    pub fn every(target: &'static str, kind: Kind) -> Self {
        Self::matching(target, "", kind)
    }

    /// The requests of `target` whose body contains `body_contains` meet `kind`.
    pub fn matching(target: &'static str, body_contains: &'static str, kind: Kind) -> Self {
        Self { target, body_contains, kind, limit: None }
    }

    /// Only the first matching request meets the fault; its retry gets through.
    pub fn once(self) -> Self {
        Self { limit: Some(1), ..self }
    }

    fn matches(&self, target: &str, path: &str, body: &str) -> bool {
        let meant = if self.target.ends_with('.') {
            target.starts_with(self.target)
        } else if self.target.starts_with('/') {
            path.starts_with(self.target)
        } else {
            target == self.target
        };
        meant && body.contains(self.body_contains)
    }
}

/// The fault kinds a service meets in the fault tests, by name: AWS's throttling error and
/// its 500 for `service` ([`DYNAMODB`], [`SES`] or [`SECRETS_MANAGER`]), a cut connection and a
/// hung one.
pub fn kinds(service: &str) -> [(&'static str, Kind); 4] {
    let (throttled, failed) = match service {
        SES => ("TooManyRequestsException", "InternalFailure"),
        SECRETS_MANAGER => ("ThrottlingException", "InternalServiceError"),
        _ => ("ProvisionedThroughputExceededException", "InternalServerError"),
    };
    [
        ("throttled", Kind::Error { status: if service == SES { 429 } else { 400 }, error_type: throttled }),
        ("server error", Kind::Error { status: 500, error_type: failed }),
        ("cut", Kind::Cut),
        ("hang", Kind::Hang),
    ]
}

/// A fraction of every call fails at random, each with one of `kinds`, from a fixed seed
/// (so a failing run can be repeated exactly).
#[derive(Debug, Clone)]
pub struct Chaos {
    /// The seed of the random choices.
    pub seed: u64,
    /// The share of calls that fail, 0.0 to 1.0.
    pub fraction: f64,
    /// What a failing call meets, one chosen at random each time.
    pub kinds: Vec<Kind>,
}

/// A running proxy.
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: the endpoint to give the SDK.
    pub endpoint: String,
    injected: Arc<AtomicUsize>,
    healed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the proxy picks the requests that fail.
#[derive(Debug)]
enum Rule {
    Fault(Fault),
    Chaos(Chaos, Mutex<u64>),
}

struct State {
    upstream: Upstream,
    rule: Rule,
    injected: Arc<AtomicUsize>,
    healed: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` that injects `fault`.
    pub async fn start(upstream: String, fault: Fault) -> Self {
        Self::with_rule(upstream, Rule::Fault(fault)).await
    }

    /// Starts a proxy in front of `upstream` that fails calls at random ([`Chaos`]).
    pub async fn chaos(upstream: String, chaos: Chaos) -> Self {
        let seed = chaos.seed;
        Self::with_rule(upstream, Rule::Chaos(chaos, Mutex::new(seed))).await
    }

    async fn with_rule(upstream: String, rule: Rule) -> Self {
        let injected = Arc::new(AtomicUsize::new(0));
        let healed = Arc::new(AtomicBool::new(false));
        let state = Arc::new(State {
            upstream: Upstream::new(upstream),
            rule,
            injected: injected.clone(),
            healed: healed.clone(),
        });
        let (endpoint, task) = listen(move |parts, body| {
            let state = state.clone();
            async move { forward(&state, parts, body).await }
        })
        .await;
        Self { endpoint, injected, healed, task }
    }

    /// From now on every request goes on to moto: the fault is over.
    pub fn heal(&self) {
        self.healed.store(true, Ordering::SeqCst);
    }

    /// From now on the fault is back.
    pub fn break_again(&self) {
        self.healed.store(false, Ordering::SeqCst);
    }

    /// How many requests got the fault so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }
}

/// The next number of a 64-bit xorshift generator (enough for a test's dice).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn forward(state: &State, parts: Parts, body: Bytes) -> Option<Response<Full<Bytes>>> {
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = String::from_utf8_lossy(&body).into_owned();
    let kind = if state.healed.load(Ordering::SeqCst) {
        None
    } else {
        match &state.rule {
            Rule::Fault(fault) => {
                let left = fault.limit.is_none_or(|limit| state.injected.load(Ordering::SeqCst) < limit);
                (left && fault.matches(&target, parts.uri.path(), &text)).then_some(fault.kind)
            }
            Rule::Chaos(chaos, dice) => {
                let mut dice = dice.lock().unwrap_or_else(|p| p.into_inner());
                let roll = (next(&mut dice) % 1_000_000) as f64 / 1_000_000.0;
                let pick = next(&mut dice) as usize % chaos.kinds.len().max(1);
                (roll < chaos.fraction).then(|| chaos.kinds[pick])
            }
        }
    };
    let Some(kind) = kind else {
        return Some(state.upstream.pass_on(&parts, body).await);
    };
    state.injected.fetch_add(1, Ordering::SeqCst);
    match kind {
        Kind::Error { status, error_type } => Some(error_answer(&target, &text, status, error_type, &state.rule)),
        Kind::Cut => None,
        Kind::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            None
        }
        Kind::LostAnswer => {
            let _ = state.upstream.pass_on(&parts, body).await;
            None
        }
    }
}

/// The error answer AWS sends: its type in the `x-amzn-errortype` header and the body's
/// `__type`; for a transaction cancelled by a throttle, the reasons step by step.
fn error_answer(target: &str, body: &str, status: u16, error_type: &str, rule: &Rule) -> Response<Full<Bytes>> {
    let mut error = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{error_type}"),
        "message": "injected by the test's fault proxy",
    });
    if target == TRANSACT && error_type == "TransactionCanceledException" {
        let throttled = match rule {
            Rule::Fault(fault) => fault.body_contains,
            Rule::Chaos(..) => "",
        };
        error["CancellationReasons"] = cancellation_reasons(body, throttled);
    }
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", error_type)
        .body(Full::new(Bytes::from(error.to_string())))
        .expect("a response")
}

/// Serves HTTP/1 on a free loopback port, each request (its head and whole body) answered
/// by `handle`, or its connection closed without an answer where `handle` gives none: the
/// endpoint, and the task to abort when done.
pub(crate) async fn listen<F, A>(handle: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: Fn(Parts, Bytes) -> A + Clone + Send + Sync + 'static,
    A: Future<Output = Option<Response<Full<Bytes>>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let endpoint = format!("http://{}", listener.local_addr().expect("bound"));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let handle = handle.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        handle(parts, body).await.ok_or(Cut)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (endpoint, task)
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection is cut")
    }
}

impl std::error::Error for Cut {}

/// The server a proxy passes requests on to (moto).
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    client: reqwest::Client,
}

impl Upstream {
    pub(crate) fn new(url: String) -> Self {
        Self { url, client: crate::http_client_builder().no_proxy().build().expect("an HTTP client") }
    }

    /// The upstream's answer to the request, unchanged (a 502 if it cannot be reached).
    pub(crate) async fn pass_on(&self, parts: &Parts, body: Bytes) -> Response<Full<Bytes>> {
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut request = self.client.request(parts.method.clone(), format!("{}{path}", self.url));
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                request = request.header(name, value);
            }
        }
        let answer = match request.body(body).send().await {
            Ok(answer) => answer,
            Err(error) => {
                return Response::builder()
                    .status(502)
                    .body(Full::new(Bytes::from(error.to_string())))
                    .expect("a response");
            }
        };
        let mut response = Response::builder().status(answer.status().as_u16());
        // The answer to a HEAD (S3's HeadObject) has no body: its length is the object's.
        let head = parts.method == hyper::Method::HEAD;
        for (name, value) in answer.headers() {
            if (head || name != "content-length") && name != "transfer-encoding" {
                response = response.header(name, value);
            }
        }
        let bytes = answer.bytes().await.unwrap_or_default();
        response.body(Full::new(bytes)).expect("a response")
    }
}

/// A transaction's cancellation reasons: `ThrottlingError` for each step whose JSON contains
/// `throttled` (every step for `""`), `None` for the others.
fn cancellation_reasons(body: &str, throttled: &str) -> serde_json::Value {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let steps = request["TransactItems"].as_array().cloned().unwrap_or_default();
    let reason = |step: &serde_json::Value| {
        let code = if step.to_string().contains(throttled) { "ThrottlingError" } else { "None" };
        serde_json::json!({ "Code": code })
    };
    serde_json::Value::Array(steps.iter().map(reason).collect())
}
