//! Grants: a verified step waiting for the next one (a sign-up token, a reset token, an MFA
//! token), bound to the state it was issued in.

use crate::clock::UnixTime;
use crate::model::{Email, Method, User};

/// What a short-lived single-purpose grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// Setting the password of a verified sign-up.
    Signup,
    /// Setting a new password after a verified reset code.
    PasswordReset,
    /// Finishing a login with the second factor.
    Mfa,
}

impl GrantKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::PasswordReset => "password_reset",
            Self::Mfa => "mfa",
        }
    }
}

/// A verified step waiting for the next one: after a sign-up code, the pending sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The digest of the token handed to the client.
    pub token_hash: String,
    /// What the grant allows.
    pub kind: GrantKind,
    /// The verified email.
    pub email: Email,
    /// The name given at sign-up (empty for other kinds).
    pub name: String,
    /// The user a reset or MFA grant is for.
    pub user_id: Option<String>,
    /// That user's token version when the grant was issued: the grant dies when it moves on
    /// (logout-all, a password reset or change, the authenticator turned on or off).
    pub user_version: Option<u64>,
    /// When the grant stops working.
    pub expires_at: UnixTime,
    /// For an MFA grant, the first factor that earned it (for the activity log).
    pub first_factor: Option<Method>,
}

impl Grant {
    /// Whether the grant was issued to `user` in the state the user is still in.
    pub fn is_current_for(&self, user: &User) -> bool {
        self.user_id.as_deref() == Some(user.id.as_str()) && self.user_version == Some(user.token_version)
    }
}
