//! Sessions: an access token (RS256 JWT, minutes) and an opaque refresh token
//! `<session id>.<secret>` whose secret is stored only as a digest (docs/SECURITY.md, "Sessions").
//!
//! Every refresh rotates the secret; presenting any secret but the current one revokes the
//! whole session (the refresh-token family). Access tokens die with their session and with
//! the user's token version (logout-all).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::app::App;
use crate::error::ApiError;
use crate::http::{bearer, cookie, is_cross_site, set_cookies};
use crate::random;
use crate::store::{Rotated, Session, User};
use crate::tokens::{Claims, TokenUse, digest};

/// The access-token cookie: host-only, every path.
pub const ACCESS_COOKIE: &str = "__Host-stepauth_access";
/// The refresh-token cookie, sent only to the routes that use it.
pub const REFRESH_COOKIE: &str = "__Secure-stepauth_refresh";
/// The paths the refresh cookie is scoped to.
pub const REFRESH_COOKIE_PATHS: [&str; 2] = ["/auth/token/refresh", "/auth/logout"];

/// The tokens of a session, as the body of a token response.
#[derive(Debug, Clone, Serialize)]
pub struct Tokens {
    /// The JWT.
    pub access_token: String,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the session ends (the refresh cookie's lifetime).
    #[serde(skip)]
    pub session_expires_in: u64,
}

/// A request's verified caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// The access token's claims.
    pub claims: Claims,
}

fn access_token(app: &App, user: &User, session_id: &str) -> Result<String, ApiError> {
    let now = app.now();
    let claims = Claims {
        iss: app.config.issuer.clone(),
        aud: app.config.audience.clone(),
        sub: user.id.clone(),
        iat: now,
        exp: now + app.config.tokens.access.as_secs() as i64,
        token_use: TokenUse::Access,
        sid: session_id.to_owned(),
        ver: user.token_version,
    };
    Ok(app.keys.sign(&claims)?)
}

fn tokens(app: &App, user: &User, session: &Session, secret: &str) -> Result<Tokens, ApiError> {
    Ok(Tokens {
        access_token: access_token(app, user, &session.id)?,
        refresh_token: format!("{}.{secret}", session.id),
        token_type: "Bearer",
        expires_in: app.config.tokens.access.as_secs(),
        session_expires_in: (session.expires_at - app.now()).max(0) as u64,
    })
}

/// Starts a new session for `user`.
pub async fn start(app: &App, user: &User) -> Result<Tokens, ApiError> {
    let now = app.now();
    let secret = random::token::<32>(&*app.random);
    let session = Session {
        id: random::token::<16>(&*app.random),
        user_id: user.id.clone(),
        token_hash: digest(&secret),
        user_version: user.token_version,
        created_at: now,
        expires_at: now + app.config.tokens.session.as_secs() as i64,
    };
    app.store.put_session(&session).await?;
    tokens(app, user, &session, &secret)
}

/// Splits a refresh token into session id and secret, if it has that shape.
fn parse_refresh(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.trim().split_once('.')?;
    let well_formed = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (well_formed(id, 22) && well_formed(secret, 43)).then_some((id, secret))
}

/// Rotates a refresh token: new tokens for the same session, or `InvalidToken` (after
/// revoking the session if the token was a rotated one).
pub async fn refresh(app: &App, presented: &str) -> Result<Tokens, ApiError> {
    let (id, secret) = parse_refresh(presented).ok_or(ApiError::InvalidToken)?;
    let now = app.now();
    let session = app.store.session(id, now).await?.ok_or(ApiError::InvalidToken)?;
    let presented_hash = digest(secret);
    if verify_slices_are_equal(presented_hash.as_bytes(), session.token_hash.as_bytes()).is_err() {
        tracing::warn!(session = id, "a rotated refresh token was presented: revoking its session");
        app.store.delete_session(id).await?;
        return Err(ApiError::InvalidToken);
    }
    let user = app.store.user(&session.user_id).await?;
    let Some(user) = user.filter(|u| u.token_version == session.user_version) else {
        app.store.delete_session(id).await?;
        return Err(ApiError::InvalidToken);
    };
    let new_secret = random::token::<32>(&*app.random);
    match app.store.rotate_session(id, &presented_hash, &digest(&new_secret), now).await? {
        Rotated::Rotated => tokens(app, &user, &session, &new_secret),
        Rotated::Stale => {
            // Another request rotated this token first: the same token was used twice.
            tracing::warn!(session = id, "a refresh token was used concurrently: revoking its session");
            app.store.delete_session(id).await?;
            Err(ApiError::InvalidToken)
        }
    }
}

/// Ends the session a refresh token belongs to, if the token is its current one: whose
/// session it was. The id alone (also every access token's `sid`) ends nothing
/// (docs/SECURITY.md, "Sessions").
pub async fn end(app: &App, presented: &str) -> Result<Option<String>, ApiError> {
    let Some((id, secret)) = parse_refresh(presented) else {
        return Ok(None);
    };
    let Some(session) = app.store.session(id, app.now()).await? else {
        return Ok(None);
    };
    if verify_slices_are_equal(digest(secret).as_bytes(), session.token_hash.as_bytes()).is_err() {
        return Ok(None);
    }
    app.store.delete_session(id).await?;
    Ok(Some(session.user_id))
}

/// The access token of a request: `Authorization: Bearer` first, then the cookie.
pub fn presented_access_token(req: &Request) -> Option<&str> {
    bearer(req).or_else(|| cookie(req, ACCESS_COOKIE))
}

/// A session cookie (access or refresh) may only authorise a state change that the page of
/// this origin sent: a browser attaches cookies to cross-site requests too (SameSite is the
/// first barrier, this the second; docs/SECURITY.md, "Cross-site requests"). Bearer tokens,
/// which no other site can attach, are not checked.
pub fn check_cookie_request(req: &Request) -> Result<(), ApiError> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && is_cross_site(req) { Err(ApiError::CrossSiteRequest) } else { Ok(()) }
}

/// The request's caller: a valid access token whose session is live and whose user's token
/// version it carries. Every failure is the same `InvalidToken`.
pub async fn authenticate(app: &App, req: &Request) -> Result<Caller, ApiError> {
    if bearer(req).is_none() && cookie(req, ACCESS_COOKIE).is_some() {
        check_cookie_request(req)?;
    }
    let token = presented_access_token(req).ok_or(ApiError::AuthenticationRequired)?;
    let now = app.now();
    let claims = app.keys.verify(token, TokenUse::Access, now).ok_or(ApiError::InvalidToken)?;
    let (user, session) = tokio::try_join!(app.store.user(&claims.sub), app.store.session(&claims.sid, now))?;
    let live = session.is_some_and(|s| s.user_id == claims.sub);
    match user {
        Some(user) if live && user.token_version == claims.ver => Ok(Caller { user, claims }),
        _ => Err(ApiError::InvalidToken),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_must_have_their_shape() {
        let id = "a".repeat(22);
        let secret = "b".repeat(43);
        assert_eq!(parse_refresh(&format!("{id}.{secret}")), Some((id.as_str(), secret.as_str())));
        assert_eq!(parse_refresh(&format!("{id}.{secret}x")), None);
        assert_eq!(parse_refresh(&format!("{id}{secret}")), None);
        assert_eq!(parse_refresh(&format!("{id}.{}", "b".repeat(42) + "=")), None);
        assert_eq!(parse_refresh(""), None);
    }
}
