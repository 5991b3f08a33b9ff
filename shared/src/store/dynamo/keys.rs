//! Every key and cursor format of the table, and nothing else. One table, keys `pk`
//! (partition) and `sk` (sort), `expires_at` as the TTL attribute:
//!
//! | entity         | pk                | sk                         |
//! |----------------|-------------------|----------------------------|
//! | user           | `USER#<id>`       | `USER`                     |
//! | email claim    | `EMAIL#<email>`   | `CLAIM`                    |
//! | code + window  | `EMAIL#<email>`   | `CODE#<purpose>`           |
//! | grant          | `GRANT#<digest>`  | `GRANT`                    |
//! | session        | `SESSION#<id>`    | `SESSION`                  |
//! | lockout        | `EMAIL#<email>`   | `LOCKOUT`                  |
//! | source counter | `SOURCE#<ip>`     | `<counter>#<window start>` |
//! | activity       | `USER#<id>`       | `ACT#<time>#<id>`          |
//! | identity link  | `IDENTITY#<issuer>#<subject>` | `LINK`         |
//! | redirect flow  | `OIDC#<digest of state>` | `STATE`             |
//! | used nonce     | `NONCE#<digest>`  | `NONCE`                    |
//!
//! Users also carry `gsi1pk = "USER"` and `gsi1sk = <created_at>#<id>`, so that the index
//! [`USERS_INDEX`] lists them newest first for admins; sessions carry `gsi1pk =
//! SESSIONS#<user id>` and `gsi1sk = <created_at>#<id>`, so that the same index lists a
//! user's sessions (devices) newest first. A list's cursor is the sort key of its last item;
//! [`activity_cursor`], [`user_cursor`] and [`session_cursor`] refuse anything else.

use std::collections::HashMap;

use super::items::{Item, s};
use crate::clock::UnixTime;
use crate::model::{Activity, Email, Purpose, Session, SourceSlot, User};

/// The index listing users by creation time.
pub const USERS_INDEX: &str = "by-created";

/// The index partition every user is in.
pub const USERS_PARTITION: &str = "USER";

/// The sort-key prefix of activity entries.
pub const ACTIVITY_PREFIX: &str = "ACT#";

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// The key of a user's item.
pub fn user(id: &str) -> Item {
    key(format!("USER#{id}"), "USER")
}

/// The claim that makes an email address one user's.
pub fn email_claim(email: &Email) -> Item {
    key(format!("EMAIL#{email}"), "CLAIM")
}

/// An email's code (and its window) for one purpose.
pub fn code(email: &Email, purpose: Purpose) -> Item {
    key(format!("EMAIL#{email}"), &format!("CODE#{}", purpose.as_str()))
}

/// A grant, by the digest of its token.
pub fn grant(token_hash: &str) -> Item {
    key(format!("GRANT#{token_hash}"), "GRANT")
}

/// The key of a session's item.
pub fn session(id: &str) -> Item {
    key(format!("SESSION#{id}"), "SESSION")
}

/// The index partition of a user's sessions.
pub fn sessions_partition(user_id: &str) -> String {
    format!("SESSIONS#{user_id}")
}

/// A session's place in its user's index partition: creation time, then id.
pub fn session_order(session: &Session) -> String {
    format!("{:012}#{}", session.created_at, session.id)
}

/// The index key a sessions cursor of `user_id` continues from, if it is one this list gave out.
pub fn session_cursor(user_id: &str, cursor: &str) -> Option<Item> {
    let (at, id) = cursor.split_once('#')?;
    let valid = at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() && id.len() <= 64;
    valid.then(|| {
        let mut start = session(id);
        start.extend([("gsi1pk".to_owned(), s(sessions_partition(user_id))), ("gsi1sk".to_owned(), s(cursor))]);
        start
    })
}

/// The index partition of the email claims whose address starts as `email` does: claims
/// carry `gsi1pk = EMAILS#<first character>` and `gsi1sk = <email>`, so that admins find
/// accounts by a prefix of their address in one partition of [`USERS_INDEX`].
pub fn claims_partition(email: &str) -> String {
    format!("EMAILS#{}", email.chars().next().unwrap_or('-'))
}

/// The index key a claims cursor continues from: an address that starts with `prefix`.
pub fn claim_cursor(prefix: &str, cursor: &str) -> Option<Item> {
    let valid = cursor.starts_with(prefix) && Email::parse(cursor).is_ok_and(|e| e.as_str() == cursor);
    valid.then(|| {
        let mut start = email_claim(&Email::from_stored(cursor.to_owned()));
        start.extend([("gsi1pk".to_owned(), s(claims_partition(cursor))), ("gsi1sk".to_owned(), s(cursor))]);
        start
    })
}

/// The link of an identity at an OpenID provider to a user.
pub fn identity(issuer: &str, subject: &str) -> Item {
    key(format!("IDENTITY#{issuer}#{subject}"), "LINK")
}

/// A redirect flow under way, by the digest of its state.
pub fn login_state(state_hash: &str) -> Item {
    key(format!("OIDC#{state_hash}"), "STATE")
}

/// A used ID-token nonce, by its digest.
pub fn nonce(nonce_hash: &str) -> Item {
    key(format!("NONCE#{nonce_hash}"), "NONCE")
}

/// An email's lockout counter.
pub fn lockout(email: &Email) -> Item {
    key(format!("EMAIL#{email}"), "LOCKOUT")
}

/// The email whose lockout counter `item` is.
pub fn lockout_email(item: &Item) -> Option<&str> {
    item.get("pk")?.as_s().ok()?.strip_prefix("EMAIL#")
}

/// A source address's counter in one window.
pub fn source(slot: &SourceSlot) -> Item {
    key(format!("SOURCE#{}", slot.source), &format!("{}#{:012}", slot.counter.as_str(), slot.window_start))
}

/// A user's activity log, as a partition key value.
pub fn activity_partition(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// An activity entry: time first, so that keys sort by time, then its id, so that two
/// entries in one second do not collide.
pub fn activity(user_id: &str, entry: &Activity) -> Item {
    key(activity_partition(user_id), &activity_sort_key(entry.at, &entry.id))
}

fn activity_sort_key(at: UnixTime, id: &str) -> String {
    format!("{ACTIVITY_PREFIX}{at:012}#{id}")
}

/// The activity key a cursor continues from, if it is one this list gave out.
pub fn activity_cursor(user_id: &str, cursor: &str) -> Option<Item> {
    let (at, id) = cursor.strip_prefix(ACTIVITY_PREFIX)?.split_once('#')?;
    let valid = at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty();
    valid.then(|| key(activity_partition(user_id), cursor))
}

/// The cursor after an activity entry.
pub fn activity_cursor_of(entry: &Activity) -> String {
    activity_sort_key(entry.at, &entry.id)
}

/// A user's place in [`USERS_INDEX`]: creation time, then id.
pub fn user_order(user: &User) -> String {
    format!("{:012}#{}", user.created_at, user.id)
}

/// The index key a users cursor continues from, if it is one this list gave out.
pub fn user_cursor(cursor: &str) -> Option<Item> {
    let (at, id) = cursor.split_once('#')?;
    let valid = at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() && id.len() <= 64;
    valid.then(|| {
        let mut start = user(id);
        start.extend([("gsi1pk".to_owned(), s(USERS_PARTITION)), ("gsi1sk".to_owned(), s(cursor))]);
        start
    })
}
