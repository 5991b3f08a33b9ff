//! Logging in: by password or by emailed code. Both count failures per email toward the
//! lockout (docs/SECURITY.md, "Lockout"), for unknown emails exactly as for accounts.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::codes::{SENT, email_and_code, redeem, send_code};
use super::{UserView, message, session_response};
use crate::activity::{self, Event};
use crate::app::App;
use crate::attempts::LoginAttempt;
use crate::codes::Purpose;
use crate::error::ApiError;
use crate::http::{JsonBody, Origin, json, origin};
use crate::password::{self, Password};
use crate::store::{Grant, GrantKind, Redeemed, User};
use crate::tokens::digest;
use crate::validate::Email;
use crate::{random, session};

/// A right first factor. Without a second factor this is the whole login: the failures are
/// forgotten and a session starts. With one, only this attempt's own slots go back, and the
/// MFA step follows (docs/SECURITY.md, "Lockout").
async fn logged_in(app: &App, attempt: LoginAttempt, user: User, origin: &Origin) -> Result<Response<Body>, ApiError> {
    if user.mfa_enabled {
        attempt.first_factor_passed(app).await?;
        mfa_challenge(app, &user).await
    } else {
        attempt.succeeded(app).await?;
        complete_login(app, user, origin).await
    }
}

/// Instead of a session: a short-lived, single-purpose MFA token for `POST /auth/mfa/verify`.
async fn mfa_challenge(app: &App, user: &User) -> Result<Response<Body>, ApiError> {
    let token = random::token::<32>(&*app.random);
    let lifetime = app.config.tokens.mfa.as_secs();
    let grant = Grant {
        token_hash: digest(&token),
        kind: GrantKind::Mfa,
        email: user.email.clone(),
        name: String::new(),
        user_id: Some(user.id.clone()),
        user_version: Some(user.token_version),
        expires_at: app.now() + lifetime as i64,
    };
    app.store.put_grant(&grant).await?;
    Ok(json(StatusCode::OK, &json!({ "mfa_required": true, "mfa_token": token, "expires_in": lifetime })))
}

/// Every factor passed: the login recorded, a session started.
pub async fn complete_login(app: &App, user: User, origin: &Origin) -> Result<Response<Body>, ApiError> {
    let now = app.now();
    app.store.record_login(&user.id, now).await?;
    activity::record(app, &user.id, Event::LoginSuccess, origin).await;
    let user = User { last_login: Some(now), ..user };
    let tokens = session::start(app, &user).await?;
    session_response(StatusCode::OK, json!({ "user": UserView::from(&user) }), &tokens)
}

/// `POST /auth/login` `{email, password}` → 200 `{user}` with a session; otherwise
/// "Invalid credentials. N attempts remaining." and then "Account locked. Contact admin.",
/// the same, and as slow, for unknown emails.
pub async fn login(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let email = body.required("email", Email::parse);
    let password = body.required("password", Password::parse_existing);
    let (email, password) = body.finish((email, password))?;
    let origin = origin(&req);

    let attempt = LoginAttempt::begin(app, &email, &origin).await?;
    let user = app.store.user_by_email(&email).await?;
    let matches = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(user) if matches => logged_in(app, attempt, user, &origin).await,
        user => {
            let wrong = |remaining| ApiError::InvalidCredentials { remaining };
            Err(attempt.failed(app, user.as_ref(), &origin, wrong).await)
        }
    }
}

/// `POST /auth/login/code` `{email}` → 202: mails a login code to an account, the same
/// answer for unknown emails.
pub async fn login_code(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let email = body.required("email", Email::parse);
    let (email,) = body.finish((email,))?;
    send_code(app, &email, Purpose::Login, None, &origin(&req)).await?;
    Ok(message(StatusCode::ACCEPTED, SENT))
}

/// `POST /auth/login/code/verify` `{email, code}` → a session, as a password login gives.
/// A wrong code counts toward the lockout.
pub async fn login_code_verify(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (email, code) = email_and_code(&req)?;
    let origin = origin(&req);

    let attempt = LoginAttempt::begin(app, &email, &origin).await?;
    let redeemed = redeem(app, &email, Purpose::Login, &code, app.now()).await?;
    let user = app.store.user_by_email(&email).await?;
    match (redeemed, user) {
        (Redeemed::Redeemed { .. }, Some(user)) => logged_in(app, attempt, user, &origin).await,
        (Redeemed::Exhausted { retry_after }, _) => {
            // No code was checked: the slots go back, uncounted.
            attempt.abandoned(app).await?;
            Err(ApiError::TooManyRequests { retry_after })
        }
        (_, user) => {
            Err(attempt.failed(app, user.as_ref(), &origin, |remaining| ApiError::InvalidCode { remaining }).await)
        }
    }
}
