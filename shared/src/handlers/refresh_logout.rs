//! Keeping a session going (token refresh) and ending it (logout, logout-all).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::http::session::{
    authenticate, clear_session_cookies, presented_access_token, presented_refresh_token, session_response,
};
use crate::http::{message, no_fields, origin};
use crate::session;
use crate::tokens::TokenUse;

/// `POST /auth/token/refresh` (refresh token in the cookie or the body) → 200 with rotated
/// tokens. A token that was already rotated revokes its whole session.
#[tracing::instrument(skip_all)]
pub async fn token_refresh(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let presented =
        presented_refresh_token(&req, &app.config.allowed_origins)?.ok_or(ApiError::AuthenticationRequired)?;
    match session::refresh(app, &presented, &origin(&req)).await {
        Ok(tokens) => session_response(StatusCode::OK, serde_json::json!({}), &tokens),
        Err(ApiError::InvalidToken) => {
            let mut response = ApiError::InvalidToken.into_response();
            clear_session_cookies(&mut response);
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

/// `POST /auth/logout` → 200: ends the session of the refresh token (cookie or body) and of
/// the access token, if either is presented, and clears the cookies. Idempotent.
#[tracing::instrument(skip_all)]
pub async fn logout(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut user_id = None;
    if let Some(refresh) = presented_refresh_token(&req, &app.config.allowed_origins)? {
        user_id = session::end(app, &refresh).await?;
    }
    let access = presented_access_token(&req, &app.config.allowed_origins)?
        .and_then(|t| app.keys.verify(t, TokenUse::Access, app.now()));
    if let Some(claims) = access {
        app.store.delete_session(&claims.sid).await?;
        user_id = user_id.or(Some(claims.sub));
    }
    if let Some(user_id) = user_id {
        activity::record(app, &user_id, Event::Logout, &origin(&req)).await;
    }
    let mut response = message(StatusCode::OK, "Logged out.");
    clear_session_cookies(&mut response);
    Ok(response)
}

/// `POST /auth/logout/all` with an access token → 200: every session of the user ends and
/// every access token issued before stops working.
#[tracing::instrument(skip_all, fields(user))]
pub async fn logout_all(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    no_fields(&req)?;
    let caller = authenticate(app, &req).await?;
    app.store.bump_token_version(&caller.user.id).await?;
    activity::record(app, &caller.user.id, Event::LogoutAll, &origin(&req)).await;
    tracing::info!("logged out everywhere");
    let mut response = message(StatusCode::OK, "Logged out of every session.");
    clear_session_cookies(&mut response);
    Ok(response)
}
