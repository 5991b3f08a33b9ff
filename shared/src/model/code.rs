//! The state of an email's one-time code for one purpose, and the rules both stores keep
//! when a code is sent and when it is guessed (docs/SECURITY.md, "Emailed codes").

use crate::clock::{UnixTime, seconds_until};
use crate::config::CodeLimits;

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
    Issued,
    /// A cooldown or the per-window cap forbids a send for this many seconds.
    Throttled {
        /// Seconds until a send can succeed.
        retry_after: u64,
    },
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
}
