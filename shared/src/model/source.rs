//! Where a request came from, and the per-source-address counters (docs/SECURITY.md,
//! "Source limits").

use crate::clock::{UnixTime, seconds_until};
use crate::model::session::MAX_USER_AGENT_CHARS;

/// Where a request came from, as API Gateway saw it (never a client-supplied header).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The source IP of the TCP connection that reached API Gateway.
    pub source_ip: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
    /// API Gateway's request id.
    pub request_id: Option<String>,
}

impl Origin {
    /// The User-Agent as stored: its first [`MAX_USER_AGENT_CHARS`] characters.
    pub fn kept_user_agent(&self) -> Option<String> {
        self.user_agent.as_ref().map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
    }
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
