//! The signed-in user's account: the profile, the activity log and the password.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::UserView;
use crate::activity::{self, ActivityView, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::http::session::{authenticate, session_response};
use crate::http::{JsonBody, cursor, json, new_password, origin, page_params, profile_change};
use crate::lockout;
use crate::mail::templates::{Kind, Letter, To};
use crate::mailing;
use crate::password::{self, Password};
use crate::profile::{self, Editor};
use crate::session;

/// `GET /users/me` with an access token → 200 `{id, email, name, mfa_enabled, created_at, last_login}`.
#[tracing::instrument(skip_all, fields(user))]
pub async fn profile_get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    Ok(json(StatusCode::OK, &UserView::new(&caller.user, &app.config)))
}

/// `PATCH /users/me` with an access token and a partial profile (`name`, the standard
/// attributes, `custom`: each absent unchanged, null removed) → 200 with the profile. Fields
/// that cannot be changed here (or do not exist) are refused, not ignored.
#[tracing::instrument(skip_all, fields(user))]
pub async fn profile_update(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let change = profile_change(app, &mut body, Editor::Owner);
    body.finish(())?;
    let user = profile::update(app, caller.user, change, Editor::Owner, &origin(&req)).await?;
    Ok(json(StatusCode::OK, &UserView::new(&user, &app.config)))
}

/// `GET /users/me/activity?limit=&cursor=` with an access token → 200 `{items, next_cursor}`:
/// the user's auth events of the last 90 days, newest first.
#[tracing::instrument(skip_all, fields(user))]
pub async fn activity(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let (limit, start) = page_params(&req)?;
    let page = app.store.activity(&caller.user.id, app.now(), limit, start.as_deref()).await?;
    let items: Vec<ActivityView> = page.items.into_iter().map(ActivityView::from).collect();
    Ok(json(StatusCode::OK, &json!({ "items": items, "next_cursor": cursor(page.next) })))
}

/// `POST /auth/password/change` with an access token and `{current_password, password,
/// confirm_password}` → 200 with a fresh session; every other session ends; a mail tells the
/// owner. Wrong current passwords count toward the lockout.
#[tracing::instrument(skip_all, fields(user))]
pub async fn password_change(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let current = body.required("current_password", Password::parse_existing);
    let password = new_password(&mut body);
    let (current, password) = body.finish((current, password))?;
    let origin = origin(&req);
    let user = &caller.user;

    lockout::check_current_password(app, user, current, &origin).await?;
    if password::reused(&password, user).await? {
        return Err(ApiError::password_reused());
    }
    let new_hash = password::hash(password, &*app.random).await?;
    if !app.store.set_password(&user.id, &user.password_hash, &new_hash, &password::next_history(user)).await? {
        return Err(ApiError::Conflict);
    }
    let (user, tokens) = session::restart(app, &caller, &origin).await?;
    activity::record(app, &user.id, Event::PasswordChange, &origin).await;
    mailing::send(app, &Letter::Notice(Kind::PasswordChanged), To::user(&user)).await?;
    session_response(StatusCode::OK, json!({ "message": "Password changed. Other sessions were logged out." }), &tokens)
}
