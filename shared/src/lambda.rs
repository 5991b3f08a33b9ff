//! The Lambda entry point every function binary calls.

use std::sync::Arc;

pub use lambda_http::Error;

use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::routes::{self, Handler};

/// Builds the [`App`] once (configuration, AWS clients, keys), then serves invocations with
/// `handler` until the Lambda runtime stops the process.
pub fn start(handler: Handler) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        lambda_http::tracing::init_default_subscriber();
        let app = Arc::new(App::from_env().await?);
        lambda_http::run(lambda_http::service_fn(move |req| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Error>(handler(&app, req).await) }
        }))
        .await
    })
}

/// Serves invocations with `serve`, which needs no [`App`]: nothing is configured or fetched
/// at start. `function` names the binary, whose routes alone it answers (others get 404/405).
pub fn start_static(
    function: &'static str,
    serve: fn(&Request) -> Result<Response<Body>, ApiError>,
) -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async move {
        lambda_http::tracing::init_default_subscriber();
        lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
            let response = routes::serves(function, &req).and_then(|()| serve(&req));
            Ok::<_, Error>(response.unwrap_or_else(ApiError::into_response))
        }))
        .await
    })
}
