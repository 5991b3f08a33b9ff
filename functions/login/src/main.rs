//! `login`: POST /auth/login: log in with email and password.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("login", stepauth::handlers::login::login)
}
