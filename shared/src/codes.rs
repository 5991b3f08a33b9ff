//! Emailed one-time codes: six digits from a CSPRNG, stored only as a keyed hash
//! (docs/SECURITY.md, "Emailed codes"), bound to one email and one purpose; sending one
//! ([`send`]) and using one up ([`redeem`]) for every purpose.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::invalid::Invalid;
use crate::lockout;
use crate::mail::templates;
use crate::model::{Email, Issued, NewCode, Origin, Purpose, Redeemed, SourceCounter};
use crate::random::{self, Random};

/// A six-digit code as sent by mail. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(…)")
    }
}

impl Code {
    /// A fresh code, uniform over 000000–999999.
    pub fn generate(random: &dyn Random) -> Self {
        Self(format!("{:06}", random::below(random, 1_000_000)))
    }

    /// A code as typed by the user: six ASCII digits, surrounding white space ignored.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let code = text.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err("must be the 6-digit code from the email".into())
        }
    }

    /// The digits, for the mail.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The secret key codes are hashed with, so that a leaked table does not reveal codes
/// (a million-guess brute force of an unkeyed hash would).
#[derive(Clone)]
pub struct Pepper(aws_lc_rs::hmac::Key);

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(…)")
    }
}

impl Pepper {
    /// A pepper from secret bytes (at least 32).
    pub fn new(secret: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(secret.len() >= 32, "the code pepper must be at least 32 bytes");
        Ok(Self(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret)))
    }

    /// A fresh random pepper (the local server's, which forgets its codes on restart anyway).
    pub fn generate(random: &dyn Random) -> Self {
        Self(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &random::bytes::<32>(random)))
    }

    /// The stored form of `code` for `email` and `purpose`.
    pub fn hash(&self, purpose: Purpose, email: &Email, code: &Code) -> String {
        self.keyed(&[purpose.as_str(), email.as_str(), code.expose()])
    }

    /// The stored form of a user's recovery code.
    pub fn hash_recovery(&self, user_id: &str, code: &str) -> String {
        self.keyed(&["recovery", user_id, code])
    }

    fn keyed(&self, parts: &[&str]) -> String {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.0);
        for part in parts {
            ctx.update(part.as_bytes());
            ctx.update(&[0]);
        }
        STANDARD_NO_PAD.encode(ctx.sign().as_ref())
    }
}

/// The answer every code request gets, whatever happened behind it.
pub const SENT: &str = "If the address can receive it, a mail is on its way. Check your email for a 6-digit code.";

/// Uses `code` against `email`'s pending code of `purpose`, compared by keyed hash: once at
/// most, within the code's lifetime and the guess budgets (see [`Redeemed`]).
pub async fn redeem(app: &App, email: &Email, purpose: Purpose, code: &Code) -> Result<Redeemed, ApiError> {
    let hash = app.pepper.hash(purpose, email, code);
    Ok(app.store.redeem_code(email, purpose, &hash, app.now(), &app.config.codes).await?)
}

/// Stores a fresh code of `purpose` for `email` (within the source address's hourly mail
/// limit, and the cooldown and hourly cap of the email, which apply to every address alike)
/// and mails it to an account that can use it, or mails whoever owns the address why not.
/// The caller's answer is the same either way.
pub async fn send(
    app: &App,
    email: &Email,
    purpose: Purpose,
    name: Option<String>,
    origin: &Origin,
) -> Result<(), ApiError> {
    let slot = lockout::take_source_slot(app, origin, SourceCounter::Mails).await?;
    let code = Code::generate(&*app.random);
    let stored = NewCode { hash: app.pepper.hash(purpose, email, &code), context: name };
    if let Issued::Throttled { retry_after } =
        app.store.issue_code(email, purpose, stored, app.now(), &app.config.codes).await?
    {
        // No mail leaves: the source address keeps its slot.
        lockout::give_back(app, &slot).await?;
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let product = &app.config.product_name;
    let minutes = app.config.codes.ttl.as_secs() / 60;
    let to = email.as_str();
    // The same store operations for every address (docs/SECURITY.md, "Enumeration"): the
    // account, the lockout count and an activity entry, whether or not they matter here.
    let user = app.store.user_by_email(email).await?;
    let locked = lockout::is_locked(app, email).await?;
    let (event, mail) = match (purpose, &user) {
        (Purpose::Signup, Some(user)) => {
            (Event::SignupAttempted, templates::already_registered(product, to, &user.name))
        }
        (Purpose::Signup, None) => (Event::CodeSent, templates::signup_code(product, to, &code, minutes)),
        (Purpose::Login, Some(user)) => {
            (Event::CodeSent, templates::login_code(product, to, Some(&user.name), &code, minutes))
        }
        (Purpose::PasswordReset, Some(user)) if locked && !app.config.reset_unlocks => {
            (Event::ResetBlocked, templates::reset_blocked(product, to, &user.name))
        }
        (Purpose::PasswordReset, Some(user)) => {
            (Event::CodeSent, templates::reset_code(product, to, Some(&user.name), &code, minutes))
        }
        (Purpose::Login | Purpose::PasswordReset, None) => {
            (Event::CodeSent, templates::no_account(product, to, purpose))
        }
    };
    activity::record_for(app, user.as_ref(), email, event, origin).await;
    app.mailer.send(mail).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    #[test]
    fn codes_are_six_digits() {
        let random = SystemRandom::default();
        for _ in 0..200 {
            let code = Code::generate(&random);
            assert_eq!(code.expose().len(), 6);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn parsing_accepts_only_six_digits() {
        assert_eq!(Code::parse(" 012345 ").expect("valid").expose(), "012345");
        for bad in ["12345", "1234567", "12a456", "１２３４５６", "", "12 456"] {
            assert!(Code::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hashes_bind_purpose_email_and_key() {
        let pepper = Pepper::new(&[7; 32]).expect("pepper");
        let email = Email::parse("a@example.com").expect("email");
        let code = Code::parse("123456").expect("code");
        let signup = pepper.hash(Purpose::Signup, &email, &code);
        assert_eq!(signup, pepper.hash(Purpose::Signup, &email, &code));
        assert_ne!(signup, pepper.hash(Purpose::Login, &email, &code));
        assert_ne!(signup, pepper.hash(Purpose::Signup, &Email::parse("b@example.com").expect("email"), &code));
        assert_ne!(signup, Pepper::new(&[8; 32]).expect("pepper").hash(Purpose::Signup, &email, &code));
        assert!(!signup.contains("123456"));
        assert!(Pepper::new(&[1; 16]).is_err());
    }

    #[test]
    fn debug_never_shows_the_code() {
        assert_eq!(format!("{:?}", Code::parse("123456").expect("code")), "Code(…)");
    }
}
