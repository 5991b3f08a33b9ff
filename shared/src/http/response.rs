//! Writing responses: JSON with the headers every answer carries, the one place an
//! [`ApiError`] becomes an answer, cookies and list cursors.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::error::{ApiError, FieldErrors};

/// `Strict-Transport-Security`, on every answer (page, assets, JSON, errors): two years,
/// subdomains included (docs/SECURITY.md, "Transport").
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

/// A JSON response that no cache may keep.
pub fn json(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Serialising plain data structures cannot fail; an empty object is the safe fallback.
    raw_json(status, serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned()))
}

/// A response whose body is already JSON text.
pub fn raw_json(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    response
}

/// The one place an error becomes an HTTP answer.
impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_)
            | Self::Validation { .. }
            | Self::InvalidCode { .. }
            | Self::InvalidAuthenticatorCode { .. }
            | Self::InvalidSignupToken
            | Self::InvalidResetToken
            | Self::InvalidCursor => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotFound
            | Self::UserNotFound
            | Self::IdentityNotFound
            | Self::SessionNotFound
            | Self::MailTemplateNotFound
            | Self::PicturesOff
            | Self::PictureNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::AuthenticationRequired
            | Self::InvalidToken
            | Self::InvalidCredentials { .. }
            | Self::InvalidMfaToken => StatusCode::UNAUTHORIZED,
            Self::AccountLocked => StatusCode::LOCKED,
            Self::Forbidden
            | Self::CrossSiteRequest
            | Self::OriginNotAllowed
            | Self::EmailNotVerified
            | Self::HostedDomainNotAllowed
            | Self::CsrfTokenMismatch => StatusCode::FORBIDDEN,
            Self::GoogleSignInOff => StatusCode::NOT_FOUND,
            Self::InvalidIdToken => StatusCode::UNAUTHORIZED,
            Self::InvalidSignInState => StatusCode::BAD_REQUEST,
            Self::EmailTaken
            | Self::Conflict
            | Self::AccountDeactivated
            | Self::OwnAdminAccount
            | Self::PasswordRequired
            | Self::MfaAlreadyEnabled
            | Self::MfaSetupRequired
            | Self::MfaNotEnabled => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response: `{"error", "message"}` plus `fields` and `password_rules` where they apply.
    pub fn into_response(self) -> Response<Body> {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            error: &'static str,
            message: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            fields: Option<&'a FieldErrors>,
            #[serde(skip_serializing_if = "Option::is_none")]
            password_rules: Option<&'a [&'static str]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            attempts_remaining: Option<u32>,
        }
        if let Self::Unexpected(error) = &self {
            tracing::error!(error = format!("{error:#}"), "unexpected error");
        }
        let (fields, password_rules) = match &self {
            Self::Validation { fields, password_rules } => {
                (Some(fields), Some(password_rules.as_slice()).filter(|r| !r.is_empty()))
            }
            _ => (None, None),
        };
        let attempts_remaining = match &self {
            Self::InvalidCredentials { remaining }
            | Self::InvalidCode { remaining }
            | Self::InvalidAuthenticatorCode { remaining } => *remaining,
            _ => None,
        };
        let body =
            ErrorBody { error: self.code(), message: self.to_string(), fields, password_rules, attempts_remaining };
        let mut response = json(self.status(), &body);
        response.extensions_mut().insert(ErrorCode(self.code()));
        let headers = response.headers_mut();
        match &self {
            Self::TooManyRequests { retry_after } | Self::Unavailable { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::MethodNotAllowed { allow } => {
                if let Ok(value) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, value);
                }
            }
            Self::AuthenticationRequired | Self::InvalidToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// The stable code of the error a response renders, kept on the response (an extension,
/// never sent) for the request's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// Adds `Set-Cookie` headers.
pub fn set_cookies(response: &mut Response<Body>, cookies: impl IntoIterator<Item = String>) {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
}

/// A `302 Found` to `location`, which no cache may keep.
pub fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    response
}

/// The answer every code request gets, whatever happened behind it: 202 with
/// [`SENT`](crate::codes::SENT).
pub fn code_sent() -> Response<Body> {
    message(StatusCode::ACCEPTED, crate::codes::SENT)
}

/// A `{"message": …}` response.
pub fn message(status: StatusCode, text: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "message": text }))
}

/// The cursor a client passes back for the page after `key`.
pub fn cursor(key: Option<String>) -> Option<String> {
    key.map(|k| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_say_how_many_attempts_remain() {
        let response = ApiError::InvalidCredentials { remaining: Some(2) }.into_response();
        assert_eq!(error_body(&response)["message"], "Invalid credentials. 2 attempts remaining.");
        assert_eq!(error_body(&response)["attempts_remaining"], 2);
        let response = ApiError::InvalidCredentials { remaining: Some(1) }.into_response();
        assert_eq!(error_body(&response)["message"], "Invalid credentials. 1 attempt remaining.");
        let response = ApiError::AccountLocked.into_response();
        assert_eq!(
            (response.status().as_u16(), error_body(&response)["message"].as_str()),
            (423, Some("Account locked. Contact admin."))
        );
    }

    fn error_body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).expect("error bodies are JSON")
    }

    #[test]
    fn unexpected_errors_hide_their_detail() {
        let response = ApiError::from(anyhow::anyhow!("table stepauth-prod: access denied")).into_response();
        assert_eq!(response.status(), 500);
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(!text.contains("stepauth-prod"), "{text}");
        assert_eq!(error_body(&response)["error"], "internal_error");
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let response = ApiError::TooManyRequests { retry_after: 42 }.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "42");
        assert_eq!(error_body(&response)["error"], "too_many_requests");
    }

    #[test]
    fn validation_errors_list_fields() {
        let response = ApiError::field("email", "is required").into_response();
        assert_eq!(error_body(&response)["fields"]["email"][0], "is required");
        assert!(error_body(&response).get("password_rules").is_none());
    }
}
