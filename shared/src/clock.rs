//! Time, injectable so that expiry is tested by moving a clock, never by sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch: the unit of every stored time and every token claim.
pub type UnixTime = i64;

/// The source of "now" for all domain logic.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in whole seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `now`.
    pub fn new(now: UnixTime) -> Self {
        Self(AtomicI64::new(now))
    }

    /// A clock stopped at the real current time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// The UTC calendar date at `at`.
pub fn date_of(at: UnixTime) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(at).map_or(time::Date::MIN, time::OffsetDateTime::date)
}

/// Formats a stored time as RFC 3339 (UTC) for API responses.
pub fn rfc3339(at: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// `millis` (milliseconds since the epoch) in RFC 3339 with milliseconds, UTC:
/// `2027-01-15T08:00:00.000Z`, as Lambda's JSON logs write their timestamps.
pub fn rfc3339_millis(millis: u64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Whole seconds from `now` until `at`, at least one (a `Retry-After` is never zero).
pub fn seconds_until(at: UnixTime, now: UnixTime) -> u64 {
    (at - now).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(601);
        assert_eq!(clock.now(), 1_601);
    }

    #[test]
    fn formats_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
