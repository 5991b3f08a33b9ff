//! Deleting an account (docs/SECURITY.md, "Account changes"), by its owner or by an admin.
//!
//! The user, its email claim and its identities' links go first, in one transaction
//! conditional on the state read: from then on nothing can authenticate as it, and no claim
//! is ever left to block the address, which can sign up again at once. Then the rest goes:
//! sessions, activity, pending codes, the lockout counter. Grants (sign-up, reset, MFA tokens)
//! are found by nobody without their token and die with the user (each names the user and its
//! token version); they expire within minutes. Should the clean-up fail half-way, what is
//! left is unreachable and expires by its TTL; the failure is logged.

use serde::Serialize;

use crate::app::App;
use crate::codes;
use crate::error::ApiError;
use crate::mail::templates::{Kind, Letter, To};
use crate::mailing;
use crate::model::{Attribute, Code, Origin, Purpose, Role, User};
use crate::password::Password;
use crate::pictures;
use crate::reauth::{self, Factor};

/// What the owner's request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A code went to the account's address (an account without a password confirms so).
    CodeSent,
    /// The account is gone.
    Deleted,
}

/// The deletion a `confirm` code is for: the account in the state it was in.
#[derive(Serialize)]
struct Pending<'a> {
    delete: &'a str,
    version: u64,
}

fn pending(user: &User) -> Result<String, ApiError> {
    let pending = Pending { delete: &user.id, version: user.token_version };
    Ok(serde_json::to_string(&pending).map_err(anyhow::Error::from)?)
}

/// The owner deletes their account: with the password (and the second factor when it is
/// on); an account without a password first asks for a code to its address (no
/// `email_code`), then deletes with it (and the second factor when it is on).
pub async fn delete_own(
    app: &App,
    user: &User,
    password: Option<Password>,
    factor: Option<&Factor>,
    email_code: Option<&Code>,
    origin: &Origin,
) -> Result<Outcome, ApiError> {
    if user.role == Role::Admin {
        // The last admin must never remove every admin's access: another admin deletes it.
        return Err(ApiError::OwnAdminAccount);
    }
    match (user.has_password(), email_code) {
        (true, Some(_)) => return Err(ApiError::field("email_code", "is only for an account without a password")),
        (true, None) => reauth::prove(app, user, password, factor, origin).await?,
        (false, None) => {
            reauth::password_fits(user, password.is_some())?;
            if crate::lockout::is_locked(app, &user.email).await? {
                return Err(ApiError::AccountLocked);
            }
            codes::send(app, &user.email, Purpose::Confirm, Some(pending(user)?), origin).await?;
            return Ok(Outcome::CodeSent);
        }
        (false, Some(code)) => {
            reauth::prove(app, user, password, factor, origin).await?;
            let context = codes::redeem_or_refuse(app, &user.email, Purpose::Confirm, code).await?;
            if context != Some(pending(user)?) {
                return Err(ApiError::InvalidCode { remaining: None });
            }
        }
    }
    erase(app, user).await?;
    Ok(Outcome::Deleted)
}

/// Deletes `user` and everything kept with it (see the module's notes), then mails the
/// address. `Conflict` if the user changed since it was read.
pub async fn erase(app: &App, user: &User) -> Result<(), ApiError> {
    if !app.store.delete_user(user).await? {
        return Err(ApiError::Conflict);
    }
    tracing::info!(user = user.id, "account deleted");
    let cleanup = async {
        let sessions = app.store.delete_user_sessions(&user.id).await?;
        app.store.delete_activity(&user.id).await?;
        app.store.delete_mails(&user.id).await?;
        for purpose in Purpose::ALL {
            app.store.discard_code(&user.email, purpose).await?;
        }
        app.store.clear_failures(&user.email).await?;
        anyhow::Ok(sessions)
    };
    pictures::forget(app, user.profile.get(&Attribute::Picture).map(String::as_str)).await;
    match cleanup.await {
        Ok(sessions) => tracing::info!(sessions, "the account's items are gone"),
        Err(error) => tracing::error!(error = format!("{error:#}"), "cleaning up after a deleted account failed"),
    }
    // The account is gone whatever the mail does: a failed confirmation is logged, not answered.
    if let Err(error) =
        mailing::send(app, &Letter::Notice(Kind::AccountDeleted), To::user(user).without_account()).await
    {
        tracing::error!(error = format!("{error:#}"), "the deletion's confirmation mail failed");
    }
    Ok(())
}
