//! Emailed one-time codes (docs/SECURITY.md, "Emailed codes"): sending one ([`send`]) and
//! using one up ([`redeem`]), for every purpose. What a code is, how it is hashed and the
//! rules of its sends and guesses are in [`crate::model::code`].

use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::mail::templates::{Coded, Kind, Letter, To, code_link};
use crate::mailing;
use crate::model::{Code, Email, Issued, NewCode, Origin, Purpose, Redeemed, SourceCounter};
use crate::{lockout, telemetry};

/// The answer every code request gets, whatever happened behind it.
pub const SENT: &str = "If the address can receive it, a mail is on its way. Check your email for a 6-digit code.";

/// Uses `code` against `email`'s pending code of `purpose`, compared by keyed hash: once at
/// most, within the code's lifetime and the guess budgets (see [`Redeemed`]).
pub async fn redeem(app: &App, email: &Email, purpose: Purpose, code: &Code) -> Result<Redeemed, ApiError> {
    let hash = app.pepper.hash(purpose, email, code);
    Ok(app.store.redeem_code(email, purpose, &hash, app.now(), &app.config.codes).await?)
}

/// [`redeem`], where only a right code goes on: its context, or the refusal (a wrong,
/// expired or used code; the window's guesses spent).
pub async fn redeem_or_refuse(
    app: &App,
    email: &Email,
    purpose: Purpose,
    code: &Code,
) -> Result<Option<String>, ApiError> {
    match redeem(app, email, purpose, code).await? {
        Redeemed::Redeemed { context } => Ok(context),
        Redeemed::Rejected => Err(ApiError::InvalidCode { remaining: None }),
        Redeemed::Exhausted { retry_after } => Err(ApiError::TooManyRequests { retry_after }),
    }
}

/// Stores a fresh code of `purpose` for `email` (within the source address's hourly mail
/// limit, and the cooldown and hourly cap of the email, which apply to every address alike)
/// and mails it to an account that can use it, or mails whoever owns the address why not.
/// The caller's answer is the same either way. `context` is what the flow needs back when
/// the code is redeemed (the name given at sign-up, the change a code confirms).
pub async fn send(
    app: &App,
    email: &Email,
    purpose: Purpose,
    context: Option<String>,
    origin: &Origin,
) -> Result<(), ApiError> {
    let slot = lockout::take_source_slot(app, origin, SourceCounter::Mails).await?;
    let code = Code::generate(&*app.random);
    let stored = NewCode { hash: app.pepper.hash(purpose, email, &code), context };
    let sent = match app.store.issue_code(email, purpose, stored, app.now(), &app.config.codes).await? {
        Issued::Issued(sent) => sent,
        Issued::Throttled { retry_after } => {
            // No mail leaves: the source address keeps its slot.
            telemetry::count(telemetry::Event::CodeRefused);
            lockout::give_back(app, &slot).await?;
            return Err(ApiError::TooManyRequests { retry_after });
        }
    };
    let site = app.config.site_url.as_deref().filter(|_| purpose.has_link());
    let link = site.map(|site| code_link(site, purpose, email.as_str(), &code));
    let coded = Coded { code: &code, minutes: app.config.codes.ttl.as_secs() / 60, link };
    // The same store operations for every address (docs/SECURITY.md, "Enumeration"): the
    // account, the lockout count and an activity entry, whether or not they matter here.
    let user = app.store.user_by_email(email).await?;
    let locked = lockout::is_locked(app, email).await?;
    let address = To::address(email.as_str());
    let (event, letter, to) = match (purpose, &user) {
        (Purpose::Signup, Some(user)) => {
            (Event::SignupAttempted, Letter::Notice(Kind::AlreadyRegistered), To::user(user))
        }
        // The address has proved nothing yet: the mail carries nothing the requester chose,
        // not even the name given (docs/SECURITY.md, "Mail").
        (Purpose::Signup, None) => (Event::CodeSent, Letter::SignupCode(coded), address),
        (Purpose::Login, Some(user)) => (Event::CodeSent, Letter::LoginCode(coded), To::user(user)),
        (Purpose::PasswordReset, Some(user)) if (locked && !app.config.reset_unlocks) || user.deactivated => {
            (Event::ResetBlocked, Letter::Notice(Kind::ResetBlocked), To::user(user))
        }
        (Purpose::PasswordReset, Some(user)) => (Event::CodeSent, Letter::ResetCode(coded), To::user(user)),
        (Purpose::Login | Purpose::PasswordReset | Purpose::Confirm, None) => {
            (Event::CodeSent, Letter::NoAccount(purpose), address)
        }
        // Another account asked to move to this address, which has an account already.
        (Purpose::EmailChange, Some(owner)) => {
            (Event::EmailChangeAttempted, Letter::Notice(Kind::EmailChangeTaken), To::user(owner))
        }
        (Purpose::EmailChange, None) => (Event::CodeSent, Letter::EmailChangeCode(coded), address),
        (Purpose::Confirm, Some(user)) => (Event::CodeSent, Letter::ConfirmCode(coded), To::user(user)),
    };
    if let Err(error) = mailing::send(app, &letter, to).await {
        // The mail did not leave (SES throttled, rejecting or unreachable): nothing of this
        // request stays spent, neither the code's send and cooldown nor the source address's
        // slot, so the person can ask again at once (docs/SECURITY.md, rule 74). Best effort:
        // the answer is the mail's failure either way.
        let _ = app.store.withdraw_code(email, purpose, &sent).await;
        let _ = lockout::give_back(app, &slot).await;
        return Err(error.into());
    }
    telemetry::count(telemetry::Event::CodeSent);
    activity::record_for(app, user.as_ref(), email, event, origin).await;
    Ok(())
}
