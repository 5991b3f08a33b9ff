//! The public keys access tokens are verified with.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::config;
use crate::error::ApiError;
use crate::http::raw_json;
use crate::tokens;

/// The JWKS the `jwks` function publishes: the keys given at deploy time
/// (`STEPAUTH_SIGNING_PUBLIC_KEY`, see [`config::published_signing_keys`]), so that the
/// function needs neither the secret nor any AWS permission.
pub fn published() -> anyhow::Result<String> {
    let keys = config::published_signing_keys()?
        .ok_or_else(|| anyhow::anyhow!("STEPAUTH_SIGNING_PUBLIC_KEY must be set: the jwks function publishes it"))?;
    Ok(tokens::jwks(&keys))
}

/// `GET /.well-known/jwks.json` → 200 with `jwks`, cacheable for five minutes.
pub fn serve(jwks: &str, _req: &Request) -> Result<Response<Body>, ApiError> {
    let mut response = raw_json(StatusCode::OK, jwks.to_owned());
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

/// The same route in the local server, which publishes its own signing key.
pub async fn jwks(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    serve(app.keys.jwks(), &req)
}
