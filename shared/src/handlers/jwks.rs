//! The public keys access tokens are verified with, and the discovery document that points
//! verifiers to them (`/.well-known/openid-configuration`): what API Gateway's JWT authorizer
//! and standard JWT middleware read, starting from a token's `iss`.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::app::App;
use crate::config::{self, Config};
use crate::error::ApiError;
use crate::http::raw_json;
use crate::tokens;

/// The discovery document's path.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The key set's path.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// What the `jwks` function publishes: the keys given at deploy time
/// (`STEPAUTH_SIGNING_PUBLIC_KEY`, see [`config::published_signing_keys`]) and the issuer, so
/// that the function needs neither the secret nor any AWS permission.
#[derive(Debug, Clone)]
pub struct Published {
    /// The JWKS, serialised.
    pub jwks: String,
    /// The `iss` of access tokens (`STEPAUTH_ISSUER`).
    pub issuer: String,
}

/// Reads what the `jwks` function publishes from its environment.
pub fn published() -> anyhow::Result<Published> {
    let keys = config::published_signing_keys()?
        .ok_or_else(|| anyhow::anyhow!("STEPAUTH_SIGNING_PUBLIC_KEY must be set: the jwks function publishes it"))?;
    Ok(Published { jwks: tokens::jwks(&keys), issuer: Config::issuer_from_env() })
}

/// The discovery document: the issuer, where its keys are, the one signing algorithm. With
/// an issuer that is a URL (the default on AWS and locally), the keys are under it; with a
/// bare name, under the host the request came to.
pub fn discovery(issuer: &str, req: &Request) -> String {
    let base = if issuer.starts_with("https://") || issuer.starts_with("http://") {
        issuer.trim_end_matches('/').to_owned()
    } else {
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("https://{host}")
    };
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "claims_supported": ["iss", "aud", "sub", "iat", "exp", "token_use", "sid", "ver"],
    })
    .to_string()
}

/// `GET /.well-known/jwks.json` → 200 with the keys; `GET /.well-known/openid-configuration`
/// → 200 with the discovery document. Both cacheable for five minutes.
pub fn serve(published: &Published, req: &Request) -> Result<Response<Body>, ApiError> {
    let body =
        if req.uri().path() == DISCOVERY_PATH { discovery(&published.issuer, req) } else { published.jwks.clone() };
    let mut response = raw_json(StatusCode::OK, body);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

/// The same routes in the local server, which publishes its own signing key and issuer.
pub async fn jwks(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let published = Published { jwks: app.keys.jwks().to_owned(), issuer: app.config.issuer.clone() };
    serve(&published, &req)
}
