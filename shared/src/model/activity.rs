//! A user's activity log, and the pages lists are read in.

use crate::clock::UnixTime;

/// One entry of a user's activity log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// A random id, unique within the user's log.
    pub id: String,
    /// When it happened.
    pub at: UnixTime,
    /// What happened (`login_success`, `code_sent`, …).
    pub event: String,
    /// How, for a sign-up or a login (`password`, `google+authenticator`, …).
    pub method: Option<String>,
    /// The source IP API Gateway saw.
    pub source_ip: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
    /// The admin who did it, for an admin's action on the account.
    pub actor: Option<String>,
}

/// The first factor a sign-up or login used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The account's password.
    Password,
    /// A code mailed to the account's address.
    EmailCode,
    /// A Google ID token.
    Google,
}

impl Method {
    /// The stable name (in the activity log and in stored MFA grants).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::EmailCode => "email_code",
            Self::Google => "google",
        }
    }

    /// The method a stored name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Password, Self::EmailCode, Self::Google].into_iter().find(|m| m.as_str() == name)
    }
}

/// The second factor a login used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// A code from the authenticator app.
    Authenticator,
    /// One of the recovery codes.
    RecoveryCode,
}

impl SecondFactor {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticator => "authenticator",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, if there is one (opaque to clients).
    pub next: Option<String>,
}
