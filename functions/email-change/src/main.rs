//! `email-change`: POST /users/me/email.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("email-change", stepauth::handlers::account::email_change)
}
