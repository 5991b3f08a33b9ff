//! The public keys access tokens are verified with.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::http::raw_json;

/// `GET /.well-known/jwks.json` → 200, cacheable for five minutes.
pub async fn jwks(app: &App, _req: Request) -> Result<Response<Body>, ApiError> {
    let mut response = raw_json(StatusCode::OK, app.keys.jwks().to_owned());
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
