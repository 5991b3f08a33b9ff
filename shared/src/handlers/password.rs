//! Forgotten passwords (code → reset token → new password) and password changes.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::codes::{SENT, email_and_code, redeem, send_code};
use super::{message, new_password, opaque_token, session_response};
use crate::activity::{self, Event};
use crate::app::App;
use crate::attempts::{self, LoginAttempt};
use crate::codes::Purpose;
use crate::error::ApiError;
use crate::http::{JsonBody, json, origin};
use crate::mail::templates;
use crate::password::{self, Password};
use crate::store::{Grant, GrantKind, PASSWORD_HISTORY, Redeemed, Reset, User};
use crate::tokens::digest;
use crate::validate::Email;
use crate::{random, session};

/// Whether `password` is the user's current password or one of the earlier ones kept.
async fn reused(password: &Password, user: &User) -> anyhow::Result<bool> {
    for phc in std::iter::once(&user.password_hash).chain(&user.password_history) {
        if password::verify(password.clone(), Some(phc.clone())).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn reused_error() -> ApiError {
    ApiError::Validation {
        fields: [(
            "password".to_owned(),
            vec![format!("must differ from your current password and your last {PASSWORD_HISTORY}")],
        )]
        .into(),
        password_rules: vec!["not_reused"],
    }
}

/// The history after replacing the current password: it, then the older ones, at most five.
fn next_history(user: &User) -> Vec<String> {
    std::iter::once(&user.password_hash).chain(&user.password_history).take(PASSWORD_HISTORY).cloned().collect()
}

/// `POST /auth/password/forgot` `{email}` → 202: mails a reset code to an account, the same
/// answer for unknown emails.
pub async fn password_forgot(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let email = body.required("email", Email::parse);
    let (email,) = body.finish((email,))?;
    send_code(app, &email, Purpose::PasswordReset, None, &origin(&req)).await?;
    Ok(message(StatusCode::ACCEPTED, SENT))
}

/// `POST /auth/password/verify` `{email, code}` → 200 `{reset_token, expires_in}`: short-lived,
/// single-purpose, single-use.
pub async fn password_verify(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (email, code) = email_and_code(&req)?;
    let now = app.now();
    match redeem(app, &email, Purpose::PasswordReset, &code, now).await? {
        Redeemed::Redeemed { .. } => {}
        Redeemed::Rejected => return Err(ApiError::InvalidCode { remaining: None }),
        Redeemed::Exhausted { retry_after } => return Err(ApiError::TooManyRequests { retry_after }),
    }
    // Codes go only to accounts, but one may have been deleted or locked since.
    let user = app.store.user_by_email(&email).await?.ok_or(ApiError::InvalidCode { remaining: None })?;
    if !app.config.reset_unlocks && attempts::is_locked(app, &email).await? {
        return Err(ApiError::AccountLocked);
    }
    let token = random::token::<32>(&*app.random);
    let lifetime = app.config.tokens.reset.as_secs();
    let grant = Grant {
        token_hash: digest(&token),
        kind: GrantKind::PasswordReset,
        email,
        name: String::new(),
        user_version: Some(user.token_version),
        user_id: Some(user.id),
        expires_at: now + lifetime as i64,
    };
    app.store.put_grant(&grant).await?;
    Ok(json(StatusCode::OK, &json!({ "reset_token": token, "expires_in": lifetime })))
}

/// `POST /auth/password/reset` `{reset_token, password, confirm_password}` → 200. Ends every
/// session of the user and mails them; no automatic login.
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
    let user = app.store.user(grant.user_id.as_deref().unwrap_or_default()).await?;
    let user = user.filter(|u| grant.is_current_for(u)).ok_or(ApiError::InvalidResetToken)?;
    // The setting is kept when the reset completes too: a token obtained before the lock
    // must not open the account (docs/SECURITY.md, "Lockout").
    if !app.config.reset_unlocks && attempts::is_locked(app, &user.email).await? {
        return Err(ApiError::AccountLocked);
    }
    if reused(&password, &user).await? {
        return Err(reused_error());
    }
    let new_hash = password::hash(password, &*app.random).await?;
    match app
        .store
        .reset_password(&user.id, &grant_hash, &user.password_hash, &new_hash, &next_history(&user), now)
        .await?
    {
        Reset::Reset => {}
        Reset::GrantInvalid => return Err(ApiError::InvalidResetToken),
        Reset::Conflict => return Err(ApiError::Conflict),
    }
    // Proving the mailbox ends a run of failures; a locked account only gets this far when
    // the configuration lets resets unlock.
    app.store.clear_failures(&user.email).await?;
    activity::record(app, &user.id, Event::PasswordReset, &origin(&req)).await;
    app.mailer.send(templates::password_changed(&app.config.product_name, user.email.as_str(), &user.name)).await?;
    Ok(message(StatusCode::OK, "Your password has been reset. Log in with the new one."))
}

/// `POST /auth/password/change` with an access token and `{current_password, password,
/// confirm_password}` → 200 with a fresh session; every other session ends; a mail tells the
/// owner. Wrong current passwords count toward the lockout.
pub async fn password_change(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = session::authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let current = body.required("current_password", Password::parse_existing);
    let password = new_password(&mut body);
    let (current, password) = body.finish((current, password))?;
    let origin = origin(&req);
    let user = caller.user;

    let attempt = LoginAttempt::begin(app, &user.email, &origin).await?;
    if !password::verify(current, Some(user.password_hash.clone())).await? {
        let wrong = |remaining| ApiError::InvalidCredentials { remaining };
        return Err(attempt.failed(app, Some(&user), &origin, wrong).await);
    }
    attempt.succeeded(app).await?;
    if reused(&password, &user).await? {
        return Err(reused_error());
    }
    let new_hash = password::hash(password, &*app.random).await?;
    if !app.store.set_password(&user.id, &user.password_hash, &new_hash, &next_history(&user)).await? {
        return Err(ApiError::Conflict);
    }
    app.store.delete_session(&caller.claims.sid).await?;
    let user = app.store.user(&user.id).await?.ok_or(ApiError::InvalidToken)?;
    let tokens = session::start(app, &user).await?;
    activity::record(app, &user.id, Event::PasswordChange, &origin).await;
    app.mailer.send(templates::password_changed(&app.config.product_name, user.email.as_str(), &user.name)).await?;
    session_response(StatusCode::OK, json!({ "message": "Password changed. Other sessions were logged out." }), &tokens)
}
