//! The embedded local server: every stepauth function on its API Gateway route, in one
//! process, with no AWS account and no other service.
//!
//! Each HTTP request is turned into the API Gateway HTTP API (payload 2.0) event that AWS
//! would deliver, and given to the very handler the function's Lambda binary runs. The only
//! route of its own is `GET /_local/outbox`: the mail sent so far, oldest first.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use stepauth::clock::{Clock, SystemClock, rfc3339};
use stepauth::config::Config;
use stepauth::http::cors;
use stepauth::mail::outbox::Outbox;
use stepauth::mail::templates::Templates;
use stepauth::model::Pepper;
use stepauth::oidc::Provider;
use stepauth::random::{self, Random, SystemRandom};
use stepauth::store::memory::MemoryStore;
use stepauth::tokens::Keys;
use stepauth::{ApiError, App, routes};
use tokio::net::TcpListener;

pub mod import;
pub mod moto;
pub mod s3;

/// The largest body the server reads, as API Gateway's own limit (10 MB); each handler
/// applies its own, far smaller, limit.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// What the server runs: the app, and the outbox it serves (when mail goes to one).
#[derive(Debug, Clone)]
pub struct Server {
    app: Arc<App>,
    outbox: Option<Arc<Outbox>>,
}

impl Server {
    /// A server running `app`; `outbox` is served at `GET /_local/outbox`.
    pub fn new(app: Arc<App>, outbox: Option<Arc<Outbox>>) -> Self {
        Self { app, outbox }
    }

    /// The embedded default: in-memory store, mail printed and kept in the outbox, profile
    /// pictures in an S3 of its own under the temporary folder ([`s3`]), a fresh signing key
    /// and code pepper (everything is forgotten on restart anyway).
    pub async fn embedded(config: Config) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let random: Arc<dyn Random> = Arc::new(SystemRandom::default());
        let outbox = Arc::new(Outbox::new(Arc::clone(&clock), true));
        let google = match config.google.enabled() {
            true => Some(Provider::new(config.google.clone(), stepauth::config::var("STEPAUTH_GOOGLE_CLIENT_SECRET"))?),
            false => None,
        };
        let pictures = s3::start(&s3::root()).await?.bucket();
        let app = App {
            keys: Keys::generate(&config.issuer, &config.audience)?,
            pepper: Pepper::generate(&*random),
            google,
            pictures: Some(pictures),
            store: Arc::new(MemoryStore::new()),
            mailer: Arc::clone(&outbox) as _,
            templates: Arc::new(Templates::load(&config.product_name, config.mail_templates.as_deref())?),
            clock,
            random,
            config,
        };
        Ok(Self::new(Arc::new(app), Some(outbox)))
    }

    /// Serves connections from `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) -> anyhow::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await.context("accepting a connection")?;
            let server = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.respond(req, peer).await) }
                });
                if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                    tracing::debug!(%error, "connection ended with an error");
                }
            });
        }
    }

    async fn respond(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return to_hyper(ApiError::PayloadTooLarge { limit: MAX_REQUEST_BYTES }.into_response());
            }
        };
        let path = parts.uri.path();
        if path == "/_local/outbox" {
            return self.outbox(&parts.method);
        }
        let event = api_gateway_event(&parts, &body, peer, &*self.app.random);
        let request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(error) => {
                return to_hyper(ApiError::Unexpected(anyhow::anyhow!("building the event: {error}")).into_response());
            }
        };
        // A preflight goes to no route (API Gateway sends it to `$default`): answered for any.
        if cors::is_preflight(&request) {
            return to_hyper(routes::preflight(&request, &self.app.config.allowed_origins));
        }
        let route = match routes::find(&parts.method, path) {
            Ok(route) => route,
            Err(error) => {
                let origin = cors::origin(&request);
                return to_hyper(cors::decorate(origin, &self.app.config.allowed_origins, error.into_response()));
            }
        };
        let started = Instant::now();
        let response = (route.handler)(&self.app, request).await;
        let elapsed = started.elapsed();
        let mut response = to_hyper(response);
        // The handler's own time, for scripts/route-times (the local server only; the
        // functions behind API Gateway do not send it).
        let timing = format!("handler;dur={:.3}", elapsed.as_secs_f64() * 1000.0);
        if let Ok(value) = HeaderValue::from_str(&timing) {
            response.headers_mut().insert(HeaderName::from_static("server-timing"), value);
        }
        response
    }

    fn outbox(&self, method: &Method) -> Response<Full<Bytes>> {
        match (&self.outbox, method) {
            (Some(outbox), &Method::GET) => {
                let body = serde_json::to_vec(&outbox.sent()).unwrap_or_default();
                let mut response = Response::new(Full::new(Bytes::from(body)));
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            (Some(_), _) => to_hyper(ApiError::MethodNotAllowed { allow: "GET".into() }.into_response()),
            (None, _) => to_hyper(ApiError::NotFound.into_response()),
        }
    }
}

/// The API Gateway HTTP API (payload format 2.0) event for a request, as AWS builds it:
/// header values joined by commas, cookies moved out of the headers, binary bodies base64.
pub fn api_gateway_event(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    peer: SocketAddr,
    random: &dyn Random,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        if name == header::COOKIE {
            cookies.extend(values.iter().flat_map(|v| v.split(';')).map(str::trim).filter(|c| !c.is_empty()));
        } else {
            headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
        }
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => {
            use base64::Engine as _;
            (base64::engine::general_purpose::STANDARD.encode(body), true)
        }
    };
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let route_key = format!("{} {}", parts.method, parts.uri.path());
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "requestContext": {
            "accountId": "local",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(host),
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get(header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": random::uuid_v4(random),
            "routeKey": route_key,
            "stage": "$default",
            "time": rfc3339((now_ms / 1000) as i64),
            "timeEpoch": now_ms as i64,
        },
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !body.is_empty() {
        event["body"] = Value::String(body);
    }
    event
}

fn to_hyper(response: lambda_http::Response<lambda_http::Body>) -> Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let mut out = Response::new(Full::new(bytes));
    *out.status_mut() = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *out.headers_mut() = parts.headers;
    out
}
