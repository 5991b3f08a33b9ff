//! The Lambda entry point every function binary calls.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use lambda_http::Error;

use lambda_http::{Body, Request, RequestExt as _, Response};
use tokio::sync::OnceCell;

use crate::app::App;
use crate::config::AllowedOrigins;
use crate::error::ApiError;
use crate::http::response::ErrorCode;
use crate::routes;
use crate::store::Unavailable;
use crate::telemetry;

/// An auth step's handler, as written in `handlers/`: `async fn(&App, Request) ->
/// Result<Response<Body>, ApiError>`. (A trait with the future as an associated type, so that
/// the future may borrow the app for as long as the call lasts.)
pub trait StepHandler<'a>: Fn(&'a App, Request) -> <Self as StepHandler<'a>>::Future {
    /// The handler's future.
    type Future: Future<Output = Result<Response<Body>, ApiError>> + Send + 'a;
}

impl<'a, F, Fut> StepHandler<'a> for F
where
    F: Fn(&'a App, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'a,
{
    type Future = Fut;
}

/// Builds the [`App`] once (configuration, AWS clients, keys), then serves invocations with
/// `handler` until the Lambda runtime stops the process. `function` names the binary, whose
/// routes alone it answers (others get 404/405); errors are rendered as responses, and each
/// request ends with its log line ([`serve_logged`]).
///
/// A configuration error stops the start. A dependency that is unavailable at start
/// (Secrets Manager throttled, failing or unreachable) does not: every request answers 503
/// with `Retry-After` and tries to build the app again, until one succeeds.
pub fn start<H>(function: &'static str, handler: H) -> Result<(), Error>
where
    H: for<'a> StepHandler<'a> + Copy + Send + Sync + 'static,
{
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        lambda_http::tracing::init_default_subscriber();
        let cell: &'static OnceCell<App> = Box::leak(Box::new(OnceCell::new()));
        match App::from_env().await {
            Ok(app) => {
                let _ = cell.set(app);
            }
            Err(error) if error.downcast_ref::<Unavailable>().is_some() => {
                tracing::error!(error = format!("{error:#}"), "starting without the app: a dependency is unavailable");
            }
            Err(error) => return Err(error.into()),
        }
        let allowed: &'static AllowedOrigins = Box::leak(Box::new(AllowedOrigins::from_env()?));
        let service = service_name();
        lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
            serve_logged(service, function, req, |req| async move {
                let app = match cell.get_or_try_init(App::from_env).await {
                    Ok(app) => app,
                    Err(error) => {
                        tracing::error!(error = format!("{error:#}"), "the app could not be built");
                        return routes::respond(function, allowed, req, |_| async { Err(error.into()) }).await;
                    }
                };
                routes::respond(function, allowed, req, |req| handler(app, req)).await
            })
            .await
        }))
        .await
    })
}

/// The deployment's name in metrics (the `Service` dimension): `STEPAUTH_SERVICE_NAME`,
/// which the template sets to the stack's name, or `stepauth`.
fn service_name() -> &'static str {
    Box::leak(crate::config::var("STEPAUTH_SERVICE_NAME").unwrap_or_else(|| "stepauth".to_owned()).into_boxed_str())
}

static STARTED: AtomicBool = AtomicBool::new(false);

/// Serves `req` with `serve`, recording what the domain counts ([`telemetry::record`]), then
/// writes the request's one log line to standard output ([`telemetry::RequestLine`]), its
/// route and error code as the answer carries them ([`routes::Matched`], [`ErrorCode`]).
pub async fn serve_logged<F, Fut>(
    service: &str,
    function: &str,
    req: Request,
    serve: F,
) -> Result<Response<Body>, Error>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let started = Instant::now();
    let cold_start = !STARTED.swap(true, Ordering::Relaxed);
    let context = req.lambda_context_ref().cloned();
    let (response, recorded) = telemetry::record(serve(req)).await;
    let route = response.extensions().get::<routes::Matched>().map(ToString::to_string);
    let line = telemetry::RequestLine {
        service,
        function,
        route: route.as_deref().unwrap_or("unrouted"),
        status: response.status().as_u16(),
        error: response.extensions().get::<ErrorCode>().map(|code| code.0),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        request_id: context.as_ref().map(|c| c.request_id.as_str()),
        trace_id: context.as_ref().and_then(|c| c.xray_trace_id.as_deref()),
        cold_start,
        recorded: &recorded,
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    println!("{}", line.to_json(now.as_millis() as u64));
    Ok(response)
}

/// Builds the [`App`] once, then hands each invocation's event (not an HTTP request: SES's
/// events through EventBridge, say) to `handler`. An error fails the invocation, so that
/// the event source delivers it again; the App is built as [`start`] builds it.
pub fn start_events(
    function: &'static str,
    handler: for<'a> fn(&'a App, serde_json::Value) -> routes::BoxFuture<'a, anyhow::Result<()>>,
) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        lambda_http::tracing::init_default_subscriber();
        let app: &'static App = Box::leak(Box::new(App::from_env().await?));
        lambda_http::lambda_runtime::run(lambda_http::lambda_runtime::service_fn(
            move |event: lambda_http::lambda_runtime::LambdaEvent<serde_json::Value>| async move {
                let result = handler(app, event.payload).await;
                if let Err(error) = &result {
                    tracing::error!(function, error = format!("{error:#}"), "the event was not recorded");
                }
                result.map(|()| serde_json::json!({ "recorded": true })).map_err(Error::from)
            },
        ))
        .await
    })
}

/// Serves invocations with `serve`, which needs no [`App`]: no AWS client, no secret, no
/// network call at start. `function` names the binary, whose routes alone it answers
/// (others get 404/405); CORS preflights for any route are answered too, as the `web`
/// function behind API Gateway's `$default` route gets them.
pub fn start_static<F>(function: &'static str, serve: F) -> Result<(), Error>
where
    F: Fn(&Request) -> Result<Response<Body>, ApiError> + Copy + Send + Sync + 'static,
{
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async move {
        lambda_http::tracing::init_default_subscriber();
        let allowed: &'static AllowedOrigins = Box::leak(Box::new(AllowedOrigins::from_env()?));
        let service = service_name();
        lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
            serve_logged(service, function, req, |req| async move {
                routes::respond(function, allowed, req, |req| async move { serve(&req) }).await
            })
            .await
        }))
        .await
    })
}
