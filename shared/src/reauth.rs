//! A signed-in owner proves the account again before a change an access token alone must not
//! make (docs/SECURITY.md, "Second factor", "Account changes"): the password, the second
//! factor when it is on, under the address's lockout slots, so that a wrong answer here
//! counts as a failed login does.

use crate::app::App;
use crate::error::ApiError;
use crate::lockout::{self, LoginAttempt};
use crate::model::{Origin, User};
use crate::password::{self, Password};
use crate::{telemetry, totp};

/// A second factor as presented.
#[derive(Debug)]
pub enum Factor {
    /// A code from the authenticator app.
    Code(String),
    /// One of the recovery codes.
    Recovery(String),
}

/// Checks a second factor and uses it up: a TOTP code of a step newer than the last one
/// accepted, or an unused recovery code. Each works once, under a conditional write.
pub async fn use_factor(app: &App, user: &User, factor: &Factor) -> Result<bool, ApiError> {
    let right = match factor {
        Factor::Code(code) => {
            let Some(secret) = &user.totp_secret else { return Ok(false) };
            let totp = totp::totp(secret, &app.config.totp_issuer, user.email.as_str())?;
            match totp::matching_step(&totp, code, app.now()) {
                Some(step) => app.store.accept_totp_step(&user.id, step).await?,
                None => false,
            }
        }
        Factor::Recovery(code) => {
            app.store.use_recovery_code(&user.id, &app.pepper.hash_recovery(&user.id, code)).await?
        }
    };
    if !right {
        telemetry::count(telemetry::Event::SecondFactorFailed);
    }
    Ok(right)
}

/// The password and a second factor, both right, the factor used up (turning the
/// authenticator off, new recovery codes). `MfaNotEnabled` when the account has none.
pub async fn prove_both_factors(
    app: &App,
    user: &User,
    password: Password,
    factor: &Factor,
    origin: &Origin,
) -> Result<(), ApiError> {
    if !user.mfa_enabled {
        return Err(ApiError::MfaNotEnabled);
    }
    prove(app, user, Some(password), Some(factor), origin).await
}

/// The `password` field is given exactly when the account has a password: a validation
/// error naming it otherwise.
pub fn password_fits(user: &User, given: bool) -> Result<(), ApiError> {
    match (user.has_password(), given) {
        (true, false) => Err(ApiError::field("password", "is required")),
        (false, true) => {
            Err(ApiError::field("password", "this account has no password: leave it out (a code is mailed)"))
        }
        _ => Ok(()),
    }
}

/// What the account asks for before a change of its address or its deletion: its password,
/// if it has one (an account Google made may not: an emailed code then proves it, which the
/// flow asks for itself), and its second factor, if it is on. A missing answer is a
/// validation error; a wrong one counts toward the lockout; a locked account is refused.
pub async fn prove(
    app: &App,
    user: &User,
    password: Option<Password>,
    factor: Option<&Factor>,
    origin: &Origin,
) -> Result<(), ApiError> {
    password_fits(user, password.is_some())?;
    match (user.mfa_enabled, factor) {
        (true, None) => return Err(ApiError::field("code", "is required (or give a recovery_code)")),
        (false, Some(_)) => return Err(ApiError::field("code", "Google Authenticator is not on for this account")),
        _ => {}
    }
    if password.is_none() && factor.is_none() {
        // Nothing to check here (the emailed code will prove it), but a locked account is
        // refused as at every other check.
        return if lockout::is_locked(app, &user.email).await? { Err(ApiError::AccountLocked) } else { Ok(()) };
    }
    let attempt = LoginAttempt::begin(app, &user.email, origin).await?;
    let (password_ok, factor_ok) = attempt
        .check(app, async {
            let password_ok = match password {
                Some(password) => password::verify(password, Some(user.password_hash.clone())).await?,
                None => true,
            };
            let factor_ok = match factor {
                // The factor is used up only when the password was right, so that a wrong
                // password does not spend a recovery code.
                Some(factor) if password_ok => use_factor(app, user, factor).await?,
                Some(_) => false,
                None => true,
            };
            Ok::<_, ApiError>((password_ok, factor_ok))
        })
        .await?;
    if !(password_ok && factor_ok) {
        let wrong = |remaining| ApiError::InvalidCredentials { remaining };
        return Err(attempt.failed(app, Some(user), origin, wrong).await);
    }
    attempt.succeeded(app).await
}
