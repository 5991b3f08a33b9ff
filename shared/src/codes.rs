//! Emailed one-time codes (docs/SECURITY.md, "Emailed codes"): sending one ([`send`]) and
//! using one up ([`redeem`]), for every purpose. What a code is, how it is hashed and the
//! rules of its sends and guesses are in [`crate::model::code`].

use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::mail::templates::{self, CodeMail};
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
    let product = &app.config.product_name;
    let minutes = app.config.codes.ttl.as_secs() / 60;
    let to = email.as_str();
    let coded = CodeMail { product, to, code: &code, minutes, site: app.config.site_url.as_deref() };
    // The same store operations for every address (docs/SECURITY.md, "Enumeration"): the
    // account, the lockout count and an activity entry, whether or not they matter here.
    let user = app.store.user_by_email(email).await?;
    let locked = lockout::is_locked(app, email).await?;
    let (event, mail) = match (purpose, &user) {
        (Purpose::Signup, Some(user)) => {
            (Event::SignupAttempted, templates::already_registered(product, to, &user.name))
        }
        (Purpose::Signup, None) => (Event::CodeSent, templates::signup_code(&coded)),
        (Purpose::Login, Some(user)) => (Event::CodeSent, templates::login_code(&coded, Some(&user.name))),
        (Purpose::PasswordReset, Some(user)) if (locked && !app.config.reset_unlocks) || user.deactivated => {
            (Event::ResetBlocked, templates::reset_blocked(product, to, &user.name))
        }
        (Purpose::PasswordReset, Some(user)) => (Event::CodeSent, templates::reset_code(&coded, Some(&user.name))),
        (Purpose::Login | Purpose::PasswordReset | Purpose::Confirm, None) => {
            (Event::CodeSent, templates::no_account(product, to, purpose))
        }
        // Another account asked to move to this address, which has an account already.
        (Purpose::EmailChange, Some(owner)) => {
            (Event::EmailChangeAttempted, templates::email_change_taken(product, to, &owner.name))
        }
        (Purpose::EmailChange, None) => (Event::CodeSent, templates::email_change_code(&coded)),
        (Purpose::Confirm, Some(user)) => (Event::CodeSent, templates::confirm_code(&coded, &user.name)),
    };
    if let Err(error) = app.mailer.send(mail).await {
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
