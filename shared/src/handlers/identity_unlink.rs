//! `POST /users/me/identities/unlink`: the owner removes a Google sign-in from the account,
//! while it keeps a password (docs/SECURITY.md, "Google sign-in").

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::UserView;
use crate::app::App;
use crate::error::ApiError;
use crate::google;
use crate::http::session::authenticate;
use crate::http::{JsonBody, json, opaque_token, origin};

/// `POST /users/me/identities/unlink` with an access token and `{id}` (an identity's id from
/// `GET /users/me`) → 200 with the profile, the identity gone; `404 identity_not_found`;
/// `409 password_required` when the account has no password.
#[tracing::instrument(skip_all, fields(user))]
pub async fn identity_unlink(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let id = body.required("id", opaque_token);
    let (id,) = body.finish((id,))?;
    let user = google::unlink(app, caller.user, &id, &origin(&req)).await?;
    Ok(json(StatusCode::OK, &UserView::of(app, &user).await))
}
