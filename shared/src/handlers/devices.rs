//! The devices (sessions) of the signed-in user: the list, ending one, ending all others.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use crate::activity::{self, Event};
use crate::app::App;
use crate::devices;
use crate::error::ApiError;
use crate::http::session::{authenticate, clear_session_cookies};
use crate::http::{cursor, json, message, no_fields, origin, page_params};

/// `GET /users/me/sessions?limit=&cursor=` with an access token → 200 `{items, next_cursor}`:
/// the user's live sessions, newest first, the request's own marked `current`.
#[tracing::instrument(skip_all, fields(user))]
pub async fn sessions_list(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let (limit, start) = page_params(&req)?;
    let page = devices::list(app, &caller, limit, start.as_deref()).await?;
    Ok(json(StatusCode::OK, &json!({ "items": page.items, "next_cursor": cursor(page.next) })))
}

/// `DELETE /users/me/sessions/{id}` with an access token → 200: that session ends, its
/// refresh token and access tokens with it; ending the current one clears the cookies too.
/// 404 `session_not_found` for an id that is not one of the caller's live sessions.
#[tracing::instrument(skip_all, fields(user))]
pub async fn session_end(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    no_fields(&req)?;
    let id = req.path_parameters().first("id").map(str::to_owned).ok_or(ApiError::SessionNotFound)?;
    let current = devices::end(app, &caller, &id).await?;
    activity::record(app, &caller.user.id, Event::SessionEnded, &origin(&req)).await;
    let mut response = message(StatusCode::OK, "Signed out on that device.");
    if current {
        clear_session_cookies(&mut response);
    }
    Ok(response)
}

/// `POST /users/me/sessions/end-others` with an access token → 200 `{message, ended}`: every
/// other session of the user ends; this one goes on.
#[tracing::instrument(skip_all, fields(user))]
pub async fn sessions_end_others(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    no_fields(&req)?;
    let ended = devices::end_others(app, &caller).await?;
    activity::record(app, &caller.user.id, Event::OtherSessionsEnded, &origin(&req)).await;
    Ok(json(StatusCode::OK, &json!({ "message": "Signed out on every other device.", "ended": ended })))
}
