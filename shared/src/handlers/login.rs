//! Password login.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::{UserView, session_response};
use crate::app::App;
use crate::error::ApiError;
use crate::http::JsonBody;
use crate::password::{self, MAX_CHARS, Password};
use crate::session;
use crate::store::User;
use crate::validate::Email;

/// `POST /auth/login` `{email, password}` → 200 `{user}` with a session, or 401
/// `invalid_credentials`, which takes as long for an unknown email as for a wrong password.
pub async fn login(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let email = body.required("email", Email::parse);
    let password = body.required("password", |s| match s.chars().count() {
        0 => Err("is required".into()),
        n if n > MAX_CHARS => Err("must be at most 128 characters long".into()),
        _ => Ok(Password::new(s)),
    });
    let (email, password) = body.finish((email, password))?;

    let user = app.store.user_by_email(&email).await?;
    let matches = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(ApiError::InvalidCredentials);
    };
    let now = app.now();
    app.store.record_login(&user.id, now).await?;
    let user = User { last_login: Some(now), ..user };
    let tokens = session::start(app, &user).await?;
    session_response(StatusCode::OK, json!({ "user": UserView::from(&user) }), &tokens)
}
