//! The Lambda entry point every function binary calls.

use std::sync::Arc;

pub use lambda_http::Error;

use crate::app::App;
use crate::routes::Handler;

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
