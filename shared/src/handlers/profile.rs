//! The signed-in user's profile and activity.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::UserView;
use crate::activity::{self, ActivityView, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::http::{JsonBody, Optional, cursor, json, origin, page_params};
use crate::{session, validate};

/// `GET /users/me` with an access token → 200 `{id, email, name, mfa_enabled, created_at, last_login}`.
pub async fn profile_get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = session::authenticate(app, &req).await?;
    Ok(json(StatusCode::OK, &UserView::from(&caller.user)))
}

/// `PATCH /users/me` with an access token and a partial `{name}` → 200 with the profile.
/// Fields that cannot be changed here (or do not exist) are refused, not ignored.
pub async fn profile_update(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = session::authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let name = body.optional("name", validate::name);
    let name = body.finish(Optional(name))?;
    let user = match name {
        Some(name) if name != caller.user.name => {
            let user = app.store.set_name(&caller.user.id, &name).await?.ok_or(ApiError::InvalidToken)?;
            activity::record(app, &user.id, Event::ProfileUpdate, &origin(&req)).await;
            user
        }
        _ => caller.user,
    };
    Ok(json(StatusCode::OK, &UserView::from(&user)))
}

/// Whether `key` is an activity sort key.
fn activity_key(key: &str) -> bool {
    key.strip_prefix("ACT#").is_some_and(|rest| {
        rest.split_once('#')
            .is_some_and(|(at, id)| at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty())
    })
}

/// `GET /users/me/activity?limit=&cursor=` with an access token → 200 `{items, next_cursor}`:
/// the user's auth events of the last 90 days, newest first.
pub async fn activity(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = session::authenticate(app, &req).await?;
    let (limit, start) = page_params(&req, activity_key)?;
    let page = app.store.activity(&caller.user.id, app.now(), limit, start.as_deref()).await?;
    let items: Vec<ActivityView> = page.items.into_iter().map(ActivityView::from).collect();
    Ok(json(StatusCode::OK, &json!({ "items": items, "next_cursor": cursor(page.next) })))
}
