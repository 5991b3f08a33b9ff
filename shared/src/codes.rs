//! Emailed one-time codes: six digits from a CSPRNG, stored only as a keyed hash
//! (docs/SECURITY.md, "Emailed codes"), bound to one email and one purpose.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::invalid::Invalid;
use crate::random::{self, Random};
use crate::validate::Email;

/// What a code is for; a code of one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Proving an email address at sign-up.
    Signup,
    /// Logging in by emailed code.
    Login,
    /// Resetting a forgotten password.
    PasswordReset,
}

impl Purpose {
    /// The stable name, as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::PasswordReset => "password_reset",
        }
    }
}

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
