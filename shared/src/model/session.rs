//! Sessions: the server side of one refresh-token family, and the device it was started on.

use crate::clock::UnixTime;

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
    /// How it began, as the activity log names it (`password`, `google+authenticator`, …);
    /// `None` for a session stored before sessions kept it.
    pub method: Option<String>,
    /// When it began or its refresh token was last used.
    pub last_used_at: UnixTime,
    /// The source address it began from.
    pub first_ip: Option<String>,
    /// The source address of its last use.
    pub last_ip: Option<String>,
    /// The User-Agent of its last use (at most [`MAX_USER_AGENT_CHARS`]).
    pub user_agent: Option<String>,
}

/// How much of a User-Agent header is kept.
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// One use of a session (its start or a refresh): when, from where, by what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUse {
    pub at: UnixTime,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}
