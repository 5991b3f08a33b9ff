//! User accounts, their roles, and the display name's rules.

use crate::clock::UnixTime;
use crate::invalid::Invalid;
use crate::model::{Custom, Email, Identity, Profile};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// A random UUID.
    pub id: String,
    /// Trimmed and case-folded; unique across users.
    pub email: Email,
    /// The display name.
    pub name: String,
    /// The standard profile attributes the person set.
    pub profile: Profile,
    /// The deployment's own attributes (`STEPAUTH_CUSTOM_ATTRIBUTES`) that are set.
    pub custom: Custom,
    /// Argon2id PHC string; empty for an account made by Google sign-in until a password is
    /// set through the reset flow (no password then matches it).
    pub password_hash: String,
    /// When the account was created.
    pub created_at: UnixTime,
    /// When the user last logged in.
    pub last_login: Option<UnixTime>,
    /// Moves on at logout-all; access tokens and sessions of an older version are dead.
    pub token_version: u64,
    /// Whether a second factor is active.
    pub mfa_enabled: bool,
    /// What the user may do.
    pub role: Role,
    /// Hashes of earlier passwords, newest first (at most [`PASSWORD_HISTORY`]).
    pub password_history: Vec<String>,
    /// The active TOTP secret (base32), when `mfa_enabled`.
    pub totp_secret: Option<String>,
    /// A TOTP secret waiting for its first code.
    pub totp_pending: Option<String>,
    /// The last TOTP step accepted; a code of this step or older is refused.
    pub totp_last_step: Option<u64>,
    /// Keyed hashes of the unused recovery codes.
    pub recovery_codes: Vec<String>,
    /// Identities at OpenID providers (Google) linked to the account.
    pub identities: Vec<Identity>,
    /// An admin deactivated the account: it cannot sign in by any path, and answers as a
    /// locked one does, until an admin reactivates it.
    pub deactivated: bool,
}

impl User {
    /// Whether the account has a password (one Google made may not: it proves changes by a
    /// code mailed to its address instead, and no password matches its empty hash).
    pub fn has_password(&self) -> bool {
        !self.password_hash.is_empty()
    }

    /// A new account: no login yet, token version 0, an ordinary user, no second factor.
    pub fn new(id: String, email: Email, name: String, password_hash: String, created_at: UnixTime) -> Self {
        Self {
            id,
            email,
            name,
            profile: Profile::new(),
            custom: Custom::new(),
            password_hash,
            created_at,
            last_login: None,
            token_version: 0,
            mfa_enabled: false,
            role: Role::User,
            password_history: Vec::new(),
            totp_secret: None,
            totp_pending: None,
            totp_last_step: None,
            recovery_codes: Vec::new(),
            deactivated: false,
            identities: Vec::new(),
        }
    }
}

/// How many earlier passwords a new one may not repeat (besides the current one).
pub const PASSWORD_HISTORY: usize = 5;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// An ordinary user.
    #[default]
    User,
    /// May list users and unlock accounts.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// The role with this stored name (anything unknown is an ordinary user).
    pub fn parse(text: &str) -> Self {
        if text == "admin" { Self::Admin } else { Self::User }
    }
}

/// The longest display name, in code points.
pub const MAX_NAME_CHARS: usize = 100;

/// A display name, trimmed; any script, but no control characters (Cc), no format characters
/// (Cf: direction marks and overrides, zero-width characters, tags, the byte-order mark) and
/// no line or paragraph separators (docs/SECURITY.md, "Input").
pub fn display_name(text: &str) -> Result<String, Invalid> {
    text_of_at_most(text, MAX_NAME_CHARS)
}

/// Text a person writes about themself (a name, a nickname), trimmed: 1 to `max` code points
/// under the rules of [`display_name`].
pub fn text_of_at_most(text: &str, max: usize) -> Result<String, Invalid> {
    let name = text.trim();
    if name.is_empty() {
        return Err("is required".into());
    }
    if name.chars().count() > max {
        return Err(format!("must be at most {max} characters long").into());
    }
    let forbidden = |c: char| {
        use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory as _};
        matches!(c.general_category(), G::Control | G::Format | G::LineSeparator | G::ParagraphSeparator)
    };
    if name.chars().any(forbidden) {
        return Err("must not contain control, format or text-direction characters".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_any_script_but_no_controls() {
        assert_eq!(display_name("  Zoë Ångström  ").expect("valid"), "Zoë Ångström");
        assert_eq!(display_name("山田 太郎").expect("valid"), "山田 太郎");
        assert!(display_name("").is_err());
        assert!(display_name("   ").is_err());
        assert!(display_name("evil\u{202E}gnp.exe").is_err());
        assert!(display_name("line\nbreak").is_err());
        for format in ['\u{061C}', '\u{200B}', '\u{200D}', '\u{2028}', '\u{2029}', '\u{E0041}', '\u{110BD}'] {
            assert!(display_name(&format!("Ann{format}Lee")).is_err(), "{format:?}");
        }
        assert!(display_name(&"x".repeat(101)).is_err());
        assert!(display_name(&"é".repeat(100)).is_ok());
    }
}
