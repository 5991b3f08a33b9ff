//! Admin routes: unlock an account, remove an account's authenticator, list users. Only
//! users with the admin role.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::json;

use crate::activity::{self, Event};
use crate::app::App;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::http::session::authenticate;
use crate::http::{JsonBody, cursor, json, message, origin, page_params};
use crate::mail::templates;
use crate::model::{Email, Role, User};
use crate::session::Caller;

async fn admin(app: &App, req: &Request) -> Result<Caller, ApiError> {
    let caller = authenticate(app, req).await?;
    if caller.user.role == Role::Admin { Ok(caller) } else { Err(ApiError::Forbidden) }
}

/// An admin's request about one account, `{email}`: the account's user.
async fn admin_and_target(app: &App, req: &Request) -> Result<User, ApiError> {
    admin(app, req).await?;
    let mut body = JsonBody::parse(req)?;
    let email = body.required("email", Email::parse);
    let (email,) = body.finish((email,))?;
    let user = app.store.user_by_email(&email).await?.ok_or(ApiError::UserNotFound)?;
    Ok(user)
}

/// `POST /admin/users/unlock` with an admin access token and `{email}` → 200: the account's
/// failure count is reset, so it can log in again.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_unlock(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let user = admin_and_target(app, &req).await?;
    app.store.clear_failures(&user.email).await?;
    activity::record(app, &user.id, Event::Unlocked, &origin(&req)).await;
    tracing::info!(account = user.id, "account unlocked");
    Ok(message(StatusCode::OK, "The account is unlocked."))
}

/// `POST /admin/users/mfa/reset` with an admin access token and `{email}` → 200: the
/// account's Google Authenticator is removed and every session (and pending MFA token) of
/// the account ends; the owner gets a mail and an activity entry. For an owner who lost the
/// phone and the recovery codes, or whose account someone else enrolled.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_mfa_reset(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let user = admin_and_target(app, &req).await?;
    if !user.mfa_enabled && user.totp_pending.is_none() {
        return Err(ApiError::MfaNotEnabled);
    }
    if !app.store.disable_totp(&user.id).await? {
        return Err(ApiError::UserNotFound);
    }
    activity::record(app, &user.id, Event::MfaRemovedByAdmin, &origin(&req)).await;
    app.mailer.send(templates::mfa_removed_by_admin(&app.config.product_name, user.email.as_str(), &user.name)).await?;
    tracing::info!(account = user.id, "authenticator removed by an admin");
    Ok(message(StatusCode::OK, "Google Authenticator is removed and every session of the account has ended."))
}

/// A user as an admin sees them.
#[derive(Debug, Serialize)]
struct AdminUserView {
    id: String,
    email: String,
    name: String,
    role: &'static str,
    created_at: String,
    last_login: Option<String>,
    locked: bool,
    mfa_enabled: bool,
}

/// `GET /admin/users?limit=&cursor=` with an admin access token → 200 `{items, next_cursor}`,
/// newest first.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_users(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    admin(app, &req).await?;
    let (limit, start) = page_params(&req)?;
    let page = app.store.users(limit, start.as_deref()).await?;
    let emails: Vec<Email> = page.items.iter().map(|u| u.email.clone()).collect();
    let failures = app.store.failures(&emails, app.now()).await?;
    let view = |(user, failures): (User, u32)| AdminUserView {
        id: user.id,
        email: user.email.as_str().to_owned(),
        name: user.name,
        role: user.role.as_str(),
        created_at: rfc3339(user.created_at),
        last_login: user.last_login.map(rfc3339),
        locked: failures >= app.config.max_login_failures,
        mfa_enabled: user.mfa_enabled,
    };
    let items: Vec<AdminUserView> = page.items.into_iter().zip(failures).map(view).collect();
    Ok(json(StatusCode::OK, &json!({ "items": items, "next_cursor": cursor(page.next) })))
}
