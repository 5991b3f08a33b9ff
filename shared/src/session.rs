//! Sessions: an access token (RS256 JWT, minutes) and an opaque refresh token
//! `<session id>.<secret>` whose secret is stored only as a digest (docs/SECURITY.md, "Sessions").
//!
//! Every refresh rotates the secret; presenting any secret but the current one revokes the
//! whole session (the refresh-token family). Access tokens die with their session and with
//! the user's token version (logout-all).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use serde::Serialize;

use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::model::{Origin, Session, SessionUse, User};
use crate::random;
use crate::store::Rotated;
use crate::telemetry;
use crate::tokens::{Claims, TokenUse, digest};

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
        custom: app
            .config
            .custom_attributes
            .iter()
            .filter(|declared| declared.claim)
            .filter_map(|declared| {
                Some((format!("custom:{}", declared.name), user.custom.get(&declared.name)?.to_json()))
            })
            .collect(),
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

/// Starts a new session for `user`, begun by `how` (the activity log's method name, as the
/// device list shows it) from `origin`.
pub async fn start(app: &App, user: &User, how: Option<String>, origin: &Origin) -> Result<Tokens, ApiError> {
    let now = app.now();
    let secret = random::token::<32>(&*app.random);
    let session = Session {
        id: random::token::<16>(&*app.random),
        user_id: user.id.clone(),
        token_hash: digest(&secret),
        user_version: user.token_version,
        created_at: now,
        expires_at: now + app.config.tokens.session.as_secs() as i64,
        method: how,
        last_used_at: now,
        first_ip: origin.source_ip.clone(),
        last_ip: origin.source_ip.clone(),
        user_agent: origin.kept_user_agent(),
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
/// revoking the session if the token was a rotated one). The session records the use
/// (`origin`'s address and User-Agent) for the device list.
pub async fn refresh(app: &App, presented: &str, origin: &Origin) -> Result<Tokens, ApiError> {
    let (id, secret) = parse_refresh(presented).ok_or(ApiError::InvalidToken)?;
    let now = app.now();
    let session = app.store.session(id, now).await?.ok_or(ApiError::InvalidToken)?;
    let presented_hash = digest(secret);
    if verify_slices_are_equal(presented_hash.as_bytes(), session.token_hash.as_bytes()).is_err() {
        tracing::warn!(session = id, "a rotated refresh token was presented: revoking its session");
        telemetry::count(telemetry::Event::RefreshReuse);
        app.store.delete_session(id).await?;
        return Err(ApiError::InvalidToken);
    }
    let user = app.store.user(&session.user_id).await?;
    let Some(user) = user.filter(|u| u.token_version == session.user_version) else {
        app.store.delete_session(id).await?;
        return Err(ApiError::InvalidToken);
    };
    let new_secret = random::token::<32>(&*app.random);
    let used = SessionUse { at: now, source_ip: origin.source_ip.clone(), user_agent: origin.kept_user_agent() };
    match app.store.rotate_session(id, &presented_hash, &digest(&new_secret), &used).await? {
        Rotated::Rotated => tokens(app, &user, &session, &new_secret),
        Rotated::Stale => {
            // Another request rotated this token first: the same token was used twice.
            tracing::warn!(session = id, "a refresh token was used concurrently: revoking its session");
            telemetry::count(telemetry::Event::RefreshReuse);
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

/// The caller an access token names: the token is valid, its session is live and its
/// user's token version is the one it carries. Every failure is the same `InvalidToken`.
pub async fn authenticate(app: &App, token: &str) -> Result<Caller, ApiError> {
    let now = app.now();
    let claims = app.keys.verify(token, TokenUse::Access, now).ok_or(ApiError::InvalidToken)?;
    let (user, session) = tokio::try_join!(app.store.user(&claims.sub), app.store.session(&claims.sid, now))?;
    let live = session.is_some_and(|s| s.user_id == claims.sub);
    match user {
        Some(user) if live && user.token_version == claims.ver => Ok(Caller { user, claims }),
        _ => Err(ApiError::InvalidToken),
    }
}

/// Every factor passed: the login recorded (as `how`: a login, or one with Google), a
/// session started. The user as now stored and the session's tokens.
pub async fn log_in(app: &App, user: User, origin: &Origin, how: Event) -> Result<(User, Tokens), ApiError> {
    let now = app.now();
    app.store.record_login(&user.id, now).await?;
    activity::record(app, &user.id, how, origin).await;
    if let Event::LoginSuccess(..) = how {
        telemetry::count(telemetry::Event::LoginSucceeded);
    }
    let user = User { last_login: Some(now), ..user };
    crate::telemetry::user(&user.id);
    let tokens = start(app, &user, how.method(), origin).await?;
    Ok((user, tokens))
}

/// After a change that ended every session of the user (a password change, the second
/// factor turned on or off): the caller's own session ends too, and a new one starts in the
/// user's new state, on the same device: it keeps how the old one began.
pub async fn restart(app: &App, caller: &Caller, origin: &Origin) -> Result<(User, Tokens), ApiError> {
    let old = app.store.session(&caller.claims.sid, app.now()).await?;
    app.store.delete_session(&caller.claims.sid).await?;
    let user = app.store.user(&caller.user.id).await?.ok_or(ApiError::InvalidToken)?;
    let tokens = start(app, &user, old.and_then(|s| s.method), origin).await?;
    Ok((user, tokens))
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
