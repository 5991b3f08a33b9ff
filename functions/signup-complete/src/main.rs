//! `signup-complete`: POST /auth/signup/complete: set the password, create the user, start a session.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("signup-complete", stepauth::handlers::signup::signup_complete)
}
