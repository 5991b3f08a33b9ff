//! A fault-injecting HTTP proxy between stepauth's AWS clients and moto: every request goes
//! on to moto unchanged, except those a [`Fault`] matches, which get the error AWS itself
//! would send. The code under test runs its real SDK calls, retries included.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Which requests fail, and how.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The `X-Amz-Target` of the operation, e.g. `DynamoDB_20120810.UpdateItem`, or the
    /// path of a REST call, e.g. SES v2's `/v2/email/outbound-emails`.
    pub target: &'static str,
    /// Text the request body must contain, e.g. a key prefix.
    pub body_contains: &'static str,
    /// The HTTP status of the error.
    pub status: u16,
    /// The AWS error type, e.g. `ProvisionedThroughputExceededException`.
    pub error_type: &'static str,
}

impl Fault {
    /// DynamoDB throttles the requests of `target` (`UpdateItem`, say) whose body contains
    /// `body_contains`: the partition of the item they write is over its rate. For
    /// `TransactWriteItems`, the transaction is cancelled with `ThrottlingError` as the
    /// reason of the step that contains the text, as DynamoDB does.
    pub fn throttle(target: &'static str, body_contains: &'static str) -> Self {
        let error_type =
            if target == TRANSACT { "TransactionCanceledException" } else { "ProvisionedThroughputExceededException" };
        Self { target, body_contains, status: 400, error_type }
    }
}

/// The `X-Amz-Target` of a transaction.
pub const TRANSACT: &str = "DynamoDB_20120810.TransactWriteItems";

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

impl FaultProxy {
    /// Starts a proxy in front of `upstream` that injects `fault`.
    pub async fn start(upstream: String, fault: Fault) -> Self {
        let injected = Arc::new(AtomicUsize::new(0));
        let healed = Arc::new(AtomicBool::new(false));
        let state = Arc::new((Upstream::new(upstream), fault, injected.clone(), healed.clone()));
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

type State = (Upstream, Fault, Arc<AtomicUsize>, Arc<AtomicBool>);

async fn forward(state: &State, parts: Parts, body: Bytes) -> Response<Full<Bytes>> {
    let (upstream, fault, injected, healed) = state;
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let text = String::from_utf8_lossy(&body);
    let meant = target == fault.target || parts.uri.path() == fault.target;
    if !healed.load(Ordering::SeqCst) && meant && text.contains(fault.body_contains) {
        injected.fetch_add(1, Ordering::SeqCst);
        let mut error = serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{}", fault.error_type),
            "message": "injected by the test's fault proxy",
        });
        if target == TRANSACT {
            error["CancellationReasons"] = cancellation_reasons(&text, fault.body_contains);
        }
        return Response::builder()
            .status(fault.status)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-errortype", fault.error_type)
            .body(Full::new(Bytes::from(error.to_string())))
            .expect("a response");
    }
    upstream.pass_on(&parts, body).await
}

/// Serves HTTP/1 on a free loopback port, each request (its head and whole body) answered
/// by `handle`: the endpoint, and the task to abort when done.
pub(crate) async fn listen<F, A>(handle: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: Fn(Parts, Bytes) -> A + Clone + Send + Sync + 'static,
    A: Future<Output = Response<Full<Bytes>>> + Send + 'static,
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
                        Ok::<_, Infallible>(handle(parts, body).await)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (endpoint, task)
}

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
        for (name, value) in answer.headers() {
            if name != "content-length" && name != "transfer-encoding" {
                response = response.header(name, value);
            }
        }
        let bytes = answer.bytes().await.unwrap_or_default();
        response.body(Full::new(bytes)).expect("a response")
    }
}

/// A transaction's cancellation reasons: `ThrottlingError` for each step whose JSON contains
/// `throttled`, `None` for the others.
fn cancellation_reasons(body: &str, throttled: &str) -> serde_json::Value {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let steps = request["TransactItems"].as_array().cloned().unwrap_or_default();
    let reason = |step: &serde_json::Value| {
        let code = if step.to_string().contains(throttled) { "ThrottlingError" } else { "None" };
        serde_json::json!({ "Code": code })
    };
    serde_json::Value::Array(steps.iter().map(reason).collect())
}
