//! Where users, pending sign-ups, one-time codes and sessions live.
//!
//! [`Store`] is narrow on purpose: each method is one atomic operation with the rules of
//! `docs/SECURITY.md` ("Emailed codes", "Lockout", "Sessions", "Data integrity") inside it, so that no handler can check-then-write.
//! Two implementations keep the same contract, proved by one suite (`tests/api/store_contract.rs`):
//! [`dynamo::DynamoStore`] for Lambda and [`memory::MemoryStore`] for the local server.

pub mod dynamo;
pub mod memory;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::clock::UnixTime;
use crate::config::CodeLimits;
use crate::model::{
    Activity, Attempt, DeliveryEvent, Email, Grant, GrantKind, Identity, Issued, LoginState, MailRecord, NewCode, Page,
    ProfileChange, Purpose, Redeemed, Sent, Session, SessionUse, SourceCounter, SourceSlot, User,
};

/// A dependency could not be reached or refused for load (DynamoDB or SES throttling, a
/// hang): the request may succeed if retried shortly. Carried inside `anyhow::Error`; the
/// API answers 503 with `Retry-After`.
#[derive(Debug, thiserror::Error)]
#[error("a dependency is unavailable for now ({what})")]
pub struct Unavailable {
    /// What was being done.
    pub what: String,
}

impl Unavailable {
    /// `what` met a transient fault of `kind` (`throttled`, `server_error`, `timeout`,
    /// `connection`) at `service`; the fault is counted for the request's metrics
    /// ([`crate::telemetry::dependency_failed`]). Every 503 of a dependency is made here.
    pub fn fault(service: &'static str, kind: &'static str, what: impl Into<String>) -> Self {
        crate::telemetry::dependency_failed(service, kind);
        Self { what: what.into() }
    }
}

/// The error for a failed call to an AWS service (`service`: `DynamoDB`, `SES`,
/// `SecretsManager`, `S3`; every SDK crate's `SdkError` is the same type): [`Unavailable`] when
/// retrying shortly may succeed (throttled, a 5xx, timed out, no connection or a cut one),
/// with the SDK's error as its cause; otherwise the SDK's error with `what` as context. The
/// failure is counted for the request's metrics by its kind ([`crate::telemetry`]), except
/// a failed condition, which is an answer, not a fault.
pub fn call_failed<E>(service: &'static str, error: SdkError<E, HttpResponse>, what: impl Into<String>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let what = what.into();
    let kind = fault_kind(&error);
    let wrapped = anyhow::Error::new(error).context(what.clone());
    match kind {
        Some(kind @ ("throttled" | "server_error" | "timeout" | "connection")) => {
            wrapped.context(Unavailable::fault(service, kind, what))
        }
        Some(kind) => {
            crate::telemetry::dependency_failed(service, kind);
            wrapped
        }
        None => wrapped,
    }
}

/// What kind of fault a failed call met, by the SDK's own error kinds; `None` for a failed
/// condition.
fn fault_kind<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Option<&'static str> {
    Some(match error {
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(failure) if failure.is_timeout() => "timeout",
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => "connection",
        SdkError::ServiceError(context) => match context.err().code() {
            Some("ConditionalCheckFailedException" | "TransactionCanceledException") => return None,
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                // SES: the account's sending rate is exceeded.
                | "TooManyRequestsException"
                // S3: the bucket's request rate is exceeded.
                | "SlowDown",
            ) => "throttled",
            _ if context.raw().status().is_server_error() => "server_error",
            Some("InternalServerError" | "ServiceUnavailable" | "InternalFailure" | "InternalServiceError") => {
                "server_error"
            }
            _ => "refused",
        },
        _ => "other",
    })
}

/// A list's cursor that the list did not give out (cursors are opaque to clients: each
/// store checks its own). Carried inside `anyhow::Error`; the API answers 400.
#[derive(Debug, thiserror::Error)]
#[error("not a cursor this list gave out")]
pub struct BadCursor;

/// The answer to [`UserStore::reset_password`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// The password is replaced and the grant used up.
    Reset,
    /// The grant is unknown, used, expired or of another kind.
    GrantInvalid,
    /// The password changed since it was read; nothing was written.
    Conflict,
}

/// The answer to [`UserStore::create_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The user exists and the grant is used up.
    Created,
    /// The grant is unknown, expired, used or of another kind.
    GrantInvalid,
    /// Another user holds the email.
    EmailTaken,
    /// The identity is linked to an account already (a concurrent sign-in made it).
    IdentityTaken,
    /// Another user holds the `preferred_username` (a user moving in).
    UsernameTaken,
}

/// The answer to [`UserStore::change_email`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailChanged {
    /// The user and its claim moved to the new address; the token version moved on.
    Changed,
    /// Another user holds the new address; nothing was written.
    EmailTaken,
    /// The user's address or token version changed since it was read (or the user is gone);
    /// nothing was written.
    Conflict,
}

/// The answer to [`SessionStore::rotate_session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotated {
    /// The new token hash replaced the presented one.
    Rotated,
    /// The presented hash is not the current one (or the session is gone or expired).
    Stale,
}

/// What [`UserStore::update_profile`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileUpdated {
    /// Changed; the user as it is now.
    Updated(Box<User>),
    /// The `preferred_username` is another user's.
    UsernameTaken,
    /// The user is gone, or its username changed since it was read.
    Conflict,
}

/// The persistence of stepauth: every capability, as one trait object for [`crate::App`].
/// Every method is atomic; every read treats an item whose `expires_at` has passed as absent,
/// whatever TTL has or has not deleted. A flow names the capabilities it uses.
pub trait Store:
    UserStore
    + CodeStore
    + GrantStore
    + SessionStore
    + LockoutStore
    + ActivityStore
    + AuthenticatorStore
    + IdentityStore
    + MailLogStore
    + std::fmt::Debug
{
}

impl<T> Store for T where
    T: UserStore
        + CodeStore
        + GrantStore
        + SessionStore
        + LockoutStore
        + ActivityStore
        + AuthenticatorStore
        + IdentityStore
        + MailLogStore
        + std::fmt::Debug
{
}

/// Accounts: creating them (with their email claim), reading them, and the changes that are not the second factor's.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// In one transaction: uses up the sign-up grant, claims the email and stores the user
    /// (docs/SECURITY.md, "Data integrity"). Safe to repeat with the same user (a fresh id):
    /// if this very user exists already (the transaction was written, its answer lost, and
    /// the call retried), it is `Created` again (docs/SECURITY.md, rule 76).
    async fn create_user(&self, user: &User, grant_hash: &str, now: UnixTime) -> anyhow::Result<Created>;

    /// In one transaction: claims the email and stores a user moved in from elsewhere (the
    /// Django import), locked (as an admin's unlock alone opens) when `locked`.
    async fn import_user(&self, user: &User, locked: bool) -> anyhow::Result<Created>;

    /// The user with this id.
    async fn user(&self, id: &str) -> anyhow::Result<Option<User>>;

    /// The user holding this email.
    async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>>;

    /// Every user, newest first, `limit` at a time from `cursor`.
    async fn users(&self, limit: usize, cursor: Option<&str>) -> anyhow::Result<Page<User>>;

    /// Records a successful login.
    async fn record_login(&self, user_id: &str, at: UnixTime) -> anyhow::Result<()>;

    /// Moves the user's token version on by one (logout-all); the new version, or `None`
    /// if there is no such user.
    async fn bump_token_version(&self, user_id: &str) -> anyhow::Result<Option<u64>>;

    /// Replaces the password if it is still `old_hash`, keeps `history`, and moves the token
    /// version on (ending every session). `false` if the password changed meanwhile.
    async fn set_password(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
    ) -> anyhow::Result<bool>;

    /// Replaces the hash of the same password (a Django hash moved in, by Argon2id) if it is
    /// still `old_hash`; sessions and history stay. `false` if the password changed meanwhile.
    async fn rehash_password(&self, user_id: &str, old_hash: &str, new_hash: &str) -> anyhow::Result<bool>;

    /// [`UserStore::set_password`] and the use of a password-reset grant, in one transaction.
    async fn reset_password(
        &self,
        user_id: &str,
        grant_hash: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
        now: UnixTime,
    ) -> anyhow::Result<Reset>;

    /// Changes the display name and profile attributes of `user`. A change of
    /// `preferred_username` claims the new one and releases the old in the same transaction,
    /// only if the user still has the old one (docs/SECURITY.md, "Data integrity"). A change
    /// of `picture` is made only if the picture is still the one `user` has, so that the
    /// upload it replaces is the one deleted.
    async fn update_profile(&self, user: &User, change: &ProfileChange) -> anyhow::Result<ProfileUpdated>;

    /// In one transaction: releases the claim of `old`, claims `new`, sets the user's email
    /// to it and moves the token version on (ending every session), only if the user still
    /// has `old` and token version `version` (docs/SECURITY.md, "Data integrity").
    async fn change_email(&self, user_id: &str, old: &Email, new: &Email, version: u64)
    -> anyhow::Result<EmailChanged>;

    /// In one transaction: deletes the user, only at the address and token version read, with
    /// its email claim and its identities' links, so that no claim is ever left without its
    /// account to block the address. `false` if the user changed meanwhile or is gone.
    async fn delete_user(&self, user: &User) -> anyhow::Result<bool>;

    /// In one transaction: marks the user deactivated, moves its token version on (ending
    /// every session) and locks its address's lockout counter for good, so that every way in
    /// refuses it as a locked account; or, with `false`, clears the mark and the counter.
    /// `false` if the user is gone or its address changed since it was read.
    async fn set_deactivated(&self, user: &User, deactivated: bool) -> anyhow::Result<bool>;

    /// The users whose address starts with `prefix` (not empty), by address, `limit` at a
    /// time from `cursor`.
    async fn users_by_email_prefix(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<User>>;
}

/// Emailed one-time codes with their send and guess windows (docs/SECURITY.md, "Emailed codes").
#[async_trait]
pub trait CodeStore: Send + Sync {
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

    /// Takes back a code [`issue_code`](Self::issue_code) stored whose mail did not leave:
    /// the address's codes are as they were before it (the earlier code, the send count, the
    /// cooldown), so that a failed send spends nothing. If the code was guessed at or
    /// replaced meanwhile, it only dies, and what was counted stays counted.
    async fn withdraw_code(&self, email: &Email, purpose: Purpose, sent: &Sent) -> anyhow::Result<()>;

    /// Kills the pending code of `email` and `purpose`, if any (a sign-up someone started but
    /// never proved, when the address is proven another way); the window's counts stay.
    async fn discard_code(&self, email: &Email, purpose: Purpose) -> anyhow::Result<()>;

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
}

/// Grants: sign-up, reset and MFA tokens between two steps of a flow.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a grant.
    async fn put_grant(&self, grant: &Grant) -> anyhow::Result<()>;

    /// The live grant of `kind` with this token hash.
    async fn grant(&self, token_hash: &str, kind: GrantKind, now: UnixTime) -> anyhow::Result<Option<Grant>>;

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

/// Sessions: one item per refresh-token family.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn put_session(&self, session: &Session) -> anyhow::Result<()>;

    /// The live session with this id.
    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>>;

    /// Replaces the session's token hash `old` by `new`, only if `old` is current and the
    /// session is live at `used.at`, and records the use (time, source, User-Agent). Safe to
    /// repeat: if `new` is current already (this rotation was written, its answer lost, and
    /// the call retried), it is `Rotated` again; `new` is fresh randomness only this rotation
    /// knows (docs/SECURITY.md, rule 76).
    async fn rotate_session(&self, id: &str, old: &str, new: &str, used: &SessionUse) -> anyhow::Result<Rotated>;

    /// Ends a session (its whole refresh-token family).
    async fn delete_session(&self, id: &str) -> anyhow::Result<()>;

    /// The user's live sessions begun under token version `version` (the others are dead:
    /// logout-all ended them), newest first, `limit` at a time from `cursor`.
    async fn user_sessions(
        &self,
        user_id: &str,
        version: u64,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Session>>;

    /// Deletes every session of the user, whatever its token version or expiry: how many.
    async fn delete_user_sessions(&self, user_id: &str) -> anyhow::Result<usize>;
}

/// The per-email lockout counter and the per-source-address counters (docs/SECURITY.md, "Lockout", "Source limits").
#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// Takes a slot for a login attempt on `email` before its secret is checked, as
    /// [`Lockout::begin`](crate::model::Lockout::begin) rules: at most `max` slots, failures included, so that
    /// concurrent guesses cannot get past the limit (docs/SECURITY.md, "Lockout").
    async fn begin_attempt(&self, email: &Email, max: u32, now: UnixTime) -> anyhow::Result<Attempt>;

    /// Turns the slot of the attempt `attempt` (its unique id) into a failure; failures below
    /// `max` decay `window` seconds after the last one. The failures now counted (`max` or
    /// more: locked). Safe to repeat: an attempt counts once, however often its failure is
    /// recorded (an answer lost and the call retried; docs/SECURITY.md, rule 76).
    async fn record_failure(
        &self,
        email: &Email,
        attempt: &str,
        max: u32,
        window: i64,
        now: UnixTime,
    ) -> anyhow::Result<u32>;

    /// Gives back the slot of an attempt whose secret was right but which is not yet a whole
    /// login (a right password before the second factor). Failures stay counted.
    async fn release_attempt(&self, email: &Email) -> anyhow::Result<()>;

    /// Forgets the email's counter (a whole login, or an admin's unlock).
    async fn clear_failures(&self, email: &Email) -> anyhow::Result<()>;

    /// The failures that count at `now` for each email, in order.
    async fn failures(&self, emails: &[Email], now: UnixTime) -> anyhow::Result<Vec<u32>>;

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
}

/// Each user's activity log.
#[async_trait]
pub trait ActivityStore: Send + Sync {
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

    /// Deletes the user's whole activity log.
    async fn delete_activity(&self, user_id: &str) -> anyhow::Result<()>;
}

/// The mail log and the addresses no mail goes to (docs/SECURITY.md, "Mail").
#[async_trait]
pub trait MailLogStore: Send + Sync {
    /// Records a mail sent, kept until `expires_at`: with its user's log when it has one
    /// (else with its address's), and findable by its message id.
    async fn record_mail(&self, record: &MailRecord, expires_at: UnixTime) -> anyhow::Result<()>;

    /// Moves the mail's status to the event's, unless the mail is further on already (a late
    /// event); the record as it is now, or `None` if no unexpired record has that message id.
    async fn record_delivery(&self, event: &DeliveryEvent, now: UnixTime) -> anyhow::Result<Option<MailRecord>>;

    /// Stops mail to `address` (lower-cased) for good, saying why.
    async fn suppress(&self, address: &str, reason: &str, at: UnixTime) -> anyhow::Result<()>;

    /// Whether mail to `address` (lower-cased) is stopped.
    async fn is_suppressed(&self, address: &str) -> anyhow::Result<bool>;

    /// The user's mails and those to `address` before it had an account, newest first,
    /// unexpired, `limit` at a time from `cursor`.
    async fn mails(
        &self,
        user_id: &str,
        address: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<MailRecord>>;

    /// Deletes the user's mail log.
    async fn delete_mails(&self, user_id: &str) -> anyhow::Result<()>;
}

/// The second factor: the TOTP secret, its last step and the recovery codes (docs/SECURITY.md, "Second factor").
#[async_trait]
pub trait AuthenticatorStore: Send + Sync {
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

    /// Replaces every recovery code with the new set (the old ones stop working), if TOTP is
    /// active: one conditional write.
    async fn replace_recovery_codes(&self, user_id: &str, hashes: &[String]) -> anyhow::Result<bool>;

    /// Turns TOTP off: the secrets, the last step and the recovery codes go, and the token
    /// version moves on (every session and pending MFA token ends). `false` if there is no
    /// such user.
    async fn disable_totp(&self, user_id: &str) -> anyhow::Result<bool>;
}

/// Google sign-in: identities linked to accounts, redirect flows under way, nonces used
/// (docs/SECURITY.md, "Google sign-in").
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Stores a redirect flow's state until it is taken or expires.
    async fn put_login_state(&self, state: &LoginState) -> anyhow::Result<()>;

    /// Takes the live flow state with this hash: once, by one conditional delete.
    async fn take_login_state(&self, state_hash: &str, now: UnixTime) -> anyhow::Result<Option<LoginState>>;

    /// Records an ID token's nonce as used until `expires_at`: `false` if it was used before.
    async fn use_nonce(&self, nonce_hash: &str, expires_at: UnixTime, now: UnixTime) -> anyhow::Result<bool>;

    /// The user an identity is linked to.
    async fn user_by_identity(&self, issuer: &str, subject: &str) -> anyhow::Result<Option<User>>;

    /// In one transaction: claims the email, stores the user (its identities already in it)
    /// and links `identity` to it (docs/SECURITY.md, "Data integrity").
    async fn create_user_with_identity(&self, user: &User, identity: &Identity) -> anyhow::Result<Created>;

    /// In one transaction: links `identity` to the user and adds it to the user's list;
    /// `false` if the identity is linked already or there is no such user.
    async fn link_identity(&self, user_id: &str, identity: &Identity) -> anyhow::Result<bool>;

    /// In one transaction: removes the link of `identity` (the user's identity at `position`
    /// in its list) and the list's entry, only while the user has a password; `false` if the
    /// user has none, or the list changed.
    async fn unlink_identity(&self, user_id: &str, identity: &Identity, position: usize) -> anyhow::Result<bool>;
}

/// The first `limit` of `items` (each with its sort key), and the cursor after them if more follow.
pub fn page<T>(mut items: Vec<(String, T)>, limit: usize) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(|(key, _)| key.clone()) } else { None };
    Page { items: items.into_iter().map(|(_, item)| item).collect(), next }
}
