//! `signup-verify`: POST /auth/signup/verify: trade the emailed code for a sign-up token.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("signup-verify", stepauth::handlers::signup::signup_verify)
}
