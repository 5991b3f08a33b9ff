//! A forgotten password: emailed code → reset token → new password.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::activity::{self, Event};
use crate::app::App;
use crate::codes;
use crate::error::ApiError;
use crate::http::{JsonBody, code_sent, email_and_code, email_only, json, message, new_password, opaque_token, origin};
use crate::mail::templates::{Kind, Letter, To};
use crate::mailing;
use crate::model::{GrantKind, Purpose};
use crate::store::Reset;
use crate::tokens::digest;
use crate::{grants, lockout, password};

/// `POST /auth/password/forgot` `{email}` → 202: mails a reset code to an account, the same
/// answer for unknown emails.
#[tracing::instrument(skip_all)]
pub async fn password_forgot(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let email = email_only(&req)?;
    codes::send(app, &email, Purpose::PasswordReset, None, &origin(&req)).await?;
    Ok(code_sent())
}

/// `POST /auth/password/verify` `{email, code}` → 200 `{reset_token, expires_in}`: short-lived,
/// single-purpose, single-use.
#[tracing::instrument(skip_all, fields(user))]
pub async fn password_verify(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (email, code) = email_and_code(&req)?;
    codes::redeem_or_refuse(app, &email, Purpose::PasswordReset, &code).await?;
    // Codes go only to accounts, but one may have been deleted or locked since.
    let user = app.store.user_by_email(&email).await?.ok_or(ApiError::InvalidCode { remaining: None })?;
    crate::telemetry::user(&user.id);
    // A deactivated account answers as a locked one does where resets may not unlock.
    if user.deactivated || (!app.config.reset_unlocks && lockout::is_locked(app, &email).await?) {
        return Err(ApiError::AccountLocked);
    }
    let grant = grants::issue_reset(app, &user).await?;
    Ok(json(StatusCode::OK, &json!({ "reset_token": grant.token, "expires_in": grant.expires_in })))
}

/// `POST /auth/password/reset` `{reset_token, password, confirm_password}` → 200. Ends every
/// session of the user and mails them; no automatic login.
#[tracing::instrument(skip_all, fields(user))]
pub async fn password_reset(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let token = body.required("reset_token", opaque_token);
    let password = new_password(&mut body);
    let (token, password) = body.finish((token, password))?;

    let now = app.now();
    let grant_hash = digest(&token);
    let grant =
        app.store.grant(&grant_hash, GrantKind::PasswordReset, now).await?.ok_or(ApiError::InvalidResetToken)?;
    // Bound to the state it was issued in: a password change, another reset or logout-all
    // since kills it (docs/SECURITY.md, "Issued tokens").
    let user = grants::holder(app, &grant).await?.ok_or(ApiError::InvalidResetToken)?;
    crate::telemetry::user(&user.id);
    // The setting is kept when the reset completes too: a token obtained before the lock
    // must not open the account (docs/SECURITY.md, "Lockout").
    if user.deactivated || (!app.config.reset_unlocks && lockout::is_locked(app, &user.email).await?) {
        return Err(ApiError::AccountLocked);
    }
    if password::reused(&password, &user).await? {
        return Err(ApiError::password_reused());
    }
    let new_hash = password::hash(password, &*app.random).await?;
    let history = password::next_history(&user);
    match app.store.reset_password(&user.id, &grant_hash, &user.password_hash, &new_hash, &history, now).await? {
        Reset::Reset => {}
        Reset::GrantInvalid => return Err(ApiError::InvalidResetToken),
        Reset::Conflict => return Err(ApiError::Conflict),
    }
    // Proving the mailbox ends a run of failures; a locked account only gets this far when
    // the configuration lets resets unlock.
    app.store.clear_failures(&user.email).await?;
    activity::record(app, &user.id, Event::PasswordReset, &origin(&req)).await;
    mailing::send(app, &Letter::Notice(Kind::PasswordChanged), To::user(&user)).await?;
    Ok(message(StatusCode::OK, "Your password has been reset. Log in with the new one."))
}
