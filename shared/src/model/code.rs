//! Emailed one-time codes (docs/SECURITY.md, "Emailed codes"): six digits from a CSPRNG,
//! stored only as a keyed hash, bound to one email and one purpose; the state of an email's
//! code for one purpose, and the rules both stores keep when a code is sent and guessed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::clock::{UnixTime, seconds_until};
use crate::config::CodeLimits;
use crate::invalid::Invalid;
use crate::model::Email;
use crate::random::{self, Random};

/// What a code is for; a code of one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Proving an email address at sign-up.
    Signup,
    /// Logging in by emailed code.
    Login,
    /// Resetting a forgotten password.
    PasswordReset,
    /// Proving a new address before it becomes the account's (sent to the new address).
    EmailChange,
    /// A signed-in owner of an account without a password proving it by its own address,
    /// before the address changes or the account is deleted.
    Confirm,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Self; 5] = [Self::Signup, Self::Login, Self::PasswordReset, Self::EmailChange, Self::Confirm];

    /// The stable name, as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::Confirm => "confirm",
        }
    }

    /// Whether its mail links to the site's page with the code filled in: the ways in, never
    /// the codes of a signed-in change, which are typed into the open card.
    pub fn has_link(self) -> bool {
        matches!(self, Self::Signup | Self::Login | Self::PasswordReset)
    }
}

/// A code to store, replacing any earlier code of its email and purpose.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// The keyed hash of the code (never the code).
    pub hash: String,
    /// What the flow needs back when the code is redeemed (the name given at sign-up);
    /// `None` keeps what an earlier send stored.
    pub context: Option<String>,
}

/// The answer to [`CodeStore::issue_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// The code is stored and may be sent.
    Issued(Sent),
    /// A cooldown or the per-window cap forbids a send for this many seconds.
    Throttled {
        /// Seconds until a send can succeed.
        retry_after: u64,
    },
}

/// A code stored for sending: what [`CodeStore::withdraw_code`] needs to put the address's
/// codes back as they were if its mail does not leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The state the send wrote.
    pub issued: CodeState,
    /// The state before it, if there was one.
    pub previous: Option<CodeState>,
}

/// The answer to [`CodeStore::redeem_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The code was right and is now used up.
    Redeemed {
        /// The context stored with the code.
        context: Option<String>,
    },
    /// Wrong, expired, used, killed or absent.
    Rejected,
    /// The email's failure budget for this purpose is spent until the window ends.
    Exhausted {
        /// Seconds until the window ends.
        retry_after: u64,
    },
}

/// The state of an email's code for one purpose, with the send and failure window around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeState {
    /// The current code's hash; `None` once redeemed.
    pub code_hash: Option<String>,
    /// When the current code stops working.
    pub code_expires_at: UnixTime,
    /// Wrong guesses at the current code.
    pub attempts: u32,
    /// The start of the send and failure window.
    pub window_start: UnixTime,
    /// Sends in the window.
    pub sends: u32,
    /// Wrong guesses in the window, across every code sent in it.
    pub failures: u32,
    /// When the last code was sent.
    pub last_sent_at: UnixTime,
    /// The flow's context (see [`NewCode::context`]).
    pub context: Option<String>,
    /// When the whole item may be forgotten (the DynamoDB TTL attribute).
    pub expires_at: UnixTime,
}

impl CodeState {
    /// The state after sending `code` at `now`, or how long until a send is allowed.
    /// `current` is the stored state, if any (expired or not).
    pub fn issue(
        current: Option<&CodeState>,
        code: NewCode,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> Result<CodeState, u64> {
        let window = limits.window.as_secs() as i64;
        let fresh = CodeState {
            code_hash: Some(code.hash),
            code_expires_at: now + limits.ttl.as_secs() as i64,
            attempts: 0,
            window_start: now,
            sends: 1,
            failures: 0,
            last_sent_at: now,
            context: code.context,
            expires_at: now + window,
        };
        let Some(current) = current.filter(|c| c.expires_at > now && c.window_start + window > now) else {
            return Ok(fresh);
        };
        let cooldown_ends = current.last_sent_at + limits.cooldown.as_secs() as i64;
        if current.sends >= limits.max_sends_per_window {
            return Err(seconds_until(current.window_start + window, now));
        }
        if cooldown_ends > now {
            return Err(seconds_until(cooldown_ends, now));
        }
        Ok(CodeState {
            window_start: current.window_start,
            sends: current.sends + 1,
            failures: current.failures,
            context: fresh.context.clone().or_else(|| current.context.clone()),
            ..fresh
        })
    }

    /// Whether a code is stored, unexpired and not yet used.
    pub fn has_live_code(&self, now: UnixTime) -> bool {
        self.expires_at > now && self.code_hash.is_some() && self.code_expires_at > now
    }

    /// Redeems `hash` at `now`: the new state (if it changes) and the answer.
    pub fn redeem(&self, hash: &str, now: UnixTime, limits: &CodeLimits) -> (Option<CodeState>, Redeemed) {
        if !self.has_live_code(now) {
            return (None, Redeemed::Rejected);
        }
        let usable = self.attempts < limits.max_attempts && self.failures < limits.max_failures_per_window;
        if usable && self.code_hash.as_deref() == Some(hash) {
            let used = CodeState { code_hash: None, ..self.clone() };
            return (Some(used), Redeemed::Redeemed { context: self.context.clone() });
        }
        let failed = CodeState { attempts: self.attempts + 1, failures: self.failures + 1, ..self.clone() };
        let answer = failed.failure_answer(now, limits);
        (Some(failed), answer)
    }

    /// The answer to a failed guess that left the state as `self`.
    pub fn failure_answer(&self, now: UnixTime, limits: &CodeLimits) -> Redeemed {
        if self.failures >= limits.max_failures_per_window {
            Redeemed::Exhausted { retry_after: seconds_until(self.window_start + limits.window.as_secs() as i64, now) }
        } else {
            Redeemed::Rejected
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

    fn code(hash: &str) -> NewCode {
        NewCode { hash: hash.into(), context: None }
    }

    #[test]
    fn sends_are_limited_by_cooldown_and_window() {
        let limits = CodeLimits::default();
        let first = CodeState::issue(None, code("a"), 0, &limits).expect("first send");
        assert_eq!(CodeState::issue(Some(&first), code("b"), 59, &limits), Err(1));
        let mut state = first;
        for n in 2..=5 {
            state = CodeState::issue(Some(&state), code("b"), 60 * (n - 1), &limits).expect("within cap");
        }
        assert_eq!(state.sends, 5);
        assert_eq!(CodeState::issue(Some(&state), code("c"), 300, &limits), Err(3_300));
        let next = CodeState::issue(Some(&state), code("c"), 3_600, &limits).expect("new window");
        assert_eq!((next.sends, next.window_start), (1, 3_600));
    }

    #[test]
    fn the_failure_budget_survives_resends() {
        let limits = CodeLimits::default();
        let guess = |state: CodeState, n: u32| {
            (0..n).fold(state, |s, _| s.redeem("wrong", s.last_sent_at, &limits).0.expect("counted"))
        };
        let state = guess(CodeState::issue(None, code("a"), 0, &limits).expect("send"), 5);
        let state = CodeState::issue(Some(&state), code("b"), 60, &limits).expect("resend");
        assert_eq!((state.attempts, state.failures), (0, 5), "a resend resets the code's count only");
        let state = guess(state, 4);
        let state = CodeState::issue(Some(&state), code("c"), 120, &limits).expect("resend");
        assert_eq!(state.redeem("wrong", 120, &limits).1, Redeemed::Exhausted { retry_after: 3_480 });
        let state = guess(state, 1);
        assert_eq!(state.attempts, 1);
        assert_eq!(
            state.redeem("c", 121, &limits).1,
            Redeemed::Exhausted { retry_after: 3_479 },
            "the right code fails once the budget is spent"
        );
    }

    #[test]
    fn a_code_works_once_and_dies_after_five_wrong_guesses() {
        let limits = CodeLimits::default();
        let state = CodeState::issue(None, code("a"), 0, &limits).expect("send");
        let (used, answer) = state.redeem("a", 1, &limits);
        assert_eq!(answer, Redeemed::Redeemed { context: None });
        assert_eq!(used.expect("changed").redeem("a", 2, &limits).1, Redeemed::Rejected);
        let killed = (0..5).fold(state.clone(), |s, _| s.redeem("x", 1, &limits).0.expect("counted"));
        assert_eq!(killed.redeem("a", 2, &limits).1, Redeemed::Rejected);
        assert_eq!(state.redeem("a", 600, &limits).1, Redeemed::Rejected, "expired at ten minutes");
        assert_eq!(state.redeem("a", 599, &limits).1, Redeemed::Redeemed { context: None });
    }

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
