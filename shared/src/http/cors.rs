//! Calls from the pages of the allowed origins (`STEPAUTH_ALLOWED_ORIGINS`, such as a site's
//! `www` calling the API on `auth`): their preflights are answered, and their answers carry
//! the CORS headers with credentials, so that the login modal on their pages works with the
//! session cookies. Any other origin gets no CORS header at all, so its pages can neither send
//! a JSON request nor read an answer (docs/SECURITY.md, "Cross-site requests").

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

use super::response::STRICT_TRANSPORT_SECURITY;
use crate::config::AllowedOrigins;
use crate::error::ApiError;

/// The request headers a page may send: the bearer token and the JSON body's type.
pub const ALLOWED_HEADERS: &str = "authorization, content-type";

/// How long a browser may keep a preflight's answer, in seconds.
pub const MAX_AGE_SECONDS: u32 = 600;

/// Whether `req` is a CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`. (Any other `OPTIONS` is a method no route takes.)
pub fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a preflight for a path whose routes take `methods` (none: no such path):
/// 204 with the CORS headers for an allowed origin; `403 origin_not_allowed` without any for
/// another (`null` included).
pub fn preflight(req: &Request, allowed: &AllowedOrigins, methods: &[&str]) -> Response<Body> {
    let origin = origin(req);
    if !origin.is_some_and(|origin| allowed.allows(origin)) {
        return vary(ApiError::OriginNotAllowed.into_response(), allowed);
    }
    if methods.is_empty() {
        return decorate(origin, allowed, ApiError::NotFound.into_response());
    }
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    let mut set = |name, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(header::ACCESS_CONTROL_ALLOW_METHODS, methods.join(", "));
    set(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS.to_owned());
    set(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECONDS.to_string());
    set(header::CACHE_CONTROL, "no-store".to_owned());
    set(header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY.to_owned());
    decorate(origin, allowed, response)
}

/// An answer with the CORS headers when `origin` is allowed: the origin itself (never `*`),
/// credentials, `Retry-After` readable; `Vary: Origin` whenever any origin is allowed, so that
/// no cache hands one origin's answer to another.
pub fn decorate(origin: Option<&str>, allowed: &AllowedOrigins, mut response: Response<Body>) -> Response<Body> {
    if let Some(origin) = origin.filter(|origin| allowed.allows(origin))
        && let Ok(value) = HeaderValue::from_str(origin.trim())
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    }
    vary(response, allowed)
}

fn vary(mut response: Response<Body>, allowed: &AllowedOrigins) -> Response<Body> {
    if !allowed.is_empty() {
        response.headers_mut().append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

/// The request's `Origin`, if it sent one.
pub fn origin(req: &Request) -> Option<&str> {
    req.headers().get(header::ORIGIN).and_then(|value| value.to_str().ok())
}
