//! `signup`: POST /auth/signup: start a sign-up and mail a 6-digit code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("signup", stepauth::handlers::signup::signup)
}
