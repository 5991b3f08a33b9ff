//! The signed-in user's account: the profile, the activity log and the password.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::UserView;
use crate::activity::{self, ActivityView, Event};
use crate::app::App;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::http::session::{authenticate, session_response};
use crate::http::{JsonBody, cursor, json, new_password, opaque_token, origin, page_params, profile_change};
use crate::lockout;
use crate::mail::templates::{Kind, Letter, To};
use crate::mailing;
use crate::password::{self, Password};
use crate::pictures;
use crate::profile::{self, Editor};
use crate::session;

/// `GET /users/me` with an access token → 200 `{id, email, name, mfa_enabled, created_at, last_login}`.
#[tracing::instrument(skip_all, fields(user))]
pub async fn profile_get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    Ok(json(StatusCode::OK, &UserView::of(app, &caller.user).await))
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
    Ok(json(StatusCode::OK, &UserView::of(app, &user).await))
}

/// `POST /users/me/picture` with an access token and `{content_type}` (`image/png`,
/// `image/jpeg` or `image/webp`) → 200 `{url, fields, key, max_bytes, expires_at}`: a
/// presigned POST for one picture of that type and at most `max_bytes`, which S3 enforces.
/// The browser posts `fields` and then the file (`file`, last) to `url`, then hands `key` to
/// `PUT /users/me/picture`.
#[tracing::instrument(skip_all, fields(user))]
pub async fn picture_upload(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let content_type = body.required("content_type", |text| match pictures::TYPES.contains(&text) {
        true => Ok(text.to_owned()),
        false => Err("must be image/png, image/jpeg or image/webp"),
    });
    let content_type = body.finish(content_type)?;
    let upload = pictures::upload(app, &caller.user, &content_type).await?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "url": upload.form.url,
            "fields": upload.form.fields,
            "key": upload.key,
            "max_bytes": pictures::MAX_BYTES,
            "expires_at": rfc3339(upload.expires_at),
        }),
    ))
}

/// `PUT /users/me/picture` with an access token and `{key}` (what `POST /users/me/picture`
/// gave, once the file is up) → 200 with the profile, whose `picture` is now a short-lived URL
/// of the upload. The picture it replaces, if uploaded, is deleted.
#[tracing::instrument(skip_all, fields(user))]
pub async fn picture_set(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let key = body.required("key", opaque_token);
    let key = body.finish(key)?;
    let user = profile::set_picture(app, caller.user, &key, &origin(&req)).await?;
    Ok(json(StatusCode::OK, &UserView::of(app, &user).await))
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
