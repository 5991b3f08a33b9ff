//! Grants: the short-lived, single-purpose tokens between two steps of a flow (a verified
//! sign-up waiting for its password, a verified reset code waiting for the new password, a
//! right password waiting for the second factor). Each is random, stored only as a digest,
//! and bound to the state of the user it was issued to (docs/SECURITY.md, "Issued tokens").

use crate::app::App;
use crate::error::ApiError;
use crate::model::{Email, Grant, GrantKind, Method, User};
use crate::random;
use crate::tokens::digest;

/// A grant as handed to the client.
#[derive(Debug)]
pub struct Issued {
    /// The token (only its digest is stored).
    pub token: String,
    /// Seconds until it stops working.
    pub expires_in: u64,
}

/// Issues a sign-up grant for `email` with the name given.
pub async fn issue_signup(app: &App, email: Email, name: String) -> Result<Issued, ApiError> {
    issue(app, GrantKind::Signup, email, name, None, None).await
}

/// Issues a reset grant to `user`, in the state the user is in now.
pub async fn issue_reset(app: &App, user: &User) -> Result<Issued, ApiError> {
    issue(app, GrantKind::PasswordReset, user.email.clone(), String::new(), Some(user), None).await
}

/// Issues the grant that waits for the second factor to `user`, in the state the user is in
/// now, noting the first factor for the activity log.
pub async fn issue_mfa(app: &App, user: &User, first_factor: Method) -> Result<Issued, ApiError> {
    crate::telemetry::count(crate::telemetry::Event::SecondFactorAsked);
    issue(app, GrantKind::Mfa, user.email.clone(), String::new(), Some(user), Some(first_factor)).await
}

async fn issue(
    app: &App,
    kind: GrantKind,
    email: Email,
    name: String,
    user: Option<&User>,
    first_factor: Option<Method>,
) -> Result<Issued, ApiError> {
    let lifetimes = &app.config.tokens;
    let expires_in = match kind {
        GrantKind::Signup => lifetimes.signup,
        GrantKind::PasswordReset => lifetimes.reset,
        GrantKind::Mfa => lifetimes.mfa,
    }
    .as_secs();
    let token = random::token::<32>(&*app.random);
    let grant = Grant {
        token_hash: digest(&token),
        kind,
        email,
        name,
        user_id: user.map(|u| u.id.clone()),
        user_version: user.map(|u| u.token_version),
        expires_at: app.now() + expires_in as i64,
        first_factor,
    };
    app.store.put_grant(&grant).await?;
    Ok(Issued { token, expires_in })
}

/// The user `grant` was issued to, if the user is still in the state it was issued under:
/// logout-all, a password reset or change, or the second factor turned on or off since
/// kills it.
pub async fn holder(app: &App, grant: &Grant) -> Result<Option<User>, ApiError> {
    let Some(user_id) = grant.user_id.as_deref() else { return Ok(None) };
    let user = app.store.user(user_id).await?;
    Ok(user.filter(|u| grant.is_current_for(u)))
}
