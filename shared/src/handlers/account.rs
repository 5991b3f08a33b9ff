//! The account's own address and its deletion: changes that need the password again (and the
//! second factor when it is on), so that an access token alone cannot make them.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::UserView;
use crate::app::App;
use crate::codes;
use crate::deletion::{self, Outcome};
use crate::email_change;
use crate::error::ApiError;
use crate::http::session::{authenticate, clear_session_cookies, session_response};
use crate::http::{JsonBody, Optional, json, message, optional_second_factor, origin};
use crate::model::{Code, Email};
use crate::password::Password;

/// `POST /users/me/email` with an access token and `{new_email, password, code |
/// recovery_code}` (the password if the account has one, the authenticator code if it is on)
/// → 202: a code goes to the new address (and, for an account without a password, one to the
/// current address). The answer is the same whether or not the new address has an account.
#[tracing::instrument(skip_all, fields(user))]
pub async fn email_change(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let new = body.required("new_email", Email::parse);
    let password = body.optional("password", Password::parse_existing);
    let factor = optional_second_factor(&mut body);
    let (new, password, factor) = body.finish((new, Optional(password), Optional(factor)))?;
    email_change::request(app, &caller.user, &new, password, factor.as_ref(), &origin(&req)).await?;
    Ok(json(StatusCode::ACCEPTED, &json!({ "message": codes::SENT })))
}

/// `POST /users/me/email/verify` with an access token and `{new_email, code, current_code}`
/// (`current_code` only for an account without a password) → 200 with the profile and a
/// fresh session: the address is the new one, every other session has ended.
#[tracing::instrument(skip_all, fields(user))]
pub async fn email_change_verify(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let new = body.required("new_email", Email::parse);
    let code = body.required("code", Code::parse);
    let current = body.optional("current_code", Code::parse);
    let (new, code, current) = body.finish((new, code, Optional(current)))?;
    let (user, tokens) = email_change::confirm(app, &caller, &new, &code, current.as_ref(), &origin(&req)).await?;
    session_response(
        StatusCode::OK,
        json!({ "message": "Your email address is changed. Other sessions were logged out.", "user": UserView::of(app, &user).await }),
        &tokens,
    )
}

/// `DELETE /users/me` with an access token and `{password, code | recovery_code}` (the
/// authenticator's when it is on) → 200: the account and everything kept with it are gone,
/// the cookies cleared, a mail confirms it; the address can sign up again. An account without
/// a password sends `{}` first (→ 202: a code goes to its address), then `{email_code}`.
#[tracing::instrument(skip_all, fields(user))]
pub async fn account_delete(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let password = body.optional("password", Password::parse_existing);
    let factor = optional_second_factor(&mut body);
    let email_code = body.optional("email_code", Code::parse);
    let (password, factor, email_code) = body.finish((Optional(password), Optional(factor), Optional(email_code)))?;
    let outcome =
        deletion::delete_own(app, &caller.user, password, factor.as_ref(), email_code.as_ref(), &origin(&req)).await?;
    Ok(match outcome {
        Outcome::CodeSent => json(StatusCode::ACCEPTED, &json!({ "message": codes::SENT })),
        Outcome::Deleted => {
            let mut response = message(StatusCode::OK, "Your account is deleted.");
            clear_session_cookies(&mut response);
            response
        }
    })
}
