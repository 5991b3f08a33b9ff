//! Logging in: by password or by emailed code. Both count failures per email toward the
//! lockout (docs/SECURITY.md, "Lockout"), for unknown emails exactly as for accounts.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::UserView;
use crate::activity::Event;
use crate::app::App;
use crate::codes;
use crate::error::ApiError;
use crate::http::session::session_response;
use crate::http::{JsonBody, code_sent, email_and_code, email_only, json, origin};
use crate::lockout::LoginAttempt;
use crate::model::{Email, Method, Origin, Purpose, Redeemed, User};
use crate::password::{self, Password};
use crate::{grants, migration, session};

/// A right first factor. Without a second factor this is the whole login: the failures are
/// forgotten and a session starts. With one, only this attempt's own slots go back, and a
/// short-lived, single-purpose MFA token for `POST /auth/mfa/verify` takes the session's place.
async fn logged_in(
    app: &App,
    attempt: LoginAttempt,
    user: User,
    method: Method,
    origin: &Origin,
) -> Result<Response<Body>, ApiError> {
    if user.mfa_enabled {
        attempt.first_factor_passed(app).await?;
        let grant = grants::issue_mfa(app, &user, method).await?;
        let body = json!({ "mfa_required": true, "mfa_token": grant.token, "expires_in": grant.expires_in });
        Ok(json(StatusCode::OK, &body))
    } else {
        attempt.succeeded(app).await?;
        let (user, tokens) = session::log_in(app, user, origin, Event::LoginSuccess(method, None)).await?;
        session_response(StatusCode::OK, json!({ "user": UserView::of(app, &user).await }), &tokens)
    }
}

/// `POST /auth/login` `{email, password}` → 200 `{user}` with a session; otherwise
/// "Invalid credentials. N attempts remaining." and then "Account locked. Contact admin.",
/// the same, and as slow, for unknown emails.
#[tracing::instrument(skip_all, fields(user))]
pub async fn login(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let email = body.required("email", Email::parse);
    let password = body.required("password", Password::parse_existing);
    let (email, password) = body.finish((email, password))?;
    let origin = origin(&req);

    let attempt = LoginAttempt::begin(app, &email, &origin).await?;
    let (user, matches) = attempt
        .check(app, async {
            let user = app.store.user_by_email(&email).await?;
            let stored = user.as_ref().map(|u| u.password_hash.clone());
            let iterations = app.config.legacy_pbkdf2_iterations;
            Ok::<_, ApiError>((user, password::verify_padded(password.clone(), stored, iterations).await?))
        })
        .await?;
    match user {
        Some(user) if matches => {
            migration::upgrade_password(app, &user, password).await;
            logged_in(app, attempt, user, Method::Password, &origin).await
        }
        user => {
            let wrong = |remaining| ApiError::InvalidCredentials { remaining };
            Err(attempt.failed(app, user.as_ref(), &origin, wrong).await)
        }
    }
}

/// `POST /auth/login/code` `{email}` → 202: mails a login code to an account, the same
/// answer for unknown emails.
#[tracing::instrument(skip_all)]
pub async fn login_code(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let email = email_only(&req)?;
    codes::send(app, &email, Purpose::Login, None, &origin(&req)).await?;
    Ok(code_sent())
}

/// `POST /auth/login/code/verify` `{email, code}` → a session, as a password login gives.
/// A wrong code counts toward the lockout.
#[tracing::instrument(skip_all, fields(user))]
pub async fn login_code_verify(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (email, code) = email_and_code(&req)?;
    let origin = origin(&req);

    let attempt = LoginAttempt::begin(app, &email, &origin).await?;
    let (redeemed, user) = attempt
        .check(app, async {
            let redeemed = codes::redeem(app, &email, Purpose::Login, &code).await?;
            Ok::<_, ApiError>((redeemed, app.store.user_by_email(&email).await?))
        })
        .await?;
    match (redeemed, user) {
        (Redeemed::Redeemed { .. }, Some(user)) => logged_in(app, attempt, user, Method::EmailCode, &origin).await,
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
