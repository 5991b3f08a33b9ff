//! The HTTP handlers, one per function. Each reads its request, calls the domain, and
//! returns a response or an [`ApiError`]; [`crate::routes`] maps them to functions and routes.

pub mod admin;
pub mod codes;
pub mod jwks;
pub mod login;
pub mod password;
pub mod profile;
pub mod sessions;
pub mod signup;
pub mod totp;
pub mod web;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::http::{JsonBody, Problem, json};
use crate::password::Password;
use crate::session::{Tokens, set_session_cookies};
use crate::store::User;

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// The user's id.
    pub id: String,
    /// The email, case-folded.
    pub email: String,
    /// The display name.
    pub name: String,
    /// Whether a second factor is active.
    pub mfa_enabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, or null before the first login.
    pub last_login: Option<String>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            mfa_enabled: user.mfa_enabled,
            created_at: rfc3339(user.created_at),
            last_login: user.last_login.map(rfc3339),
        }
    }
}

/// A response that starts or continues a session: `fields` plus the tokens in the body,
/// and the session cookies.
pub fn session_response(status: StatusCode, fields: Value, tokens: &Tokens) -> Result<Response<Body>, ApiError> {
    let mut body = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Value::Object(token_fields) = serde_json::to_value(tokens).map_err(anyhow::Error::from)? {
        body.extend(token_fields);
    }
    let mut response = json(status, &body);
    set_session_cookies(&mut response, tokens);
    Ok(response)
}

/// A `{"message": …}` response.
pub fn message(status: StatusCode, text: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "message": text }))
}

/// Reads `password` and `confirm_password`: the password must meet the policy and the two
/// must match; every failure is recorded on the body.
pub fn new_password(body: &mut JsonBody) -> Option<Password> {
    let confirm = body.required("confirm_password", |s| Ok::<_, Problem>(s.to_owned()));
    let mut mismatch = false;
    let password = body.required("password", |s| {
        mismatch = confirm.as_deref().is_some_and(|c| c != s);
        Password::parse_new(s)
    });
    if mismatch {
        body.error::<()>("confirm_password", "must match the password");
    }
    password
}

/// A non-empty opaque token field (sign-up, refresh), trimmed, of sane length.
pub fn opaque_token(text: &str) -> Result<String, Problem> {
    let token = text.trim();
    if token.is_empty() {
        Err("is required".into())
    } else if token.len() > 4096 {
        Err("is not a valid token".into())
    } else {
        Ok(token.to_owned())
    }
}
