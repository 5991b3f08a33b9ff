//! Login attempts and per-source-address limits: the rules every route that checks a secret
//! (password, emailed code, second factor) or sends a code mail goes through.
//!
//! A [`LoginAttempt`] holds two slots before anything is checked: one of its email's lockout
//! counter ([`crate::model::Lockout`]) and one of its source address's failed-login counter.
//! How it ends decides what they become: a failure on both counters, or given back. So a
//! limit counts the checks that failed, whatever route, email, purpose or concurrency the
//! attempts came by (docs/SECURITY.md, "Lockout" and "Source limits").

use std::time::Duration;

use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::mail::templates::{Letter, To};
use crate::mailing;
use crate::model::{Attempt, Email, Origin, SourceCounter, SourceSlot, User};
use crate::password::{self, Password};
use crate::telemetry;

/// How long an attempt waits for a lockout slot held by attempts in flight: well within the
/// functions' 10-second timeout, and long enough for a few rounds of checks under load.
const MAX_SLOT_WAIT: Duration = Duration::from_secs(6);

/// The source address a request is counted under: API Gateway's `sourceIp` (never a
/// client-supplied header such as `X-Forwarded-For`).
fn source(origin: &Origin) -> &str {
    origin.source_ip.as_deref().unwrap_or("unknown")
}

/// Takes a slot of `counter` for the request's source address: `429 too_many_requests`
/// with `Retry-After` once the address has used up its hour.
pub async fn take_source_slot(app: &App, origin: &Origin, counter: SourceCounter) -> Result<SourceSlot, ApiError> {
    let limits = &app.config.sources;
    let max = match counter {
        SourceCounter::FailedLogins => limits.failed_logins_per_hour,
        SourceCounter::Mails => limits.mails_per_hour,
    };
    let now = app.now();
    match app.store.take_source_slot(source(origin), counter, max, now).await? {
        Some(slot) => Ok(slot),
        None => {
            let retry_after = SourceSlot::at(source(origin), counter, now).retry_after(now);
            tracing::warn!(source = source(origin), counter = counter.as_str(), "a source address reached its limit");
            if counter == SourceCounter::Mails {
                telemetry::count(telemetry::Event::CodeRefused);
            }
            Err(ApiError::TooManyRequests { retry_after })
        }
    }
}

/// Gives a source slot back: what it was taken for did not happen.
pub async fn give_back(app: &App, slot: &SourceSlot) -> Result<(), ApiError> {
    Ok(app.store.release_source_slot(slot).await?)
}

/// Whether `email` is locked: its failures have reached the limit (one read).
pub async fn is_locked(app: &App, email: &Email) -> Result<bool, ApiError> {
    let failures = app.store.failures(std::slice::from_ref(email), app.now()).await?;
    Ok(failures.first().is_some_and(|f| *f >= app.config.max_login_failures))
}

/// A check of a secret in progress, holding its slots until it ends.
#[derive(Debug)]
#[must_use = "an attempt holds slots until it ends: call failed, succeeded, first_factor_passed or abandoned"]
pub struct LoginAttempt {
    email: Email,
    source: SourceSlot,
    /// This attempt's unique id, so that its failure counts once.
    id: String,
}

impl LoginAttempt {
    /// Takes the slots for a check of a secret of `email`, before anything is checked:
    /// `429` once the source address has failed too often this hour, `AccountLocked` once
    /// the email's failures reach the limit. While every lockout slot is held by attempts
    /// still in flight (concurrent logins of one account), waits for one, six seconds at
    /// most, then answers 429 with `Retry-After`.
    pub async fn begin(app: &App, email: &Email, origin: &Origin) -> Result<Self, ApiError> {
        let source = take_source_slot(app, origin, SourceCounter::FailedLogins).await?;
        match lockout_slot(app, email).await {
            Ok(()) => Ok(Self { email: email.clone(), source, id: crate::random::token::<16>(&*app.random) }),
            Err(error) => {
                give_back(app, &source).await?;
                Err(error)
            }
        }
    }

    /// The secret was wrong: the failure counts for the email and the source address. The
    /// answer is `wrong(remaining)` while attempts remain and `AccountLocked` once none do.
    /// The account's owner, if there is one, has the failure (and the lock) in their
    /// activity and a mail when it locks.
    pub async fn failed(
        self,
        app: &App,
        user: Option<&User>,
        origin: &Origin,
        wrong: impl FnOnce(Option<u32>) -> ApiError,
    ) -> ApiError {
        let max = app.config.max_login_failures;
        let window = app.config.failure_window.as_secs() as i64;
        let failures = match app.store.record_failure(&self.email, &self.id, max, window, app.now()).await {
            Ok(failures) => failures,
            Err(error) => return error.into(),
        };
        // The same store operations with or without an account (docs/SECURITY.md,
        // "Enumeration"); only the owner's lock mail differs.
        activity::record_for(app, user, &self.email, Event::LoginFailure, origin).await;
        telemetry::count(telemetry::Event::LoginFailed);
        if failures >= max {
            telemetry::count(telemetry::Event::AccountLocked);
            activity::record_for(app, user, &self.email, Event::Locked, origin).await;
            if let Some(user) = user
                && let Err(error) = mailing::send(app, &Letter::AccountLocked(failures), To::user(user)).await
            {
                return error.into();
            }
        }
        if failures >= max { ApiError::AccountLocked } else { wrong(Some(max - failures)) }
    }

    /// Every factor was right: the email's failures are forgotten and the source slot given
    /// back.
    pub async fn succeeded(self, app: &App) -> Result<(), ApiError> {
        app.store.clear_failures(&self.email).await?;
        give_back(app, &self.source).await
    }

    /// The first factor was right and a second is still to come: only this attempt's own
    /// slots go back. Earlier failures, wrong second factors included, keep counting until
    /// a whole login succeeds, so that logging in again never buys more guesses.
    pub async fn first_factor_passed(self, app: &App) -> Result<(), ApiError> {
        self.release(app).await
    }

    /// Runs `check`, the check of the secret this attempt holds slots for. If the check
    /// itself fails (the store throttled or unreachable: a 503), nothing was checked, so the
    /// slots go back uncounted before the error is the answer: a throttle never leaves the
    /// account's owner waiting for slots no check holds (docs/SECURITY.md, rule 73).
    pub async fn check<T, E: Into<ApiError>>(
        &self,
        app: &App,
        check: impl Future<Output = Result<T, E>>,
    ) -> Result<T, ApiError> {
        match check.await {
            Ok(checked) => Ok(checked),
            Err(error) => {
                // Best effort: if this fails too, the slots' leases end them.
                let _ = self.release(app).await;
                Err(error.into())
            }
        }
    }

    async fn release(&self, app: &App) -> Result<(), ApiError> {
        app.store.release_attempt(&self.email).await?;
        give_back(app, &self.source).await
    }

    /// Nothing was checked after all (the code's budget was spent, the token was gone): the
    /// slots go back uncounted.
    pub async fn abandoned(self, app: &App) -> Result<(), ApiError> {
        self.first_factor_passed(app).await
    }
}

/// Checks `password` against the signed-in `user`'s current one, as a login attempt (a
/// password change, an authenticator set-up): a wrong one counts toward the lockout and the
/// source address's limit, a right one ends the run of failures.
pub async fn check_current_password(
    app: &App,
    user: &User,
    password: Password,
    origin: &Origin,
) -> Result<(), ApiError> {
    let attempt = LoginAttempt::begin(app, &user.email, origin).await?;
    if !attempt.check(app, password::verify(password, Some(user.password_hash.clone()))).await? {
        let wrong = |remaining| ApiError::InvalidCredentials { remaining };
        return Err(attempt.failed(app, Some(user), origin, wrong).await);
    }
    attempt.succeeded(app).await
}

/// Takes a lockout slot of `email`, waiting while attempts in flight hold every slot.
async fn lockout_slot(app: &App, email: &Email) -> Result<(), ApiError> {
    // Each poll is a write that fails: back off quickly, so that many waiters do not load
    // the table (or the attempts they wait for).
    let mut pause = Duration::from_millis(50);
    let mut waited = Duration::ZERO;
    loop {
        match app.store.begin_attempt(email, app.config.max_login_failures, app.now()).await? {
            Attempt::Allowed => return Ok(()),
            Attempt::Locked => {
                telemetry::count(telemetry::Event::LoginLocked);
                return Err(ApiError::AccountLocked);
            }
            Attempt::Busy { retry_after } if waited >= MAX_SLOT_WAIT => {
                return Err(ApiError::TooManyRequests { retry_after: retry_after.min(5) });
            }
            Attempt::Busy { .. } => {
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
