//! Where users, pending sign-ups, one-time codes and sessions live.
//!
//! [`Store`] is narrow on purpose: each method is one atomic operation with the rules of
//! `docs/SECURITY.md` ("Emailed codes", "Lockout", "Sessions", "Data integrity") inside it, so that no handler can check-then-write.
//! Two implementations keep the same contract, proved by one suite (`tests/api/store_contract.rs`):
//! [`dynamo::DynamoStore`] for Lambda and [`memory::MemoryStore`] for the local server.

pub mod dynamo;
pub mod lockout;
pub mod memory;

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::codes::Purpose;
use crate::config::CodeLimits;
use crate::validate::Email;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// A random UUID.
    pub id: String,
    /// Trimmed and case-folded; unique across users.
    pub email: Email,
    /// The display name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When the account was created.
    pub created_at: UnixTime,
    /// When the user last logged in.
    pub last_login: Option<UnixTime>,
    /// Moves on at logout-all; access tokens and sessions of an older version are dead.
    pub token_version: u64,
    /// Whether a second factor is active.
    pub mfa_enabled: bool,
    /// What the user may do.
    pub role: Role,
    /// Hashes of earlier passwords, newest first (at most [`PASSWORD_HISTORY`]).
    pub password_history: Vec<String>,
    /// The active TOTP secret (base32), when `mfa_enabled`.
    pub totp_secret: Option<String>,
    /// A TOTP secret waiting for its first code.
    pub totp_pending: Option<String>,
    /// The last TOTP step accepted; a code of this step or older is refused.
    pub totp_last_step: Option<u64>,
    /// Keyed hashes of the unused recovery codes.
    pub recovery_codes: Vec<String>,
}

impl User {
    /// A new account: no login yet, token version 0, an ordinary user, no second factor.
    pub fn new(id: String, email: Email, name: String, password_hash: String, created_at: UnixTime) -> Self {
        Self {
            id,
            email,
            name,
            password_hash,
            created_at,
            last_login: None,
            token_version: 0,
            mfa_enabled: false,
            role: Role::User,
            password_history: Vec::new(),
            totp_secret: None,
            totp_pending: None,
            totp_last_step: None,
            recovery_codes: Vec::new(),
        }
    }
}

/// How many earlier passwords a new one may not repeat (besides the current one).
pub const PASSWORD_HISTORY: usize = 5;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// An ordinary user.
    #[default]
    User,
    /// May list users and unlock accounts.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// The role with this stored name (anything unknown is an ordinary user).
    pub fn parse(text: &str) -> Self {
        if text == "admin" { Self::Admin } else { Self::User }
    }
}

/// The answer to [`Store::begin_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The attempt holds a slot and may be checked; [`Store::record_failure`],
    /// [`Store::release_attempt`] or [`Store::clear_failures`] says how it ended.
    Allowed,
    /// Every slot is held by failures and attempts still in flight: try again shortly.
    Busy {
        /// Seconds until the slots' leases end at the latest.
        retry_after: u64,
    },
    /// The email has used up its attempts: locked until an admin unlocks it.
    Locked,
}

/// What a per-source-address counter counts (docs/SECURITY.md, "Source limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceCounter {
    /// Login checks (password, emailed code, second factor) that failed, across addresses.
    FailedLogins,
    /// Code mails asked for, across addresses.
    Mails,
}

impl SourceCounter {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailedLogins => "failed_logins",
            Self::Mails => "mails",
        }
    }
}

/// The window per-source counters count in: one hour, fixed (the window's start is in the
/// key, so a new window starts from nothing and the old item expires).
pub const SOURCE_WINDOW_SECONDS: i64 = 60 * 60;

/// A slot taken on a per-source counter, to give back if what it was taken for did not
/// happen (a right password, a mail that was not sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSlot {
    /// The source address.
    pub source: String,
    /// The counter.
    pub counter: SourceCounter,
    /// The start of the window the slot was taken in.
    pub window_start: UnixTime,
}

impl SourceSlot {
    /// The slot at `now` for `source` and `counter`.
    pub fn at(source: &str, counter: SourceCounter, now: UnixTime) -> Self {
        Self { source: source.to_owned(), counter, window_start: now - now.rem_euclid(SOURCE_WINDOW_SECONDS) }
    }

    /// Seconds from `now` until the slot's window ends.
    pub fn retry_after(&self, now: UnixTime) -> u64 {
        seconds_until(self.window_start + SOURCE_WINDOW_SECONDS, now)
    }
}

/// The store could not be reached or refused for load (DynamoDB throttling, a hang): the
/// request may succeed if retried shortly. Carried inside `anyhow::Error`; the API answers
/// 503 with `Retry-After`.
#[derive(Debug, thiserror::Error)]
#[error("the store is unavailable for now ({what})")]
pub struct Unavailable {
    /// What was being done.
    pub what: String,
}

/// One entry of a user's activity log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// A random id, unique within the user's log.
    pub id: String,
    /// When it happened.
    pub at: UnixTime,
    /// What happened (`login_success`, `code_sent`, …).
    pub event: String,
    /// The source IP API Gateway saw.
    pub source_ip: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one (opaque to clients).
    pub next: Option<String>,
}

/// The answer to [`Store::reset_password`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// The password is replaced and the grant used up.
    Reset,
    /// The grant is unknown, used, expired or of another kind.
    GrantInvalid,
    /// The password changed since it was read; nothing was written.
    Conflict,
}

/// A code to store, replacing any earlier code of its email and purpose.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// The keyed hash of the code (never the code).
    pub hash: String,
    /// What the flow needs back when the code is redeemed (the name given at sign-up);
    /// `None` keeps what an earlier send stored.
    pub context: Option<String>,
}

/// The answer to [`Store::issue_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// The code is stored and may be sent.
    Issued,
    /// A cooldown or the per-window cap forbids a send for this many seconds.
    Throttled {
        /// Seconds until a send can succeed.
        retry_after: u64,
    },
}

/// The answer to [`Store::redeem_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The code was right and is now used up.
    Redeemed {
        /// The context stored with the code.
        context: Option<String>,
    },
    /// Wrong, expired, used, killed or absent.
    Rejected,
    /// The email's failure budget for this purpose is spent until the window ends.
    Exhausted {
        /// Seconds until the window ends.
        retry_after: u64,
    },
}

/// The state of an email's code for one purpose, with the send and failure window around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    /// The current code's hash; `None` once redeemed.
    pub code_hash: Option<String>,
    /// When the current code stops working.
    pub code_expires_at: UnixTime,
    /// Wrong guesses at the current code.
    pub attempts: u32,
    /// The start of the send and failure window.
    pub window_start: UnixTime,
    /// Sends in the window.
    pub sends: u32,
    /// Wrong guesses in the window, across every code sent in it.
    pub failures: u32,
    /// When the last code was sent.
    pub last_sent_at: UnixTime,
    /// The flow's context (see [`NewCode::context`]).
    pub context: Option<String>,
    /// When the whole item may be forgotten (the DynamoDB TTL attribute).
    pub expires_at: UnixTime,
}

impl CodeState {
    /// The state after sending `code` at `now`, or how long until a send is allowed.
    /// `current` is the stored state, if any (expired or not).
    pub fn issue(
        current: Option<&CodeState>,
        code: NewCode,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> Result<CodeState, u64> {
        let window = limits.window.as_secs() as i64;
        let fresh = CodeState {
            code_hash: Some(code.hash),
            code_expires_at: now + limits.ttl.as_secs() as i64,
            attempts: 0,
            window_start: now,
            sends: 1,
            failures: 0,
            last_sent_at: now,
            context: code.context,
            expires_at: now + window,
        };
        let Some(current) = current.filter(|c| c.expires_at > now && c.window_start + window > now) else {
            return Ok(fresh);
        };
        let cooldown_ends = current.last_sent_at + limits.cooldown.as_secs() as i64;
        if current.sends >= limits.max_sends_per_window {
            return Err(seconds_until(current.window_start + window, now));
        }
        if cooldown_ends > now {
            return Err(seconds_until(cooldown_ends, now));
        }
        Ok(CodeState {
            window_start: current.window_start,
            sends: current.sends + 1,
            failures: current.failures,
            context: fresh.context.clone().or_else(|| current.context.clone()),
            ..fresh
        })
    }

    /// Whether a code is stored, unexpired and not yet used.
    pub fn has_live_code(&self, now: UnixTime) -> bool {
        self.expires_at > now && self.code_hash.is_some() && self.code_expires_at > now
    }

    /// Redeems `hash` at `now`: the new state (if it changes) and the answer.
    pub fn redeem(&self, hash: &str, now: UnixTime, limits: &CodeLimits) -> (Option<CodeState>, Redeemed) {
        if !self.has_live_code(now) {
            return (None, Redeemed::Rejected);
        }
        let usable = self.attempts < limits.max_attempts && self.failures < limits.max_failures_per_window;
        if usable && self.code_hash.as_deref() == Some(hash) {
            let used = CodeState { code_hash: None, ..self.clone() };
            return (Some(used), Redeemed::Redeemed { context: self.context.clone() });
        }
        let failed = CodeState { attempts: self.attempts + 1, failures: self.failures + 1, ..self.clone() };
        let answer = failed.failure_answer(now, limits);
        (Some(failed), answer)
    }

    /// The answer to a failed guess that left the state as `self`.
    pub fn failure_answer(&self, now: UnixTime, limits: &CodeLimits) -> Redeemed {
        if self.failures >= limits.max_failures_per_window {
            Redeemed::Exhausted { retry_after: seconds_until(self.window_start + limits.window.as_secs() as i64, now) }
        } else {
            Redeemed::Rejected
        }
    }
}

/// Whole seconds from `now` until `at`, at least one.
pub fn seconds_until(at: UnixTime, now: UnixTime) -> u64 {
    (at - now).max(1) as u64
}

/// What a short-lived single-purpose grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// Setting the password of a verified sign-up.
    Signup,
    /// Setting a new password after a verified reset code.
    PasswordReset,
    /// Finishing a login with the second factor.
    Mfa,
}

impl GrantKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::PasswordReset => "password_reset",
            Self::Mfa => "mfa",
        }
    }
}

/// A verified step waiting for the next one: after a sign-up code, the pending sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The digest of the token handed to the client.
    pub token_hash: String,
    /// What the grant allows.
    pub kind: GrantKind,
    /// The verified email.
    pub email: Email,
    /// The name given at sign-up (empty for other kinds).
    pub name: String,
    /// The user a reset or MFA grant is for.
    pub user_id: Option<String>,
    /// That user's token version when the grant was issued: the grant dies when it moves on
    /// (logout-all, a password reset or change, the authenticator turned on or off).
    pub user_version: Option<u64>,
    /// When the grant stops working.
    pub expires_at: UnixTime,
}

impl Grant {
    /// Whether the grant was issued to `user` in the state the user is still in.
    pub fn is_current_for(&self, user: &User) -> bool {
        self.user_id.as_deref() == Some(user.id.as_str()) && self.user_version == Some(user.token_version)
    }
}

/// The answer to [`Store::create_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The user exists and the grant is used up.
    Created,
    /// The grant is unknown, expired, used or of another kind.
    GrantInvalid,
    /// Another user holds the email.
    EmailTaken,
}

/// A logged-in session: the server side of one refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// A random id, the first half of the refresh token.
    pub id: String,
    /// Whose session it is.
    pub user_id: String,
    /// The digest of the current refresh token's secret.
    pub token_hash: String,
    /// The user's token version when the session began.
    pub user_version: u64,
    /// When it began.
    pub created_at: UnixTime,
    /// The absolute end; rotation does not extend it.
    pub expires_at: UnixTime,
}

/// The answer to [`Store::rotate_session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotated {
    /// The new token hash replaced the presented one.
    Rotated,
    /// The presented hash is not the current one (or the session is gone or expired).
    Stale,
}

/// The persistence of stepauth. Every method is atomic; every read treats an item whose
/// `expires_at` has passed as absent, whatever TTL has or has not deleted.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Stores `code` for `email` and `purpose`, replacing the previous one, unless the
    /// cooldown or the per-window cap forbids it (docs/SECURITY.md, "Emailed codes").
    async fn issue_code(
        &self,
        email: &Email,
        purpose: Purpose,
        code: NewCode,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Issued>;

    /// Uses up the code whose hash is `hash` if it is live, has had fewer than the maximum
    /// wrong guesses and the window's failure budget is not spent; otherwise counts a
    /// wrong guess against the code and the window (docs/SECURITY.md, "Emailed codes").
    async fn redeem_code(
        &self,
        email: &Email,
        purpose: Purpose,
        hash: &str,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Redeemed>;

    /// Stores a grant.
    async fn put_grant(&self, grant: &Grant) -> anyhow::Result<()>;

    /// The live grant of `kind` with this token hash.
    async fn grant(&self, token_hash: &str, kind: GrantKind, now: UnixTime) -> anyhow::Result<Option<Grant>>;

    /// In one transaction: uses up the sign-up grant, claims the email and stores the user
    /// (docs/SECURITY.md, "Data integrity").
    async fn create_user(&self, user: &User, grant_hash: &str, now: UnixTime) -> anyhow::Result<Created>;

    /// The user with this id.
    async fn user(&self, id: &str) -> anyhow::Result<Option<User>>;

    /// The user holding this email.
    async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>>;

    /// Records a successful login.
    async fn record_login(&self, user_id: &str, at: UnixTime) -> anyhow::Result<()>;

    /// Moves the user's token version on by one (logout-all); the new version, or `None`
    /// if there is no such user.
    async fn bump_token_version(&self, user_id: &str) -> anyhow::Result<Option<u64>>;

    /// Stores a new session.
    async fn put_session(&self, session: &Session) -> anyhow::Result<()>;

    /// The live session with this id.
    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>>;

    /// Replaces the session's token hash `old` by `new`, only if `old` is current.
    async fn rotate_session(&self, id: &str, old: &str, new: &str, now: UnixTime) -> anyhow::Result<Rotated>;

    /// Ends a session (its whole refresh-token family).
    async fn delete_session(&self, id: &str) -> anyhow::Result<()>;

    /// Takes a slot for a login attempt on `email` before its secret is checked, as
    /// [`lockout::Lockout::begin`] rules: at most `max` slots, failures included, so that
    /// concurrent guesses cannot get past the limit (docs/SECURITY.md, "Lockout").
    async fn begin_attempt(&self, email: &Email, max: u32, now: UnixTime) -> anyhow::Result<Attempt>;

    /// Turns an attempt's slot into a failure; failures below `max` decay `window` seconds
    /// after the last one. The failures now counted (`max` or more: locked).
    async fn record_failure(&self, email: &Email, max: u32, window: i64, now: UnixTime) -> anyhow::Result<u32>;

    /// Gives back the slot of an attempt whose secret was right but which is not yet a whole
    /// login (a right password before the second factor). Failures stay counted.
    async fn release_attempt(&self, email: &Email) -> anyhow::Result<()>;

    /// Takes a slot on `source`'s `counter` in the window of `now`, unless `max` are taken:
    /// the slot, or `None` when the limit is reached. One conditional write.
    async fn take_source_slot(
        &self,
        source: &str,
        counter: SourceCounter,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<SourceSlot>>;

    /// Gives a slot back to its window's counter.
    async fn release_source_slot(&self, slot: &SourceSlot) -> anyhow::Result<()>;

    /// Forgets the email's counter (a whole login, or an admin's unlock).
    async fn clear_failures(&self, email: &Email) -> anyhow::Result<()>;

    /// The failures that count at `now` for each email, in order.
    async fn failures(&self, emails: &[Email], now: UnixTime) -> anyhow::Result<Vec<u32>>;

    /// Replaces the password if it is still `old_hash`, keeps `history`, and moves the token
    /// version on (ending every session). `false` if the password changed meanwhile.
    async fn set_password(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
    ) -> anyhow::Result<bool>;

    /// [`Store::set_password`] and the use of a password-reset grant, in one transaction.
    async fn reset_password(
        &self,
        user_id: &str,
        grant_hash: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
        now: UnixTime,
    ) -> anyhow::Result<Reset>;

    /// Sets the user's display name: the updated user, or `None` if there is no such user.
    async fn set_name(&self, user_id: &str, name: &str) -> anyhow::Result<Option<User>>;

    /// Appends to the user's activity log; the entry is forgotten after `expires_at`.
    async fn record_activity(&self, user_id: &str, activity: &Activity, expires_at: UnixTime) -> anyhow::Result<()>;

    /// The user's unexpired activity, newest first, `limit` at a time from `cursor`.
    async fn activity(
        &self,
        user_id: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Activity>>;

    /// Every user, newest first, `limit` at a time from `cursor`.
    async fn users(&self, limit: usize, cursor: Option<&str>) -> anyhow::Result<Page<User>>;

    /// Stores a TOTP secret awaiting confirmation, replacing an earlier pending one; `false`
    /// if TOTP is already active (an active secret is never replaced) or there is no user.
    async fn set_totp_pending(&self, user_id: &str, secret: &str) -> anyhow::Result<bool>;

    /// Activates the pending secret, if it is still `secret` and TOTP is not active: records
    /// `step` as used, stores the recovery-code hashes, and moves the token version on.
    async fn enable_totp(&self, user_id: &str, secret: &str, step: u64, recovery: &[String]) -> anyhow::Result<bool>;

    /// Records `step` as the last accepted one, only if TOTP is active and `step` is newer
    /// than the last accepted (docs/SECURITY.md, "Second factor"): a code works once.
    async fn accept_totp_step(&self, user_id: &str, step: u64) -> anyhow::Result<bool>;

    /// Uses up the recovery code with this hash, if it is unused and TOTP is active.
    async fn use_recovery_code(&self, user_id: &str, hash: &str) -> anyhow::Result<bool>;

    /// Turns TOTP off: the secrets, the last step and the recovery codes go, and the token
    /// version moves on (every session and pending MFA token ends). `false` if there is no
    /// such user.
    async fn disable_totp(&self, user_id: &str) -> anyhow::Result<bool>;

    /// Counts one use of a live grant of `kind`, if fewer than `max` were counted: the grant.
    async fn attempt_grant(
        &self,
        token_hash: &str,
        kind: GrantKind,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<Grant>>;

    /// Uses up a grant; `false` if it was already gone.
    async fn take_grant(&self, token_hash: &str) -> anyhow::Result<bool>;
}

/// The sort key of an activity entry: time first, so that keys sort by time, then its id,
/// so that two entries in one second do not collide.
pub fn activity_key(activity: &Activity) -> String {
    format!("ACT#{:012}#{}", activity.at, activity.id)
}

/// The first `limit` of `items` (each with its sort key), and the cursor after them if more follow.
pub fn page<T>(mut items: Vec<(String, T)>, limit: usize) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(|(key, _)| key.clone()) } else { None };
    Page { items: items.into_iter().map(|(_, item)| item).collect(), next }
}

/// The sort key of a user in the by-creation index.
pub fn user_order_key(user: &User) -> String {
    format!("{:012}#{}", user.created_at, user.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(hash: &str) -> NewCode {
        NewCode { hash: hash.into(), context: None }
    }

    #[test]
    fn sends_are_limited_by_cooldown_and_window() {
        let limits = CodeLimits::default();
        let first = CodeState::issue(None, code("a"), 0, &limits).expect("first send");
        assert_eq!(CodeState::issue(Some(&first), code("b"), 59, &limits), Err(1));
        let mut state = first;
        for n in 2..=5 {
            state = CodeState::issue(Some(&state), code("b"), 60 * (n - 1), &limits).expect("within cap");
        }
        assert_eq!(state.sends, 5);
        assert_eq!(CodeState::issue(Some(&state), code("c"), 300, &limits), Err(3_300));
        let next = CodeState::issue(Some(&state), code("c"), 3_600, &limits).expect("new window");
        assert_eq!((next.sends, next.window_start), (1, 3_600));
    }

    #[test]
    fn the_failure_budget_survives_resends() {
        let limits = CodeLimits::default();
        let guess = |state: CodeState, n: u32| {
            (0..n).fold(state, |s, _| s.redeem("wrong", s.last_sent_at, &limits).0.expect("counted"))
        };
        let state = guess(CodeState::issue(None, code("a"), 0, &limits).expect("send"), 5);
        let state = CodeState::issue(Some(&state), code("b"), 60, &limits).expect("resend");
        assert_eq!((state.attempts, state.failures), (0, 5), "a resend resets the code's count only");
        let state = guess(state, 4);
        let state = CodeState::issue(Some(&state), code("c"), 120, &limits).expect("resend");
        assert_eq!(state.redeem("wrong", 120, &limits).1, Redeemed::Exhausted { retry_after: 3_480 });
        let state = guess(state, 1);
        assert_eq!(state.attempts, 1);
        assert_eq!(
            state.redeem("c", 121, &limits).1,
            Redeemed::Exhausted { retry_after: 3_479 },
            "the right code fails once the budget is spent"
        );
    }

    #[test]
    fn a_code_works_once_and_dies_after_five_wrong_guesses() {
        let limits = CodeLimits::default();
        let state = CodeState::issue(None, code("a"), 0, &limits).expect("send");
        let (used, answer) = state.redeem("a", 1, &limits);
        assert_eq!(answer, Redeemed::Redeemed { context: None });
        assert_eq!(used.expect("changed").redeem("a", 2, &limits).1, Redeemed::Rejected);
        let killed = (0..5).fold(state.clone(), |s, _| s.redeem("x", 1, &limits).0.expect("counted"));
        assert_eq!(killed.redeem("a", 2, &limits).1, Redeemed::Rejected);
        assert_eq!(state.redeem("a", 600, &limits).1, Redeemed::Rejected, "expired at ten minutes");
        assert_eq!(state.redeem("a", 599, &limits).1, Redeemed::Redeemed { context: None });
    }
}
