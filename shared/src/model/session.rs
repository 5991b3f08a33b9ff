//! Sessions: the server side of one refresh-token family.

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
}
