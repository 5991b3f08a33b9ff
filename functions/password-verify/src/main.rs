//! `password-verify`: POST /auth/password/verify: trade the reset code for a reset token.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::password_verify)
}
