//! `totp-setup`: POST /auth/totp/setup: a new Google Authenticator secret and its QR code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("totp-setup", stepauth::handlers::authenticator::totp_setup)
}
