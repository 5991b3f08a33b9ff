//! The API's errors: every client mistake has a stable machine-readable code and status.
//! Rendering one as a response is HTTP's job (`crate::http`, `ApiError::into_response`);
//! nothing here depends on the HTTP helpers.

use std::collections::BTreeMap;

use crate::model::PASSWORD_HISTORY;

/// Per-field messages, keyed by the request field's name.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not a JSON object.
    #[error("{0}")]
    InvalidJson(&'static str),
    /// The body is over the size limit.
    #[error("The request body is larger than {limit} bytes.")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A body was sent without `Content-Type: application/json`.
    #[error("Send the request body as JSON, with Content-Type: application/json.")]
    UnsupportedMediaType,
    /// Fields are missing, of the wrong type, unknown, or break a rule.
    #[error("Some fields are missing or invalid.")]
    Validation {
        /// What is wrong with each field.
        fields: FieldErrors,
        /// The password rules that failed, as stable codes (empty when none did).
        password_rules: Vec<&'static str>,
    },
    /// No route has this path.
    #[error("There is no such route.")]
    NotFound,
    /// The route exists but not with this method.
    #[error("This route does not accept that method.")]
    MethodNotAllowed {
        /// The methods the route does accept, as the `Allow` header lists them.
        allow: String,
    },
    /// An emailed code is wrong, expired, used, killed by wrong guesses, or of another purpose.
    #[error("The code is wrong, has expired or was already used. Request a new one.{}", remaining_text(*.remaining))]
    InvalidCode {
        /// Login attempts left before the account locks, where codes count toward lockout.
        remaining: Option<u32>,
    },
    /// An authenticator (TOTP) or recovery code is wrong or already used; same code as
    /// [`ApiError::InvalidCode`], with advice that fits an authenticator app.
    #[error("The code is wrong or was already used. Wait for the next code in your app.{}", remaining_text(*.remaining))]
    InvalidAuthenticatorCode {
        /// Login attempts left before the account locks.
        remaining: Option<u32>,
    },
    /// The password-reset token is unknown, used or expired.
    #[error("The reset token is invalid or has expired. Request a new code.")]
    InvalidResetToken,
    /// The sign-up token is unknown, used or expired.
    #[error("The sign-up token is invalid or has expired. Verify your email again.")]
    InvalidSignupToken,
    /// No access token was presented.
    #[error("Sign in to continue.")]
    AuthenticationRequired,
    /// An access or refresh token failed verification.
    #[error("The token is invalid or has expired.")]
    InvalidToken,
    /// Wrong email or password; the same answer, from the same counter, for unknown emails.
    #[error("Invalid credentials.{}", remaining_text(*.remaining))]
    InvalidCredentials {
        /// Attempts left before the account locks.
        remaining: Option<u32>,
    },
    /// Too many failed attempts: only an admin can unlock (the same for unknown emails).
    #[error("Account locked. Contact admin.")]
    AccountLocked,
    /// The MFA token is unknown, used, expired, out of attempts, or not an MFA token.
    #[error("The login step has expired or was already used. Log in again.")]
    InvalidMfaToken,
    /// TOTP is already active; it must be disabled before a new secret is set up.
    #[error("Google Authenticator is already on. Turn it off first to set it up again.")]
    MfaAlreadyEnabled,
    /// No TOTP secret is waiting for confirmation.
    #[error("Set up Google Authenticator first.")]
    MfaSetupRequired,
    /// TOTP is not active.
    #[error("Google Authenticator is not on.")]
    MfaNotEnabled,
    /// The caller may not do this.
    #[error("You are not allowed to do this.")]
    Forbidden,
    /// A cookie-authenticated state change came from another site (`Origin` or
    /// `Sec-Fetch-Site`): refused, whatever it asked for.
    #[error("This request came from another site. Use the page this service serves, or a bearer token.")]
    CrossSiteRequest,
    /// A browser's preflight from an origin that is not allowed to call the API.
    #[error("Pages of this origin may not call this API.")]
    OriginNotAllowed,
    /// Google sign-in is not configured here.
    #[error("Sign-in with Google is not available.")]
    GoogleSignInOff,
    /// The ID token (or the code that was to give one) did not verify: wrong issuer,
    /// audience, signature, algorithm, nonce, or expired.
    #[error("The Google sign-in could not be verified. Try again.")]
    InvalidIdToken,
    /// The provider has not verified the account's email.
    #[error("Your Google account's email address is not verified.")]
    EmailNotVerified,
    /// The account's hosted domain is not allowed here.
    #[error("Accounts of this domain cannot sign in here.")]
    HostedDomainNotAllowed,
    /// The redirect flow's state is missing, used, expired, or from another browser.
    #[error("This sign-in link has expired or was already used. Start again.")]
    InvalidSignInState,
    /// The `g_csrf_token` double-submit check failed.
    #[error("The request did not come from the sign-in button.")]
    CsrfTokenMismatch,
    /// The account has no identity with this id.
    #[error("No linked identity has this id.")]
    IdentityNotFound,
    /// Unlinking would leave the account without a password, the way in that stays.
    #[error("Set a password first (through \"Forgot your password?\"): without one, this is your only way to sign in.")]
    PasswordRequired,
    /// The caller has no live session with this id.
    #[error("None of your sessions has this id: it may have ended already.")]
    SessionNotFound,
    /// The account is deactivated: an admin's unlock does not open it (said only to admins).
    #[error("The account is deactivated: reactivate it instead.")]
    AccountDeactivated,
    /// An admin may not use the admin tools on its own account where that could lock every
    /// admin out (deactivation, deletion) or skip the proofs its owner is asked (its address,
    /// its authenticator); another admin must.
    #[error("An admin cannot do this to its own account: another admin must.")]
    OwnAdminAccount,
    /// No account has this email (said only to admins).
    #[error("No user has this email.")]
    UserNotFound,
    /// Profile pictures cannot be uploaded here (no bucket is configured).
    #[error("Profile pictures cannot be uploaded here.")]
    PicturesOff,
    /// No upload of the caller's has this key (or it was not an allowed picture).
    #[error("No picture of yours was uploaded with this key: upload it again.")]
    PictureNotFound,
    /// No mail has this kind (said only to admins).
    #[error("No mail template has this name.")]
    MailTemplateNotFound,
    /// A list's `cursor` is not one the list gave out.
    #[error("The cursor is not one this list gave out. Start again from the first page.")]
    InvalidCursor,
    /// The record changed while the request ran; nothing was written.
    #[error("Something else changed this at the same time. Try again.")]
    Conflict,
    /// The email already has an account (only said to someone who proved they own it).
    #[error("An account with this email already exists. Log in instead.")]
    EmailTaken,
    /// A rate limit or cooldown.
    #[error("Too many requests. Try again in {retry_after} seconds.")]
    TooManyRequests {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// A part stepauth depends on is overloaded or unreachable for now (a throttled table):
    /// nothing was done, and retrying shortly may succeed.
    #[error("The service is busy. Try again in {retry_after} seconds.")]
    Unavailable {
        /// Seconds to wait before retrying.
        retry_after: u64,
    },
    /// Anything unexpected: a store or mail failure, a bug. Logged, never shown.
    #[error("Something went wrong on our side. Try again later.")]
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for ApiError {
    /// A failure the store marked [`Unavailable`](crate::store::Unavailable) is a 503 the
    /// client may retry; a cursor the store refused ([`BadCursor`](crate::store::BadCursor))
    /// is the client's mistake; any other is unexpected.
    fn from(error: anyhow::Error) -> Self {
        if error.downcast_ref::<crate::store::BadCursor>().is_some() {
            Self::InvalidCursor
        } else if error.downcast_ref::<crate::store::Unavailable>().is_some() {
            tracing::warn!(error = format!("{error:#}"), "a dependency is unavailable");
            Self::Unavailable { retry_after: 1 }
        } else {
            Self::Unexpected(error)
        }
    }
}

impl ApiError {
    /// The stable machine-readable code (documented in `docs/API.md`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation { .. } => "validation_failed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::InvalidCode { .. } | Self::InvalidAuthenticatorCode { .. } => "invalid_code",
            Self::InvalidSignupToken => "invalid_signup_token",
            Self::InvalidResetToken => "invalid_reset_token",
            Self::AccountLocked => "account_locked",
            Self::InvalidMfaToken => "invalid_mfa_token",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaSetupRequired => "mfa_setup_required",
            Self::MfaNotEnabled => "mfa_not_enabled",
            Self::Forbidden => "forbidden",
            Self::CrossSiteRequest => "cross_site_request",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::GoogleSignInOff => "google_sign_in_off",
            Self::InvalidIdToken => "invalid_id_token",
            Self::EmailNotVerified => "email_not_verified",
            Self::HostedDomainNotAllowed => "hosted_domain_not_allowed",
            Self::InvalidSignInState => "invalid_state",
            Self::CsrfTokenMismatch => "csrf_token_mismatch",
            Self::IdentityNotFound => "identity_not_found",
            Self::PasswordRequired => "password_required",
            Self::SessionNotFound => "session_not_found",
            Self::AccountDeactivated => "account_deactivated",
            Self::OwnAdminAccount => "own_admin_account",
            Self::UserNotFound => "user_not_found",
            Self::MailTemplateNotFound => "mail_template_not_found",
            Self::PicturesOff => "pictures_off",
            Self::PictureNotFound => "picture_not_found",
            Self::InvalidCursor => "invalid_cursor",
            Self::Conflict => "conflict",
            Self::AuthenticationRequired => "authentication_required",
            Self::InvalidToken => "invalid_token",
            Self::InvalidCredentials { .. } => "invalid_credentials",
            Self::EmailTaken => "email_taken",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable { .. } => "service_unavailable",
            Self::Unexpected(_) => "internal_error",
        }
    }

    /// A validation error on one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::Validation {
            fields: BTreeMap::from([(name.to_owned(), vec![message.into()])]),
            password_rules: Vec::new(),
        }
    }

    /// A new password that is the current one or one of the last [`PASSWORD_HISTORY`].
    pub fn password_reused() -> Self {
        let message = format!("must differ from your current password and your last {PASSWORD_HISTORY}");
        Self::Validation {
            fields: BTreeMap::from([("password".to_owned(), vec![message])]),
            password_rules: vec!["not_reused"],
        }
    }
}

/// " N attempts remaining." for messages, or nothing.
fn remaining_text(remaining: Option<u32>) -> String {
    match remaining {
        Some(1) => " 1 attempt remaining.".to_owned(),
        Some(n) => format!(" {n} attempts remaining."),
        None => String::new(),
    }
}
