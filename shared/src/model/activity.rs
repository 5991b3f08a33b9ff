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
    /// The source IP API Gateway saw.
    pub source_ip: Option<String>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, if there is one (opaque to clients).
    pub next: Option<String>,
}
