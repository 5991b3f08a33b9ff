//! `password-reset`: POST /auth/password/reset: set a new password with the reset token.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("password-reset", stepauth::handlers::recovery::password_reset)
}
