//! `totp-confirm`: POST /auth/totp/confirm: turn Google Authenticator on with a first code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::totp_confirm)
}
