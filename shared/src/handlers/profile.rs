//! The signed-in user's profile.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::UserView;
use crate::app::App;
use crate::error::ApiError;
use crate::http::json;
use crate::session;

/// `GET /users/me` with an access token → 200 `{id, email, name, mfa_enabled, created_at, last_login}`.
pub async fn profile_get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = session::authenticate(app, &req).await?;
    Ok(json(StatusCode::OK, &UserView::from(&caller.user)))
}
