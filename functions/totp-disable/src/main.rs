//! `totp-disable`: POST /auth/totp/disable: turn Google Authenticator off (password and code).

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("totp-disable", stepauth::handlers::authenticator::totp_disable)
}
