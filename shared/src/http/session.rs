//! A session's credentials over HTTP: the access token from `Authorization: Bearer` or its
//! cookie, the refresh token from the body or its cookie, the cookies a session response
//! sets and clears, and the cross-site check every cookie-borne credential gets.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde_json::{Map, Value};

use super::fields::opaque_token;
use super::request::{JsonBody, Optional, bearer, cookie, is_cross_site};
use super::response::{json, set_cookies};
use crate::app::App;
use crate::config::AllowedOrigins;
use crate::error::ApiError;
use crate::model::{Role, User};
use crate::session::{self, Caller, Tokens};

/// The access-token cookie: host-only, every path.
pub const ACCESS_COOKIE: &str = "__Host-stepauth_access";
/// The refresh-token cookie, sent only to the routes that use it.
pub const REFRESH_COOKIE: &str = "__Secure-stepauth_refresh";
/// The paths the refresh cookie is scoped to.
pub const REFRESH_COOKIE_PATHS: [&str; 2] = ["/auth/token/refresh", "/auth/logout"];

/// The caller of an admin route: signed in, with the admin role (docs/SECURITY.md, "Admin
/// tools").
pub async fn admin(app: &App, req: &Request) -> Result<Caller, ApiError> {
    let caller = authenticate(app, req).await?;
    if caller.user.role == Role::Admin { Ok(caller) } else { Err(ApiError::Forbidden) }
}

/// The account an admin's request names in its path (`/admin/users/{id}/…`), once the
/// caller is known to be an admin and its body is read. An id of any other shape is simply
/// not found.
pub async fn path_user(app: &App, req: &Request, caller: &Caller) -> Result<User, ApiError> {
    let id = req.path_parameters().first("id").map(str::to_owned).unwrap_or_default();
    let well_formed = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed {
        return Err(ApiError::UserNotFound);
    }
    let user = app.store.user(&id).await?.ok_or(ApiError::UserNotFound)?;
    tracing::info!(admin = caller.user.id, account = user.id, "an admin's request about an account");
    Ok(user)
}

/// The access token of a request: `Authorization: Bearer` first, then the cookie (checked
/// by [`check_cookie_request`]).
pub fn presented_access_token<'r>(req: &'r Request, allowed: &AllowedOrigins) -> Result<Option<&'r str>, ApiError> {
    if let Some(token) = bearer(req) {
        return Ok(Some(token));
    }
    match cookie(req, ACCESS_COOKIE) {
        Some(token) => check_cookie_request(req, allowed).map(|()| Some(token)),
        None => Ok(None),
    }
}

/// The refresh token from the body's `refresh_token`, else from the cookie (checked by
/// [`check_cookie_request`]).
pub fn presented_refresh_token(req: &Request, allowed: &AllowedOrigins) -> Result<Option<String>, ApiError> {
    let from_body = match JsonBody::parse_optional(req)? {
        Some(mut body) => {
            let token = body.optional("refresh_token", opaque_token);
            body.finish(Optional(token))?
        }
        None => None,
    };
    match from_body {
        Some(token) => Ok(Some(token)),
        None => match cookie(req, REFRESH_COOKIE) {
            Some(token) => check_cookie_request(req, allowed).map(|()| Some(token.to_owned())),
            None => Ok(None),
        },
    }
}

/// A session cookie (access or refresh) may only authorise a state change that the page of
/// this origin sent: a browser attaches cookies to cross-site requests too (SameSite is the
/// first barrier, this the second; docs/SECURITY.md, "Cross-site requests"). Bearer tokens,
/// which no other site can attach, are not checked.
pub fn check_cookie_request(req: &Request, allowed: &AllowedOrigins) -> Result<(), ApiError> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && is_cross_site(req, allowed) { Err(ApiError::CrossSiteRequest) } else { Ok(()) }
}

/// The request's caller (see [`session::authenticate`]); no token is
/// `AuthenticationRequired`.
pub async fn authenticate(app: &App, req: &Request) -> Result<Caller, ApiError> {
    let token = presented_access_token(req, &app.config.allowed_origins)?.ok_or(ApiError::AuthenticationRequired)?;
    let caller = session::authenticate(app, token).await?;
    crate::telemetry::user(&caller.user.id);
    Ok(caller)
}

/// A response that starts or continues a session: `fields` plus the tokens in the body,
/// and the session cookies.
pub fn session_response(status: StatusCode, fields: Value, tokens: &Tokens) -> Result<Response<Body>, ApiError> {
    let mut body = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Value::Object(token_fields) = serde_json::to_value(tokens).map_err(anyhow::Error::from)? {
        body.extend(token_fields);
    }
    let mut response = json(status, &body);
    set_session_cookies(&mut response, tokens);
    Ok(response)
}

fn cookie_attributes(path: &str, max_age: u64) -> String {
    format!("Path={path}; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict")
}

/// Sets the session cookies on a response.
pub fn set_session_cookies(response: &mut Response<Body>, tokens: &Tokens) {
    let access = format!("{ACCESS_COOKIE}={}; {}", tokens.access_token, cookie_attributes("/", tokens.expires_in));
    let refresh = REFRESH_COOKIE_PATHS.map(|path| {
        format!("{REFRESH_COOKIE}={}; {}", tokens.refresh_token, cookie_attributes(path, tokens.session_expires_in))
    });
    set_cookies(response, std::iter::once(access).chain(refresh));
}

/// Clears the session cookies on a response.
pub fn clear_session_cookies(response: &mut Response<Body>) {
    let access = format!("{ACCESS_COOKIE}=; {}", cookie_attributes("/", 0));
    let refresh = REFRESH_COOKIE_PATHS.map(|path| format!("{REFRESH_COOKIE}=; {}", cookie_attributes(path, 0)));
    set_cookies(response, std::iter::once(access).chain(refresh));
}
