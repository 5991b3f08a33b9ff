//! The user's activity log: what happened to the account, when, and from where.

use serde::Serialize;

use crate::app::App;
use crate::clock::rfc3339;
use crate::model::{Activity, Email, Method, Origin, SecondFactor, User};
use crate::random;
use crate::tokens::digest;

/// What can appear in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The account was created, by proving the address and setting a password, or by Google.
    SignupCompleted(Method),
    /// A login succeeded: its first factor, and its second if the account has one.
    LoginSuccess(Method, Option<SecondFactor>),
    /// A login failed (wrong password or code).
    LoginFailure,
    /// A session ended.
    Logout,
    /// Every session ended.
    LogoutAll,
    /// The owner ended one session from the device list.
    SessionEnded,
    /// The owner ended every session but the current one.
    OtherSessionsEnded,
    /// A login or reset code was mailed.
    CodeSent,
    /// The password was reset.
    PasswordReset,
    /// The password was changed.
    PasswordChange,
    /// The account locked after failed logins.
    Locked,
    /// An admin unlocked the account.
    Unlocked,
    /// The profile changed.
    ProfileUpdate,
    /// A mail to the account bounced for good or was marked as spam: no more mail goes to
    /// its address.
    MailStopped,
    /// Google Authenticator was turned on.
    MfaEnabled,
    /// Google Authenticator was turned off.
    MfaDisabled,
    /// A recovery code was used.
    RecoveryCodeUsed,
    /// A new set of recovery codes replaced the old.
    RecoveryCodesRenewed,
    /// An admin removed Google Authenticator (and ended every session).
    MfaRemovedByAdmin,
    /// A password reset was asked for while the account is locked (no code was sent).
    ResetBlocked,
    /// Someone tried to sign up with the account's address (no code was sent).
    SignupAttempted,
    /// Another account asked to move to this account's address (no code was sent).
    EmailChangeAttempted,
    /// A code went to a new address the owner asked to move the account to.
    EmailChangeRequested,
    /// The account's address changed (every other session ended).
    EmailChanged,
    /// An admin ended every session of the account.
    SessionsEndedByAdmin,
    /// An admin deactivated the account.
    Deactivated,
    /// An admin reactivated the account.
    Reactivated,
    /// An admin set the account's address (putting back one changed against the owner's will).
    EmailSetByAdmin,
    /// A Google account was linked (its verified email is the account's).
    GoogleLinked,
    /// A Google account was unlinked by the owner.
    GoogleUnlinked,
}

impl Event {
    /// The stable name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignupCompleted(_) => "signup_completed",
            Self::LoginSuccess(..) => "login_success",
            Self::LoginFailure => "login_failure",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::SessionEnded => "session_ended",
            Self::OtherSessionsEnded => "other_sessions_ended",
            Self::CodeSent => "code_sent",
            Self::PasswordReset => "password_reset",
            Self::PasswordChange => "password_change",
            Self::Locked => "locked",
            Self::Unlocked => "unlocked",
            Self::ProfileUpdate => "profile_update",
            Self::MailStopped => "mail_stopped",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::MfaRemovedByAdmin => "mfa_removed_by_admin",
            Self::ResetBlocked => "reset_blocked",
            Self::SignupAttempted => "signup_attempted",
            Self::EmailChangeAttempted => "email_change_attempted",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::SessionsEndedByAdmin => "sessions_ended_by_admin",
            Self::Deactivated => "deactivated",
            Self::Reactivated => "reactivated",
            Self::EmailSetByAdmin => "email_set_by_admin",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesRenewed => "recovery_codes_renewed",
            Self::GoogleLinked => "google_linked",
            Self::GoogleUnlinked => "google_unlinked",
        }
    }

    /// How, for a sign-up or a login: the first factor, and `+` the second if one was used
    /// (`password`, `google+authenticator`, `email_code+recovery_code`).
    pub fn method(self) -> Option<String> {
        match self {
            Self::SignupCompleted(method) | Self::LoginSuccess(method, None) => Some(method.as_str().to_owned()),
            Self::LoginSuccess(method, Some(second)) => Some(format!("{}+{}", method.as_str(), second.as_str())),
            _ => None,
        }
    }
}

/// Records `event` for the user. The log is an audit aid, not part of the operation: a
/// failure to write it is logged and does not fail the request.
pub async fn record(app: &App, user_id: &str, event: Event, origin: &Origin) {
    write(app, user_id, event, origin, app.config.activity_retention.as_secs() as i64).await;
}

/// How long an entry for an address without an account is kept.
const UNCLAIMED_RETENTION_SECONDS: i64 = 60 * 60;

/// Records `event` for the account holding `email`, if there is one; for an address without
/// one, writes the same entry to a log nobody reads (kept an hour). So a request costs the
/// same store operations whether or not the address has an account, and its timing does not
/// tell (docs/SECURITY.md, "Enumeration").
pub async fn record_for(app: &App, user: Option<&User>, email: &Email, event: Event, origin: &Origin) {
    match user {
        Some(user) => record(app, &user.id, event, origin).await,
        None => {
            write(app, &format!("unclaimed-{}", digest(email.as_str())), event, origin, UNCLAIMED_RETENTION_SECONDS)
                .await
        }
    }
}

/// Records an admin's action on the account of `user_id`, with the admin's id.
pub async fn record_by_admin(app: &App, user_id: &str, event: Event, origin: &Origin, admin_id: &str) {
    let retention = app.config.activity_retention.as_secs() as i64;
    write_entry(app, user_id, event, origin, retention, Some(admin_id)).await;
}

async fn write(app: &App, user_id: &str, event: Event, origin: &Origin, retention: i64) {
    write_entry(app, user_id, event, origin, retention, None).await;
}

async fn write_entry(app: &App, user_id: &str, event: Event, origin: &Origin, retention: i64, actor: Option<&str>) {
    let now = app.now();
    // The id orders entries of the same second: the wall clock's nanoseconds (only a
    // tie-breaker; `at` comes from the injected clock), then randomness against collisions.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let entry = Activity {
        id: format!("{nanos:020}{}", random::token::<6>(&*app.random)),
        at: now,
        event: event.as_str().to_owned(),
        method: event.method(),
        source_ip: origin.source_ip.clone(),
        user_agent: origin.kept_user_agent(),
        actor: actor.map(str::to_owned),
    };
    let expires_at = now + retention;
    if let Err(error) = app.store.record_activity(user_id, &entry, expires_at).await {
        tracing::error!(error = format!("{error:#}"), event = event.as_str(), "recording activity failed");
    }
}

/// An activity entry as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityView {
    /// RFC 3339.
    pub at: String,
    /// The event's name.
    pub event: String,
    /// How, for `signup_completed` and `login_success` (`password`, `email_code`, `google`,
    /// then `+authenticator` or `+recovery_code` when a second factor was used); else null.
    pub method: Option<String>,
    /// The source IP, if known.
    pub source_ip: Option<String>,
    /// The User-Agent, if sent.
    pub user_agent: Option<String>,
    /// The admin's id, for an admin's action on the account; else null.
    pub by_admin: Option<String>,
}

impl From<Activity> for ActivityView {
    fn from(entry: Activity) -> Self {
        Self {
            at: rfc3339(entry.at),
            event: entry.event,
            method: entry.method,
            source_ip: entry.source_ip,
            user_agent: entry.user_agent,
            by_admin: entry.actor,
        }
    }
}
