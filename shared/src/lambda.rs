//! The Lambda entry point every function binary calls.

use std::future::Future;

pub use lambda_http::Error;

use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::config::AllowedOrigins;
use crate::error::ApiError;
use crate::routes;

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
/// routes alone it answers (others get 404/405); errors are rendered as responses.
pub fn start<H>(function: &'static str, handler: H) -> Result<(), Error>
where
    H: for<'a> StepHandler<'a> + Copy + Send + Sync + 'static,
{
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        lambda_http::tracing::init_default_subscriber();
        let app: &'static App = Box::leak(Box::new(App::from_env().await?));
        lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
            let allowed = &app.config.allowed_origins;
            Ok::<_, Error>(routes::respond(function, allowed, req, |req| handler(app, req)).await)
        }))
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
        lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
            Ok::<_, Error>(routes::respond(function, allowed, req, |req| async move { serve(&req) }).await)
        }))
        .await
    })
}
