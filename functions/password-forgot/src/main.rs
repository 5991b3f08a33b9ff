//! `password-forgot`: POST /auth/password/forgot: mail a password-reset code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("password-forgot", stepauth::handlers::recovery::password_forgot)
}
