//! Every key and cursor format of the table, and nothing else. One table, keys `pk`
//! (partition) and `sk` (sort), `expires_at` as the TTL attribute:
//!
//! | entity         | pk                | sk                         |
//! |----------------|-------------------|----------------------------|
//! | user           | `USER#<id>`       | `USER`                     |
//! | email claim    | `EMAIL#<email>`   | `CLAIM`                    |
//! | username claim | `USERNAME#<lower-cased username>` | `CLAIM`    |
//! | code + window  | `EMAIL#<email>`   | `CODE#<purpose>`           |
//! | grant          | `GRANT#<digest>`  | `GRANT`                    |
//! | session        | `SESSION#<id>`    | `SESSION`                  |
//! | lockout        | `EMAIL#<email>`   | `LOCKOUT`                  |
//! | source counter | `SOURCE#<ip>`     | `<counter>#<window start>` |
//! | activity       | `USER#<id>`       | `ACT#<time>#<id>`          |
//! | identity link  | `IDENTITY#<issuer>#<subject>` | `LINK`         |
//! | redirect flow  | `OIDC#<digest of state>` | `STATE`             |
//! | mail record    | `USER#<id>` or `MAILTO#<address>` | `MAIL#<time>#<message id>` |
//! | mail pointer   | `MAILID#<message id>` | `MAILID`               |
//! | suppression    | `EMAIL#<address>` | `SUPPRESSED`               |
//! | used nonce     | `NONCE#<digest>`  | `NONCE`                    |
//!
//! Users also carry `gsi1pk = USERS#<shard>` and `gsi1sk = <created_at>#<id>`, so that the
//! index [`USERS_INDEX`] lists them newest first for admins (the shards' pages merged, see
//! [`USER_SHARDS`]); sessions carry `gsi1pk =
//! SESSIONS#<user id>` and `gsi1sk = <created_at>#<id>`, so that the same index lists a
//! user's sessions (devices) newest first. A list's cursor is the sort key of its last item;
//! [`activity_cursor`], [`user_cursor`] and [`session_cursor`] refuse anything else.

use std::collections::HashMap;

use super::items::{Item, s};
use crate::clock::UnixTime;
use crate::model::profile::username_key;
use crate::model::{Activity, Email, MailRecord, Purpose, Session, SourceSlot, User};

/// The index listing users by creation time.
pub const USERS_INDEX: &str = "by-created";

/// How many index partitions the users are spread over. One partition key value takes
/// about 1,000 write units a second, and every write to a user item (a sign-up, a login's
/// record, a token version moved on) is also a write to its index partition: with one value
/// for all users, as before, sign-ups and logins together stopped at about 1,000 a second
/// (500 for a 2 KB user item). Sixteen hold 16,000 units a second; an admin's page reads
/// each shard once and merges (docs/DESIGN.md, "Hot keys").
pub const USER_SHARDS: u32 = 16;

/// How many index partitions the email claims of one first character are spread over.
pub const CLAIM_SHARDS: u32 = 4;

/// The one index partition every user was in before [`USER_SHARDS`]: still read, so that
/// accounts written then stay listed until their item is written whole again.
const LEGACY_USERS_PARTITION: &str = "USER";

/// A stable spread of `text` over `shards` (FNV-1a): the same text, the same shard, on every
/// machine and in every release.
fn shard(text: &str, shards: u32) -> u32 {
    let hash = text.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    hash % shards
}

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

/// The claim that makes a `preferred_username` (lower-cased) one user's.
pub fn username_claim(username: &str) -> Item {
    key(format!("USERNAME#{}", username_key(username)), "CLAIM")
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

/// The index partition of an email claim: claims carry `gsi1pk = EMAILS#<first
/// character>#<shard>` and `gsi1sk = <email>`, so that admins find accounts by a prefix of
/// their address in the [`CLAIM_SHARDS`] partitions of its first character. A letter is the
/// first of up to a tenth of all addresses; spread four ways, no claim partition takes more
/// writes than the users' shards do.
pub fn claims_partition(email: &str) -> String {
    format!("{}#{}", claims_letter(email), shard(email, CLAIM_SHARDS))
}

fn claims_letter(email: &str) -> String {
    format!("EMAILS#{}", email.chars().next().unwrap_or('-'))
}

/// Every index partition an address starting with `prefix` may be in: the shards of its
/// first character, and the one partition of that character before the claims were spread.
pub fn claims_partitions(prefix: &str) -> Vec<String> {
    let letter = claims_letter(prefix);
    let mut partitions: Vec<String> = (0..CLAIM_SHARDS).map(|i| format!("{letter}#{i}")).collect();
    partitions.push(letter);
    partitions
}

/// The sort-key range of the addresses after `cursor` that start with `prefix`, if the
/// cursor is one this list gave out. Addresses are printable ASCII, so nothing sorts
/// between `cursor` and `cursor + "!"`, and nothing that starts with `prefix` after
/// `prefix + DEL`.
pub fn claims_after(prefix: &str, cursor: &str) -> Option<(String, String)> {
    let valid = cursor.starts_with(prefix) && Email::parse(cursor).is_ok_and(|e| e.as_str() == cursor);
    valid.then(|| (format!("{cursor}!"), format!("{prefix}\u{7f}")))
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

/// The sort keys of mail records start so.
pub const MAIL_PREFIX: &str = "MAIL#";

/// The partition of a mail's record: its user's, else its address's.
pub fn mail_partition(user_id: Option<&str>, address: &str) -> String {
    match user_id {
        Some(id) => format!("USER#{id}"),
        None => format!("MAILTO#{address}"),
    }
}

/// A mail record's sort key: time, the send's nanoseconds (the order within a second), then
/// the message id.
pub fn mail_sort_key(record: &MailRecord) -> String {
    format!("{MAIL_PREFIX}{:012}#{:020}#{}", record.sent_at, record.sent_nanos, record.message_id)
}

/// The sort key a mail-log cursor names, if it is one the log gave out.
pub fn mail_cursor(cursor: &str) -> Option<&str> {
    let mut parts = cursor.strip_prefix(MAIL_PREFIX)?.splitn(3, '#');
    let digits =
        |part: Option<&str>, len: usize| part.is_some_and(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()));
    let valid = digits(parts.next(), 12)
        && digits(parts.next(), 20)
        && parts.next().is_some_and(|id| (1..=128).contains(&id.len()));
    valid.then_some(cursor)
}

/// The pointer from a message id to its record.
pub fn mail_pointer(message_id: &str) -> Item {
    key(format!("MAILID#{message_id}"), "MAILID")
}

/// The mark that stops mail to an address.
pub fn suppression(address: &str) -> Item {
    key(format!("EMAIL#{address}"), "SUPPRESSED")
}

/// A user's place in [`USERS_INDEX`]: creation time, then id.
pub fn user_order(user: &User) -> String {
    format!("{:012}#{}", user.created_at, user.id)
}

/// The index partition of a user's item.
pub fn users_partition(user_id: &str) -> String {
    format!("USERS#{:02}", shard(user_id, USER_SHARDS))
}

/// Every index partition a user may be in: the shards, and the one partition of before.
pub fn users_partitions() -> Vec<String> {
    (0..USER_SHARDS).map(|i| format!("USERS#{i:02}")).chain([LEGACY_USERS_PARTITION.to_owned()]).collect()
}

/// A users cursor, if it is one this list gave out: the sort key of the last user shown.
pub fn user_cursor(cursor: &str) -> Option<&str> {
    let (at, id) = cursor.split_once('#')?;
    let valid = at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() && id.len() <= 64;
    valid.then_some(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten thousand users and claims land in every shard, none with more than a fair share
    /// and a half: no index partition is hot because of how ids or addresses look.
    #[test]
    fn users_and_claims_spread_over_every_shard() {
        let mut users = HashMap::<String, u32>::new();
        let mut claims = HashMap::<String, u32>::new();
        let random = crate::random::SeededRandom::new(19);
        for i in 0..10_000 {
            *users.entry(users_partition(&crate::random::uuid_v4(&random))).or_default() += 1;
            *claims.entry(claims_partition(&format!("j{i}@example.com"))).or_default() += 1;
        }
        assert_eq!(users.len(), USER_SHARDS as usize, "{users:?}");
        assert!(users.values().all(|&n| n < 10_000 / USER_SHARDS * 3 / 2), "{users:?}");
        assert!(users.keys().all(|k| users_partitions().contains(k)));
        assert_eq!(claims.len(), CLAIM_SHARDS as usize, "{claims:?}");
        assert!(claims.values().all(|&n| n < 10_000 / CLAIM_SHARDS * 3 / 2), "{claims:?}");
        assert!(claims.keys().all(|k| claims_partitions("jo").contains(k)));
        assert_eq!(users_partition("the same id"), users_partition("the same id"), "stable");
    }

    #[test]
    fn cursors_are_only_those_the_lists_give_out() {
        assert_eq!(user_cursor("000000000042#abc"), Some("000000000042#abc"));
        assert_eq!(user_cursor("42#abc"), None);
        assert_eq!(claims_after("an", "ann@example.com"), Some(("ann@example.com!".into(), "an\u{7f}".into())));
        assert_eq!(claims_after("an", "bob@example.com"), None, "not of the prefix");
        assert_eq!(claims_after("an", "an"), None, "not an address");
    }
}
