//! `totp-confirm`: POST /auth/totp/confirm: turn Google Authenticator on with a first code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("totp-confirm", stepauth::handlers::authenticator::totp_confirm)
}
