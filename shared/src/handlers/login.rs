//! Logging in: by password or by emailed code. Both count failures per email toward the
//! lockout (SECURITY.md item 19), for unknown emails exactly as for accounts.

use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::codes::{SENT, email_and_code, redeem, send_code};
use super::{UserView, message, session_response};
use crate::activity::{self, Event};
use crate::app::App;
use crate::codes::Purpose;
use crate::error::ApiError;
use crate::http::{JsonBody, Origin, json, origin};
use crate::mail::templates;
use crate::password::{self, Password};
use crate::store::{Attempt, Grant, GrantKind, Redeemed, User};
use crate::tokens::digest;
use crate::validate::Email;
use crate::{random, session};

/// Takes a lockout slot for an attempt on `email` before anything is checked
/// (docs/SECURITY.md, "Lockout"): `AccountLocked` once the failures reach the limit. While
/// every slot is held by attempts still in flight (concurrent logins of one account), waits
/// for one to end, a few seconds at most, then answers 429 with `Retry-After`.
pub async fn begin_attempt(app: &App, email: &Email) -> Result<(), ApiError> {
    let mut pause = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        match app.store.begin_attempt(email, app.config.max_login_failures, app.now()).await? {
            Attempt::Allowed => return Ok(()),
            Attempt::Locked => return Err(ApiError::AccountLocked),
            Attempt::Busy { retry_after } if waited >= MAX_SLOT_WAIT => {
                return Err(ApiError::TooManyRequests { retry_after: retry_after.min(5) });
            }
            Attempt::Busy { .. } => {
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
        }
    }
}

/// How long an attempt waits for a lockout slot held by attempts in flight.
const MAX_SLOT_WAIT: Duration = Duration::from_secs(3);

/// The answer to a failed attempt: the failure counted, then `wrong(remaining)` while
/// attempts remain and `AccountLocked` once none do. The account's owner, if there is one,
/// has the failure (and the lock) in their activity and a mail when it locks.
pub async fn failed_attempt(
    app: &App,
    email: &Email,
    user: Option<&User>,
    origin: &Origin,
    wrong: impl FnOnce(Option<u32>) -> ApiError,
) -> ApiError {
    let max = app.config.max_login_failures;
    let window = app.config.failure_window.as_secs() as i64;
    let failures = match app.store.record_failure(email, max, window, app.now()).await {
        Ok(failures) => failures,
        Err(error) => return ApiError::Unexpected(error),
    };
    if let Some(user) = user {
        activity::record(app, &user.id, Event::LoginFailure, origin).await;
        if failures >= max {
            activity::record(app, &user.id, Event::Locked, origin).await;
            let mail = templates::account_locked(&app.config.product_name, user.email.as_str(), &user.name, failures);
            if let Err(error) = app.mailer.send(mail).await {
                return ApiError::Unexpected(error);
            }
        }
    }
    if failures >= max { ApiError::AccountLocked } else { wrong(Some(max - failures)) }
}

/// A right first factor. Without a second factor this is the whole login: the failure count
/// is cleared and a session starts. With one, only this attempt's own count is taken back:
/// earlier failures, wrong second factors included, keep counting until a whole login
/// succeeds, so that logging in again never buys more authenticator guesses
/// (docs/SECURITY.md, "Lockout").
async fn logged_in(app: &App, user: User, origin: &Origin) -> Result<Response<Body>, ApiError> {
    if user.mfa_enabled {
        app.store.release_attempt(&user.email).await?;
        mfa_challenge(app, &user).await
    } else {
        app.store.clear_failures(&user.email).await?;
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

    begin_attempt(app, &email).await?;
    let user = app.store.user_by_email(&email).await?;
    let matches = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(user) if matches => logged_in(app, user, &origin).await,
        user => Err(failed_attempt(app, &email, user.as_ref(), &origin, |remaining| ApiError::InvalidCredentials {
            remaining,
        })
        .await),
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

    begin_attempt(app, &email).await?;
    let redeemed = redeem(app, &email, Purpose::Login, &code, app.now()).await?;
    let user = app.store.user_by_email(&email).await?;
    match (redeemed, user) {
        (Redeemed::Redeemed { .. }, Some(user)) => logged_in(app, user, &origin).await,
        (Redeemed::Exhausted { retry_after }, _) => {
            // No code was checked: the slot goes back, uncounted.
            app.store.release_attempt(&email).await?;
            Err(ApiError::TooManyRequests { retry_after })
        }
        (_, user) => {
            Err(failed_attempt(app, &email, user.as_ref(), &origin, |remaining| ApiError::InvalidCode { remaining })
                .await)
        }
    }
}
