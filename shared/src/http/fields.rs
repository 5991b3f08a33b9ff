//! The fields several routes read alike: an email and a code, a new password with its
//! confirmation, an opaque token.

use lambda_http::Request;
use serde_json::Value;

use super::request::{JsonBody, Problem};
use crate::app::App;
use crate::clock::date_of;
use crate::error::ApiError;
use crate::invalid::Invalid;
use crate::model::Code;
use crate::model::Email;
use crate::model::profile::ATTRIBUTES;
use crate::model::{ProfileChange, user};
use crate::password::Password;
use crate::profile::{self, Editor};
use crate::reauth::Factor;
use crate::totp;

/// The body of a route that takes an address alone: `{email}`.
pub fn email_only(req: &Request) -> Result<Email, ApiError> {
    let mut body = JsonBody::parse(req)?;
    let email = body.required("email", Email::parse);
    let (email,) = body.finish((email,))?;
    Ok(email)
}

/// The body of every code check: `{email, code}`.
pub fn email_and_code(req: &Request) -> Result<(Email, Code), ApiError> {
    let mut body = JsonBody::parse(req)?;
    let email = body.required("email", Email::parse);
    let code = body.required("code", Code::parse);
    body.finish((email, code))
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

/// The longest opaque token a field takes.
pub const MAX_TOKEN_CHARS: usize = 4096;

/// An opaque token field (sign-up, reset, MFA, refresh, an identity's id, Google's ID token):
/// 1 to [`MAX_TOKEN_CHARS`] printable ASCII characters, as every token issued here (and
/// every JWT) is. Anything else is refused as it is, not looked up: a logout given a value
/// that cannot be a refresh token says so rather than "Logged out." (found by schemathesis).
pub fn opaque_token(text: &str) -> Result<String, Problem> {
    if text.is_empty() {
        Err("is required".into())
    } else if text.len() > MAX_TOKEN_CHARS || !text.bytes().all(|b| b.is_ascii_graphic()) {
        Err("is not a valid token".into())
    } else {
        Ok(text.to_owned())
    }
}

/// Reads a partial profile, `{name?, given_name?, … zoneinfo?, custom?: {…}}`, as `editor`
/// may write it: a standard attribute or a custom one given as null is removed; `name` may
/// change but not be removed. Each problem is a field error (`custom.<name>` for a custom
/// attribute's).
pub fn profile_change(app: &App, body: &mut JsonBody, editor: Editor<'_>) -> ProfileChange {
    let today = date_of(app.now());
    let mut change = ProfileChange { name: body.optional("name", user::display_name), ..ProfileChange::default() };
    for (attribute, name) in ATTRIBUTES {
        if let Some(value) = body.patch(name, |text| attribute.parse(text, today)) {
            change.standard.insert(attribute, value);
        }
    }
    match body.take("custom") {
        None | Some(Value::Null) => {}
        Some(Value::Object(values)) => {
            for (name, value) in values {
                match profile::custom_value(app, editor, &name, &value) {
                    Ok(value) => drop(change.custom.insert(name, value)),
                    Err(Invalid(message)) => drop(body.error::<()>(&format!("custom.{name}"), message)),
                }
            }
        }
        Some(_) => drop(body.error::<()>("custom", "must be an object")),
    }
    change
}

/// Reads `code` or `recovery_code`: exactly one of them.
pub fn second_factor(body: &mut JsonBody) -> Option<Factor> {
    read_factor(body, true)
}

/// Reads `code` or `recovery_code`, if either is given (not both): pass it to
/// [`JsonBody::finish`] as [`Optional`](super::Optional).
pub fn optional_second_factor(body: &mut JsonBody) -> Option<Factor> {
    read_factor(body, false)
}

fn read_factor(body: &mut JsonBody, required: bool) -> Option<Factor> {
    let code = body.optional("code", totp::parse_code);
    let recovery = body.optional("recovery_code", totp::parse_recovery_code);
    match (code, recovery) {
        (Some(code), None) => Some(Factor::Code(code)),
        (None, Some(recovery)) => Some(Factor::Recovery(recovery)),
        (Some(_), Some(_)) => body.error("recovery_code", "give either code or recovery_code, not both"),
        (None, None) if required => body.error("code", "is required (or give a recovery_code)"),
        (None, None) => None,
    }
}
