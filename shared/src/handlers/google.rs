//! Sign-in with Google: the redirect flow's two ends (`GET /auth/google/start`, `GET
//! /auth/google/callback`) and the ID-token endpoint (`POST /auth/google/id-token`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde_json::json;

use super::UserView;
use crate::app::App;
use crate::error::ApiError;
use crate::google::{self, SignedIn};
use crate::http::session::session_response;
use crate::http::{JsonBody, cookie, json, opaque_token, origin, redirect, set_cookies};

/// The cookie that binds a redirect flow to the browser that began it: host-only, sent on
/// the provider's top-level redirect back (`SameSite=Lax`), gone after ten minutes.
pub const FLOW_COOKIE: &str = "__Host-stepauth_google";

fn flow_cookie(value: &str, max_age: u64) -> String {
    format!("{FLOW_COOKIE}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax")
}

/// `GET /auth/google/start` → 302 to the provider's sign-in page, with the flow's state,
/// nonce and PKCE challenge, and the cookie that binds the flow to this browser.
#[tracing::instrument(skip_all)]
pub async fn google_start(app: &App, _req: Request) -> Result<Response<Body>, ApiError> {
    let started = google::start(app).await?;
    let lifetime = app.config.google.flow_lifetime.as_secs();
    let mut response = redirect(&started.location);
    set_cookies(&mut response, [flow_cookie(&started.browser, lifetime)]);
    Ok(response)
}

/// `GET /auth/google/callback?code&state` → 302 back to the front end: with the session
/// cookies and `#signed_in=google`; or with `#mfa_token=…&expires_in=…` for the authenticator step; or with
/// `#google_error=<error code>`. The flow's cookie is cleared either way.
#[tracing::instrument(skip_all, fields(user))]
pub async fn google_callback(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let back = &app.config.google.return_url;
    let query = req.query_string_parameters();
    let outcome = match (query.first("code"), query.first("state"), query.first("error")) {
        (Some(code), Some(state), None) => {
            google::finish(app, code, state, cookie(&req, FLOW_COOKIE), &origin(&req)).await
        }
        (_, _, Some(_)) => Err(ApiError::InvalidIdToken),
        _ => Err(ApiError::InvalidSignInState),
    };
    let mut response = match outcome {
        Ok(SignedIn::Session(_, tokens)) => {
            let mut response = redirect(&format!("{back}#signed_in=google"));
            crate::http::session::set_session_cookies(&mut response, &tokens);
            response
        }
        Ok(SignedIn::SecondFactor(grant)) => {
            redirect(&format!("{back}#mfa_token={}&expires_in={}", grant.token, grant.expires_in))
        }
        Err(error) => {
            if let ApiError::Unexpected(e) = &error {
                tracing::error!(error = format!("{e:#}"), "unexpected error");
            }
            redirect(&format!("{back}#google_error={}", error.code()))
        }
    };
    set_cookies(&mut response, [flow_cookie("", 0)]);
    Ok(response)
}

/// `POST /auth/google/id-token` `{id_token, nonce?, g_csrf_token?}` (`credential` is taken
/// for `id_token`, as Google Identity Services names it) → 200 `{user}` with a session, or
/// `{mfa_required, mfa_token, expires_in}`. With `g_csrf_token`, the cookie of that name must
/// match it (GIS's double submit).
#[tracing::instrument(skip_all, fields(user))]
pub async fn google_id_token(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let id_token = body.optional("id_token", opaque_token);
    let credential = body.optional("credential", opaque_token);
    let nonce = body.optional("nonce", opaque_token);
    let csrf = body.optional("g_csrf_token", opaque_token);
    let token = match (id_token, credential) {
        (Some(token), None) | (None, Some(token)) => Some(token),
        (Some(_), Some(_)) => body.error("credential", "give either id_token or credential, not both"),
        (None, None) => body.error("id_token", "is required"),
    };
    let (token,) = body.finish((token,))?;
    if let Some(csrf) = csrf
        && cookie(&req, "g_csrf_token") != Some(csrf.as_str())
    {
        return Err(ApiError::CsrfTokenMismatch);
    }
    match google::with_id_token(app, &token, nonce.as_deref(), &origin(&req)).await? {
        SignedIn::Session(user, tokens) => {
            session_response(StatusCode::OK, json!({ "user": UserView::of(app, &user).await }), &tokens)
        }
        SignedIn::SecondFactor(grant) => Ok(json(
            StatusCode::OK,
            &json!({ "mfa_required": true, "mfa_token": grant.token, "expires_in": grant.expires_in }),
        )),
    }
}
