//! Asking again for an emailed code, for any purpose.

use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::codes;
use crate::error::ApiError;
use crate::http::{JsonBody, Problem, code_sent, origin};
use crate::model::{Email, Purpose};

fn purpose(text: &str) -> Result<Purpose, Problem> {
    match text {
        "signup" => Ok(Purpose::Signup),
        "login" => Ok(Purpose::Login),
        "password_reset" => Ok(Purpose::PasswordReset),
        _ => Err("must be one of signup, login, password_reset".into()),
    }
}

/// `POST /auth/code/resend` `{email, purpose}` → 202: a new code replacing the previous one
/// of that purpose (a sign-up keeps the name it started with).
#[tracing::instrument(skip_all)]
pub async fn code_resend(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let email = body.required("email", Email::parse);
    let purpose = body.required("purpose", purpose);
    let (email, purpose) = body.finish((email, purpose))?;
    codes::send(app, &email, purpose, None, &origin(&req)).await?;
    Ok(code_sent())
}
