//! `totp-recovery-codes`: POST /auth/totp/recovery-codes.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("totp-recovery-codes", stepauth::handlers::authenticator::totp_recovery_codes)
}
