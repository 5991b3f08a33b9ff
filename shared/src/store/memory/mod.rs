//! The embedded store of the local server: everything in one map behind one lock, so each
//! operation is trivially atomic. Forgets everything on restart.

mod activity;
mod authenticator;
mod codes;
mod grants;
mod identities;
mod lockout;
mod mails;
mod sessions;
mod users;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use super::BadCursor;
use crate::clock::UnixTime;
use crate::model::{
    Activity, CodeState, Grant, Lockout, LoginState, MailRecord, Purpose, Session, SourceCounter, User,
};

/// An in-memory [`super::Store`].
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, User>,
    /// Email → user id: the uniqueness claim.
    emails: HashMap<String, String>,
    /// Lower-cased `preferred_username` → user id: its uniqueness claim.
    usernames: HashMap<String, String>,
    codes: HashMap<(String, Purpose), CodeState>,
    grants: HashMap<String, Grant>,
    /// Grant hash → uses counted.
    grant_attempts: HashMap<String, u32>,
    sessions: HashMap<String, Session>,
    /// Email → its lockout counter.
    lockouts: HashMap<String, Lockout>,
    /// Email → the attempts whose failures it counted (each counts once).
    counted_attempts: HashMap<String, HashSet<String>>,
    /// (source, counter, window start) → slots taken.
    sources: HashMap<(String, SourceCounter, UnixTime), u32>,
    /// User id → activity by sort key, with each entry's expiry.
    activity: HashMap<String, BTreeMap<String, (Activity, UnixTime)>>,
    /// (issuer, subject) → user id.
    identities: HashMap<(String, String), String>,
    /// State hash → a redirect flow under way.
    login_states: HashMap<String, LoginState>,
    /// Nonce hash → when its record may go.
    nonces: HashMap<String, UnixTime>,
    /// Message id → a mail's record and when it may go.
    mails: HashMap<String, (MailRecord, UnixTime)>,
    /// Address → why no mail goes to it.
    suppressed: HashMap<String, String>,
}

impl Inner {
    fn set_password(&mut self, user_id: &str, old_hash: &str, new_hash: &str, history: &[String]) -> bool {
        match self.users.get_mut(user_id) {
            Some(user) if user.password_hash == old_hash => {
                user.password_hash = new_hash.to_owned();
                user.password_history = history.to_vec();
                user.token_version += 1;
                true
            }
            _ => false,
        }
    }
}

/// Where an entry of a list sorts, newest last: its time, then its id. Also the list's
/// cursor, which [`checked_cursor`] checks.
fn order_key(at: UnixTime, id: &str) -> String {
    format!("{at:012}#{id}")
}

/// A cursor this store gave out, or [`BadCursor`].
fn checked_cursor(text: Option<&str>) -> Result<Option<&str>, BadCursor> {
    let Some(text) = text else { return Ok(None) };
    let valid = text.split_once('#').is_some_and(|(at, id)| {
        at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() && id.len() <= 64
    });
    if valid { Ok(Some(text)) } else { Err(BadCursor) }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied operation: every
        // operation computes its result before it writes.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
