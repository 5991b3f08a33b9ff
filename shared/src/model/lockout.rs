//! The lockout counter of one email: the rules both stores keep (docs/SECURITY.md, "Lockout").
//!
//! Every login attempt takes a slot before its secret is checked, and at most `max` slots
//! are taken at once, counting failures: so concurrent guesses get exactly `max` checks.
//! A wrong answer turns its slot into a failure; a right one gives the slot back (and a whole
//! login clears the item). An attempt that finds every slot taken by attempts still in flight
//! is told to wait ([`Attempt::Busy`]), not that the account is locked: ten concurrent right
//! logins all get through, one after another. Failures below the lock decay a window after
//! the last one; a reached lock stays until an admin unlocks it. Slots of attempts that never
//! finished (a crashed function) are taken back once their lease ends.

use crate::clock::UnixTime;

/// The answer to [`LockoutStore::begin_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The attempt holds a slot and may be checked; [`LockoutStore::record_failure`],
    /// [`LockoutStore::release_attempt`] or [`LockoutStore::clear_failures`] says how it ended.
    Allowed,
    /// Every slot is held by failures and attempts still in flight: try again shortly.
    Busy {
        /// Seconds until the slots' leases end at the latest.
        retry_after: u64,
    },
    /// The email has used up its attempts: locked until an admin unlocks it.
    Locked,
}

/// A lock no guesses made (an account moved in inactive): far over any limit, without decay,
/// so that only an admin's unlock clears it.
pub const MOVED_IN_LOCKED: Lockout = Lockout { used: 1_000_000, failures: 1_000_000, lease_until: 0, expires_at: None };

/// How long a slot is held for an attempt in flight: far longer than a check takes.
pub const LEASE_SECONDS: i64 = 60;

/// The stored counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Slots taken: failures plus attempts in flight.
    pub used: u32,
    /// Wrong answers counted.
    pub failures: u32,
    /// When the latest slot's lease ends.
    pub lease_until: UnixTime,
    /// When the failures decay (and the item may go); `None` once locked.
    pub expires_at: Option<UnixTime>,
}

impl Lockout {
    /// Whether the failures have reached the lock.
    pub fn is_locked(&self, max: u32) -> bool {
        self.failures >= max
    }

    /// The failures that count at `now` (none once they decayed).
    pub fn live_failures(&self, now: UnixTime) -> u32 {
        if self.expires_at.is_some_and(|at| at <= now) { 0 } else { self.failures }
    }

    /// Takes a slot at `now`: the new state, or why not.
    pub fn begin(current: Option<&Lockout>, max: u32, now: UnixTime) -> Result<Lockout, Attempt> {
        let lease_until = now + LEASE_SECONDS;
        let Some(current) = current else {
            return Ok(Lockout { used: 1, failures: 0, lease_until, expires_at: Some(lease_until) });
        };
        if current.is_locked(max) {
            return Err(Attempt::Locked);
        }
        let in_flight = if current.lease_until <= now { 0 } else { current.used.saturating_sub(current.failures) };
        let failures = current.live_failures(now);
        if failures + in_flight >= max {
            return Err(Attempt::Busy { retry_after: (current.lease_until - now).max(1) as u64 });
        }
        let expires_at = match current.expires_at {
            Some(at) if at > now => Some(at),
            _ => Some(lease_until),
        };
        Ok(Lockout { used: failures + in_flight + 1, failures, lease_until, expires_at })
    }

    /// Turns an attempt's slot into a failure at `now`: failures decay `window` seconds after
    /// the last one, unless they reach the lock.
    pub fn fail(current: Option<&Lockout>, max: u32, window: i64, now: UnixTime) -> Lockout {
        let current = current.copied().unwrap_or(Lockout { used: 1, failures: 0, lease_until: now, expires_at: None });
        let failures = current.failures + 1;
        let expires_at = if failures >= max { None } else { Some(now + window) };
        Lockout { used: current.used.max(failures), failures, expires_at, ..current }
    }

    /// Gives an attempt's slot back (its secret was right).
    pub fn release(&self) -> Lockout {
        Lockout { used: self.used.saturating_sub(1).max(self.failures), ..*self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_slots_and_then_the_lock() {
        let mut state = Lockout::begin(None, 3, 0).expect("first");
        for _ in 0..2 {
            state = Lockout::begin(Some(&state), 3, 0).expect("within max");
        }
        assert_eq!(Lockout::begin(Some(&state), 3, 0), Err(Attempt::Busy { retry_after: 60 }), "three in flight");
        let state = Lockout::fail(Some(&state), 3, 86_400, 1);
        let state = Lockout::fail(Some(&state), 3, 86_400, 1);
        assert_eq!(Lockout::begin(Some(&state), 3, 1), Err(Attempt::Busy { retry_after: 59 }), "one still in flight");
        let released = state.release();
        assert_eq!((released.used, released.failures), (2, 2));
        let last = Lockout::begin(Some(&released), 3, 2).expect("one slot left");
        let locked = Lockout::fail(Some(&last), 3, 86_400, 3);
        assert_eq!((locked.failures, locked.expires_at), (3, None));
        assert_eq!(Lockout::begin(Some(&locked), 3, 10_000_000), Err(Attempt::Locked), "a lock never decays");
    }

    #[test]
    fn failures_decay_and_stale_slots_come_back() {
        let state = Lockout::fail(Some(&Lockout::begin(None, 3, 0).expect("first")), 3, 100, 0);
        assert_eq!((state.live_failures(99), state.live_failures(100)), (1, 0));
        let state = Lockout::begin(Some(&state), 3, 50).expect("second");
        let state = Lockout::fail(Some(&state), 3, 100, 50);
        assert_eq!(state.live_failures(149), 2, "the window runs from the last failure");
        let after = Lockout::begin(Some(&state), 3, 150).expect("decayed");
        assert_eq!((after.used, after.failures), (1, 0));

        let crashed = Lockout::begin(Some(&Lockout::begin(None, 2, 0).expect("a")), 2, 0).expect("b");
        assert!(matches!(Lockout::begin(Some(&crashed), 2, 59), Err(Attempt::Busy { .. })));
        let back = Lockout::begin(Some(&crashed), 2, 60).expect("leases ended");
        assert_eq!(back.used, 1);
    }
}
