//! How long stepauth waits for AWS (DynamoDB, SES, Secrets Manager), and how it retries:
//! one budget for the Lambda functions and the local server, so that a request answers well
//! inside the function's 10 s timeout even when a dependency hangs (docs/DESIGN.md, "Time
//! budget").
//!
//! - **Attempt**: 2 s. DynamoDB answers in milliseconds and SES in about 100 ms; an attempt
//!   that takes 2 s is hung, and a retry on a fresh connection is likelier to succeed than
//!   more waiting.
//! - **Operation**: 3 s for all attempts and the pauses between them. A request fails on its
//!   first failed call (503, `Retry-After: 1`), and at most one clean-up call follows (a
//!   login attempt giving back its lockout slot, a code withdrawn after its mail failed), so
//!   a request meeting a hung dependency answers in at most 6 s plus its own work.
//! - **Retries**: the SDK's standard mode, 3 attempts, exponential backoff with full jitter
//!   from 50 ms up to 500 ms: throttling and 5xx are retried quickly inside the budget.
//! - **Connect**: 1 s, inside the attempt.

use std::time::Duration;

use aws_config::ConfigLoader;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// The longest a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest one attempt of a call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a call may take, all attempts and pauses included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// The timeouts of every AWS call.
pub fn timeouts() -> TimeoutConfig {
    timeouts_stretched(1)
}

/// The same timeouts, each `factor` times as long (the test suite's own calls to a moto
/// server that every test shares).
pub fn timeouts_stretched(factor: u32) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT * factor)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT * factor)
        .operation_timeout(OPERATION_TIMEOUT * factor)
        .build()
}

/// The retries of every AWS call.
pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(500))
}

/// `loader` with stepauth's timeouts and retries.
pub fn budgeted(loader: ConfigLoader) -> ConfigLoader {
    loader.timeout_config(timeouts()).retry_config(retries())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hung_calls_fit_the_function_timeout() {
        // The template's function timeout is 10 s; a request makes at most one call after
        // the one that failed.
        assert!(2 * OPERATION_TIMEOUT < Duration::from_secs(8));
        assert!(CONNECT_TIMEOUT < ATTEMPT_TIMEOUT && ATTEMPT_TIMEOUT < OPERATION_TIMEOUT);
        assert_eq!(timeouts().operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(retries().max_attempts(), MAX_ATTEMPTS);
    }
}
