//! Users moved in from the old Django backend (issue 15): what a Django user becomes here
//! ([`moving_in`], [`move_in`], for `stepauth-import`), and the login that proves a password
//! against a Django hash replacing that hash with Argon2id (docs/SECURITY.md, "Passwords").

use crate::app::App;
use crate::clock::{UnixTime, date_of};
use crate::invalid::Invalid;
use crate::model::profile::full_name;
use crate::model::user::{self, MAX_NAME_CHARS};
use crate::model::{Attribute, Email, Profile, Role, User};
use crate::password::{self, Password};
use crate::store::{Created, Store};
use crate::totp;

/// After `password` matched the user's stored hash: if that hash was made otherwise than
/// today's (a Django hash moved in), replaces it with an Argon2id hash of the same password,
/// in one conditional write that holds only while the stored hash is still the old one.
/// Sessions and the password history stay. A failure is logged and leaves the old hash,
/// which still works: the next login tries again.
pub async fn upgrade_password(app: &App, user: &User, password: Password) {
    if !password::needs_upgrade(&user.password_hash) {
        return;
    }
    let upgraded = match password::hash(password, &*app.random).await {
        Ok(new_hash) => app.store.rehash_password(&user.id, &user.password_hash, &new_hash).await,
        Err(error) => Err(error),
    };
    match upgraded {
        Ok(true) => tracing::info!(user = user.id, "a moved-in password hash was upgraded to Argon2id"),
        Ok(false) => tracing::info!(user = user.id, "the password changed before its hash could be upgraded"),
        Err(error) => tracing::warn!(user = user.id, error = format!("{error:#}"), "upgrading a password hash failed"),
    }
}

/// One user of the old backend, its fields read from the export (the import maps the names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DjangoUser {
    /// `email`.
    pub email: String,
    /// `name`, or `first_name` and `last_name` joined.
    pub name: String,
    /// `password`: a Django hash, or the unusable `!…`.
    pub password: String,
    /// `is_active`: an inactive user moves in locked.
    pub is_active: bool,
    /// `is_staff` or `is_superuser`: an admin.
    pub is_admin: bool,
    /// `date_joined`, as Django writes it (ISO 8601).
    pub date_joined: Option<String>,
    /// `last_login`, as Django writes it.
    pub last_login: Option<String>,
    /// `google_authenticator_secret`: base32, or empty.
    pub totp_secret: Option<String>,
    /// What the old user table kept of the person, by the attribute each becomes:
    /// `first_name` → `given_name`, `last_name` → `family_name`, `username` →
    /// `preferred_username`, the short name → `nickname`, `phone` → `phone_number`,
    /// `gender`, `date_of_birth` → `birthdate`, the profile picture's URL → `picture`.
    pub profile: Vec<(Attribute, String)>,
}

/// Why a user cannot move in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The email does not parse.
    #[error("bad email")]
    BadEmail,
    /// The password is a hash stepauth cannot verify.
    #[error("unknown hash format ({0})")]
    Hash(password::django::Unsupported),
    /// `date_joined` or `last_login` is not an ISO 8601 time.
    #[error("bad date in {0}")]
    BadDate(&'static str),
    /// The authenticator secret is not base32, or too short.
    #[error("bad authenticator secret")]
    BadSecret,
}

/// A user ready to move in: the account, and whether it starts locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovingIn {
    /// The account as stored.
    pub user: User,
    /// Whether it starts locked (an inactive Django user): an admin unlocks it.
    pub locked: bool,
    /// The old profile's values the rules here refuse (`phone_number: is not a valid phone
    /// number`): left out, the user moves in without them.
    pub dropped: Vec<String>,
}

/// The account a Django user becomes, with the id given: its email case-folded, its hash
/// kept as Django wrote it (verified until the first login replaces it), an admin if staff,
/// locked if inactive, its dates kept, its authenticator secret active (no recovery codes
/// yet). `now` stands in for a missing `date_joined`.
pub fn moving_in(old: &DjangoUser, id: String, now: UnixTime) -> Result<MovingIn, Refused> {
    let email = Email::parse(&old.email).map_err(|_| Refused::BadEmail)?;
    if password::usable(&old.password) {
        password::django::Hash::parse(&old.password).map_err(Refused::Hash)?;
    } else if !old.password.starts_with('!') {
        // An empty password field: Django's own `set_unusable_password` would have written `!…`.
        return Err(Refused::Hash(password::django::Unsupported::UnknownFormat));
    }
    let created_at = match old.date_joined.as_deref() {
        Some(text) => parse_time(text).ok_or(Refused::BadDate("date_joined"))?,
        None => now,
    };
    let last_login =
        old.last_login.as_deref().map(|t| parse_time(t).ok_or(Refused::BadDate("last_login"))).transpose()?;
    let totp_secret = match old.totp_secret.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(secret) => Some(totp::parse_moved_in_secret(secret).ok_or(Refused::BadSecret)?),
        None => None,
    };
    // Django kept any name: here a display name follows its rules (docs/SECURITY.md,
    // "Input"), so characters it refuses are dropped rather than the user refused.
    let cleaned: String = old.name.chars().filter(|c| !c.is_control()).collect();
    let name = user::display_name(&cleaned.chars().take(MAX_NAME_CHARS).collect::<String>())
        .or_else(|_| {
            user::display_name(
                &cleaned
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                    .take(MAX_NAME_CHARS)
                    .collect::<String>(),
            )
        })
        .unwrap_or_else(|_| email.as_str().split('@').next().unwrap_or_default().to_owned());
    let today = date_of(now);
    let mut profile = Profile::new();
    let mut dropped = Vec::new();
    for (attribute, value) in old.profile.iter().filter(|(_, v)| !v.trim().is_empty()) {
        match attribute.parse(value.trim(), today) {
            Ok(value) => drop(profile.insert(*attribute, value)),
            Err(Invalid(reason)) => dropped.push(format!("{} dropped: {reason}", attribute.as_str())),
        }
    }
    // A model without `name` kept first and last names: they make it.
    let name = match old.name.trim().is_empty() {
        true => full_name(&profile).unwrap_or(name),
        false => name,
    };
    let user = User {
        last_login,
        mfa_enabled: totp_secret.is_some(),
        totp_secret,
        role: if old.is_admin { Role::Admin } else { Role::User },
        profile,
        ..User::new(id, email, name, old.password.clone(), created_at)
    };
    Ok(MovingIn { user, locked: !old.is_active, dropped })
}

/// How a user's move went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// The account was created.
    Imported,
    /// The account was created without its username, which another account holds.
    ImportedWithoutUsername,
    /// An account with the email is there already (an earlier run, or someone who signed up
    /// here): nothing was written.
    Existing,
}

/// Stores a user moving in: the email claimed and the account (and its lock) written in one
/// transaction, as sign-up does; nothing if the email has an account already.
pub async fn move_in(store: &dyn Store, moving: &MovingIn) -> anyhow::Result<Moved> {
    Ok(match store.import_user(&moving.user, moving.locked).await? {
        Created::Created => Moved::Imported,
        Created::UsernameTaken => {
            let mut user = moving.user.clone();
            user.profile.remove(&Attribute::PreferredUsername);
            match store.import_user(&user, moving.locked).await? {
                Created::Created => Moved::ImportedWithoutUsername,
                _ => Moved::Existing,
            }
        }
        Created::EmailTaken | Created::IdentityTaken | Created::GrantInvalid => Moved::Existing,
    })
}

/// A time as Django's JSON serializer writes it: RFC 3339 (`2024-01-11T08:00:00Z`,
/// `…08:00:00.123456+00:00`), or without a zone (`USE_TZ = False`: read as UTC), or the
/// space-separated form of a CSV export.
fn parse_time(text: &str) -> Option<UnixTime> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim().replacen(' ', "T", 1);
    if let Ok(at) = time::OffsetDateTime::parse(&text, &Rfc3339) {
        return Some(at.unix_timestamp());
    }
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    time::PrimitiveDateTime::parse(&text, &format).ok().map(|at| at.assume_utc().unix_timestamp())
}
