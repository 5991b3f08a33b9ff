//! Sign-up: email → 6-digit code → sign-up token → password → user and session.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::UserView;
use crate::activity::{self, Event};
use crate::app::App;
use crate::codes;
use crate::error::ApiError;
use crate::http::session::session_response;
use crate::http::{JsonBody, code_sent, email_and_code, json, new_password, opaque_token, origin};
use crate::model::{Email, GrantKind, Method, Purpose, Role, User, user};
use crate::store::Created;
use crate::tokens::digest;
use crate::{grants, password, random, session};

/// `POST /auth/signup` `{name, email}` → 202. Mails a code, or, to an address that already
/// has an account, a "you already have an account" mail: the answer is the same either way.
#[tracing::instrument(skip_all)]
pub async fn signup(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let name = body.required("name", user::display_name);
    let email = body.required("email", Email::parse);
    let (name, email) = body.finish((name, email))?;

    codes::send(app, &email, Purpose::Signup, Some(name), &origin(&req)).await?;
    Ok(code_sent())
}

/// `POST /auth/signup/verify` `{email, code}` → 200 `{signup_token, expires_in}`.
#[tracing::instrument(skip_all)]
pub async fn signup_verify(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (email, code) = email_and_code(&req)?;
    let name = codes::redeem_or_refuse(app, &email, Purpose::Signup, &code).await?.unwrap_or_default();
    let grant = grants::issue_signup(app, email, name).await?;
    Ok(json(StatusCode::OK, &json!({ "signup_token": grant.token, "expires_in": grant.expires_in })))
}

/// `POST /auth/signup/complete` `{signup_token, password, confirm_password}` → 201 with the
/// user and a session.
#[tracing::instrument(skip_all, fields(user))]
pub async fn signup_complete(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let token = body.required("signup_token", opaque_token);
    let password = new_password(&mut body);
    let (token, password) = body.finish((token, password))?;

    let now = app.now();
    let grant_hash = digest(&token);
    let grant = app.store.grant(&grant_hash, GrantKind::Signup, now).await?.ok_or(ApiError::InvalidSignupToken)?;
    let admin = app.config.admin_emails.iter().any(|e| e == grant.email.as_str());
    // A sign-up restarted by a resend after its first code's window has no name: use the
    // address's local part until the user sets one.
    let name = match grant.name.is_empty() {
        true => grant.email.as_str().split('@').next().unwrap_or_default().to_owned(),
        false => grant.name,
    };
    let password_hash = password::hash(password, &*app.random).await?;
    let user = User {
        last_login: Some(now),
        role: if admin { Role::Admin } else { Role::User },
        ..User::new(random::uuid_v4(&*app.random), grant.email, name, password_hash, now)
    };
    match app.store.create_user(&user, &grant_hash, now).await? {
        Created::Created => {}
        Created::GrantInvalid => return Err(ApiError::InvalidSignupToken),
        Created::EmailTaken | Created::IdentityTaken | Created::UsernameTaken => return Err(ApiError::EmailTaken),
    }
    crate::telemetry::user(&user.id);
    tracing::info!("user created");
    let origin = origin(&req);
    let how = Event::SignupCompleted(Method::Password);
    activity::record(app, &user.id, how, &origin).await;
    let tokens = session::start(app, &user, how.method(), &origin).await?;
    session_response(
        StatusCode::CREATED,
        json!({ "message": "User created successfully", "user": UserView::of(app, &user).await }),
        &tokens,
    )
}
