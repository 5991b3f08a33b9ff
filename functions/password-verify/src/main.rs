//! `password-verify`: POST /auth/password/verify: trade the reset code for a reset token.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("password-verify", stepauth::handlers::recovery::password_verify)
}
