//! `email-change-verify`: POST /users/me/email/verify.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("email-change-verify", stepauth::handlers::account::email_change_verify)
}
