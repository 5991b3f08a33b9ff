//! Changing the account's email address (docs/SECURITY.md, "Account changes"). The owner asks
//! with the password (and the second factor when it is on); the new address gets a code, with
//! the same rules and limits as every other code; the change happens when the code comes
//! back, in one transaction that moves the address's claim, so that two accounts never hold
//! one address. An account without a password proves itself instead by a code mailed to its
//! current address at the same time. Both codes are bound to the change asked for and to the
//! account's state then: another address, logout-all, a password change or reset kills them.
//! The old address is told, with no way to undo from the mail (an admin can).

use serde::Serialize;

use crate::activity::{self, Event};
use crate::app::App;
use crate::codes;
use crate::error::ApiError;
use crate::mail::templates::{Letter, To};
use crate::mailing;
use crate::model::{Code, Email, Origin, Purpose, User};
use crate::password::Password;
use crate::reauth::{self, Factor};
use crate::session::{self, Caller, Tokens};
use crate::store::EmailChanged;

/// The change a code confirms, as its stored context: the account in the state it was in,
/// and both addresses.
#[derive(Serialize)]
struct Pending<'a> {
    user: &'a str,
    version: u64,
    from: &'a str,
    to: &'a str,
}

fn pending(user: &User, new: &Email) -> Result<String, ApiError> {
    let pending = Pending { user: &user.id, version: user.token_version, from: user.email.as_str(), to: new.as_str() };
    Ok(serde_json::to_string(&pending).map_err(anyhow::Error::from)?)
}

/// Asks to move `user` to `new`: proves the account, then mails a code to `new` (to its
/// owner, a notice instead, when it has an account: the answer is the same) and, for an
/// account without a password, one to its current address.
pub async fn request(
    app: &App,
    user: &User,
    new: &Email,
    password: Option<Password>,
    factor: Option<&Factor>,
    origin: &Origin,
) -> Result<(), ApiError> {
    if *new == user.email {
        return Err(ApiError::field("new_email", "is already your address"));
    }
    reauth::prove(app, user, password, factor, origin).await?;
    let context = pending(user, new)?;
    codes::send(app, new, Purpose::EmailChange, Some(context.clone()), origin).await?;
    if !user.has_password() {
        codes::send(app, &user.email, Purpose::Confirm, Some(context), origin).await?;
    }
    activity::record(app, &user.id, Event::EmailChangeRequested, origin).await;
    Ok(())
}

/// Makes the change the codes confirm: the caller's account moves to `new` (every other
/// session ends), the old address is told, and the caller's session restarts in the new state.
pub async fn confirm(
    app: &App,
    caller: &Caller,
    new: &Email,
    code: &Code,
    current_code: Option<&Code>,
    origin: &Origin,
) -> Result<(User, Tokens), ApiError> {
    let user = &caller.user;
    match (user.has_password(), current_code) {
        (false, None) => {
            return Err(ApiError::field("current_code", "is required: the code mailed to your current address"));
        }
        (true, Some(_)) => return Err(ApiError::field("current_code", "is only for an account without a password")),
        _ => {}
    }
    let expected = pending(user, new)?;
    let wrong = || ApiError::InvalidCode { remaining: None };
    let context = codes::redeem_or_refuse(app, new, Purpose::EmailChange, code).await?;
    if context.as_deref() != Some(expected.as_str()) {
        return Err(wrong());
    }
    if let Some(current) = current_code {
        let context = codes::redeem_or_refuse(app, &user.email, Purpose::Confirm, current).await?;
        if context.as_deref() != Some(expected.as_str()) {
            return Err(wrong());
        }
    }
    match app.store.change_email(&user.id, &user.email, new, user.token_version).await? {
        EmailChanged::Changed => {}
        EmailChanged::EmailTaken => return Err(ApiError::EmailTaken),
        EmailChanged::Conflict => return Err(ApiError::Conflict),
    }
    // A sign-up someone started for the address but never proved dies with it.
    app.store.discard_code(new, Purpose::Signup).await?;
    activity::record(app, &user.id, Event::EmailChanged, origin).await;
    mailing::send(app, &Letter::EmailChanged(new.as_str()), To::user(user)).await?;
    session::restart(app, caller, origin).await
}
